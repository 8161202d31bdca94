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

Measured on the shared two-core machine (Dec 2026): at commit 75545dc (cheap bounds "non-constant" and
ceil(log2 #values) only) INDEX(3, q=3) and INDEX(2, q=5) were killed at 300 s (the split search scanning
2^26 - 1, resp. 2^24 - 1, root splits; without tracemalloc a review measured 240 s and over 12 GB, resp.
110 s) and INDEX(2, q=6) took 1.7 s (SAT); now each takes 0.1-0.2 s and 0.03-0.04 s to check, with a
traced peak of 1.6 MiB and a peak RSS of 117 MiB (the interpreter and its libraries).

Then the split search itself on the instances it accepts (at most 32 distinct rows): ``refute(M, 3)``, whose
root's own leaf count refutes depth 3 with an entry-free node (theory §8.5), timed and checked by
``check_refutation``, and ``refute(M, 3, self_test=False)``, which would scan every split of the rows: the
memory budget refuses it before allocating (the refusal's estimate is printed).
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
    bad += _split_search(INDEX_SPLIT)
    return 1 if bad else 0


INDEX_SPLIT = [(3, 3), (2, 5)]


def _split_search(instances: list[tuple[int, int]]) -> int:
    """refute(M, 3) with and without the root's own leaf count; returns the number of failed checks."""
    import inspect

    from ccbounds.bounds._lookahead import refute
    from ccbounds.bounds._refutation_check import check_refutation
    from ccbounds.errors import MemoryBudgetError
    from ccbounds.problems import INDEX

    if "self_test" not in inspect.signature(refute).parameters:
        print("\n(this ccbounds has no root leaf-count test in its split search: section skipped)")
        return 0
    import numpy as np

    refute(np.eye(3, dtype=np.int8), 2, self_test=False)  # loading the compiled kernels is not timed
    print("\nthe split search at depth 3 (this process):")
    bad = 0
    for n, q in instances:
        M = INDEX(n, q=q).matrix()
        t0 = time.perf_counter()
        ref = refute(M, 3)
        t = time.perf_counter() - t0
        ok = ref is not None and check_refutation(M, ref)
        bad += not ok
        try:
            refute(M, 3, self_test=False)
            scan = "scanned (no refusal)"
        except MemoryBudgetError as e:
            est = str(e).split(" would allocate about ")[-1].split(" (memory_budget")[0]
            scan = f"scan of {(1 << (M.shape[0] - 1)) - 1} row splits refused, {est}"
        print(f"  INDEX({n}, q={q}): root test {t:.3f} s, {ref.n_nodes} node, {ref.n_entries} entries, "
              f"{'checked' if ok else 'CHECK FAILED'};\n    without it: {scan}")
    return bad


if __name__ == "__main__":
    sys.exit(main())
