"""Lemma R: a recurrent model is a one-way protocol whose message is its state at the cut (SPEC §4).

If Alice's input fixes the prefix s_1..s_k and Bob's the rest, Alice runs the model over her prefix
and sends h_k (all layers; for an LSTM both h and c); Bob continues from h_k and reads the answer.
With S state scalars at b bits each the message has S·b bits, so a model correct on every input has
S·b >= D^{A->B}(f).

Examples
--------
>>> import torch
>>> from ccbounds.models import RecurrentConfig, build_model
>>> from ccbounds.problems import EQ
>>> torch.manual_seed(0) and None
>>> gru = build_model(RecurrentConfig("gru", vocab_size=4, num_classes=2, width=5))
>>> p = ccbounds_reduce(gru, EQ(3))
>>> p.scalars, p.describe_message()
(5, 'the GRU state at the cut: h (1 layer x 5)')
>>> pairs = EQ(3).sample(20, seed=1)
>>> bool((p.model_answers(pairs) == [p.output(x, y) for x, y in pairs]).all())
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ccbounds.errors import ReductionNotApplicable
from ccbounds.reduction import InducedProtocol
from ccbounds.reduction import reduce as ccbounds_reduce
from reductions.registry import Reduction

__all__ = ["RecurrentStateProtocol", "RECURRENT_REDUCTION", "ccbounds_reduce"]


class RecurrentStateProtocol(InducedProtocol):
    """Alice sends the model's state after her prefix; Bob runs the rest (Lemma R)."""

    lemma = "Lemma R (SPEC §4)"

    def __init__(self, model: Any, adapter: Any, gadget: Any, *, device: Any = None) -> None:
        self._S = int(adapter.state_size)
        self._cut = len(gadget.alice_positions)
        super().__init__(model, adapter, gadget, name=f"{gadget.name} via the recurrent state", device=device)

    @property
    def scalars(self) -> int:
        return self._S

    def _tokens(self, rows: list[np.ndarray]) -> Any:
        import torch

        return torch.as_tensor(np.stack(rows) if rows else np.zeros((0, 0)), dtype=torch.long, device=self.device)

    def alice_messages(self, xs: Sequence[Any]) -> Any:
        toks = self._tokens([self.gadget.encode_alice(x)[1] for x in xs])  # (B, k)
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
    if not gadget.is_prefix_cut:
        raise ReductionNotApplicable(
            f"Lemma R needs Alice's positions to form a prefix, but the gadget {gadget.name} interleaves "
            "them with Bob's (the state would depend on Bob's tokens); use a prefix gadget such as x SEP y END")
    if not gadget.alice_positions:
        raise ReductionNotApplicable(f"the gadget {gadget.name} gives Alice no positions: nothing to send")
    return True


RECURRENT_REDUCTION = Reduction(
    name="recurrent-state",
    applies=_applies,
    build=lambda model, adapter, gadget, device=None: RecurrentStateProtocol(model, adapter, gadget, device=device),
    lemma="Lemma R",
    source="SPEC §4 Lemma R; [BHBK]",
    inequality="S*b >= D^{A->B}(f)   (S = state scalars at the cut, all layers; LSTM: h and c)",
    description="Alice runs the recurrent model over her prefix and sends its state; Bob continues.",
)
