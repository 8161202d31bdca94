"""``reduce(model, problem)``: a trained model becomes an executable one-way protocol (SPEC §4).

Lemma R (recurrent models) and Lemma T (one softmax attention layer) say how. The result is an
:class:`InducedProtocol`, a :class:`~ccbounds.protocols.OneWayProtocol` whose message is a vector of
S scalars: Alice runs the model on her part of the gadget's sequence and sends its state (Lemma R) or
her partial softmax sums (Lemma T); Bob finishes. At precision b per scalar the message has exactly
S·b bits, and a model correct on every input needs S·b >= D^{A->B}(f) (:meth:`InducedProtocol.check`).

The concrete protocols live in :mod:`reductions.recurrent` and :mod:`reductions.attention`; the
registry :mod:`reductions.registry` picks one (users can register their own).

Examples
--------
>>> import torch
>>> from ccbounds.models import RecurrentConfig, build_model
>>> from ccbounds.problems import INDEX
>>> torch.manual_seed(0) and None
>>> lstm = build_model(RecurrentConfig("lstm", vocab_size=6, num_classes=2, width=8, layers=2))
>>> p = reduce(lstm, INDEX(4))
>>> p.scalars, p.cost_bits(32), p.cost_bits(4)
(32, 1024, 128)
>>> str(p.lower_bound())
'D1way(A->B)(INDEX_4) = 4 bits  [known; SPEC §3 (q^n distinct rows)]'
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ccbounds.bound import Bound
from ccbounds.errors import InvalidInputError, ReductionNotApplicable
from ccbounds.protocols.oneway import OneWayProtocol
from ccbounds.requirements import required_bits

__all__ = ["InducedProtocol", "ReductionCheck", "reduce", "as_scheme"]

#: how many (Alice input, Bob input) pairs are pushed through the model at once
DEFAULT_BATCH = 8192


def as_scheme(precision: Any, calibration: Any = None) -> Any:
    """A quantization scheme from ``precision``: an int b (fixed point, needs ``calibration`` messages),
    a float-format name ("fp32", "fp16", "bf16", "fp8e4m3", "fp8e5m2") or a Scheme.

    >>> as_scheme("fp16").bits_per_scalar, as_scheme(32).name
    (16, 'fp32')
    """
    from ccbounds.quantize import Scheme, get_scheme

    if isinstance(precision, Scheme):
        return precision
    if isinstance(precision, (int, np.integer)) and int(precision) == 32 and calibration is None:
        return get_scheme("fp32")  # 32 bits per scalar = the float32 the model computes in
    return get_scheme(precision, calibration=calibration)


def _bits_per_scalar(precision: Any) -> int:
    if isinstance(precision, (int, np.integer)) and not isinstance(precision, bool):
        if not 1 <= int(precision) <= 32:
            raise InvalidInputError(f"precision must be 1..32 bits per scalar, got {precision}")
        return int(precision)
    return as_scheme(precision).bits_per_scalar


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


class InducedProtocol(OneWayProtocol):
    """A one-way protocol A->B induced by a model through a gadget (SPEC §4).

    Subclasses define :attr:`scalars` and the batched :meth:`alice_messages` / :meth:`bob_logits`;
    everything else (single runs, transcripts at a precision, grids of answers, the bound, the
    check, the explanation) is derived here. Messages are float32 tensors ``(B, S)``.
    """

    lemma = ""
    kind = "one-way"

    def __init__(self, model: Any, adapter: Any, gadget: Any, *, name: str, device: Any = None) -> None:
        self.module, self.adapter, self.gadget = model, adapter, gadget
        self.problem, self.task = gadget.problem, gadget.task
        self.device = device
        self.precision = as_scheme("fp32")
        super().__init__(message_bits=self.scalars * 32, name=name, outputs=tuple(self.problem.outputs))

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
        return self.bob_logits_from_tokens(messages, self.bob_tokens(ys))

    @abstractmethod
    def describe_message(self) -> str:
        """What the S scalars are, in words (for :meth:`explain`)."""

    # -- derived: answers -------------------------------------------------------------------------
    def _answers_from_logits(self, logits: Any) -> np.ndarray:
        if not hasattr(self, "_answer_table"):
            self._answer_table = np.array([self.gadget.answer_map(c) for c in range(logits.shape[-1])], dtype=np.int64)
        return self._answer_table[logits.argmax(dim=-1).cpu().numpy()]

    def bob_answers(self, messages: Any, ys: Sequence[Any]) -> np.ndarray:
        """Bob's answers (problem outputs) for each (message, y) row."""
        import torch

        with torch.no_grad():
            return self._answers_from_logits(self.bob_logits(messages, ys))

    def answer_grid(self, messages: Any, ys: Sequence[Any], batch: int = DEFAULT_BATCH) -> np.ndarray:
        """Answers for every (message, y) pair: an ``(A, len(ys))`` array; Bob is batched over ``ys``."""
        import torch

        A, Y = messages.shape[0], len(ys)
        out = np.empty((A, Y), dtype=np.int64)
        rows = max(1, batch // max(Y, 1))
        with torch.no_grad():
            toks = self.bob_tokens(list(ys))  # (Y, t), built once
            for a0 in range(0, A, rows):
                m = messages[a0:a0 + rows]
                logits = self.bob_logits_from_tokens(m.repeat_interleave(Y, dim=0), toks.repeat(m.shape[0], 1))
                out[a0:a0 + m.shape[0]] = self._answers_from_logits(logits).reshape(-1, Y)
        return out

    def model_answers(self, pairs: Sequence[tuple[Any, Any]], batch: int = DEFAULT_BATCH) -> np.ndarray:
        """The model's own answers on the full sequences ``gadget.encode(x, y)`` (the reference)."""
        import torch

        out = []
        with torch.no_grad():
            for s in range(0, len(pairs), batch):
                toks = np.stack([self.gadget.encode(x, y) for x, y in pairs[s:s + batch]])
                t = torch.as_tensor(toks, dtype=torch.long, device=self.device)
                out.append(self._answers_from_logits(self.module(t)))
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)

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
        """The bound SPEC §4 holds the message to: D^{A->B}(f) (eps = 0) or the distributional one."""
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
            f"At b = {b} bits per scalar the message has exactly S*b = {chk.message_bits} bits; Bob "
            "finishes the computation and outputs exactly what the model outputs on the full sequence.",
            f"Any one-way protocol for {self.problem.name} needs {chk.bound} .",
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


