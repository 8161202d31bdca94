"""One-way bounds with errors: exact D^{A->B,mu}_eps of a small matrix and the VC bound of [KNR] (theory §10.6).

**Exact distributional one-way complexity.** In a one-way protocol A->B with c bits Alice's rows fall into at
most 2^c message classes, and for each class and column Bob answers the output of largest mu-mass (his best
response). So D^{A->B,mu}_eps(M) is the least c such that some partition of the rows into at most 2^c classes
has error sum_C sum_y (mu_C(y) - max_v mu_C(y, v)) <= eps. :func:`one_way_distributional` finds it by exhaustive
search, over whichever is smaller: the partitions of the rows into at most 2^c classes (restricted growth strings)
or the sets of 2^c response rows for Bob (each row then takes its best response). The masses are scaled to
integers, so the comparison with eps is exact. Yao's principle (theory §1.5, one-way) makes every such value a
lower bound on R^{A->B}_eps (public coin).

**VC dimension** ([KNR]). If the columns y_1..y_d are shattered (every pattern w in {0,1}^d is the restriction of
some row x_w), then restricting M to those rows and columns is INDEX_d, so
R^{A->B}_eps(M) >= D^{A->B,mu}_eps(INDEX_d) >= (1 - H2(eps)) d with mu uniform on the x_w and the y_i
([KNR]; theory §2.1). :func:`vc_bound` returns it with the shattered set as witness.

Examples
--------
>>> from ccbounds.problems import INDEX
>>> one_way_distributional(INDEX(3), 0.0).value, one_way_distributional(INDEX(3), 1 / 6).value
(3, 2)
>>> b = vc_bound(INDEX(3), 0.0)
>>> b.value, check_vc(INDEX(3), b)
(3.0, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations
from typing import Any

import numpy as np

from ccbounds.bound_record import Bound
from ccbounds.bounds._matrix import as_matrix
from ccbounds.bounds._oneway_check import fits_in, integer_weights
from ccbounds.bounds._rectsum import eps_fraction
from ccbounds.errors import InvalidInputError, TooLargeError

__all__ = ["OneWayProtocolWitness", "VCWitness", "check_one_way_protocol", "check_vc", "one_way_distributional",
           "vc_bound", "vc_dimension"]

#: most configurations (partitions or response sets) the exhaustive search visits per message size
MAX_CONFIGURATIONS = 200_000
#: most configurations x matrix cells the exhaustive search evaluates per message size
MAX_WORK = 2**28


@dataclass(frozen=True)
class OneWayProtocolWitness:
    """The optimal protocol found: Alice's classes of rows and its error under mu (exactly, as a fraction)."""

    classes: tuple[tuple[int, ...], ...]
    error: Fraction
    mu_description: str
    search: str

    def to_dict(self) -> dict[str, Any]:
        return {"classes": [list(c) for c in self.classes], "error": str(self.error), "mu": self.mu_description,
                "search": self.search}

    def __str__(self) -> str:
        return f"{len(self.classes)} message classes, error {float(self.error):.4g} ({self.search})"


def _integer_mu(M: np.ndarray, mu: Any) -> tuple[np.ndarray, int, str]:
    if mu is None or (isinstance(mu, str) and mu == "uniform"):
        return np.ones(M.shape, dtype=np.int64), M.size, "uniform on the matrix"
    arr = np.asarray(mu, dtype=np.float64)
    if arr.shape != M.shape or not np.isfinite(arr).all() or (arr < 0).any() or arr.sum() <= 0:
        raise InvalidInputError(f"mu must be 'uniform' or a non-negative array of shape {M.shape}")
    F = [[Fraction(float(v)) for v in row] for row in arr]
    D = math.lcm(*(v.denominator for row in F for v in row))
    ints = np.array([[int(v * D) for v in row] for row in F], dtype=object)
    total = int(sum(int(v) for v in ints.ravel()))
    if total >= 2**62:
        raise TooLargeError("mu's entries need too many bits for exact search; round mu to fewer digits")
    return ints.astype(np.int64), total, "given"


