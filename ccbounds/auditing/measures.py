"""The audit's measurements, one small class each, fed batch by batch (theory §6).

The audit streams over batches of Alice inputs. For each batch and each precision it builds one
:class:`Batch` (the true answers, the real model's answers, Bob's answers at that precision, hashes of
the inputs and of the quantized messages) and hands it to every :class:`Measurement` of that precision
(``update``); at the end ``result()`` gives a small frozen dataclass whose fields named like
:class:`~ccbounds.auditing.report.AuditRow` fields fill the row.

Per precision (:func:`precision_state`): :class:`QueryAccuracy`, :class:`Certificate`,
:class:`MessageLog` (the 8-byte message hashes, the only O(K) state), and reading that log
:class:`Entropy`, :class:`DistinctMessages`, :class:`Collisions`. Per audit: :class:`ModelAccuracy`,
:class:`Mismatches` (the full-precision protocol against the model) and the input :class:`MessageLog`.
A new measurement is a class here, one line in :func:`precision_state` and its field on ``AuditRow``.

Examples
--------
>>> import numpy as np
>>> acc = QueryAccuracy(width=2)
>>> truth = np.array([[1, 0], [0, 0]])
>>> acc.update(Batch(0, 2, truth=truth, answers=np.array([[1, 1], [0, 0]])))
>>> acc.result()
AccuracyResult(accuracy=0.75, per_query_accuracy=(1.0, 0.5), errors=(0, 1), trials=2)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "AccuracyResult",
    "Batch",
    "Certificate",
    "CertificateResult",
    "CollisionResult",
    "Collisions",
    "DistinctMessages",
    "DistinctResult",
    "Entropy",
    "EntropyResult",
    "Measurement",
    "MessageLog",
    "MismatchResult",
    "Mismatches",
    "ModelAccuracy",
    "PrecisionState",
    "QueryAccuracy",
    "precision_state",
]


@dataclass(frozen=True)
class Batch:
    """What a measurement sees of one batch (rows ``start..stop-1`` of the K Alice inputs) at one precision.

    ``truth``, ``model`` and ``answers`` are ``(B, W)``: f(x, y), the real model's answer on the full
    sequence, and Bob's answer from the message at this precision (for the per-audit measurements: the
    unquantized protocol). ``query(r, c)`` is the query of row r, column c.
    """

    start: int
    stop: int
    truth: np.ndarray
    answers: np.ndarray
    model: np.ndarray | None = None
    xs: list = field(default_factory=list)
    query: Callable[[int, int], Any] | None = None
    input_hashes: np.ndarray | None = None
    message_hashes: np.ndarray | None = None


class Measurement(ABC):
    """A quantity accumulated over batches: ``update(batch)`` for each batch, then ``result()``."""

    @abstractmethod
    def update(self, batch: Batch) -> None:
        """Take in one batch."""

    @abstractmethod
    def result(self) -> Any:
        """The measured value, a frozen dataclass."""


@dataclass(frozen=True)
class AccuracyResult:
    accuracy: float
    per_query_accuracy: tuple[float, ...]
    errors: tuple[int, ...]
    trials: int


class _Errors(Measurement):
    """Errors per query column, counted over the K inputs."""

    def __init__(self, width: int) -> None:
        self.errors = np.zeros(width, dtype=np.int64)
        self.trials = 0

    def update(self, batch: Batch) -> None:
        self.errors += (batch.answers != batch.truth).sum(axis=0)
        self.trials += batch.stop - batch.start


class QueryAccuracy(_Errors):
    """Bob's accuracy per query column and over all (x, query) pairs."""

    def result(self) -> AccuracyResult:
        K, err = self.trials, self.errors
        acc = float((K * len(err) - int(err.sum())) / (K * len(err)))
        return AccuracyResult(acc, tuple(float((K - int(e)) / K) for e in err), tuple(int(e) for e in err), K)


@dataclass(frozen=True)
class CertificateResult:
    L_certified: float | None
    L_plugin: float | None


class Certificate(_Errors):
    """The Fano certificate L <= I(M; X) from the per-coordinate errors (INDEX, DISJ; else None)."""

    def __init__(self, width: int, q: int, confidence: float, applies: bool) -> None:
        super().__init__(width)
        self.q, self.confidence, self.applies = q, confidence, applies

    def result(self) -> CertificateResult:
        from ccbounds.information import fano_certificate

        if not self.applies:
            return CertificateResult(None, None)
        cert = fano_certificate(self.errors, self.trials, q=self.q, confidence=self.confidence)
        return CertificateResult(cert.L_certified, cert.L_plugin)


