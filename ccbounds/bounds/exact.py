"""Exact deterministic communication complexity D(f) of a small matrix by SAT (SPEC §3).

Pipeline: deduplicate rows and columns (D is unchanged); cheap lower bounds (log-rank and
leaf-rank over R and GF(2), the combined fooling set, any bounds the caller passes); cheap upper
bounds (both one-way protocols plus one answer bit, a greedy tree); then for each depth d between
them, ask a SAT solver for a protocol tree of depth d. The first satisfiable d is D; the tree decoded
from its model is run on every cell; the UNSAT answer for d - 1 (with its DRUP proof) or the cheap
lower bound that already reaches d is the certificate of optimality.

Encoding of depth-d trees (IDPool keys; nodes in heap order, root 1, children 2v and 2v+1, leaves
2**d .. 2**(d+1)-1): ``("alice", v)`` — Alice owns internal node v; ``("a", v, i)`` / ``("b", v, j)`` —
row i / column j sends bit 1 at v; ``("r", v, i)`` / ``("c", v, j)`` — row i / column j reaches v;
``("out", l)`` — leaf l outputs 1. Constraints: ``r[child_bit, i] <-> r[v, i] and (not alice[v] or
a[v, i] == bit)`` and symmetrically for columns; ``r[l, i] and c[l, j] -> out[l] == M[i, j]``.
Symmetry breaking: split bits of rows (columns) that do not reach v, or of the non-owner, are 0, and
the first row (column) reaching v goes to child 0 (swapping the children of a node is a symmetry).

Examples
--------
>>> res = exact_D(np.eye(4, dtype=int))
>>> res.value, res.tree.cost, res.lower.method
(3, 3, 'leaf-rank')
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ccbounds.bound import Bound
from ccbounds.bounds import _trees
from ccbounds.bounds._matrix import Deadline, as_matrix, distinct_classes, resolve_solver
from ccbounds.bounds._sat import run_sat
from ccbounds.bounds.drup import UnsatProof
from ccbounds.bounds.fooling import largest_fooling_set
from ccbounds.bounds.rank import leaf_rank_bound, log_rank
from ccbounds.errors import TooLargeError

__all__ = ["ExactResult", "exact_D", "protocol_tree_clauses", "MAX_EXACT_SIDE"]

#: exact D takes matrices with at most this many distinct rows and columns
MAX_EXACT_SIDE = 64


@dataclass(frozen=True)
class ExactResult:
    """Exact D(f) with both certificates.

    ``lower``/``upper`` are Bounds with value ``value``; ``tree`` a ProtocolTree of cost ``value``
    correct on every cell; ``proof`` the :class:`UnsatProof` for depth ``value - 1`` or ``None`` when a
    cheap lower bound (``lower``) already reaches ``value``; ``timings`` seconds per stage.
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

    @property
    def proof_length(self) -> int | None:
        return None if self.proof is None else self.proof.length

    @property
    def bound(self) -> Bound:
        """``D(f) = value`` as one exact Bound (witness: this result)."""
        return Bound(self.value, "exact", "D", self.problem, method="sat", witness=self,
                     source="[KN] Def. 1.1 (protocol trees; SAT search)",
                     note=f"lower: {self.lower.method}; upper: protocol tree of depth {self.value}")

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "problem": self.problem, "lower": self.lower.to_dict(),
                "upper": self.upper.to_dict(), "proof_length": self.proof_length, "solver": self.solver,
                "timings": dict(self.timings)}

    def __str__(self) -> str:
        why = f"UNSAT at depth {self.value - 1} ({self.proof})" if self.proof is not None else str(self.lower)
        t = sum(self.timings.values())
        return f"D({self.problem}) = {self.value} bits  [lower: {why}; upper: protocol tree; {t:.3f} s]"


