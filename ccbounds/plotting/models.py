"""Plots about models: an induced protocol's message, and the width separation of [BHBK] (theory §4, §7).

Examples
--------
>>> rows = separation_data([8, 4096], precision=32)
>>> [(r["panel"], r["n"], r["width"]) for r in rows if r["model"] == "LSTM"]
[('index lookup', 8, 1), ('index lookup', 4096, 64), ('equality', 8, 1), ('equality', 4096, 64)]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ccbounds.errors import InvalidInputError
from ccbounds.plotting._style import COLOURS, as_float_array, input_text, new_axes

__all__ = ["plot_message", "separation_data", "separation_plot", "separation_caption", "DEFAULT_NS", "PANELS"]

#: default input lengths of the separation plot: 2^3 .. 2^20
DEFAULT_NS = tuple(2**k for k in range(3, 21))

#: panel key -> (problem for budget(), construction name, panel title)
PANELS = {
    "index lookup": ("index", "index_lookup", "index lookup (INDEX_n)"),
    "equality": ("eq", "two_layer_eq", "string equality (EQ_n)"),
}

#: how each curve is drawn: label -> (colour, line style, marker, line width); colours are Okabe–Ito pairs that
#: stay distinct under every common colour-vision deficiency (no orange beside vermillion)
_STYLE = {
    "LSTM": (COLOURS["blue"], "-", "o", 2.0),
    "GRU": (COLOURS["orange"], "--", "v", 2.0),
    "1-layer Transformer": (COLOURS["reddish purple"], "-.", "^", 3.5),
    "1-layer construction": (COLOURS["bluish green"], "none", "D", 0.0),
    "2-layer construction": (COLOURS["black"], "none", "s", 0.0),
}

#: legend text per curve
_LEGEND = {
    "LSTM": "LSTM: lower bound (S = 2·width)",
    "GRU": "GRU: lower bound (S = width)",
    "1-layer Transformer": "1-layer Transformer: lower bound",
    "1-layer construction": "[BHBK] 1-layer Transformer that solves it",
    "2-layer construction": "[BHBK] 2-layer Transformer that solves it",
}


def plot_message(message: Any, ax: Any = None, title: str = "Alice's message", *, inputs: Sequence[Any] | None = None,
                 cmap: str | None = None, precision: int | None = None, vmin: float | None = None,
                 vmax: float | None = None, segments: Sequence[tuple[str, int]] | None = None) -> Any:
    """An induced protocol's message as a heatmap: one row per Alice input, one column per state scalar.

    Parameters
    ----------
    message : array_like or torch.Tensor
        One message of S scalars, shape (S,), or K messages, shape (K, S) — e.g.
        ``protocol.messages(xs)`` of :func:`ccbounds.reduce`.
    ax : matplotlib.axes.Axes, optional
    title : str
        The first title line; a second line gives K, S and (with ``precision``) the message size S·b.
    inputs : sequence, optional
        Alice's K inputs, for row labels (bit strings); at most 32 are labelled.
    cmap : str, optional
        Default: for signed values the diverging, colour-blind-safe ``"PuOr_r"`` centred at 0 (orange
        positive, purple negative, white zero); for values of one sign the sequential ``"cividis"``.
    precision : int, optional
        b, bits per scalar, to state S·b in the title.
    vmin, vmax : float, optional
        Colour range (default: the data's range); values outside saturate and the colourbar shows an
        arrow — useful when a few large scalars (e.g. log-masses) would flatten the rest.
    segments : sequence of (name, size), optional
        The message's parts in order (e.g. ``[("h, layer 1", 8), ("c, layer 1", 8)]`` for an LSTM): drawn
        as labelled column blocks separated by lines. Sizes must add up to S.

    Returns
    -------
    matplotlib.axes.Axes
        With a colourbar in the scalars' own units.

    Raises
    ------
    InvalidInputError
        An empty message, or one with more than two dimensions.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> ax = plot_message([[0.5, -1.0, 2.0], [0.0, 1.0, 1.5]], precision=32)
    >>> ax.get_title().splitlines()[1]
    'K = 2 Alice inputs x S = 3 scalars; S·b = 3 x 32 = 96 bits per message'
    >>> plt.close("all")

    References
    ----------
    theory §4 (Lemma R: the state; Lemma T: the partial softmax sums).
    """
    arr = as_float_array(message)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise InvalidInputError(f"a message is (S,) or (K, S), got shape {arr.shape}; reshape it")
    K, S = arr.shape
    ax = new_axes(ax, (min(11.0, 3.0 + 0.12 * S), min(7.0, 1.6 + 0.22 * K)))
    finite = arr[np.isfinite(arr)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    v0 = lo if vmin is None else float(vmin)
    v1 = hi if vmax is None else float(vmax)
    if v1 <= v0:
        v1 = v0 + 1.0
    extend = {(False, False): "neither", (True, False): "min", (False, True): "max", (True, True): "both"}[
        (lo < v0, hi > v1)]
    signed = v0 < 0 < v1
    if signed and vmin is None and vmax is None:
        v1 = max(-v0, v1)
        v0 = -v1
    if cmap is None:
        cmap = "PuOr_r" if signed else "cividis"
    im = ax.imshow(arr, aspect="auto", interpolation="nearest", cmap=cmap, vmin=v0, vmax=v1)
    if segments is not None:
        _mark_segments(ax, segments, S)
    bar = ax.figure.colorbar(im, ax=ax, fraction=0.05, pad=0.02, extend=extend)
    bar.set_label("scalar value (the model's float, unitless)")
    ax.set_xlabel(f"state coordinate (scalar index, 0..{S - 1})")
    ax.set_ylabel("Alice input" + (" x (bit string)" if inputs is not None else " (row index)"))
    if inputs is not None:
        if len(inputs) != K:
            raise InvalidInputError(f"got {len(inputs)} inputs for {K} messages; pass one input per row")
        if K <= 32:
            ax.set_yticks(range(K))
            ax.set_yticklabels([input_text(v) for v in inputs], fontsize=7 if K > 16 else 8)
    size = f"; S·b = {S} x {precision} = {S * precision} bits per message" if precision else ""
    ax.set_title(f"{title}\nK = {K} Alice input{'s' if K != 1 else ''} x S = {S} scalars{size}", fontsize=10,
                 pad=16 if segments is not None else 6)
    return ax


def _mark_segments(ax: Any, segments: Sequence[tuple[str, int]], S: int) -> None:
    sizes = [int(k) for _, k in segments]
    if sum(sizes) != S or min(sizes, default=0) < 1:
        raise InvalidInputError(f"segment sizes {sizes} must be positive and add up to S = {S} scalars")
    start = 0
    for (name, _), k in zip(segments, sizes):
        if start:
            ax.axvline(start - 0.5, color="black", linewidth=1.5)
        ax.text(start - 0.5 + k / 2, 1.0, name, transform=ax.get_xaxis_transform(), ha="center", va="bottom",
                fontsize=8)
        start += k


def separation_data(ns: Sequence[int] = DEFAULT_NS, precision: int = 32, eps: float = 0.0,
                    panels: Sequence[str] = tuple(PANELS)) -> list[dict[str, Any]]:
    """The numbers behind :func:`separation_plot`: one row per (panel, model, n).

    Lower bounds are :func:`ccbounds.budgets.budget`'s ``smallest_width`` (one layer, one head);
    constructions are :func:`ccbounds.models.construction_width` (the code-dimension formula
    k = ⌈(2/γ²)·ln(2(n+1)²/δ)⌉ at γ = 0.5, δ = 0.1; no model is built).

    Returns
    -------
    list of dict
        Keys ``panel``, ``model``, ``kind`` ("lower bound" or "construction"), ``n``, ``width``.
    """
    from ccbounds.budgets import budget
    from ccbounds.models import construction_width

    bad = [p for p in panels if p not in PANELS]
    if bad:
        raise InvalidInputError(f"unknown panel(s) {bad}; valid: {list(PANELS)}")
    ns = [int(n) for n in ns]
    if not ns or min(ns) < 1:
        raise InvalidInputError(f"ns must be positive input lengths, got {ns!r}")
    rows: list[dict[str, Any]] = []
    for panel in panels:
        prob, cons, _ = PANELS[panel]
        for label, arch in (("LSTM", "lstm"), ("GRU", "gru"), ("1-layer Transformer", "tf1")):
            for n in ns:
                w = budget(arch, width=1, heads=1, precision=precision, problem=prob, n=n, eps=eps).smallest_width
                if w is not None:
                    rows.append({"panel": panel, "model": label, "kind": "lower bound", "n": n, "width": w})
        label = "1-layer construction" if cons == "index_lookup" else "2-layer construction"
        rows += [{"panel": panel, "model": label, "kind": "construction", "n": n,
                  "width": construction_width(cons, n)} for n in ns]
    return rows


def separation_plot(ns: Sequence[int] = DEFAULT_NS, precision: int = 32, eps: float = 0.0, ax: Any = None,
                    panels: Sequence[str] = tuple(PANELS)) -> Any:
    """Required width against input length: recurrent models vs Transformers, on index lookup and on EQ.

    Lines are lower bounds on the width any model of that kind needs to be exact (eps = 0) or
    eps-accurate at b = ``precision`` bits per scalar (Lemma R / Lemma T via :func:`~ccbounds.budgets.budget`):
    LSTM (S = 2·width), GRU (S = width), one-layer Transformer with one head. Markers are the widths of
    the [BHBK] constructions that solve the task exactly: the one-layer index-lookup Transformer and the
    two-layer EQ Transformer, both O(log n) (see :func:`separation_data` for the formula used).
    Recurrent and one-layer-on-EQ bounds grow linearly in n; the constructions grow logarithmically,
    so on log-log axes the lines have slope 1 and the markers are nearly flat. On index lookup Lemma T
    gives a one-layer Transformer no bound (Bob's query token takes n values, theory §4).

    Parameters
    ----------
    ns : sequence of int
        Input lengths n (default 2^3 .. 2^20).
    precision : int
        b, bits per scalar.
    eps : float
        Allowed average error (0: exact on every input).
    ax : Axes or sequence of Axes, optional
        One Axes per panel; a new figure with the panels side by side when omitted.
    panels : sequence of str
        Keys of :data:`PANELS` ("index lookup", "equality").

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InvalidInputError
        Unknown panels, bad ns, or a number of Axes different from the number of panels.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig = separation_plot(ns=[8, 64, 512])
    >>> [a.get_title() for a in fig.axes]
    ['index lookup (INDEX_n)', 'string equality (EQ_n)']
    >>> fig.axes[0].get_ylabel(), fig.axes[0].get_xlabel()
    ('width (hidden size per layer; d_model for Transformers)', 'input length n (bits)')
    >>> plt.close("all")

    References
    ----------
    [BHBK] §3-§5 (lower bounds for RNNs and one-layer Transformers; O(log n) constructions); theory §4, §7.
    """
    panels = list(panels)
    rows = separation_data(ns, precision, eps, panels)
    if ax is None:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.3), layout="constrained",
                                 squeeze=False)
        axes = list(axes[0])
    else:
        axes = [ax] if hasattr(ax, "plot") else list(ax)
        if len(axes) != len(panels):
            raise InvalidInputError(f"got {len(axes)} Axes for {len(panels)} panels; pass one Axes per panel")
        fig = axes[0].figure
    for a, panel in zip(axes, panels):
        for label, (colour, style, marker, lw) in _STYLE.items():
            # a width of 1 is no bound at all (every model has one scalar): only widths > 1 are drawn
            pts = sorted((r["n"], r["width"]) for r in rows if r["panel"] == panel and r["model"] == label
                         and (r["kind"] == "construction" or r["width"] > 1))
            if not pts:
                continue
            xs, ys = zip(*pts)
            a.plot(xs, ys, linestyle=style, marker=marker, color=colour, linewidth=lw, markersize=6,
                   markevery=2 if style != "none" else None, label=_LEGEND[label], zorder=1 if lw > 3 else 2)
        a.set_xscale("log", base=2)
        a.set_yscale("log", base=2)
        a.set_xlabel("input length n (bits)")
        a.set_ylabel("width (hidden size per layer; d_model for Transformers)")
        a.set_title(PANELS[panel][2])
        a.grid(True, which="major", color="0.88", linewidth=0.8)
        a.legend(loc="upper left", fontsize=8, framealpha=0.9)
    acc = "exact on every input" if eps == 0 else f"average error <= {eps:g}"
    fig.suptitle(f"Width needed vs input length at b = {precision} bits per scalar ({acc})", fontsize=11)
    fig.caption = separation_caption(precision, eps)
    return fig


def separation_caption(precision: int = 32, eps: float = 0.0) -> str:
    """What to see in :func:`separation_plot`'s figure."""
    return (f"Lines are lower bounds (Lemma R, Lemma T at b = {precision} bits per scalar): no model of that kind "
            "and smaller width can be exact on every input. They grow linearly in n (slope 1 on these log-log "
            "axes); widths of 1 are not drawn, since every model has one. The GRU and the one-layer Transformer "
            "on EQ need the same ≈ n/b scalars, so their lines coincide (the Transformer's is drawn wider, "
            "beneath). Markers are [BHBK] constructions that solve the task exactly, so they are upper bounds; "
            "their widths grow like log n. On index lookup a one-layer Transformer has no lower bound at all: "
            "Bob's query token takes n values, so Alice's message grows with n. The constructions need "
            "precision of about log2 n bits; widths are exact numbers from the code-length formula, "
            "not asymptotics.")
