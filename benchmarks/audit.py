"""Benchmark of ``ccbounds.audit`` (theory §6): memory against K, wall time, and the ratio to plain inference.

Prints, from one run:

(a) memory: for K = 1024, 4096, 16384 (each in a fresh subprocess), the peak of Python/numpy memory traced
    by tracemalloc during the audit and the process's peak resident set size; the audit keeps only O(K)
    8-byte hashes, so the traced peak should grow by roughly (precisions + 1) * 8 bytes per sample;
(b) plain batched inference of the K * 16 full sequences an audit with K = 4096 samples asks (the model's
    forward over prebuilt token tensors, batches of 16384);
(c) the time to audit an LSTM of width 64 on INDEX_16 at 6 precisions with K = 4096 (target <= 30 s on CPU)
    and its ratio to (b) (target <= 2x), through the compiled cut (``reduce``) and, in the same run, through
    the built-in reading it replaced (``builtin_reduction``): the time to reduce is printed apart.

Random weights are fine for timing. Run: ``python benchmarks/audit.py`` (single-threaded torch).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
import tracemalloc

PRECISIONS = (1, 2, 4, 8, 16, 32)


def _model(width: int = 64, n: int = 16):
    import torch

    from ccbounds.models import RecurrentConfig, build_model

    torch.manual_seed(0)
    return build_model(RecurrentConfig("lstm", vocab_size=2 + n, num_classes=2, width=width)).eval()


def memory_child(K: int) -> None:
    """Audit with K samples and print a JSON line of peak memory figures."""
    import torch

    from ccbounds import audit
    from ccbounds.problems import INDEX

    torch.set_num_threads(1)
    model = _model(width=16, n=8)
    tracemalloc.start()
    audit(model, INDEX(8), precisions=PRECISIONS, samples=K, witnesses=2)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"K": K, "traced_peak_bytes": peak, "max_rss_kib": rss}))


def main() -> None:
    import numpy as np
    import torch

    from ccbounds import audit
    from ccbounds.problems import INDEX

    torch.set_num_threads(1)
    print("(a) memory (LSTM width 16, INDEX_8, 6 precisions; each K in a fresh process)")
    base = None
    for K in (1024, 4096, 16384):
        out = subprocess.run([sys.executable, __file__, "--memory-child", str(K)], capture_output=True, text=True,
                             check=True).stdout.strip().splitlines()[-1]
        d = json.loads(out)
        base = base or d
        per = (d["traced_peak_bytes"] - base["traced_peak_bytes"]) / max(1, d["K"] - base["K"])
        print(f"  K = {K:>6}: tracemalloc peak {d['traced_peak_bytes'] / 2**20:7.2f} MiB, "
              f"max RSS {d['max_rss_kib'] / 1024:7.1f} MiB, growth vs K=1024: {per:6.1f} bytes per extra sample")

    n, K = 16, 4096
    import copy

    from ccbounds.auditing.sampling import QueryPlan
    from ccbounds.reduction import reduce
    from reductions.registry import builtin_reduction

    model = _model()
    plan = QueryPlan.for_problem(INDEX(n), 0)
    rows = plan.alice_rows(0, K)
    gadget = reduce(model, INDEX(n)).gadget
    toks = np.stack([gadget.encode(tuple(x), i) for x in rows.tolist() for i in range(n)])  # (K*n, n+1)
    t = torch.as_tensor(toks, dtype=torch.long)
    t0 = time.perf_counter()
    with torch.no_grad():
        for s in range(0, len(t), 16384):
            model(t[s:s + 16384])
    t_plain = time.perf_counter() - t0
    print(f"(b) plain batched inference of the {len(t)} full sequences of K = {K} audit samples: {t_plain:.2f} s")
    print(f"(c) audit of an LSTM (width 64) on INDEX_{n}, {len(PRECISIONS)} precisions, K = {K}, in this run; "
          "targets: audit <= 30 s, audit / inference <= 2x")
    for label, make in (("built-in reading (before the compiled path)", builtin_reduction),
                        ("compiled cut (reduce)", reduce)):
        fresh = copy.deepcopy(model)  # a new model object: nothing cached from another path
        t0 = time.perf_counter()
        p = make(fresh, INDEX(n))
        t_reduce = time.perf_counter() - t0
        audit(p, precisions=PRECISIONS, samples=256, calibration_samples=64)  # warm-up
        t0 = time.perf_counter()
        report = audit(p, precisions=PRECISIONS, samples=K)
        t_audit = time.perf_counter() - t0
        print(f"  {label}: S = {report.scalars}; reduce {t_reduce:.2f} s, audit {t_audit:.2f} s; "
              f"audit / inference = {t_audit / t_plain:.2f}x, (reduce + audit) / inference = "
              f"{(t_reduce + t_audit) / t_plain:.2f}x; accuracy {report.model_accuracy:.4f} = fp32 row "
              f"{report.row(32).accuracy:.4f}, exit status {report.exit_status}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--memory-child":
        memory_child(int(sys.argv[2]))
    else:
        main()
