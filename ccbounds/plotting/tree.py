"""Drawing a deterministic protocol tree, top-down ([KN] Def. 1.1, theory §1).

Layout: the leaves sit left to right in depth-first order (child 0 before child 1), each internal
node above the middle of its children, and the height is the depth — the number of bits sent so
far — so the picture's y axis is in bits and the lowest leaf sits at the tree's cost.

Examples
--------
>>> import matplotlib; matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> from ccbounds.protocols import ProtocolTree
>>> t = ProtocolTree.from_nested(("Alice", lambda x: x, "x", 0, ("Bob", lambda y: y, "y", 0, 1)))
>>> tree_layout(t)
{0: (0.75, 0), 1: (0.0, 1), 2: (1.5, 1), 3: (1.0, 2), 4: (2.0, 2)}
>>> ax = plot_protocol_tree(t)
>>> ax.get_ylabel()
'depth (bits sent so far)'
>>> plt.close("all")
"""

from __future__ import annotations

import textwrap
from typing import Any

from ccbounds.plotting._style import COLOURS, OWNER_COLOURS, input_text, new_axes
from ccbounds.plotting._treeutil import child, leaf_numbers, tree_inputs, tree_layout
from ccbounds.plotting.matrix import OUTPUT_COLOURS

__all__ = ["plot_protocol_tree", "tree_layout", "leaf_numbers"]

#: set labels list at most this many inputs before "..."
MAX_LISTED_INPUTS = 4


def _set_text(sym: str, items: list[str]) -> str:
    extra = len(items) - MAX_LISTED_INPUTS
    shown = items[:MAX_LISTED_INPUTS] + ([f"…+{extra}"] if extra > 0 else [])
    return f"{sym} ∈ {{{', '.join(shown)}}}"


def _computed_labels(tree: Any, problem: Any, by: str) -> dict[int, str]:
    """For each internal node: which of the inputs reaching it send bit 1 (computed by running the functions)."""
    (M, _, xs, ys, _), rows_in, cols_in = tree_inputs(tree, problem, by)
    xt = [input_text(v) for v in xs] if xs is not None else [str(i) for i in range(M.shape[0])]
    yt = [input_text(v) for v in ys] if ys is not None else [str(j) for j in range(M.shape[1])]
    out: dict[int, str] = {}

    def rec(v: int, rows: list[int], cols: list[int]) -> None:
        d = tree.graph.nodes[v]
        if "owner" not in d:
            return
        alice = d["owner"] == "Alice"
        idx, inputs, texts = (rows, rows_in, xt) if alice else (cols, cols_in, yt)
        ones = [i for i in idx if int(d["func"](inputs[i])) == 1]
        out[v] = _set_text("x" if alice else "y", [texts[i] for i in ones])
        zeros = [i for i in idx if i not in set(ones)]
        rec(child(tree, v, 0), zeros if alice else rows, cols if alice else zeros)
        rec(child(tree, v, 1), ones if alice else rows, cols if alice else ones)

    rec(tree.root, list(range(M.shape[0])), list(range(M.shape[1])))
    return out


