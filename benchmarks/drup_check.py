"""Benchmark: the two DRUP checker engines on real proofs of the hard suite, numba against pure Python.

Run ``python benchmarks/drup_check.py`` (``--per-family K``: instances per family of
``benchmarks/hard_instances.py``, default 2; ``--proofs N``: how many of their UNSAT proofs to check,
default 4; ``--seed S``). For each instance whose ``exact_D`` answer carries a DRUP proof (the UNSAT
answer for depth D - 1), it checks ``r.proof`` with ``check_rup_proof(..., engine="numba")`` and
``engine="python"`` and prints the formula's clauses, the proof's lines, each engine's seconds and
lines per second, the ratio python / numba, and both verdicts (they must agree: the script exits 1
otherwise or when a proof is rejected). The numba engine is called once on a tiny proof first, so
compiling (or loading the compiled cache) is reported apart from the timings. Times are from one run
on a shared machine: the ratio, not the absolute speed, is the point.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hard_instances import suite

from ccbounds.bounds import check_rup_proof, exact_D


def _timed_check(proof, engine: str) -> tuple[bool, float]:
    t0 = time.perf_counter()
    ok = check_rup_proof(proof.clauses, proof.lemmas, engine=engine)
    return ok, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-family", type=int, default=2, help="instances per family (default 2)")
    ap.add_argument("--proofs", type=int, default=4, help="proofs to check (default 4)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    check_rup_proof([[1, 2], [-1, 2], [1, -2], [-1, -2]], ["2 0", "0"], engine="numba")
    print(f"numba engine ready (compile or cache load) in {time.perf_counter() - t0:.1f} s")
    proofs = []
    for name, M in suite(seed=args.seed, per_family=args.per_family):
        if len(proofs) >= args.proofs:
            break
        r = exact_D(M)
        if r.proof is not None and r.proof.lemmas is not None:
            proofs.append((name, r.proof))
    print(f"{'instance':<26}{'clauses':>8}{'lines':>8}{'numba s':>9}{'lines/s':>10}{'python s':>10}"
          f"{'lines/s':>9}{'ratio':>8}  verdicts")
    print("-" * 98)
    bad, tot = [], [0, 0.0, 0.0]
    for name, p in proofs:
        ok_fast, t_fast = _timed_check(p, "numba")
        ok_slow, t_slow = _timed_check(p, "python")
        tot[0] += p.length
        tot[1] += t_fast
        tot[2] += t_slow
        if not (ok_fast and ok_slow):
            bad.append(name)
        print(f"{name:<26}{len(p.clauses):>8}{p.length:>8}{t_fast:>9.3f}{p.length / t_fast:>10.0f}{t_slow:>10.2f}"
              f"{p.length / t_slow:>9.0f}{t_slow / t_fast:>7.0f}x  {ok_fast}/{ok_slow}", flush=True)
    if proofs:
        print(f"{'total':<26}{'':>8}{tot[0]:>8}{tot[1]:>9.3f}{tot[0] / tot[1]:>10.0f}{tot[2]:>10.2f}"
              f"{tot[0] / tot[2]:>9.0f}{tot[2] / tot[1]:>7.0f}x")
    if bad:
        print(f"REJECTED or engines disagree: {', '.join(bad)}")
    return 1 if bad or not proofs else 0


if __name__ == "__main__":
    sys.exit(main())
