"""The result of an audit: one :class:`AuditRow` per precision and the :class:`AuditReport` (theory §6).

Verdicts (:func:`row_verdict`), in this order:

* ``"violation"``: the certified information L exceeds the message size S*b (impossible, since
  I(M; X) <= H(M) <= S*b), or the full-precision protocol disagrees with the model on the same inputs.
  Either is a contradiction -- a leak around the cut, a wrong reduction, or a bug -- never a success.
* ``"below bound"``: S*b < D^{A->B}(f), so at this precision the model cannot be exact on every input.
* ``"consistent"``: neither; the model is not ruled out at this precision (which does not prove it able).

Examples
--------
>>> row_verdict(message_bits=8, lower_bound_bits=16, L_certified=3.5)[0]
'below bound'
>>> row_verdict(message_bits=8, lower_bound_bits=4, L_certified=9.0)[0]
'violation'
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from ccbounds.auditing.witnesses import CollisionWitness

__all__ = ["AuditRow", "AuditReport", "row_verdict", "VERDICTS", "EXIT_VIOLATION"]

#: exit status of ``ccbounds audit`` when some row is a violation
EXIT_VIOLATION = 3

#: what each verdict means, and what it does not mean
VERDICTS = {
    "violation": "a contradiction: certified information L > S*b bits, or the fp32 protocol disagrees with the "
                 "model -- a leak around the cut, a wrong reduction, or a bug; NOT a success",
    "below bound": "S*b < D^{A->B}(f): no weights make the model exact on every input at this precision "
                   "(the sample may still look accurate)",
    "consistent": "not ruled out at this precision; this does NOT prove the model able to solve the task",
}


def row_verdict(message_bits: float, lower_bound_bits: float, L_certified: float | None = None,
                mismatches: int = 0) -> tuple[str, str]:
    """The verdict of one precision and its reason (theory §6).

    Parameters
    ----------
    message_bits : float
        S*b, the exact message size.
    lower_bound_bits : float
        D^{A->B}(f) in bits (:func:`ccbounds.required_bits` at eps = 0).
    L_certified : float, optional
        The certified lower bound on I(M; X) (None where no certificate applies).
    mismatches : int
        Inputs on which this (full-precision) protocol's answer differs from the model's own answer.

    Returns
    -------
    (str, str)
        ``"violation"``, ``"below bound"`` or ``"consistent"``, and a one-line reason with the numbers.

    Examples
    --------
    >>> row_verdict(64, 16, 15.2)
    ('consistent', 'S*b = 64 bits >= D^{A->B} = 16 bits and L = 15.20 <= 64 bits: not ruled out')
    >>> row_verdict(64, 16, 3.0, mismatches=2)[0]
    'violation'
    """
    if mismatches:
        return "violation", (f"the fp32 protocol disagrees with the model's own answer on {mismatches} inputs: "
                             "the reduction does not reproduce the model (a wrong reduction or a bug)")
    if L_certified is not None and L_certified > message_bits:
        return "violation", (f"certified I(M;X) >= L = {L_certified:.2f} bits > S*b = {message_bits:g} bits, "
                             "impossible: information leaks around the cut, the reduction is wrong, or a bug")
    need = math.ceil(lower_bound_bits - 1e-9)
    if message_bits < need:
        return "below bound", (f"S*b = {message_bits:g} bits < D^{{A->B}} = {need} bits: cannot be exact on "
                               "every input at this precision")
    tail = f" and L = {L_certified:.2f} <= {message_bits:g} bits" if L_certified is not None else ""
    return "consistent", f"S*b = {message_bits:g} bits >= D^{{A->B}} = {need} bits{tail}: not ruled out"


@dataclass(frozen=True)
class AuditRow:
    """The measurements at one precision (all information quantities in bits)."""

    precision: str
    scheme: str
    bits_per_scalar: int
    message_bits: int
    accuracy: float
    per_query_accuracy: tuple[float, ...]
    errors: tuple[int, ...]
    trials: int
    L_certified: float | None
    L_plugin: float | None
    entropy_bits: float
    entropy_cap_bits: float
    distinct_messages: int
    colliding_messages: int
    lower_bound_bits: float
    largest_n: int | None
    largest_n_exact: int | None
    verdict: str
    reason: str
    mismatches: int | None = None
    #: why ``largest_n`` is None (the '-' of column n (eps), theory §6.5); "" when it is a number
    largest_n_note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain data (lists for the per-query arrays)."""
        d = asdict(self)
        d["per_query_accuracy"], d["errors"] = list(self.per_query_accuracy), list(self.errors)
        return d


