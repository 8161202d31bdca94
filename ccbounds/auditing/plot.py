"""Plot an audit: accuracy and message bits against precision (SPEC §6). matplotlib is imported lazily.

Left axis: accuracy on mu at each precision, with the model's own accuracy as a dashed line. Right axis
(log scale): the message size S*b in bits, the lower bound D^{A->B}(f) as a horizontal line, and the
certified information L where a certificate applies. Colours are the Okabe-Ito colour-blind-safe palette.
Works with the Agg backend (no display needed): the figure is built without pyplot.

Examples
--------
>>> OKABE_ITO["blue"], len(OKABE_ITO)
('#0072B2', 8)
"""

from __future__ import annotations

from typing import Any

__all__ = ["plot_report", "OKABE_ITO"]

#: Okabe & Ito (2008) colour-blind-safe palette
OKABE_ITO = {"orange": "#E69F00", "sky blue": "#56B4E9", "bluish green": "#009E73", "yellow": "#F0E442",
             "blue": "#0072B2", "vermillion": "#D55E00", "reddish purple": "#CC79A7", "black": "#000000"}


def plot_report(report: Any, ax: Any = None) -> Any:
    """Draw ``report`` on ``ax`` (a new figure if None) and return the figure.

    Parameters
    ----------
    report : AuditReport
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.figure

    if ax is None:
        fig = matplotlib.figure.Figure(figsize=(7.5, 4.5))  # no pyplot: Agg-safe, no global state
        ax = fig.add_subplot(1, 1, 1)
    else:
        fig = ax.figure
    c = OKABE_ITO
    rows = report.rows
    xs = list(range(len(rows)))
    labels = [f"{r.precision}\n({r.bits_per_scalar} b)" for r in rows]
    h1 = ax.plot(xs, [r.accuracy for r in rows], "o-", color=c["blue"], label="accuracy on mu (protocol)")
    h2 = ax.axhline(report.model_accuracy, color=c["blue"], ls="--", lw=1, label="model accuracy (full sequences)")
    bad = [i for i, r in enumerate(rows) if r.verdict == "violation"]
    marks = ax.plot(bad, [rows[i].accuracy for i in bad], "X", ms=11, color=c["vermillion"], label="violation")
    ax.set_xticks(xs)
    ax.set_xticklabels(labels)
    ax.set_xlabel("precision (bits per scalar)")
    ax.set_ylabel("accuracy (fraction correct)")
    ax.set_ylim(-0.02, 1.02)
    ax2 = ax.twinx()
    h3 = ax2.plot(xs, [r.message_bits for r in rows], "s-", color=c["orange"], label="message size S*b")
    h4 = ax2.axhline(max(report.lower_bound.value, 1e-9), color=c["vermillion"], ls=":", lw=2,
                     label=f"lower bound D^(A->B) = {report.lower_bound.value:g} bits")
    handles = [h1[0], h2, h3[0], h4]
    certified = [(i, r.L_certified) for i, r in enumerate(rows) if r.L_certified is not None]
    if certified:
        h5 = ax2.plot([i for i, _ in certified], [max(v, 1e-3) for _, v in certified], "^", color=c["bluish green"],
                      label="certified information L")
        handles.append(h5[0])
    ax2.set_yscale("log", base=2)
    ax2.set_ylabel("bits (log scale)")
    if bad:
        handles.append(marks[0])
    ax.legend(handles=handles, loc="lower right", fontsize="small", framealpha=0.9)
    ax.set_title(f"Audit: {report.architecture} on {report.problem} (S = {report.scalars} scalars, K = "
                 f"{report.samples})")
    return fig
