"""Throughput on one device: audit tokens/s against plain batched inference, and training steps/s.

Prints, from one run on the chosen device (``--device cuda`` by default when a GPU is visible, else cpu):

(a) the audit (:func:`ccbounds.audit`, theory §6) of an LSTM and a one-layer Transformer on INDEX_n at
    three precisions: tokens of the full sequences it answers (K Alice inputs x n queries x (n + 1)
    tokens) per second, against the model's plain forward over the same prebuilt sequences, and the ratio;
(b) training steps/s of :func:`ccbounds.training.train` for the same architectures (batch 64).

Random or briefly trained weights are fine for timing. Run: ``python benchmarks/gpu.py [--device cuda]
[--n 64] [--width 256] [--samples 2048] [--steps 200]``. The numbers are from one run; on a shared
machine they are noisy.
"""

from __future__ import annotations

import argparse
import time


def _sequences(model, problem, K):
    import numpy as np
    import torch

    from ccbounds.auditing.sampling import QueryPlan
    from ccbounds.reduction import reduce

    p = reduce(model, problem)
    plan = QueryPlan.for_problem(problem, 0)
    rows = plan.alice_rows(0, K)
    toks = np.stack([p.gadget.encode(tuple(x), i) for x in rows.tolist() for i in range(problem.n)])
    return torch.as_tensor(toks, dtype=torch.long)  # (K*n, n+1)


def _sync(dev):
    import torch

    if dev.type == "cuda":
        torch.cuda.synchronize()


def bench_audit(arch: str, width: int, n: int, K: int, dev) -> None:
    import torch

    from ccbounds import audit
    from ccbounds.problems import INDEX
    from ccbounds.training import TrainConfig

    torch.manual_seed(0)
    from ccbounds.models.build import build_model

    model = build_model(TrainConfig(arch, "index-lookup", n=n, width=width).model_config()).eval()
    problem = INDEX(n)
    audit(model, problem, precisions=(8,), samples=64, calibration_samples=32, witnesses=0, device=dev)  # warm-up
    _sync(dev)
    t0 = time.perf_counter()
    rep = audit(model, problem, precisions=(1, 8, 32), samples=K, witnesses=0, device=dev)
    _sync(dev)
    t_audit = time.perf_counter() - t0
    seqs = _sequences(model, problem, K).to(dev)
    model.to(dev)
    t0 = time.perf_counter()
    with torch.no_grad():
        for s in range(0, len(seqs), 16384):
            model(seqs[s:s + 16384])
    _sync(dev)
    t_plain = time.perf_counter() - t0
    model.cpu()
    tokens = K * n * (n + 1)
    print(f"(a) {arch} width {width} (S = {rep.scalars}) on INDEX_{n}, K = {K}, 3 precisions: audit "
          f"{tokens / t_audit:,.0f} tokens/s ({t_audit:.2f} s); plain inference {tokens / t_plain:,.0f} tokens/s "
          f"({t_plain:.3f} s); ratio audit time / inference time = {t_audit / t_plain:.1f}x")


def bench_train(arch: str, width: int, n: int, steps: int, dev) -> None:
    from ccbounds.training import TrainConfig, train

    cfg = TrainConfig(arch, "index-lookup", n=n, width=width, steps=steps, eval_size=256)
    train(TrainConfig(arch, "index-lookup", n=n, width=width, steps=5, eval_size=16), device=dev)  # warm-up
    t0 = time.perf_counter()
    train(cfg, device=dev)
    dt = time.perf_counter() - t0
    print(f"(b) training {arch} width {width} on index lookup n = {n}, batch 64: {steps / dt:.1f} steps/s "
          f"({steps} steps in {dt:.1f} s, including the held-out evaluation)")


def main() -> None:
    import torch

    from ccbounds.devices import resolve_device

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--samples", type=int, default=2048)
    ap.add_argument("--steps", type=int, default=200)
    args = ap.parse_args()
    dev = resolve_device(args.device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "CPU"
    print(f"device {dev} ({name}); torch {torch.__version__}; {torch.get_num_threads()} CPU threads")
    for arch, width in (("lstm", args.width), ("tf1", 64)):
        bench_audit(arch, width, args.n, args.samples, dev)
    for arch, width in (("lstm", args.width), ("tf1", 64)):
        bench_train(arch, width, args.n, args.steps, dev)


if __name__ == "__main__":
    main()
