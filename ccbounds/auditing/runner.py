"""``audit(model, problem)``: quantize the induced protocol's messages and measure what they carry (SPEC §6).

The audit streams over batches of Alice inputs: Alice's fp32 messages are computed once per batch and
quantized for every precision; Bob continues from each de-quantized message on all of the batch's
queries at once; the model itself runs on the same full sequences. Only O(K) 8-byte hashes (of the
inputs and of each precision's messages) are kept, for entropy estimates and collision witnesses.

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
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ccbounds.auditing.report import AuditReport
from ccbounds.auditing.sampling import CALIBRATION, QueryPlan, hash_rows
from ccbounds.devices import resolve_device
from ccbounds.errors import InvalidInputError

__all__ = ["audit", "parse_precisions", "Precision", "MAX_BOB_ROWS"]

#: at most this many (message, query) rows go through Bob, or through the model, in one call
MAX_BOB_ROWS = 16384


@dataclass(frozen=True)
class Precision:
    """One requested precision: ``label`` ("fixed4", "fp16", "fp32"), bits per scalar, fixed point or not."""

    label: str
    bits: int
    fixed: bool
    spec: Any


def parse_precisions(precisions: Sequence[Any]) -> list[Precision]:
    """Validate and order precisions: ints 1..31 (fixed point), 32 (= the model's float32), float names.

    Examples
    --------
    >>> [p.label for p in parse_precisions([32, "fp16", 4, "bf16", 1])]
    ['fixed1', 'fixed4', 'bf16', 'fp16', 'fp32']
    """
    from ccbounds.quantize import FLOAT_FORMATS, SCHEME_ALIASES

    out: dict[str, Precision] = {}
    if isinstance(precisions, (str, int)) or not len(precisions):
        raise InvalidInputError(f"precisions must be a non-empty list such as (1, 2, 4, 8, 16, 32), got {precisions!r}")
    for spec in precisions:
        if isinstance(spec, str) and spec.strip().isdigit():
            spec = int(spec.strip())
        if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
            b = int(spec)
            if not 1 <= b <= 32:
                raise InvalidInputError(f"a fixed-point precision must be 1..31 bits (32 = float32), got {b}")
            pr = Precision("fp32", 32, False, "fp32") if b == 32 else Precision(f"fixed{b}", b, True, b)
        elif isinstance(spec, str):
            name = SCHEME_ALIASES.get(spec.strip().lower(), spec.strip().lower())
            if name not in FLOAT_FORMATS:
                from ccbounds.errors import UnknownNameError

                raise UnknownNameError(f"unknown precision {spec!r}; valid: integers 1..32 (fixed point; 32 = "
                                       f"float32) and {', '.join(FLOAT_FORMATS)}")
            pr = Precision(name, 1 + FLOAT_FORMATS[name][0] + FLOAT_FORMATS[name][1], False, name)
        else:
            raise InvalidInputError(f"precision {spec!r} is neither a bit count nor a float-format name; e.g. 8 or "
                                    f"'fp16'")
        out[pr.label] = pr
    return sorted(out.values(), key=lambda p: (p.bits, not p.fixed, p.label))


class _Bob:
    """Bob's answers for (message, query) grids, batched; his token rows are built once per query list
    (``bob_tokens``) and reused for every precision (``bob_logits_from_tokens``)."""

    def __init__(self, p: Any) -> None:
        self.p, self._amap = p, None
        self._tokens: dict[int, tuple[list, Any]] = {}

    def tokens(self, unit: list) -> Any:
        hit = self._tokens.get(id(unit))
        if hit is None or hit[0] is not unit:
            hit = (unit, self.p.bob_tokens(unit))
            self._tokens[id(unit)] = hit
        return hit[1]

    def forget(self) -> None:
        """Drop the token rows of the previous batch."""
        self._tokens = {}

    def answers_from_logits(self, logits: Any) -> np.ndarray:
        if self._amap is None or len(self._amap) < logits.shape[-1]:
            self._amap = np.array([self.p.gadget.answer_map(c) for c in range(logits.shape[-1])], dtype=np.int64)
        return self._amap[logits.argmax(dim=-1).cpu().numpy()]

    def grid(self, msgs: Any, units: list[tuple[int, int, list]], width: int) -> np.ndarray:
        """Answers ``(B, width)``; ``units`` = (row0, row1, queries) with queries for rows row0..row1-1,
        either ``width`` queries shared by those rows or one block of ``width`` per row."""
        out = np.empty((msgs.shape[0], width), dtype=np.int64)
        for a0, a1, unit in units:
            toks = self.tokens(unit)
            if len(unit) == width:
                toks = toks.repeat(a1 - a0, 1)  # (rows*width, t)
            rep = msgs[a0:a1].repeat_interleave(width, dim=0)  # (rows*width, S)
            out[a0:a1] = self.answers_from_logits(self.p.bob_logits_from_tokens(rep, toks)).reshape(-1, width)
        return out


def _chunks(B: int, width: int, queries: list, shared: bool) -> list[tuple[int, int, list]]:
    step = max(1, MAX_BOB_ROWS // max(width, 1))
    if shared:
        return [(a0, min(B, a0 + step), queries) for a0 in range(0, B, step)]
    return [(a0, min(B, a0 + step), queries[a0 * width:min(B, a0 + step) * width]) for a0 in range(0, B, step)]


def _full_sequences(p: Any, plan: Any, xs: list, queries: list, width: int, check: bool) -> np.ndarray:
    """Token rows ``(B*width, T)`` of the full sequences, assembled from the parties' halves."""
    g = p.gadget
    alice = np.stack([np.asarray(g.encode_alice(x)[1]) for x in xs])  # (B, |A|)
    uniq = plan.fixed_queries is not None
    bob_q = list(plan.fixed_queries) if uniq else queries
    bob = np.stack([np.asarray(g.encode_bob(y)[1]) for y in bob_q])
    pub_pos, pub_tok = g.encode_public()
    T, B = len(g.owners), len(xs)
    dtype = np.result_type(alice, bob, np.asarray(pub_tok))
    seq = np.zeros((B, width, T) + alice.shape[2:], dtype=dtype)
    seq[:, :, list(g.alice_positions)] = alice[:, None]
    seq[:, :, list(g.bob_positions)] = bob[None] if uniq else bob.reshape((B, width) + bob.shape[1:])
    if len(pub_pos):
        seq[:, :, list(pub_pos)] = np.asarray(pub_tok)
    seq = seq.reshape((B * width, T) + alice.shape[2:])
    if check:  # the assembled halves must be the gadget's own encoding
        for r in {0, len(seq) - 1}:
            if not np.array_equal(seq[r], g.encode(xs[r // width], queries[r]) if not uniq else
                                  g.encode(xs[r // width], bob_q[r % width])):
                raise InvalidInputError(f"gadget {g.name}: assembling Alice's and Bob's halves does not give "
                                        "encode(x, y); run reductions.gadgets.check_gadget on it")
    return seq


def _model_answers(p: Any, bob: _Bob, seq: np.ndarray) -> np.ndarray:
    import torch

    out = []
    dtype = torch.long if seq.dtype.kind in "iu" else torch.float32
    for s in range(0, len(seq), MAX_BOB_ROWS):
        t = torch.as_tensor(seq[s:s + MAX_BOB_ROWS], dtype=dtype, device=p.device)
        out.append(bob.answers_from_logits(p.module(t)))
    return np.concatenate(out)


def _check_args(samples: int, calibration_samples: int, witnesses: int, batch: int, confidence: float) -> None:
    for name, v, low in (("samples", samples, 1), ("calibration_samples", calibration_samples, 1),
                         ("witnesses", witnesses, 0), ("batch", batch, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
            raise InvalidInputError(f"{name} must be an integer >= {low}, got {v!r}")
    if not 0.0 < confidence < 1.0:
        raise InvalidInputError(f"confidence must lie in (0, 1), got {confidence!r}; e.g. 0.95")


def audit(model: Any, problem: Any, *, task: Any = None, gadget: Any = None,
          precisions: Sequence[Any] = (1, 2, 4, 8, 16, 32), samples: int = 4096, seed: int = 0,
          device: Any = "cpu", confidence: float = 0.95, calibration_samples: int = 512, witnesses: int = 5,
          batch: int = 512, progress: Callable[[int, int], None] | None = None) -> AuditReport:
    """Audit a model against the communication lower bound of ``problem`` at several precisions (SPEC §6).

    The model becomes a one-way protocol (``ccbounds.reduce``, SPEC §4). For each precision Alice's
    message is quantized to b bits per scalar (an exact S*b-bit message), Bob continues from the
    de-quantized message, and the audit measures accuracy, the certified information L (Fano +
    Clopper-Pearson), the message entropy, collisions, and compares S*b with D^{A->B}(f).

    Query distribution mu: x_1..x_K i.i.d. uniform (seeded); Bob asks every index for INDEX, y = {i} for
    every i for DISJ (DISJ(x, {i}) = 1 - x_i), y = x and the n single-bit flips for EQ, and a seeded
    sample of his inputs otherwise (see :mod:`ccbounds.auditing.sampling`).

    Parameters
    ----------
    model : torch.nn.Module
        A model :func:`ccbounds.reduce` accepts. It is run in eval mode on ``device`` and put back
        (mode and device) afterwards.
    problem : Problem
        INDEX, EQ, DISJ (with certificate / witnesses) or another problem with a gadget.
    task, gadget :
        As for :func:`ccbounds.reduce`.
    precisions : sequence
        Ints 1..31: fixed point, b bits per scalar, one range per coordinate calibrated (minmax) on
        ``calibration_samples`` Alice messages from a seed stream apart from the audited one (the ranges
        are agreed in advance, not sent); 32: the model's own float32 (exact fp32 bits); names "fp16",
        "bf16", "fp8e4m3", "fp8e5m2".
    samples : int
        K, the number of Alice inputs.
    seed : int
        Seeds every draw; the same seed gives a byte-identical :meth:`AuditReport.to_json`.
    device : str
        "cpu" or "cuda".
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

    from ccbounds.reduction import reduce

    _check_args(samples, calibration_samples, witnesses, batch, confidence)
    precs = parse_precisions(precisions)
    dev = resolve_device(device)
    params = list(model.parameters()) if hasattr(model, "parameters") else []
    home, training = (params[0].device if params else None), getattr(model, "training", False)
    if hasattr(model, "to"):
        model.to(dev)
    if hasattr(model, "eval"):
        model.eval()
    try:
        with torch.no_grad():
            p = reduce(model, problem, task, gadget, device=dev)
            report = _run(p, model, problem, precs, int(samples), seed, dev, confidence, int(calibration_samples),
                          int(witnesses), int(batch), progress)
            note = getattr(p, "vocabulary_note", "")
            return dataclasses.replace(report, notes=(*report.notes, note)) if note else report
    finally:
        if home is not None:
            model.to(home)
        if hasattr(model, "train"):
            model.train(training)


def _run(p: Any, model: Any, problem: Any, precs: list[Precision], K: int, seed: int, dev: Any, confidence: float,
         n_cal: int, n_wit: int, batch: int, progress: Any) -> AuditReport:
    import torch

    from ccbounds.auditing.summary import summarize
    from ccbounds.quantize import get_scheme
    from ccbounds.quantize.vector import calibrate_per_coordinate

    plan = QueryPlan.for_problem(problem, seed)
    width = len(plan.labels)
    schemes: dict[str, Any] = {}
    if any(pr.fixed for pr in precs):
        cal = np.concatenate([p.alice_messages(plan.inputs(plan.alice_rows(a, min(n_cal, a + batch), CALIBRATION)))
                              .detach().cpu().numpy().astype(np.float64) for a in range(0, n_cal, batch)])
    for pr in precs:
        schemes[pr.label] = calibrate_per_coordinate(cal, pr.bits) if pr.fixed else get_scheme(pr.spec)
    bob = _Bob(p)
    errors = {pr.label: np.zeros(width, dtype=np.int64) for pr in precs}
    hashes = {pr.label: np.empty(K, dtype=np.uint64) for pr in precs}
    x_hash = np.empty(K, dtype=np.uint64)
    model_correct = mismatches = 0
    examples: list[dict] = []
    if progress:
        progress(0, K)
    for a0 in range(0, K, batch):
        a1 = min(K, a0 + batch)
        rows = plan.alice_rows(a0, a1)
        xs = plan.inputs(rows)
        x_hash[a0:a1] = plan.row_hashes(rows)
        truth = plan.truth(rows)  # (B, width)
        queries = plan.queries(rows)
        shared = plan.fixed_queries is not None
        units = _chunks(len(xs), width, list(plan.fixed_queries) if shared else queries, shared)
        bob.forget()
        msgs = p.alice_messages(xs)  # (B, S) float32, fp32 once per batch
        m64 = msgs.detach().cpu().numpy().astype(np.float64)
        seq = _full_sequences(p, plan, xs, queries, width, check=a0 == 0)
        own = _model_answers(p, bob, seq).reshape(len(xs), width)
        model_correct += int((own == truth).sum())
        full = None
        for pr in precs:
            sch = schemes[pr.label]
            codes = sch.encode(m64)  # (B, S)
            hashes[pr.label][a0:a1] = hash_rows(codes)
            deq = torch.as_tensor(np.asarray(sch.decode(codes), dtype=np.float32), device=dev)
            ans = bob.grid(deq, units, width)
            errors[pr.label] += (ans != truth).sum(axis=0)
            if pr.label == "fp32":
                full = ans
        if full is None:  # the unquantized protocol, for the reduction check
            full = bob.grid(msgs, units, width)
        bad = np.argwhere(full != own)
        mismatches += len(bad)
        for r, c in bad[: max(0, 3 - len(examples))]:
            examples.append({"x": list(xs[r]), "query": plan.queries(rows[r:r + 1])[c] if not shared
                             else _plain(plan.fixed_queries[c]), "protocol": int(full[r, c]), "model": int(own[r, c])})
        if progress:
            progress(a1, K)
    return summarize(p, model, plan, precs, schemes, errors, hashes, x_hash, K, seed, dev, confidence, n_cal,
                     model_correct / (K * width), mismatches, examples, n_wit)


def _plain(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v
