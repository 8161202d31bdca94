"""Lemma R: a recurrent model is a one-way protocol whose message is its state at the cut (theory §4).

If Alice's input fixes the prefix s_1..s_k and Bob's the rest, Alice runs the model over her prefix
and sends h_k (all layers; for an LSTM both h and c); Bob continues from h_k and reads the answer.
With S state scalars at b bits each the message has S·b bits, so a model correct on every input has
S·b >= D^{A->B}(f).

Examples
--------
>>> import torch
>>> from reductions.registry import builtin_reduction
>>> from ccbounds.models import RecurrentConfig, build_model
>>> from ccbounds.problems import EQ
>>> torch.manual_seed(0) and None
>>> gru = build_model(RecurrentConfig("gru", vocab_size=4, num_classes=2, width=5))
>>> p = builtin_reduction(gru, EQ(3))  # this reading (reduce() compiles the forward)
>>> p.scalars, p.describe_message()
(5, 'the GRU state at the cut: h (1 layer x 5)')
>>> pairs = EQ(3).sample(20, seed=1)
>>> bool((p.model_answers(pairs) == [p.output(x, y) for x, y in pairs]).all())
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ccbounds.errors import InvalidInputError
from ccbounds.protocols.induced import InducedProtocol
from reductions.base import Reduction
from reductions.intercept import PrefixCut, prefix_tokens, split_point

__all__ = ["RECURRENT_REDUCTION", "RecurrentStateProtocol", "measured_state_size"]


def measured_state_size(adapter: Any) -> int:
    """S counted from the tensors the adapter carries across a cut (after one token), not from its declaration.

    Raises
    ------
    InvalidInputError
        When the adapter's declared ``state_size``, or the width of its ``flatten``, disagrees with the count;
        the message names both numbers.
    """
    import torch

    p = next(adapter.model.parameters(), None) if hasattr(adapter.model, "parameters") else None
    with torch.no_grad():
        state = adapter.advance(adapter.initial_state(1), torch.zeros(1, 1, dtype=torch.long,
                                                                      device=p.device if p is not None else "cpu"))
        tensors = adapter.state_tensors(state)
        width = int(adapter.flatten(state).shape[1])
    counted = sum(int(t[0].numel()) for t in tensors.values())
    parts = ", ".join(f"{k} {tuple(t.shape[1:])} {str(t.dtype).replace('torch.', '')}" for k, t in tensors.items())
    declared = int(adapter.state_size)
    if declared != counted or width != counted:
        what = f"declares state_size = {declared} scalars" if declared != counted else f"flattens it to {width} scalars"
        raise InvalidInputError(
            f"{type(adapter).__name__} {what} but the state it carries across the cut has {counted} "
            f"({parts}); fix the adapter: the message size is measured from the tensors sent")
    return counted


class RecurrentStateProtocol(PrefixCut, InducedProtocol):
    """Alice sends the model's state after her prefix; Bob runs the rest (Lemma R)."""

    lemma = "Lemma R (theory §4)"

    def __init__(self, model: Any, adapter: Any, gadget: Any, *, device: Any = None) -> None:
        self._S = measured_state_size(adapter)
        self._cut = split_point(gadget)
        super().__init__(model, adapter, gadget, name=f"{gadget.name} via the recurrent state", device=device)

    def alice_messages(self, xs: Sequence[Any]) -> Any:
        toks = prefix_tokens(self.gadget, xs, self._cut, self.device)  # (B, cut): her tokens and any public ones
        state = self.adapter.advance(self.adapter.initial_state(len(xs)), toks)
        return self.adapter.flatten(state).float()  # (B, S)

    def bob_logits_from_tokens(self, messages: Any, tokens: Any) -> Any:
        state = self.adapter.unflatten(messages.to(self.device))
        return self.adapter.readout(self.adapter.advance(state, tokens))  # (B, C)

    def describe_message(self) -> str:
        parts = []
        st = self.adapter.state_tensors(self.adapter.initial_state(1))
        for name, t in st.items():
            shape = tuple(t.shape[1:])
            layers = shape[0] if len(shape) == 2 else 1
            width = shape[-1]
            parts.append(f"{name} ({layers} layer{'s' if layers > 1 else ''} x {width})")
        cell = type(getattr(self.adapter, "rnn", None) or self.module).__name__
        cell = {"LSTM": "LSTM", "GRU": "GRU", "RNN": "RNN"}.get(cell, "recurrent")
        return f"the {cell} state at the cut: " + ", ".join(parts)


def _applies(adapter: Any, gadget: Any) -> bool:
    if getattr(adapter, "kind", None) != "recurrent":
        return False
    split_point(gadget)  # refuses interleaved positions, and a gadget that gives Alice nothing
    return True


RECURRENT_REDUCTION = Reduction(
    name="recurrent-state",
    applies=_applies,
    build=lambda model, adapter, gadget, device=None: RecurrentStateProtocol(model, adapter, gadget, device=device),
    lemma="Lemma R",
    source="theory §4 Lemma R; [BHBK]",
    inequality="S*b >= D^{A->B}(f)   (S = state scalars at the cut, all layers; LSTM: h and c)",
    description="Alice runs the recurrent model over her prefix and sends its state; Bob continues.",
)