def _class_error(M: np.ndarray, W: np.ndarray, rows: list[int], values: np.ndarray) -> int:
    sub, w = M[rows], W[rows]
    masses = np.stack([(w * (sub == v)).sum(axis=0) for v in values])  # (values, columns)
    return int((masses.sum(axis=0) - masses.max(axis=0)).sum())


def _rgs(m: int, k: int):
    """Restricted growth strings of length m with at most k blocks (set partitions of range(m))."""
    a = [0] * m

    def rec(i: int, used: int):
        if i == m:
            yield list(a)
            return
        for v in range(min(used + 1, k)):
            a[i] = v
            yield from rec(i + 1, max(used, v + 1))

    yield from rec(1, 1) if m > 0 else iter([[]])


def _count_partitions(m: int, k: int) -> int:
    S = [[0] * (k + 1) for _ in range(m + 1)]
    S[0][0] = 1
    for i in range(1, m + 1):
        for j in range(1, k + 1):
            S[i][j] = j * S[i - 1][j] + S[i - 1][j - 1]
    return sum(S[m][1:])


def _best_error(M: np.ndarray, W: np.ndarray, k: int, values: np.ndarray) -> tuple[int, list[list[int]], str]:
    m, n = M.shape
    by_partition = _count_partitions(m, k)
    by_response = math.comb(len(values) ** n, k) if len(values) ** n <= 4096 else math.inf
    if min(by_partition, by_response) * M.size > MAX_WORK:
        raise TooLargeError(f"exact D^(A->B,mu)_eps needs {min(by_partition, by_response)} configurations of "
                            f"{m}x{n} cells at {k} classes (> {MAX_WORK} in all); use vc_bound or a smaller matrix")
    if min(by_partition, by_response) > MAX_CONFIGURATIONS:
        raise TooLargeError(f"exact D^(A->B,mu)_eps needs {min(by_partition, by_response)} configurations at "
                            f"{k} classes (> {MAX_CONFIGURATIONS}); use vc_bound or a smaller matrix")
    if by_response < by_partition:
        cands = np.array(np.meshgrid(*[values] * n, indexing="ij")).reshape(n, -1).T  # (V^n, n)
        cost = np.stack([(W * (M != c[None, :])).sum(axis=1) for c in cands], axis=1)  # (rows, cands)
        best, pick = None, None
        for combo in combinations(range(len(cands)), k):
            e = int(cost[:, combo].min(axis=1).sum())
            if best is None or e < best:
                best, pick = e, combo
        assert pick is not None
        choice = cost[:, pick].argmin(axis=1)
        classes = [[i for i in range(m) if choice[i] == j] for j in range(k)]
        return int(best), [c for c in classes if c], f"exhaustive over sets of {k} Bob response rows"
    R = np.stack([W * (M == v) for v in values])  # (values, rows, columns) masses
    best, part = None, None
    batch: list[list[int]] = []

    def flush() -> None:
        nonlocal best, part
        L = np.array(batch, dtype=np.int64)  # (B, rows)
        onehot = (L[:, None, :] == np.arange(k)[None, :, None]).astype(np.int64)  # (B, k, rows)
        masses = np.einsum("bkr,vrc->bvkc", onehot, R)  # (B, values, k, columns)
        errs = (masses.sum(axis=1) - masses.max(axis=1)).sum(axis=(1, 2))
        j = int(np.argmin(errs))
        if best is None or errs[j] < best:
            best = int(errs[j])
            part = [[i for i in range(m) if L[j, i] == c] for c in range(k)]
        batch.clear()

    for labels in _rgs(m, k):
        batch.append(labels)
        if len(batch) == 4096:
            flush()
    if batch:
        flush()
    assert part is not None
    part = [c for c in part if c]
    return int(best), part, f"exhaustive over partitions of the rows into <= {k} classes"


