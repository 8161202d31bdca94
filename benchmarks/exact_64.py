"""Benchmark: exact D at 64 x 64 — Kushilevitz's h composed with XOR and AND, and seeded random XORs and unions
of 6 rectangles of side 64 (issue 18).

Run ``python benchmarks/exact_64.py [--limit S] [--count K]``: one row per instance with its distinct rows and
columns, D or the certified interval ``lo <= D <= hi`` (the lower bound's method), the seconds, and whether
``result.check(M)`` (or ``interval.check(M)``) accepted the whole answer against the matrix.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from ccbounds.bounds import exact_D
from ccbounds.bounds._matrix import distinct_classes
from ccbounds.bounds.exact import ExactLimitError
from ccbounds.literature import literature_instances


def instances(count: int, seed: int) -> list[tuple[str, np.ndarray]]:
    lit = {i.id: i.matrix for i in literature_instances()}
    out = [("h(x XOR y)", lit["kushilevitz-h-xor"]), ("h(x AND y)", lit["kushilevitz-h-and"])]
    rng = np.random.default_rng([seed, 64])
    for k in range(count):
        M = np.zeros((64, 64), np.int8)
        op = "xor" if k % 2 == 0 else "or"
        for _ in range(6):
            p, q = rng.uniform(0.2, 0.5, size=2)
            R = np.outer(rng.random(64) < p, rng.random(64) < q).astype(np.int8)
            M = M ^ R if op == "xor" else M | R
        out.append((f"{op}6-{k}_64x64", M))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=float, default=60.0, help="seconds per instance (default 60)")
    ap.add_argument("--count", type=int, default=10, help="random instances (default 10)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    exact_D(np.eye(2, dtype=int))  # warm-up: imports
    print(f"{'instance':<18}{'distinct':>9}  {'answer':<34}{'s':>7}  check")
    for name, M in instances(args.count, args.seed):
        dist = f"{len(distinct_classes(M, 0))}x{len(distinct_classes(M, 1))}"
        t0 = time.perf_counter()
        try:
            r = exact_D(M, time_limit=args.limit)
            dt, ans, ok = time.perf_counter() - t0, f"D = {r.value} ({r.lower.method})", r.check(M)
        except ExactLimitError as e:
            iv = e.interval
            dt = time.perf_counter() - t0
            ans = f"{math.ceil(iv.lower.value - 1e-9)} <= D <= {int(iv.upper.value)} ({iv.lower.method})"
            ok = iv.check(M)
        print(f"{name:<18}{dist:>9}  {ans:<34}{dt:7.1f}  {ok}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
