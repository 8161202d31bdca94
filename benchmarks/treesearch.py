"""Benchmark: the depth of the protocol tree found by ``find_tree`` against the greedy tree and D.

Run ``python benchmarks/treesearch.py`` (``--limit S`` seconds per ``find_tree`` call, default 10;
``--exact-limit S`` seconds for each ``exact_D`` call (as it is), default
30, 0 to skip it; ``--per-family K`` instances per family of ``benchmarks/hard_instances.py`` instead
of its quotas; ``--or6 N`` the number of or6 instances, default 6). Instances: the suite of
``hard_instances.suite()`` and the or6 family — the union (OR) of 6 random combinatorial rectangles
in a 24 x 24 matrix, rows and columns of each rectangle kept with probability uniform(0.2, 0.45),
drawn from ``numpy.random.default_rng([s, 7])`` for s = 0, 1, ... and kept when the cheap lower
bound is below the cheap upper bound: the examples of issue 11, saved as ``tests/data/or6_24_*.npy``
(the suite's own ``or6`` family draws the same kind of matrix from its own stream).

One row per instance: shape and distinct rows x columns, the cheap lower bound (rounded up), the
greedy tree's depth, the depth of the tree ``find_tree`` found with the seconds of that call (asked
for depth D where D is known; where D is unknown or not reached, asked for greedy - 1, greedy - 2, ...
until it gives up; seconds ``nan``: no tree below greedy was found), D from ``exact_D`` within
``--exact-limit`` (``?`` when it ran out, unless the tree found reaches the cheap lower bound), and the
seconds of ``exact_D`` (as it is: cheap bounds, this tree search, then SAT; ``>limit`` when it ran out).
Every tree is checked on every cell.
Times are from one run on a shared machine.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hard_instances import cheap_gap, suite

from ccbounds.bounds import _trees, exact_D
from ccbounds.bounds._matrix import Deadline, distinct_classes
from ccbounds.bounds._treesearch import find_tree, spec_errors
from ccbounds.errors import SolverLimitError


def or6_instances(count: int, side: int = 24, k: int = 6) -> list[tuple[str, np.ndarray]]:
    """The first ``count`` or6 matrices (seeds 0, 1, ...) with cheap lower bound < cheap upper bound."""
    out: list[tuple[str, np.ndarray]] = []
    for s in range(1000 if count > 0 else 0):
        rng = np.random.default_rng([s, 7])
        M = np.zeros((side, side), np.int8)
        for _ in range(k):
            p, q = rng.uniform(0.2, 0.45, size=2)
            M |= np.outer(rng.random(side) < p, rng.random(side) < q).astype(np.int8)
        lo, up = cheap_gap(M, 0.5)
        if lo < up:
            out.append((f"or{k}_{side}_{s}", M))
            if len(out) >= count:
                break
    return out


def reduced(M: np.ndarray) -> np.ndarray:
    rc, cc = distinct_classes(M, 0), distinct_classes(M, 1)
    return np.ascontiguousarray(M[np.ix_([c[0] for c in rc], [c[0] for c in cc])])


def _timed_tree(R: np.ndarray, d: int, limit: float) -> tuple[int | None, float]:
    """(depth of the tree find_tree returns for depth d, or None; seconds), the tree checked on every cell."""
    t0 = time.perf_counter()
    spec = find_tree(R, d, Deadline(limit))
    seconds = time.perf_counter() - t0
    if spec is not None and (spec_errors(R, spec) or _trees.depth(spec) > d):
        raise RuntimeError(f"find_tree returned a wrong tree for depth {d}")
    return (None if spec is None else _trees.depth(spec)), seconds


def measure(M: np.ndarray, limit: float, exact_limit: float) -> dict:
    """Cheap lower bound, greedy depth, D (exact_D within exact_limit, else None), and find_tree's best."""
    R = reduced(M)
    lo, _ = cheap_gap(M)
    greedy = _trees.depth(_trees.greedy_spec(R))
    D: int | None = None
    exact_seconds = math.nan
    if exact_limit > 0:
        t0 = time.perf_counter()
        try:
            D = exact_D(R, time_limit=exact_limit).value
            exact_seconds = time.perf_counter() - t0
        except SolverLimitError:
            D = None
    found, seconds = (_timed_tree(R, D, limit) if D is not None else (None, 0.0))
    if found is None:  # D unknown, or not reached: the least depth find_tree reaches below greedy
        found, seconds = greedy, math.nan
        for d in range(greedy - 1, (lo if D is None else D + 1) - 1, -1):
            got, t = _timed_tree(R, d, limit)
            if got is None:
                break
            found, seconds = got, t
    if D is None and found <= lo:
        D = found
    return {"distinct": f"{R.shape[0]}x{R.shape[1]}", "lo": lo, "greedy": greedy, "found": found,
            "seconds": seconds, "D": D, "exact": exact_seconds}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=float, default=10.0, help="seconds per find_tree call (default 10)")
    ap.add_argument("--exact-limit", type=float, default=30.0, help="seconds for exact_D (default 30; 0: skip)")
    ap.add_argument("--per-family", type=int, default=None, help="instances per family (default: the quotas)")
    ap.add_argument("--or6", type=int, default=6, help="or6 instances (default 6)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    items = suite(seed=args.seed, per_family=args.per_family) + or6_instances(args.or6)
    print(f"{'instance':<28}{'shape':>7}{'distinct':>9}{'cheap lo':>9}{'greedy':>7}{'found':>6}"
          f"{'seconds':>9}{'D':>4}{'exact_D s':>10}")
    rows = []
    for name, M in items:
        r = measure(M, args.limit, args.exact_limit)
        rows.append(r)
        D = "?" if r["D"] is None else str(r["D"])
        ex = f"{r['exact']:.2f}" if not math.isnan(r["exact"]) else "-" if args.exact_limit <= 0 else \
            f">{args.exact_limit:g}"
        print(f"{name:<28}{M.shape[0]:>4}x{M.shape[1]:<2}{r['distinct']:>9}{r['lo']:>9}{r['greedy']:>7}"
              f"{r['found']:>6}{r['seconds']:>9.2f}{D:>4}{ex:>10}", flush=True)
    known = [r for r in rows if r["D"] is not None]
    at_D = [r for r in known if r["found"] == r["D"]]
    below_greedy = [r for r in known if r["D"] < r["greedy"]]
    print(f"{len(rows)} instances; D known for {len(known)}; find_tree reached D on {len(at_D)} of them "
          f"({len([r for r in below_greedy if r['found'] == r['D']])} of the {len(below_greedy)} where "
          "greedy is above D)")
    if at_D:
        secs = [r["seconds"] for r in at_D]
        print(f"seconds of the depth-D call: median {statistics.median(secs):.2f}, max {max(secs):.2f}, "
              f"<= 2 s on {sum(s <= 2 for s in secs)} of {len(secs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
