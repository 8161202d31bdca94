"""End-to-end checks of an exact-D answer against the problem it claims to answer (theory §8.3).

:func:`answer_failures` takes the problem (a matrix or a Problem) and an :class:`~ccbounds.bounds.exact.ExactResult`
or :class:`~ccbounds.bounds.exact.DInterval` and re-derives everything from the problem alone: the matrix
with duplicate rows and columns merged, the tree's output on **every** cell (and its depth), and the lower
bound's certificate on that merged matrix — rank certificates (nonsingular submatrices, per output value
for the leaf count), a fooling set (pair by pair), a split-search refutation (its checker, on the stored
matrix, which must be the merged matrix), or an UNSAT proof (the CNF rebuilt from the merged matrix,
the depth and the fooling set, compared clause by clause, then the DRUP proof checked). Nothing here
calls a solver or trusts a stored number it can recompute.

Examples
--------
>>> import numpy as np
>>> from ccbounds.bounds.exact import exact_D
>>> M = np.eye(4, dtype=int)
>>> answer_failures(M, exact_D(M))
[]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ccbounds.bounds._matrix import as_matrix, distinct_classes

__all__ = ["answer_failures", "merged_matrix"]


def merged_matrix(M: np.ndarray) -> np.ndarray:
    """M with one row (column) per class of equal rows (columns), first members in order (theory §8.4)."""
    r = [c[0] for c in distinct_classes(M, 0)]
    c = [k[0] for k in distinct_classes(M, 1)]
    return np.ascontiguousarray(M[np.ix_(r, c)])


def _tree_failures(x: Any, M0: np.ndarray, tree: Any, depth: int) -> list[str]:
    if tree is None or not hasattr(tree, "output"):
        return ["the upper bound has no protocol tree"]
    if tree.cost > depth:
        return [f"the tree has depth {tree.cost}, more than the claimed {depth}"]
    if hasattr(x, "alice_inputs") and hasattr(x, "x_index"):
        xs, ys = x.alice_inputs(), x.bob_inputs()
    else:
        xs, ys = range(M0.shape[0]), range(M0.shape[1])
    from ccbounds.errors import CCBoundsError

    for i, a in enumerate(xs):
        for j, b in enumerate(ys):
            try:
                out = tree.output(a, b)
            except (CCBoundsError, TypeError, ValueError, KeyError, IndexError) as e:
                return [f"the tree does not run on input ({i}, {j}) of this problem ({type(e).__name__})"]
            if out != M0[i, j]:
                return [f"the tree outputs {out} on cell ({i}, {j}), the matrix holds {M0[i, j]}"]
    return []


def _log_ok(count: int, value: float) -> bool:
    """ceil(log2 count) >= ceil(value): the count of leaves (or rank) supports the bound's value."""
    need = math.ceil(value - 1e-9)
    return need <= 0 or (count > 0 and count > (1 << (need - 1)))


