"""From an audit's streamed counts to its rows, witnesses and report (SPEC §6).

Per precision: accuracy, the Fano certificate (INDEX, DISJ, IP), the Miller-Madow entropy of the message
hashes, the verdict of :func:`~ccbounds.auditing.report.row_verdict` and the predicted limit on n
(:meth:`~ccbounds.reduction.InducedProtocol.largest_n`: at the measured error, and with no error).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ccbounds.auditing.report import AuditReport, AuditRow, row_verdict
from ccbounds.auditing.witnesses import collision_pairs, find_witnesses

__all__ = ["summarize", "FAITHFUL_POINTS"]

#: "faithful" = accuracy within this many percentage points of the model's own
FAITHFUL_POINTS = 1.0


def _scheme_text(pr: Any, scheme: Any) -> str:
    if pr.fixed:
        return f"fixed point, {pr.bits} bits per scalar, per-coordinate ranges ({scheme.calibration})"
    if pr.label == "fp32":
        return "the model's own float32 (exact fp32 bits)"
    return f"{pr.label} (round to nearest even)"


def summarize(p: Any, model: Any, plan: Any, precs: list, schemes: dict, errors: dict, hashes: dict,
              x_hash: np.ndarray, K: int, seed: int, dev: Any, confidence: float, n_cal: int,
              model_accuracy: float, mismatches: int, examples: list, n_wit: int) -> AuditReport:
    """Assemble the :class:`AuditReport` (called by :func:`ccbounds.audit`)."""
    from ccbounds.information import fano_certificate, miller_madow_entropy

    bound = p.lower_bound(0.0)
    width = len(plan.labels)
    rows, candidates = [], []
    for pr in precs:
        err = errors[pr.label]
        bits = p.scalars * pr.bits
        acc = float((K * width - int(err.sum())) / (K * width))  # computed as model_accuracy is
        cert = fano_certificate(err, K, q=plan.q, confidence=confidence) if plan.certified else None
        counts = np.unique(hashes[pr.label], return_counts=True)[1]
        ent = miller_madow_entropy(counts)
        pairs, groups = collision_pairs(hashes[pr.label], x_hash, limit=max(4 * n_wit, 8))
        if pairs:
            candidates.append((bits, pr.label, schemes[pr.label], pairs))
        mm = mismatches if pr.label == "fp32" else 0
        L = cert.L_certified if cert else None
        verdict, reason = row_verdict(bits, float(bound.value), L, mm)
        n_eps, n_exact = p.largest_n(pr.bits, 1.0 - acc), p.largest_n(pr.bits)
        rows.append(AuditRow(
            precision=pr.label, scheme=_scheme_text(pr, schemes[pr.label]), bits_per_scalar=pr.bits,
            message_bits=bits, accuracy=acc, per_query_accuracy=tuple(float((K - int(e)) / K) for e in err),
            errors=tuple(int(e) for e in err), trials=K, L_certified=L,
            L_plugin=cert.L_plugin if cert else None, entropy_bits=ent.value_bits, entropy_cap_bits=ent.cap_bits,
            distinct_messages=ent.distinct, colliding_messages=groups, lower_bound_bits=float(bound.value),
            largest_n=n_eps, largest_n_exact=n_exact, verdict=verdict, reason=reason,
            mismatches=mismatches if pr.label == "fp32" else None))
    candidates.sort(key=lambda c: -c[0])  # the highest precision with collisions first
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
        notes.append(f"each row's certificate holds with confidence {confidence:g} on its own (Clopper-Pearson, "
                     f"union bound over the {width} coordinates); a violation on any of the {len(rows)} rows is a "
                     f"false alarm with probability at most {len(rows)} x {1 - confidence:.2g}")
    return AuditReport(
        model=getattr(p.adapter, "description", type(model).__name__),
        architecture=str(getattr(model, "arch", None) or type(model).__name__), scalars=p.scalars,
        message=p.describe_message(), reduction=p.name, lemma=p.lemma, problem=p.problem.name,
        task=p.task.name, gadget=p.gadget.name, mu=plan.description, query_labels=plan.labels, samples=K,
        seed=seed, confidence=confidence,
        calibration=f"per-coordinate minmax over {n_cal} calibration messages (seed stream {seed}/1)",
        device=str(dev), lower_bound=bound, rows=tuple(rows), model_accuracy=float(model_accuracy),
        protocol_mismatches=int(mismatches), mismatch_examples=tuple(examples),
        smallest_faithful_precision=faithful, witnesses=tuple(found), collisions_examined=examined,
        witness_note=note, notes=tuple(notes))
