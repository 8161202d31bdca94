"""The same 8-run grid through the local (process pool) and the dask executor: wall time and overhead per run.

For each executor, from one run into a fresh results folder with W workers:

* T, the wall time of :func:`ccbounds.sweeps.run_sweep` (pool or LocalCluster start-up included);
* R, the sum of the runs' own times (``wall_time_s`` of each row, measured inside the worker);
* overhead per run = (W * T - R) / 8: worker time not spent in runs (start-up, scheduling, moving rows,
  writing parts), shared out over the 8 runs.

Printed as ratios: T_dask / T_local, and the dask overhead per run against the mean run time and against
a one-minute run (target <= 10 %). Run: ``python benchmarks/sweep.py [--steps 1500] [--workers 2]``.
Single numbers from one run on a possibly shared machine: noisy.
"""

from __future__ import annotations

import argparse
import tempfile
import time


def grid(steps: int) -> str:
    return f"""
[sweep]
name = "bench"
tasks = ["index-lookup"]
lengths = [8, 16]
[train]
steps = {steps}
eval_size = 500
[audit]
precisions = [1, 8, 32]
samples = 256
calibration_samples = 128
[[models]]
arch = "gru"
width = [4, 16]
[[models]]
arch = "lstm"
width = [4, 16]
"""


def main() -> None:
    from ccbounds.sweeps import ResultsStore, parse_sweep_config, run_sweep

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    cfg = parse_sweep_config(grid(args.steps), "benchmarks/sweep.py")
    assert len(cfg.runs) == 8
    out = {}
    for ex in ("local", "dask"):
        folder = tempfile.mkdtemp(prefix=f"bench-{ex}-")
        t0 = time.perf_counter()
        s = run_sweep(cfg, folder, executor=ex, workers=args.workers)
        T = time.perf_counter() - t0
        rows = ResultsStore(folder).rows()
        assert s.done == 8 and s.failed == 0 and len(rows) == 8
        R = sum(float(r["wall_time_s"]) for r in rows)
        out[ex] = (T, R, (args.workers * T - R) / 8)
        print(f"{ex:>5}: wall {T:6.1f} s; runs {R:6.1f} s in total (mean {R / 8:5.1f} s); "
              f"overhead per run {out[ex][2]:5.2f} s")
    (tl, _, ol), (td, rd, od) = out["local"], out["dask"]
    print(f"wall time dask / local = {td / tl:.2f}; dask overhead per run / mean run time = {od / (rd / 8):.1%}; "
          f"dask overhead per run / a one-minute run = {od / 60:.1%} (target <= 10 %); "
          f"local overhead per run / a one-minute run = {ol / 60:.1%}")


if __name__ == "__main__":
    main()
