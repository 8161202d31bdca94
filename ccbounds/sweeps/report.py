"""``ccbounds sweep --report RESULTS``: the figures of a sweep, each with its caption beside it.

* ``accuracy_vs_length`` (drawn when some task has two or more sizes): accuracy on the task distribution
  against the task size n, one panel per
  task, one line per (architecture, layers, width) (the layout of [BHBK] Figures 2 and 3), with each
  model's bit budget: the dotted vertical at n = S·b (b = the model's own 32-bit floats) beyond which the
  lower bound D^{A->B} = n bits (theory §2) exceeds the message, so the model cannot be exact.
* ``accuracy_vs_bits``: the audited protocol's accuracy on mu against its message size S·b, every
  architecture and precision in one accounting, one panel per (problem, n), with the lower bound
  D^{A->B} = n bits and the accuracy ceiling of theory §6 drawn.
* ``ceiling``: every (model, precision) of an INDEX-type run (INDEX_n, DISJ_n on y = {i}; binary
  alphabet) at x = S·b / n, y = audited accuracy, under the one curve 1 - H2^{-1}(1 - S·b/n)
  (:mod:`ccbounds.sweeps.ceiling`); points above it are marked as violations.

References
----------
S. Bhattamishra, M. Hahn, P. Blunsom, V. Kanade, Separations in the Representational Capabilities of
Transformers and Recurrent Architectures, NeurIPS 2024 (arXiv 2406.09347).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ccbounds.errors import InvalidInputError
from ccbounds.information import H2_inv
from ccbounds.sweeps.ceiling import (
    CEILING_PROBLEMS,
    CeilingPoint,
    accuracy_ceiling,
    ceiling_point,
)
from ccbounds.sweeps.store import ResultsStore

__all__ = ["ReportFigure", "SweepReport", "ceiling_points", "sweep_report"]

_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
_MARKER_NAMES = {"o": "circle", "s": "square", "^": "triangle", "D": "diamond", "v": "down triangle",
                 "P": "plus", "X": "cross", "*": "star"}


@dataclass(frozen=True)
class ReportFigure:
    """One saved figure: its name, the path of the image (None if not saved) and its caption."""

    name: str
    path: str | None
    caption: str
    figure: Any = None


@dataclass(frozen=True)
class SweepReport:
    """The figures of one results table and the points of the ceiling figure."""

    results: str
    rows: int
    failed: int
    figures: tuple[ReportFigure, ...]
    points: tuple[CeilingPoint, ...]

    @property
    def violations(self) -> tuple[CeilingPoint, ...]:
        """Ceiling points above the curve."""
        return tuple(p for p in self.points if p.above)

    def __str__(self) -> str:
        lines = [f"sweep report of {self.results}: {self.rows} rows ({self.failed} failed runs)"]
        for f in self.figures:
            lines.append(f"{f.name}: {f.path or '(not saved)'}")
        above = self.violations
        lines.append(f"ceiling: {len(self.points)} (model, precision) points, {len(above)} above the curve "
                     f"({sum(p.violation for p in above)} beyond sampling error at 95 %)")
        for p in above:
            lines.append(f"  ABOVE: {p.arch} w{p.width} n={p.n} {p.precision}: accuracy {p.accuracy:.4f} > "
                         f"ceiling {p.ceiling:.4f} at S*b/n = {p.ratio:.3g}")
        return "\n".join(lines)


def _records(rows: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    out = []
    for r in rows:
        if r.get("status") != "ok":
            continue
        out.append((r, json.loads(r["record"])))
    return out


def _model_name(r: dict[str, Any]) -> str:
    layers = int(r.get("layers") or 1)
    return f"{r['arch']}{f' x{layers} layers' if layers > 1 else ''} width {int(r['width'])}"


def ceiling_points(rows: list[dict[str, Any]]) -> list[CeilingPoint]:
    """Every (ok run, precision) of an INDEX-type problem with a binary alphabet and a reduction."""
    pts = []
    for r, rec in _records(rows):
        family = str(rec.get("problem", "")).split("_")[0]
        if family not in CEILING_PROBLEMS or int(r.get("q") or 2) != 2:
            continue
        pts.extend(ceiling_point(r, rec, per) for per in rec.get("per_precision", []))
    return pts


def _colours(names: list[str]) -> dict[str, str]:
    from ccbounds.plotting._style import PALETTE

    order = [c for c in PALETTE if c != "#F0E442"]  # yellow is unreadable on white
    return {m: order[k % len(order)] for k, m in enumerate(sorted(set(names)))}


def _length_figure(recs: list, budget_bits_per_scalar: int) -> tuple[Any, str]:
    import matplotlib.pyplot as plt

    tasks = sorted({r["task"] for r, _ in recs})
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.2 * len(tasks), 4.2), layout="constrained", squeeze=False)
    colours = _colours([_model_name(r) for r, _ in recs])
    for ax, task in zip(axes[0], tasks):
        groups: dict[str, list] = defaultdict(list)
        for r, rec in recs:
            if r["task"] == task:
                groups[_model_name(r)].append((int(r["n"]), float(r["accuracy_task"]), r, rec))
        ns = sorted({n for g in groups.values() for n, *_ in g})
        for k, (name, pts) in enumerate(sorted(groups.items())):
            by_n: dict[int, list[float]] = defaultdict(list)
            for n, acc, *_ in pts:
                by_n[n].append(acc)
            xs = sorted(by_n)
            c = colours[name]
            ax.plot(xs, [np.mean(by_n[x]) for x in xs], marker=_MARKERS[k % len(_MARKERS)], color=c, label=name)
            if any(len(v) > 1 for v in by_n.values()):
                ax.scatter([x for x in xs for _ in by_n[x]], [a for x in xs for a in by_n[x]], color=c, s=8, alpha=0.4)
            budgets = {int(rec["scalars"]) * budget_bits_per_scalar for _, _, _, rec in pts
                       if rec.get("scalars") is not None and not _message_grows(rec)}
            for bits in budgets:
                if min(ns) <= bits <= max(ns):
                    ax.axvline(bits, color=c, linestyle=":", linewidth=1.2)
        ax.set_xscale("log")
        ax.set_xticks(ns, [str(n) for n in ns])
        ax.minorticks_off()
        ax.set_ylim(_bottom([float(r["accuracy_task"]) for r, _ in recs]), 1.02)
        ax.axhline(0.5, color="0.6", linewidth=0.8)
        ax.set_xlabel(_LENGTH_LABEL.get(task, "task size n (log scale)"))
        ax.set_ylabel("accuracy on the task distribution (fraction correct)")
        ax.set_title(task)
    _legend(fig, axes)
    caption = (f"Accuracy on the task distribution (held-out balanced sample) against the task size n, one line per "
               f"architecture and width (mean over seeds; single seeds as faint dots). Dotted verticals: the model's "
               f"bit budget, n = S*b with b = {budget_bits_per_scalar} bits per scalar (its own floats); to the right "
               "of it the lower bound D^{A->B} = n bits exceeds the message (theory §2, §4), so no weights make that "
               "model exact there. Models whose message grows with n (one-layer attention on index lookup: "
               "S = n*H*(d_v+1)) and refused reductions (two layers; RNNs on Dyck) have no budget line. "
               "Grey line: chance (0.5). Training failures to the left of a budget line are optimisation, "
               "not the bound.")
    return fig, caption


_LENGTH_LABEL = {"index-lookup": "n (data symbols before the query; log scale)",
                 "dyck": "n (DISJ_n inside; string length 4n; log scale)"}


def _bottom(values: list[float]) -> float:
    """Lower y limit: 0.4, or lower when some accuracy is below it."""
    return min(0.4, min(values, default=0.4) - 0.05)


def _legend(fig: Any, axes: Any) -> None:
    """One legend for all panels, outside them on the right (no entry twice)."""
    seen: dict[str, Any] = {}
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    fig.legend(list(seen.values()), list(seen), loc="outside right upper", fontsize=7)


def _message_grows(rec: dict[str, Any]) -> bool:
    return rec.get("scalars") is not None and "attention" in str(rec.get("reduction")) and \
        str(rec.get("problem", "")).startswith("INDEX")


def _bits_figure(recs: list) -> tuple[Any, str]:
    import matplotlib.pyplot as plt

    panels = sorted({(str(rec["problem"]), int(r["n"])) for r, rec in recs if rec.get("per_precision")},
                    key=lambda t: (t[0].split("_")[0], t[1]))
    if not panels:
        raise InvalidInputError("no run of this table has an audited protocol (every reduction was refused or failed)")
    cols = min(4, len(panels))
    rows_ = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows_, cols, figsize=(3.8 * cols, 3.4 * rows_), layout="constrained", squeeze=False)
    archs = sorted({_model_name(r) for r, _ in recs})
    colours = _colours(archs)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, (problem, n) in zip(axes.flat, panels):
        xs_all = []
        for k, name in enumerate(archs):
            pts = [(per["message_bits"], per["accuracy"]) for r, rec in recs if _model_name(r) == name
                   and rec["problem"] == problem and int(r["n"]) == n for per in rec.get("per_precision", [])]
            if pts:
                xs_all += [p[0] for p in pts]
                ax.scatter(*zip(*pts), color=colours[name], marker=_MARKERS[k % len(_MARKERS)], s=22, label=name)
        ax.axvline(n, color="0.3", linestyle="--", linewidth=1, label="lower bound D^{A->B} = n bits")
        if problem.split("_")[0] in CEILING_PROBLEMS:
            grid = np.geomspace(max(0.5, min(xs_all) / 2), max(2 * n, max(xs_all) * 2), 200)
            ax.plot(grid, [accuracy_ceiling(float(c), n) for c in grid], color="0.3", linewidth=1,
                    label="ceiling 1 - H2^-1(1 - S*b/n)")
        ax.set_xscale("log", base=2)
        ax.set_ylim(_bottom([per["accuracy"] for _, rec in recs for per in rec.get("per_precision", [])]), 1.02)
        ax.set_xlabel("message size S*b (bits, log scale)")
        ax.set_ylabel("protocol accuracy on mu (fraction)")
        ax.set_title(f"{problem}")
    _legend(fig, axes)
    caption = ("Accuracy of each trained model's induced one-way protocol (theory §4) on the audit distribution mu "
               "(x uniform, Bob asks every index; DISJ through y = {i}) against its exact message size S*b, one point "
               "per (model, precision b), every architecture in one accounting; one panel per problem and n. Dashed: "
               "the lower bound D^{A->B} = n bits (no protocol left of it is exact); solid: the accuracy ceiling of "
               "theory §6 (no protocol of S*b bits can lie above it). Refused reductions have no points.")
    return fig, caption


def _ceiling_figure(points: list[CeilingPoint]) -> tuple[Any, str]:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.6), layout="constrained")
    names = sorted({f"{p.arch}{f' x{p.layers}' if p.layers > 1 else ''}" for p in points})
    colours = _colours(names)
    ratios = [p.ratio for p in points]
    lo, hi = min(ratios) / 1.5, max(ratios) * 1.5
    grid = np.geomspace(lo, hi, 400)
    curve = np.where(grid >= 1, 1.0, 1.0 - H2_inv(np.clip(1.0 - grid, 0.0, 1.0)))
    ax.plot(grid, curve, color="black", linewidth=1.5, label="ceiling: 1 - H2^-1(1 - S*b/n) (1 for S*b >= n)")
    budgets = sorted({p.steps for p in points})
    for name in names:
        for k, steps in enumerate(budgets):
            sel = [p for p in points if f"{p.arch}{f' x{p.layers}' if p.layers > 1 else ''}" == name
                   and p.steps == steps]
            if not sel:
                continue
            # the marker's shape tells the training budget (all filled: hollow markers mean "below the bound" in
            # the audit plots, and one symbol keeps one meaning across the figures)
            ax.scatter([p.ratio for p in sel], [p.accuracy for p in sel], marker=_MARKERS[k % len(_MARKERS)],
                       s=26, alpha=0.85, color=colours[name], label=f"{name}, {steps} training steps")
    above = [p for p in points if p.above]
    if above:
        ax.scatter([p.ratio for p in above], [p.accuracy for p in above], facecolors="none", edgecolors="#D55E00",
                   s=140, linewidths=2, label=f"above the ceiling: violation ({len(above)})")
    ax.axvline(1.0, color="0.6", linewidth=0.8, linestyle=":")
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(_bottom([p.accuracy for p in points]), 1.02)
    ax.set_xlabel("message size per input symbol S*b / n (bits per bit of x, log scale)")
    ax.set_ylabel("audited accuracy on mu (fraction correct)")
    ax.legend(fontsize=7, loc="lower right", framealpha=0.9)
    ns = sorted({p.n for p in points})
    caption = (f"The accuracy ceiling (theory §6): {len(points)} (model, precision) points of INDEX-type runs "
               f"(INDEX_n; DISJ_n on y = {{i}}; n in {ns}) at x = S*b/n, the message bits per symbol of x, and "
               "y = the accuracy of the b-bit induced protocol on mu (x uniform, every index asked). By Fano, "
               "subadditivity and the concavity of H2, n(1 - H2(eps)) <= I(M;X) <= S*b, so no protocol of S*b < n "
               "bits lies above the curve; right of x = 1 the bound allows accuracy 1. "
               "Colour: architecture; marker shape: training budget ("
               + ", ".join(f"{_MARKER_NAMES.get(_MARKERS[k % len(_MARKERS)], _MARKERS[k % len(_MARKERS)])}: "
                           f"{steps} steps" for k, steps in enumerate(budgets)) + "). "
               f"{len(above)} points lie above it"
               + (f" ({sum(p.violation for p in above)} beyond sampling error: Hoeffding, 95 %)" if above else "")
               + ". The curve is a limit, not a prediction: points far below it are models that did not use their "
               "bits (training, quantization), which the theorem says nothing about.")
    return fig, caption


def sweep_report(results: str | Path, out_dir: str | Path | None = None, *, budget_bits_per_scalar: int = 32,
                 dpi: int = 130) -> SweepReport:
    """Draw the figures of a results table and save them (PNG + caption ``.txt``) into ``out_dir``.

    Parameters
    ----------
    results : str or Path
        A results folder written by :func:`ccbounds.sweeps.run_sweep`.
    out_dir : str or Path, optional
        Where ``<name>.png``, ``<name>.txt`` (the caption) and ``ceiling_points.csv`` go; None: nothing is saved
        and the figures stay open on the returned :class:`ReportFigure` objects.
    budget_bits_per_scalar : int
        b of the budget lines in ``accuracy_vs_length`` (32: the models' own floats).

    Raises
    ------
    InvalidInputError
        Missing folder, or no finished run in it.
    """
    import matplotlib.pyplot as plt

    if not Path(results).is_dir():
        raise InvalidInputError(f"no results folder {str(results)!r}; run "
                                "'ccbounds sweep CONFIG.toml --results PATH' first")
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InvalidInputError(f"cannot create the report folder {str(out)!r} ({e.strerror}: a file of that name "
                                    "or in its path?); pass -o DIR, a folder path where no file is in the way"
                                    if e.errno == 17 else f"cannot create the report folder {str(out)!r} "
                                    f"({e.strerror}); pass -o DIR, a writable folder path") from None
    rows = ResultsStore(results).rows()
    recs = _records(rows)
    if not rows:
        damaged = Path(results) / "_damaged"
        if damaged.is_dir() and any(damaged.iterdir()):
            raise InvalidInputError(f"{str(results)!r} holds no finished run: every results part was damaged and "
                                    f"set aside in {str(damaged)!r}; re-run the sweep to write them again")
        raise InvalidInputError(f"the folder {str(results)!r} holds no results (no rows); run 'ccbounds sweep "
                                "CONFIG.toml --results PATH' first, or pass the folder it wrote")
    if not recs:
        logs = Path(results) / "_logs"
        see = f"; see the logs in {str(logs)!r}" if logs.is_dir() else ""
        raise InvalidInputError(f"{str(results)!r} holds no finished run ({len(rows)} rows, all failed){see}")
    points = ceiling_points(rows)
    drawn = []
    if any(len({r["n"] for r, _ in recs if r["task"] == t}) > 1 for t in {r["task"] for r, _ in recs}):
        drawn.append(("accuracy_vs_length", *_length_figure(recs, budget_bits_per_scalar)))  # needs 2+ lengths
    drawn.append(("accuracy_vs_bits", *_bits_figure(recs)))
    if points:
        drawn.append(("ceiling", *_ceiling_figure(points)))
    figures = []
    from ccbounds.plotting import add_caption

    for name, fig, caption in drawn:
        add_caption(fig, caption, width=max(60, int(fig.get_figwidth() * 16)))  # under the axes, in the image
        path = None
        if out is not None:
            path = str(out / f"{name}.png")
            fig.savefig(path, dpi=dpi, bbox_inches="tight")
            (out / f"{name}.txt").write_text(caption + "\n")
            plt.close(fig)
            fig = None
        figures.append(ReportFigure(name, path, caption, fig))
    if out is not None and points:
        import pandas as pd

        pd.DataFrame([p.to_dict() for p in points]).to_csv(out / "ceiling_points.csv", index=False)
    return SweepReport(str(results), len(rows), sum(r.get("status") != "ok" for r in rows), tuple(figures),
                       tuple(points))
