"""Benchmark: exact D of multi-valued and tall matrices (q-ary INDEX), wall time and peak memory.

Run ``python benchmarks/exact_multivalued.py``. Each instance runs in a fresh child process (so the peak
resident set size is that instance's) under an address-space limit (``--max-gib``, default 4) and a
wall-clock limit (``--timeout``, default 300 s); the child times ``exact_D(problem)`` and then the whole
answer's end-to-end check ``result.check(problem)`` (theory §8.7: the tree on every cell, the lower-bound
certificate re-derived on the merged matrix), and reports the peak of Python/numpy memory traced by
tracemalloc over both and the process's peak RSS (``resource.getrusage(RUSAGE_SELF).ru_maxrss``; it
includes the interpreter, numpy, numba and pysat, about 100-150 MiB, whatever the instance). A child
killed by the memory or time limit is reported as such.

The script uses the public API only, so the same command measures an older ccbounds (``PYTHONPATH=<old
checkout> python benchmarks/exact_multivalued.py``; an answer without ``check`` is then reported as
unchecked). The instances: INDEX(3, q=3) (27 x 3, D = 4), INDEX(2, q=5) (25 x 2, D = 4), INDEX(2, q=6)
(36 x 2, D = 4), and ``--extra`` adds INDEX(4, q=3) (81 x 4 with 81 distinct rows: over the exact
search's 64, refused) and INDEX(2, q=7), INDEX(3, q=4).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc

INSTANCES = [(3, 3), (2, 5), (2, 6)]
EXTRA = [(2, 7), (3, 4), (4, 3)]


def child(n: int, q: int) -> None:
    """Time ``exact_D(INDEX(n, q=q))`` and its end-to-end check; print one JSON line."""
    import numpy as np

    from ccbounds.bounds import exact_D
    from ccbounds.errors import CCBoundsError
    from ccbounds.problems import INDEX

    exact_D(np.eye(2, dtype=int))  # imports and compiled kernels are not part of the measurement
    p = INDEX(n, q=q)
    out: dict = {"n": n, "q": q, "shape": list(p.matrix().shape)}
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        r = exact_D(p)
        out["solve_s"] = time.perf_counter() - t0
        out.update(D=r.value, lower=r.lower.method)
        t1 = time.perf_counter()
        out["checked"] = bool(r.check(p)) if hasattr(r, "check") else None
        out["check_s"] = time.perf_counter() - t1
    except CCBoundsError as e:
        out["solve_s"] = time.perf_counter() - t0
        out["error"] = f"{type(e).__name__}: {str(e)[:120]}"
    out["traced_peak_bytes"] = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    out["max_rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps(out), flush=True)


def _limit_memory(gib: float):
    def pre() -> None:
        b = int(gib * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (b, b))
    return pre


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-gib", type=float, default=4.0, help="address-space limit of each child (GiB)")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per instance (default 300)")
    ap.add_argument("--extra", action="store_true", help="also INDEX(2, q=7), INDEX(3, q=4), INDEX(4, q=3)")
    ap.add_argument("--child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    import ccbounds

    print(f"ccbounds from {ccbounds.__file__}; each instance in a fresh process, limits {args.max_gib:g} GiB "
          f"address space and {args.timeout:g} s")
    print(f"{'instance':<16}{'shape':>7}{'D':>3}{'solve s':>9}{'check s':>9}{'traced MiB':>12}{'max RSS MiB':>13}"
          f"  lower bound / outcome")
    print("-" * 100)
    bad = 0
    for n, q in INSTANCES + (EXTRA if args.extra else []):
        name = f"INDEX({n}, q={q})"
        t0 = time.perf_counter()
        try:
            pr = subprocess.run([sys.executable, __file__, "--child", str(n), str(q)], capture_output=True,
                                text=True, timeout=args.timeout, preexec_fn=_limit_memory(args.max_gib))
        except subprocess.TimeoutExpired:
            print(f"{name:<16}{'':>7}{'?':>3}{'>' + format(args.timeout, 'g'):>9}{'':>9}{'':>12}{'':>13}"
                  f"  killed at the time limit")
            bad += 1
            continue
        wall = time.perf_counter() - t0
        lines = [ln for ln in pr.stdout.splitlines() if ln.startswith("{")]
        if pr.returncode != 0 or not lines:
            why = (pr.stderr.strip().splitlines() or ["?"])[-1][:60]
            print(f"{name:<16}{'':>7}{'?':>3}{wall:9.1f}{'':>9}{'':>12}{'':>13}  child died "
                  f"(rc {pr.returncode}; {args.max_gib:g} GiB limit?): {why}")
            bad += 1
            continue
        d = json.loads(lines[-1])
        shape = "x".join(str(s) for s in d["shape"])
        if "error" in d:
            print(f"{name:<16}{shape:>7}{'?':>3}{d['solve_s']:9.3f}{'':>9}{d['traced_peak_bytes'] / 2**20:12.2f}"
                  f"{d['max_rss_kib'] / 1024:13.1f}  {d['error']}")
            continue
        ok = {True: "checked", False: "CHECK FAILED", None: "no end-to-end check in this version"}[d["checked"]]
        bad += d["checked"] is False
        print(f"{name:<16}{shape:>7}{d['D']:>3}{d['solve_s']:9.3f}{d['check_s']:9.3f}"
              f"{d['traced_peak_bytes'] / 2**20:12.2f}{d['max_rss_kib'] / 1024:13.1f}  {d['lower']}; {ok}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
