"""The discrepancy bound on randomized communication (theory §10.2; [KN] Prop. 3.28).

For a distribution mu on X x Y and A = (-1)^M, disc_mu(M) = max over rectangles S x T of
|sum_{S x T} mu(x, y) A(x, y)|. A deterministic c-bit protocol with error <= eps under mu has at most 2^c leaves,
and summing mu·A over its leaves gives Pr[correct] - Pr[wrong] >= 1 - 2 eps, each leaf at most disc_mu in
absolute value, so

    R^pub_eps(M) >= D^mu_eps(M) >= log2((1 - 2 eps) / disc_mu(M)).

* :func:`discrepancy` computes disc_mu exactly (all subsets of the smaller side, the best other side in closed
  form: the columns of positive partial sum, resp. of negative partial sum), in rationals.
* :func:`discrepancy_upper` bounds it from above for larger matrices by a semidefinite relaxation of the cut norm
  (solved by cvxpy; the dual point is checked with numpy eigenvalues, never by the solver).
* :func:`best_discrepancy_mu` picks mu: for tiny matrices the exact minimiser of disc_mu, an LP over mu
  (scipy HiGHS) with one pair of constraints per rectangle; for larger ones the better of the uniform and the
  balanced distribution (half the mass uniform on the 1-cells, half on the 0-cells), a heuristic.
* :func:`discrepancy_bound` returns the typed :class:`~ccbounds.Bound` with the witness
  :class:`DiscrepancyWitness`; :func:`check_discrepancy` re-checks it.

Examples
--------
>>> from ccbounds.problems import IP
>>> discrepancy(IP(2), "uniform")[0]  # Lindsey's lemma: at most 2^(-n/2) = 1/2
Fraction(5, 16)
>>> b = discrepancy_bound(IP(2), 0.0, mu="uniform")
>>> round(b.value, 4), b.model, check_discrepancy(IP(2), b)
(1.6781, 'R_eps(pub)', True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ccbounds.bound_record import Bound
from ccbounds.bounds._matrix import as_matrix
from ccbounds.bounds._rectsum import dual_norm_upper, max_rectangle_sum, optional_import
from ccbounds.errors import InvalidInputError, TooLargeError

__all__ = [
    "DiscrepancyWitness",
    "best_discrepancy_mu",
    "check_discrepancy",
    "discrepancy",
    "discrepancy_bound",
    "discrepancy_upper",
    "distribution",
]

#: best_discrepancy_mu solves the exact LP over mu when the matrix has at most this many rectangles
LP_MAX_RECTANGLES = 4096
#: side length up to which disc_mu is computed exactly (beyond it: the SDP upper bound)
EXACT_MAX_SIDE = 16
#: most (subsets of the smaller side) x (longer side) the exact computation enumerates (beyond it: the SDP)
EXACT_MAX_WORK = 2**21
#: longest side the SDP upper bound takes (beyond it the discrepancy bound is skipped as too large)
SDP_MAX_SIDE = 128


def _exact_fits(shape: tuple[int, ...]) -> bool:
    k, n = min(shape), max(shape)
    return k <= EXACT_MAX_SIDE and 2**k * n <= EXACT_MAX_WORK


@dataclass(frozen=True)
class DiscrepancyWitness:
    """mu and disc_mu: exact (with an optimal rectangle) or an upper bound (with the SDP dual point (a, b))."""

    mu: np.ndarray
    disc: float
    how: str  # "exact" or "sdp"
    rectangle: tuple[tuple[int, ...], tuple[int, ...]] | None = None
    dual: tuple[np.ndarray, np.ndarray] | None = None
    mu_method: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"mu": np.asarray(self.mu).tolist(), "disc": self.disc, "how": self.how, "mu_method": self.mu_method,
                "rectangle": [list(s) for s in self.rectangle] if self.rectangle else None,
                "dual": [np.asarray(v).tolist() for v in self.dual] if self.dual else None}

    def __str__(self) -> str:
        return f"disc_mu {'=' if self.how == 'exact' else '<='} {self.disc:.4g} (mu: {self.mu_method})"


def distribution(M: np.ndarray, mu: Any) -> tuple[np.ndarray, str]:
    """mu as a probability matrix of M's shape: ``"uniform"``, ``"balanced"`` or an array (normalised).

    >>> distribution(np.array([[1, 0]]), "balanced")[0].tolist()
    [[0.5, 0.5]]
    """
    if isinstance(mu, str):
        if mu == "uniform":
            return np.full(M.shape, 1.0 / M.size), "uniform"
        if mu == "balanced":
            ones = int(M.sum())
            if ones in (0, M.size):
                return np.full(M.shape, 1.0 / M.size), "uniform (constant matrix)"
            return (np.where(M == 1, 0.5 / ones, 0.5 / (M.size - ones)),
                    "balanced (1/2 on the 1-cells, 1/2 on the 0-cells)")
        raise InvalidInputError(f"mu must be 'uniform', 'balanced' or an array of M's shape, got {mu!r}")
    arr = np.asarray(mu, dtype=np.float64)
    if arr.shape != M.shape or not np.isfinite(arr).all() or (arr < 0).any() or arr.sum() <= 0:
        raise InvalidInputError(f"mu must be a non-negative array of shape {M.shape} with a positive sum")
    return arr / arr.sum(), "given"


def _signed(M: np.ndarray, mu: np.ndarray, exact: bool) -> Any:
    A = 1 - 2 * M.astype(np.int64)
    if exact:
        return np.array([[Fraction(float(p)) * int(s) for p, s in zip(pr, sr)] for pr, sr in zip(mu, A)], dtype=object)
    return mu * A


def discrepancy(x: Any, mu: Any = "uniform") -> tuple[Fraction, tuple[int, ...], tuple[int, ...]]:
    """Exact disc_mu(M) and a rectangle (S, T) attaining it, in rationals (mu's floats taken exactly).

    Raises
    ------
    TooLargeError
        When both sides exceed :data:`EXACT_MAX_SIDE`, or 2^(smaller side) x (longer side) exceeds
        :data:`EXACT_MAX_WORK` (use :func:`discrepancy_upper`).

    Examples
    --------
    >>> discrepancy([[1, 0], [0, 1]])[0]
    Fraction(1, 4)
    """
    M, _ = as_matrix(x, what="discrepancy")
    if not _exact_fits(M.shape):
        raise TooLargeError(f"exact discrepancy enumerates 2^k subsets of the smaller side k (k <= {EXACT_MAX_SIDE}) "
                            f"against the longer side n, 2^k*n <= {EXACT_MAX_WORK}; got {M.shape[0]}x{M.shape[1]} "
                            "(use discrepancy_upper)")
    P, _ = distribution(M, mu)
    K = _signed(M, P, exact=True)
    pos = max_rectangle_sum(K, exact=True)
    neg = max_rectangle_sum(-K, exact=True)
    return pos if pos[0] >= neg[0] else neg


def discrepancy_upper(x: Any, mu: Any = "uniform") -> tuple[float, np.ndarray, np.ndarray]:
    """An upper bound on disc_mu(M) by the SDP relaxation of the cut norm, with its checked dual point (a, b).

    With 1_S = (1 + s)/2 (s a +-1 vector), 1_S^T K 1_T = (1/4) u^T K~ v for u = (1, s), v = (1, t) and
    K~ = [[1^T K 1, 1^T K], [K 1, K]]; the max over +-1 vectors is at most gamma2*(K~) (unit vectors), so
    disc_mu <= gamma2*(K~)/4 <= (sum a + sum b)/8 for the dual point (theory §10.2).

    Returns
    -------
    (float, a, b)
        The checked upper bound (:func:`~ccbounds.bounds._rectsum.dual_norm_upper`) and the dual point.

    Raises
    ------
    TooLargeError
        A side longer than :data:`SDP_MAX_SIDE`.
    """
    M, _ = as_matrix(x, what="discrepancy")
    if max(M.shape) > SDP_MAX_SIDE:
        raise TooLargeError(f"the discrepancy SDP takes sides up to {SDP_MAX_SIDE} and exact discrepancy "
                            f"2^(smaller side) x (longer side) <= {EXACT_MAX_WORK}; {M.shape[0]}x{M.shape[1]} fits "
                            "neither (use a smaller matrix)")
    P, _ = distribution(M, mu)
    Kt = _augment(M, P)
    a, b = _cut_sdp(Kt)
    return dual_norm_upper(Kt, a, b) / 4, a, b


def _augment(M: np.ndarray, P: np.ndarray) -> np.ndarray:
    K = _signed(M, P, exact=False)
    top = np.concatenate([[K.sum()], K.sum(axis=0)])
    return np.vstack([top, np.column_stack([K.sum(axis=1), K])])


def _cut_sdp(K: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cp = optional_import("cvxpy")
    m, n = K.shape
    a, b = cp.Variable(m), cp.Variable(n)
    Z = cp.bmat([[cp.diag(a), -K], [-K.T, cp.diag(b)]])
    prob = cp.Problem(cp.Minimize((cp.sum(a) + cp.sum(b)) / 2), [(Z + Z.T) / 2 >> 0])
    prob.solve(solver="CLARABEL" if "CLARABEL" in cp.installed_solvers() else "SCS")
    if a.value is None:
        raise InvalidInputError(f"the SDP solver failed ({prob.status}); try a smaller matrix")
    return np.asarray(a.value), np.asarray(b.value)


def best_discrepancy_mu(x: Any) -> tuple[np.ndarray, str]:
    """The mu used by :func:`discrepancy_bound` when none is given, and how it was chosen.

    Matrices with at most :data:`LP_MAX_RECTANGLES` rectangles: the exact minimiser of disc_mu, the LP
    ``min t s.t. |sum_R mu A| <= t for every rectangle R, mu >= 0, sum mu = 1`` (scipy HiGHS). Larger ones: the
    uniform or the balanced mu, whichever has the smaller discrepancy (a heuristic, not the best mu).
    """
    M, _ = as_matrix(x, what="discrepancy")
    m, n = M.shape
    if (2**m - 1) * (2**n - 1) <= LP_MAX_RECTANGLES:
        linprog = optional_import("scipy.optimize").linprog
        A = (1 - 2 * M.astype(np.float64)).ravel()
        rows = ((np.arange(1, 2**m)[:, None] >> np.arange(m)[None, :]) & 1).astype(np.float64)
        cols = ((np.arange(1, 2**n)[:, None] >> np.arange(n)[None, :]) & 1).astype(np.float64)
        R = np.einsum("ai,bj->abij", rows, cols).reshape(-1, m * n) * A[None, :]
        ones = np.ones((R.shape[0], 1))
        A_ub = np.vstack([np.hstack([R, -ones]), np.hstack([-R, -ones])])
        cost = np.zeros(m * n + 1)
        cost[-1] = 1
        res = linprog(cost, A_ub=A_ub, b_ub=np.zeros(A_ub.shape[0]),
                      A_eq=np.hstack([np.ones((1, m * n)), np.zeros((1, 1))]), b_eq=[1.0],
                      bounds=[(0, None)] * (m * n + 1), method="highs")
        if res.status == 0:
            return np.clip(res.x[:-1], 0, None).reshape(m, n), "LP minimising disc_mu over all mu (HiGHS)"
    cands = [distribution(M, "uniform"), distribution(M, "balanced")]
    if _exact_fits(M.shape):
        scores = [float(discrepancy(M, p)[0]) for p, _ in cands]
    else:
        scores = [discrepancy_upper(M, p)[0] for p, _ in cands]
    k = int(np.argmin(scores))
    return cands[k][0], "heuristic: " + cands[k][1] + " (the smaller discrepancy of uniform and balanced)"


def _value(eps: float, disc: float) -> float:
    return max(0.0, math.log2((1 - 2 * eps) / disc)) if disc > 0 else math.inf


def discrepancy_bound(x: Any, eps: float = 1 / 3, mu: Any = None) -> Bound:
    """R^pub_eps(M) >= D^mu_eps(M) >= log2((1 - 2 eps)/disc_mu(M)) ([KN] Prop. 3.28; theory §10.2).

    Parameters
    ----------
    x : array_like or Problem
        A 0/1 matrix.
    eps : float
        Error, 0 <= eps < 1/2.
    mu : None, "uniform", "balanced" or array
        None: :func:`best_discrepancy_mu`.

    Returns
    -------
    Bound
        ``direction="lower"``, model ``"R_eps(pub)"``, method ``"discrepancy"`` (exact disc) or
        ``"discrepancy-sdp"`` (an SDP upper bound on disc), witness :class:`DiscrepancyWitness`.
        The same number bounds D^mu_eps for this mu (the note says so).
    """
    eps = _check_eps(eps)
    M, name = as_matrix(x, what="discrepancy bound")
    if not _exact_fits(M.shape) and max(M.shape) > SDP_MAX_SIDE:  # fail before choosing mu
        discrepancy_upper(M)
    if mu is None:
        P, how = best_discrepancy_mu(M)
        P = distribution(M, P)[0]  # normalised, as the checker reads it
    else:
        P, how = distribution(M, mu)
    if _exact_fits(M.shape):
        d, S, T = discrepancy(M, P)
        w = DiscrepancyWitness(P, float(d), "exact", rectangle=(S, T), mu_method=how)
        method, disc = "discrepancy", d
    else:
        up, a, b = discrepancy_upper(M, P)
        w = DiscrepancyWitness(P, up, "sdp", dual=(a, b), mu_method=how)
        method, disc = "discrepancy-sdp", up
    value = _value(eps, float(disc))
    return Bound(value, "lower", "R_eps(pub)", name, eps=eps, method=method, witness=w,
                 source="[KN] Prop. 3.28; theory §10.2", expression="log2((1-2eps)/disc_mu)",
                 note=f"disc_mu {'=' if w.how == 'exact' else '<='} {float(disc):.6g} under mu: {how}; the same "
                 "value bounds D^mu_eps (distributional, this mu); clipped at 0")


def check_discrepancy(x: Any, bound: Bound) -> bool:
    """Re-check a :func:`discrepancy_bound`: disc_mu recomputed (exactly in rationals, or the SDP dual point
    re-checked by eigenvalues) must support the claimed value.

    Examples
    --------
    >>> import dataclasses
    >>> b = discrepancy_bound([[1, 0], [0, 1]], 0.1, mu="uniform")
    >>> check_discrepancy([[1, 0], [0, 1]], b), check_discrepancy([[1, 0], [0, 1]], dataclasses.replace(b, value=2))
    (True, False)
    """
    M, _ = as_matrix(x, what="discrepancy bound")
    w = bound.witness
    if not isinstance(w, DiscrepancyWitness) or bound.eps is None or not 0 <= bound.eps < 0.5:
        return False
    try:
        P, _ = distribution(M, w.mu)
    except InvalidInputError:
        return False
    if not np.allclose(P, np.asarray(w.mu), rtol=0, atol=1e-12):
        return False  # mu must be a distribution as given
    if w.how == "exact":
        if not _exact_fits(M.shape):
            return False
        disc = float(discrepancy(M, P)[0])
    elif w.how == "sdp" and w.dual is not None:
        try:
            disc = dual_norm_upper(_augment(M, P), *w.dual) / 4
        except InvalidInputError:
            return False
    else:
        return False
    return bound.value is not None and bound.value <= _value(bound.eps, disc) + 1e-9


def _check_eps(eps: Any) -> float:
    if isinstance(eps, bool) or not isinstance(eps, (int, float, np.floating)) or not 0 <= eps < 0.5:
        raise InvalidInputError(f"eps must be a number in [0, 1/2), got {eps!r}")
    return float(eps)
