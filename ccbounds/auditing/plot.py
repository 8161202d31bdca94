"""Plot an audit (theory §6): accuracy against precision, and bits against precision, in two panels.

One quantity per axis (no twin axes): the left panel is the protocol's accuracy on mu at each precision
(a fraction), with the model's own accuracy on the full sequences as a dashed line; the right panel is
in bits on a log2 axis: the message size S·b, the lower bound D^{A→B}(f) a model exact on every input
needs, and the certified information L where a certificate applies. Precisions whose message is below
the bound are drawn hollow, violations with a cross. Colours are the Okabe–Ito colour-blind-safe
palette (blue/orange/black, which stay distinct for every common colour-vision deficiency). Works with
the Agg backend: the figure is built without pyplot. matplotlib is imported lazily.

Examples
--------
>>> OKABE_ITO["blue"], len(OKABE_ITO)
('#0072B2', 8)
"""

from __future__ import annotations

from typing import Any

from ccbounds.errors import InvalidInputError

__all__ = ["plot_report", "report_caption", "model_label", "OKABE_ITO"]

#: Okabe & Ito (2008) colour-blind-safe palette
OKABE_ITO = {"orange": "#E69F00", "sky blue": "#56B4E9", "bluish green": "#009E73", "yellow": "#F0E442",
             "blue": "#0072B2", "vermillion": "#D55E00", "reddish purple": "#CC79A7", "black": "#000000"}

_PANELS = ("accuracy", "bits")


def model_label(report: Any) -> str:
    """A name that tells two audited models apart: the model's name, its architecture and its message size.

    >>> from types import SimpleNamespace as NS
    >>> model_label(NS(model="lstm-index-narrow", architecture="lstm", scalars=2))
    'lstm-index-narrow (lstm, S = 2 scalars)'
    """
    name, arch = str(report.model), str(report.architecture)
    head = name if name.lower() == arch.lower() else f"{name} ({arch}"
    tail = f", S = {report.scalars} scalars"
    return f"{head}{tail})" if "(" in head else f"{head} ({arch}{tail})"


def report_caption(report: Any) -> str:
    """What to see in :func:`plot_report`'s figure, with this report's numbers."""
    rows = report.rows
    below = [r.precision for r in rows if r.verdict == "below bound"]
    bad = [r.precision for r in rows if r.verdict == "violation"]
    lb = report.lower_bound.value
    parts = [f"Left: accuracy of the quantized protocol at each precision against the model's own accuracy "
             f"({report.model_accuracy:.4f}); a drop shows what rounding the message costs. Right: the message "
             f"S·b against the {lb:g} bits any protocol exact on every input needs."]
    if any(r.L_certified is not None for r in rows):
        parts.append("Triangles: information the message provably carries (L, a lower bound at the stated "
                     "confidence); it can never exceed S·b.")
    if below:
        parts.append(f"Hollow points ({', '.join(below)}): S·b is below the bound, so no weights make the model "
                     "exact at that precision — an accuracy near 1 there is possible on a sample but not on "
                     "every input.")
    if bad:
        parts.append(f"Crosses ({', '.join(bad)}): violations — a contradiction, not a success.")
    return " ".join(parts)


def _axes(ax: Any, panel: str | None) -> tuple[Any, list[Any], list[str]]:
    import matplotlib.figure

    if ax is None:
        fig = matplotlib.figure.Figure(figsize=(11.0, 4.4), layout="constrained")  # no pyplot: Agg-safe
        axes = list(fig.subplots(1, 2))
        return fig, axes, list(_PANELS)
    if hasattr(ax, "plot"):
        which = panel or "accuracy"
        if which not in _PANELS:
            raise InvalidInputError(f"panel must be one of {list(_PANELS)}, got {panel!r}")
        return ax.figure, [ax], [which]
    axes = list(ax)
    if len(axes) != 2:
        raise InvalidInputError(f"pass one Axes (with panel=...) or two Axes, got {len(axes)}")
    return axes[0].figure, axes, list(_PANELS)