def protocol_tree_clauses(M: np.ndarray, d: int) -> tuple[list[list[int]], Any]:
    """CNF whose models are depth-``d`` protocol trees computing M (see module docstring); and its IDPool.

    Examples
    --------
    >>> from pysat.solvers import Solver
    >>> cl, _ = protocol_tree_clauses(np.eye(2, dtype=np.int8), 1)
    >>> with Solver(bootstrap_with=cl) as s:
    ...     s.solve()
    False
    """
    from pysat.formula import IDPool

    pool = IDPool()
    R, C = M.shape
    cl: list[list[int]] = []
    r = lambda v, i: pool.id(("r", v, i))  # noqa: E731
    c = lambda v, j: pool.id(("c", v, j))  # noqa: E731
    cl += [[r(1, i)] for i in range(R)] + [[c(1, j)] for j in range(C)]
    for v in range(1, 1 << d):
        own = pool.id(("alice", v))
        for side, n, sign, split, inn in (("a", R, 1, "a", r), ("b", C, -1, "b", c)):
            mine = sign * own  # literal "this side owns v"
            for i in range(n):
                s = pool.id((split, v, i))
                cl += [[mine, -s], [inn(v, i), -s]]  # don't-care split bits are 0
                if i == 0:
                    cl.append([-inn(v, 0), -s])  # the first member goes to child 0
                else:
                    seen = pool.id(("seen", side, v, i))  # some member before i reaches v
                    prev = pool.id(("seen", side, v, i - 1)) if i > 1 else None
                    cl.append([-seen, inn(v, i - 1)] + ([prev] if prev else []))
                    cl.append([-inn(v, i), seen, -s])
                for bit in (0, 1):
                    u, lit = 2 * v + bit, (s if bit else -s)
                    cl += [[-inn(u, i), inn(v, i)], [-inn(u, i), -mine, lit],
                           [-inn(v, i), mine, inn(u, i)], [-inn(v, i), -lit, inn(u, i)]]
    for leaf in range(1 << d, 1 << (d + 1)):
        out = pool.id(("out", leaf))
        for i in range(R):
            for j in range(C):
                cl.append([-r(leaf, i), -c(leaf, j), out if M[i, j] else -out])
    return cl, pool


def _decode(M: np.ndarray, d: int, model: Sequence[int], pool: Any) -> Any:
    true = {v for v in model if v > 0}

    def rec(v: int, rows: list[int], cols: list[int]) -> Any:
        sub = M[np.ix_(rows, cols)]
        if v >= 1 << d or (sub == sub.flat[0]).all():
            return int(sub.flat[0])
        alice = pool.id(("alice", v)) in true
        items, key = (rows, "a") if alice else (cols, "b")
        ones = [i for i in items if pool.id((key, v, i)) in true]
        zeros = [i for i in items if i not in set(ones)]
        if not ones or not zeros:  # a silent node: skip it
            return rec(2 * v + (1 if ones else 0), rows, cols)
        if alice:
            return (_trees.ALICE, ones, rec(2 * v, zeros, cols), rec(2 * v + 1, ones, cols))
        return (_trees.BOB, ones, rec(2 * v, rows, zeros), rec(2 * v + 1, rows, ones))

    return rec(1, list(range(M.shape[0])), list(range(M.shape[1])))


def _cheap_lower(M: np.ndarray, name: str, deadline: Deadline, extra: Sequence[Bound], hi: int) -> list[Bound]:
    """Cheap lower bounds in order of cost; the fooling-set search is skipped once ``hi`` is reached."""
    out = [b for b in extra if b.model == "D" and b.is_lower and b.value is not None]
    if not (M == M.flat[0]).all():
        out.append(Bound(1, "lower", "D", name, method="non-constant",
                         source="[KN] Def. 1.1 (a tree of depth 0 is one leaf)", note="M is not constant"))
    out += [log_rank(M, "R"), log_rank(M, "GF2"), leaf_rank_bound(M, "R"), leaf_rank_bound(M, "GF2")]
    if max(math.ceil(b.value - 1e-9) for b in out) < hi:
        budget = 1.0 if deadline.remaining() is None else max(0.01, min(1.0, deadline.remaining() / 4))
        out.append(largest_fooling_set(M, "combined", time_limit=budget, on_limit="best"))
    return [Bound(b.value, b.direction, b.model, name, b.eps, b.method, b.witness, b.source,
                  b.expression, b.note) for b in out]


