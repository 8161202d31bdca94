"""The partition bound of Jain–Klauck and the corruption (rectangle) bound (theory §10.3, §10.4).

**Partition bound** (Jain and Klauck, CCC 2010). prt_eps(f) is the value of the LP

    min sum_{z, R} w_{z,R}  s.t.  sum_{R ∋ (x,y)} w_{f(x,y),R} >= 1 - eps,  sum_z sum_{R ∋ (x,y)} w_{z,R} = 1,  w >= 0

over all rectangles R and outputs z; a public-coin protocol of cost c gives a feasible w of value <= 2^c (weight
each leaf (z, R) by the probability of the coins that reach it), so R^pub_eps(f) >= log2 prt_eps(f). This module
solves the dual LP (scipy HiGHS)

    max (1 - eps) sum mu + sum phi  s.t.  sum_{(x,y) ∈ R} (mu(x,y) [f(x,y) = z] + phi(x,y)) <= 1 for all z, R;  mu >= 0,

and any dual-feasible (mu, phi) is a certificate: by weak duality its objective is <= prt_eps. The checker
:func:`check_partition` recomputes, in exact rationals, the largest constraint over every rectangle (all subsets
of the smaller side, the best other side in closed form) and divides the objective by it when it exceeds 1
(the scaled point is feasible), so the value it returns is a proof whatever the solver did.

**Corruption bound** (the rectangle bound; Razborov 1992; in this form Beame, Pitassi, Segerlind, Wigderson
2006). For mu, an output z and
lambda >= 1, let W = max_R (mu(R ∩ f^{-1}(z)) - lambda mu(R ∩ f^{-1}(1-z))). A deterministic protocol with error
<= eps under mu and at most 2^c leaves: summing over its z-leaves, mu(f^{-1}(z)) - lambda eps <= 2^c W, so

    R^pub_eps(f) >= D^mu_eps(f) >= log2((mu(f^{-1}(z)) - lambda eps) / W).

Examples
--------
>>> b = partition_bound([[1, 0], [0, 1]], 0.0)
>>> round(b.value, 6), check_partition([[1, 0], [0, 1]], b)
(2.0, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ccbounds.bound_record import Bound
from ccbounds.bounds._matrix import as_matrix
from ccbounds.bounds._rectsum import MAX_ENUM_SIDE, eps_fraction, max_rectangle_sum, optional_import, to_fractions
from ccbounds.bounds.discrepancy import _check_eps, distribution
from ccbounds.errors import InvalidInputError, TooLargeError

__all__ = [
    "CorruptionWitness",
    "PartitionCertificate",
    "check_corruption",
    "check_partition",
    "corruption_bound",
    "partition_bound",
    "partition_value",
]

#: most rectangles (2^m - 1)(2^n - 1) for which the partition-bound LP is built
LP_MAX_RECTANGLES = 2**14
#: most (enumerations) x 2^(smaller side) x (longer side) the corruption bound's search does
CORRUPTION_MAX_WORK = 2**24


@dataclass(frozen=True)
class PartitionCertificate:
    """A point (mu, phi) of the dual LP of the partition bound and the objective it claims."""

    mu: np.ndarray
    phi: np.ndarray
    eps: float
    claimed: float

    def to_dict(self) -> dict[str, Any]:
        return {"mu": self.mu.tolist(), "phi": self.phi.tolist(), "eps": self.eps, "claimed_prt": self.claimed}

    def __str__(self) -> str:
        return f"dual point of the partition LP, prt_eps >= {self.claimed:.6g}"


def _rectangles(m: int, n: int) -> np.ndarray:
    rows = ((np.arange(1, 2**m)[:, None] >> np.arange(m)[None, :]) & 1).astype(np.float64)
    cols = ((np.arange(1, 2**n)[:, None] >> np.arange(n)[None, :]) & 1).astype(np.float64)
    return np.einsum("ai,bj->abij", rows, cols).reshape(-1, m * n)  # (#rectangles, cells)


def partition_value(x: Any, certificate: PartitionCertificate) -> Fraction:
    """The lower bound on prt_eps(f) that a dual point proves, recomputed exactly (see the module docstring).

    Raises
    ------
    InvalidInputError
        A certificate of the wrong shape or with negative or non-finite mu.
    """
    M, _ = as_matrix(x, what="partition bound")
    mu, phi = np.asarray(certificate.mu, dtype=np.float64), np.asarray(certificate.phi, dtype=np.float64)
    if mu.shape != M.shape or phi.shape != M.shape or not (np.isfinite(mu).all() and np.isfinite(phi).all()):
        raise InvalidInputError(f"a partition certificate needs mu and phi of shape {M.shape}")
    if (mu < 0).any():
        raise InvalidInputError("a partition certificate needs mu >= 0")
    F_mu, F_phi = to_fractions(mu), to_fractions(phi)
    worst = Fraction(1)
    for z in (0, 1):
        K = [[F_mu[i][j] * (int(M[i, j]) == z) + F_phi[i][j] for j in range(M.shape[1])] for i in range(M.shape[0])]
        worst = max(worst, max_rectangle_sum(K, exact=True)[0])
    e = eps_fraction(certificate.eps)
    obj = (1 - e) * sum((v for r in F_mu for v in r), Fraction(0)) + sum((v for r in F_phi for v in r), Fraction(0))
    return obj / worst


def partition_bound(x: Any, eps: float = 1 / 3) -> Bound:
    """R^pub_eps(f) >= log2 prt_eps(f) (Jain–Klauck 2010), by the dual LP with its checked certificate.

    Parameters
    ----------
    x : array_like or Problem
        A 0/1 matrix with at most :data:`LP_MAX_RECTANGLES` rectangles (about 7 x 7).
    eps : float
        0 <= eps < 1/2.

    Returns
    -------
    Bound
        ``lower``, model ``"R_eps(pub)"``, method ``"partition-lp"``, witness :class:`PartitionCertificate`
        (checked by :func:`check_partition`; the value is the one the exact check proves).

    Raises
    ------
    TooLargeError
        More than :data:`LP_MAX_RECTANGLES` rectangles.
    """
    eps = _check_eps(eps)
    M, name = as_matrix(x, what="partition bound")
    m, n = M.shape
    if (2**m - 1) * (2**n - 1) > LP_MAX_RECTANGLES:
        raise TooLargeError(f"the partition-bound LP has one constraint per rectangle; {m}x{n} has "
                            f"(2^{m}-1)(2^{n}-1) > {LP_MAX_RECTANGLES} (use a smaller matrix)")
    linprog = optional_import("scipy.optimize").linprog
    R = _rectangles(m, n)
    f = M.ravel().astype(np.float64)
    blocks = [np.hstack([R * (f == z)[None, :], R]) for z in (0, 1)]
    A_ub = np.vstack(blocks)
    cost = -np.concatenate([np.full(m * n, 1 - eps), np.ones(m * n)])
    res = linprog(cost, A_ub=A_ub, b_ub=np.ones(A_ub.shape[0]),
                  bounds=[(0, None)] * (m * n) + [(None, None)] * (m * n), method="highs")
    if res.status != 0:
        raise InvalidInputError(f"the partition-bound LP failed: {res.message}")
    mu = np.clip(res.x[: m * n], 0, None).reshape(m, n)
    phi = res.x[m * n:].reshape(m, n)
    cert0 = PartitionCertificate(mu, phi, eps, 0.0)
    prt = partition_value(M, cert0)
    cert = PartitionCertificate(mu, phi, eps, float(prt))
    return Bound(max(0.0, math.log2(float(prt))), "lower", "R_eps(pub)", name, eps=eps, method="partition-lp",
                 witness=cert, source="Jain–Klauck, CCC 2010 (partition bound); theory §10.3",
                 expression="log2 prt_eps", note=f"prt_eps >= {float(prt):.6g} (dual point checked exactly)")


def check_partition(x: Any, bound: Bound) -> bool:
    """True iff the bound's dual point proves its value (exact rational recomputation, no solver).

    Examples
    --------
    >>> import dataclasses
    >>> b = partition_bound([[1, 1], [1, 0]], 0.1)
    >>> bad = dataclasses.replace(b, witness=dataclasses.replace(b.witness, phi=b.witness.phi + 0.5))
    >>> check_partition([[1, 1], [1, 0]], b), check_partition([[1, 1], [1, 0]], bad)
    (True, False)
    """
    w = bound.witness
    if not isinstance(w, PartitionCertificate) or bound.value is None or bound.eps is None or w.eps != bound.eps:
        return False
    try:
        prt = partition_value(x, w)
    except InvalidInputError:
        return False
    if float(prt) < w.claimed - 1e-9 * max(1.0, abs(w.claimed)):
        return False  # the certificate does not prove what it claims
    return prt > 0 and bound.value <= math.log2(prt) + 1e-9


@dataclass(frozen=True)
class CorruptionWitness:
    """mu, the output z, lambda and W = max_R (mu_z(R) - lambda mu_{1-z}(R)) with a rectangle attaining it."""

    mu: np.ndarray
    z: int
    lam: float
    W: float
    rectangle: tuple[tuple[int, ...], tuple[int, ...]]
    mu_method: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"mu": self.mu.tolist(), "z": self.z, "lambda": self.lam, "W": self.W,
                "rectangle": [list(s) for s in self.rectangle], "mu_method": self.mu_method}

    def __str__(self) -> str:
        return f"corruption: z={self.z}, lambda={self.lam:g}, W={self.W:.4g} (mu: {self.mu_method})"


def _corruption_W(M: np.ndarray, mu: np.ndarray, z: int, lam: float) -> tuple[Fraction, tuple, tuple]:
    F = to_fractions(mu)
    L = Fraction(lam)
    K = [[F[i][j] * (1 if int(M[i, j]) == z else -L) for j in range(M.shape[1])] for i in range(M.shape[0])]
    return max_rectangle_sum(K, exact=True)


def _corruption_value(M: np.ndarray, mu: np.ndarray, z: int, lam: float, eps: float, W: Fraction) -> float:
    mass = sum((Fraction(float(p)) for p, v in zip(mu.ravel(), M.ravel()) if int(v) == z), Fraction(0))
    num = mass - Fraction(lam) * eps_fraction(eps)
    if W <= 0 or num <= 0:
        return 0.0
    return max(0.0, math.log2(num / W))


def corruption_bound(x: Any, eps: float = 1 / 3, mu: Any = None, z: int | None = None,
                     lambdas: tuple[float, ...] = (1.0, 1.5, 2.0, 3.0, 4.0, 8.0)) -> Bound:
    """R^pub_eps(f) >= D^mu_eps(f) >= log2((mu(f^{-1}(z)) - lambda eps) / W) (theory §10.4).

    Parameters
    ----------
    x : array_like or Problem
        A 0/1 matrix whose smaller side is at most 20.
    eps : float
        0 <= eps < 1/2.
    mu : None, "uniform", "balanced" or array
        None: the better of uniform and balanced (a heuristic; give Razborov's distribution for DISJ).
    z : 0, 1 or None
        The output whose rectangles are corrupted; None tries both.
    lambdas : tuple of float
        The values of lambda >= 1 tried; the best is kept.

    Returns
    -------
    Bound
        ``lower``, model ``"R_eps(pub)"``, method ``"corruption"``, witness :class:`CorruptionWitness`
        (W computed exactly in rationals; :func:`check_corruption` recomputes it).
    """
    eps = _check_eps(eps)
    M, name = as_matrix(x, what="corruption bound")
    if any(lam < 1 for lam in lambdas):
        raise InvalidInputError("lambda must be >= 1")
    calls = (1 if mu is not None else 2) * (2 if z is None else 1) * len(lambdas)
    work = calls * 2 ** min(M.shape) * max(M.shape)
    if min(M.shape) > MAX_ENUM_SIDE or work > CORRUPTION_MAX_WORK:
        raise TooLargeError(f"the corruption bound enumerates 2^(smaller side) x (longer side) {calls} times; "
                            f"{M.shape[0]}x{M.shape[1]} needs {work} > {CORRUPTION_MAX_WORK} (use a smaller matrix, "
                            "or fix mu, z and lambda)")
    mus = [distribution(M, mu)] if mu is not None else [distribution(M, "uniform"), distribution(M, "balanced")]
    best: tuple[float, CorruptionWitness] | None = None
    for P, how in mus:
        for zz in ((0, 1) if z is None else (int(z),)):
            for lam in lambdas:
                W, S, T = _corruption_W(M, P, zz, lam)
                val = _corruption_value(M, P, zz, lam, eps, W)
                if best is None or val > best[0]:
                    best = (val, CorruptionWitness(P, zz, float(lam), float(W), (S, T), how))
    assert best is not None
    val, w = best
    return Bound(val, "lower", "R_eps(pub)", name, eps=eps, method="corruption", witness=w,
                 source="Razborov 1992; Beame-Pitassi-Segerlind-Wigderson 2006 (corruption); theory §10.4",
                 expression="log2((mu(f^-1(z)) - lambda*eps)/W)",
                 note=f"z={w.z}, lambda={w.lam:g}, W={w.W:.6g} under mu: {w.mu_method}; the same value bounds "
                 "D^mu_eps for this mu")


def check_corruption(x: Any, bound: Bound) -> bool:
    """True iff W recomputed exactly (every rectangle) supports the bound's value.

    Examples
    --------
    >>> import dataclasses
    >>> b = corruption_bound([[1, 0], [0, 1]], 0.1)
    >>> check_corruption([[1, 0], [0, 1]], b), check_corruption([[1, 0], [0, 1]], dataclasses.replace(b, value=3))
    (True, False)
    """
    M, _ = as_matrix(x, what="corruption bound")
    w = bound.witness
    if not isinstance(w, CorruptionWitness) or bound.eps is None or bound.value is None or w.lam < 1:
        return False
    try:
        P, _ = distribution(M, w.mu)
    except InvalidInputError:
        return False
    if not np.allclose(P, w.mu, rtol=0, atol=1e-12) or w.z not in (0, 1):
        return False
    W = _corruption_W(M, w.mu, w.z, w.lam)[0]
    return bound.value <= _corruption_value(M, w.mu, w.z, w.lam, bound.eps, W) + 1e-9