def reduce(model: Any, problem: Any, task: Any = None, gadget: Any = None, *, validate: bool = True,
           seed: int = 0, device: Any = None, answer_tokens: Sequence[int] | None = None) -> InducedProtocol:
    """Turn ``model`` into a one-way protocol for ``problem`` (SPEC §4, Lemma R / Lemma T).

    Parameters
    ----------
    model : torch.nn.Module
        A recurrent classifier or a one-layer Transformer classifier (see :mod:`ccbounds.adapters`).
    problem : Problem
        INDEX, EQ or DISJ (:mod:`ccbounds.problems`).
    task : str, optional
        Name of the sequence task the model was trained on (default: the problem's default task).
    gadget : Gadget, optional
        The embedding of the problem into the task; overrides ``task`` (e.g. other token ids).
    validate : bool
        Check the adapter's reading of the model against the model's own forward.
    device : str or torch.device, optional
        Where to run the model (default: where its parameters are).
    answer_tokens : sequence of int, optional
        For a causal LM (e.g. a Hugging Face ``*ForCausalLM``): the vocabulary id of each answer, in
        answer order; the model is read at its last position at those ids
        (:class:`ccbounds.models.answers.AnswerLogits`).

    Returns
    -------
    InducedProtocol

    Raises
    ------
    ReductionNotApplicable
        Two or more attention layers, bidirectional RNNs, attention back over the prefix, a gadget
        whose cut the reduction cannot use; the message says why.
    UnsupportedArchitecture
        No adapter reads the model's layout (the message lists the supported ones).
    """
    from ccbounds.adapters import get_adapter
    from reductions.gadgets import get_gadget
    from reductions.registry import find_reduction

    if not hasattr(problem, "alice_inputs"):
        raise InvalidInputError(f"reduce() needs a Problem such as ccbounds.INDEX(16), got {problem!r}")
    if answer_tokens is not None:
        from ccbounds.models.answers import AnswerLogits

        model = AnswerLogits(model, answer_tokens)
    if gadget is None:
        gadget = get_gadget(problem, task)
    elif gadget.problem.name != problem.name:
        raise InvalidInputError(f"the gadget is for {gadget.problem.name}, not {problem.name}; pass a matching gadget")
    adapter = get_adapter(model, validate=validate, seed=seed)
    t = gadget.task
    from reductions.gadgets.layouts import vocabulary_note

    refuse, vocab_note = vocabulary_note(adapter.vocab_size, gadget)
    if refuse:
        raise ReductionNotApplicable(vocab_note)
    if adapter.max_len is not None and adapter.max_len < t.seq_len:
        raise ReductionNotApplicable(
            f"the model accepts sequences of at most {adapter.max_len} tokens but {t.name} needs {t.seq_len}; "
            "reduce a smaller problem")
    if device is None:
        params = list(model.parameters()) if hasattr(model, "parameters") else []
        device = params[0].device if params else "cpu"
    else:
        from ccbounds.devices import resolve_device

        device = resolve_device(device)
    protocol = find_reduction(adapter, gadget).build(model, adapter, gadget, device=device)
    protocol.vocabulary_note = vocab_note  # said in audit reports when the vocabularies differ
    return protocol
