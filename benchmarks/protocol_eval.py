"""Evaluating an induced protocol vs running the model on every full sequence (issue: reductions).

Setting: index lookup with n = 256; 1024 Alice inputs x, all n queries each, for two models:

* ``lstm``: an LSTM of width 256;
* ``mamba``: a Hugging Face ``MambaForCausalLM`` (2 layers, d_model 32, state 8, conv 4; random init),
  read at two answer tokens.

Both go through ``reduce``: the model's forward traced and cut (theory §4.3; the time to reduce is printed);
``--builtin`` also times, in the same run, the built-in reading it replaced (Lemma R through nn.LSTM's state,
and through the Mamba model's own cache).

The induced protocol computes Alice's message once per x (n tokens) and batches Bob over his n queries
(1 token each from the message). The baseline runs the model on each full sequence x_1..x_n, idx(i)
(n+1 tokens) for every (x, i).

By default the baseline is timed on the first ``--baseline-alice`` Alice inputs (all n queries each)
and the comparison is per (x, i) pair, which is what the ratio means; ``--full`` times the baseline on
all pairs (slow on a laptop CPU). Both paths' answers are compared on the pairs both computed.

Run:  python benchmarks/protocol_eval.py [--arch lstm,mamba] [--alice 1024] [--n 256] [--width 256]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from ccbounds.models import RecurrentConfig, build_model
from ccbounds.problems import INDEX
from ccbounds.reduction import reduce


def _lstm(args: argparse.Namespace) -> tuple[str, torch.nn.Module, dict]:
    model = build_model(RecurrentConfig("lstm", vocab_size=2 + args.n, num_classes=2, width=args.width)).eval()
    return f"LSTM width {args.width}", model, {}


def _mamba(args: argparse.Namespace) -> tuple[str, torch.nn.Module, dict]:
    from transformers import MambaConfig, MambaForCausalLM

    vocab = 2 + args.n  # the task's ids, then two answer tokens
    lm = MambaForCausalLM(MambaConfig(vocab_size=vocab + 2, hidden_size=32, state_size=8, conv_kernel=4,
                                      num_hidden_layers=2, expand=2)).eval()
    return "HF MambaForCausalLM (2 layers, d 32, state 8, conv 4)", lm, {"answer_tokens": [vocab, vocab + 1]}


def bench(args: argparse.Namespace, arch: str) -> None:
    torch.manual_seed(args.seed)
    problem = INDEX(args.n)
    label, model, kw = {"lstm": _lstm, "mamba": _mamba}[arch](args)
    model.to(args.device)
    rng = np.random.default_rng(args.seed)
    xs = [tuple(int(b) for b in row) for row in rng.integers(0, 2, size=(args.alice, args.n))]
    ys = list(range(args.n))
    paths = [("compiled cut (reduce)", reduce)]
    if args.builtin:
        from ccbounds.models.answers import AnswerLogits
        from reductions.registry import builtin_reduction

        def builtin(model: torch.nn.Module, problem: object, device: str, answer_tokens: list | None = None) -> object:
            if answer_tokens is not None:  # what reduce() does with answer_tokens
                model = AnswerLogits(model, answer_tokens)
            return builtin_reduction(model, problem, device=device)

        paths.append(("built-in reading (builtin_reduction, before the compiled path)", builtin))
    for path, make in paths:
        t0 = time.perf_counter()
        proto = make(model, problem, device=args.device, **kw)
        t_reduce = time.perf_counter() - t0
        print(f"{label}, {path}: reduce (trace, cut, validation) took {t_reduce:.1f} s")
        _evaluate(args, arch, label, proto, xs, ys)


def _evaluate(args: argparse.Namespace, arch: str, label: str, proto: object, xs: list, ys: list) -> None:
    base_batch = args.batch if arch == "lstm" else args.mamba_baseline_batch
    with torch.inference_mode():
        t0 = time.perf_counter()
        msgs = proto.messages(xs, batch=256)
        t_alice = time.perf_counter() - t0
        grid = proto.answer_grid(msgs, ys, batch=args.batch)
        t_proto = time.perf_counter() - t0

        nb = args.alice if args.full else min(args.baseline_alice if arch == "lstm" else args.mamba_baseline_alice,
                                              args.alice)
        pairs = [(x, i) for x in xs[:nb] for i in ys]
        t0 = time.perf_counter()
        ref = proto.model_answers(pairs, batch=base_batch)
        t_base = time.perf_counter() - t0

    agree = bool((grid[:nb].reshape(-1) == ref).all())
    per_proto = t_proto / (args.alice * args.n)
    per_base = t_base / len(pairs)
    print(f"{label}, INDEX_{args.n}: message S = {proto.scalars} scalars "
          f"({proto.cost_bits(32)} bits at fp32); device {args.device}; torch threads {torch.get_num_threads()}")
    print(f"  induced protocol: {args.alice} Alice inputs x {args.n} queries = {args.alice * args.n} pairs in "
          f"{t_proto:.2f} s (Alice {t_alice:.2f} s, Bob {t_proto - t_alice:.2f} s) -> {per_proto * 1e6:.2f} us/pair")
    print(f"  full-sequence baseline: {len(pairs)} pairs ({nb} Alice inputs x {args.n}) in {t_base:.2f} s "
          f"-> {per_base * 1e6:.2f} us/pair")
    print(f"  answers agree on the {len(pairs)} common pairs: {agree}")
    target = 100 if arch == "lstm" else 20
    print(f"  speed-up (time per pair, baseline / protocol): {per_base / per_proto:.1f}x   (target >= {target}x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", default="lstm,mamba", help="comma-separated: lstm, mamba")
    ap.add_argument("--alice", type=int, default=1024)
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--width", type=int, default=256, help="LSTM width")
    ap.add_argument("--baseline-alice", type=int, default=64)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--mamba-baseline-alice", type=int, default=8,
                    help="Alice inputs of the HF Mamba baseline (its reference scan is a Python loop over n)")
    ap.add_argument("--mamba-baseline-batch", type=int, default=512,
                    help="full sequences per forward for HF Mamba (its reference scan holds B x n x 64 x 8 floats)")
    ap.add_argument("--builtin", action="store_true",
                    help="also time the built-in reading the compiled cut replaced (the test oracle), in this run")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    for arch in args.arch.split(","):
        bench(args, arch.strip())


if __name__ == "__main__":
    main()
