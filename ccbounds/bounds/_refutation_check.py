"""Independent checker of the split-search certificates of :mod:`ccbounds.bounds._lookahead`.

Shares no code with the search: the splits are re-enumerated here with numpy, and the ranks are
recomputed by a batched elimination of its own (rows as 0/1 integer arrays, fraction-free
elimination modulo q, q = 2 or the prime of the certificate). A certificate is accepted iff

* the root node is a sub-rectangle of M claiming depth > ``ref.depth`` or more,
* every node of depth 0 is not monochromatic; a node of depth e >= 1 without entries has a leaf count
  over GF(2) or modulo P, recomputed here, above 2^e (no tree of depth e has that many leaves); every
  other node of depth e >= 1 has exactly one entry for each split of its rows and of its columns
  (part1 a nonempty subset of the side without its lowest index), naming a child that needs depth
  > e - 1 by a leaf count over GF(2) or modulo P that this checker recomputes and that exceeds
  2^(e-1) (theory §3), or by its number of output values (more than 2^(e-1)), or by a node (a
  sub-rectangle of the child claiming depth >= e - 1; sub-rectangles have D no larger, and nodes
  shrink strictly, so the induction is well-founded), or by an image of a node under the symmetries
  of D (KIND_ISO: distinct rows and columns inside the child on which M equals the node's sub-matrix,
  transposed and/or complemented as stated, compared cell by cell here; theory §8.9), or by a
  subsolver certificate on a sub-rectangle of the child whose ``check()`` passes (theory §8).

Examples
--------
>>> import numpy as np
>>> from ccbounds.bounds._lookahead import refute
>>> check_refutation(np.eye(3, dtype=np.int8), refute(np.eye(3, dtype=np.int8), 2))
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ccbounds.bounds._matrix import as_matrix

if TYPE_CHECKING:
    from ccbounds.bounds._lookahead import Refutation

__all__ = ["SplitRefutation", "check_bytes", "check_refutation"]

_P = 2147483647
_BATCH = 4096
#: cells (rectangles x rows x columns) of one batch of the leaf-count check: its int64 arrays then take
#: 32 MiB each, whatever the matrix's shape, so the checker's memory is this plus linear in the certificate
_BATCH_CELLS = 1 << 22
#: bytes the checker allocates per entry of the node it checks (masks, sorted copies, the failing children's
#: row and column masks), and per cell of a leaf-count batch (its boolean and int64 arrays and temporaries)
_ENTRY_BYTES = 120
_CELL_BYTES = 64


def _batch(M: np.ndarray) -> int:
    return max(1, min(_BATCH, _BATCH_CELLS // M.size))


def check_bytes(shape: tuple[int, int], ref: Any) -> int:
    """Estimated peak bytes :func:`check_refutation` allocates for ``ref`` on a matrix of ``shape``, beyond the
    certificate itself: the largest node's per-entry arrays plus one leaf-count batch."""
    R, C = shape
    per_node = np.diff(np.asarray(ref.offsets, dtype=np.int64))
    most = int(per_node.max()) if len(per_node) else 0
    batch = min(max(1, most), max(1, min(_BATCH, _BATCH_CELLS // max(1, R * C))))
    return _ENTRY_BYTES * most + _CELL_BYTES * batch * R * C


def _members(mask: int, n: int) -> np.ndarray:
    return np.array([(mask >> i) & 1 for i in range(n)], dtype=bool)


def _rank_mod(A: np.ndarray, q: int) -> np.ndarray:
    """Ranks modulo prime q of a batch of integer matrices A (B, n, m) (fraction-free elimination)."""
    A = A % q
    B, n, m = A.shape
    used = np.zeros((B, n), dtype=bool)
    rank = np.zeros(B, dtype=np.int64)
    ar = np.arange(B)
    for j in range(m):
        cand = (A[:, :, j] != 0) & ~used
        has = cand.any(axis=1)
        piv = np.argmax(cand, axis=1)
        rank += has
        pr = A[ar, piv, :]  # (B, m)
        pv = pr[:, j]
        used[ar[has], piv[has]] = True
        hit = cand & has[:, None]
        hit[ar, piv] = False
        if hit.any():
            b, i = np.nonzero(hit)
            A[b, i, :] = (A[b, i, :] * pv[b, None] - A[b, i, j, None] * pr[b, :]) % q
    return rank


def _rank_gf2(X: np.ndarray, width: int) -> np.ndarray:
    """Ranks over GF(2) of a batch of matrices given as row bitmasks X (B, n) over ``width`` columns."""
    X = X.copy()
    B, n = X.shape
    used = np.zeros((B, n), dtype=bool)
    rank = np.zeros(B, dtype=np.int64)
    ar = np.arange(B)
    for j in range(width):
        cand = (((X >> j) & 1) == 1) & ~used
        has = cand.any(axis=1)
        piv = np.argmax(cand, axis=1)
        rank += has
        pr = X[ar, piv]
        used[ar[has], piv[has]] = True
        cand[ar, piv] = False
        X ^= np.where(cand, pr[:, None], 0)
    return rank


def _leaf_counts(M: np.ndarray, row_sel: np.ndarray, col_sel: np.ndarray, q: int) -> np.ndarray:
    """sum over the values v of M of rank_q([X == v]) for the batch of rectangles (B, R) x (B, C)."""
    out = np.zeros(len(row_sel), dtype=np.int64)
    weights = np.int64(1) << np.arange(M.shape[1], dtype=np.int64)
    step = _batch(M)
    for s in range(0, len(row_sel), step):
        r, c = row_sel[s:s + step], col_sel[s:s + step]
        cells = r[:, :, None] & c[:, None, :]
        for v in np.unique(M):
            X = (M == v)[None] & cells
            if q == 2:  # rows packed into bitmasks: the same elimination, n times less work
                out[s:s + step] += _rank_gf2((X * weights).sum(axis=2), M.shape[1])
            else:
                out[s:s + step] += _rank_mod(X.astype(np.int64), q)
    return out


def _all_splits_once(part1: np.ndarray, side: int, n: int) -> bool:
    """True iff ``part1`` lists every nonempty subset of the side without its lowest index exactly once.

    Memory linear in ``len(part1)``: the entries must number 2^(|side| - 1) - 1, lie in that set and be
    pairwise distinct (then they are all of them), so the subsets are never enumerated here.
    """
    idx = np.flatnonzero(_members(side, n))
    if len(idx) < 2:
        return len(part1) == 0
    rest = int(sum(1 << int(i) for i in idx[1:]))
    if len(part1) != (1 << (len(idx) - 1)) - 1:
        return False
    p = np.sort(part1)
    return bool((p > 0).all() and ((p & ~np.int64(rest)) == 0).all() and (np.diff(p) > 0).all())


def _mask_rows(masks: np.ndarray, n: int) -> np.ndarray:
    return ((masks[:, None] >> np.arange(n)) & 1).astype(bool)


def _subset(a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
    return (np.asarray(a) & ~np.asarray(b)) == 0


def _check_node(M: np.ndarray, ref: Any, k: int, trust: tuple[type, ...]) -> bool:
    R, C = M.shape
    rows, cols, e = int(ref.node_rows[k]), int(ref.node_cols[k]), int(ref.node_depth[k])
    lo, hi = int(ref.offsets[k]), int(ref.offsets[k + 1])
    sub = M[np.ix_(_members(rows, R), _members(cols, C))]
    if e < 0 or sub.size == 0 or np.unique(sub).size < 2:  # a monochromatic rectangle has D = 0 <= e
        return False
    if e == 0:
        return hi == lo
    if hi == lo:  # no entries: the node's own leaf count must exceed 2^e (theory §8.5), recomputed here
        r_sel, c_sel = _members(rows, R)[None], _members(cols, C)[None]
        return any(int(_leaf_counts(M, r_sel, c_sel, q)[0]) > (1 << e) for q in (2, _P))
    axis, part1 = np.asarray(ref.axis[lo:hi]), np.asarray(ref.part1[lo:hi], dtype=np.int64)
    child, kind, value = np.asarray(ref.child[lo:hi]), np.asarray(ref.kind[lo:hi]), np.asarray(ref.value[lo:hi])
    if not (np.isin(child, (0, 1)).all() and np.isin(kind, (1, 2, 3, 4, 5, 6)).all()):
        return False
    for ax, side in ((0, rows), (1, cols)):
        if not _all_splits_once(part1[axis == ax], side, R if ax == 0 else C):
            return False
    # the failing child of each entry, as row and column masks
    full_side = np.where(axis == 0, rows, cols).astype(np.int64)
    part = np.where(child == 1, part1, full_side ^ part1)
    c_rows = np.where(axis == 0, part, rows).astype(np.int64)
    c_cols = np.where(axis == 1, part, cols).astype(np.int64)
    for kd, q in ((1, 2), (2, _P)):
        sel = np.flatnonzero(kind == kd)
        for s in range(0, len(sel), _batch(M)):  # in batches: memory independent of the certificate's size
            b = sel[s:s + _batch(M)]
            got = _leaf_counts(M, _mask_rows(c_rows[b], R), _mask_rows(c_cols[b], C), q)
            if not (np.array_equal(got, value[b]) and (got > (1 << (e - 1))).all()):
                return False
    for i in np.flatnonzero(kind == 5):  # the number of output values
        X = M[np.ix_(_members(int(c_rows[i]), R), _members(int(c_cols[i]), C))]
        if not (np.unique(X).size == value[i] > (1 << (e - 1))):
            return False
    nodes = kind == 3
    if nodes.any():
        t = value[nodes]
        if ((t < 0) | (t >= len(ref.node_rows))).any():
            return False
        if not (_subset(ref.node_rows[t], c_rows[nodes]).all() and _subset(ref.node_cols[t], c_cols[nodes]).all()
                and (np.asarray(ref.node_depth)[t] >= e - 1).all()):
            return False
    for t, cr, cc in zip(value[kind == 6], c_rows[kind == 6], c_cols[kind == 6]):
        if not _iso_ok(M, ref, int(t), int(cr), int(cc), e):
            return False
    for t, cr, cc in zip(value[kind == 4], c_rows[kind == 4], c_cols[kind == 4]):
        if not 0 <= t < len(ref.subs):
            return False
        sr, sc, cert = ref.subs[int(t)]
        X = M[np.ix_(_members(sr, R), _members(sc, C))]
        if not (_subset(sr, cr) and _subset(sc, cc) and int(cert.depth) >= e - 1
                and np.array_equal(np.asarray(cert.matrix), X) and _sub_ok(cert, trust)):
            return False
    return True


def _iso_ok(M: np.ndarray, ref: Any, t: int, c_rows: int, c_cols: int, e: int) -> bool:
    """Entry ``isos[t]`` = (node, rows, cols, transposed, complemented): rows and columns distinct and inside
    the child, the node of depth >= e - 1, and M on them equal to the node's sub-matrix (rows and columns
    in increasing order), transposed and then complemented (1 - x, 0/1 matrices only) as flagged. Such a
    sub-matrix of the child has the node's D (theory §8.9); it is as large as the node and lies inside the
    child, which is smaller than the current node, so the induction stays well-founded."""
    isos = getattr(ref, "isos", ())
    if not 0 <= t < len(isos):
        return False
    node, rows, cols, transposed, complemented = isos[t]
    R, C = M.shape
    if not (isinstance(node, (int, np.integer)) and 0 <= node < len(ref.node_rows)
            and int(ref.node_depth[node]) >= e - 1 and isinstance(transposed, (bool, np.bool_))
            and isinstance(complemented, (bool, np.bool_))):
        return False
    r, c = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    if r.ndim != 1 or c.ndim != 1 or len(r) == 0 or len(c) == 0:
        return False
    if ((r < 0) | (r >= R)).any() or ((c < 0) | (c >= C)).any() or len(set(r.tolist())) != len(r) \
            or len(set(c.tolist())) != len(c):
        return False
    if not (all((c_rows >> int(i)) & 1 for i in r) and all((c_cols >> int(j)) & 1 for j in c)):
        return False
    Y = M[np.ix_(_members(int(ref.node_rows[node]), R), _members(int(ref.node_cols[node]), C))]
    G = Y.T if transposed else Y
    if complemented:
        if not np.isin(M, (0, 1)).all():
            return False
        G = 1 - G
    X = M[np.ix_(r, c)]
    return X.shape == G.shape and bool(np.array_equal(X, G))


def _sub_ok(cert: Any, trust: tuple[type, ...]) -> bool:
    """A subsolver certificate is accepted only if it is a split refutation (checked here, recursively) or of
    a type the caller named in ``trust`` (then its own ``check()`` decides): never on its word alone."""
    if type(cert) is SplitRefutation:
        return check_refutation(cert.matrix, cert.refutation, trust)
    return type(cert) in trust and bool(cert.check())


def check_refutation(M: Any, ref: Any, trust: tuple[type, ...] = (), memory_budget: int | None = None) -> bool:
    """True iff ``ref`` (a :class:`~ccbounds.bounds._lookahead.Refutation`) proves D(M) > ref.depth.

    Parameters
    ----------
    M : array_like
        The matrix the certificate claims to be about (integer outputs).
    ref : Refutation
    trust : tuple of types
        Subsolver certificate types whose own ``check()`` is accepted for ``ref.subs`` entries; by
        default only split refutations, which are checked here (any other object is rejected).
    memory_budget : int or None
        Bytes the check may allocate beyond the certificate (:func:`check_bytes` estimates them before
        anything is allocated); None: :data:`~ccbounds.bounds._matrix.MEMORY_BUDGET`.

    Returns
    -------
    bool

    Raises
    ------
    MemoryBudgetError
        The check would allocate more than ``memory_budget``: nothing was checked (raise the budget).
    """
    M = np.asarray(M)
    if M.ndim != 2 or M.size == 0 or M.dtype.kind not in "biu" or tuple(ref.shape) != M.shape or max(M.shape) > 63:
        return False
    if M.min() < 0 or M.max() > 127:
        return False
    n = len(ref.node_rows)
    if not (len(ref.node_cols) == len(ref.node_depth) == n and len(ref.offsets) == n + 1
            and ref.offsets[0] == 0 and ref.offsets[-1] == len(ref.part1)
            and (np.diff(ref.offsets) >= 0).all() and 0 <= ref.root < n):
        return False
    if not all(len(a) == len(ref.part1) for a in (ref.axis, ref.child, ref.kind, ref.value)):
        return False
    full_r, full_c = (1 << M.shape[0]) - 1, (1 << M.shape[1]) - 1
    if not (_subset(ref.node_rows, full_r).all() and _subset(ref.node_cols, full_c).all()
            and (ref.node_rows > 0).all() and (ref.node_cols > 0).all()):
        return False
    if int(ref.node_depth[ref.root]) < ref.depth or ref.depth < 0 or (np.asarray(ref.node_depth) < 0).any():
        return False
    from ccbounds.bounds._matrix import check_memory

    check_memory(check_bytes(M.shape, ref), f"checking the split-search certificate ({n} nodes, "
                 f"{len(ref.part1)} entries)", memory_budget)
    return all(_check_node(M, ref, k, tuple(trust)) for k in range(n))


@dataclass(frozen=True, eq=False)
class SplitRefutation:
    """The lower-bound certificate of exact D from the split search (theory §8.5): ``refutation`` proves
    D(``matrix``) > ``depth`` for ``matrix``, the matrix with duplicate rows and columns merged.

    :meth:`check` runs the independent checker :func:`check_refutation` on it. The type lives here, with its
    checker, so that the checker recognises its own certificates without importing the search
    (:mod:`~ccbounds.bounds._lookahead_tree` re-exports it).
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