def _num(v: Any, fmt: str = ".4f") -> str:
    return "-" if v is None else format(v, fmt) if isinstance(v, float) else str(v)


@dataclass(frozen=True)
class AuditReport:
    """An audit of one model on one problem (theory §6); build it with :func:`ccbounds.audit`.

    ``rows`` are ordered by bits per scalar. ``model_accuracy`` is the model's own accuracy on the full
    sequences of the audited inputs (it equals the fp32 row's accuracy unless the reduction is wrong).
    ``exit_status`` is 0, or 3 on a violation. The JSON (:meth:`to_json`) is deterministic: the same
    seed gives byte-identical output (no timestamps, no timings).
    """

    model: str
    architecture: str
    scalars: int
    message: str
    reduction: str
    lemma: str
    problem: str
    task: str
    gadget: str
    mu: str
    query_labels: tuple[str, ...]
    samples: int
    seed: int
    confidence: float
    calibration: str
    device: str
    lower_bound: Any
    model_accuracy: float
    protocol_mismatches: int
    mismatch_examples: tuple[dict, ...]
    smallest_faithful_precision: str | None
    rows: tuple[AuditRow, ...]
    witnesses: tuple[CollisionWitness, ...]
    collisions_examined: int
    witness_note: str
    notes: tuple[str, ...] = field(default=())
    #: where the audited forward comes from (checkpoints: "your code: ...", "rebuilt from tensor names", ...)
    model_source: str = ""
    #: per row, the problem's one-way bound at the row's measured error (theory §10.6): dicts with precision,
    #: eps, text and the bound's ``to_dict()``
    error_bounds: tuple[dict, ...] = field(default=())

    @property
    def exit_status(self) -> int:
        """0 when no row is a violation (and the protocol reproduces the model), else 3."""
        bad = self.protocol_mismatches > 0 or any(r.verdict == "violation" for r in self.rows)
        return EXIT_VIOLATION if bad else 0

    @property
    def violations(self) -> tuple[AuditRow, ...]:
        """The rows whose verdict is "violation"."""
        return tuple(r for r in self.rows if r.verdict == "violation")

    def row(self, precision: Any) -> AuditRow:
        """The row of a precision as :func:`~ccbounds.quantize.parse_precision` reads it ("fixed4", 4, "fp16",
        32)."""
        from ccbounds.quantize.precision import parse_precision

        key = parse_precision(precision).label
        for r in self.rows:
            if r.precision == key:
                return r
        from ccbounds.errors import InvalidInputError

        raise InvalidInputError(f"no row for precision {precision!r}; rows: "
                                f"{', '.join(r.precision for r in self.rows)}")

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (:func:`dataclasses.asdict` of every field), plus the bound as its own dict and
        text, the exit status, each witness's ``fails`` / ``confirmed`` and the verdict legend."""
        out: dict[str, Any] = {}
        for k, v in asdict(self).items():
            if k == "rows":
                out["exit_status"] = self.exit_status
            out[k] = v
            if k == "lower_bound":
                out[k], out["lower_bound_text"] = self.lower_bound.to_dict(), str(self.lower_bound)
        out["witnesses"] = [w.to_dict() for w in self.witnesses]
        out["verdict_legend"] = dict(VERDICTS)
        return out

    def to_json(self, indent: int | None = 2) -> str:
        """Deterministic JSON of :meth:`to_dict` (same seed, same bytes)."""
        return json.dumps(self.to_dict(), indent=indent, default=_jsonable, allow_nan=False)

    def to_frame(self) -> Any:
        """One pandas row per precision (pandas is imported here)."""
        import pandas as pd

        return pd.DataFrame([r.to_dict() for r in self.rows])

    def plot(self, ax: Any = None, panel: str | None = None, label: str | None = None) -> Any:
        """Accuracy, and bits, against precision in two panels (:func:`ccbounds.auditing.plot.plot_report`)."""
        from ccbounds.auditing.plot import plot_report

        return plot_report(self, ax=ax, panel=panel, label=label)

    # -- text -------------------------------------------------------------------------------------------
    _HEAD = ("precision", "b", "S*b", "accuracy", "L_cert", "L_plug", "H_MM", "cap", "distinct", "D1way",
             "n (eps)", "n (0)", "verdict")
    #: columns in bits, named in the footnote under the table
    _BITS = ("S*b", "L_cert", "L_plug", "H_MM", "cap", "D1way")
    #: columns left out, in this order, while the table is wider than the terminal: first the two that are
    #: the same in every row (their value moves into the footnote), then the estimate L_plug, n (0) and distinct
    _NARROW = ("cap", "D1way", "L_plug", "n (0)", "distinct")

    def _cells(self, r: AuditRow) -> tuple[str, ...]:
        return (r.precision, str(r.bits_per_scalar), str(r.message_bits), f"{r.accuracy:.4f}",
                _num(r.L_certified, ".2f"), _num(r.L_plugin, ".2f"), f"{r.entropy_bits:.2f}",
                f"{r.entropy_cap_bits:.2f}", str(r.distinct_messages), f"{r.lower_bound_bits:g}",
                _num(r.largest_n), _num(r.largest_n_exact), r.verdict)

    def table(self, width: int | None = None, wide: bool = False) -> str:
        """The per-precision table and its footnote (units), fitting ``width`` columns (default: the terminal's).

        Every cell stays on one line. While the table is wider than ``width``, the columns of :attr:`_NARROW`
        are left out in turn (the footnote names them, and gives the value of a column that is the same in
        every row); ``wide=True`` keeps every column whatever the width. Only a table too wide even then
        wraps its cells.
        """
        from ccbounds._text import WIDE, fit_text, render_table, terminal_width

        w = terminal_width(width)
        cells = [self._cells(r) for r in self.rows]

        def render(keep: list[int], limit: int) -> str:
            return render_table([self._HEAD[k] for k in keep], [[c[k] for k in keep] for c in cells], width=limit,
                                compact=True, no_wrap=range(len(keep)) if limit == WIDE else (0, 3, len(keep) - 1),
                                right=[i for i, k in enumerate(keep) if 0 < k < len(self._HEAD) - 1])

        keep, dropped = list(range(len(self._HEAD))), []
        body = render(keep, WIDE)
        for name in () if wide else self._NARROW:
            if max(map(len, body.splitlines())) <= w:
                break
            keep.remove(self._HEAD.index(name))
            dropped.append(name)
            body = render(keep, WIDE)
        if not wide and max(map(len, body.splitlines())) > w:
            body = render(keep, w)  # narrower than the narrowest table: cells wrap rather than being cut
        shown = [self._HEAD[k] for k in keep]
        notes = [f"{', '.join(h for h in self._BITS if h in shown)} in bits"
                 + ("; H_MM is capped at log2 min(K, |X|, 2^(S*b))" if "cap" in shown else "")]
        notes.append("n (eps) / n (0): largest n not ruled out at the measured error / with no error"
                     if "n (0)" in shown else "n (eps): largest n not ruled out at the measured error")
        same = {h: {c[self._HEAD.index(h)] for c in cells} for h in ("cap", "D1way")}
        if "cap" in dropped and len(same["cap"]) == 1:
            notes.append(f"H_MM is capped at log2 min(K, |X|, 2^(S*b)) = {same['cap'].pop()} bits")
        if "D1way" in dropped and len(same["D1way"]) == 1:
            notes.append(f"D1way = {same['D1way'].pop()} bits in every row")
        hidden = [h for h in dropped if not (h in same and len(same[h]) <= 1)]
        if hidden:
            notes.append(f"left out at width {w}: {', '.join(hidden)} (--wide, or text(wide=True), shows them)")
        return body + "\n" + fit_text("; ".join(notes), width)

    def __str__(self) -> str:
        return self.text()

    def text(self, width: int | None = None, wide: bool = False) -> str:
        """The whole report as text: header, table, witnesses, legend; every line fits ``width`` columns.

        ``wide=True``: the table keeps all its columns, on lines that may be longer (:meth:`table`).
        """
        from ccbounds._text import fit_text

        pairs = self.samples * len(self.query_labels)
        rebuilt = self.model_source == "rebuilt from tensor names"
        if self.protocol_mismatches:
            agree = (f"MISMATCH: the fp32 protocol disagrees with the model on {self.protocol_mismatches} of {pairs} "
                     "pairs")
        elif rebuilt:
            agree = (f"the fp32 protocol agrees with the REBUILT model on all {pairs} pairs (not necessarily yours: "
                     "audit your own forward with --model MODULE:CALLABLE)")
        else:
            agree = f"the fp32 protocol reproduces the model on all {pairs} pairs"
        out = [
            f"Audit of {self.architecture} on {self.problem} ({self.task}; {self.reduction}, {self.lemma})",
            f"model: {self.model}",
            *([f"model_source: {self.model_source}"] if self.model_source else []),
            f"message: S = {self.scalars} scalars ({self.message}); lower bound {self.lower_bound}",
            f"mu: {self.mu}",
            f"K = {self.samples} Alice inputs x {len(self.query_labels)} queries, seed {self.seed}, "
            f"confidence {self.confidence:g}; fixed point: {self.calibration}",
            f"model accuracy on the full sequences: {self.model_accuracy:.4f}; {agree}",
        ]
        after = [
            f"smallest faithful precision (accuracy within 1 point of the model): "
            f"{self.smallest_faithful_precision or 'none'}",
            f"collision witnesses: {len(self.witnesses)} confirmed ({self.witness_note})",
        ]
        after += ["  " + line for w in self.witnesses[:2] for line in str(w).splitlines()]
        after += [""] + [f"{r.precision}: {r.reason}" for r in self.rows if r.verdict == "violation"]
        after += ["Legend: largest n = the largest input length NOT ruled out at this precision (theory §6), at the "
                "measured error (n*(1-H2(eps)) <= S*b, column n (eps)) / with no error (n <= S*b, column n (0)); "
                "longer inputs are ruled out, shorter ones are not thereby solvable. H_MM = Miller-Madow entropy "
                "estimate, capped at log2 min(K, |X|, 2^(S*b))."]
        after += [f"  '-' in n (eps){' and n (0)' if exact else ''} at {', '.join(at)}: no n is ruled out, "
                  f"since {why}" for (why, exact), at in self._dashes().items()]
        after += [f"  {v}: {m}" for v, m in VERDICTS.items()]
        if self.error_bounds:
            after += ["Error bounds at each row's measured error eps (a protocol with average error eps under mu "
                      "needs at least this many bits; theory §10.6):"]
            after += [f"  {e['precision']}: {e['text']}" for e in self.error_bounds]
        after += [f"Note: {n}" for n in self.notes]
        prose = [fit_text("\n".join(part).replace("\n\n\n", "\n\n"), width) for part in (out, after)]
        return "\n\n".join((prose[0], self.table(width, wide), prose[1]))

    def _dashes(self) -> dict[tuple[str, bool], list[str]]:
        """The rows whose n (eps) is '-', grouped by why (and whether n (0) is '-' too)."""
        out: dict[tuple[str, bool], list[str]] = {}
        for r in self.rows:
            if r.largest_n is None:
                why = r.largest_n_note or "this argument gives no limit"
                out.setdefault((why, r.largest_n_exact is None), []).append(r.precision)
        return out

    def _violations_text(self) -> str:
        """"no violation", or which rows are violations (and whether the fp32 protocol disagrees)."""
        bad = [r.precision for r in self.violations]
        if self.protocol_mismatches and "fp32" not in bad:
            bad.append("fp32 (the protocol disagrees with the model)")
        return f"violation at {', '.join(bad)}" if bad else "no violation"

    def _repr_html_(self) -> str:
        import pandas as pd

        frame = pd.DataFrame([self._cells(r) for r in self.rows], columns=list(self._HEAD))
        legend = "".join(f"<li><b>{html.escape(v)}</b>: {html.escape(m)}</li>" for v, m in VERDICTS.items())
        legend += "".join(f"<li>'-' in n (eps) at {html.escape(', '.join(at))}: no n is ruled out, since "
                          f"{html.escape(why)}</li>" for (why, _), at in self._dashes().items())
        return (f"<div><p><b>Audit of {html.escape(self.architecture)} on {html.escape(self.problem)}</b> "
                f"({html.escape(self.reduction)}, {html.escape(self.lemma)}); S = {self.scalars} scalars; "
                f"model accuracy {self.model_accuracy:.4f}; {self._violations_text()}</p>"
                f"<p>mu: {html.escape(self.mu)}</p>{frame.to_html(index=False)}<ul>{legend}</ul></div>")


def _jsonable(v: Any) -> Any:
    if hasattr(v, "item"):
        return v.item()
    if hasattr(v, "tolist"):
        return v.tolist()
    if hasattr(v, "to_dict"):
        return v.to_dict()
    return str(v)
