"""Pictures of communication matrices: the matrix, a protocol's leaf rectangles, a fooling set (theory §1, §3).

Rows are Alice's inputs and columns Bob's, in the documented orders of :mod:`ccbounds.problems`
(bit strings in binary order), so row i of the picture is ``problem.alice_inputs()[i]``.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> from ccbounds.problems import EQ
>>> ax = plot_matrix(EQ(2))
>>> ax.get_title(), [t.get_text() for t in ax.get_yticklabels()]
('EQ_2: communication matrix (4 x 4)', ['00', '01', '10', '11'])
>>> plt.close("all")
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ccbounds.errors import InvalidInputError
from ccbounds.plotting._style import (
    COLOURS,
    MAX_TICK_LABELS,
    PALETTE,
    as_matrix_and_inputs,
    input_axis_label,
    input_text,
    new_axes,
)
from ccbounds.plotting._treeutil import leaf_numbers, tree_inputs

__all__ = ["plot_matrix", "plot_rectangles", "plot_fooling_set", "OUTPUT_COLOURS"]

#: cell colours of the outputs 0 and 1 (other outputs cycle through the rest of the palette)
OUTPUT_COLOURS = {0: "#F2F2F2", 1: COLOURS["blue"]}

#: matrices with at most this many rows and columns get their values written in the cells
MAX_ANNOTATED_SIDE = 8

def _output_colour(v: int) -> str:
    if v in OUTPUT_COLOURS:
        return OUTPUT_COLOURS[v]
    others = [c for c in PALETTE[1:] if c not in OUTPUT_COLOURS.values()]
    return others[(v - 2) % len(others)]


def _ink(rgb: Any) -> str:
    """Black or white text, whichever reads better on ``rgb``."""
    from matplotlib.colors import to_rgb

    r, g, b = to_rgb(rgb)
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.55 else "white"


def _setup_axes(ax: Any, M: np.ndarray, xs: list | None, ys: list | None, problem: Any,
                labels: bool | str) -> None:
    R, C = M.shape
    ax.set_xlim(-0.5, C - 0.5)
    ax.set_ylim(R - 0.5, -0.5)
    ax.set_aspect("equal")
    ax.set_ylabel(input_axis_label("Alice", xs, problem))
    ax.set_xlabel(input_axis_label("Bob", ys, problem))
    for side, inputs, count, set_ticks, set_labels in (
        ("x", ys, C, ax.set_xticks, ax.set_xticklabels), ("y", xs, R, ax.set_yticks, ax.set_yticklabels)
    ):
        show = (count <= MAX_TICK_LABELS) if labels == "auto" else bool(labels)
        if show and inputs is not None:
            set_ticks(range(count))
            texts = [input_text(v) for v in inputs]
            set_labels(texts, fontsize=8 if count > 8 else 9,
                       rotation=90 if side == "x" and max(map(len, texts)) > 2 else 0)
        else:
            step = max(1, 2 ** math.ceil(math.log2(max(count, 2) / 8)))
            set_ticks(range(0, count, step))
    if R <= 32 and C <= 32:  # thin white lines between cells
        ax.set_xticks(np.arange(-0.5, C, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, R, 1), minor=True)
        ax.grid(which="minor", color="white", linewidth=1.0)
        ax.tick_params(which="minor", length=0)


def _draw_values(ax: Any, M: np.ndarray, colours: np.ndarray, annotate: bool | str, extra: Any = None) -> None:
    R, C = M.shape
    if annotate == "auto":
        annotate = R <= MAX_ANNOTATED_SIDE and C <= MAX_ANNOTATED_SIDE
    if not annotate:
        return
    for i in range(R):
        for j in range(C):
            text = str(int(M[i, j])) if extra is None else f"{int(M[i, j])}\n{extra[i][j]}"
            ax.text(j, i, text, ha="center", va="center", fontsize=9 if extra is None else 8,
                    color=_ink(colours[i, j]), linespacing=0.9)


def _output_legend(ax: Any, values: list[int], title: str = "f(x, y)") -> None:
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=_output_colour(v), edgecolor="0.3", label=f"f = {v}") for v in values]
    ax.legend(handles=handles, title=title, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8,
              title_fontsize=8, frameon=False)


def plot_matrix(problem_or_matrix: Any, ax: Any = None, *, labels: bool | str = "auto",
                annotate: bool | str = "auto", title: str | None = None, legend: bool = True) -> Any:
    """Draw the communication matrix M[x, y] = f(x, y) as a picture (theory §1).

    Parameters
    ----------
    problem_or_matrix : Problem or array_like
        A :class:`~ccbounds.problems.Problem` (rows/columns are its inputs in the documented order) or a
        2-D integer matrix (rows/columns are indices).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when omitted.
    labels : {"auto", True, False}
        Tick labels with the inputs as text (bit strings); "auto": when a side has at most
        :data:`~ccbounds.plotting._style.MAX_TICK_LABELS` inputs.
    annotate : {"auto", True, False}
        Write each value in its cell; "auto": for matrices up to 8 x 8.
    title : str, optional
        Default: ``"<name>: communication matrix (R x C)"``.
    legend : bool
        Show which colour is which output.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    InvalidInputError
        A matrix that is not 2-D, empty or not integer.
    TooLargeError
        A problem whose matrix is too large to build.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> ax = plot_matrix([[1, 0], [0, 1]])
    >>> ax.get_xlabel()
    "Bob's input y (column index)"
    >>> plt.close("all")

    References
    ----------
    [KN] §1.1 (the communication matrix); theory §1.
    """
    from matplotlib.colors import to_rgb

    M, problem, xs, ys, name = as_matrix_and_inputs(problem_or_matrix)
    ax = new_axes(ax, (4.5, 4.0))
    colours = np.array([[to_rgb(_output_colour(int(v))) for v in row] for row in M])
    ax.imshow(colours, interpolation="nearest")
    _setup_axes(ax, M, xs, ys, problem, labels)
    _draw_values(ax, M, colours, annotate)
    ax.set_title(title if title is not None else f"{name}: communication matrix ({M.shape[0]} x {M.shape[1]})")
    if legend:
        _output_legend(ax, sorted(int(v) for v in np.unique(M)))
    return ax


def plot_rectangles(tree: Any, problem: Any, ax: Any = None, *, by: str = "auto", labels: bool | str = "auto",
                    annotate: bool | str = "auto", legend: bool | str = "auto", title: str | None = None) -> Any:
    """The matrix with the leaf rectangles of a protocol tree outlined ([KN] Prop. 1.13).

    A leaf's inputs form a rectangle R_x × R_y, but R_x and R_y need not be contiguous in the input
    order: cells are coloured by the leaf's **output** (the colours of :func:`plot_matrix`, blue = 1), so a
    wrong leaf shows as a cell whose colour differs from its value, and thick lines separate cells of
    different leaves. Each annotated cell shows f(x, y) and its leaf number ``ℓk`` (leaves numbered left
    to right as in :func:`~ccbounds.plotting.plot_protocol_tree`).

    Parameters
    ----------
    tree : ProtocolTree
    problem : Problem or array_like
        The problem (or matrix) the tree is for.
    ax : matplotlib.axes.Axes, optional
    by : {"auto", "input", "index"}
        What the tree's message functions read: the inputs (``problem.alice_inputs()``) or row/column
        indices. "auto": indices for a bare matrix or a tree made by ``ProtocolTree.from_splits``
        (the exact-D witness), inputs otherwise.
    labels, annotate : see :func:`plot_matrix`
    legend : {"auto", True, False}
        One entry per leaf (rectangle size and output); "auto": up to 16 leaves.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from ccbounds.bounds import exact_D
    >>> from ccbounds.problems import GT
    >>> ax = plot_rectangles(exact_D(GT(2)).tree, GT(2))
    >>> ax.get_title().splitlines()[1]
    '7 leaf rectangles, depth 3 bits: a monochromatic partition'
    >>> plt.close("all")

    References
    ----------
    [KN] Prop. 1.13 (the leaves of a protocol partition M into monochromatic rectangles); theory §3.
    """
    from matplotlib.colors import to_rgb
    from matplotlib.patches import Patch

    from ccbounds.protocols import partition_defects

    (M, problem_obj, xs, ys, name), rows_in, cols_in = tree_inputs(tree, problem, by)
    rects = tree.leaf_rectangles(rows_in, cols_in)
    number = leaf_numbers(tree)  # ℓk as in plot_protocol_tree
    ids = [number[tree.leaf_of(rows_in[rr[0]], cols_in[cc[0]])] for rr, cc, _ in rects]
    R, C = M.shape
    leaf = np.full((R, C), -1, dtype=np.int64)
    for k, (rr, cc, _) in zip(ids, rects):
        leaf[np.ix_(list(rr), list(cc))] = k
    out = {k: o for k, (_, _, o) in zip(ids, rects)}  # the answer each leaf gives
    colours = np.array([[to_rgb(_output_colour(int(out[leaf[i, j]]))) if leaf[i, j] >= 0 else to_rgb("white")
                         for j in range(C)] for i in range(R)])
    ax = new_axes(ax, (5.5, 4.2))
    ax.imshow(colours, interpolation="nearest")
    _setup_axes(ax, M, xs, ys, problem_obj, labels)
    ax.grid(False, which="minor")
    _draw_values(ax, M, colours, annotate, extra=[[f"ℓ{leaf[i, j]}" for j in range(C)] for i in range(R)])
    # borders between cells of different leaves (rectangles can be scattered in the input order)
    segs = []
    for i in range(R):
        for j in range(C):
            if j + 1 < C and leaf[i, j] != leaf[i, j + 1]:
                segs.append([(j + 0.5, i - 0.5), (j + 0.5, i + 0.5)])
            if i + 1 < R and leaf[i, j] != leaf[i + 1, j]:
                segs.append([(j - 0.5, i + 0.5), (j + 0.5, i + 0.5)])
    from matplotlib.collections import LineCollection

    ax.add_collection(LineCollection(segs, colors="black", linewidths=2.0 if max(R, C) <= 16 else 1.0))
    defects = partition_defects(rects, M)
    verdict = "a monochromatic partition" if not defects else f"NOT a monochromatic partition ({defects[0]})"
    head = title if title is not None else f"{getattr(tree, 'name', 'protocol tree')} on {name}"
    ax.set_title(f"{head}\n{len(rects)} leaf rectangles, depth {tree.cost} bits: {verdict}", fontsize=10)
    if legend is True or (legend == "auto" and len(rects) <= 16):
        handles = [Patch(facecolor=_output_colour(int(o)), edgecolor="black",
                         label=f"ℓ{k}: {len(rr)}x{len(cc)} → {o}")
                   for k, (rr, cc, o) in sorted(zip(ids, rects))]
        ax.legend(handles=handles, title="leaf: |R_x|x|R_y| → output", loc="upper left",
                  bbox_to_anchor=(1.02, 1.0), fontsize=8, title_fontsize=8, frameon=False)
    return ax


def plot_fooling_set(problem: Any, fooling_set_result: Any, ax: Any = None, *, labels: bool | str = "auto",
                     annotate: bool | str = "auto", title: str | None = None) -> Any:
    """The matrix with the cells of a fooling set ringed ([KN] Prop. 1.14, theory §3).

    Parameters
    ----------
    problem : Problem or array_like
    fooling_set_result : Bound, FoolingSet or sequence of (row, column)
        What :func:`~ccbounds.bounds.largest_fooling_set` returns (a Bound whose witness is a
        :class:`~ccbounds.bounds.FoolingSet`), the FoolingSet itself, or bare cells.
    ax : matplotlib.axes.Axes, optional
    labels, annotate, title : see :func:`plot_matrix`

    Returns
    -------
    matplotlib.axes.Axes
        The title states the set's kind and size, whether it is a fooling set (checked with
        :func:`~ccbounds.bounds.is_fooling_set`), and the bound D >= ⌈log2 L⌉ it forces.

    Raises
    ------
    InvalidInputError
        Cells that are not (row, column) pairs.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from ccbounds.bounds import largest_fooling_set
    >>> from ccbounds.problems import EQ
    >>> ax = plot_fooling_set(EQ(2), largest_fooling_set(EQ(2), "1"))
    >>> ax.get_title().splitlines()[1]
    '1-fooling set, 4 cells (largest): 5 leaves forced, D >= 3 bits'
    >>> plt.close("all")

    References
    ----------
    [KN] Prop. 1.14 and Ex. 1.20 (fooling sets); theory §3.
    """
    from ccbounds.bounds import FoolingSet, is_fooling_set
    from ccbounds.bounds.fooling import fooling_leaves

    w = getattr(fooling_set_result, "witness", fooling_set_result)
    if isinstance(w, FoolingSet):
        kind, cells, optimal = w.kind, list(w.cells), w.optimal
    else:
        try:
            cells = [(int(i), int(j)) for i, j in w]
        except (TypeError, ValueError):
            raise InvalidInputError(
                "pass largest_fooling_set(...)'s Bound, a FoolingSet or (row, column) pairs") from None
        kind, optimal = "combined", False
    M, _, _, _, name = as_matrix_and_inputs(problem)
    ax = plot_matrix(problem, ax, labels=labels, annotate=annotate, title="", legend=False)
    if cells:
        rows, cols = zip(*cells)
        ax.scatter(cols, rows, s=300 if max(M.shape) <= 8 else 90, facecolors="none",
                   edgecolors=COLOURS["vermillion"], linewidths=2.5, marker="o", zorder=3)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    ok = is_fooling_set(cells, M, kind)
    leaves = fooling_leaves(M, cells) if ok else 0
    bound = math.ceil(math.log2(leaves)) if leaves > 0 else 0
    what = (f"{kind}-fooling set, {len(cells)} cells ({'largest' if optimal else 'not proven largest'}): "
            f"{leaves} leaves forced, D >= {bound} bits") if ok else f"NOT a {kind}-fooling set ({len(cells)} cells)"
    ax.set_title(f"{title if title else name + ': fooling set'}\n{what}", fontsize=10)
    handles = [Patch(facecolor=_output_colour(int(v)), edgecolor="0.3", label=f"f = {int(v)}") for v in np.unique(M)]
    handles.append(Line2D([], [], marker="o", linestyle="none", markerfacecolor="none",
                          markeredgecolor=COLOURS["vermillion"], markeredgewidth=2.0, markersize=10,
                          label="fooling-set cell"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
    return ax
