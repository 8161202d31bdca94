"""Communication problems: INDEX, EQ, DISJ, GT, IP, and problems given as a matrix or a function.

theory §1-§2. Alice holds x ∈ X, Bob holds y ∈ Y, they compute f(x, y). A :class:`Problem` knows f, its
input orders, its communication matrix for small sizes and its textbook bounds as :class:`Bound` records.

Input orders (the rows and columns of :meth:`Problem.matrix`):

- bit strings: tuples of 0/1 of length n in the order of ``itertools.product((0, 1), repeat=n)``,
  so row i is the binary expansion of i, most significant bit first;
- INDEX_n over an alphabet of size q: x ∈ {0..q-1}^n as tuples (product order), y = the index i as an
  int in ``range(n)`` (0-based);
- problems from a matrix: row and column indices (ints).

Limits: :data:`MAX_MATRIX_ENTRIES` for :meth:`Problem.matrix`, :data:`MAX_INPUTS` for the enumerations.

Examples
--------
>>> p = EQ(2)
>>> p.name, p.f((0, 1), (0, 1)), p.f((0, 1), (1, 1))
('EQ_2', 1, 0)
>>> p.matrix().tolist()
[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
>>> [str(b) for b in p.known_bounds()][0]
'D(EQ_2) = 3 bits  [known; [KN] §1.3 (fooling set {(x, x)})]'
"""

from __future__ import annotations

from typing import Any

from ccbounds.errors import InvalidInputError, UnknownNameError
from ccbounds.problems.base import MAX_INPUTS, MAX_MATRIX_ENTRIES, MAX_OUTPUT_VALUE, Problem
from ccbounds.problems.bits import DISJ, EQ, GT, IP
from ccbounds.problems.custom import FunctionProblem, MatrixProblem
from ccbounds.problems.index import INDEX

__all__ = [
    "Problem", "INDEX", "EQ", "DISJ", "GT", "IP", "MatrixProblem", "FunctionProblem",
    "get_problem", "PROBLEMS", "MAX_MATRIX_ENTRIES", "MAX_INPUTS", "MAX_OUTPUT_VALUE",
]

#: problem name -> (class, one-line description), for ``ccbounds problems``
PROBLEMS: dict[str, tuple[type, str]] = {
    "index": (INDEX, INDEX.description),
    "eq": (EQ, EQ.description),
    "disj": (DISJ, DISJ.description),
    "gt": (GT, GT.description),
    "ip": (IP, IP.description),
}


def get_problem(name: str, n: int, **kw: Any) -> Problem:
    """The problem called ``name`` (case-insensitive: index, eq, disj, gt, ip) of size n.

    Extra keywords go to the class (``q=`` for INDEX).

    Raises
    ------
    UnknownNameError
        For a name not in :data:`PROBLEMS`; the message lists the valid ones.

    Examples
    --------
    >>> get_problem("Index", 4, q=3).name
    'INDEX_4_q3'
    """
    key = str(name).lower()
    if key not in PROBLEMS:
        raise UnknownNameError(f"unknown problem {name!r}; valid names: {', '.join(PROBLEMS)}")
    cls = PROBLEMS[key][0]
    try:
        return cls(n, **kw)
    except TypeError as e:
        raise InvalidInputError(f"bad parameters for {key}: {e}; see help(ccbounds.problems.{cls.__name__})") from None
