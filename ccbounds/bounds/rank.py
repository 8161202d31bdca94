"""Rank lower bounds: log-rank over the reals and over GF(2) (theory §3, [KN] Lemma 1.28).

Every 1-leaf of a protocol tree is a rank-1 0/1 rectangle and the 1-leaves partition the 1-entries,
so M is a sum of (#1-leaves) rank-1 matrices, over the reals and over GF(2) alike:
``#1-leaves >= rank(M)``, hence ``D(f) >= log2 rank(M)``. Applied to the 0-leaves and ``J - M`` as
well, ``#leaves >= rank(M) + rank(J - M)`` (:func:`leaf_rank_bound`).

Ranks are exact: fraction-free (Bareiss) integer elimination over the reals and bitmask elimination
over GF(2). The certificate of ``rank >= r`` is an r x r submatrix that is nonsingular, which
:func:`check_rank_certificate` verifies by an exact determinant (resp. GF(2) elimination).

Examples
--------
>>> rank_real([[1, 1], [1, 0]]).rank, rank_gf2([[1, 1, 0], [0, 1, 1], [1, 0, 1]]).rank
(2, 2)
>>> str(log_rank([[1, 0], [0, 1]]))
'D(matrix 2x2) >= 1 bits  [log-rank; [KN] Lemma 1.28 (log-rank)]'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ccbounds.bound_record import Bound
from ccbounds.bounds._matrix import as_matrix
from ccbounds.errors import InvalidInputError

__all__ = [
    "MAX_RANK_SIDE",
    "RankCertificate",
    "check_rank_certificate",
    "leaf_rank_bound",
    "log_rank",
    "rank_gf2",
    "rank_real",
]

#: exact real rank is Bareiss elimination on Python integers: about 2 s at 256 x 256
MAX_RANK_SIDE = 512

_FIELDS = ("R", "GF2")


@dataclass(frozen=True)
class RankCertificate:
    """``rank`` of a matrix over ``field`` with a nonsingular ``rank x rank`` submatrix.

    ``rows`` and ``cols`` index that submatrix in the original matrix. ``value``: when set, the
    certificate is about the indicator matrix ``[M == value]`` of a matrix with several output values
    (the per-value leaf count of :func:`leaf_rank_bound`), not about M itself.
    """

    field: str
    rank: int
    rows: tuple[int, ...]
    cols: tuple[int, ...]
    value: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"field": self.field, "rank": self.rank, "rows": list(self.rows), "cols": list(self.cols)}
        if self.value is not None:
            out["value"] = self.value
        return out

    def __str__(self) -> str:
        of = "" if self.value is None else f"[M == {self.value}] "
        return (f"rank_{self.field} {of}= {self.rank} (nonsingular submatrix rows {list(self.rows)}, "
                f"cols {list(self.cols)})")


def _bareiss(M: np.ndarray) -> tuple[int, list[int], list[int]]:
    """Fraction-free elimination with row pivoting: (rank, pivot rows, pivot columns)."""
    A = M.astype(object)
    R, C = A.shape
    perm = list(range(R))
    cols: list[int] = []
    r, prev = 0, 1
    for c in range(C):
        if r == R:
            break
        nz = np.nonzero(A[r:, c] != 0)[0]
        if len(nz) == 0:
            continue
        p = r + int(nz[0])
        if p != r:
            A[[r, p]] = A[[p, r]]
            perm[r], perm[p] = perm[p], perm[r]
        piv = A[r, c]
        if r + 1 < R:  # entries stay integer minors, so the division is exact (Bareiss 1968)
            A[r + 1:, c:] = (A[r + 1:, c:] * piv - A[r + 1:, c:c + 1] * A[r, c:]) // prev
        prev = piv
        cols.append(c)
        r += 1
    return r, perm[:r], cols


def _gf2_eliminate(M: np.ndarray) -> tuple[int, list[int], list[int]]:
    """GF(2) elimination on row bitmasks with row pivoting: (rank, pivot rows, pivot columns)."""
    R, C = M.shape
    rows = [int("".join("1" if v else "0" for v in M[i][::-1]) or "0", 2) for i in range(R)]
    perm = list(range(R))
    cols: list[int] = []
    r = 0
    for c in range(C):
        if r == R:
            break
        bit = 1 << c
        p = next((k for k in range(r, R) if rows[k] & bit), None)
        if p is None:
            continue
        rows[r], rows[p] = rows[p], rows[r]
        perm[r], perm[p] = perm[p], perm[r]
        for k in range(r + 1, R):
            if rows[k] & bit:
                rows[k] ^= rows[r]
        cols.append(c)
        r += 1
    return r, perm[:r], cols


def _certificate(x: Any, field: str) -> tuple[RankCertificate, str]:
    if field not in _FIELDS:
        raise InvalidInputError(f"field must be one of {_FIELDS}, got {field!r}")
    M, name = as_matrix(x, max_rows=MAX_RANK_SIDE, max_cols=MAX_RANK_SIDE, what="exact rank")
    r, rows, cols = (_bareiss if field == "R" else _gf2_eliminate)(M)
    return RankCertificate(field, r, tuple(sorted(rows)), tuple(sorted(cols))), name


def rank_real(x: Any) -> RankCertificate:
    """Exact rank over the reals (= over the rationals) with a nonsingular-submatrix certificate.

    Parameters
    ----------
    x : array_like or Problem
        A 0/1 matrix, at most :data:`MAX_RANK_SIDE` rows and columns.

    Returns
    -------
    RankCertificate
        ``field="R"``; check it with :func:`check_rank_certificate`.

    Raises
    ------
    InvalidInputError, TooLargeError
        Bad matrix, or more than :data:`MAX_RANK_SIDE` rows/columns.

    Examples
    --------
    >>> c = rank_real([[1, 1, 0], [0, 1, 1], [1, 0, 1]])
    >>> c.rank, c.rows, c.cols
    (3, (0, 1, 2), (0, 1, 2))

    References
    ----------
    E. H. Bareiss, Sylvester's identity and multistep integer-preserving Gaussian elimination,
    Mathematics of Computation 22, 1968.
    """
    return _certificate(x, "R")[0]


def rank_gf2(x: Any) -> RankCertificate:
    """Exact rank over GF(2) with a nonsingular-submatrix certificate.

    Examples
    --------
    >>> rank_gf2([[1, 1, 0], [0, 1, 1], [1, 0, 1]]).rank
    2
    """
    return _certificate(x, "GF2")[0]


def _log2_or_zero(r: int) -> float:
    return math.log2(r) if r > 0 else 0.0


def log_rank(x: Any, field: str = "R") -> Bound:
    """The log-rank lower bound ``D(f) >= log2 rank(M)`` over the reals or GF(2) (theory §3).

    The value is ``log2 rank`` itself; since D is an integer, ``D >= ceil(log2 rank)`` (the note says so).

    Parameters
    ----------
    x : array_like or Problem
        The communication matrix.
    field : {"R", "GF2"}
        Over GF(2) the bound is also valid for D (every 1-leaf is rank 1 over any field).

    Returns
    -------
    Bound
        ``model="D"``, ``direction="lower"``, witness a :class:`RankCertificate`.

    Examples
    --------
    >>> b = log_rank(np.eye(8, dtype=int))
    >>> b.value, b.witness.rank
    (3.0, 8)

    References
    ----------
    [KN] Lemma 1.28. K. Mehlhorn, E. M. Schmidt, Las Vegas is better than determinism in VLSI and
    distributed computing, STOC 1982.
    """
    cert, name = _certificate(x, field)
    ceil = math.ceil(_log2_or_zero(cert.rank))
    return Bound(
        _log2_or_zero(cert.rank), "lower", "D", name,
        method="log-rank" if field == "R" else "log-rank GF(2)",
        witness=cert, source="[KN] Lemma 1.28 (log-rank)",
        expression=f"log2 rank_{field}(M)",
        note=f"rank_{field} = {cert.rank}; D is an integer, so D >= {ceil}",
    )


def leaf_rank_bound(x: Any, field: str = "R") -> Bound:
    """``D(f) >= log2(rank(M) + rank(J - M))``: rank counts 1-leaves and 0-leaves separately.

    The 1-leaves of a correct protocol partition the 1-entries into rank-1 rectangles, so
    ``#1-leaves >= rank(M)``; likewise ``#0-leaves >= rank(J - M)`` (J the all-ones matrix); a tree
    of depth D has at most ``2**D`` leaves. This is [KN] Lemma 1.28 applied to both colours.
    For a matrix with more output values (integers 0..127, q-ary INDEX) the same argument per value
    gives the **leaf count** ``D >= log2 sum_v rank([M == v])`` (theory §3.4).

    Returns
    -------
    Bound
        witness: the pair of :class:`RankCertificate` for M and J - M; for more than two values, one
        certificate per value (``cert.value`` set, about ``[M == value]``).

    Examples
    --------
    >>> b = leaf_rank_bound(np.eye(4, dtype=int))  # rank 4 + rank 4 (J - I is nonsingular)
    >>> b.value
    3.0
    >>> leaf_rank_bound([[0, 1], [1, 2], [2, 0]]).value  # three values, each of rank 2: 6 leaves
    2.584962500721156
    """
    M, name = as_matrix(x, max_rows=MAX_RANK_SIDE, max_cols=MAX_RANK_SIDE, what="exact rank", binary=False)
    if not np.isin(M, (0, 1)).all():
        return _value_leaf_rank(M, name, field)
    c1, name = _certificate(x, field)
    c0, _ = _certificate(1 - M, field)
    total = c1.rank + c0.rank
    return Bound(
        _log2_or_zero(total), "lower", "D", name,
        method="leaf-rank" if field == "R" else "leaf-rank GF(2)",
        witness=(c1, c0), source="[KN] Lemma 1.28 (log-rank), applied to 1-leaves and 0-leaves",
        expression=f"log2(rank_{field}(M) + rank_{field}(J-M))",
        note=f"rank(M) = {c1.rank}, rank(J-M) = {c0.rank}; D >= {math.ceil(_log2_or_zero(total))}",
    )


def _value_leaf_rank(M: np.ndarray, name: str, field: str) -> Bound:
    if field not in _FIELDS:
        raise InvalidInputError(f"field must be one of {_FIELDS}, got {field!r}")
    certs = []
    for v in np.unique(M):
        c, _ = _certificate((M == v).astype(np.int8), field)
        certs.append(RankCertificate(c.field, c.rank, c.rows, c.cols, int(v)))
    total = sum(c.rank for c in certs)
    ranks = " + ".join(f"{c.rank}" for c in certs)
    return Bound(
        _log2_or_zero(total), "lower", "D", name,
        method="leaf-rank" if field == "R" else "leaf-rank GF(2)",
        witness=tuple(certs), source="[KN] Lemma 1.28 applied to the leaves of each output value (theory §3.4)",
        expression=f"log2(sum_v rank_{field}([M == v]))",
        note=f"{len(certs)} output values, ranks {ranks} = {total} leaves; D >= {math.ceil(_log2_or_zero(total))}",
    )


def _det_nonzero_exact(S: list[list[int]]) -> bool:
    """Exact determinant test by pure-Python Bareiss (independent of :func:`_bareiss`)."""
    A = [row[:] for row in S]
    n, prev = len(A), 1
    for k in range(n):
        p = next((i for i in range(k, n) if A[i][k] != 0), None)
        if p is None:
            return False
        A[k], A[p] = A[p], A[k]
        for i in range(k + 1, n):
            for j in range(k + 1, n):
                A[i][j] = (A[i][j] * A[k][k] - A[i][k] * A[k][j]) // prev
        prev = A[k][k]
    return True


def check_rank_certificate(x: Any, cert: RankCertificate) -> bool:
    """True iff ``cert`` indexes a nonsingular ``rank x rank`` submatrix of M over ``cert.field``.

    With ``cert.value`` set, the submatrix is taken from ``[M == value]`` (M may then have integer outputs).
    This proves ``rank(M) >= cert.rank``, which is all the log-rank bound uses.

    Examples
    --------
    >>> M = [[1, 1], [1, 1]]
    >>> check_rank_certificate(M, RankCertificate("R", 1, (0,), (1,)))
    True
    >>> check_rank_certificate(M, RankCertificate("R", 2, (0, 1), (0, 1)))
    False
    """
    M, _ = as_matrix(x, max_rows=MAX_RANK_SIDE, max_cols=MAX_RANK_SIDE, what="exact rank",
                     binary=cert.value is None)
    if cert.value is not None:
        M = (M == cert.value).astype(np.int8)
    rows, cols, r = list(cert.rows), list(cert.cols), cert.rank
    if cert.field not in _FIELDS or len(rows) != r or len(cols) != r:
        return False
    if len(set(rows)) != r or len(set(cols)) != r:
        return False
    if any(not 0 <= i < M.shape[0] for i in rows) or any(not 0 <= j < M.shape[1] for j in cols):
        return False
    if r == 0:
        return True
    S = [[int(M[i, j]) for j in cols] for i in rows]
    if cert.field == "R":
        return _det_nonzero_exact(S)
    return _gf2_eliminate(np.array(S, dtype=np.int8))[0] == r