def plot_report(report: Any, ax: Any = None, panel: str | None = None, label: str | None = None) -> Any:
    """Draw ``report`` and return the figure.

    Parameters
    ----------
    report : AuditReport
    ax : matplotlib.axes.Axes or pair of Axes, optional
        None: a new figure with both panels. Two Axes: both panels on them. One Axes: the panel named by
        ``panel`` ("accuracy", the default, or "bits").
    panel : {"accuracy", "bits"}, optional
    label : str, optional
        The model's name in the title (e.g. the checkpoint's file name); default :func:`model_label`.

    Returns
    -------
    matplotlib.figure.Figure
        Its ``caption`` attribute says what to see (:func:`report_caption`).
    """
    fig, axes, panels = _axes(ax, panel)
    c = OKABE_ITO
    rows = report.rows
    xs = list(range(len(rows)))
    labels = [f"{r.precision}\n({r.bits_per_scalar} bits)" for r in rows]
    below = [i for i, r in enumerate(rows) if r.verdict == "below bound"]
    bad = [i for i, r in enumerate(rows) if r.verdict == "violation"]
    for a, which in zip(axes, panels):
        a.set_xticks(xs)
        a.set_xticklabels(labels)
        a.set_xlabel("precision of the message (bits per scalar)")
        a.grid(True, axis="y", color="0.9", linewidth=0.8)
        if which == "accuracy":
            _accuracy_panel(a, report, xs, below, bad, c)
        else:
            _bits_panel(a, report, xs, below, c)
    fig.suptitle(f"Audit of {label or model_label(report)} on {report.problem} (K = {report.samples} Alice inputs)",
                 fontsize=11)
    fig.caption = report_caption(report)
    return fig


def _series(a: Any, xs: list[int], ys: list[float], below: list[int], colour: str, marker: str, label: str,
            below_label: str) -> None:
    """A line over every precision; filled markers, hollow where the message is below the bound."""
    a.plot(xs, ys, "-", color=colour, lw=1.5, zorder=2)
    filled = [i for i in xs if i not in below]
    a.plot(filled, [ys[i] for i in filled], marker, color=colour, ms=7, label=label, zorder=3)
    if below:
        a.plot(below, [ys[i] for i in below], marker, mfc="white", mec=colour, mew=1.8, ms=8, label=below_label,
               zorder=3)


def _accuracy_panel(a: Any, report: Any, xs: list[int], below: list[int], bad: list[int], c: dict) -> None:
    rows = report.rows
    acc = [r.accuracy for r in rows]
    _series(a, xs, acc, below, c["blue"], "o", "protocol accuracy on μ", "… where S·b < lower bound")
    a.axhline(report.model_accuracy, color=c["black"], ls="--", lw=1, label="model accuracy (full sequences)")
    if bad:
        a.plot(bad, [acc[i] for i in bad], "X", ms=11, color=c["vermillion"], label="violation", zorder=4)
    a.set_ylabel("accuracy (fraction of inputs answered correctly)")
    a.set_ylim(-0.02, 1.02)
    a.set_title("accuracy of the induced protocol", fontsize=10)
    a.legend(loc="lower right", fontsize="small", framealpha=0.9)


def _bits_panel(a: Any, report: Any, xs: list[int], below: list[int], c: dict) -> None:
    rows = report.rows
    bits = [r.message_bits for r in rows]
    _series(a, xs, bits, below, c["orange"], "s", "message size S·b", "… below the lower bound")
    lb = report.lower_bound.value
    a.axhline(max(lb, 1e-9), color=c["black"], ls=":", lw=2, label=f"lower bound D^(A→B) = {lb:g} bits")
    certified = [(i, r.L_certified) for i, r in enumerate(rows) if r.L_certified is not None]
    if certified:
        a.plot([i for i, _ in certified], [max(v, 1e-3) for _, v in certified], "^", color=c["bluish green"],
               ms=8, label="certified information L (lower bound)")
    a.set_yscale("log", base=2)
    a.set_ylabel("bits (log2 scale)")
    a.set_title("message size, lower bound and certified information", fontsize=10)
    a.legend(loc="upper left", fontsize="small", framealpha=0.9)
