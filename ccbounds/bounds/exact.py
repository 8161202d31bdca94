"""Exact deterministic communication complexity D(f) of a small matrix (theory §8).

Pipeline: deduplicate rows and columns; cheap lower bounds (log-rank and leaf-rank over R and GF(2),
the combined fooling set, any bounds the caller passes); cheap upper bounds (both one-way protocols
plus the answer, a greedy tree); the heuristic tree search :func:`~ccbounds.bounds._treesearch.find_tree`
for shallower trees; then each depth d left between the bounds, from the bottom up, is decided by the
exhaustive split search (theory §8.5: a tree of depth d, or a refutation certificate), and where that
runs out of time by SAT on the tree CNF of :mod:`ccbounds.bounds._encoding` (with the fooling set's
leaf-counting constraints; glucose 4 and CaDiCaL raced, :mod:`ccbounds.bounds._sat`). The first depth
with a tree is D; the tree is run on every cell. Past ``time_limit`` the search stops with
:class:`ExactLimitError`, a :class:`SolverLimitError` that carries the :class:`DInterval` known so far.

Why deduplication keeps D: if rows i and i' of M are equal, M and M without row i' have the same D.
Deleting a row cannot raise D (a protocol for M restricted to the other rows is a protocol for the
smaller matrix). Conversely, from a protocol for the smaller matrix, let Alice holding i' act as if
she held i: every leaf i reaches is a rectangle R x C with i in R, monochromatic on M; adding i' to
R keeps it monochromatic because row i' equals row i, and the rectangles still partition M. The
same holds for columns and for any output alphabet. So D(M) = D(M with one row per class).

What is certified: ``upper`` — a ProtocolTree of depth D that outputs M[i, j] on every cell (checked
on all cells here); ``lower`` — a named cheap bound reaching D (each witness has its checker: rank
certificates, a fooling set; their indices refer to ``result.reduced``, the matrix with duplicates
merged), a :class:`SplitRefutation` of depth D - 1 (its ``check()`` runs the independent
``check_refutation``), or an :class:`UnsatProof` that the CNF "a protocol tree of depth D - 1 computes
M" is unsatisfiable, checkable by :func:`check_rup_proof`; the CNF includes the leaf-counting
constraints of the fooling set recorded in the claim, which hold for every tree once that set is a
fooling set (:func:`is_fooling_set`). Nothing is checked for you beyond the tree: call the checks.

Matrices with more than two output values (q-ary INDEX) are supported: leaves output values, the
cheap lower bounds are "non-constant", ``ceil(log2 #values)`` (a tree has a leaf per value) and the
leaf count ``ceil(log2 sum_v rank([M == v]))`` (theory §3.4: every leaf is a monochromatic rectangle,
of rank one in the indicator of its value).

Resources: every search stays within ``memory_budget`` (default
:data:`~ccbounds.bounds._matrix.MEMORY_BUDGET`): the split search refuses a scan or certificate estimated
above it (SAT is tried instead), the tree CNF is estimated before it is built, SAT children get it as their
data limit; past it the answer is the :class:`DInterval` known so far (``interval.limit == "memory"``).
``result.check(x)`` checks a whole answer end to end against the problem (:mod:`ccbounds.bounds._answer_check`).

Examples
--------
>>> res = exact_D(np.eye(4, dtype=int))
>>> res.value, res.tree.cost, res.lower.method
(3, 3, 'leaf-rank')
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ccbounds.bound_record import Bound
from ccbounds.bounds import _trees
from ccbounds.bounds._encoding import decode_tree, protocol_tree_clauses
from ccbounds.bounds._fooling_greedy import fooling_bound
from ccbounds.bounds._lookahead import MAX_SIDE as SPLIT_MAX_SIDE
from ccbounds.bounds._lookahead import Refutation
from ccbounds.bounds._lookahead_tree import SplitRefutation, refute_or_spec
from ccbounds.bounds._matrix import (
    Deadline,
    as_matrix,
    check_memory,
    distinct_classes,
    is_binary,
    resolve_solver,
)
from ccbounds.bounds._sat import run_sat
from ccbounds.bounds._treesearch import find_tree
from ccbounds.bounds.drup import UnsatProof
from ccbounds.bounds.rank import leaf_rank_bound, log_rank
from ccbounds.bounds.rectangles import BUILD_BYTES_PER_SECOND
from ccbounds.errors import InvalidInputError, MemoryBudgetError, SolverLimitError, TooLargeError

__all__ = ["DEFAULT_WORKERS", "MAX_EXACT_SIDE", "DInterval", "ExactLimitError", "ExactResult", "exact_D",
           "protocol_tree_clauses"]

#: exact D takes matrices with at most this many distinct rows and columns
MAX_EXACT_SIDE = 64

_ENCODINGS = ("fooling", "plain")

#: seconds :func:`~ccbounds.bounds._treesearch.find_tree` gets per depth before SAT takes over
TREE_SEARCH_SECONDS = 0.5

#: share of the time left that the exhaustive split search (theory §8.5) gets per depth before SAT
SPLIT_SHARE = 0.75

#: threads of the split search's scan when ``exact_D(workers=None)``: both cores of a two-core machine
DEFAULT_WORKERS = max(1, min(2, os.cpu_count() or 1))


@dataclass(frozen=True)
class ExactResult:
    """Exact D(f) with both certificates.

    ``lower``/``upper`` are Bounds with value ``value``; ``tree`` a ProtocolTree of cost ``value``
    correct on every cell; ``proof`` the :class:`UnsatProof` for depth ``value - 1`` when SAT refuted it,
    else ``None``: then ``lower`` is a cheap bound reaching ``value`` or the split search's refutation
    (method ``"split-search"``, witness a :class:`SplitRefutation` with ``.check()``); ``fooling``
    the cells (of the matrix with duplicate rows and columns merged, ``reduced``) of the fooling set
    whose leaf-counting constraints are part of the refuted CNF — the proof certifies D >= value given
    that they form a fooling set of ``reduced`` (``is_fooling_set(result.fooling, result.reduced)``);
    ``timings`` seconds per stage; ``search`` the search's size: split-search nodes and splits scanned,
    SAT calls and DRUP proof lines logged.
    """

    value: int
    problem: str
    lower: Bound
    upper: Bound
    tree: Any = field(repr=False)
    proof: UnsatProof | None = field(repr=False)
    cheap_bounds: tuple[Bound, ...] = field(repr=False)
    solver: str = ""
    timings: dict[str, float] = field(default_factory=dict, compare=False)
    fooling: tuple[tuple[int, int], ...] = field(default=(), repr=False)
    reduced: Any = field(default=None, repr=False, compare=False)
    search: dict[str, int] = field(default_factory=dict, compare=False)

    @property
    def proof_length(self) -> int | None:
        return None if self.proof is None else self.proof.length

    @property
    def bound(self) -> Bound:
        """``D(f) = value`` as one exact Bound (witness: this result)."""
        return Bound(self.value, "exact", "D", self.problem, method="exact-search", witness=self,
                     source="[KN] Def. 1.1 (protocol trees); theory §8 (exact search: a tree and a lower-bound "
                            "certificate)",
                     note=f"lower: {self.lower.method}; upper: protocol tree of depth {self.value}")

    def failures(self, x: Any) -> list[str]:
        """Why this is not a certified answer for the problem ``x`` (``[]`` when it is); see :meth:`check`."""
        from ccbounds.bounds._answer_check import answer_failures

        return answer_failures(x, self)

    def check(self, x: Any) -> bool:
        """Check the whole answer against the problem ``x`` (the matrix or Problem it claims to answer):
        the tree computes ``x`` on every cell within depth ``value``, and the lower certificate (rank,
        fooling set, split refutation or UNSAT proof with its CNF rebuilt) checks on the merged matrix
        of ``x``. No solver is called.

        Examples
        --------
        >>> r = exact_D(np.eye(3, dtype=int))
        >>> r.check(np.eye(3, dtype=int)), r.check(np.ones((3, 3), dtype=int))
        (True, False)
        """
        return not self.failures(x)

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "problem": self.problem, "lower": self.lower.to_dict(),
                "upper": self.upper.to_dict(), "proof_length": self.proof_length, "solver": self.solver,
                "timings": dict(self.timings), "search": dict(self.search)}

    def __str__(self) -> str:
        why = f"UNSAT at depth {self.value - 1} ({self.proof})" if self.proof is not None else str(self.lower)
        t = sum(self.timings.values())
        return f"D({self.problem}) = {self.value} bits  [lower: {why}; upper: protocol tree; {t:.3f} s]"


@dataclass(frozen=True)
class DInterval:
    """What an interrupted exact search knows: ``lower.value <= D <= upper.value``, both certified.

    ``lower`` is a lower bound on D (method ``"sat"`` with an :class:`UnsatProof` witness, or
    ``"split-search"`` with a :class:`SplitRefutation`, for the deepest refuted depth; or the best
    cheap bound); ``upper`` an upper bound whose witness is a
    ProtocolTree checked on every cell; ``reason`` why the search stopped; ``limit`` which limit stopped
    it: ``"time"`` (``time_limit``) or ``"memory"`` (``memory_budget``: the next step was estimated above
    it and not started).

    Examples
    --------
    >>> try:  # no time for SAT: only the one-way tree and the trivial bound
    ...     exact_D(np.eye(4, dtype=int), time_limit=1e-9, use_cheap_bounds=False)
    ... except ExactLimitError as e:
    ...     print(e.interval.lower.value, e.interval.upper.value, e.interval.reason)
    0 3 time limit 1e-09 s hit while deciding depth 0
    """

    problem: str
    lower: Bound
    upper: Bound
    reason: str
    search: dict[str, int] = field(default_factory=dict, compare=False)
    limit: str = "time"

    @property
    def proof(self) -> UnsatProof | None:
        return self.lower.witness if isinstance(self.lower.witness, UnsatProof) else None

    @property
    def tree(self) -> Any:
        return self.upper.witness

    def failures(self, x: Any) -> list[str]:
        """Why the interval is not certified for the problem ``x`` (``[]`` when it is)."""
        from ccbounds.bounds._answer_check import answer_failures

        return answer_failures(x, self)

    def check(self, x: Any) -> bool:
        """Both ends checked against ``x``: the tree on every cell, the lower certificate on the merged matrix."""
        return not self.failures(x)

    def to_dict(self) -> dict[str, Any]:
        return {"problem": self.problem, "lower": self.lower.to_dict(), "upper": self.upper.to_dict(),
                "reason": self.reason, "limit": self.limit, "search": dict(self.search)}

    def __str__(self) -> str:
        lo, hi = math.ceil(self.lower.value - 1e-9), int(self.upper.value)
        return (f"{lo} <= D({self.problem}) <= {hi} bits  [lower: {self.lower.method}; "
                f"upper: protocol tree of depth {hi}; {self.reason}]")


class ExactLimitError(SolverLimitError):
    """The exact search hit its time limit; ``interval`` (a :class:`DInterval`) is what it proved."""

    def __init__(self, message: str, interval: DInterval) -> None:
        super().__init__(message)
        self.interval = interval


def tree_cnf_bytes(shape: tuple[int, int], d: int, fooling: int = 0) -> float:
    """Estimated bytes of the tree CNF of depth d (Python lists of ints, about 200 bytes a clause):
    a clause per cell and leaf, about 14 per node and line, and the fooling set's counters."""
    R, C = shape
    clauses = R * C * 2 ** d + 14 * (R + C) * 2 ** d + 8 * fooling * 2 ** (d + 1)
    return 200.0 * clauses


