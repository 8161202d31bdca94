"""From an audit's measurements to its rows, witnesses and report (theory §6).

Per precision: accuracy, the Fano certificate (INDEX, DISJ, IP), the Miller-Madow entropy of the message
hashes, the verdict of :func:`~ccbounds.auditing.report.row_verdict` and the predicted limit on n
(:meth:`~ccbounds.reduction.InducedProtocol.largest_n`: at the measured error, and with no error).
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from ccbounds.auditing.report import AuditReport, AuditRow, row_verdict
from ccbounds.auditing.witnesses import find_witnesses

__all__ = ["build_report", "no_limit_reason", "FAITHFUL_POINTS"]

#: "faithful" = accuracy within this many percentage points of the model's own
FAITHFUL_POINTS = 1.0

def _scheme_text(pr: Any, scheme: Any) -> str:
    if pr.fixed:
        return f"fixed point, {pr.bits} bits per scalar, per-coordinate ranges ({scheme.calibration})"
    if pr.label == "fp32":
        return "the model's own float32 (exact fp32 bits)"
    return f"{pr.label} (round to nearest even)"


def no_limit_reason(p: Any, eps: float) -> str:
    """Why ``p.largest_n(b, eps)`` is None -- the '-' of a row's ``n (eps)`` -- in words (theory §6.5).

    >>> from types import SimpleNamespace as NS
    >>> from ccbounds.problems import EQ, INDEX
    >>> no_limit_reason(NS(message_grows_with_n=False, problem=INDEX(8)), 0.55)
    'the measured error 0.55 >= 1/2: guessing does as well at every n, so the bound n*(1-H2(eps)) is 0'
    >>> no_limit_reason(NS(message_grows_with_n=False, problem=EQ(8)), 0.1)[:40]
    'with errors the bound is 0 at every n (n'
    """
    prob = p.problem
    if p.message_grows_with_n:
        why = getattr(p, "growth_note", "") or "Alice sends sums for every value of the query token"
        return f"the message grows with n ({why})"
    if prob.n is None:
        return "the problem has no length n"
    if eps > 0:
        bound = prob.distributional_bound(min(eps, 1.0))
        if bound is None:
            return f"no lower bound with errors is stated for {type(prob).__name__}"
        if bound.value <= 0 and "H2(eps)" in bound.expression:
            q = int(getattr(prob, "q", 2))
            return (f"the measured error {eps:.4g} >= {q - 1}/{q}: guessing does as well at every n, so the bound "
                    f"{bound.expression} is 0")
        if bound.value <= 0:
            return f"with errors the bound is 0 at every n ({bound.note})"
    return "the bound stays below S*b for every n"


def _error_bound(problem: Any, eps: float) -> Any:
    """The problem's one-way bound at a measured error (None when it states none, or eps is 0 or above 1/2)."""
    from ccbounds.errors import CCBoundsError

    if not 0 < eps <= 0.5:
        return None
    try:
        return problem.one_way_bound(eps)
    except CCBoundsError:
        return None


def build_report(state: Any) -> AuditReport:
    """The :class:`AuditReport` of a finished audit (:class:`~ccbounds.auditing.runner.AuditState`)."""
    p, plan, st = state.protocol, state.plan, state.settings
    bound = p.lower_bound(0.0)
    width, K = len(plan.labels), st.samples
    model_accuracy = state.model.result()
    mism = state.mismatches.result()
    names = {f.name for f in fields(AuditRow)}
    rows, candidates, error_bounds = [], [], []
    for ps in state.precisions:
        pr, results = ps.precision, ps.results()
        measured = {k: v for r in results.values() for k, v in asdict(r).items() if k in names}
        bits = p.scalars * pr.bits
        pairs = list(results["Collisions"].pairs)
        if pairs:
            candidates.append((bits, pr.label, ps.scheme, pairs))
        mm = mism.mismatches if pr.label == "fp32" else 0
        verdict, reason = row_verdict(bits, float(bound.value), measured["L_certified"], mm)
        eps = 1.0 - measured["accuracy"]
        eb = _error_bound(p.problem, eps)
        if eb is not None:
            error_bounds.append({"precision": pr.label, "eps": eps, "text": str(eb), "bound": eb.to_dict()})
        n_eps, n_exact = p.largest_n(pr.bits, eps), p.largest_n(pr.bits)
        rows.append(AuditRow(
            precision=pr.label, scheme=_scheme_text(pr, ps.scheme), bits_per_scalar=pr.bits, message_bits=bits,
            lower_bound_bits=float(bound.value), largest_n=n_eps, largest_n_exact=n_exact, verdict=verdict,
            largest_n_note="" if n_eps is not None else no_limit_reason(p, eps), reason=reason,
            mismatches=mism.mismatches if pr.label == "fp32" else None, **measured))
    candidates.sort(key=lambda c: -c[0])  # the highest precision with collisions first
    n_wit = st.witnesses
    found, examined = find_witnesses(p, plan, [(lab, sch, prs) for _, lab, sch, prs in candidates], n_wit,
                                     max_examined=max(20, 10 * n_wit)) if n_wit else ([], 0)
    if not candidates:
        note = "no two distinct inputs shared a message at any precision"
    else:
        note = (f"{examined} colliding pairs examined, highest precision with collisions first "
                f"({candidates[0][1]}); confirmed = the real model errs on one of the two inputs")
    faithful = next((r.precision for r in rows if 100.0 * (model_accuracy - r.accuracy) <= FAITHFUL_POINTS), None)
    notes = [] if plan.certified else [plan.note]
    notes.append("fixed-point ranges are part of the protocol agreed in advance (calibrated per coordinate, "
                 "minmax, on Alice messages from a separate seed stream), not sent")
    if plan.certified:
        notes.append(f"each row's certificate holds with confidence {st.confidence:g} on its own (Clopper-Pearson, "
                     f"union bound over the {width} coordinates); a violation on any of the {len(rows)} rows is a "
                     f"false alarm with probability at most {len(rows)} x {1 - st.confidence:.2g}")
    module = p.module
    return AuditReport(
        model=getattr(p.adapter, "description", type(module).__name__),
        architecture=str(getattr(module, "arch", None) or type(module).__name__), scalars=p.scalars,
        message=p.describe_message(), reduction=p.name, lemma=p.lemma, problem=p.problem.name,
        task=p.task.name, gadget=p.gadget.name, mu=plan.description, query_labels=plan.labels, samples=K,
        seed=st.seed, confidence=st.confidence,
        calibration=(f"per-coordinate minmax over {st.calibration_samples} calibration messages "
                     f"(seed stream {st.seed}/1)"),
        device=str(state.device), lower_bound=bound, error_bounds=tuple(error_bounds),
        rows=tuple(rows), model_accuracy=float(model_accuracy),
        protocol_mismatches=int(mism.mismatches), mismatch_examples=mism.examples,
        smallest_faithful_precision=faithful, witnesses=tuple(found), collisions_examined=examined,
        witness_note=note, notes=tuple(notes))
