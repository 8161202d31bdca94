"""Estimates of the message entropy H(M) from K samples, always capped at log2 K (theory §6).

Examples
--------
>>> print(plugin_entropy([3, 1]))
H(M) ~ 0.8113 bits [plug-in; K=4 samples, 2 distinct; cap log2 K = 2.0000 bits]
>>> plugin_entropy([1, 1, 1, 1]).at_cap
True
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from ccbounds.errors import InvalidInputError, UnknownNameError

__all__ = ["EntropyEstimate", "plugin_entropy", "miller_madow_entropy", "message_entropy"]


@dataclass(frozen=True)
class EntropyEstimate:
    """An estimate of H(M) in bits from K samples; it cannot exceed ``cap_bits``.

    ``cap_bits`` = log2 min(K, support size): K samples show at most K distinct messages, and a message
    that is a function of an input from a space of N values takes at most N (theory §6).
    """

    value_bits: float
    cap_bits: float
    estimator: str
    K: int
    distinct: int

    @property
    def at_cap(self) -> bool:
        """True if the estimate hit its cap: at log2 K, H(M) may be larger than K samples can show."""
        return self.value_bits >= self.cap_bits

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {"value_bits": self.value_bits, "cap_bits": self.cap_bits, "estimator": self.estimator,
                "K": self.K, "distinct": self.distinct, "at_cap": self.at_cap}

    def __str__(self) -> str:
        by_samples = self.cap_bits >= math.log2(self.K)
        tail = ("" if not self.at_cap else " (at the cap: more samples needed to see more)" if by_samples
                else " (at the cap: as many distinct messages as possible values)")
        cap = "log2 K" if by_samples else "log2 |support|"
        return (f"H(M) ~ {self.value_bits:.4f} bits [{self.estimator}; K={self.K} samples, "
                f"{self.distinct} distinct; cap {cap} = {self.cap_bits:.4f} bits]{tail}")


def _entropy(counts: Any, estimator: str, log2_support: float | None = None) -> EntropyEstimate:
    c = np.asarray(counts, dtype=float)
    if c.ndim != 1 or c.size == 0 or not np.all((c >= 0) & (c == np.floor(c)) & np.isfinite(c)):
        raise InvalidInputError("counts must be a non-empty 1-D sequence of non-negative integers")
    K = int(c.sum())
    if K == 0:
        raise InvalidInputError("counts sum to 0; pass the counts of at least one sampled message")
    nz = np.sort(c[c > 0])  # the result depends only on the multiset of counts
    h = float(max(0.0, -(nz / K * np.log2(nz / K)).sum()))
    if estimator == "miller-madow":
        h += (nz.size - 1) / (2.0 * K * math.log(2))
    cap = math.log2(K) if log2_support is None else min(math.log2(K), float(log2_support))
    return EntropyEstimate(min(h, cap), cap, estimator, K, int(nz.size))


def plugin_entropy(counts: Any, log2_support: float | None = None) -> EntropyEstimate:
    """Plug-in (maximum-likelihood) entropy of the empirical distribution, in bits, capped at log2 K.

    Parameters
    ----------
    counts : array_like of int
        How often each distinct message was seen (zeros allowed); K = sum(counts).
    log2_support : float, optional
        log2 of the number of values the message can take (e.g. log2 |X| when it is a function of x):
        the cap becomes log2 min(K, support).

    Returns
    -------
    EntropyEstimate

    Examples
    --------
    >>> plugin_entropy([2, 1, 1]).value_bits
    1.5
    >>> plugin_entropy([4] * 16, log2_support=4).cap_bits   # 64 samples of a message of 16 possible values
    4.0
    """
    return _entropy(counts, "plug-in", log2_support)


def miller_madow_entropy(counts: Any, log2_support: float | None = None) -> EntropyEstimate:
    """Miller-Madow entropy: plug-in + (m - 1) / (2 K ln 2) bits, m = non-zero bins, capped at log2 K.

    The correction removes the first-order (downward) bias of the plug-in estimate (theory §6).

    Parameters
    ----------
    counts : array_like of int
        How often each distinct message was seen; K = sum(counts).
    log2_support : float, optional
        As for :func:`plugin_entropy`.

    Returns
    -------
    EntropyEstimate

    References
    ----------
    G. A. Miller, Note on the bias of information estimates, in Information Theory in Psychology, 1955.

    Examples
    --------
    >>> e = miller_madow_entropy([2, 2]); round(e.value_bits - 1.0, 12) == round(1 / (8 * math.log(2)), 12)
    True
    """
    return _entropy(counts, "miller-madow", log2_support)


def message_entropy(messages: Any, estimator: str = "miller-madow") -> EntropyEstimate:
    """Estimate H(M) from K sampled messages: rows of a (K, S) array, K scalars, or K bytes/str rows.

    Parameters
    ----------
    messages : array_like, torch.Tensor, or sequence of bytes / str
        One message per row (e.g. the integer codes of quantized states, shape (K, S)).
    estimator : {"miller-madow", "plug-in"}
        Aliases "mm" and "plugin" are accepted.

    Returns
    -------
    EntropyEstimate

    Examples
    --------
    >>> message_entropy([[0, 1], [0, 1], [1, 1], [1, 0]], "plug-in").value_bits
    1.5
    """
    estimator = {"plugin": "plug-in", "mm": "miller-madow"}.get(estimator, estimator)
    if estimator not in ("miller-madow", "plug-in"):
        raise UnknownNameError(
            f"unknown entropy estimator {estimator!r}; valid: miller-madow (mm), plug-in (plugin)"
        )
    if hasattr(messages, "detach"):
        messages = messages.detach().cpu().numpy()
    if isinstance(messages, (list, tuple)) and messages and isinstance(messages[0], (bytes, str)):
        counts = list(Counter(messages).values())
    else:
        arr = np.asarray(messages)
        if arr.ndim not in (1, 2) or arr.shape[0] == 0:
            raise InvalidInputError(f"messages must be K rows (shape (K,) or (K, S)), got shape {arr.shape}")
        counts = np.unique(arr.reshape(arr.shape[0], -1), axis=0, return_counts=True)[1]
    return _entropy(counts, estimator)