def plot_protocol_tree(tree: Any, ax: Any = None, *, problem: Any = None, by: str = "auto",
                       title: str | None = None, wrap: int = 18) -> Any:
    """Draw a :class:`~ccbounds.protocols.ProtocolTree` top-down.

    Internal nodes are boxes coloured by owner (Alice orange, Bob sky blue) holding the owner and the
    message label; edges carry the bit sent; leaves show their number ℓk (left to right, as in
    :func:`~ccbounds.plotting.plot_rectangles`) and output (blue: 1, grey: 0).

    Parameters
    ----------
    tree : ProtocolTree
    ax : matplotlib.axes.Axes, optional
    problem : Problem or array_like, optional
        When given, each node's label is computed by running its message function: the inputs
        *reaching that node* that send 1, as bit strings (e.g. ``1 iff x ∈ {10, 11}``), instead of the
        tree's stored label.
    by : {"auto", "input", "index"}
        What the message functions read (see :func:`~ccbounds.plotting.plot_rectangles`); used with ``problem``.
    title : str, optional
        Default: the tree's name and cost.
    wrap : int
        Wrap node labels at this many characters.

    Returns
    -------
    matplotlib.axes.Axes
        y axis: depth in bits (0 at the root); x axis: leaves in depth-first order.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from ccbounds.bounds import exact_D
    >>> from ccbounds.problems import EQ
    >>> ax = plot_protocol_tree(exact_D(EQ(2)).tree, problem=EQ(2))
    >>> ax.get_title()
    'optimal protocol for EQ_2: depth 3 bits, 8 leaves'
    >>> plt.close("all")

    References
    ----------
    [KN] Def. 1.1 (protocol trees); theory §1.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    tree.validate()
    pos = tree_layout(tree)
    n_leaves = len(tree.leaves)
    depth = tree.cost
    ax = new_axes(ax, (max(5.0, 1.05 * n_leaves + 1.5), max(3.0, 1.1 * depth + 1.2)))
    labels = _computed_labels(tree, problem, by) if problem is not None else {}
    leaf_no = leaf_numbers(tree)
    fs = 9 if n_leaves <= 8 else 7 if n_leaves <= 16 else 5
    g = tree.graph
    for u, v, d in g.edges(data=True):
        (x0, y0), (x1, y1) = pos[u], pos[v]
        ax.add_line(Line2D([x0, x1], [y0, y1], color="0.35", linewidth=1.2, zorder=1))
        ax.text((x0 + x1) / 2, (y0 + y1) / 2, str(d["bit"]), ha="center", va="center", fontsize=fs,
                color="black", zorder=3, bbox=dict(boxstyle="circle,pad=0.15", facecolor="white", edgecolor="0.6"))
    for v, (x, y) in pos.items():
        d = g.nodes[v]
        if "owner" in d:
            if v in labels:
                text = f"{d['owner']} sends 1 iff\n" + "\n".join(textwrap.wrap(labels[v], wrap) or [""])
            else:
                text = f"{d['owner']} sends\n" + "\n".join(textwrap.wrap(d.get("label") or "a bit", wrap) or [""])
            face, ink = OWNER_COLOURS[d["owner"]], "black"
        else:
            out = d["output"]
            text = f"ℓ{leaf_no[v]}: out {out.item() if hasattr(out, 'item') else out}"
            numeric = str(out).lstrip("-").isdigit()
            face = OUTPUT_COLOURS.get(int(out), COLOURS["reddish purple"]) if numeric else "white"
            ink = "white" if face == OUTPUT_COLOURS[1] else "black"
        ax.text(x, y, text, ha="center", va="center", fontsize=fs, color=ink, zorder=4, linespacing=1.0,
                bbox=dict(boxstyle="round,pad=0.3", facecolor=face, edgecolor="0.25"))
    ax.set_xlim(-0.7, max(n_leaves - 1, 1) + 0.7)
    ax.set_ylim(depth + 0.6, -0.6)
    ax.set_yticks(range(depth + 1))
    ax.set_xticks([])
    ax.set_ylabel("depth (bits sent so far)")
    ax.set_xlabel(f"leaves in depth-first order ({n_leaves} leaves; edge label = bit sent)")
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    name = getattr(tree, "name", "protocol tree")
    ax.set_title(title if title is not None else f"{name}: depth {depth} bits, {n_leaves} leaves")
    handles = [Patch(facecolor=OWNER_COLOURS["Alice"], edgecolor="0.25", label="Alice sends"),
               Patch(facecolor=OWNER_COLOURS["Bob"], edgecolor="0.25", label="Bob sends"),
               Patch(facecolor=OUTPUT_COLOURS[1], edgecolor="0.25", label="leaf: output 1"),
               Patch(facecolor=OUTPUT_COLOURS[0], edgecolor="0.25", label="leaf: output 0")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    return ax
