"""Write the README gallery, docs/figures/*.png, with the public API only.

Usage::

    python scripts/make_figures.py [--out docs/figures] [--only NAME ...]

Figures (each deterministic: fixed seeds, single-threaded torch):

- ``matrices.png``      the communication matrices of EQ_3, DISJ_3, GT_3, IP_3 and INDEX_3 (theory §1-§2);
- ``protocol_tree.png`` the exact-D witness tree of GT_2 (exact_D), and its leaf rectangles (theory §8);
- ``fooling_set.png``   the largest 1-fooling set of EQ_3 and the bound D(EQ_3) >= 4 it forces (theory §3);
- ``error_vs_bound.png`` the random-parity EQ_8 protocol's measured error against 2^-k (theory §2);
- ``message.png``       Alice's messages in the induced protocols of the hand-set one-layer index-lookup
  Transformer with an 8-dimensional position code (Lemma T) and of a small LSTM trained for 300 steps
  (Lemma R) on INDEX_4 (theory §4);
- ``separation.png``    width needed vs n: LSTM/GRU/one-layer bounds against the [BHBK] constructions (theory §4, §7).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import ccbounds  # noqa: E402
from ccbounds import plotting  # noqa: E402
from ccbounds.bounds import exact_D, largest_fooling_set  # noqa: E402

DPI = 100


def fig_matrices() -> plt.Figure:
    problems = [ccbounds.EQ(3), ccbounds.DISJ(3), ccbounds.GT(3), ccbounds.IP(3), ccbounds.INDEX(3)]
    fig, axes = plt.subplots(1, len(problems), figsize=(17, 4.4), layout="constrained")
    for ax, p in zip(axes, problems):
        plotting.plot_matrix(p, ax=ax, annotate=False, legend=p is problems[-1], title=p.name)
        ax.xaxis.label.set_fontsize(8)
        ax.yaxis.label.set_fontsize(8)
    fig.suptitle("Communication matrices: rows = Alice's input x, columns = Bob's input y, blue = f(x, y) = 1")
    return fig


def fig_protocol_tree() -> plt.Figure:
    problem = ccbounds.GT(2)
    res = exact_D(problem)
    fig, (a, b) = plt.subplots(1, 2, figsize=(13, 4.8), layout="constrained", width_ratios=[1.35, 1])
    plotting.plot_protocol_tree(res.tree, ax=a, problem=problem)
    plotting.plot_rectangles(res.tree, problem, ax=b, title="its leaf rectangles")
    fig.suptitle(f"{res}".split("  [")[0] + " (exact): an optimal protocol tree and the rectangles it induces")
    return fig


def fig_fooling_set() -> plt.Figure:
    problem = ccbounds.EQ(3)
    fig, ax = plt.subplots(figsize=(6.2, 4.6), layout="constrained")
    plotting.plot_fooling_set(problem, largest_fooling_set(problem, "1"), ax=ax)
    return fig


def fig_error_vs_bound() -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6.0, 4.4), layout="constrained")
    plotting.plot_error_vs_bound(ax=ax, n=8, ks=range(1, 7), samples=32, coin_samples=100, seed=0)
    return fig


def fig_message() -> plt.Figure:
    import torch

    from ccbounds.models import index_lookup_transformer
    from ccbounds.training import TrainConfig, train

    torch.set_num_threads(1)
    problem = ccbounds.INDEX(4)
    xs = problem.alice_inputs()
    from reductions.registry import builtin_reduction

    # Lemma T's reading (the built-in one: reduce() compiles a cheaper copy of Alice's embeddings here, since
    # Lemma T's Q = n pairs grow with n); k = 8: a narrow, still verified code
    tf = builtin_reduction(index_lookup_transformer(4, k=8), problem)
    lstm = train(TrainConfig("lstm", "index-lookup", n=4, width=8, steps=300, seed=0, eval_size=500))
    rnn = ccbounds.reduce(lstm.model, problem)
    fig, (a, b) = plt.subplots(1, 2, figsize=(14, 5.0), layout="constrained", width_ratios=[1.8, 1])
    per_query = tf.scalars // 4
    plotting.plot_message(tf.alice_messages(xs), ax=a, inputs=xs, precision=32, vmax=1.0,
                          segments=[(f"query i = {i}", per_query) for i in range(4)],
                          title="1-layer index-lookup construction (Lemma T): "
                                "per query 18 values + 1 log-mass (≈ 7, saturated)")
    plotting.plot_message(rnn.alice_messages(xs), ax=b, inputs=xs, precision=32, segments=[("h", 8), ("c", 8)],
                          title=f"LSTM width 8, 300 steps, accuracy {lstm.accuracy:.2f} (Lemma R: h, c)")
    fig.suptitle("Alice's messages for every x ∈ {0,1}^4 of INDEX_4 (one row per input)")
    return fig


def fig_separation() -> plt.Figure:
    return plotting.separation_plot(precision=32)


#: what to see in each figure (written under it, and in the README gallery)
CAPTIONS = {
    "matrices": "Each panel is one function: row = Alice's input, column = Bob's input, blue = 1. EQ is the "
                "diagonal, GT the strict lower triangle, IP the 0/1 Hadamard pattern; INDEX has one column per index.",
    "protocol_tree": "An optimal protocol for GT_2 found by exact_D (depth = bits sent) and the monochromatic "
                     "rectangles its leaves cut out of the matrix: at most 2^depth of them.",
    "fooling_set": "Ringed cells: a largest 1-fooling set of EQ_3. No two can share a leaf, since their cross "
                   "cells are 0; with one 0-leaf that forces 9 leaves, so D(EQ_3) >= 4 bits.",
    "error_vs_bound": "The public-coin EQ_8 protocol: measured error against the proven 2^-k; the error halves "
                      "with each extra parity bit, whatever n is.",
    "message": "Alice's messages for all 16 inputs of INDEX_4. Left (Lemma T): one block per query value i; the "
               "first columns of block i follow bit i of x. Right (Lemma R): the LSTM's h and c, centred at 0 "
               "(orange positive, purple negative).",
}

FIGURES = {
    "matrices": fig_matrices,
    "protocol_tree": fig_protocol_tree,
    "fooling_set": fig_fooling_set,
    "error_vs_bound": fig_error_vs_bound,
    "message": fig_message,
    "separation": fig_separation,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "docs" / "figures"),
                        help="output folder (default: docs/figures of this repository)")
    parser.add_argument("--only", nargs="*", choices=sorted(FIGURES), help="write only these figures")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in args.only or FIGURES:
        t0 = time.perf_counter()
        fig = FIGURES[name]()
        plotting.add_caption(fig, CAPTIONS.get(name) or fig.caption)
        path = out / f"{name}.png"
        fig.savefig(path, dpi=DPI, bbox_inches="tight")
        plt.close(fig)
        print(f"wrote {path} ({path.stat().st_size // 1024} KB, {time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
