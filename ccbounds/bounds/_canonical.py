"""A normal form of a matrix under the symmetries of D: row and column permutations, transposition and,
for 0/1 matrices, complementation (theory §8.9).

:func:`normal_form` maps a matrix X with distinct rows and distinct columns to ``(key, how)``: ``key`` is the
bytes of a matrix N obtained from X by those operations (so ``D(N) = D(X)``), ``how`` says which ones.
Equal keys mean the two matrices are images of one another under the symmetries, hence have the same D;
that is all the memo of the split search relies on (theory §8.9). The form is computed by colour
refinement on the bipartite graph of rows and columns (each line's colour is refined by the multiset of
(value, colour) pairs it sees, until stable), then lines are ordered by colour, ties by their entries.
When refinement separates every row and every column (:func:`normal_form` reports it as ``discrete``)
N depends only on the orbit of X, i.e. it is a canonical form; otherwise permuted copies may (rarely)
get different keys, which only costs a memo miss.

Examples
--------
>>> import numpy as np
>>> X = np.array([[0, 1, 1], [1, 0, 0], [1, 1, 0]], dtype=np.int8)
>>> Y = 1 - X[[2, 0, 1]][:, [1, 2, 0]].T  # permuted, transposed and complemented
>>> normal_form(X)[0] == normal_form(Y)[0]
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Form", "apply_form", "normal_form"]


@dataclass(frozen=True)
class Form:
    """How the normal form N was made from X: ``N = V[rows][:, cols]`` where ``V`` is X, transposed first
    if ``transposed``, then complemented (``1 - V``) if ``complemented``; ``discrete``: refinement separated
    every line, so N is canonical."""

    transposed: bool
    complemented: bool
    rows: np.ndarray
    cols: np.ndarray
    discrete: bool


def apply_form(X: np.ndarray, form: Form) -> np.ndarray:
    """The matrix N that ``form`` makes of ``X`` (see :class:`Form`)."""
    V = X.T if form.transposed else X
    if form.complemented:
        V = 1 - V
    return np.ascontiguousarray(V[np.ix_(form.rows, form.cols)])


#: fixed odd multipliers hashing a signature to one int64 (wrapping): any fixed function of the signature
#: keeps the colours invariant; a collision only merges colours (a coarser, still invariant, order)
_W = np.random.default_rng(20261207).integers(1, 1 << 62, size=4096, dtype=np.int64) | 1


def _relabel(sig: np.ndarray) -> np.ndarray:
    """Each row of ``sig`` replaced by the rank of its hash among the distinct hashes (order-invariant)."""
    with np.errstate(over="ignore"):
        h = (sig * _W[:sig.shape[1]]).sum(axis=1)
    return np.unique(h, return_inverse=True)[1].reshape(-1).astype(np.int64)


def _refine(V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stable colours of the rows and columns of V (colour refinement; invariant under permutations)."""
    m, n = V.shape
    ind = [(V == v).astype(np.int64) for v in np.unique(V)]
    rc = np.zeros(m, np.int64)
    cc = np.zeros(n, np.int64)
    while True:
        # a row's signature: its colour and, for each value v and column colour c, how many columns it sees
        oc = np.eye(int(cc.max()) + 1, dtype=np.int64)[cc]  # (n, colours)
        orr = np.eye(int(rc.max()) + 1, dtype=np.int64)[rc]
        r2 = _relabel(np.hstack([rc[:, None]] + [B @ oc for B in ind]))
        c2 = _relabel(np.hstack([cc[:, None]] + [B.T @ orr for B in ind]))
        if r2.max() <= rc.max() and c2.max() <= cc.max():
            return r2, c2
        rc, cc = r2, c2


def _ordered(V: np.ndarray, rc: np.ndarray, cc: np.ndarray) -> tuple[bytes, np.ndarray, np.ndarray, bool]:
    """V with its lines ordered by the colours ``rc``, ``cc`` (ties by entries): key, row and column order."""
    rows = np.lexsort((np.arange(len(rc)), rc))
    cols = np.lexsort((np.arange(len(cc)), cc))
    discrete = len(set(rc.tolist())) == len(rc) and len(set(cc.tolist())) == len(cc)
    if not discrete:  # ties: order tied lines by their entries, a few rounds (sound either way)
        for _ in range(3):
            N = V[np.ix_(rows, cols)]
            rows = rows[np.lexsort(tuple(N.T[::-1]) + (rc[rows],))]
            N = V[np.ix_(rows, cols)]
            cols = cols[np.lexsort(tuple(N[::-1]) + (cc[cols],))]
    N = np.ascontiguousarray(V[np.ix_(rows, cols)], dtype=np.int8)
    return bytes(np.array(N.shape, np.int64).tobytes()) + N.tobytes(), rows, cols, discrete


def normal_form(X: np.ndarray, complement: bool | None = None) -> tuple[bytes, Form]:
    """``(key, form)``: the least key over X, its transpose and (0/1 matrices) their complements.

    Parameters
    ----------
    X : numpy.ndarray
        A 2-D integer matrix, best with distinct rows and distinct columns (duplicates merged, theory §8.4).
    complement : bool or None
        Whether complementing is one of the symmetries (default: iff X is 0/1).

    Returns
    -------
    (bytes, Form)
        ``key`` identifies the normal form (shape and entries); :func:`apply_form` ``(X, form)`` is it.

    Examples
    --------
    >>> X = np.array([[1, 0], [1, 1]], dtype=np.int8)
    >>> k, f = normal_form(X)
    >>> apply_form(X, f).tolist(), f.discrete
    ([[1, 0], [0, 0]], True)
    """
    X = np.asarray(X)
    if complement is None:
        complement = bool(np.isin(X, (0, 1)).all())
    best: tuple[bytes, Form] | None = None
    for c in ((False, True) if complement else (False,)):
        V = 1 - X if c else X
        rc, cc = _refine(V)  # the refinement of V^T is (cc, rc): the procedure treats both sides alike
        for t in (False, True):
            key, rows, cols, discrete = _ordered(V.T, cc, rc) if t else _ordered(V, rc, cc)
            if best is None or key < best[0]:
                best = (key, Form(t, c, rows, cols, discrete))
    assert best is not None
    return best