def _cheap_lower(M: np.ndarray, name: str, deadline: Deadline, extra: Sequence[Bound], hi: int) -> list[Bound]:
    """Cheap lower bounds in order of cost; the fooling-set search is skipped once ``hi`` is reached."""
    out: list[Bound] = []
    given = [b for b in extra if b.model == "D" and b.is_lower and b.value is not None]
    if not (M == M.flat[0]).all():
        out.append(Bound(1, "lower", "D", name, method="non-constant",
                         source="[KN] Def. 1.1 (a tree of depth 0 is one leaf)", note="M is not constant"))
    if not is_binary(M):
        k = len(np.unique(M))
        out.append(Bound(math.ceil(math.log2(k)), "lower", "D", name, method="output-values",
                         source="[KN] Def. 1.1 (every output value needs a leaf)",
                         expression="ceil(log2 #output values)", note=f"{k} output values"))
        out.append(leaf_rank_bound(M, "R"))  # the leaf count sum_v rank([M == v]) (theory §3.4)
    else:
        out += [log_rank(M, "R"), log_rank(M, "GF2"), leaf_rank_bound(M, "R"), leaf_rank_bound(M, "GF2")]
        if max(math.ceil(b.value - 1e-9) for b in out + given) < hi:
            budget = 1.0 if deadline.remaining() is None else max(0.01, min(1.0, deadline.remaining() / 4))
            out.append(fooling_bound(M, "combined", time_limit=budget))
    # the caller's bounds last: among equal values the bound checked here is the one reported
    out += given
    return [Bound(b.value, b.direction, b.model, name, b.eps, b.method, b.witness, b.source,
                  b.expression, b.note) for b in out]


