"""Shared input handling for the matrix bounds: validation, names, limits, SAT solver names.

Every function of :mod:`ccbounds.bounds` accepts a 0/1 matrix (a numpy array or nested lists) or
anything with a ``.matrix()`` method (a :class:`ccbounds.problems.Problem`), and passes it through
:func:`as_matrix` here, so that every entry point rejects bad input with the same messages.

Examples
--------
>>> M, name = as_matrix([[1, 0], [0, 1]])
>>> M.dtype.name, M.shape, name
('int8', (2, 2), 'matrix 2x2')
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ccbounds.errors import InvalidInputError, MemoryBudgetError, TooLargeError, UnknownNameError

__all__ = [
    "MAX_SIDE",
    "MAX_VALUE",
    "MEMORY_BUDGET",
    "Deadline",
    "as_matrix",
    "check_memory",
    "distinct_classes",
    "is_binary",
    "problem_name",
    "resolve_solver",
]

#: largest number of rows or columns any bound accepts (the cheap bounds); exact methods document
#: their own, smaller limits
MAX_SIDE = 4096

#: largest output value of a non-boolean matrix (``binary=False``); entries are stored as int8
MAX_VALUE = 127


#: bytes any one exact search (split search, SAT encoding, rectangle encoding) or certificate check may
#: allocate for its own data structures; a request estimated above it is refused
#: (:class:`~ccbounds.errors.MemoryBudgetError`, a SolverLimitError: exact D then answers with its
#: interval). SAT solvers running in child processes get it as their data-segment limit.
MEMORY_BUDGET = 2 * 2**30


def check_memory(nbytes: float, what: str, budget: int | None = None) -> None:
    """Refuse (:class:`MemoryBudgetError`) when ``nbytes`` exceeds ``budget`` (default :data:`MEMORY_BUDGET`).

    Examples
    --------
    >>> check_memory(1024, "a small table")
    >>> try:
    ...     check_memory(2**40, "a huge table", budget=2**30)
    ... except MemoryBudgetError as e:
    ...     print(str(e)[:47])
    a huge table would allocate about 1099511.6 MB,
    """
    limit = MEMORY_BUDGET if budget is None else budget
    if nbytes > limit:
        raise MemoryBudgetError(f"{what} would allocate about {_mb(nbytes)}, over the memory budget of "
                                f"{_mb(limit)} (memory_budget, by default ccbounds.bounds._matrix.MEMORY_BUDGET); "
                                "use a smaller instance or raise the budget")


def _mb(nbytes: float) -> str:
    return f"{nbytes / 1e6:.1f} MB" if nbytes >= 1e5 else f"{nbytes:.0f} bytes"


def problem_name(x: Any, M: np.ndarray) -> str:
    """The problem's ``.name`` if ``x`` has one, else ``"matrix RxC"``."""
    name = getattr(x, "name", None)
    if isinstance(name, str) and name and hasattr(x, "matrix"):
        return name
    return f"matrix {M.shape[0]}x{M.shape[1]}"