class MessageLog(Measurement):
    """The 8-byte hashes of the K messages (or inputs, ``what="input"``): the audit's only O(K) state."""

    def __init__(self, K: int, what: str = "message") -> None:
        self.hashes = np.empty(K, dtype=np.uint64)
        self.what = what

    def update(self, batch: Batch) -> None:
        self.hashes[batch.start:batch.stop] = batch.message_hashes if self.what == "message" else batch.input_hashes

    def result(self) -> np.ndarray:
        return self.hashes


class _ReadsLog(Measurement):
    """A measurement of the whole message stream: it reads a :class:`MessageLog` (fed before it)."""

    def __init__(self, log: MessageLog) -> None:
        self.log = log

    def update(self, batch: Batch) -> None:  # the log holds what is needed
        return None

    def counts(self) -> np.ndarray:
        return np.unique(self.log.hashes, return_counts=True)[1]


@dataclass(frozen=True)
class EntropyResult:
    entropy_bits: float
    entropy_cap_bits: float


class Entropy(_ReadsLog):
    """The Miller-Madow estimate of H(M) in bits, with its cap log2 min(K, |X|, 2^{S·b}).

    M is a function of x (at most |X| values) and has S·b bits (at most 2^{S·b} values); ``log2_inputs`` is
    log2 min(|X|, 2^{S·b}), the caller's bound on the message's support.
    """

    def __init__(self, log: MessageLog, log2_inputs: float | None = None) -> None:
        super().__init__(log)
        self.log2_inputs = log2_inputs

    def result(self) -> EntropyResult:
        from ccbounds.information import miller_madow_entropy

        ent = miller_madow_entropy(self.counts(), log2_support=self.log2_inputs)
        return EntropyResult(ent.value_bits, ent.cap_bits)


@dataclass(frozen=True)
class DistinctResult:
    distinct_messages: int


class DistinctMessages(_ReadsLog):
    """How many distinct messages the K inputs sent."""

    def result(self) -> DistinctResult:
        return DistinctResult(len(self.counts()))


@dataclass(frozen=True)
class CollisionResult:
    colliding_messages: int
    pairs: tuple[tuple[int, int], ...]


class Collisions(_ReadsLog):
    """Messages sent by two or more distinct inputs, and up to ``limit`` colliding sample pairs."""

    def __init__(self, log: MessageLog, inputs: MessageLog, limit: int) -> None:
        super().__init__(log)
        self.inputs, self.limit = inputs, limit

    def result(self) -> CollisionResult:
        from ccbounds.auditing.witnesses import collision_pairs

        pairs, groups = collision_pairs(self.log.hashes, self.inputs.hashes, limit=self.limit)
        return CollisionResult(groups, tuple(pairs))


class ModelAccuracy(Measurement):
    """The real model's own accuracy on the full sequences of the audited pairs."""

    def __init__(self) -> None:
        self.correct = self.pairs = 0

    def update(self, batch: Batch) -> None:
        self.correct += int((batch.model == batch.truth).sum())
        self.pairs += batch.model.size

    def result(self) -> float:
        return self.correct / self.pairs


@dataclass(frozen=True)
class MismatchResult:
    mismatches: int
    examples: tuple[dict, ...]


class Mismatches(Measurement):
    """Pairs where the full-precision protocol's answer differs from the model's, with a few examples."""

    def __init__(self, keep: int = 3) -> None:
        self.count, self.keep, self.examples = 0, keep, []

    def update(self, batch: Batch) -> None:
        bad = np.argwhere(batch.answers != batch.model)
        self.count += len(bad)
        for r, c in bad[: max(0, self.keep - len(self.examples))]:
            self.examples.append({"x": list(batch.xs[r]), "query": batch.query(r, c),
                                  "protocol": int(batch.answers[r, c]), "model": int(batch.model[r, c])})

    def result(self) -> MismatchResult:
        return MismatchResult(self.count, tuple(self.examples))


@dataclass
class PrecisionState:
    """Everything the audit accumulates at one precision: its scheme, message log and measurements."""

    precision: Any  # ccbounds.quantize.Precision
    scheme: Any  # ccbounds.quantize.Scheme
    log: MessageLog
    measurements: list[Measurement]

    def update(self, batch: Batch) -> None:
        self.log.update(batch)
        for m in self.measurements:
            m.update(batch)

    def results(self) -> dict[str, Any]:
        """Every measurement's result by class name."""
        return {type(m).__name__: m.result() for m in self.measurements}


def precision_state(precision: Any, scheme: Any, K: int, width: int, plan: Any, confidence: float,
                    inputs: MessageLog, collision_limit: int, log2_inputs: float | None = None) -> PrecisionState:
    """The measurements of one precision (the one list to extend with a new measurement)."""
    log = MessageLog(K)
    return PrecisionState(precision, scheme, log, [
        QueryAccuracy(width),
        Certificate(width, plan.q, confidence, plan.certified),
        Entropy(log, log2_inputs),
        DistinctMessages(log),
        Collisions(log, inputs, collision_limit),
    ])
