"""Upper confidence bounds on error rates and the Fano certificate on I(M; X) (theory §6).

Examples
--------
>>> clopper_pearson_upper(0, 10, 0.05) == 1 - 0.05 ** (1 / 10)
True
>>> fano_certificate([0, 0, 0], 10**6).L_plugin
3.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ccbounds.errors import InvalidInputError, UnknownNameError
from ccbounds.information.binary import _check_q, fano_term

__all__ = ["clopper_pearson_upper", "hoeffding_upper", "FanoCertificate", "fano_certificate"]

_METHODS = ("clopper-pearson", "hoeffding")


def _count(v: Any, name: str) -> int:
    if isinstance(v, bool) or not float(v).is_integer() or v < 0:
        raise InvalidInputError(f"{name} must be a non-negative integer count, got {v!r}")
    return int(v)


def _check_counts(errors: Any, trials: Any, delta: float) -> tuple[int, int]:
    k, m = _count(errors, "errors"), _count(trials, "trials")
    if m < 1 or k > m:
        raise InvalidInputError(f"need 0 <= errors <= trials and trials >= 1, got {k} of {m}")
    if not 0.0 < delta < 1.0:
        raise InvalidInputError(f"delta (1 - confidence) must lie in (0, 1), got {delta!r}")
    return k, m


def _log_binom_cdf(k: int, m: int, p: float, logc: np.ndarray) -> float:
    """log P(Bin(m, p) <= k), by log-sum-exp over the k+1 terms (``logc[j] = log C(m, j)``)."""
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 0.0 if k >= m else -math.inf
    j = np.arange(k + 1)
    terms = logc[: k + 1] + j * math.log(p) + (m - j) * math.log1p(-p)
    top = terms.max()
    return float(top + math.log(np.exp(terms - top).sum()))


def clopper_pearson_upper(errors: int, trials: int, delta: float) -> float:
    """Exact one-sided Clopper-Pearson upper confidence bound on a binomial error rate.

    Returns the p_U with P(Bin(m, p_U) <= k) = delta (and 1 if k = m): then P(eps <= p_U) >= 1 - delta
    for every true eps. p_U is the (1 - delta)-quantile of Beta(k + 1, m - k), i.e. the inverse of the
    regularized incomplete beta function; it is found by bisection on the binomial CDF computed in log
    space (log-sum-exp of ``lgamma`` terms), which is decreasing in p, to a relative 1e-14.

    Parameters
    ----------
    errors : int
        Observed errors k, 0 <= k <= m.
    trials : int
        Independent trials m >= 1.
    delta : float
        Allowed failure probability, in (0, 1).

    Returns
    -------
    float

    References
    ----------
    C. J. Clopper and E. S. Pearson, The use of confidence or fiducial limits illustrated in the case of
    the binomial, Biometrika 26(4), 1934.

    Examples
    --------
    >>> clopper_pearson_upper(0, 10, 0.05) == 1 - 0.05 ** (1 / 10)
    True
    >>> clopper_pearson_upper(10, 10, 0.05)
    1.0
    """
    k, m = _check_counts(errors, trials, delta)
    if k == m:
        return 1.0
    if k == 0:  # closed form of (1 - p)^m = delta
        return float(-math.expm1(math.log(delta) / m))
    logc = np.array([math.lgamma(m + 1) - math.lgamma(t + 1) - math.lgamma(m - t + 1) for t in range(k + 1)])
    log_delta, lo, hi = math.log(delta), 0.0, 1.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if _log_binom_cdf(k, m, mid, logc) > log_delta:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-14 * hi:
            break
    return hi


def hoeffding_upper(errors: int, trials: int, delta: float) -> float:
    """Hoeffding's one-sided upper confidence bound ``min(1, k/m + sqrt(ln(1/delta) / (2m)))``.

    Hoeffding's inequality gives P(eps_hat <= eps - t) <= exp(-2 m t^2), so with probability
    >= 1 - delta the true rate is at most the returned value. Looser than :func:`clopper_pearson_upper`.

    Parameters
    ----------
    errors, trials : int
        k errors in m >= 1 independent trials.
    delta : float
        Allowed failure probability, in (0, 1).

    Returns
    -------
    float

    References
    ----------
    W. Hoeffding, Probability inequalities for sums of bounded random variables, JASA 58(301), 1963.

    Examples
    --------
    >>> hoeffding_upper(0, 2, math.exp(-1))
    0.5
    """
    k, m = _check_counts(errors, trials, delta)
    return min(1.0, k / m + math.sqrt(math.log(1.0 / delta) / (2.0 * m)))


@dataclass(frozen=True)
class FanoCertificate:
    """A certified lower bound on I(M; X) in bits, from per-coordinate error counts (theory §6).

    ``L_certified`` holds with probability >= ``confidence`` over the evaluation samples; ``L_plugin``
    is the same formula at the observed rates (an estimate, not a bound). ``eps_upper[i]`` is the upper
    confidence bound on coordinate i's error rate, capped at (q-1)/q.
    """

    L_certified: float
    L_plugin: float
    eps_hat: tuple[float, ...]
    eps_upper: tuple[float, ...]
    confidence: float
    method: str
    q: int
    n: int
    errors: tuple[int, ...]
    trials: tuple[int, ...]

    @property
    def delta_per_coordinate(self) -> float:
        """The failure probability allotted to each coordinate: (1 - confidence) / n (union bound)."""
        return (1.0 - self.confidence) / self.n

    def violates(self, message_bits: float) -> bool:
        """True if L_certified > message_bits: impossible, since I(M;X) <= H(M) <= S*b (theory §6)."""
        return self.L_certified > message_bits

    def to_bound(self, problem: str | None = None) -> Any:
        """The certificate as a lower :class:`~ccbounds.bound_record.Bound` on the message size in bits."""
        from ccbounds.bound_record import Bound

        return Bound(
            self.L_certified, "lower", "message", problem or f"INDEX_{self.n} (q={self.q})",
            method="fano-certificate", witness=self, source="theory §6; [KNR]",
            expression="sum_i (log2 q - H2(eps_i+) - eps_i+ log2(q-1))",
            note=f"I(M;X) >= L at confidence {self.confidence:g}, X uniform on [{self.q}]^{self.n}",
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data, per-coordinate values as lists."""
        return {
            "L_certified_bits": self.L_certified, "L_plugin_bits": self.L_plugin,
            "confidence": self.confidence, "method": self.method, "q": self.q, "n": self.n,
            "delta_per_coordinate": self.delta_per_coordinate, "errors": list(self.errors),
            "trials": list(self.trials), "eps_hat": list(self.eps_hat), "eps_upper": list(self.eps_upper),
        }

    def to_frame(self) -> Any:
        """One row per coordinate: errors, trials, eps_hat, eps_upper, certified term in bits."""
        import pandas as pd

        terms = fano_term(np.asarray(self.eps_upper), self.q)
        return pd.DataFrame({"coordinate": range(self.n), "errors": self.errors, "trials": self.trials,
                             "eps_hat": self.eps_hat, "eps_upper": self.eps_upper, "term_bits": terms})

    def __str__(self) -> str:
        return (
            f"With confidence >= {self.confidence:g} ({self.method}, union bound over n={self.n} "
            f"coordinates), I(M; X) >= {self.L_certified:.4f} bits (plug-in {self.L_plugin:.4f} bits), "
            f"assuming X uniform on [{self.q}]^{self.n} and each coordinate's errors counted on "
            "independent samples."
        )