def _checked_tree(x: Any, M0: np.ndarray, spec: Any, rcls: Any, ccls: Any, d: int, name: str,
                  label: str = "optimal protocol") -> Any:
    """The ProtocolTree of ``spec`` (on class indices), run on every cell of M0."""
    from ccbounds.protocols import ProtocolTree

    tree = ProtocolTree.from_splits(_trees.expand_spec(spec, rcls, ccls), name=f"{label} for {name}")
    wrong = [(i, j) for i in range(M0.shape[0]) for j in range(M0.shape[1]) if tree.output(i, j) != M0[i, j]]
    if wrong or tree.cost != d:
        raise RuntimeError(f"internal error: decoded tree has cost {tree.cost} (expected {d}) and errs on "
                           f"{wrong[:3]}; please report this matrix")
    if hasattr(x, "x_index"):  # a Problem: the witness reads its inputs, not matrix indices
        tree = tree.over_inputs(x)
    return tree


def _upper_bound(tree: Any, name: str, how: str, cells: int) -> Bound:
    return Bound(tree.cost, "upper", "D", name, method="protocol", witness=tree,
                 source="[KN] Def. 1.1 (a protocol tree of depth d)",
                 note=f"tree from {how}; checked on all {cells} inputs")


def _sat_lower(proof: UnsatProof, d: int, name: str, solver: str) -> Bound:
    return Bound(d, "lower", "D", name, method="sat", witness=proof,
                 source="[KN] Def. 1.1 (no tree of depth D-1: UNSAT)",
                 note=f"{proof.length} DRUP proof lines" if proof.lemmas is not None
                 else f"{solver} cannot log proofs: UNSAT answer only")


