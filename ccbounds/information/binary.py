"""Binary and q-ary entropy, the inverse of H2, and theory §6's predicted INDEX limit (bits throughout).

Examples
--------
>>> H2(0.5), round(H2(0.25), 6)
(1.0, 0.811278)
>>> max_index_length(64, 0.0)
64
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ccbounds.errors import InvalidInputError

__all__ = ["H2", "H2_inv", "entropy_q_fano", "fano_term", "max_index_length"]


def _probabilities(p: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(p, dtype=float)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} must be a probability or an array of them, got {p!r}") from None
    if arr.size and not (np.all(arr >= 0.0) and np.all(arr <= 1.0)):  # also rejects NaN
        raise InvalidInputError(f"{name} must lie in [0, 1], got {p!r}; pass probabilities")
    return arr


def _out(arr: np.ndarray, like: Any) -> Any:
    return float(arr) if np.ndim(like) == 0 else arr


def H2(p: Any) -> Any:
    """Binary entropy ``-p log2 p - (1-p) log2(1-p)`` in bits, with H2(0) = H2(1) = 0 (vectorised).

    Parameters
    ----------
    p : float or array_like
        Probabilities in [0, 1].

    Returns
    -------
    float or numpy.ndarray
        A float for a scalar ``p``, else an array of ``p``'s shape.

    Raises
    ------
    InvalidInputError
        If some ``p`` lies outside [0, 1] or is NaN.

    Examples
    --------
    >>> H2(0.5), H2(0), H2([0.0, 1.0]).tolist()
    (1.0, 0.0, [0.0, 0.0])
    """
    arr = _probabilities(p, "p")
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -arr * np.log2(arr) - (1.0 - arr) * np.log2(1.0 - arr)
    h = np.where((arr == 0.0) | (arr == 1.0), 0.0, h)
    return _out(h, p)


def H2_inv(h: Any) -> Any:
    """The inverse of :func:`H2` on the branch p in [0, 1/2] (vectorised bisection to 1e-12).

    H2 is strictly increasing on [0, 1/2] from 0 to 1, so every h in [0, 1] has exactly one preimage
    there; the other preimage is 1 - H2_inv(h). H2_inv(0) = 0 and H2_inv(1) = 1/2 exactly.

    Parameters
    ----------
    h : float or array_like
        Entropies in bits, in [0, 1].

    Returns
    -------
    float or numpy.ndarray
        p in [0, 1/2] with H2(p) = h, to within 1e-12 in p.

    Raises
    ------
    InvalidInputError
        If some ``h`` lies outside [0, 1].

    Examples
    --------
    >>> H2_inv(1.0), round(H2_inv(H2(0.11)), 12)
    (0.5, 0.11)
    """
    target = _probabilities(h, "h")
    lo, hi = np.zeros_like(target), np.full_like(target, 0.5)
    for _ in range(45):  # 0.5 * 2**-45 < 1e-13
        mid = 0.5 * (lo + hi)
        below = np.asarray(H2(mid)) < target
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    p = np.where(target == 0.0, 0.0, np.where(target == 1.0, 0.5, 0.5 * (lo + hi)))
    return _out(p, h)


def entropy_q_fano(eps: Any, q: int = 2) -> Any:
    """Fano's bound on H(X_i | M) for an alphabet of size q: ``H2(eps) + eps * log2(q-1)`` bits.

    Fano's inequality: if a guess of X_i in [q] from M errs with probability eps,
    then H(X_i | M) <= H2(eps) + eps*log2(q-1). The right side increases on [0, (q-1)/q] up to log2 q.

    Parameters
    ----------
    eps : float or array_like
        Error probabilities in [0, 1].
    q : int
        Alphabet size, >= 2.

    Returns
    -------
    float or numpy.ndarray

    References
    ----------
    T. M. Cover and J. A. Thomas, Elements of Information Theory, 2nd ed., Wiley 2006, Thm. 2.10.1.

    Examples
    --------
    >>> entropy_q_fano(0.5, 2), round(entropy_q_fano(2 / 3, 3), 12) == round(math.log2(3), 12)
    (1.0, True)
    """
    _check_q(q)
    arr = _probabilities(eps, "eps")
    return _out(np.asarray(H2(arr)) + arr * math.log2(q - 1), eps)


def _check_q(q: Any) -> None:
    if isinstance(q, bool) or not isinstance(q, (int, np.integer)) or q < 2:
        raise InvalidInputError(f"alphabet size q must be an integer >= 2, got {q!r}")


def fano_term(eps: Any, q: int = 2) -> Any:
    """Fano's per-coordinate information ``log2 q - H2(eps) - eps log2(q-1)``, eps capped at (q-1)/q.

    The summand of theory §6's certificate: a lower bound on log2 q - H(X_i | M) when Bob guesses X_i
    with error eps. It decreases on [0, (q-1)/q] from log2 q to exactly 0, and is 0 beyond the cap
    (an answer no better than chance certifies nothing). Rounding below 0 is clipped to 0.

    Parameters
    ----------
    eps : float or array_like
        Error probabilities in [0, 1].
    q : int
        Alphabet size, >= 2.

    Returns
    -------
    float or numpy.ndarray
        Bits per coordinate.

    Examples
    --------
    >>> fano_term(0.0), fano_term(0.5), fano_term(0.9), fano_term(0.0, q=4)
    (1.0, 0.0, 0.0, 2.0)
    """
    _check_q(q)
    arr = _probabilities(eps, "eps")
    capped = np.minimum(arr, (q - 1) / q)
    return _out(np.maximum(0.0, math.log2(q) - np.asarray(entropy_q_fano(capped, q))), eps)


def max_index_length(state_bits: float, eps: float, q: int = 2) -> int | None:
    """theory §6's predicted limit: the largest n with n * (log2 q - H2(eps) - eps log2(q-1)) <= state_bits.

    A state of ``state_bits`` = S*b bits cannot solve INDEX_n (alphabet q, X uniform) with average error
    <= eps over the coordinates once n exceeds the returned value: I(M; X) >= sum_i fano_term(eps_i)
    >= n * fano_term(mean eps_i) >= n * fano_term(eps), since :func:`fano_term` is convex and
    non-increasing, while I(M; X) <= S*b. The floor is checked at n and n + 1 directly, so a boundary
    such as 64 * 1.0 <= 64 is never lost to rounding.

    Parameters
    ----------
    state_bits : float
        S*b, the bits carried across the cut (>= 0).
    eps : float
        The error allowed per coordinate, in [0, 1].
    q : int
        Alphabet size.

    Returns
    -------
    int or None
        None when eps >= (q-1)/q: guessing already achieves that error, so no length is ruled out.

    Examples
    --------
    >>> max_index_length(10, 0.0), max_index_length(10, 0.5), max_index_length(10, 0.0, q=4)
    (10, None, 5)
    """
    _check_q(q)
    if not (isinstance(state_bits, (int, float, np.integer, np.floating)) and 0 <= state_bits < math.inf):
        raise InvalidInputError(f"state_bits must be a finite number >= 0, got {state_bits!r}")
    if np.ndim(eps) != 0:
        raise InvalidInputError(f"eps must be one number in [0, 1], got {eps!r}")
    per = fano_term(eps, q)
    if per <= 0.0:
        return None
    n = int(math.floor(state_bits / per))
    while n > 0 and n * per > state_bits:
        n -= 1
    while (n + 1) * per <= state_bits:
        n += 1
    return n
