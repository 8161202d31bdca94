"""The compiled reduction (theory §4.3): its compile time, and protocol evaluation against full sequences.

For a hand-written GRUCell loop (no built-in reading applies) on INDEX_n, prints:

* the time to compile: two traces (analysis and execution batch), the dependency analysis, the backward
  needed-elements pass, the minimum cut and its check, the growth check at n + 1, and the validation against
  the model's forward;
* the time to evaluate the protocol on A Alice inputs x all n queries (Alice's message once per x, Bob one
  step per query from the message) against running the model's own forward on every full sequence, and the
  ratio (per (x, i) pair), with the answers of both compared.

Run:  python benchmarks/compiled.py [--n 64] [--width 32] [--alice 256]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch import nn

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--alice", type=int, default=256)
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
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