def one_way_distributional(x: Any, eps: float, mu: Any = "uniform", mu_description: str | None = None) -> Bound:
    """Exact D^{A->B,mu}_eps(M): the fewest message bits with average error <= eps under mu (theory §10.6).

    Parameters
    ----------
    x : array_like or Problem
        The matrix (integer outputs allowed).
    eps : float
        Allowed average error, 0 <= eps <= 1.
    mu : "uniform" or array
        The input distribution (floats are taken exactly).
    mu_description : str, optional
        mu in words, for the note (e.g. the audit's distribution).

    Returns
    -------
    Bound
        ``direction="exact"``, model ``"D_mu_eps(A->B)"``, method ``"exhaustive"``, witness
        :class:`OneWayProtocolWitness` (an optimal protocol; :func:`check_one_way_protocol` re-checks it).
        By Yao's principle the value is also a lower bound on R^{A->B}_eps.

    Raises
    ------
    TooLargeError
        When the search would visit more than :data:`MAX_CONFIGURATIONS` configurations.
    """
    if isinstance(eps, bool) or not isinstance(eps, (int, float, np.floating)) or not 0 <= eps <= 1:
        raise InvalidInputError(f"eps must be in [0, 1], got {eps!r}")
    M, name = as_matrix(x, what="one-way distributional complexity", binary=False)
    W, total, how = _integer_mu(M, mu)
    values = np.unique(M)
    e_frac = eps_fraction(eps)
    distinct = len({r.tobytes() for r in M})
    c = 0
    while True:
        k = 2**c
        if k >= distinct:
            classes: list[list[int]] = []
            seen: dict[bytes, int] = {}
            for i in range(M.shape[0]):
                seen.setdefault(M[i].tobytes(), len(classes))
                if seen[M[i].tobytes()] == len(classes):
                    classes.append([])
                classes[seen[M[i].tobytes()]].append(i)
            err, part, search = 0, classes, "distinct rows (error 0)"
        else:
            err, part, search = _best_error(M, W, k, values)
        if Fraction(err, total) <= e_frac:
            break
        c += 1
    w = OneWayProtocolWitness(tuple(tuple(p) for p in part), Fraction(err, total), mu_description or how, search)
    return Bound(c, "exact", "D_mu_eps(A->B)", name, eps=float(eps), method="exhaustive", witness=w,
                 source="theory §10.6 (exhaustive search; Yao: a lower bound on R^{A->B}_eps)",
                 expression="min c: 2^c classes with error <= eps",
                 note=f"mu: {mu_description or how}; optimal error with {2**c} classes: {float(w.error):.6g}")


def check_one_way_protocol(x: Any, bound: Bound, mu: Any = "uniform") -> bool:
    """True iff value is exactly D^{A->B,mu}_eps: the witness protocol has at most 2^value classes and error
    <= eps under mu (the upper half), and no protocol with 2^(value-1) classes has error <= eps (the lower half,
    re-decided by an independent pruned search, :mod:`ccbounds.bounds._oneway_check`, not by the search above).

    Raises
    ------
    TooLargeError
        When the independent re-check would need too many search nodes.

    Examples
    --------
    >>> b = one_way_distributional([[0, 1], [1, 0], [1, 1]], 0.0)
    >>> b.value, check_one_way_protocol([[0, 1], [1, 0], [1, 1]], b)
    (2, True)
    """
    M, _ = as_matrix(x, what="one-way distributional complexity", binary=False)
    w = bound.witness
    if not isinstance(w, OneWayProtocolWitness) or bound.eps is None or bound.value is None:
        return False
    flat = sorted(i for c in w.classes for i in c)
    if flat != list(range(M.shape[0])) or len(w.classes) > 2 ** int(bound.value):
        return False
    W, total, _ = _integer_mu(M, mu)
    values = np.unique(M)
    err = sum(_class_error(M, W, list(c), values) for c in w.classes)
    if Fraction(err, total) > eps_fraction(bound.eps):
        return False
    # the lower half, recomputed independently: 2^(value-1) classes do not suffice
    value = bound.value
    if isinstance(value, bool) or float(value) != int(value) or int(value) < 0:
        return False
    if int(value) == 0:
        return True
    weights = integer_weights(M, mu)
    if weights is None:
        return False
    W2, total2 = weights
    budget = math.floor(eps_fraction(bound.eps) * total2)
    return not fits_in(M, W2, 2 ** (int(value) - 1), budget)


