"""Rectangle partition and cover numbers, exact by SAT (theory §3; [KN] Prop. 1.13, §2.1).

- partition number C^D: fewest monochromatic rectangles partitioning M. The leaves of a protocol
  tree partition M into monochromatic rectangles, so ``D(f) >= ceil(log2 C^D)``. Note (theory §3,
  [AUY]): only ``D = O(log² C^D)`` holds — ``log2 C^D + 1`` is *not* an upper bound on D and is never
  reported as one.
- cover numbers C^1, C^0: fewest 1- (0-) rectangles covering the 1- (0-) cells; the
  nondeterministic complexities as [KN] §2.1 define them, ``N^1(f) = log2 C^1(f)`` and
  ``N^0(f) = log2 C^0(f)`` (no ceiling; a nondeterministic protocol that names one of the C^1
  rectangles sends ``ceil(log2 C^1)`` bits, recorded in the note).

Method: a greedy solution gives the upper bound; fooling sets (and for partitions
``rank(M) + rank(J - M)``) give the lower bound; then SAT asks for k = upper - 1, upper - 2, ...
slots until UNSAT. The last SAT model is the witness, the UNSAT answer for one slot fewer the
lower certificate (a DRUP proof, see :mod:`ccbounds.bounds.drup`), unless the cheap lower bound
already meets the upper one. Encoding (IDPool keys): ``("row", t, i)`` / ``("col", t, j)``: row i /
column j is in rectangle t; ``("in", t, i, j)``: cell (i, j) is in rectangle t; ``("out", t)``:
rectangle t is a 1-rectangle (partitions only). Symmetry breaking: the cells of a fooling set lie
in distinct rectangles, so fooling cell t is put in rectangle t.

Examples
--------
>>> b = partition_number([[1, 0], [0, 1]])
>>> b.witness.number, b.value
(4, 2)
>>> cover_number([[1, 1], [1, 0]], 1).witness.number
2
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ccbounds.bound_record import Bound
from ccbounds.bounds import _trees
from ccbounds.bounds._fooling_greedy import fooling_bound
from ccbounds.bounds._matrix import Deadline, as_matrix, check_memory, resolve_solver
from ccbounds.bounds._rect_encoding import rectangle_clauses
from ccbounds.bounds._sat import run_sat
from ccbounds.bounds.drup import UnsatProof
from ccbounds.bounds.rank import rank_real
from ccbounds.errors import InvalidInputError, SolverLimitError

__all__ = ["MAX_RECT_SIDE", "RectangleLimitError", "RectangleSolution", "binary_rank", "check_rectangles",
           "cover_number", "partition_number"]

#: the SAT encodings take at most this many rows and columns (functions of 6 bits a side); the encoding's
#: size is estimated first and refused past :data:`~ccbounds.bounds._matrix.MEMORY_BUDGET`
MAX_RECT_SIDE = 64

Rect = tuple[tuple[int, ...], tuple[int, ...], int]


@dataclass(frozen=True)
class RectangleSolution:
    """An optimal partition (``kind="partition"``), cover (``"cover1"``, ``"cover0"``) or partition of the
    1-cells (``"binary-rank"``) of a matrix.

    ``rectangles``: ``(rows, cols, colour)`` triples; ``lower``: why fewer is impossible — an
    :class:`UnsatProof`, or a sentence naming the cheap lower bound that meets ``number``, whose
    certificates are in ``certificates`` (``"fooling"``: a FoolingSet; ``"rank"``: a RankCertificate of
    M, or for partitions the pair for M and J - M). :meth:`check` checks all of it against a matrix.
    """

    kind: str
    number: int
    rectangles: tuple[Rect, ...]
    lower: Any
    timings: dict[str, float] = field(default_factory=dict, compare=False)
    certificates: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        low = self.lower.to_dict() if hasattr(self.lower, "to_dict") else str(self.lower)
        return {"kind": self.kind, "number": self.number, "lower": low, "timings": dict(self.timings),
                "rectangles": [[list(r), list(c), v] for r, c, v in self.rectangles]}

    def __str__(self) -> str:
        return f"{self.kind} into {self.number} rectangles (lower: {self.lower})"

    def check(self, x: Any) -> bool:
        """The rectangles are a ``kind`` of ``x`` (:func:`check_rectangles`), ``number`` of them, and fewer
        is impossible: the UNSAT proof for ``number - 1`` (its CNF rebuilt from ``x``) checks, or a stored
        certificate (fooling set, ranks) checks on ``x`` and reaches ``number``."""
        from ccbounds.bounds.fooling import is_fooling_set
        from ccbounds.bounds.rank import check_rank_certificate

        M, _ = as_matrix(x, max_rows=MAX_RECT_SIDE, max_cols=MAX_RECT_SIDE, what="rectangle checks")
        if len(self.rectangles) != self.number or not check_rectangles(M, self.rectangles, self.kind):
            return False
        if self.number == 0:
            return True
        if isinstance(self.lower, UnsatProof):
            o = self.lower.origin or {}
            return (o.get("encoding") == self.kind and int(o.get("k", -1)) == self.number - 1
                    and np.array_equal(np.asarray(o.get("matrix")), M) and self.lower.check())
        fs = self.certificates.get("fooling")
        if fs is not None:
            colour = _target_colour(self.kind)
            fk = "combined" if colour is None else str(colour)
            if fs.size >= self.number and is_fooling_set(fs.cells, M, fk):
                return True
        rk = self.certificates.get("rank")
        if self.kind == "binary-rank" and rk is not None:
            return rk.rank >= self.number and check_rank_certificate(M, rk)
        if self.kind == "partition" and rk is not None:
            c1, c0 = rk
            return (c1.rank + c0.rank >= self.number and check_rank_certificate(M, c1)
                    and check_rank_certificate(1 - M, c0))
        return False


class RectangleLimitError(SolverLimitError):
    """The exact partition/cover number was not decided (time limit or memory budget): ``lower <= number <=
    upper.number``, with ``lower_reason`` (a sentence naming the cheap bound, or the :class:`UnsatProof` for
    ``lower - 1`` rectangles) and ``upper`` the best :class:`RectangleSolution` found (check it with
    :func:`check_rectangles`)."""

    def __init__(self, message: str, kind: str, lower: int, lower_reason: Any, upper: RectangleSolution) -> None:
        super().__init__(message)
        self.kind, self.lower, self.lower_reason, self.upper = kind, lower, lower_reason, upper


def check_rectangles(x: Any, rects: Any, kind: str = "partition") -> bool:
    """True iff ``rects`` is a ``kind`` of M by monochromatic rectangles: "partition" (of every cell), "cover1" /
    "cover0" (the 1- / 0-cells, overlaps allowed), "binary-rank" (the 1-cells by disjoint 1-rectangles).

    Accepts a :class:`RectangleSolution` or a list of ``(rows, cols, colour)``.

    Examples
    --------
    >>> check_rectangles([[1, 0]], [((0,), (0,), 1), ((0,), (1,), 0)])
    True
    >>> check_rectangles([[1, 0]], [((0,), (0, 1), 1)])
    False
    """
    M, _ = as_matrix(x, what="rectangle checks")
    if isinstance(rects, RectangleSolution):
        kind, rects = rects.kind, rects.rectangles
    if kind not in _KINDS:
        raise InvalidInputError(f"kind must be one of {', '.join(_KINDS)}, got {kind!r}")
    count = np.zeros(M.shape, dtype=int)
    for rows, cols, v in rects:
        rows, cols = list(rows), list(cols)
        if not rows or not cols or len(set(rows)) != len(rows) or len(set(cols)) != len(cols):
            return False
        if any(not 0 <= i < M.shape[0] for i in rows) or any(not 0 <= j < M.shape[1] for j in cols):
            return False
        if not (M[np.ix_(rows, cols)] == v).all():
            return False
        if kind != "partition" and v != _target_colour(kind):
            return False
        count[np.ix_(rows, cols)] += 1
    if kind == "partition":
        return bool((count == 1).all())
    if kind == "binary-rank":
        return bool((count[M == 1] == 1).all())
    return bool((count[M == _target_colour(kind)] >= 1).all())


def _greedy(M: np.ndarray, kind: str) -> list[Rect]:
    """A quick partition/cover: grow a rectangle from each uncovered target cell, best of two orders."""
    R, C = M.shape
    colour = _target_colour(kind)
    target = np.ones(M.shape, bool) if colour is None else (M == colour)
    disjoint = kind in ("partition", "binary-rank")
    covered = ~target
    rects: list[Rect] = []
    while not covered.all():
        i, j = map(int, np.argwhere(~covered)[0])
        v = int(M[i, j])
        ok = (M == v) & (~covered if disjoint else True)  # cells a rectangle may use
        cands = []
        for first in ("rows", "cols"):
            if first == "cols":
                cols = [c for c in range(C) if ok[i, c]]
                rows = [r for r in range(R) if ok[r, cols].all()]
            else:
                rows = [r for r in range(R) if ok[r, j]]
                cols = [c for c in range(C) if ok[rows, c].all()]
            gain = int((~covered[np.ix_(rows, cols)]).sum())
            cands.append((gain, tuple(rows), tuple(cols)))
        _, rows, cols = max(cands)
        rects.append((rows, cols, v))
        covered[np.ix_(rows, cols)] = True
    return rects


_KINDS = ("partition", "cover1", "cover0", "binary-rank")


def _target_colour(kind: str) -> int | None:
    """The colour whose cells a ``kind`` covers (None: every cell, a partition of M)."""
    return {"partition": None, "cover1": 1, "cover0": 0, "binary-rank": 1}[kind]


def spec_rectangles(spec: Any, rows: list[int], cols: list[int], kind: str) -> list[Rect]:
    """The leaves of a protocol spec (:mod:`ccbounds.bounds._trees`) on rows x cols as monochromatic
    rectangles: a partition of M (``kind="partition"``), or its ``v``-leaves, a cover of the v-cells."""
    if not rows or not cols:
        return []
    if not isinstance(spec, tuple):
        if kind != "partition" and int(spec) != _target_colour(kind):
            return []
        return [(tuple(rows), tuple(cols), int(spec))]
    owner, ones, c0, c1 = spec
    o = set(ones)
    if owner == _trees.ALICE:
        return (spec_rectangles(c0, [i for i in rows if i not in o], cols, kind)
                + spec_rectangles(c1, [i for i in rows if i in o], cols, kind))
    return (spec_rectangles(c0, rows, [j for j in cols if j not in o], kind)
            + spec_rectangles(c1, rows, [j for j in cols if j in o], kind))


#: bytes of CNF (as estimated by :func:`encoding_bytes`) Python builds per second, about: a CNF that would
#: take longer than the time left is not built (the answer is then the interval)
BUILD_BYTES_PER_SECOND = 1e8


def encoding_bytes(shape: tuple[int, int], kind: str, k: int) -> float:
    """Estimated bytes of :func:`~ccbounds.bounds._rect_encoding.rectangle_clauses` (~200 bytes a clause as lists)."""
    R, C = shape
    per_cell = k * (4 + (k - 1) / 2) + 1 if kind in ("partition", "binary-rank") else 2 * k + 1
    return 200.0 * (R * C * per_cell + k)


def _decode(M: np.ndarray, kind: str, k: int, model: tuple[int, ...], pool: Any) -> list[Rect]:
    true = {v for v in model if v > 0}
    R, C = M.shape
    rects = []
    for t in range(k):
        rows = tuple(i for i in range(R) if pool.id(("row", t, i)) in true)
        cols = tuple(j for j in range(C) if pool.id(("col", t, j)) in true)
        if rows and cols:
            rects.append((rows, cols, int(M[rows[0], cols[0]])))
    return rects


def _solve(x: Any, kind: str, solver: str, time_limit: float | None,
           use_cheap_bounds: bool, memory_budget: int | None = None) -> tuple[RectangleSolution, str]:
    M, name = as_matrix(x, max_rows=MAX_RECT_SIDE, max_cols=MAX_RECT_SIDE, what=f"the exact {kind} number")
    if memory_budget is not None and (isinstance(memory_budget, bool) or memory_budget <= 0
                                      or not isinstance(memory_budget, (int, np.integer))):
        raise InvalidInputError(f"memory_budget must be a positive number of bytes or None, got {memory_budget!r}")
    solver = resolve_solver(solver)
    deadline = Deadline(time_limit)
    timings: dict[str, float] = {}
    certificates: dict[str, Any] = {}
    t0 = time.perf_counter()
    cands = [_greedy(M, kind)]
    full = (list(range(M.shape[0])), list(range(M.shape[1])))
    cands += [spec_rectangles(_trees.oneway_spec(M, a), *full, kind) for a in (0, 1)]
    if max(M.shape) <= 32:  # the greedy tree costs seconds at 64 x 64
        cands.append(spec_rectangles(_trees.greedy_spec(M), *full, kind))
    best = min(cands, key=len)  # each a partition (cover): the leaves of a protocol tree are one
    timings["greedy"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    fk = "combined" if kind == "partition" else str(_target_colour(kind))
    fb = fooling_bound(M, fk, time_limit=max(0.01, min(2.0, deadline.remaining() or 2.0)))
    fool = list(fb.witness.cells)
    lower, why = len(fool), f"fooling set of size {len(fool)}"
    if not use_cheap_bounds:  # SAT all the way down (the fooling cells still break symmetry)
        lower, why = 0, "no rectangles needed"
    elif kind == "partition":
        c1, c0 = rank_real(M), rank_real(1 - M)
        r1, r0 = c1.rank, c0.rank
        certificates["rank"] = (c1, c0)
        if r1 + r0 > lower:
            lower, why = r1 + r0, f"rank(M) + rank(J-M) = {r1} + {r0}"
    elif kind == "binary-rank":  # the rectangles sum to M over R: at least rank(M) of them
        rc = rank_real(M)
        if rc.rank > lower:
            lower, why = rc.rank, f"rank(M) = {rc.rank}"
        certificates["rank"] = rc
    if use_cheap_bounds:
        certificates["fooling"] = fb.witness
    timings["lower bounds"] = time.perf_counter() - t0
    proof: Any = f"{why} >= {len(best)}"
    t0 = time.perf_counter()
    while len(best) > lower:
        k = len(best) - 1
        try:
            nbytes = encoding_bytes(M.shape, kind, k)
            check_memory(nbytes, f"the {kind} CNF with {k} rectangles", memory_budget)
            rem = deadline.remaining()
            if rem is not None and nbytes / BUILD_BYTES_PER_SECOND > rem:
                raise SolverLimitError(f"the exact {kind} number ran out of time (time_limit={time_limit} s): "
                                       f"building the CNF with {k} rectangles would take longer than the time left")
            cl, pool = rectangle_clauses(M, kind, k, fool)
            outcome = run_sat(cl, solver, deadline, proof=True, what=f"the exact {kind} number",
                              memory_budget=memory_budget)
        except SolverLimitError as e:
            timings["sat"] = time.perf_counter() - t0
            upper = RectangleSolution(kind, len(best), tuple(best), "not proven optimal", timings)
            raise RectangleLimitError(f"{e}; known so far: {lower} <= {kind} number of {name} <= {len(best)} "
                                      f"(lower: {why})", kind, lower, why, upper) from None
        if outcome.sat:
            best = _decode(M, kind, k, outcome.model, pool)
        else:
            proof = UnsatProof(f"no {kind} of {name} into {k} rectangles", outcome.solver or solver,
                               tuple(tuple(c) for c in cl), outcome.proof,
                               origin={"encoding": kind, "matrix": M, "k": k, "fooling": tuple(fool)})
            break
    timings["sat"] = time.perf_counter() - t0
    return RectangleSolution(kind, len(best), tuple(best), proof, timings, certificates), name


def binary_rank(x: Any, solver: str = "portfolio", time_limit: float | None = None,
                use_cheap_bounds: bool = True, memory_budget: int | None = None) -> RectangleSolution:
    """Binary (Boolean partition) rank: the fewest 1-rectangles partitioning the 1-cells, C^P_1 (theory §3.5).

    Lower bounds rank_R(M) (the rectangles sum to M) and the largest 1-fooling set found; upper bounds the
    greedy partition and the 1-leaves of the one-way (and greedy) protocols; then SAT asks for one
    rectangle fewer until UNSAT (a DRUP proof whose CNF :meth:`RectangleSolution.check` rebuilds).
    The partition number is ``C^D = binary_rank(M) + binary_rank(J - M)`` (a monochromatic partition is a
    partition of the 1-cells and one of the 0-cells).

    Parameters
    ----------
    x : array_like or Problem
        A 0/1 matrix with at most :data:`MAX_RECT_SIDE` rows and columns.
    solver, time_limit, use_cheap_bounds, memory_budget
        As for :func:`partition_number`.

    Returns
    -------
    RectangleSolution
        ``kind="binary-rank"``, ``number`` the binary rank, ``rectangles`` the witness partition,
        ``lower`` the UNSAT proof or the cheap bound's sentence (certificates in ``certificates``);
        ``.check(x)`` checks everything.

    Raises
    ------
    InvalidInputError, TooLargeError, UnknownNameError
    RectangleLimitError
        Not decided within ``time_limit`` or the memory budget (the interval, with the best partition).

    Examples
    --------
    >>> b = binary_rank([[1, 1, 0], [0, 1, 1], [1, 1, 1]])  # rank 3 over R
    >>> b.number, b.check([[1, 1, 0], [0, 1, 1], [1, 1, 1]])
    (3, True)
    >>> binary_rank([[1, 1, 0], [0, 1, 1], [1, 0, 1]]).number  # rank 3; no 2 rectangles can do
    3

    References
    ----------
    [KN] §2.1 and Def. 1.15 (rectangle partitions); EBMF (Tan, Ping, Cong, DATE 2024) for exact binary
    matrix factorization by SMT.
    """
    return _solve(x, "binary-rank", solver, time_limit, use_cheap_bounds, memory_budget)[0]


def partition_number(x: Any, solver: str = "portfolio", time_limit: float | None = None,
                     use_cheap_bounds: bool = True, memory_budget: int | None = None) -> Bound:
    """The monochromatic rectangle partition number C^D and the bound ``D >= ceil(log2 C^D)``.

    Parameters
    ----------
    x : array_like or Problem
        A 0/1 matrix with at most :data:`MAX_RECT_SIDE` rows and columns.
    solver : str
        A pysat solver name or alias.
    time_limit : float or None
        Seconds for the whole computation.
    use_cheap_bounds : bool
        False ignores the fooling-set and rank lower bounds and lets SAT prove optimality (for tests
        and benchmarks of the encoding).
    memory_budget : int or None
        Bytes each rectangle CNF may take (estimated before it is built) and each SAT child process's
        data limit; None: :data:`~ccbounds.bounds._matrix.MEMORY_BUDGET`. Past it the answer is the
        interval known so far (:class:`RectangleLimitError`).

    Returns
    -------
    Bound
        ``model="D"``, ``direction="lower"``, ``method="partition-number"``; witness a
        :class:`RectangleSolution` (``.number`` is C^D). Never an upper bound on D (theory §3).

    Raises
    ------
    InvalidInputError, TooLargeError, UnknownNameError, SolverLimitError

    Examples
    --------
    >>> partition_number([[1, 1], [1, 0]]).witness.number
    3

    References
    ----------
    [KN] Prop. 1.13 (a protocol partitions M into monochromatic rectangles); [AUY] (D = O(log² C^D)).
    """
    sol, name = _solve(x, "partition", solver, time_limit, use_cheap_bounds, memory_budget)
    return Bound(math.ceil(math.log2(sol.number)), "lower", "D", name, method="partition-number",
                 witness=sol, source="[KN] Prop. 1.13 (leaves partition M); theory §3",
                 expression="ceil(log2 C^D)",
                 note=f"C^D = {sol.number}; log2 C^D + 1 is NOT an upper bound on D (only D = O(log^2 C^D), [AUY])")


def cover_number(x: Any, value: int = 1, solver: str = "portfolio", time_limit: float | None = None,
                 use_cheap_bounds: bool = True, memory_budget: int | None = None) -> Bound:
    """The cover number C^value and the nondeterministic complexity ``N^value = log2 C^value`` ([KN] §2.1).

    Parameters
    ----------
    x : array_like or Problem
        A 0/1 matrix with at most :data:`MAX_RECT_SIDE` rows and columns.
    value : {1, 0}
        Cover the 1-cells (N1) or the 0-cells (N0).
    solver, time_limit, use_cheap_bounds, memory_budget
        As for :func:`partition_number`.

    Returns
    -------
    Bound
        ``direction="exact"``, ``model="N1"`` / ``"N0"``, ``method="cover-number"``, value
        ``log2 C^value`` (a float, as [KN] §2.1 defines N^1 and N^0, without rounding up), witness a
        :class:`RectangleSolution`. A matrix without ``value``-cells has C = 0 and N = 0.

    Examples
    --------
    >>> b = cover_number(np.eye(4, dtype=int), 0)  # the 0-cells of I_4: 4 rectangles suffice
    >>> b.witness.number, b.value
    (4, 2.0)
    >>> cover_number([[1, 1, 0], [0, 1, 1], [1, 0, 1]], 1).value  # C^1 = 3: log2 3, not 2
    1.584962500721156

    References
    ----------
    [KN] §2.1 (N^1(f) = log2 C^1(f), N^0(f) = log2 C^0(f)); theory §3.
    """
    if value not in (0, 1):
        raise InvalidInputError(f"value must be 0 or 1, got {value!r}")
    sol, name = _solve(x, f"cover{value}", solver, time_limit, use_cheap_bounds, memory_budget)
    bits = math.log2(sol.number) if sol.number > 0 else 0.0
    sent = math.ceil(bits)
    return Bound(bits, "exact", f"N{value}", name, method="cover-number", witness=sol,
                 source="[KN] §2.1 (N^1 = log2 C^1, N^0 = log2 C^0)",
                 expression=f"log2 C^{value}",
                 note=f"C^{value} = {sol.number}; a protocol naming one of the rectangles sends ceil(log2 C^{value}) "
                 f"= {sent} bits")