def _split_lower(cert: SplitRefutation, d: int, name: str) -> Bound:
    return Bound(d, "lower", "D", name, method="split-search", witness=cert,
                 source="[KN] Def. 1.1 and Lemma 1.28 (every root split leaves a child that needs more leaves "
                        "than its depth allows, or is refuted in turn; theory §8.5)",
                 note=f"{cert.refutation.n_nodes} nodes, {cert.length} split entries; "
                      "its .check() runs the independent check_refutation")


def exact_D(x: Any, time_limit: float | None = None, solver: str = "portfolio",
            lower_bounds: Sequence[Bound] = (), use_cheap_bounds: bool = True,
            encoding: str = "fooling", workers: int | None = None, speedups: bool = True,
            memory_budget: int | None = None) -> ExactResult:
    """Exact deterministic communication complexity D(f), with a protocol tree and an UNSAT proof.

    Parameters
    ----------
    x : array_like or Problem
        A matrix with at most :data:`MAX_EXACT_SIDE` distinct rows and columns: 0/1, or integer
        outputs 0..127 (q-ary INDEX; leaves output values).
    time_limit : float or None
        Seconds for the whole computation (enforced inside the solver for interruptible solvers
        such as glucose; CaDiCaL and lingeling then run in a child process killed at the deadline).
    solver : str
        ``"portfolio"`` (glucose 4, then glucose 4 raced against CaDiCaL 1.9.5 on two processes, see
        :mod:`ccbounds.bounds._sat`; the proof names the solver that won) or one pysat solver name or
        alias (``"glucose4"``, ``"cadical195"``, ``"g4"``, ...). glucose and CaDiCaL log DRUP proofs; for
        solvers that cannot, the UNSAT answer is recorded without one.
    lower_bounds : sequence of Bound
        Extra lower bounds on D the caller already has (e.g. from :func:`partition_number`).
    use_cheap_bounds : bool
        False skips the rank/fooling-set bounds, the greedy tree and the fooling set's implied
        constraints (the plain tree CNF from depth 0 up to the one-way protocol's depth): for
        benchmarking and cross-checking the SAT search itself.
    encoding : {"fooling", "plain"}
        ``"fooling"`` (default): the heuristic tree search :func:`~ccbounds.bounds._treesearch.find_tree`
        looks for a tree at each depth from the cheap lower bound up (:data:`TREE_SEARCH_SECONDS` each);
        then each depth left is decided by the exhaustive split search (theory §8.5: a tree, or a
        refutation certificate checked by ``check_refutation``), given :data:`SPLIT_SHARE` of the time
        left, and where that runs out by SAT on the tree CNF with the fooling set's leaf-counting
        constraints (:mod:`ccbounds.bounds._encoding`). ``"plain"``: the search of ccbounds before issue
        11 — no tree or split search, the tree CNF alone — kept as the benchmark's baseline (with
        ``solver="glucose4"``).
    workers : int or None
        Threads the split search's scan is divided between (theory §8.9); the answer and its
        certificates do not depend on it. None: :data:`DEFAULT_WORKERS` (2, or 1 on a one-core machine);
        1: one thread. The SAT portfolio uses two processes either way.
    speedups : bool
        The split search's memo shared across depths, containment and symmetry hits, skipped tests and
        scan order (theory §8.9; default). False, with ``workers=1``: the search of ccbounds at commit
        383c2a5, the benchmark's baseline.
    memory_budget : int or None
        Bytes any one step of the search may allocate for its own data (theory §8.7): the split search's
        scan and certificate, the tree CNF (estimated before either is built) and each SAT child process
        (its data-segment limit). None: :data:`~ccbounds.bounds._matrix.MEMORY_BUDGET` (2 GiB). A step
        estimated above it is not started; the search goes on with SAT where the split search was refused,
        and answers with the certified :class:`DInterval` known so far (``interval.limit == "memory"``)
        where the tree CNF is refused too.

    Returns
    -------
    ExactResult

    Raises
    ------
    InvalidInputError, TooLargeError, UnknownNameError
        Bad matrix, too many distinct rows/columns, unknown solver.
    ExactLimitError
        The time limit passed or the memory budget would be exceeded; its ``interval`` holds the
        certified bounds found so far (a :class:`SolverLimitError`; ``interval.limit`` says which).

    Examples
    --------
    >>> r = exact_D([[0, 0, 1], [0, 1, 1], [1, 1, 1]])
    >>> r.value, r.proof is not None or r.lower.method
    (3, 'leaf-rank')
    >>> exact_D([[0, 1], [2, 0]]).value  # three output values
    2

    References
    ----------
    [KN] Def. 1.1, Lemma 1.28, Prop. 1.14; theory §8 (exact D: tree plus UNSAT proof for D - 1).
    """
    t_all = time.perf_counter()
    M0, name = as_matrix(x, what="exact D", binary=False)
    solver = resolve_solver(solver)
    if encoding not in _ENCODINGS:
        raise InvalidInputError(f"encoding must be one of {', '.join(_ENCODINGS)}, got {encoding!r}")
    if workers is None:
        workers = DEFAULT_WORKERS
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise InvalidInputError(f"workers must be an integer >= 1 (threads for the split search), got {workers!r}")
    if memory_budget is not None and (isinstance(memory_budget, bool) or memory_budget <= 0
                                      or not isinstance(memory_budget, (int, np.integer))):
        raise InvalidInputError(f"memory_budget must be a positive number of bytes or None, got {memory_budget!r}")
    deadline = Deadline(time_limit)
    timings: dict[str, float] = {}
    rcls, ccls = distinct_classes(M0, 0), distinct_classes(M0, 1)
    if len(rcls) > MAX_EXACT_SIDE or len(ccls) > MAX_EXACT_SIDE:
        raise TooLargeError(f"exact D takes at most {MAX_EXACT_SIDE} distinct rows and columns, got "
                            f"{len(rcls)}x{len(ccls)}; use bounds_report(x) for the cheap bounds")
    M = np.ascontiguousarray(M0[np.ix_([c[0] for c in rcls], [c[0] for c in ccls])])
    timings["validate"] = time.perf_counter() - t_all

    t0 = time.perf_counter()
    specs = [("one-way A->B", _trees.oneway_spec(M, 0)), ("one-way B->A", _trees.oneway_spec(M, 1))]
    up_how, up_spec = min(specs, key=lambda s: _trees.depth(s[1]))
    timings["upper bounds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    cheap = _cheap_lower(M, name, deadline, lower_bounds, _trees.depth(up_spec)) if use_cheap_bounds else []
    timings["lower bounds"] = time.perf_counter() - t0
    binary = is_binary(M)
    best_cheap = max((math.ceil(b.value - 1e-9) for b in cheap), default=0)
    if binary and use_cheap_bounds and best_cheap < _trees.depth(up_spec):
        t0 = time.perf_counter()
        greedy = _trees.greedy_spec(M)
        if _trees.depth(greedy) < _trees.depth(up_spec):
            up_how, up_spec = "greedy tree", greedy
        timings["upper bounds"] += time.perf_counter() - t0

    # the first bound reaching the best value (in order of cost, the caller's bounds last)
    lo_bound = max(cheap, key=lambda b: math.ceil(b.value - 1e-9), default=None)
    if lo_bound is None:
        lo_bound = Bound(0, "lower", "D", name, method="trivial", source="D >= 0")
    lo = math.ceil(lo_bound.value - 1e-9)
    if lo > _trees.depth(up_spec):
        raise InvalidInputError(f"the lower bound {lo_bound} exceeds the depth {_trees.depth(up_spec)} of a protocol "
                                f"tree for {name} ({up_how}, checked on every cell): drop it from lower_bounds")
    if encoding != "plain" and use_cheap_bounds and lo < _trees.depth(up_spec):
        t0 = time.perf_counter()
        for d_try in range(lo, _trees.depth(up_spec)):  # the shallowest tree the search finds quickly
            rem = deadline.remaining()
            budget = TREE_SEARCH_SECONDS if rem is None else min(TREE_SEARCH_SECONDS, max(0.01, rem / 4))
            found = find_tree(M, d_try, Deadline(budget))
            if found is not None:
                up_how, up_spec = "tree search", found
                break
        timings["tree search"] = time.perf_counter() - t0
    fooling: tuple[tuple[int, int], ...] = ()
    if encoding == "fooling" and binary and use_cheap_bounds:
        fb = next((b for b in cheap if b.method == "fooling-set"), None)
        if fb is None and lo < _trees.depth(up_spec):
            fb = fooling_bound(M, "combined", time_limit=0.5)
        fooling = tuple(fb.witness.cells) if fb is not None else ()
    hi = _trees.depth(up_spec)
    proof: UnsatProof | None = None
    refuted: Bound | None = None  # D >= refuted.value, certified for the deepest depth refuted so far
    spec, d = up_spec, hi
    split = encoding != "plain" and use_cheap_bounds and max(M.shape) <= SPLIT_MAX_SIDE
    timings["split search"] = timings["sat"] = 0.0
    search: dict[str, int] = {"split_nodes": 0, "splits_scanned": 0, "sat_calls": 0, "proof_lines": 0}
    if speedups:
        search.update(memo_hits=0, depth_hits=0, contain_hits=0, iso_hits=0)
    shared: list = []  # the split search, reused from depth to depth (theory §8.9) with speedups
    claim_tail = f" (with the leaf-counting constraints of the fooling set {list(fooling)})" if fooling else ""
    refused = ""  # why the split search was refused at the last depth (memory), for the interval's reason
    for d in range(lo, hi):
        got = None
        if split:  # exhaustive: a refutation of depth d or a tree of depth d, unless time runs out
            t0 = time.perf_counter()
            rem = deadline.remaining()
            try:
                got = refute_or_spec(M, d, Deadline(None if rem is None else max(rem * SPLIT_SHARE, 0.01)),
                                     stats=search, search=shared if speedups else None, speedups=speedups,
                                     workers=int(workers), memory_budget=memory_budget)
            except MemoryBudgetError as e:
                got, refused = None, str(e).split(";")[0]
            except SolverLimitError:
                got = None
            timings["split search"] += time.perf_counter() - t0
        if isinstance(got, Refutation):
            refuted, proof, refused = _split_lower(SplitRefutation(M, got), d + 1, name), None, ""
            continue
        if got is not None:
            spec, up_how = got, "split search"
            break
        t0 = time.perf_counter()
        try:
            nbytes = tree_cnf_bytes(M.shape, d, len(fooling))
            check_memory(nbytes, f"the tree CNF of depth {d}", memory_budget)
            rem = deadline.remaining()
            if rem is not None and nbytes / BUILD_BYTES_PER_SECOND > rem:
                raise SolverLimitError(f"building the tree CNF of depth {d} would take longer than the time left "
                                       f"(time_limit={time_limit} s); raise time_limit")
            cl, pool = protocol_tree_clauses(M, d, fooling)
            out = run_sat(cl, solver, deadline, proof=True, what=f"exact D of {name} (depth {d})",
                          memory_budget=memory_budget)
        except SolverLimitError as e:
            timings["sat"] += time.perf_counter() - t0
            tree = _checked_tree(x, M0, spec, rcls, ccls, hi, name, "best protocol found")
            memory = isinstance(e, MemoryBudgetError)
            why = (f"memory budget: {str(e).split(';')[0]}" if memory
                   else f"time limit {time_limit} s hit while deciding depth {d}")
            if refused:
                why += f" (the split search was refused too: {refused})"
            interval = DInterval(name, refuted if refuted is not None else lo_bound,
                                 _upper_bound(tree, name, up_how, M0.size), why, dict(search),
                                 "memory" if memory else "time")
            raise ExactLimitError(f"{e}; known so far: {interval}", interval) from None
        timings["sat"] += time.perf_counter() - t0
        refused = ""
        search["sat_calls"] += 1
        search["proof_lines"] += len(out.proof or ())
        if out.sat:
            spec, up_how = decode_tree(M, d, out.model, pool), "sat"
            break
        proof = UnsatProof(f"no protocol tree of depth {d} computes {name}{claim_tail}", out.solver or solver,
                           tuple(tuple(c) for c in cl), out.proof,
                           origin={"encoding": "protocol-tree", "matrix": M, "depth": d, "fooling": fooling})
        refuted = _sat_lower(proof, d + 1, name, solver)
    else:
        d = hi

    t0 = time.perf_counter()
    tree = _checked_tree(x, M0, spec, rcls, ccls, d, name)
    timings["verify"] = time.perf_counter() - t0
    upper = _upper_bound(tree, name, up_how, M0.size)
    if refuted is not None and refuted.value == d:
        lower = refuted
    else:
        proof = None
        lower = lo_bound if lo >= d else Bound(0, "lower", "D", name, method="trivial", source="D >= 0")
    return ExactResult(d, name, lower, upper, tree, proof, tuple(cheap), solver, timings,
                       fooling if proof is not None else (), M, search)
