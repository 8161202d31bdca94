"""Benchmark: exact D on the hard suite and the frontier of issue 18, the search as it is against the search
of ccbounds at commit 383c2a5, in the same run.

Run ``python benchmarks/exact_cc.py``. The instances: the hard suite of ``benchmarks/hard_instances.py``
(``--per-family K`` takes K of each family instead of the quotas; ``--no-suite`` skips it), then the
frontier: ``--xor6 K`` (default 20) seeded XORs of 6 random rectangles with sides 20-32, at least 17
distinct rows and columns and a gap between the cheap bounds, and the literature instances of
``hard_instances.literature_suite()`` (up to 64 x 64; ``--no-literature`` skips them). ``--quick``: 2 per
family, 4 XORs, 20 s limits, no literature.

"New" is ``exact_D(M, workers=2)`` as it is: the split search with the memo shared across depths,
containment and symmetry hits (canonical forms under row/column permutations, transposition and
complementation), skipped hopeless tests and the scan divided between two threads (theory §8.9).
"Old" (the baseline, ``--old-cap S`` seconds, default 60) is ``exact_D(M, workers=1, speedups=False)``:
the search at commit 383c2a5 (same cheap bounds, tree search, split search and SAT portfolio). ``--limit S``
is the new search's time limit (default 60 s). ``--no-old`` skips the baseline.

One row per instance: shape, distinct rows x columns, the best cheap lower bound (rounded up), D (``?``
when not decided: the certified interval is printed), both times (``>cap`` when the search did not
finish) and their ratio, the search's size (split-search nodes, splits scanned in millions, memo hits
of the new search: depth, containment and symmetry hits; SAT proof lines), the certificate that closed
the lower side, and the result of the independent checks, run after all timings: the tree on every cell,
the split-search refutation by ``check_refutation`` (theory §8.5), the DRUP proof by ``check_rup_proof``
(numba engine; ``--max-check-lines N`` leaves longer proofs unchecked and lists them), and every
interrupted search's interval by ``DInterval.check``. Times are from one run on a shared machine:
ratios, not absolute speeds, are the point.
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

from hard_instances import cheap_gap, literature_suite, suite

from ccbounds.bounds import _lookahead, check_rup_proof, exact_D
from ccbounds.bounds._canonical import normal_form
from ccbounds.bounds._lookahead import refute
from ccbounds.bounds._matrix import distinct_classes
from ccbounds.errors import SolverLimitError


def _timed(fn, *args, **kw):
    t0 = time.perf_counter()
    try:
        out = fn(*args, **kw)
    except SolverLimitError as e:
        out = e
    return out, time.perf_counter() - t0


def _check_proof(proof) -> tuple[bool, float]:
    t0 = time.perf_counter()
    return proof.check(engine="numba"), time.perf_counter() - t0


def frontier(seed: int, k: int) -> list[tuple[str, np.ndarray]]:
    """``k`` XORs of 6 random rectangles (sides 20-32, >= 17 distinct rows and columns, cheap lower bound below
    the cheap upper bound), then the literature instances."""
    rng = np.random.default_rng([seed, 18])
    out = []
    while len(out) < k:
        R, C = (int(v) for v in rng.integers(20, 33, size=2))
        M = np.zeros((R, C), np.int8)
        for _ in range(6):
            p, q = rng.uniform(0.3, 0.5, size=2)
            M ^= np.outer(rng.random(R) < p, rng.random(C) < q).astype(np.int8)
        if min(len(distinct_classes(M, 0)), len(distinct_classes(M, 1))) >= 17:
            lo, up = cheap_gap(M)
            if lo < up:  # as in the hard suite: only a search can settle D
                out.append((f"xor6-{len(out):02d}_{R}x{C}", M))
    return out + literature_suite()


def _size(res) -> str:
    """The search's size: split nodes / million splits scanned / memo hits (depth+contain+iso) / proof lines."""
    z = res.search
    hits = sum(z.get(k, 0) for k in ("depth_hits", "contain_hits", "iso_hits"))
    return (f"{z.get('split_nodes', 0)}n/{z.get('splits_scanned', 0) / 1e6:.1f}M/{hits}h"
            + (f"/{z['proof_lines']}l" if z.get("proof_lines") else ""))


