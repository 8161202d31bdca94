"""Built-in Lemma R adapter: Embedding → nn.RNN / nn.GRU / nn.LSTM (multi-layer) → Linear.

Reads the reference :class:`ccbounds.models.RecurrentClassifier` and any user module of the same
layout: exactly one ``nn.Embedding``, one unidirectional ``nn.RNNBase`` and one ``nn.Linear`` head,
with ``forward(tokens) = head(rnn(embed(tokens)).output[:, -1])``. For a foreign module that reading is
validated against the module's own forward (see :func:`ccbounds.adapters.get_adapter`).

State layout (batch first): RNN/GRU ``(h,)`` with ``h`` of shape ``(B, layers, width)``;
LSTM ``(h, c)`` with ``h`` ``(B, layers, proj_size or width)`` and ``c`` ``(B, layers, width)``.
So S = width·layers for RNN/GRU and 2·width·layers for an LSTM (width + proj_size per layer with
a projection).

Examples
--------
>>> import torch
>>> from torch import nn
>>> class M(nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.embed, self.rnn, self.head = nn.Embedding(5, 4), nn.LSTM(4, 3, num_layers=2, batch_first=True), nn.Linear(3, 2)
...     def forward(self, x):
...         return self.head(self.rnn(self.embed(x))[0][:, -1])
>>> a = TorchRecurrentAdapter(M())
>>> a.state_size, [tuple(t.shape) for t in a.initial_state(7)]
(12, [(7, 2, 3), (7, 2, 3)])
"""  # noqa: E501 (doctest output)

from __future__ import annotations

import torch
from torch import nn

from ccbounds.adapters.base import REGISTER_HINT, RecurrentAdapter
from ccbounds.errors import InvalidInputError, ReductionNotApplicable, UnsupportedArchitecture

__all__ = ["TorchRecurrentAdapter", "find_recurrent_layout", "RECURRENT_LAYOUT"]

#: the layout this adapter reads, for error messages and docs
RECURRENT_LAYOUT = "Embedding -> RNN/GRU/LSTM (unidirectional, any layers) -> Linear at the last position"


def find_recurrent_layout(model: nn.Module) -> tuple[nn.Embedding, nn.RNNBase, nn.Linear]:
    """Find the (embedding, recurrent core, head) of a recurrent classifier by module type.

    Raises
    ------
    ReductionNotApplicable
        For a bidirectional core (Lemma R needs a state that depends on the prefix only).
    UnsupportedArchitecture
        Unless there is exactly one Embedding, one RNNBase and one Linear with matching widths.
    """
    mods = list(model.modules())
    embeds = [m for m in mods if isinstance(m, nn.Embedding)]
    rnns = [m for m in mods if isinstance(m, nn.RNNBase)]
    heads = [m for m in mods if isinstance(m, nn.Linear)]
    name = type(model).__name__
    if len(rnns) != 1:
        raise UnsupportedArchitecture(
            f"{name}: expected exactly one nn.RNN/GRU/LSTM, found {len(rnns)}; supported: {RECURRENT_LAYOUT}; "
            f"{REGISTER_HINT}"
        )
    rnn = rnns[0]
    if rnn.bidirectional:
        raise ReductionNotApplicable(
            f"Lemma R does not apply to {name}: it has a bidirectional {type(rnn).__name__}, so the state at "
            "the cut depends on Bob's tokens; use a unidirectional model"
        )
    if len(embeds) != 1 or len(heads) != 1:
        raise UnsupportedArchitecture(
            f"{name}: expected exactly one nn.Embedding and one nn.Linear head beside the "
            f"{type(rnn).__name__}, found {len(embeds)} and {len(heads)}; supported: {RECURRENT_LAYOUT}; "
            f"{REGISTER_HINT}"
        )
    embed, head = embeds[0], heads[0]
    out_width = getattr(rnn, "proj_size", 0) or rnn.hidden_size
    if embed.embedding_dim != rnn.input_size or head.in_features != out_width:
        raise UnsupportedArchitecture(
            f"{name}: widths do not chain (embedding {embed.embedding_dim} -> rnn input {rnn.input_size}, "
            f"rnn output {out_width} -> head input {head.in_features}); {REGISTER_HINT}"
        )
    return embed, rnn, head


