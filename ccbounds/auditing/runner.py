"""``audit(model, problem)``: quantize the induced protocol's messages and measure what they carry (theory §6).

The audit streams over batches of Alice inputs, through the protocol engine only
(:class:`~ccbounds.protocols.induced.InducedProtocol`): Alice's fp32 messages are computed once per batch
and quantized for every precision; Bob continues from each de-quantized message on all of the batch's
queries at once (his token rows built once); the real model runs, through its adapter, on the same full
sequences. Each precision's measurements (:mod:`ccbounds.auditing.measures`) are fed batch by batch;
only O(K) 8-byte hashes (of the inputs and of each precision's messages) are kept.

Examples
--------
>>> import torch
>>> from ccbounds.models import RecurrentConfig, build_model
>>> from ccbounds.problems import INDEX
>>> torch.manual_seed(0) and None
>>> gru = build_model(RecurrentConfig("gru", vocab_size=6, num_classes=2, width=1)).eval()
>>> r = audit(gru, INDEX(4), precisions=(1, 32), samples=64, calibration_samples=32)
>>> [(row.precision, row.message_bits, row.verdict) for row in r.rows]
[('fixed1', 1, 'below bound'), ('fp32', 32, 'consistent')]
>>> r.model_accuracy == r.row(32).accuracy, r.exit_status
(True, 0)
>>> from ccbounds import reduce
>>> audit(reduce(gru, INDEX(4)), samples=64, calibration_samples=32).to_json() == audit(
...     gru, INDEX(4), samples=64, calibration_samples=32).to_json()   # a ready protocol is audited as is
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ccbounds.auditing.measures import (
    Batch,
    MessageLog,
    Mismatches,
    ModelAccuracy,
    PrecisionState,
    precision_state,
)
from ccbounds.auditing.report import AuditReport
from ccbounds.auditing.sampling import CALIBRATION, QueryPlan, hash_rows
from ccbounds.devices import resolve_device
from ccbounds.errors import InvalidInputError
from ccbounds.quantize.precision import Precision, parse_precisions

__all__ = ["audit", "parse_precisions", "Precision", "AuditSettings", "AuditState", "MAX_BOB_ROWS"]

#: at most this many (message, query) rows go through Bob, or through the model, in one call
MAX_BOB_ROWS = 16384
#: the most Alice inputs (samples, calibration_samples) an audit draws
MAX_SAMPLES = 2**24


@dataclass(frozen=True)
class AuditSettings:
    """How an audit samples: K Alice inputs, the seed, the certificate's confidence, calibration, witnesses."""

    samples: int
    seed: int
    confidence: float
    calibration_samples: int
    witnesses: int
    batch: int

    def __post_init__(self) -> None:
        for name, low in (("samples", 1), ("calibration_samples", 1), ("witnesses", 0), ("batch", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
                raise InvalidInputError(f"{name} must be an integer >= {low}, got {v!r}")
            if name != "witnesses" and v > MAX_SAMPLES:
                raise InvalidInputError(f"{name} = {v} is over the limit MAX_SAMPLES = 2^24; pass fewer")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or not 0 <= self.seed < 2**63:
            raise InvalidInputError(f"seed must be an integer in 0..2^63-1, got {self.seed!r}; e.g. seed=0")
        c = self.confidence
        if isinstance(c, bool) or not isinstance(c, (int, float, np.floating)) or not 0.0 < c < 1.0:
            raise InvalidInputError(f"confidence must be a number in (0, 1), got {c!r}; e.g. 0.95")


@dataclass
class AuditState:
    """An audit in progress: the protocol, mu, the settings, and what every measurement has accumulated."""

    protocol: Any  # InducedProtocol
    plan: QueryPlan
    settings: AuditSettings
    device: Any
    inputs: MessageLog
    model: ModelAccuracy
    mismatches: Mismatches
    precisions: list[PrecisionState]


def audit(model: Any, problem: Any = None, *, task: Any = None, gadget: Any = None,
          precisions: Sequence[Any] = (1, 2, 4, 8, 16, 32), samples: int = 4096, seed: int = 0,
          device: Any = None, confidence: float = 0.95, calibration_samples: int = 512, witnesses: int = 5,
          batch: int = 512, progress: Callable[[int, int], None] | None = None,
          answer_tokens: Sequence[int] | None = None) -> AuditReport:
    """Audit a model against the communication lower bound of ``problem`` at several precisions (theory §6).

    The model becomes a one-way protocol (``ccbounds.reduce``, theory §4). For each precision Alice's
    message is quantized to b bits per scalar (an exact S*b-bit message), Bob continues from the
    de-quantized message, and the audit measures accuracy, the certified information L (Fano +
    Clopper-Pearson), the message entropy, collisions, and compares S*b with D^{A->B}(f).

    Query distribution mu: x_1..x_K i.i.d. uniform (seeded); Bob asks every index for INDEX, y = {i} for
    every i for DISJ (DISJ(x, {i}) = 1 - x_i), y = x and the n single-bit flips for EQ, and a seeded
    sample of his inputs otherwise (see :mod:`ccbounds.auditing.sampling`).

    Parameters
    ----------
    model : torch.nn.Module or InducedProtocol
        A model :func:`ccbounds.reduce` accepts (run in eval mode on ``device`` and put back, mode and
        device, afterwards), or a ready protocol ``reduce(model, problem, ...)``, audited as it is
        (on its own device; ``problem`` may then be omitted, ``task`` and ``gadget`` must be).
    problem : Problem
        INDEX, EQ, DISJ (with certificate / witnesses) or another problem with a gadget.
    task, gadget :
        As for :func:`ccbounds.reduce`.
    precisions : sequence
        Read by :func:`ccbounds.quantize.parse_precision`. Ints 1..31: fixed point, b bits per scalar, one
        range per coordinate calibrated (minmax) on
        ``calibration_samples`` Alice messages from a seed stream apart from the audited one (the ranges
        are agreed in advance, not sent); 32: the model's own float32 (exact fp32 bits); names "fp16",
        "bf16", "fp8e4m3", "fp8e5m2".
    samples : int
        K, the number of Alice inputs.
    seed : int
        Seeds every draw; the same seed gives a byte-identical :meth:`AuditReport.to_json`.
    device : str, optional
        "cpu" (the default for a model) or "cuda"; a ready protocol runs where it was built.
    confidence : float
        Joint confidence of each row's certificate (union bound over the n coordinates).
    calibration_samples : int
        Alice messages used to calibrate the fixed-point ranges.
    witnesses : int
        How many confirmed collision witnesses to return at most.
    batch : int
        Alice inputs per batch (memory grows with it, not with ``samples``).
    progress : callable, optional
        Called as ``progress(done, total)`` with Alice inputs processed out of K.
    answer_tokens : sequence of int, optional
        As for :func:`ccbounds.reduce`: a causal LM read at its last position at these vocabulary ids.

    Returns
    -------
    AuditReport

    Raises
    ------
    ReductionNotApplicable, UnsupportedArchitecture
        From :func:`ccbounds.reduce`.
    InvalidInputError
        Bad arguments; ``device="cuda"`` without a GPU.
    """
    import torch

    from ccbounds.protocols.induced import InducedProtocol

    settings = AuditSettings(samples, seed, confidence, calibration_samples, witnesses, batch)
    precs = parse_precisions(precisions)
    if isinstance(model, InducedProtocol):
        p, module = model, model.module
        if task is not None or gadget is not None or answer_tokens is not None:
            raise InvalidInputError("audit() of a ready protocol takes no task, gadget or answer_tokens: they are "
                                    "the protocol's")
        if problem is not None and getattr(problem, "name", problem) != p.problem.name:
            raise InvalidInputError(f"the protocol is for {p.problem.name}, not {getattr(problem, 'name', problem)}")
        dev = resolve_device(p.device)
        if device is not None and resolve_device(device) != dev:
            raise InvalidInputError(f"the protocol runs on {dev}; reduce the model again with device={device!r}")
    else:
        if problem is None:
            raise InvalidInputError("audit(model, problem) needs a problem such as ccbounds.INDEX(16)")
        from ccbounds.reduction import check_not_meta

        check_not_meta(model)
        p, module, dev = None, model, resolve_device("cpu" if device is None else device)
    params = list(module.parameters()) if hasattr(module, "parameters") else []
    home, training = (params[0].device if params else None), getattr(module, "training", False)
    if hasattr(module, "to"):
        module.to(dev)
    if hasattr(module, "eval"):
        module.eval()
    try:
        with torch.no_grad():
            if p is None:
                from ccbounds.reduction import reduce

                p = reduce(module, problem, task, gadget, device=dev, answer_tokens=answer_tokens)
            state = _run(p, precs, settings, dev, progress)
            from ccbounds.auditing.summary import build_report

            report = build_report(state)
            note = getattr(p, "vocabulary_note", "")
            return dataclasses.replace(report, notes=(*report.notes, note)) if note else report
    finally:
        if home is not None:
            module.to(home)
        if hasattr(module, "train"):
            module.train(training)


def _start(p: Any, precs: list[Precision], settings: AuditSettings, dev: Any) -> AuditState:
    """Calibrate the fixed-point schemes and set up every measurement."""
    plan = QueryPlan.for_problem(p.problem, settings.seed)
    K, width, n_cal = settings.samples, len(plan.labels), settings.calibration_samples
    cal = None
    if any(pr.fixed for pr in precs):
        xs = plan.inputs(plan.alice_rows(0, n_cal, CALIBRATION))
        cal = p.messages(xs, batch=settings.batch).cpu().numpy().astype(np.float64)
    inputs = MessageLog(K, what="input")
    limit = max(4 * settings.witnesses, 8)
    # H(M) <= log2 min(|X|, 2^{S*b}): M is a function of x and takes at most 2^{S*b} values (theory §6.3)
    states = [precision_state(pr, pr.scheme(cal, per_coordinate=True), K, width, plan, settings.confidence,
                              inputs, limit, min(p.problem.log2_num_alice_inputs, p.scalars * pr.bits))
              for pr in precs]
    return AuditState(p, plan, settings, dev, inputs, ModelAccuracy(), Mismatches(), states)


def _run(p: Any, precs: list[Precision], settings: AuditSettings, dev: Any, progress: Any) -> AuditState:
    import torch

    state = _start(p, precs, settings, dev)
    plan, K = state.plan, settings.samples
    shared = plan.fixed_queries is not None
    fixed = p.prepare_queries(list(plan.fixed_queries)) if shared else None  # Bob's rows, built once
    if progress:
        progress(0, K)
    for a0 in range(0, K, settings.batch):
        a1 = min(K, a0 + settings.batch)
        rows = plan.alice_rows(a0, a1)
        xs = plan.inputs(rows)
        ys = list(plan.fixed_queries) if shared else plan.queries(rows)
        queries = fixed if shared else p.prepare_queries(ys, per_row=True)
        width = len(plan.labels)

        def query(r: int, c: int, ys: list = ys, width: int = width) -> Any:
            y = ys[c] if shared else ys[r * width + c]
            return list(y) if isinstance(y, tuple) else y

        msgs = p.messages(xs)  # (B, S) float32, fp32 once per batch
        m64 = msgs.cpu().numpy().astype(np.float64)
        own = p.model_grid(xs, ys, MAX_BOB_ROWS, per_row=not shared)  # the real model, full sequences
        truth = plan.truth(rows)  # (B, width)
        common = {"start": a0, "stop": a1, "truth": truth, "model": own, "xs": xs, "query": query,
                  "input_hashes": plan.row_hashes(rows)}
        state.inputs.update(Batch(answers=own, **common))
        full = None
        for ps in state.precisions:
            codes = ps.scheme.encode(m64)  # (B, S)
            deq = torch.as_tensor(np.asarray(ps.scheme.decode(codes), dtype=np.float32), device=dev)
            ans = p.answer_grid(deq, queries, MAX_BOB_ROWS)
            ps.update(Batch(answers=ans, message_hashes=hash_rows(codes), **common))
            if ps.precision.label == "fp32":
                full = ans
        if full is None:  # the unquantized protocol, for the reduction check
            full = p.answer_grid(msgs, queries, MAX_BOB_ROWS)
        model_batch = Batch(answers=full, **common)
        state.model.update(model_batch)
        state.mismatches.update(model_batch)
        if progress:
            progress(a1, K)
    return state
