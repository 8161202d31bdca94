"""The compiled reduction (theory §4.3): its compile time, and protocol evaluation against full sequences.

For a hand-written GRUCell loop (no built-in reading applies) on INDEX_n, prints:

* the time to compile: two traces (analysis and execution batch), the dependency analysis, the backward
  needed-elements pass, the minimum cut and its check, the growth check at n + 1, and the validation against
  the model's forward;
* the time to evaluate the protocol on A Alice inputs x all n queries (Alice's message once per x, Bob one
  step per query from the message) against running the model's own forward on every full sequence, and the
  ratio (per (x, i) pair), with the answers of both compared.

With ``--phases`` it instead prints the compile time of ``compile_reduction`` split by phase (trace, analysis,
needed, network + cut, check, growth at n + 1, validation, other), for an LSTM of width 256 on INDEX_256 (the model
of ``benchmarks/protocol_eval.py --arch lstm``), an LSTM of width 64 on INDEX_16, the GRUCell loop of width 32 on
INDEX_64 and nanoGPT's one-layer attention (tests/compiled_models.py) on EQ_16; with ``--suite``, the same split
summed over the conformance models of tests/compiled_models.py at their small n (the test-suite's workload).
A phase's time excludes the phases nested in it; "growth" is the whole compile at n + 1; "trace" includes
the program's re-run for the analysis batch size (``reductions.compiled.trace.rebatch``) where there is one.

Run:  python benchmarks/compiled.py [--n 64] [--width 32] [--alice 256]
      python benchmarks/compiled.py --phases [--only lstm64,gru32] | --suite
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ccbounds.errors import ReductionNotApplicable
from ccbounds.problems import INDEX
from ccbounds.reduction import reduce


class CellLoop(nn.Module):
    def __init__(self, vocab: int, width: int) -> None:
        super().__init__()
        self.emb, self.cell, self.head = nn.Embedding(vocab, width), nn.GRUCell(width, width), nn.Linear(width, 2)
        self.width = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.zeros(x.shape[0], self.width)
        for t in range(x.shape[1]):
            h = self.cell(self.emb(x[:, t]), h)
        return self.head(h)


PHASES = ("trace", "analysis", "needed", "network+cut", "check", "growth", "validation")


@contextlib.contextmanager
def phase_timer() -> object:
    """Wrap the compiled reduction's phases (module attributes, restored on exit); yields a dict phase -> seconds,
    each excluding the phases nested in it, except "growth", which is the whole compile at n + 1."""
    import networkx

    from reductions.compiled import cut, protocol, trace

    times = dict.fromkeys(PHASES, 0.0)
    stack: list = []  # [name, child seconds]

    def wrap(name: str, f: object) -> object:
        def inner(*a: object, **k: object) -> object:
            if any(s[0] == "growth" for s in stack):
                return f(*a, **k)
            stack.append([name, 0.0])
            t0 = time.perf_counter()
            try:
                return f(*a, **k)
            finally:
                dt = time.perf_counter() - t0
                _, child = stack.pop()
                times[name] += dt - (0.0 if name == "growth" else child)
                if stack:
                    stack[-1][1] += dt
        return inner

    patches = [(trace, "trace_forward", "trace"), (cut._Analysis, "__init__", "analysis"),
               *([(trace, "rebatch", "trace")] if hasattr(trace, "rebatch") else []),
               (cut._Analysis, "_needed", "needed"), (cut, "_build_network", "network+cut"),
               (networkx, "minimum_cut", "network+cut"), (cut, "check_cut", "check"),
               (protocol.CompiledProtocol, "_growth", "growth"), (protocol.CompiledProtocol, "_validate", "validation")]
    saved = [(obj, attr, getattr(obj, attr)) for obj, attr, _ in patches]
    try:
        for obj, attr, name in patches:
            setattr(obj, attr, wrap(name, getattr(obj, attr)))
        yield times
    finally:
        for obj, attr, f in saved:
            setattr(obj, attr, f)


def _phase_models() -> list:
    from ccbounds.models import RecurrentConfig, build_model
    from ccbounds.problems import EQ

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import compiled_models as cm

    def lstm(width: int, n: int) -> nn.Module:
        torch.manual_seed(0)
        return build_model(RecurrentConfig("lstm", vocab_size=2 + n, num_classes=2, width=width)).eval()

    def gru(width: int, n: int) -> nn.Module:
        torch.manual_seed(0)
        return CellLoop(n + 2, width).eval()

    return [("lstm256", "LSTM width 256, INDEX_256", lambda: lstm(256, 256), lambda: INDEX(256)),
            ("lstm64", "LSTM width 64, INDEX_16", lambda: lstm(64, 16), lambda: INDEX(16)),
            ("gru32", "GRUCell loop width 32, INDEX_64", lambda: gru(32, 64), lambda: INDEX(64)),
            ("attn", "nanoGPT attention (1 layer), EQ_16", lambda: cm.build(cm.GPT), lambda: EQ(16))]


def _row(label: str, times: dict, total: float, S: object) -> str:
    other = total - sum(times.values())
    cells = " ".join(f"{times[p]:>8.2f}" for p in PHASES)
    return f"{label:<38} {cells} {other:>8.2f} {total:>8.2f}  S={S}"


def phases_main(only: str | None, suite: bool) -> None:
    from reductions.compiled import compile_reduction

    head = f"{'model':<38} " + " ".join(f"{p[:8]:>8}" for p in PHASES) + f" {'other':>8} {'total':>8}"
    # warm-up: torch's first trace in a process pays one-off imports and caches
    t0 = time.perf_counter()
    compile_reduction(CellLoop(4, 2).eval(), INDEX(2))
    print(f"warm-up compile (first trace of the process): {time.perf_counter() - t0:.2f} s")
    print("compile time of compile_reduction by phase (seconds; torch threads 1)")
    print(head)
    if suite:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        import compiled_models as cm

        acc = dict.fromkeys(PHASES, 0.0)
        total, worst, count, refused = 0.0, ("", 0.0), 0, []
        for c in cm.CASES:
            model, problem = c.factory(), c.problem(c.small_n)
            with phase_timer() as times:
                t0 = time.perf_counter()
                try:
                    compile_reduction(model, problem)
                except ReductionNotApplicable:
                    refused.append(c.name)
                    continue
                dt = time.perf_counter() - t0
            for p in PHASES:
                acc[p] += times[p]
            total += dt
            count += 1
            worst = max(worst, (c.name, dt), key=lambda w: w[1])
        print(_row(f"{count} conformance models at small n", acc, total, "-"))
        print(f"mean {total / count:.2f} s per model; slowest {worst[0]} {worst[1]:.2f} s; refused by "
              f"compile_reduction itself (not timed): {', '.join(refused) or 'none'}")
        return
    for key, label, build, problem in _phase_models():
        if only and key not in only.split(","):
            continue
        model, prob = build(), problem()
        with phase_timer() as times:
            t0 = time.perf_counter()
            p = compile_reduction(model, prob)
            dt = time.perf_counter() - t0
        print(_row(label, times, dt, p.scalars), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--alice", type=int, default=256)
    ap.add_argument("--phases", action="store_true", help="compile time by phase on four models")
    ap.add_argument("--only", default=None, help="with --phases: lstm256,lstm64,gru32,attn")
    ap.add_argument("--suite", action="store_true", help="compile time by phase over the conformance models")
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    if args.phases or args.suite:
        phases_main(args.only, args.suite)
        return
    problem = INDEX(args.n)
    model = CellLoop(args.n + 2, args.width).eval()
    t0 = time.perf_counter()
    p = reduce(model, problem)
    t_compile = time.perf_counter() - t0
    print(f"compiled {type(p).__name__}: S = {p.scalars} scalars (width {args.width}); "
          f"compile {t_compile:.1f} s (traces, analysis, cut, growth check at n + 1, validation)")
    rng = np.random.default_rng(0)
    xs = [tuple(int(b) for b in rng.integers(0, 2, args.n)) for _ in range(args.alice)]
    ys = list(range(args.n))
    t0 = time.perf_counter()
    got = p.answer_grid(p.messages(xs), ys)
    t_protocol = time.perf_counter() - t0
    base_x = xs[: max(1, args.alice // 8)]
    t0 = time.perf_counter()
    want = p.model_grid(base_x, ys)
    t_model = (time.perf_counter() - t0) * len(xs) / len(base_x)
    same = bool((got[: len(base_x)] == want).all())
    print(f"protocol on {len(xs)} x {args.n} pairs: {t_protocol:.2f} s; full sequences (timed on {len(base_x)} x, "
          f"scaled): {t_model:.2f} s; ratio {t_model / t_protocol:.1f}x; answers equal: {same}")


if __name__ == "__main__":
    main()