def exact_D(x: Any, time_limit: float | None = None, solver: str = "glucose4",
            lower_bounds: Sequence[Bound] = (), use_cheap_bounds: bool = True) -> ExactResult:
    """Exact deterministic communication complexity D(f), with a protocol tree and an UNSAT proof.

    Parameters
    ----------
    x : array_like or Problem
        A 0/1 matrix with at most :data:`MAX_EXACT_SIDE` distinct rows and columns.
    time_limit : float or None
        Seconds for the whole computation (enforced inside the solver for interruptible solvers
        such as glucose; CaDiCaL/lingeling calls run to the end).
    solver : str
        A pysat solver name or alias (``"glucose4"``, ``"cadical195"``, ``"g4"``, ...). glucose and
        CaDiCaL log DRUP proofs; for solvers that cannot, the UNSAT answer is recorded without one.
    lower_bounds : sequence of Bound
        Extra lower bounds on D the caller already has (e.g. from :func:`partition_number`).
    use_cheap_bounds : bool
        False skips the rank/fooling-set bounds and the greedy tree (SAT from depth 0 up to the
        one-way protocol's depth): for benchmarking the SAT search itself.

    Returns
    -------
    ExactResult

    Raises
    ------
    InvalidInputError, TooLargeError, UnknownNameError, SolverLimitError

    Examples
    --------
    >>> r = exact_D([[0, 0, 1], [0, 1, 1], [1, 1, 1]])
    >>> r.value, r.proof is not None or r.lower.method
    (3, 'leaf-rank')

    References
    ----------
    [KN] Def. 1.1 and Lemma 1.28; SPEC §3 (exact D: tree plus UNSAT proof for D - 1).
    """
    t_all = time.perf_counter()
    M0, name = as_matrix(x, what="exact D")
    solver = resolve_solver(solver)
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
    if use_cheap_bounds and max((math.ceil(b.value - 1e-9) for b in cheap), default=0) < _trees.depth(up_spec):
        t0 = time.perf_counter()
        greedy = _trees.greedy_spec(M)
        if _trees.depth(greedy) < _trees.depth(up_spec):
            up_how, up_spec = "greedy tree", greedy
        timings["upper bounds"] += time.perf_counter() - t0

    # the first bound reaching the best value (extra bounds first, then in order of cost)
    lo_bound = max(cheap, key=lambda b: math.ceil(b.value - 1e-9), default=None)
    lo = math.ceil(lo_bound.value - 1e-9) if lo_bound is not None else 0
    hi = _trees.depth(up_spec)
    proof: UnsatProof | None = None
    t0 = time.perf_counter()
    spec, d = up_spec, hi
    for d in range(lo, hi):
        cl, pool = protocol_tree_clauses(M, d)
        out = run_sat(cl, solver, deadline, proof=True, what=f"exact D of {name} (depth {d})")
        if out.sat:
            spec, up_how = _decode(M, d, out.model, pool), "sat"
            break
        proof = UnsatProof(f"no protocol tree of depth {d} computes {name}", solver,
                           tuple(tuple(c) for c in cl), out.proof)
    else:
        d = hi
    timings["sat"] = time.perf_counter() - t0

    from ccbounds.protocols import ProtocolTree

    t0 = time.perf_counter()
    tree = ProtocolTree.from_splits(_trees.expand_spec(spec, rcls, ccls), name=f"optimal protocol for {name}")
    wrong = [(i, j) for i in range(M0.shape[0]) for j in range(M0.shape[1]) if tree.output(i, j) != M0[i, j]]
    if wrong or tree.cost != d:
        raise RuntimeError(f"internal error: decoded tree has cost {tree.cost} (expected {d}) and errs on "
                           f"{wrong[:3]}; please report this matrix")
    timings["verify"] = time.perf_counter() - t0
    if hasattr(x, "x_index"):  # a Problem: the witness reads its inputs, not matrix indices
        tree = tree.over_inputs(x)

    upper = Bound(d, "upper", "D", name, method="protocol", witness=tree,
                  source="[KN] Def. 1.1 (a protocol tree of depth d)",
                  note=f"tree from {up_how}; checked on all {M0.size} inputs")
    if proof is not None and proof.claim.startswith(f"no protocol tree of depth {d - 1} "):
        lower = Bound(d, "lower", "D", name, method="sat", witness=proof,
                      source="[KN] Def. 1.1 (no tree of depth D-1: UNSAT)",
                      note=f"{proof.length} DRUP proof lines" if proof.lemmas is not None
                      else f"{solver} cannot log proofs: UNSAT answer only")
    else:
        proof = None
        lower = lo_bound if lo_bound is not None and lo >= d else Bound(
            0, "lower", "D", name, method="trivial", source="D >= 0")
    return ExactResult(d, name, lower, upper, tree, proof, tuple(cheap), solver, timings)