def _summary(label: str, rows: list[dict], limit: float, cap: float, old: bool) -> None:
    new_t = [r["t_new"] for r in rows if r["D"] is not None]
    line = (f"{label} ({len(rows)}): new decided {len(new_t)} within {limit:g} s"
            + (f" (median {statistics.median(new_t):.2f} s, max {max(new_t):.2f} s)" if new_t else ""))
    if old:
        old_t = [r["t_old"] for r in rows if r["old_D"] is not None]
        both = [r["t_old"] / r["t_new"] for r in rows if r["D"] is not None and r["old_D"] is not None]
        line += (f"; old decided {len(old_t)} within {cap:g} s"
                 + (f" (median {statistics.median(old_t):.2f} s, max {max(old_t):.2f} s)" if old_t else "")
                 + (f"; decided by both: median old/new {statistics.median(both):.1f}x" if both else ""))
    print(line)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old-cap", type=float, default=60.0, help="seconds for the baseline search (default 60)")
    ap.add_argument("--limit", type=float, default=60.0, help="seconds for the new search (default 60)")
    ap.add_argument("--per-family", type=int, default=None,
                    help="hard-suite instances per family (default: hard_instances.QUOTAS)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-check-lines", type=int, default=None,
                    help="check only proofs of at most this many lines (default: all)")
    ap.add_argument("--xor6", type=int, default=20, help="XORs of 6 rectangles (default 20)")
    ap.add_argument("--no-suite", action="store_true", help="skip the hard suite")
    ap.add_argument("--no-literature", action="store_true", help="skip the literature instances")
    ap.add_argument("--no-old", action="store_true", help="skip the baseline search")
    ap.add_argument("--workers", type=int, default=2, help="threads of the new search (default 2)")
    ap.add_argument("--quick", action="store_true", help="2 per family, 4 XORs, 20 s limits, no literature")
    args = ap.parse_args(argv)
    if args.quick:
        args.per_family, args.xor6, args.no_literature = 2, 4, True
        args.limit, args.old_cap = min(args.limit, 20.0), min(args.old_cap, 20.0)

    items = [] if args.no_suite else [("suite", n, M) for n, M in suite(seed=args.seed, per_family=args.per_family)]
    front = frontier(args.seed, args.xor6)
    lit = {n for n, _ in literature_suite()}
    items += [("literature" if n in lit else "xor6", n, M) for n, M in front
              if not (args.no_literature and n in lit)]
    threshold, _lookahead.PARALLEL_SPLITS = _lookahead.PARALLEL_SPLITS, 1  # the threaded kernel compiles too
    for kw in (dict(workers=args.workers), dict(workers=1, speedups=False)):
        exact_D(np.eye(2, dtype=int), **kw)  # warm-up: imports (networkx, pysat) are not part of the timings
        refute(np.eye(3, dtype=np.int8), 2, **kw)  # and neither is compiling the split search's kernels
    _lookahead.PARALLEL_SPLITS = threshold
    normal_form(np.eye(3, dtype=np.int8))
    check_rup_proof([[1], [-1]], [], engine="numba")  # nor the proof checker's
    print(f"{'instance':<24}{'shape':>6}{'dist':>6}{'lo':>3}{'D':>3}{'new s':>7}{'old s':>7}{'o/n':>6}  "
          f"{'size (nodes/splits/hits/lines)':<24} certificate")
    print("-" * 100)
    rows, proofs, splits, intervals = [], [], [], []
    for group, name, M in items:
        new, t_new = _timed(exact_D, M, time_limit=args.limit, workers=args.workers)
        if args.no_old:
            old, t_old = SolverLimitError("not run"), float("nan")
        else:
            old, t_old = _timed(exact_D, M, time_limit=args.old_cap, workers=1, speedups=False)
        dist = f"{len(distinct_classes(M, 0))}x{len(distinct_classes(M, 1))}"
        shape = f"{M.shape[0]}x{M.shape[1]}"
        old_ok = not isinstance(old, SolverLimitError)
        old_txt = (f"{'-':>7}" if args.no_old else f"{t_old:7.2f}" if old_ok
                   else f"{'>' + format(args.old_cap, 'g'):>7}")
        if old_ok:
            intervals.append(None)
        elif not args.no_old:
            intervals.append((f"{name} (old)", old.interval, M))
        row = {"group": group, "name": name, "D": None, "t_new": t_new, "t_old": t_old,
               "old_D": old.value if old_ok else None}
        rows.append(row)
        if isinstance(new, SolverLimitError):
            iv = new.interval
            intervals.append((name, iv, M))
            z = iv.search
            size = f"{z.get('split_nodes', 0)}n/{z.get('splits_scanned', 0) / 1e6:.1f}M"
            print(f"{name[:24]:<24}{shape:>6}{dist:>6}{'':>3}{'?':>3}{'>' + format(args.limit, 'g'):>7}{old_txt}"
                  f"{'':>6}  {size:<24} {math.ceil(iv.lower.value - 1e-9)} <= D <= {int(iv.upper.value)} "
                  f"({iv.lower.method})", flush=True)
            continue
        row["D"] = new.value
        cheap = max(math.ceil(b.value - 1e-9) for b in new.cheap_bounds)
        tree_ok = all(new.tree.output(i, j) == M[i, j] for i in range(M.shape[0]) for j in range(M.shape[1]))
        if old_ok and old.value != new.value:
            raise SystemExit(f"{name}: the baseline says D = {old.value}, the new search {new.value}")
        if not tree_ok:
            raise SystemExit(f"{name}: the tree errs on some cell")
        if new.proof is not None:
            cert = f"UNSAT d={new.value - 1}"
            proofs.append((name, new.proof))
        elif new.lower.method == "split-search":
            cert = f"split d={new.value - 1}, {new.lower.witness.length} entries"
            splits.append((name, new.lower.witness))
        else:
            cert = new.lower.method
        ratio = f"{t_old / t_new:5.1f}x" if old_ok else (f"{'>' + format(args.old_cap / t_new, '.0f')}x"
                                                         if not args.no_old else "")
        print(f"{name[:24]:<24}{shape:>6}{dist:>6}{cheap:>3}{new.value:>3}{t_new:7.2f}{old_txt}{ratio:>6}  "
              f"{_size(new):<24} {cert}; tree ok", flush=True)

    skipped = [n for n, p in proofs if args.max_check_lines is not None and p.length > args.max_check_lines]
    proofs = [(n, p) for n, p in proofs if n not in skipped]
    print(f"\nchecking {len(proofs)} DRUP proofs with ccbounds.bounds.check_rup_proof (numba engine)"
          + (f"; NOT checked ({len(skipped)}, over {args.max_check_lines} lines): {', '.join(skipped)}" if skipped
             else "") + " ...", flush=True)
    t0 = time.perf_counter()
    checks = [_check_proof(p) for _, p in proofs]
    bad = [n for (n, _), (ok, _) in zip(proofs, checks) if not ok]
    lines = sum(p.length for _, p in proofs)
    t_check = time.perf_counter() - t0
    print(f"proofs checked: {len(proofs) - len(bad)} of {len(proofs)} valid; {lines} lines in {t_check:.1f} s"
          + (f"; INVALID: {bad}" if bad else ""))
    print(f"checking {len(splits)} split-search refutations with check_refutation (independent of the search) ...",
          flush=True)
    t0 = time.perf_counter()
    bad_split = [n for n, c in splits if not c.check()]
    print(f"refutations checked: {len(splits) - len(bad_split)} of {len(splits)} valid; "
          f"{sum(c.length for _, c in splits)} split entries in {time.perf_counter() - t0:.1f} s"
          + (f"; INVALID: {bad_split}" if bad_split else ""))
    intervals = [iv for iv in intervals if iv is not None]
    t0 = time.perf_counter()
    bad_iv = [n for n, iv, M in intervals if not iv.check(M)]
    print(f"intervals of interrupted searches checked (DInterval.check): {len(intervals) - len(bad_iv)} of "
          f"{len(intervals)} valid in {time.perf_counter() - t0:.1f} s" + (f"; INVALID: {bad_iv}" if bad_iv else ""))
    bad += bad_split + bad_iv

    print()
    for group in ("suite", "xor6", "literature"):
        sel = [r for r in rows if r["group"] == group]
        if sel:
            _summary(group, sel, args.limit, args.old_cap, not args.no_old)
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
