"""Benchmark: exact D on the hard suite of ``benchmarks/hard_instances.py``, today's search against the old one.

Run ``python benchmarks/exact_cc.py`` (``--old-cap S`` caps the old search, default 60 s; ``--limit S``
the new one, default 60 s; ``--per-family K`` takes K of each family instead of the quotas). Prints
one row per instance: its
shape and distinct rows x columns, the best cheap lower bound (rounded up), D, the new search's
seconds, the old search's seconds (``>cap`` when it did not finish within the cap), the ratio old /
new, the certificate that closed the lower side, and the result of the independent checks: the
witness tree run on every cell, the split-search refutation checked by ``check_refutation`` (theory §8.5) or
the DRUP proof checked by ``ccbounds.bounds.check_rup_proof``
with its numba engine (after all timings, so the checks do not slow the timed searches; every proof
by default, and the total checking time is printed; ``--max-check-lines N`` leaves longer proofs
unchecked and lists them).

"New" is ``exact_D`` as it is (cheap bounds, greedy tree, the tree search ``find_tree``, then for each
depth left the exhaustive split search of theory §8.5, and only where that runs out of time the tree CNF
with the fooling set's leaf-counting constraints on the glucose 4 / CaDiCaL portfolio); "old" is
``exact_D(..., encoding="plain", solver="glucose4")``: cheap bounds, greedy tree and the plain tree CNF
on glucose 4, the search before issue 11. Times are from one run: ratios, not absolute speeds, are
the point.

``--frontier`` runs instead the instances at the frontier of issue 18: ``--xor6 K`` (default 20) seeded
XORs of 6 random rectangles with sides 20-32, at least 17 distinct rows and columns and a gap between the
cheap bounds, and the literature instances of ``hard_instances.literature_suite()`` (up to 64 x 64);
``--no-old`` skips the old search (undecided instances print their certified interval).
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

from ccbounds.bounds import check_rup_proof, exact_D
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old-cap", type=float, default=60.0, help="seconds for the old search (default 60)")
    ap.add_argument("--limit", type=float, default=60.0, help="seconds for the new search (default 60)")
    ap.add_argument("--per-family", type=int, default=None,
                    help="instances per family (default: hard_instances.QUOTAS)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-check-lines", type=int, default=None,
                    help="check only proofs of at most this many lines (default: all)")
    ap.add_argument("--frontier", action="store_true", help="XORs of 6 rectangles and the literature instances")
    ap.add_argument("--xor6", type=int, default=20, help="XORs of 6 rectangles with --frontier (default 20)")
    ap.add_argument("--no-old", action="store_true", help="skip the old search")
    args = ap.parse_args(argv)

    items = frontier(args.seed, args.xor6) if args.frontier else suite(seed=args.seed, per_family=args.per_family)
    exact_D(np.eye(2, dtype=int))  # warm-up: imports (networkx, pysat) are not part of the timings
    check_rup_proof([[1], [-1]], [], engine="numba")  # and neither is compiling the checkers
    refute(np.eye(3, dtype=np.int8), 2)  # and the split search's kernels
    head = (f"{'instance':<27}{'shape':>6}{'distinct':>9}{'cheap':>6}{'D':>3}{'new s':>7}{'old s':>7}"
            f"{'old/new':>8}  certificate")
    print(head)
    print("-" * 100)
    rows, proofs, splits = [], [], []
    for name, M in items:
        new, t_new = _timed(exact_D, M, time_limit=args.limit)
        if args.no_old:
            old, t_old = SolverLimitError("not run"), float("nan")
        else:
            old, t_old = _timed(exact_D, M, time_limit=args.old_cap, encoding="plain", solver="glucose4")
        dist = f"{len(distinct_classes(M, 0))}x{len(distinct_classes(M, 1))}"
        shape = f"{M.shape[0]}x{M.shape[1]}"
        if isinstance(new, SolverLimitError):
            iv = new.interval
            print(f"{name:<27}{shape:>6}{dist:>9}{'':>6}{'?':>3}{'>' + format(args.limit, 'g'):>7}  "
                  f"{math.ceil(iv.lower.value - 1e-9)} <= D <= {int(iv.upper.value)} ({iv.lower.method}); "
                  f"interval checked: {iv.check(M)}", flush=True)
            rows.append((name, None, t_new, t_old, False, None))
            continue
        cheap = max(math.ceil(b.value - 1e-9) for b in new.cheap_bounds)
        tree_ok = all(new.tree.output(i, j) == M[i, j] for i in range(M.shape[0]) for j in range(M.shape[1]))
        old_ok = not isinstance(old, SolverLimitError)
        if old_ok and old.value != new.value:
            raise SystemExit(f"{name}: the old search says D = {old.value}, the new one {new.value}")
        old_txt = f"{t_old:7.2f}" if old_ok else f"{'>' + format(args.old_cap, 'g'):>7}"
        if args.no_old:
            old_txt = f"{'-':>7}"
        if new.proof is not None:
            cert = f"UNSAT d={new.value - 1}, {new.proof_length} lines"
        elif new.lower.method == "split-search":
            cert = f"split d={new.value - 1}, {new.lower.witness.length} entries"
            splits.append((name, new.lower.witness))
        else:
            cert = new.lower.method
        print(f"{name:<27}{shape:>6}{dist:>9}{cheap:>6}{new.value:>3}{t_new:7.2f}{old_txt}"
              f"{t_old / t_new:7.1f}x  {cert}; tree {'ok' if tree_ok else 'WRONG'}", flush=True)
        rows.append((name, new.value, t_new, t_old, old_ok and tree_ok, cheap))
        if new.proof is not None:
            proofs.append((name, new.proof))

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
    print(f"proofs checked: {len(proofs) - len(bad)} of {len(proofs)} valid; {lines} lines in {t_check:.1f} s "
          f"({lines / max(t_check, 1e-9):.0f} lines/s; longest {max((s for _, s in checks), default=0):.1f} s)"
          + (f"; INVALID: {bad}" if bad else ""))

    print(f"checking {len(splits)} split-search refutations with check_refutation (independent of the search) ...",
          flush=True)
    t0 = time.perf_counter()
    bad_split = [n for n, c in splits if not c.check()]
    print(f"refutations checked: {len(splits) - len(bad_split)} of {len(splits)} valid; "
          f"{sum(c.length for _, c in splits)} split entries in {time.perf_counter() - t0:.1f} s"
          + (f"; INVALID: {bad_split}" if bad_split else ""))
    bad += bad_split

    decided = [r for r in rows if r[1] is not None]
    times = [r[2] for r in decided]
    gap = [r for r in decided if r[5] is not None and r[5] < r[1]]
    ratios = [r[3] / r[2] for r in decided if r[3] == r[3]] or [float("nan")]
    capped = sum(1 for r in decided if r[3] >= args.old_cap)
    print(f"\n{len(decided)} of {len(rows)} instances decided within {args.limit:g} s; cheap lower bound < D on "
          f"{len(gap)}; new search: median {statistics.median(times or [0]):.2f} s, max {max(times or [0]):.2f} s")
    print(f"old search (capped at {args.old_cap:g} s, {capped} hit the cap): median ratio old/new "
          f"{statistics.median(ratios):.1f}x, total {sum(r[3] for r in decided):.0f} s vs "
          f"{sum(times):.0f} s (a lower bound on the ratio where capped)")
    return 0 if len(decided) == len(rows) and not bad else 1


if __name__ == "__main__":
    sys.exit(main())
