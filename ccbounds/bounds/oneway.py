"""Exact deterministic one-way complexity from distinct rows and columns (theory §1, §3).

In a one-way protocol A->B Bob's answer depends only on Alice's message and y, so two rows that
receive the same message must be equal; conversely Alice can send the index of her row's class.
Hence ``D^{A->B}(f) = ceil(log2 #distinct rows)`` and ``D^{B->A}(f) = ceil(log2 #distinct columns)``
([KN] Ch. 4; 1 distinct row gives 0 bits: Bob knows the answer alone). The argument never uses that
the outputs are bits, so matrices of any integer outputs (q-ary INDEX) are accepted.

Examples
--------
>>> str(one_way([[0, 1], [1, 0], [0, 1]]))
'D1way(A->B)(matrix 3x2) = 1 bits  [distinct-rows; [KN] Ch. 4 (one-way protocols); theory §1 (log #distinct rows)]'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ccbounds.bound_record import Bound
from ccbounds.bounds._matrix import as_matrix, distinct_classes
from ccbounds.errors import InvalidInputError

__all__ = ["RowClasses", "check_row_classes", "one_way"]

_DIRECTIONS = {"A->B": 0, "B->A": 1}


@dataclass(frozen=True)
class RowClasses:
    """The classes of equal rows (``axis=0``) or columns (``axis=1``) of a matrix."""

    axis: int
    classes: tuple[tuple[int, ...], ...]

    @property
    def count(self) -> int:
        return len(self.classes)

    def to_dict(self) -> dict[str, Any]:
        return {"axis": "rows" if self.axis == 0 else "columns", "classes": [list(c) for c in self.classes]}

    def __str__(self) -> str:
        return f"{self.count} distinct {'rows' if self.axis == 0 else 'columns'}"


def one_way(x: Any, direction: str = "A->B") -> Bound:
    """Exact one-way deterministic complexity: ``ceil(log2 #distinct rows)`` (A->B) or columns (B->A).

    Parameters
    ----------
    x : array_like or Problem
        The communication matrix (rows: Alice's inputs).
    direction : {"A->B", "B->A"}
        Who sends the single message.

    Returns
    -------
    Bound
        ``direction="exact"``, model ``"D1way(A->B)"`` or ``"D1way(B->A)"``, witness :class:`RowClasses`.

    Raises
    ------
    InvalidInputError
        Bad matrix or an unknown direction.

    Examples
    --------
    >>> one_way([[0, 1, 0], [1, 0, 0]], "B->A").value  # 3 distinct columns
    2
    >>> one_way([[0, 1, 2], [0, 2, 1]]).value  # outputs 0..2: 2 distinct rows
    1

    References
    ----------
    [KN] Ch. 4 (one-way communication); theory §1 (D^{A->B} = ceil log2 #distinct rows).
    """
    if direction not in _DIRECTIONS:
        raise InvalidInputError(f"direction must be 'A->B' or 'B->A', got {direction!r}")
    M, name = as_matrix(x, what="one-way complexity", binary=False)
    axis = _DIRECTIONS[direction]
    cls = RowClasses(axis, distinct_classes(M, axis))
    what = "rows" if axis == 0 else "columns"
    return Bound(
        math.ceil(math.log2(cls.count)), "exact", f"D1way({direction})", name,
        method="distinct-rows" if axis == 0 else "distinct-columns", witness=cls,
        source=f"[KN] Ch. 4 (one-way protocols); theory §1 (log #distinct {what})",
        expression=f"ceil(log2 #distinct {what})", note=f"{cls.count} distinct {what}",
    )


def check_row_classes(x: Any, witness: RowClasses) -> bool:
    """True iff ``witness`` partitions the rows (columns) into classes of equal, mutually distinct ones.

    Examples
    --------
    >>> check_row_classes([[0, 1], [0, 1]], RowClasses(0, ((0, 1),)))
    True
    >>> check_row_classes([[0, 1], [0, 1]], RowClasses(0, ((0,), (1,))))
    False
    """
    M, _ = as_matrix(x, what="one-way complexity", binary=False)
    if witness.axis not in (0, 1):
        return False
    A = M if witness.axis == 0 else M.T
    flat = [i for c in witness.classes for i in c]
    if sorted(flat) != list(range(A.shape[0])) or any(len(c) == 0 for c in witness.classes):
        return False
    reps = [A[c[0]] for c in witness.classes]
    if any((A[i] != reps[k]).any() for k, c in enumerate(witness.classes) for i in c):
        return False
    return len({r.tobytes() for r in reps}) == len(reps)
