"""Both answers of the split search: a refutation of depth d, or a protocol tree of depth <= d.

When :func:`ccbounds.bounds._lookahead.refute` finds no refutation, the search has met, at the root
and below, splits whose two children are not refutable; the memoised search keeps one such split per
rectangle, and this module turns them into a :class:`~ccbounds.protocols.ProtocolTree` on the row and
column indices of M (a rectangle's duplicate lines follow their representative), checked on every
cell. So the upper side of D <= d is certified too, not only claimed by an exhaustive search.

Examples
--------
>>> import numpy as np
>>> t = refute_or_tree(np.eye(3, dtype=np.int8), 3)
>>> t.cost
3
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ccbounds.bounds._lookahead import Refutation, _positions, _Search, refute
from ccbounds.bounds._matrix import Deadline, as_matrix, distinct_classes

__all__ = ["SplitRefutation", "refute_or_spec", "refute_or_tree"]


def _spec(S: _Search, rows: int, cols: int, e: int) -> Any:
    """``from_splits`` spec of a depth-<= e protocol for the rectangle (any rows, columns of M)."""
    r, c = _positions(rows), _positions(cols)
    X = S.M[np.ix_(r, c)]
    if np.unique(X).size == 1:
        return int(X.flat[0])
    cr, cc = S.canonical(rows, cols)
    key = (cr, cc, e)
    e0 = S.won.get((cr, cc), e + 1)
    if key not in S.witness and e0 <= e and (cr, cc, e0) in S.witness:  # a tree of smaller depth (theory §8.9)
        key, e = (cr, cc, e0), e0
    if key not in S.witness:  # judged by the subsolver: search it here (D <= e, so it is not refuted)
        sub, S.sub = S.sub, None
        found = S.solve(cr, cc, e)
        S.sub = sub
        e0 = S.won.get((cr, cc), e + 1)
        if key not in S.witness and e0 <= e and (cr, cc, e0) in S.witness:
            key, e = (cr, cc, e0), e0
        if found >= 0 or key not in S.witness:
            raise RuntimeError(f"internal error: a rectangle the subsolver called shallow needs depth > {e}; "
                               "please report this matrix and subsolver")
    axis, part1 = S.witness[key]
    side, classes = (r, distinct_classes(X, 0)) if axis == 0 else (c, distinct_classes(X, 1))
    ones = [side[i] for cls in classes if (part1 >> side[cls[0]]) & 1 for i in cls]
    p1 = sum(1 << i for i in ones)
    if axis == 0:
        return ("Alice", ones, _spec(S, rows ^ p1, cols, e - 1), _spec(S, p1, cols, e - 1))
    return ("Bob", ones, _spec(S, rows, cols ^ p1, e - 1), _spec(S, rows, p1, e - 1))


@dataclass(frozen=True, eq=False)
class SplitRefutation:
    """The lower-bound certificate of exact D from the split search (theory §8.5): ``refutation`` proves
    D(``matrix``) > ``depth`` for ``matrix``, the matrix with duplicate rows and columns merged.

    :meth:`check` runs the independent checker
    :func:`~ccbounds.bounds._refutation_check.check_refutation` on it.
    """

    matrix: np.ndarray = field(repr=False)
    refutation: Refutation = field(repr=False)

    @property
    def depth(self) -> int:
        return int(self.refutation.depth)

    @property
    def length(self) -> int:
        """Entries of the certificate (one per split of each of its nodes)."""
        return int(self.refutation.n_entries)

    def check(self, M: Any = None, memory_budget: int | None = None) -> bool:
        """The stored matrix is a valid matrix (2-D, integer outputs 0..127, the certificate's shape, and,
        given ``M``, equal to it) and the independent checker accepts the refutation on it, within
        ``memory_budget`` bytes (None: ``MEMORY_BUDGET``; past it :class:`~ccbounds.errors.MemoryBudgetError`
        is raised before anything is checked)."""
        from ccbounds.bounds._refutation_check import check_refutation
        from ccbounds.errors import CCBoundsError

        A = np.asarray(self.matrix)
        if A.ndim != 2 or A.dtype.kind not in "biu":
            return False
        try:
            as_matrix(A, what="the certificate's matrix", binary=False)
        except CCBoundsError:
            return False
        if M is not None and not (np.shape(M) == A.shape and np.array_equal(np.asarray(M), A)):
            return False
        return bool(check_refutation(A, self.refutation, memory_budget=memory_budget))

    def to_dict(self) -> dict[str, Any]:
        r = self.refutation
        return {"claim": f"no protocol tree of depth {self.depth}", "method": "split search",
                "nodes": int(r.n_nodes), "entries": self.length, "bytes": int(r.nbytes)}

    def __str__(self) -> str:
        r = self.refutation
        return (f"split-search refutation of depth {self.depth}: {r.n_nodes} nodes, {self.length} split entries "
                f"(checked by check_refutation)")


def refute_or_spec(M: Any, d: int, deadline: Deadline | None = None,
                   sub: Callable[[np.ndarray, int], Any] | None = None, stats: dict[str, int] | None = None,
                   search: list | None = None, **kw: Any) -> Refutation | Any:
    """A :class:`Refutation` of depth d (D(M) > d), or the split spec (:mod:`ccbounds.bounds._trees`
    format, indices of M) of a protocol of depth <= d, not yet checked: :func:`refute_or_tree` checks it.
    ``stats`` (a dict) gets ``split_nodes``, ``splits_scanned`` and the memo's hit counters added, also
    when the search stops early. ``search``: a list holding the search of an earlier call on the same M
    (or empty); it is reused, so what that call proved is known to this one (theory §8.9), and left there."""
    A, _ = as_matrix(M, what="the split search", binary=False)
    found: list[_Search] = []
    reuse = search[0] if search else None
    before = (0, 0, {}) if reuse is None else (len(reuse.nodes), reuse.scanned, dict(reuse.hits))
    try:
        ref = refute(A, d, deadline, sub, _searches=found, _reuse=reuse, **kw)
        if ref is not None:
            return ref
        return _spec(found[0], (1 << A.shape[0]) - 1, (1 << A.shape[1]) - 1, int(d))
    finally:
        if found and search is not None:
            search[:] = [found[0]]
        if stats is not None and found:  # the search's size, also when it stopped early
            S = found[0]
            stats["split_nodes"] = stats.get("split_nodes", 0) + len(S.nodes) - before[0]
            stats["splits_scanned"] = stats.get("splits_scanned", 0) + S.scanned - before[1]
            for k, v in S.hits.items():
                stats[k] = stats.get(k, 0) + v - before[2].get(k, 0)


def refute_or_tree(M: Any, d: int, deadline: Deadline | None = None,
                   sub: Callable[[np.ndarray, int], Any] | None = None, **kw: Any) -> Refutation | Any:
    """A :class:`Refutation` of depth d (D(M) > d), or a ProtocolTree of depth <= d for M.

    Parameters are those of :func:`~ccbounds.bounds._lookahead.refute`. The tree's inputs are the row
    and column indices of M; it is run on every cell before it is returned.
    """
    from ccbounds.protocols import ProtocolTree

    A, name = as_matrix(M, what="the split search", binary=False)
    got = refute_or_spec(A, d, deadline, sub, **kw)
    if isinstance(got, Refutation):
        return got
    tree = ProtocolTree.from_splits(got, name=f"protocol of depth <= {d} for {name} (split search)")
    wrong = [(i, j) for i in range(A.shape[0]) for j in range(A.shape[1]) if tree.output(i, j) != A[i, j]]
    if wrong or tree.cost > d:
        raise RuntimeError(f"internal error: the split-search tree has cost {tree.cost} (at most {d} expected) "
                           f"and errs on {wrong[:3]}; please report this matrix")
    return tree