@dataclass(frozen=True)
class VCWitness:
    """Shattered columns and, for every pattern (as an int, bit i = column i of the set), a row realising it."""

    columns: tuple[int, ...]
    rows: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"columns": list(self.columns), "rows_by_pattern": list(self.rows)}

    def __str__(self) -> str:
        return f"columns {list(self.columns)} shattered"


def vc_dimension(x: Any) -> VCWitness:
    """The largest set of columns shattered by the rows (exhaustive by size), with the realising rows.

    >>> vc_dimension([[0, 0], [0, 1], [1, 0], [1, 1]]).columns
    (0, 1)
    """
    M, _ = as_matrix(x, what="VC dimension")
    m, n = M.shape
    best = VCWitness((), (0,))
    for d in range(1, min(n, int(math.log2(m))) + 1):
        if math.comb(n, d) > MAX_CONFIGURATIONS:
            break
        found = None
        for cols in combinations(range(n), d):
            codes = (M[:, list(cols)].astype(np.int64) << np.arange(d)[None, :]).sum(axis=1)
            uniq, first = np.unique(codes, return_index=True)
            if len(uniq) == 2**d:
                found = VCWitness(tuple(cols), tuple(int(first[k]) for k in range(2**d)))
                break
        if found is None:
            break
        best = found
    return best


def check_vc(x: Any, bound: Bound) -> bool:
    """True iff the witness columns are shattered by the named rows and the value is (1 - H2(eps))·d."""
    from ccbounds.information import fano_term

    M, _ = as_matrix(x, what="VC dimension")
    w = bound.witness
    if not isinstance(w, VCWitness) or bound.eps is None or bound.value is None:
        return False
    d = len(w.columns)
    if len(w.rows) != 2**d or len(set(w.columns)) != d or not all(0 <= c < M.shape[1] for c in w.columns):
        return False
    for pattern, r in enumerate(w.rows):
        if not 0 <= r < M.shape[0] or any(int(M[r, c]) != (pattern >> i & 1) for i, c in enumerate(w.columns)):
            return False
    return bound.value <= d * float(fano_term(bound.eps, 2)) + 1e-9


def vc_bound(x: Any, eps: float = 1 / 3) -> Bound:
    """R^{A->B}_eps(M) >= (1 - H2(eps))·VC(M): INDEX_d sits inside M on a shattered set ([KNR]; theory §10.6).

    Returns
    -------
    Bound
        ``lower``, model ``"R1way_eps(A->B)"``, method ``"vc-dimension"``, witness :class:`VCWitness`.
    """
    from ccbounds.information import fano_term

    if isinstance(eps, bool) or not isinstance(eps, (int, float, np.floating)) or not 0 <= eps <= 0.5:
        raise InvalidInputError(f"eps must be in [0, 1/2], got {eps!r}")
    M, name = as_matrix(x, what="VC dimension")
    w = vc_dimension(M)
    d = len(w.columns)
    return Bound(d * float(fano_term(eps, 2)), "lower", "R1way_eps(A->B)", name, eps=float(eps),
                 method="vc-dimension", witness=w, source="[KNR] (VC dimension); theory §10.6",
                 expression="(1-H2(eps))*VC", note=f"VC dimension {d}; also D^(A->B,mu)_eps for mu uniform on the "
                 "shattered rows and columns")