def fano_certificate(
    errors: Any, trials: Any, q: int = 2, confidence: float = 0.95, method: str = "clopper-pearson"
) -> FanoCertificate:
    """Certify I(M; X) >= L from Bob's per-coordinate error counts (theory §6, Fano + subadditivity).

    With X uniform on [q]^n, the X_i independent, and eps_i Bob's error on coordinate i,
    I(M; X) = H(X) - H(X|M) >= sum_i (log2 q - H(X_i|M)) >= sum_i (log2 q - H2(eps_i) - eps_i log2(q-1)).
    The summand is decreasing in eps_i on [0, (q-1)/q] (it falls from log2 q to 0), so replacing each
    eps_i by an upper confidence bound eps_i+ >= eps_i can only decrease it: if all n bounds hold,
    L(eps+) <= L(eps) <= I(M; X). Each bound is computed at delta_i = (1 - confidence) / n, so by the
    union bound all n hold together with probability >= confidence. eps_i+ is capped at (q-1)/q, where
    the summand is 0 (a coordinate answered no better than chance contributes nothing).

    Parameters
    ----------
    errors : array_like of int
        Errors counted on each of the n coordinates.
    trials : int or array_like of int
        Trials per coordinate (one count for all, or one per coordinate); the trials must be
        independent samples of X (and of any randomness of the model).
    q : int
        Alphabet size of each coordinate (2 for INDEX).
    confidence : float
        Joint confidence level of the n bounds, in (0, 1).
    method : {"clopper-pearson", "hoeffding"}
        The upper confidence bound: exact binomial (tighter) or Hoeffding's.

    Returns
    -------
    FanoCertificate

    Raises
    ------
    InvalidInputError
        Bad counts, lengths, q, confidence; :class:`~ccbounds.errors.UnknownNameError` for a bad method.

    References
    ----------
    [KNR] I. Kremer, N. Nisan, D. Ron, On randomized one-round communication complexity, 1999.
    T. M. Cover and J. A. Thomas, Elements of Information Theory, 2nd ed., Wiley 2006, Thm. 2.10.1.

    Examples
    --------
    >>> c = fano_certificate([0, 0], 100, confidence=0.9)
    >>> c.L_plugin, round(c.L_certified, 4)
    (2.0, 1.6161)
    """
    _check_q(q)
    if method not in _METHODS:
        raise UnknownNameError(f"unknown confidence method {method!r}; valid: {', '.join(_METHODS)}")
    if not 0.0 < confidence < 1.0:
        raise InvalidInputError(f"confidence must lie in (0, 1), got {confidence!r}; e.g. 0.95")
    k = np.atleast_1d(np.asarray(errors))
    if k.ndim != 1 or k.size == 0:
        raise InvalidInputError("errors must be a non-empty 1-D sequence of per-coordinate counts")
    n = k.size
    m = np.broadcast_to(np.asarray(trials), (n,)) if np.ndim(trials) == 0 else np.asarray(trials)
    if m.shape != (n,):
        raise InvalidInputError(f"trials must be one count or {n} counts (one per coordinate), got {m.shape}")
    delta = (1.0 - confidence) / n
    pairs = [_check_counts(ki, mi, delta) for ki, mi in zip(k.tolist(), m.tolist())]
    upper_fn = clopper_pearson_upper if method == "clopper-pearson" else hoeffding_upper
    upper = {pair: upper_fn(*pair, delta) for pair in set(pairs)}  # each distinct (k, m) once
    eps_hat = np.array([ki / mi for ki, mi in pairs])
    eps_up = np.minimum(np.array([upper[pair] for pair in pairs]), (q - 1) / q)
    return FanoCertificate(
        L_certified=float(fano_term(eps_up, q).sum()), L_plugin=float(fano_term(eps_hat, q).sum()),
        eps_hat=tuple(eps_hat.tolist()), eps_upper=tuple(eps_up.tolist()), confidence=float(confidence),
        method=method, q=int(q), n=n, errors=tuple(p[0] for p in pairs), trials=tuple(p[1] for p in pairs),
    )

