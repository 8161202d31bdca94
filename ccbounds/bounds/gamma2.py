"""The approximate gamma2 factorization norm: lower bounds on R^pub_eps and on quantum Q*_eps (theory §10.5).

For a sign matrix A = (-1)^M, gamma2(B) = min over factorizations B = X Y^T of (max row norm of X)(max row norm
of Y), and for alpha >= 1, gamma2^alpha(A) = min {gamma2(B) : 1 <= A(x,y) B(x,y) <= alpha}. With
alpha = 1/(1 - 2 eps):

* **R^pub_eps(M) >= 2 log2 gamma2^alpha(A) - 2 log2 alpha** (Linial–Shraibman 2007; derived in theory §10.5: the
  sign matrix of a depth-c protocol tree has gamma2 <= 2^(c/2), and a public-coin protocol's expected output
  matrix, scaled by alpha, is feasible).
* **Q*_eps(M) >= log2 gamma2^alpha(A) - log2 alpha - 2** for quantum protocols with shared entanglement (model
  ``"Q_eps"``). Linial–Shraibman (STOC 2007; Random Structures & Algorithms 34(3), 2009) and Lee–Shraibman's survey
  (Foundations and Trends in TCS 3(4), 2009) state it as log2 gamma2^alpha - log2 alpha - O(1); the constant 2 is
  derived in theory §10.5 from one assumed lemma of theirs, not checked against their text: a c-qubit protocol with
  entanglement has acceptance-probability matrix P with gamma2(P) <= 2^c, so the expected +-1 output matrix
  J - 2P has gamma2 <= 1 + 2^(c+1) <= 2^(c+2).

The SDP is solved in its dual form by cvxpy (Clarabel or SCS):

    gamma2^alpha(A) = max  sum P - alpha sum N   s.t.  A∘Q = P - N, P, N >= 0,  gamma2*(Q) <= 1,

with gamma2*(Q) <= (sum a + sum b)/2 whenever [[diag a, -Q], [-Q^T, diag b]] is PSD. The certificate is (Q, a, b):
for every feasible B, <B, Q> >= sum (A∘Q)^+ - alpha sum (A∘Q)^- and <B, Q> <= gamma2(B) gamma2*(Q), so
gamma2^alpha(A) >= (sum (A∘Q)^+ - alpha sum (A∘Q)^-) / s for the checked s >= gamma2*(Q)
(:func:`~ccbounds.bounds._rectsum.dual_norm_upper`: numpy eigenvalues, a stated round-off margin).

Examples
--------
>>> bs = gamma2_bounds([[0, 0], [0, 1]], 0.0)  # the sign matrix is the 2x2 Hadamard matrix: gamma2 = sqrt 2
>>> [(b.model, round(b.value, 3)) for b in bs]
[('R_eps(pub)', 1.0), ('Q_eps', 0.0)]
>>> all(check_gamma2([[0, 0], [0, 1]], b) for b in bs)
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ccbounds.bound_record import Bound
from ccbounds.bounds._matrix import as_matrix
from ccbounds.bounds._rectsum import dual_norm_upper, optional_import
from ccbounds.bounds.discrepancy import _check_eps
from ccbounds.errors import InvalidInputError, TooLargeError

__all__ = ["Gamma2Certificate", "check_gamma2", "gamma2_alpha", "gamma2_bounds", "gamma2_lower"]

#: largest side the SDP is built for
MAX_SIDE = 128
#: the quantum bound subtracts this constant: log2 of gamma2(J - 2P) <= 1 + 2^(c+1) <= 2^(c+2), given Linial–Shraibman's
#: lemma gamma2(P) <= 2^c for the acceptance probabilities of a c-qubit protocol with entanglement (theory §10.5)
QUANTUM_CONSTANT = 2


@dataclass(frozen=True)
class Gamma2Certificate:
    """A dual point (Q, a, b) of the gamma2^alpha SDP and the lower bound on gamma2^alpha it claims."""

    Q: np.ndarray
    a: np.ndarray
    b: np.ndarray
    alpha: float
    claimed: float

    def to_dict(self) -> dict[str, Any]:
        return {"Q": self.Q.tolist(), "a": self.a.tolist(), "b": self.b.tolist(), "alpha": self.alpha,
                "claimed_gamma2_alpha": self.claimed}

    def __str__(self) -> str:
        return f"gamma2^alpha >= {self.claimed:.6g} (alpha = {self.alpha:.4g}; dual point Q, a, b)"


def gamma2_lower(x: Any, cert: Gamma2Certificate) -> float:
    """The lower bound on gamma2^alpha(A) that a dual point proves (numpy only; see the module docstring).

    Raises
    ------
    InvalidInputError
        Shapes that do not match, non-finite entries, or alpha < 1.
    """
    M, _ = as_matrix(x, what="gamma2")
    Q = np.asarray(cert.Q, dtype=np.float64)
    if Q.shape != M.shape or not np.isfinite(Q).all() or not cert.alpha >= 1:
        raise InvalidInputError(f"a gamma2 certificate needs Q of shape {M.shape} and alpha >= 1")
    A = 1.0 - 2.0 * M
    AQ = A * Q
    num = float(AQ[AQ > 0].sum() + cert.alpha * AQ[AQ < 0].sum())
    s = dual_norm_upper(Q, cert.a, cert.b)
    return num / s if s > 0 else 0.0


def gamma2_alpha(x: Any, alpha: float = 1.0) -> Gamma2Certificate:
    """Solve the dual SDP of gamma2^alpha(A), A = (-1)^M, and return the checked certificate.

    Examples
    --------
    >>> round(gamma2_alpha([[0, 0], [0, 1]]).claimed, 4)  # gamma2 of the 2x2 Hadamard matrix is sqrt 2
    1.4142
    """
    M, _ = as_matrix(x, what="gamma2", max_rows=MAX_SIDE, max_cols=MAX_SIDE)
    if not alpha >= 1 or not math.isfinite(alpha):
        raise InvalidInputError(f"alpha must be a finite number >= 1, got {alpha!r}")
    cp = optional_import("cvxpy")
    m, n = M.shape
    A = 1.0 - 2.0 * M
    P, N = cp.Variable((m, n), nonneg=True), cp.Variable((m, n), nonneg=True)
    a, b = cp.Variable(m), cp.Variable(n)
    Q = cp.multiply(A, P - N)
    Z = cp.bmat([[cp.diag(a), -Q], [-Q.T, cp.diag(b)]])
    prob = cp.Problem(cp.Maximize(cp.sum(P) - alpha * cp.sum(N)),
                      [(Z + Z.T) / 2 >> 0, cp.sum(a) + cp.sum(b) <= 2])
    prob.solve(solver="CLARABEL" if "CLARABEL" in cp.installed_solvers() else "SCS")
    if P.value is None:
        raise InvalidInputError(f"the gamma2 SDP failed ({prob.status})")
    Qv = A * (np.asarray(P.value) - np.asarray(N.value))
    cert = Gamma2Certificate(Qv, np.asarray(a.value), np.asarray(b.value), float(alpha), 0.0)
    return Gamma2Certificate(cert.Q, cert.a, cert.b, cert.alpha, gamma2_lower(M, cert))


def _values(g: float, alpha: float) -> tuple[float, float]:
    if g <= 0:
        return 0.0, 0.0
    r = 2 * math.log2(g) - 2 * math.log2(alpha)
    q = math.log2(g) - math.log2(alpha) - QUANTUM_CONSTANT
    return max(0.0, r), max(0.0, q)


def gamma2_bounds(x: Any, eps: float = 1 / 3) -> list[Bound]:
    """Two lower bounds from gamma2^alpha, alpha = 1/(1 - 2 eps): on R^pub_eps and on quantum Q*_eps.

    Returns
    -------
    list of Bound
        ``[R_eps(pub) >= 2 log2 gamma2^alpha - 2 log2 alpha, Q_eps >= log2 gamma2^alpha - log2 alpha - 2]``,
        method ``"gamma2-sdp"``, each with the :class:`Gamma2Certificate` (checked by :func:`check_gamma2`).

    Raises
    ------
    TooLargeError
        A side over :data:`MAX_SIDE`.
    """
    eps = _check_eps(eps)
    M, name = as_matrix(x, what="gamma2", max_rows=MAX_SIDE, max_cols=MAX_SIDE)
    if max(M.shape) > MAX_SIDE:
        raise TooLargeError(f"gamma2 SDP: at most {MAX_SIDE} rows and columns")
    alpha = 1.0 / (1.0 - 2.0 * eps)
    cert = gamma2_alpha(M, alpha)
    r, q = _values(cert.claimed, alpha)
    common = dict(eps=eps, method="gamma2-sdp", witness=cert)
    note = f"gamma2^alpha >= {cert.claimed:.6g}, alpha = 1/(1-2eps) = {alpha:.4g} (dual point checked by eigenvalues)"
    return [
        Bound(r, "lower", "R_eps(pub)", name, source="Linial–Shraibman 2007; theory §10.5",
              expression="2 log2 gamma2^alpha - 2 log2 alpha", note=note, **common),
        Bound(q, "lower", "Q_eps", name, source="Linial–Shraibman 2007/2009 (their lemma gamma2(P) <= 2^c assumed); "
              "theory §10.5",
              expression="log2 gamma2^alpha - log2 alpha - 2",
              note=note + "; quantum communication with shared entanglement", **common),
    ]


def check_gamma2(x: Any, bound: Bound) -> bool:
    """True iff the bound's dual point, re-checked with numpy, proves its value.

    Examples
    --------
    >>> import dataclasses
    >>> b = gamma2_bounds([[0, 0], [0, 1]], 0.0)[0]
    >>> bad = dataclasses.replace(b, witness=dataclasses.replace(b.witness, a=b.witness.a * 0))
    >>> check_gamma2([[0, 0], [0, 1]], b), check_gamma2([[0, 0], [0, 1]], bad)
    (True, False)
    """
    w = bound.witness
    if not isinstance(w, Gamma2Certificate) or bound.eps is None or bound.value is None:
        return False
    if abs(w.alpha - 1.0 / (1.0 - 2.0 * bound.eps)) > 1e-12:
        return False
    try:
        g = gamma2_lower(x, w)
    except InvalidInputError:
        return False
    if g < w.claimed - 1e-9 * max(1.0, abs(w.claimed)):
        return False  # the certificate does not prove what it claims
    r, q = _values(g, w.alpha)
    target = {"R_eps(pub)": r, "Q_eps": q}.get(bound.model)
    return target is not None and bound.value <= target + 1e-9
