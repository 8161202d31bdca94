"""Independent brute-force oracles: exact D by memoised search, rectangle numbers, fooling sets.

These share no code with the SAT methods (only input validation) and are the test oracles and the
benchmark baseline. ``D`` follows the recursion of [KN] Def. 1.1 directly on the rectangle R x C
(row and column sets as bitmasks):

    D(R, C) = 0 if M[R x C] is monochromatic, else
    1 + min over splits R = R0 ⊔ R1 (Alice) or C = C0 ⊔ C1 (Bob) of max(D(R0, C), D(R1, C)).

Examples
--------
>>> brute_force_D([[1, 0], [0, 1]]).value, brute_force_partition([[1, 0], [0, 1]])
(2, 4)
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ccbounds.bound_record import Bound
from ccbounds.bounds._matrix import Deadline, as_matrix
from ccbounds.errors import InvalidInputError, SolverLimitError

__all__ = [
    "MAX_BRUTE_SIDE",
    "brute_force_D",
    "brute_force_cover",
    "brute_force_fooling",
    "brute_force_partition",
    "monochromatic_rectangles",
]

#: brute-force D enumerates subsets of rows and columns: at most this many of each
MAX_BRUTE_SIDE = 10


def _bits(mask: int) -> list[int]:
    out, i = [], 0
    while mask:
        if mask & 1:
            out.append(i)
        mask >>= 1
        i += 1
    return out


def brute_force_D(x: Any, time_limit: float | None = None) -> Bound:
    """Exact deterministic communication complexity D(f) by memoised search over rectangles.

    Parameters
    ----------
    x : array_like or Problem
        A matrix with at most :data:`MAX_BRUTE_SIDE` rows and columns: 0/1, or integer outputs
        0..127 (a leaf then outputs the value of its monochromatic rectangle).
    time_limit : float or None
        Seconds; ``None`` for no limit.

    Returns
    -------
    Bound
        ``direction="exact"``, ``model="D"``, ``method="brute-force"``, witness an optimal
        :class:`~ccbounds.protocols.ProtocolTree` on row/column indices.

    Raises
    ------
    TooLargeError, SolverLimitError
        Too many rows/columns, or the time limit passed.

    Examples
    --------
    >>> b = brute_force_D([[0, 0, 1], [0, 1, 1], [1, 1, 1]])  # [x + y >= 2] on {0, 1, 2}
    >>> b.value, b.witness.cost
    (3, 3)

    References
    ----------
    [KN] Def. 1.1 (protocol trees) and Prop. 1.13 (leaves are monochromatic rectangles).
    """
    from ccbounds.protocols import ALICE, BOB, ProtocolTree

    M, name = as_matrix(x, max_rows=MAX_BRUTE_SIDE, max_cols=MAX_BRUTE_SIDE, what="brute-force D", binary=False)
    deadline = Deadline(time_limit)
    R, C = M.shape
    # per output value v: the columns where row i holds v (a 0/1 matrix has two values)
    row_has = {int(v): [sum(1 << j for j in range(C) if M[i, j] == v) for i in range(R)] for v in np.unique(M)}
    memo: dict[tuple[int, int], tuple[int, Any]] = {}
    counter = [0]

    def colour(rows: int, cols: int) -> int | None:
        """The value of a monochromatic rectangle, else None."""
        first = rows & -rows
        v = int(M[first.bit_length() - 1, (cols & -cols).bit_length() - 1])
        masks = row_has[v]
        for i in _bits(rows):
            if masks[i] & cols != cols:
                return None
        return v

    def solve(rows: int, cols: int) -> int:
        key = (rows, cols)
        if key in memo:
            return memo[key][0]
        counter[0] += 1
        if counter[0] % 4096 == 0 and deadline.expired():
            raise SolverLimitError(f"brute-force D ran past time_limit={time_limit} s on a {R}x{C} matrix; "
                                   "use exact_D (SAT) or raise time_limit")
        c = colour(rows, cols)
        if c is not None:
            memo[key] = (0, c)
            return 0
        best, how = sys.maxsize, None
        for owner, full in ((ALICE, rows), (BOB, cols)):
            low = full & -full
            rest = full ^ low
            sub = rest
            while True:  # parts containing the lowest element, except the whole set
                part0 = sub | low
                if part0 != full:
                    part1 = full ^ part0
                    a = solve(part0, cols) if owner == ALICE else solve(rows, part0)
                    if 1 + a < best:
                        b = solve(part1, cols) if owner == ALICE else solve(rows, part1)
                        if 1 + max(a, b) < best:
                            best, how = 1 + max(a, b), (owner, part0, part1)
                if best == 1 or sub == 0:
                    break
                sub = (sub - 1) & rest
            if best == 1:
                break
        memo[key] = (best, how)
        return best

    full_r, full_c = (1 << R) - 1, (1 << C) - 1
    value = solve(full_r, full_c)

    def spec(rows: int, cols: int) -> Any:
        v, how = memo[(rows, cols)]
        if v == 0:
            return how
        owner, p0, p1 = how
        if owner == ALICE:
            return (ALICE, _bits(p1), spec(p0, cols), spec(p1, cols))
        return (BOB, _bits(p1), spec(rows, p0), spec(rows, p1))

    tree = ProtocolTree.from_splits(spec(full_r, full_c), name=f"optimal protocol for {name}")
    if hasattr(x, "x_index"):  # a Problem: the witness reads its inputs, not matrix indices
        tree = tree.over_inputs(x)
    return Bound(value, "exact", "D", name, method="brute-force", witness=tree,
                 source="[KN] Def. 1.1 (exhaustive search over protocol trees)",
                 note=f"{len(memo)} rectangles searched")


def monochromatic_rectangles(x: Any, colour: int | None = None) -> list[tuple[int, int, int]]:
    """All nonempty monochromatic rectangles as ``(row mask, column mask, colour)``, by enumeration.

    Examples
    --------
    >>> len(monochromatic_rectangles([[1, 1]]))  # {0}x{0}, {0}x{1}, {0}x{0,1}
    3
    """
    M, _ = as_matrix(x, max_rows=MAX_BRUTE_SIDE, max_cols=MAX_BRUTE_SIDE, what="rectangle enumeration")
    R, C = M.shape
    out = []
    for rm in range(1, 1 << R):
        rows = _bits(rm)
        for cm in range(1, 1 << C):
            sub = M[np.ix_(rows, _bits(cm))]
            v = int(sub.flat[0])
            if (sub == v).all() and (colour is None or v == colour):
                out.append((rm, cm, v))
    return out


def _cells(rm: int, cm: int, C: int) -> int:
    """The cell mask (bit i*C + j) of a rectangle."""
    return sum(1 << (i * C + j) for i in _bits(rm) for j in _bits(cm))


def _min_cover(target: int, rects: list[int], exact: bool) -> int:
    """Fewest of ``rects`` (cell masks) covering ``target``; disjoint ones if ``exact``."""
    best = [target.bit_count()]  # single cells always work

    def go(covered: int, used: int) -> None:
        if used >= best[0]:
            return
        left = target & ~covered
        if not left:
            best[0] = used
            return
        cell = left & -left
        for r in rects:
            if r & cell and (not exact or not r & covered):
                go(covered | r, used + 1)

    go(0, 0)
    return best[0]


def _small(x: Any, what: str) -> np.ndarray:
    M, _ = as_matrix(x, max_rows=4, max_cols=4, what=what)
    return M


def brute_force_partition(x: Any) -> int:
    """The partition number C^D by exhaustive exact-cover search (at most 4 x 4).

    Examples
    --------
    >>> brute_force_partition([[1, 1], [1, 0]])
    3
    """
    M = _small(x, "brute-force partition number")
    C = M.shape[1]
    rects = [_cells(r, c, C) for r, c, _ in monochromatic_rectangles(M)]
    return _min_cover((1 << M.size) - 1, rects, exact=True)


def brute_force_cover(x: Any, value: int = 1) -> int:
    """The cover number C^value (fewest ``value``-rectangles covering all ``value``-cells), at most 4 x 4.

    Examples
    --------
    >>> brute_force_cover([[1, 1], [1, 0]], 1), brute_force_cover([[1, 1], [1, 0]], 0)
    (2, 1)
    """
    if value not in (0, 1):
        raise InvalidInputError(f"value must be 0 or 1, got {value!r}")
    M = _small(x, "brute-force cover number")
    C = M.shape[1]
    target = sum(1 << (i * C + j) for i, j in zip(*np.nonzero(M == value)))
    if target == 0:
        return 0
    rects = [_cells(r, c, C) for r, c, _ in monochromatic_rectangles(M, value)]
    return _min_cover(target, rects, exact=False)


def brute_force_fooling(x: Any, kind: str = "combined") -> int:
    """Size of the largest fooling set by trying every subset of cells (at most 16 candidate cells).

    Examples
    --------
    >>> brute_force_fooling([[1, 0], [0, 1]], "1"), brute_force_fooling([[1, 0], [0, 1]])
    (2, 4)
    """
    if kind not in ("1", "0", "combined"):
        raise InvalidInputError(f"kind must be '1', '0' or 'combined', got {kind!r}")
    M = _small(x, "brute-force fooling sets")
    cells = [(i, j) for i in range(M.shape[0]) for j in range(M.shape[1])
             if kind == "combined" or M[i, j] == int(kind)]
    n = len(cells)
    bad = [0] * n  # bad[a]: cells that can share a monochromatic rectangle with a
    for a, (x1, y1) in enumerate(cells):
        for b, (x2, y2) in enumerate(cells):
            v = M[x1, y1]
            if a != b and M[x2, y2] == v and M[x1, y2] == v and M[x2, y1] == v:
                bad[a] |= 1 << b
    best = 0
    for S in range(1 << n):
        k = S.bit_count()
        if k > best and all(not (bad[a] & S) for a in _bits(S)):
            best = k
    return best