class TorchRecurrentAdapter(RecurrentAdapter):
    """Lemma R adapter for Embedding → RNN/GRU/LSTM → Linear classifiers (theory §4).

    Parameters
    ----------
    model : nn.Module
        A module of the layout :data:`RECURRENT_LAYOUT`.

    Raises
    ------
    ReductionNotApplicable
        Bidirectional core.
    UnsupportedArchitecture
        Another layout.

    References
    ----------
    theory §4, Lemma R.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__(model)
        self.embed, self.rnn, self.head = find_recurrent_layout(model)
        self.cell = {"LSTM": "lstm", "GRU": "gru"}.get(self.rnn.mode, "rnn")
        self.layers = self.rnn.num_layers
        self.width = self.rnn.hidden_size
        self.proj = getattr(self.rnn, "proj_size", 0) or 0
        self.is_lstm = isinstance(self.rnn, nn.LSTM)
        self.vocab_size = self.embed.num_embeddings
        self.max_len = None
        self._state_size = sum(int(t[0].numel()) for t in self.initial_state(1))
        ref = type(model).__module__.startswith("ccbounds.models")
        self.description = (
            f"{'reference ' if ref else ''}{type(model).__name__}: Embedding -> {type(self.rnn).__name__}"
            f"(width {self.width}, {self.layers} layer{'s' * (self.layers > 1)}) -> Linear; state "
            f"{'(h, c)' if self.is_lstm else '(h,)'} with S = {self.state_size}"
        )

    # ------------------------------------------------------------------ state
    @property
    def state_size(self) -> int:
        """S, measured: the scalars per example of the state tensors (width·layers for RNN/GRU, (h + c
        widths)·layers for an LSTM); a test holds it to :mod:`ccbounds.architectures`' formula."""
        return self._state_size

    def initial_state(self, batch: int) -> tuple[torch.Tensor, ...]:
        """Zeros, the state torch's RNNs start from: ``(h,)`` or ``(h, c)``, each ``(B, layers, ·)``."""
        p = next(self.rnn.parameters())
        h = torch.zeros(batch, self.layers, self.proj or self.width, dtype=p.dtype, device=p.device)
        if self.is_lstm:
            return (h, torch.zeros(batch, self.layers, self.width, dtype=p.dtype, device=p.device))
        return (h,)

    def _check(self, state: tuple[torch.Tensor, ...]) -> None:
        template = self.initial_state(1)
        if len(state) != len(template) or any(s.shape[1:] != t.shape[1:] for s, t in zip(state, template)):
            raise InvalidInputError(
                f"a {self.cell} state is {len(template)} tensor(s) of shapes "
                f"{[('B',) + tuple(t.shape[1:]) for t in template]}; pass initial_state(B) or advance(...)'s output"
            )

    def advance(self, state: tuple[torch.Tensor, ...], tokens: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Run the RNN over ``tokens`` ``(B, t)`` from ``state``; ``t == 0`` returns ``state``."""
        self._check(state)
        if tokens.dim() != 2 or tokens.shape[0] != state[0].shape[0]:
            raise InvalidInputError(
                f"tokens must have shape (B, t) with B = {state[0].shape[0]}, got {tuple(tokens.shape)}"
            )
        if tokens.shape[1] == 0:
            return state
        x = self.embed(tokens)  # (B, t, E)
        hx = tuple(s.transpose(0, 1).contiguous() for s in state)  # torch wants (layers, B, ·)
        if not self.rnn.batch_first:
            x = x.transpose(0, 1)
        _, h_n = self.rnn(x, hx if self.is_lstm else hx[0])
        h_n = h_n if self.is_lstm else (h_n,)
        return tuple(s.transpose(0, 1) for s in h_n)

    def readout(self, state: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """``head(h_top)``: the top layer's hidden state after the last token → logits ``(B, C)``."""
        self._check(state)
        return self.head(state[0][:, -1])

    def state_tensors(self, state: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
        """``{"h": (B, layers, ·)}`` (and ``"c"`` for an LSTM): all layers, everything across the cut."""
        self._check(state)
        return dict(zip(("h", "c"), state))

