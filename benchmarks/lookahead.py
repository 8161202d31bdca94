"""Benchmark: the split search ``refute(M, lo)`` (``ccbounds.bounds._lookahead``) where the cheap bounds stop.

Run ``python benchmarks/lookahead.py`` (``--limit S`` per search, default 120 s; ``--seeds N`` or6 seeds
tried, default 60; ``--suite K``: also the first K instances per family of ``benchmarks/hard_instances.py``,
default 0). The or6 family is the union of 6 random combinatorial rectangles in a 24 x 24 matrix (the
generator of the issue-11 experiments: rng ``[seed, 7]``, rectangle densities uniform in 0.2..0.45);
the instances kept are those whose best cheap lower bound ``lo`` is below the cheap upper bound.

Each row: seed (or name), distinct rows x columns, ``lo``, the cheap upper bound, the answer of
``refute(M, lo)`` ("D>lo" with its certificate, or "D<=lo": then D = lo), its seconds, the
certificate's nodes, entries and kilobytes, and the seconds of the independent checker. Printed, not
asserted; times are from one run on a shared machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hard_instances import cheap_gap, suite  # noqa: E402

from ccbounds.bounds._lookahead import refute  # noqa: E402
from ccbounds.bounds._matrix import Deadline, distinct_classes  # noqa: E402
from ccbounds.bounds._refutation_check import check_refutation  # noqa: E402
from ccbounds.errors import SolverLimitError  # noqa: E402


def or6(seed: int, k: int = 6, N: int = 24, lo: float = 0.2, hi: float = 0.45) -> np.ndarray:
    """The union of k random rectangles in an N x N matrix (seeded)."""
    rng = np.random.default_rng([seed, 7])
    M = np.zeros((N, N), np.int8)
    for _ in range(k):
        p, q = rng.uniform(lo, hi, size=2)
        M |= np.outer(rng.random(N) < p, rng.random(N) < q).astype(np.int8)
    return M


def row(name: str, M: np.ndarray, limit: float) -> str:
    shape = f"{len(distinct_classes(M, 0))}x{len(distinct_classes(M, 1))}"
    lo, up = cheap_gap(M, 0.5)
    t = time.perf_counter()
    try:
        ref = refute(M, lo, Deadline(limit))
    except SolverLimitError:
        return f"{name:>14} {shape:>6} {lo:>3} {up:>3} {'limit':>6} {time.perf_counter() - t:>8.1f}"
    dt = time.perf_counter() - t
    if ref is None:
        return f"{name:>14} {shape:>6} {lo:>3} {up:>3} {'D<=lo':>6} {dt:>8.1f}"
    t = time.perf_counter()
    ok = check_refutation(M, ref)
    return (f"{name:>14} {shape:>6} {lo:>3} {up:>3} {'D>lo':>6} {dt:>8.1f} {ref.n_nodes:>5} {ref.n_entries:>9} "
            f"{ref.nbytes / 1024:>8.0f} {time.perf_counter() - t:>7.1f} {ok}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=float, default=120.0)
    ap.add_argument("--seeds", type=int, default=60)
    ap.add_argument("--suite", type=int, default=0)
    a = ap.parse_args()
    print(f"{'instance':>14} {'dist':>6} {'lo':>3} {'up':>3} {'answer':>6} {'search_s':>8} {'nodes':>5} "
          f"{'entries':>9} {'KB':>8} {'check_s':>7} ok")
    for s in range(a.seeds):
        M = or6(s)
        lo, up = cheap_gap(M, 0.5)
        if lo < up:
            print(row(f"or6 seed {s}", M, a.limit), flush=True)
    if a.suite:
        for name, M in suite(per_family=a.suite):
            print(row(name[:14], M, a.limit), flush=True)


if __name__ == "__main__":
    main()
