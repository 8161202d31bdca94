"""The induced one-way protocol of a model through a gadget (theory §4): the one protocol engine.

Lemma R (recurrent models) and Lemma T (one softmax attention layer) say how a model becomes a
one-way protocol. An :class:`InducedProtocol` is a :class:`~ccbounds.protocols.OneWayProtocol` whose
message is a vector of S scalars: Alice runs the model on her part of the gadget's sequence and sends
its state (Lemma R) or her partial softmax sums (Lemma T); Bob finishes. At precision b per scalar the
message has exactly S·b bits, and a model correct on every input needs S·b >= D^{A->B}(f)
(:meth:`InducedProtocol.check`).

This module is part of the core: it knows nothing of the concrete reductions. Those live in
:mod:`reductions.recurrent` and :mod:`reductions.attention` (subclasses of :class:`InducedProtocol`),
and :func:`ccbounds.reduce` picks one through :mod:`reductions.registry`.

Examples
--------
>>> import torch
>>> from ccbounds import reduce
>>> from ccbounds.models import RecurrentConfig, build_model
>>> from ccbounds.problems import INDEX
>>> torch.manual_seed(0) and None
>>> lstm = build_model(RecurrentConfig("lstm", vocab_size=6, num_classes=2, width=8, layers=2))
>>> p = reduce(lstm, INDEX(4))
>>> isinstance(p, InducedProtocol), p.scalars, p.cost_bits(32), p.cost_bits(4)
(True, 32, 1024, 128)
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ccbounds._required_bits import required_bits
from ccbounds.bound_record import Bound
from ccbounds.errors import InvalidInputError
from ccbounds.protocols.oneway import OneWayProtocol
from ccbounds.protocols.reference import DEFAULT_BATCH, ModelOnGadget

__all__ = ["InducedProtocol", "ReductionCheck", "BobQueries", "as_scheme", "DEFAULT_BATCH"]



def as_scheme(precision: Any, calibration: Any = None) -> Any:
    """A quantization scheme from ``precision`` as :func:`~ccbounds.quantize.parse_precision` reads it
    (ints 1..31: fixed point, needs ``calibration`` messages; 32 and float names: floats), or a Scheme.

    >>> as_scheme("fp16").bits_per_scalar, as_scheme(32).name
    (16, 'fp32')
    """
    from ccbounds.quantize import get_scheme

    return get_scheme(precision, calibration=calibration)


def _bits_per_scalar(precision: Any) -> int:
    from ccbounds.quantize import Scheme, parse_precision

    return precision.bits_per_scalar if isinstance(precision, Scheme) else parse_precision(precision).bits


@dataclass(frozen=True)
class ReductionCheck:
    """The inequality of Lemma R / T for one model at one precision, and what it means."""

    protocol: str
    problem: str
    scalars: int
    bits_per_scalar: int
    message_bits: int
    bound: Bound
    holds: bool

    @property
    def verdict(self) -> str:
        if self.holds:
            return ("not ruled out: the message is large enough for the lower bound (this does not prove the model "
                    "solves the task)")
        goal = ("exact on every input" if not self.bound.eps else
                f"reach average error <= {self.bound.eps:g} ({self.bound.note})")
        return ("below bound: the message is smaller than the lower bound, so no setting of the weights "
                f"makes this model {goal} at this precision")

    @property
    def inequality(self) -> str:
        rel = ">=" if self.holds else "<"
        return (f"S*b = {self.scalars}*{self.bits_per_scalar} = {self.message_bits} bits {rel} "
                f"{self.bound._value_text()} bits = {self.bound.measure}")

    def to_dict(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "problem": self.problem, "scalars": self.scalars,
                "bits_per_scalar": self.bits_per_scalar, "message_bits": self.message_bits,
                "bound": self.bound.to_dict(), "holds": self.holds, "inequality": self.inequality,
                "verdict": self.verdict}

    def __str__(self) -> str:
        return f"{self.inequality}\n  -> {self.verdict}"

    def _repr_html_(self) -> str:
        import html

        return f"<pre>{html.escape(str(self))}</pre>"


@dataclass(frozen=True, eq=False)
class BobQueries:
    """Bob's queries with their token rows, built once by :meth:`InducedProtocol.prepare_queries`.

    ``per_row=False``: every message is asked all ``ys``; ``per_row=True``: each message its own block
    of ``len(ys) / #messages`` queries, row-major.
    """

    ys: tuple
    tokens: Any  # LongTensor (len(ys), t): Bob's and the public tokens, in position order
    per_row: bool = False

    def width(self, messages: int) -> int:
        """W, the queries per message, for a grid of ``messages`` rows."""
        if not self.per_row:
            return len(self.ys)
        if messages and len(self.ys) % messages:
            raise InvalidInputError(f"{len(self.ys)} per-row queries do not split evenly over {messages} messages")
        return len(self.ys) // messages if messages else 0


class InducedProtocol(ModelOnGadget, OneWayProtocol):
    """A one-way protocol A->B induced by a model through a gadget (theory §4).

    Subclasses define :attr:`scalars`, the batched :meth:`alice_messages`,
    :meth:`bob_logits_from_tokens` and :meth:`describe_message` (and may override :meth:`bob_tokens`);
    everything else is derived here and is the ONE engine every caller (audit, witnesses,
    ``check_reduction``, experiments) uses: :meth:`messages` (Alice, batched), :meth:`prepare_queries`
    (Bob's token rows, built once), :meth:`answer_grid` / :meth:`bob_answers` (Bob), and from
    :class:`~ccbounds.protocols.reference.ModelOnGadget` :meth:`model_answers` / :meth:`model_grid` (the
    real model through ``adapter.forward``); plus single runs, transcripts at a precision, the bound,
    the check and the explanation. Messages are float32 tensors ``(B, S)``.
    """

    lemma = ""
    kind = "one-way"

    def __init__(self, model: Any, adapter: Any, gadget: Any, *, name: str, device: Any = None) -> None:
        ModelOnGadget.__init__(self, adapter, gadget, device)
        self.module, self.device = model, device
        self.problem, self.task = gadget.problem, gadget.task
        self.precision = as_scheme("fp32")
        OneWayProtocol.__init__(self, message_bits=self.scalars * 32, name=name, outputs=tuple(self.problem.outputs))

    # -- what a subclass defines ------------------------------------------------------------------
    @property
    @abstractmethod
    def scalars(self) -> int:
        """S: scalars per message."""

    @abstractmethod
    def alice_messages(self, xs: Sequence[Any]) -> Any:
        """Alice's messages for inputs ``xs``: a float32 tensor ``(len(xs), S)``."""

    @property
    def bob_positions(self) -> list[int]:
        """The positions Bob fills in: his own and the public ones, in order."""
        return sorted(set(self.gadget.bob_positions) | set(self.gadget.public_positions))

    def bob_tokens(self, ys: Sequence[Any]) -> Any:
        """Bob's (and the public) tokens for inputs ``ys``: a LongTensor ``(len(ys), t)`` in position order."""
        import torch

        g = self.gadget
        pub_pos, pub_tok = g.encode_public()
        public = dict(zip(pub_pos, pub_tok.tolist()))
        order = self.bob_positions
        rows = np.empty((len(ys), len(order)), dtype=np.int64)
        for r, y in enumerate(ys):
            pos, tok = g.encode_bob(y)
            merged = dict(zip(pos, tok.tolist())) | public
            rows[r] = [merged[p] for p in order]
        return torch.as_tensor(rows, dtype=torch.long, device=self.device)

    @abstractmethod
    def bob_logits_from_tokens(self, messages: Any, tokens: Any) -> Any:
        """Bob's logits ``(B, C)`` from messages ``(B, S)`` and his token rows ``(B, t)``."""

    def bob_logits(self, messages: Any, ys: Sequence[Any]) -> Any:
        """Bob's logits ``(B, C)`` from messages ``(B, S)`` and his inputs ``ys`` (one per row)."""
        return self.bob_logits_from_tokens(messages.to(self.device), self.bob_tokens(ys))

    @abstractmethod
    def describe_message(self) -> str:
        """What the S scalars are, in words (for :meth:`explain`)."""

    # -- the engine: every run of the protocol and of the real model goes through these --------------
    def messages(self, xs: Sequence[Any], batch: int = DEFAULT_BATCH) -> Any:
        """Alice's fp32 messages for ``xs``, batched, without gradients: a float32 tensor ``(len(xs), S)``."""
        import torch

        with torch.no_grad():
            parts = [self.alice_messages(list(xs[s:s + batch])).float() for s in range(0, len(xs), batch)]
        return torch.cat(parts) if parts else torch.zeros((0, self.scalars), device=self.device)

    def prepare_queries(self, ys: Sequence[Any], per_row: bool = False) -> BobQueries:
        """Bob's token rows for ``ys``, built once (reuse the result for every precision of an audit).

        ``per_row=False``: every message is asked all of ``ys``. ``per_row=True``: ``ys`` holds the same
        number W of queries for each message, row-major (message r is asked ``ys[r*W:(r+1)*W]``).
        """
        return BobQueries(tuple(ys), self.bob_tokens(list(ys)), per_row)

    def bob_answers(self, messages: Any, ys: Sequence[Any], batch: int = DEFAULT_BATCH) -> np.ndarray:
        """Bob's answers (problem outputs) for each (message, y) row: ``ys[r]`` is asked of message r."""
        return self.answer_grid(messages, self.prepare_queries(ys, per_row=True), batch)[:, 0] if len(ys) \
            else np.zeros(0, dtype=np.int64)

    def answer_grid(self, messages: Any, ys: Sequence[Any] | BobQueries, batch: int = DEFAULT_BATCH) -> np.ndarray:
        """Bob's answers for every (message, query): an ``(A, W)`` array, Bob batched over the queries.

        ``ys`` is a list of W queries asked of every message, or a :class:`BobQueries` from
        :meth:`prepare_queries` (its token rows are reused, not rebuilt).
        """
        import torch

        q = ys if isinstance(ys, BobQueries) else self.prepare_queries(ys)
        A = messages.shape[0]
        W = q.width(A)
        out = np.empty((A, W), dtype=np.int64)
        rows = max(1, batch // max(W, 1))
        with torch.no_grad():
            messages = messages.to(self.device)
            for a0 in range(0, A, rows):
                m = messages[a0:a0 + rows]
                k = m.shape[0]
                toks = q.tokens[a0 * W:(a0 + k) * W] if q.per_row else q.tokens.repeat(k, 1)  # (k*W, t)
                logits = self.bob_logits_from_tokens(m.repeat_interleave(W, dim=0), toks)
                out[a0:a0 + k] = self.answers_from_logits(logits).reshape(k, W)
        return out

    # -- the OneWayProtocol interface -------------------------------------------------------------
    def alice(self, x: Any) -> np.ndarray:  # type: ignore[override]
        """Alice's message on x: S float32 scalars (at the protocol's precision)."""
        import torch

        with torch.no_grad():
            msg = self.alice_messages([x])[0].cpu().numpy().astype(np.float32)
        return self.precision.quantize(msg).astype(np.float32)

    def bob(self, message: Any, y: Any) -> int:  # type: ignore[override]
        """Bob's answer from the message and y."""
        import torch

        m = torch.as_tensor(np.asarray(message, dtype=np.float32), device=self.device).reshape(1, -1)
        return int(self.bob_answers(m, [y])[0])

    def encode(self, message: Any) -> str:
        """The message's exact bits at the protocol's precision (S·b of them)."""
        return self.precision.to_bits(np.asarray(message, dtype=np.float32))

    def at_precision(self, precision: Any, calibration: Any = None) -> InducedProtocol:
        """A copy whose messages are quantized to ``precision`` (cost S·b bits)."""
        import copy

        other = copy.copy(self)
        other.precision = as_scheme(precision, calibration)
        other.message_bits = self.scalars * other.precision.bits_per_scalar
        return other

    #: True when S itself grows with n (Lemma T with a query token of Bob's that names a position):
    #: then the argument gives no length limit
    message_grows_with_n = False

    # -- bits and bounds --------------------------------------------------------------------------
    def cost_bits(self, precision: Any = 32) -> int:
        """Exact message size S·b in bits at ``precision`` (int b, or a float-format name)."""
        return self.scalars * _bits_per_scalar(precision)

    def lower_bound(self, eps: float = 0.0) -> Bound:
        """The bound theory §4 holds the message to: D^{A->B}(f) (eps = 0) or the distributional one."""
        return required_bits(self.problem, eps)

    def check(self, precision: Any = 32, eps: float = 0.0) -> ReductionCheck:
        """Compare S·b with the lower bound; see :class:`ReductionCheck` for what the verdict means."""
        bound = self.lower_bound(eps)
        b = _bits_per_scalar(precision)
        bits = self.scalars * b
        return ReductionCheck(self.name, self.problem.name, self.scalars, b, bits, bound,
                              holds=bits >= math.ceil(bound.value - 1e-9))

    def largest_n(self, precision: Any = 32, eps: float = 0.0) -> int | None:
        """The largest n with D^{A->B}(f_n) <= S·b for this model's message size (None: unbounded).

        The problem's own :meth:`~ccbounds.problems.Problem.largest_n`, unless the message itself grows
        with n (then the argument gives no limit).
        """
        return None if self.message_grows_with_n else self.problem.largest_n(self.cost_bits(precision), eps)

    def explain(self, precision: Any = 32, eps: float = 0.0) -> str:
        """The argument in prose, with this model's numbers filled in (for teaching)."""
        g = self.gadget
        chk = self.check(precision, eps)
        b = chk.bits_per_scalar
        lines = [
            f"Reduction: {self.name} ({self.lemma}).",
            f"Problem {self.problem.name} is embedded in the task {self.task.name} by the gadget "
            f"'{g.name}': Alice owns positions {_ranges(g.alice_positions)}, Bob owns {_ranges(g.bob_positions)}"
            + (f", public {_ranges(g.public_positions)}" if g.public_positions else "") + ".",
            f"Alice's message: {self.describe_message()}, S = {self.scalars} scalars.",
            f"At b = {b} bit{'s' if b != 1 else ''} per scalar the message has exactly S*b = {chk.message_bits} "
            "bits; Bob finishes the computation and outputs exactly what the model outputs on the full sequence.",
            f"Any one-way protocol for {self.problem.name} needs {' '.join(str(chk.bound).split())}.",
            f"Hence: {chk.inequality}. {chk.verdict[0].upper()}{chk.verdict[1:]}.",
        ]
        n_max = self.largest_n(precision, eps)
        if n_max is not None:
            goal = "exactness" if not eps else f"average error <= {eps:g} ({chk.bound.note})"
            lines.append(f"With this message size the same argument rules out {goal} for inputs longer than n = "
                         f"{n_max}.")
        elif self.message_grows_with_n:
            lines.append("Here the message itself grows with n (Alice prepares sums for every possible query "
                         "token), so the argument gives no length limit: this is how one layer of attention "
                         "escapes the bound on this task.")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "lemma": self.lemma, "problem": self.problem.name, "task": self.task.name,
                "gadget": self.gadget.name, "scalars": self.scalars, "message": self.describe_message(),
                "adapter": getattr(self.adapter, "description", "")}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}: S={self.scalars} scalars, {self.problem.name}>"

    def _repr_html_(self) -> str:
        """The argument with this model's numbers at full precision (notebooks)."""
        import html

        return f"<pre>{html.escape(self.explain())}</pre>"


def _ranges(pos: Sequence[int]) -> str:
    """'0..3, 5' style text for a sorted tuple of positions."""
    if not pos:
        return "none"
    out, start, prev = [], pos[0], pos[0]
    for p in list(pos[1:]) + [None]:
        if p is not None and p == prev + 1:
            prev = p
            continue
        out.append(f"{start}" if start == prev else f"{start}..{prev}")
        if p is not None:
            start = prev = p
    return ", ".join(out)
