"""The randomized EQ protocol's measured error against its proven bound 2^-k (theory §2, [KN] §3).

Examples
--------
>>> import matplotlib; matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> ax = plot_error_vs_bound(n=4, ks=[1, 2], samples=8, coin_samples=20)
>>> ax.get_xlabel()
'k = parities Alice sends (message bits)'
>>> plt.close("all")
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ccbounds.errors import InvalidInputError
from ccbounds.plotting._style import COLOURS, new_axes

__all__ = ["plot_error_vs_bound", "error_vs_bound_data"]


def error_vs_bound_data(n: int = 8, ks: Sequence[int] = range(1, 7), samples: int = 32, coin_samples: int = 100,
                        seed: int = 0) -> list[Any]:
    """``verify(eq_hash_protocol(n, k), EQ(n), samples=..., coin_samples=..., balanced=False)`` for each k.

    Pairs are drawn uniformly (``balanced=False``), so almost all have x != y, where the error is
    exactly 2^-k; ``mean_error`` then estimates 2^-k·(1 - 2^-n) and ``error_rate`` is the worst pair's
    empirical error.

    Returns
    -------
    list of Verification
        One per k, in the order of ``ks``.
    """
    from ccbounds.problems import EQ
    from ccbounds.protocols import eq_hash_protocol, verify

    ks = [int(k) for k in ks]
    if not ks or min(ks) < 1:
        raise InvalidInputError(f"ks must be positive numbers of parities, got {ks!r}")
    return [verify(eq_hash_protocol(n, k), EQ(n), samples=samples, coin_samples=coin_samples, seed=seed,
                   balanced=False) for k in ks]


def plot_error_vs_bound(results: Sequence[Any] | None = None, ax: Any = None, *, n: int = 8,
                        ks: Sequence[int] = range(1, 7), samples: int = 32, coin_samples: int = 100,
                        seed: int = 0) -> Any:
    """Measured error of the random-parity EQ protocol against its bound 2^-k, on a log scale.

    Plots, for each k: the proven error bound 2^-k (line), the mean empirical error over the sampled
    pairs (circles), the worst pair's empirical error (triangles) and the bound plus :func:`verify`'s
    per-pair tolerance (dotted; the critical value of its exact one-sided binomial test), below which
    every correct protocol's worst pair stays with probability 1 - 10^-6 (verify also pools the pairs).
    Points with zero measured error cannot be drawn on a log axis and are listed in the title.

    Parameters
    ----------
    results : sequence of Verification, optional
        :func:`error_vs_bound_data`'s output (or :func:`~ccbounds.protocols.verify` results of
        ``eq_hash_protocol`` runs); computed with the other arguments when omitted.
    ax : matplotlib.axes.Axes, optional
    n, ks, samples, coin_samples, seed
        Passed to :func:`error_vs_bound_data`.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    InvalidInputError
        Results without an error bound (not randomized protocols).

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> ax = plot_error_vs_bound(n=4, ks=[1, 3], samples=8, coin_samples=40, seed=1)
    >>> ax.get_ylabel(), ax.get_yscale()
    ('error probability (per input pair)', 'log')
    >>> plt.close("all")

    References
    ----------
    [KN] §3.1 (random parities for EQ); theory §2 (R^pub_eps(EQ) <= ⌈log2(1/eps)⌉ + 1).
    """
    if results is None:
        results = error_vs_bound_data(n, ks, samples, coin_samples, seed)
    results = list(results)
    if not results or any(getattr(r, "error_bound", None) is None for r in results):
        raise InvalidInputError("pass verify() results of randomized protocols (each has an error_bound)")
    k = np.array([r.cost - 1 for r in results])  # message bits = cost minus Bob's answer bit
    bound = np.array([r.error_bound for r in results])
    mean = np.array([r.mean_error for r in results])
    worst = np.array([r.error_rate for r in results])
    tol = np.array([r.tolerance for r in results])
    ax = new_axes(ax, (5.2, 4.0))
    order = np.argsort(k)
    ax.plot(k[order], bound[order], color=COLOURS["black"], linewidth=2, label="proven bound $2^{-k}$")
    ax.plot(k[order], np.minimum(1.0, bound + tol)[order], color=COLOURS["black"], linestyle=":",
            label="bound + binomial-test tolerance")
    zero = []
    for vals, colour, marker, label in ((mean, COLOURS["vermillion"], "o", "measured: mean over pairs"),
                                        (worst, COLOURS["blue"], "^", "measured: worst pair")):
        pos = vals > 0
        zero += [f"{label.split(': ')[1]} at k={int(kk)}" for kk in k[~pos]]
        ax.plot(k[pos], vals[pos], linestyle="none", marker=marker, color=colour, markersize=7, label=label)
    ax.set_yscale("log", base=2)
    ax.set_xticks(sorted(set(int(v) for v in k)))
    ax.set_xlabel("k = parities Alice sends (message bits)")
    ax.set_ylabel("error probability (per input pair)")
    r0 = results[0]
    head = f"{r0.protocol.split('(')[0]} on {r0.problem}: {r0.n_checked} pairs x {r0.n_runs // r0.n_checked} coin draws"
    if all(r.ok for r in results):
        exact = all(r.exact_coins for r in results)
        conf = min(r.confidence for r in results)
        certified = [int(kk) for kk, r in zip(k, results) if getattr(r, "status", "") == "certified"]
        ok = ("every claimed error holds exactly (all coin values run)" if exact else
              f"no claimed error rejected at confidence {conf:g} (exact one-sided binomial tests); certified "
              f"(upper confidence bound <= claim) for k = {', '.join(map(str, certified)) if certified else 'none'}")
    else:
        ok = "REJECTED for k = " + ", ".join(str(int(kk)) for kk, r in zip(k, results) if not r.ok)
    ax.set_title(f"{head}\n{ok}" + (f"; zero errors: {', '.join(zero)}" if zero else ""), fontsize=9)
    ax.grid(True, which="major", color="0.88", linewidth=0.8)
    ax.legend(loc="lower left", fontsize=8, framealpha=0.9)
    return ax
