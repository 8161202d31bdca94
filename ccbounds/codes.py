"""Nearly orthogonal codes: n unit vectors in k = O(log n) dimensions with small pairwise inner products.

theory §7: k-dimensional random vectors with independent entries ±1/√k satisfy
max_{i≠j} |<u_i, u_j>| ≤ γ with probability ≥ 1 − δ once k ≥ (2/γ²)·ln(2n²/δ). (Hoeffding: k·<u_i,u_j>
is a sum of k independent ±1 terms, so P(|<u_i,u_j>| > γ) ≤ 2·exp(−kγ²/2); a union bound over the
n(n−1)/2 pairs bounds the failure probability by n²·exp(−kγ²/2) ≤ δ/2.)
The formula is only a sufficient condition: :func:`nearly_orthogonal_codes` always measures the
realised code and retries with the next seed, so a caller may pass a smaller ``k`` and rely on the
verification instead. No torch here (numpy only).

Examples
--------
>>> code_dimension(8, gamma=0.5, delta=0.1)
58
>>> c = nearly_orthogonal_codes(8, gamma=0.5, seed=0)
>>> c.codes.shape, c.gamma_realised <= 0.5, c.seed_used
((8, 58), True, 0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ccbounds.errors import InvalidInputError, SolverLimitError

__all__ = ["code_dimension", "nearly_orthogonal_codes", "NearlyOrthogonalCode", "max_coherence"]


def _check(n: int, gamma: float, delta: float) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidInputError(f"n must be a positive integer, got {n!r}; pass the number of code words")
    if not 0 < gamma < 1:
        raise InvalidInputError(f"gamma must lie in (0, 1), got {gamma!r}; a typical choice is 0.5")
    if not 0 < delta < 1:
        raise InvalidInputError(f"delta must lie in (0, 1), got {delta!r}; a typical choice is 0.1")


def code_dimension(n: int, gamma: float = 0.5, delta: float = 0.1) -> int:
    """The dimension ``ceil((2/γ²)·ln(2n²/δ))`` that makes random ±1/√k codes γ-orthogonal w.p. ≥ 1 − δ.

    Parameters
    ----------
    n : int
        Number of code words.
    gamma : float
        Target bound on ``|<u_i, u_j>|`` for i ≠ j, in (0, 1).
    delta : float
        Allowed failure probability of one random draw, in (0, 1).

    Returns
    -------
    int
        The sufficient dimension k (theory §7).

    Raises
    ------
    InvalidInputError
        For n < 1 or gamma, delta outside (0, 1).

    Examples
    --------
    >>> code_dimension(1025, gamma=0.5, delta=0.1)
    135
    """
    _check(n, gamma, delta)
    return max(1, math.ceil((2.0 / gamma**2) * math.log(2.0 * n * n / delta)))


def max_coherence(codes: np.ndarray) -> float:
    """``max_{i≠j} |<u_i, u_j>|`` of the rows of ``codes`` (0.0 for a single row).

    Examples
    --------
    >>> max_coherence(np.array([[1.0, 0.0], [0.6, 0.8]]))
    0.6
    """
    g = np.abs(codes @ codes.T)
    np.fill_diagonal(g, 0.0)
    return float(g.max()) if len(codes) > 1 else 0.0


@dataclass(frozen=True)
class NearlyOrthogonalCode:
    """A verified code: ``codes`` (n, k) of ±1/√k rows with max |<u_i, u_j>| = ``gamma_realised`` ≤ ``gamma``."""

    codes: np.ndarray = field(repr=False)
    k: int
    gamma: float
    gamma_realised: float
    seed_used: int
    tries: int

    @property
    def n(self) -> int:
        """Number of code words."""
        return int(self.codes.shape[0])

    def to_dict(self) -> dict[str, Any]:
        """Plain data (the codes as nested lists)."""
        return {
            "n": self.n, "k": self.k, "gamma": self.gamma, "gamma_realised": self.gamma_realised,
            "seed_used": self.seed_used, "tries": self.tries, "codes": self.codes.tolist(),
        }

    def __str__(self) -> str:
        return (
            f"{self.n} codes in k={self.k} dims: max |<u_i,u_j>| = {self.gamma_realised:.4f} <= {self.gamma:g} "
            f"(seed {self.seed_used}, {self.tries} tr{'y' if self.tries == 1 else 'ies'})"
        )


def nearly_orthogonal_codes(
    n: int,
    k: int | None = None,
    gamma: float = 0.5,
    delta: float = 0.1,
    seed: int = 0,
    max_tries: int = 50,
) -> NearlyOrthogonalCode:
    """Draw random ±1/√k codes and keep the first with max |<u_i, u_j>| ≤ γ (seeds seed, seed+1, ...).

    Parameters
    ----------
    n : int
        Number of code words.
    k : int or None
        Dimension; ``None`` means :func:`code_dimension(n, gamma, delta) <code_dimension>`. A smaller
        k is allowed: the realised code is verified either way.
    gamma, delta : float
        Target coherence and the failure probability used for the default k.
    seed : int
        First seed (``numpy.random.default_rng(seed + t)`` for try t).
    max_tries : int
        Draws before giving up.

    Returns
    -------
    NearlyOrthogonalCode

    Raises
    ------
    InvalidInputError
        For invalid n, k, gamma, delta or max_tries.
    SolverLimitError
        If no draw met γ within ``max_tries``; the message says to raise k, gamma or max_tries.

    References
    ----------
    theory §7 (nearly orthogonal codes); [BHBK].

    Examples
    --------
    >>> c = nearly_orthogonal_codes(3, k=4, gamma=0.6, seed=0)
    >>> sorted(set(np.abs(c.codes).ravel().tolist())), c.gamma_realised <= 0.6
    ([0.5], True)
    """
    _check(n, gamma, delta)
    if k is None:
        k = code_dimension(n, gamma, delta)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InvalidInputError(f"k must be a positive integer, got {k!r}; or pass k=None for the theory §7 dimension")
    if isinstance(max_tries, bool) or not isinstance(max_tries, int) or max_tries < 1:
        raise InvalidInputError(f"max_tries must be a positive integer, got {max_tries!r}")
    best = math.inf
    for t in range(max_tries):
        rng = np.random.default_rng(seed + t)
        signs = rng.choice(np.array([-1.0, 1.0]), size=(n, k))
        top = max_coherence(signs)  # an exact integer: a float64 sum of k products ±1
        coh = top / k
        if top <= gamma * k + 1e-9:  # compare k·coherence, so e.g. 6/12 <= 0.5 is not lost to rounding
            return NearlyOrthogonalCode(signs / math.sqrt(k), k, float(gamma), coh, seed + t, t + 1)
        best = min(best, coh)
    raise SolverLimitError(
        f"no {n} codes in k={k} dimensions with max |<u_i,u_j>| <= {gamma:g} in {max_tries} tries "
        f"(best {best:.4f}); raise k (theory §7 suggests {code_dimension(n, gamma, delta)}), gamma or max_tries"
    )