def as_matrix(x: Any, *, max_rows: int = MAX_SIDE, max_cols: int = MAX_SIDE,
              what: str = "this bound", binary: bool = True) -> tuple[np.ndarray, str]:
    """Validate ``x`` as a communication matrix; return it as int8 plus its problem name.

    Parameters
    ----------
    x : array_like or Problem
        A 2-D 0/1 matrix (rows: Alice's inputs, columns: Bob's) or an object with ``.matrix()``.
    max_rows, max_cols : int
        Size limits of the calling method; larger inputs raise :class:`TooLargeError`.
    what : str
        The calling method, named in the error messages.
    binary : bool
        True: entries must be 0/1 (the matrix bounds). False: any integers in 0..127, the outputs of
        a function with more than two values (q-ary INDEX); for the methods defined for those
        (one-way complexity, exact D).

    Returns
    -------
    (numpy.ndarray, str)
        A C-contiguous int8 copy with entries 0/1, and the problem name.

    Raises
    ------
    InvalidInputError
        Empty, 1-D, ragged, non-numeric, NaN or non-0/1 input (non-integral or outside 0..127
        when ``binary`` is false).
    TooLargeError
        More rows or columns than ``max_rows`` / ``max_cols``.

    Examples
    --------
    >>> as_matrix([[0, 1, 1]])[0].tolist()
    [[0, 1, 1]]
    """
    raw = x.matrix() if hasattr(x, "matrix") and callable(x.matrix) else x
    try:
        arr = np.asarray(raw)
    except ValueError as e:  # ragged nested lists
        raise InvalidInputError(f"the matrix is ragged ({e}); pass a rectangular 2-D 0/1 array") from None
    if arr.dtype == object:
        raise InvalidInputError("the matrix is ragged or not numeric; pass a rectangular 2-D 0/1 array")
    if arr.ndim != 2:
        raise InvalidInputError(f"expected a 2-D 0/1 matrix, got an array with {arr.ndim} dimension(s); "
                                "reshape it to (rows, columns)")
    if arr.size == 0:
        raise InvalidInputError(f"the matrix is empty (shape {arr.shape}); pass at least one row and column")
    if arr.dtype.kind not in "biuf":
        raise InvalidInputError(f"matrix entries must be 0/1 numbers, got dtype {arr.dtype}; convert with "
                                "np.asarray(M, dtype=int)")
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise InvalidInputError("the matrix contains NaN; every entry must be 0 or 1")
    allowed = np.isin(arr, (0, 1)) if binary else (arr == np.round(arr)) & (arr >= 0) & (arr <= MAX_VALUE)
    if not allowed.all():
        i, j = (int(t) for t in np.argwhere(~allowed)[0])
        bad = arr[i, j]
        at = f"row {i + 1}, column {j + 1} holds {bad.item()}"
        hint = "; a +-1 sign matrix: map -1 to 0 (or relabel its two values)" if bad == -1 else ""
        if binary:
            raise InvalidInputError(f"{what} needs a 0/1 matrix: {at}{hint}; binarize the matrix "
                                    "first (one-way complexity and exact D also take integer outputs 0..127)")
        raise InvalidInputError(f"matrix entries must be integers in 0..{MAX_VALUE} (function outputs): {at}{hint}")
    r, c = arr.shape
    if r > max_rows or c > max_cols:
        raise TooLargeError(f"{what} accepts at most {max_rows} rows and {max_cols} columns, got {r}x{c}; "
                            "use a smaller instance (or the cheap bounds only)")
    M = np.ascontiguousarray(arr.astype(np.int8))
    return M, problem_name(x, M)


def is_binary(M: np.ndarray) -> bool:
    """True iff every entry of ``M`` is 0 or 1.

    Examples
    --------
    >>> is_binary(np.array([[0, 1]])), is_binary(np.array([[0, 2]]))
    (True, False)
    """
    return bool(np.isin(M, (0, 1)).all())


def distinct_classes(M: np.ndarray, axis: int = 0) -> tuple[tuple[int, ...], ...]:
    """Group equal rows (``axis=0``) or columns (``axis=1``); classes ordered by first index.

    Examples
    --------
    >>> distinct_classes(np.array([[0, 1], [1, 0], [0, 1]]))
    ((0, 2), (1,))
    """
    A = M if axis == 0 else M.T
    groups: dict[bytes, list[int]] = {}
    for i in range(A.shape[0]):
        groups.setdefault(A[i].tobytes(), []).append(i)
    return tuple(sorted((tuple(g) for g in groups.values()), key=lambda g: g[0]))


def resolve_solver(name: str) -> str:
    """Map a pysat solver name or alias (``"g4"``, ``"cd19"``, ...) to its canonical name.

    Raises
    ------
    UnknownNameError
        The name is no pysat solver; the message lists the valid names.

    Examples
    --------
    >>> resolve_solver("g4"), resolve_solver("cadical195"), resolve_solver("portfolio")
    ('glucose4', 'cadical195', 'portfolio')
    """
    from pysat.solvers import SolverNames

    if str(name).strip().lower() == "portfolio":  # glucose 4 and CaDiCaL 1.9.5 raced (ccbounds.bounds._sat)
        return "portfolio"

    table = {k: v for k, v in vars(SolverNames).items() if not k.startswith("_")}
    key = str(name).strip().lower()
    for canon, aliases in table.items():
        if key == canon or key in aliases:
            return canon
    raise UnknownNameError(f"unknown SAT solver {name!r}; use 'portfolio' or one of {', '.join(sorted(table))} "
                           "(or a pysat alias such as 'g4', 'cd19')")


@dataclass
class Deadline:
    """A wall-clock budget; ``None`` seconds means unlimited."""

    seconds: float | None
    start: float = 0.0

    def __post_init__(self) -> None:
        if self.seconds is not None and not self.seconds > 0:
            raise InvalidInputError(f"time_limit must be a positive number of seconds or None, got {self.seconds!r}")
        self.start = time.perf_counter()

    def remaining(self) -> float | None:
        """Seconds left (may be negative), or ``None`` when unlimited."""
        if self.seconds is None:
            return None
        return self.seconds - (time.perf_counter() - self.start)

    def expired(self) -> bool:
        r = self.remaining()
        return r is not None and r <= 0
