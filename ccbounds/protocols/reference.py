"""The real model on a gadget's full sequences: the reference every induced protocol is checked against.

:class:`ModelOnGadget` runs the user's model through its adapter's ``forward`` (so any output type an
adapter unwraps works) on batches of full sequences built by :meth:`Gadget.sequences`, and reads the
problem's answers off the logits. :class:`~ccbounds.protocols.induced.InducedProtocol` extends it; it is
also usable alone, for a model no reduction applies to (e.g. a recurrent model on an interleaved gadget).

Examples
--------
>>> import torch
>>> from ccbounds.adapters import get_adapter
>>> from ccbounds.models import RecurrentConfig, build_model
>>> from ccbounds.problems import INDEX
>>> from reductions.gadgets import get_gadget
>>> torch.manual_seed(0) and None
>>> gru = build_model(RecurrentConfig("gru", vocab_size=5, num_classes=2, width=3)).eval()
>>> ref = ModelOnGadget(get_adapter(gru), get_gadget(INDEX(3)))
>>> ref.model_grid([(1, 0, 1), (0, 0, 1)], [0, 1, 2]).shape
(2, 3)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["DEFAULT_BATCH", "ForwardOnly", "ModelOnGadget"]

#: how many (Alice input, Bob input) pairs are pushed through the model at once
DEFAULT_BATCH = 8192


class ForwardOnly:
    """The model's own forward alone, for :class:`ModelOnGadget` where no adapter applies (e.g. two
    attention layers): logits are the output itself or its ``logits`` field."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def forward(self, tokens: Any) -> Any:
        from ccbounds.adapters._forward import logits_of

        return logits_of(self.model(tokens))


class ModelOnGadget:
    """The model behind ``adapter`` on the full sequences of ``gadget``, on ``device`` (default "cpu")."""

    def __init__(self, adapter: Any, gadget: Any, device: Any = None) -> None:
        self.adapter, self.gadget = adapter, gadget
        self.device = "cpu" if device is None else device

    def answers_from_logits(self, logits: Any) -> np.ndarray:
        """The problem's answers ``(B,)`` from logits ``(B, C)``: argmax, then the gadget's answer map."""
        table = getattr(self, "_answer_table", None)
        if table is None or len(table) < logits.shape[-1]:
            table = np.array([self.gadget.answer_map(c) for c in range(logits.shape[-1])], dtype=np.int64)
            self._answer_table = table
        return table[logits.argmax(dim=-1).cpu().numpy()]

    def model_answers(self, pairs: Sequence[tuple[Any, Any]], batch: int = DEFAULT_BATCH) -> np.ndarray:
        """The real model's answers on the full sequences of ``pairs`` (the reference), through
        ``adapter.forward``, so any output type the adapter unwraps works."""
        if not len(pairs):
            return np.zeros(0, dtype=np.int64)
        xs, ys = zip(*pairs)
        return self._forward_answers(self.gadget.sequences(list(xs), list(ys)), batch)

    def model_grid(self, xs: Sequence[Any], ys: Sequence[Any], batch: int = DEFAULT_BATCH, *,
                   per_row: bool = False) -> np.ndarray:
        """The real model's answers ``(len(xs), W)`` on the full sequences of every (x, query).

        ``ys`` as for :meth:`prepare_queries`: W queries asked of every x, or (``per_row``) W per x, row-major.
        """
        if per_row:
            W = len(ys) // max(len(xs), 1)
            seq = self.gadget.sequences([x for x in xs for _ in range(W)], list(ys))
        else:
            W = len(ys)
            seq = self.gadget.sequences(list(xs), list(ys), grid=True)
        return self._forward_answers(seq, batch).reshape(len(xs), W)

    def _forward_answers(self, seq: np.ndarray, batch: int) -> np.ndarray:
        import torch

        dtype = torch.long if seq.dtype.kind in "iu" else torch.float32
        out = []
        with torch.no_grad():
            for s in range(0, len(seq), batch):
                t = torch.as_tensor(seq[s:s + batch], dtype=dtype, device=self.device)
                out.append(self.answers_from_logits(self.adapter.forward(t)))
        return np.concatenate(out)
