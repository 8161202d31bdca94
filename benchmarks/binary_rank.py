"""Benchmark: exact binary rank (C^P_1, the fewest 1-rectangles partitioning the 1-cells) on random matrices.

The instances follow EBMF's ``benchmark_gen.py`` (Tan, Ping, Cong, DATE 2024; github.com/UCLA-VAST/EBMF):
for each size 10 x 10, 10 x 20, 10 x 30 and each density p in 0.1, 0.2, ..., 0.9, distinct matrices with
exactly ``int(p * M * N)`` ones. EBMF draws each entry 1 with probability p and keeps a matrix only if it
has exactly that many ones; conditioned on the count, every placement of the ones is equally likely, so
here the ones are placed uniformly at random directly (numpy, seeded: ``--seed``). ``--count K``
matrices per density (EBMF: 10).

Run ``python benchmarks/binary_rank.py [--count K] [--time-limit S] [--sizes 10x10,10x20]``. Prints one
row per instance: size, density, the cheap lower bound (rank over R, 1-fooling set), binary rank (or the
interval when the time limit hit), the certificate of the lower side (cheap / UNSAT proof), seconds, and
whether ``RectangleSolution.check`` accepted the witness partition and the lower certificate (run after
the timing); then per size and density the median and max seconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

from ccbounds.bounds import binary_rank
from ccbounds.bounds.drup import UnsatProof
from ccbounds.bounds.rectangles import RectangleLimitError, check_rectangles

DENSITIES = [i / 10 for i in range(1, 10)]


def instances(M: int, N: int, count: int, seed: int) -> list[tuple[float, np.ndarray]]:
    """``count`` distinct M x N matrices with exactly int(p * M * N) ones per density p (EBMF's benchmark)."""
    rng = np.random.default_rng(seed)
    out = []
    for p in DENSITIES:
        k = int(p * M * N)
        seen: set[bytes] = set()
        while len([1 for q, _ in out if q == p]) < count:
            flat = np.zeros(M * N, dtype=np.int8)
            flat[rng.choice(M * N, size=k, replace=False)] = 1
            A = flat.reshape(M, N)
            if A.tobytes() not in seen:
                seen.add(A.tobytes())
                out.append((p, A))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=3, help="matrices per size and density (EBMF: 10; default 3)")
    ap.add_argument("--time-limit", type=float, default=60.0, help="seconds per instance (default 60)")
    ap.add_argument("--sizes", default="10x10,10x20,10x30", help="comma-separated MxN (default 10x10,10x20,10x30)")
    ap.add_argument("--seed", type=int, default=2024)
    args = ap.parse_args(argv)
    print(f"{'size':>6} {'dens':>4} {'lower':>5} {'brank':>7} {'lower by':>9} {'s':>7} check")
    rows = []
    for size in args.sizes.split(","):
        M, N = (int(t) for t in size.lower().split("x"))
        for p, A in instances(M, N, args.count, args.seed + M * 1000 + N):
            t0 = time.perf_counter()
            try:
                sol = binary_rank(A, time_limit=args.time_limit)
                dt = time.perf_counter() - t0
                ok = sol.check(A)
                how = "UNSAT" if isinstance(sol.lower, UnsatProof) else "cheap"
                val = str(sol.number)
                c = sol.certificates
                lo = max(c["rank"].rank if "rank" in c else 0, c["fooling"].size if "fooling" in c else 0)
            except RectangleLimitError as e:
                dt = time.perf_counter() - t0
                ok = check_rectangles(A, e.upper.rectangles, "binary-rank")
                how, val, lo = "limit", f"{e.lower}..{e.upper.number}", e.lower
            rows.append((size, p, dt, how != "limit"))
            print(f"{size:>6} {p:>4.1f} {lo:>5} {val:>7} {how:>9} {dt:>7.2f} {ok}")
            sys.stdout.flush()
    print("\nper size and density: decided / instances, median and max seconds")
    for size in args.sizes.split(","):
        for p in DENSITIES:
            ts = [r[2] for r in rows if r[0] == size and r[1] == p]
            dec = sum(r[3] for r in rows if r[0] == size and r[1] == p)
            med, mx = statistics.median(ts), max(ts)
            print(f"{size:>6} {p:.1f}: {dec}/{len(ts)} decided, median {med:.2f} s, max {mx:.2f} s")
    dec = sum(r[3] for r in rows)
    ts = [r[2] for r in rows]
    print(f"all: {dec}/{len(rows)} decided within {args.time_limit:g} s; median {statistics.median(ts):.2f} s, "
          f"max {max(ts):.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