def _lower_failures(M: np.ndarray, M0: np.ndarray, b: Any) -> list[str]:
    from ccbounds.bounds._refutation_check import SplitRefutation
    from ccbounds.bounds.drup import UnsatProof
    from ccbounds.bounds.fooling import FoolingSet, is_fooling_set
    from ccbounds.bounds.rank import RankCertificate, check_rank_certificate

    m, w, v = b.method, b.witness, b.value
    need = math.ceil(v - 1e-9)
    if b.direction != "lower" or b.model != "D":
        return [f"the lower bound is a {b.direction} bound on {b.model}, not a lower bound on D"]
    if m == "trivial":
        return [] if need <= 0 else [f"a trivial bound of {v}"]
    if m == "non-constant":
        return [] if need <= 1 and np.unique(M).size > 1 else ["'non-constant' claims more than 1 or M is constant"]
    if m == "output-values":
        return [] if _log_ok(np.unique(M).size, v) else [f"{np.unique(M).size} output values do not force {v} bits"]
    if m in ("log-rank", "log-rank GF(2)"):
        ok = isinstance(w, RankCertificate) and check_rank_certificate(M, w) and _log_ok(w.rank, v)
        return [] if ok else ["the rank certificate does not check on the merged matrix"]
    if m in ("leaf-rank", "leaf-rank GF(2)"):
        certs = tuple(w) if isinstance(w, tuple) else ()
        if not certs or not all(isinstance(c, RankCertificate) for c in certs):
            return ["the leaf-rank witness is not a tuple of rank certificates"]
        if all(c.value is None for c in certs) and len(certs) == 2 and set(np.unique(M)) <= {0, 1}:
            ok = check_rank_certificate(M, certs[0]) and check_rank_certificate(1 - M, certs[1])
        else:
            vals = [c.value for c in certs]
            ok = (None not in vals and len(set(vals)) == len(vals)
                  and all(check_rank_certificate(M, c) for c in certs))
        ok = ok and _log_ok(sum(c.rank for c in certs), v)
        return [] if ok else ["a leaf-rank certificate does not check on the merged matrix"]
    if m == "fooling-set":
        if not isinstance(w, FoolingSet) or not set(np.unique(M)) <= {0, 1}:
            return ["the fooling-set witness is not a FoolingSet of a 0/1 matrix"]
        cells = [(int(i), int(j)) for i, j in w.cells]
        if not is_fooling_set(cells, M, w.kind if w.kind in ("0", "1") else "combined"):
            return ["the fooling set is not one of the merged matrix"]
        leaves = len(cells) + len({int(t) for t in np.unique(M)} - {int(M[i, j]) for i, j in cells})
        return [] if _log_ok(leaves, v) else [f"a fooling set forcing {leaves} leaves does not give {v} bits"]
    if m == "split-search":
        ok = isinstance(w, SplitRefutation) and w.depth >= need - 1 and w.check(M)
        return [] if ok else ["the split-search refutation does not check on the merged matrix"]
    if m == "sat":
        o = getattr(w, "origin", None) or {}
        ok = (isinstance(w, UnsatProof) and o.get("encoding") == "protocol-tree" and int(o.get("depth", -1)) >= need - 1
              and np.array_equal(np.asarray(o.get("matrix")), M) and w.check())
        return [] if ok else ["the UNSAT proof does not refute a depth-(D-1) tree CNF of the merged matrix"]
    if m == "partition-number":
        sol = w
        low = getattr(sol, "lower", None)
        o = getattr(low, "origin", None) or {}
        ok = (isinstance(low, UnsatProof) and o.get("encoding") == "partition"
              and np.array_equal(np.asarray(o.get("matrix")), M0) and _log_ok(int(o.get("k", -1)) + 1, v)
              and low.check())
        return [] if ok else ["the partition-number bound has no checkable UNSAT proof for the matrix"]
    return [f"no independent check for a lower bound of method {m!r}"]


def answer_failures(x: Any, answer: Any) -> list[str]:
    """Why ``answer`` (ExactResult or DInterval) is not a certified answer for ``x``; ``[]`` when it is.

    Checks: the bounds name the problem's D; lower <= upper; the tree computes the matrix of ``x`` on
    every cell within its depth; the lower bound's certificate checks on the merged matrix of ``x``.
    """
    M0, _ = as_matrix(x, what="the answer check", binary=False)
    M = merged_matrix(M0)
    lower, upper = answer.lower, answer.upper
    value = getattr(answer, "value", None)
    hi = int(upper.value)
    out = []
    if value is not None and not (math.ceil(lower.value - 1e-9) == value == hi):
        out.append(f"the bounds {lower.value} and {hi} do not both equal the value {value}")
    if math.ceil(lower.value - 1e-9) > hi:
        out.append(f"the lower bound {lower.value} exceeds the upper bound {hi}")
    if upper.direction != "upper" or upper.model != "D":
        out.append("the upper bound is not an upper bound on D")
    out += _tree_failures(x, M0, upper.witness, hi)
    out += _lower_failures(M, M0, lower)
    return out
