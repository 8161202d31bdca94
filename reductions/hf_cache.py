"""Lemma R through a Hugging Face model's own cache (theory §4).

Alice runs the user's model over her prefix and sends the counted parts of the cache its recurrent
backbone holds (:class:`ccbounds.adapters.hf.HFCacheAdapter`); Bob rebuilds that cache and continues,
one token per call of the installed forward, and the user's head reads the answer. Before the
protocol is returned it is checked against one full forward at the gadget's own length (and its
adapter at lengths 1, 3, 7): the logits of prefix + continuation must equal those of the full
sequence on random gadget inputs and random token rows, else the reduction is refused with the reason.

Examples
--------
>>> HF_CACHE_REDUCTION.name, HF_CACHE_REDUCTION.lemma
('hf-cache', 'Lemma R')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ccbounds.adapters.hf import check_same
from ccbounds.errors import ReductionNotApplicable
from ccbounds.protocols.induced import InducedProtocol
from reductions.base import Reduction

__all__ = ["HF_CACHE_REDUCTION", "VALIDATION_ROWS", "HFCacheProtocol", "validate_cut"]

#: random gadget inputs and random token rows compared with the full forward (each): a difference on
#: 3% of inputs is missed with probability 0.97^(2*96) < 0.3%
VALIDATION_ROWS = 96


class HFCacheProtocol(InducedProtocol):
    """Alice sends the HF backbone's cache after her prefix; Bob continues one token per call (Lemma R)."""

    lemma = "Lemma R (theory §4)"
    #: why :func:`ccbounds.reduce` read the model through its cache: the compiled reduction's refusal ("" when the
    #: cache reading was asked for directly, e.g. by :func:`reductions.registry.builtin_reduction`)
    compiled_refusal = ""

    def __init__(self, model: Any, adapter: Any, gadget: Any, *, device: Any = None) -> None:
        self._S = int(adapter.state_size)
        self._cut = len(gadget.alice_positions)
        super().__init__(model, adapter, gadget, name=f"{gadget.name} via the {adapter.family.name} cache",
                         device=device)

    @property
    def scalars(self) -> int:
        return self._S

    def alice_messages(self, xs: Sequence[Any]) -> Any:
        import torch

        rows = np.stack([self.gadget.encode_alice(x)[1] for x in xs])
        toks = torch.as_tensor(rows, dtype=torch.long, device=self.device)  # (B, k)
        return self.adapter.alice_messages(toks)  # (B, S)

    def bob_logits_from_tokens(self, messages: Any, tokens: Any) -> Any:
        return self.adapter.bob_logits(messages, tokens, self._cut)  # (B, C)

    def describe_message(self) -> str:
        return self.adapter.describe_state()

    def explain(self, precision: Any = 32, eps: float = 0.0) -> str:
        text = super().explain(precision, eps)
        if not self.compiled_refusal:
            return text
        return text + ("\nRead through the model's own cache because the compiled reduction (theory §4.3) refused: "
                       f"{self.compiled_refusal.rstrip('.')}.")

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "compiled_refusal": self.compiled_refusal}


def validate_cut(p: HFCacheProtocol, *, seed: int = 0, rows: int = VALIDATION_ROWS) -> float:
    """Prefix + continuation against one full forward at the gadget's length; the largest |logit diff|.

    Compared on ``rows`` random gadget inputs (x, y) and ``rows`` random token rows of the same length
    cut at the same place.

    Raises
    ------
    ReductionNotApplicable
        When they differ beyond fp32 tolerance (the message says by how much and on how many inputs).
    """
    import torch

    g, a = p.gadget, p.adapter
    T, cut = len(g.owners), p._cut
    gen = torch.Generator().manual_seed(seed)
    pairs = p.problem.sample(rows, seed=seed)
    full = torch.as_tensor(np.stack([g.encode(x, y) for x, y in pairs]), dtype=torch.long, device=p.device)
    rand = torch.randint(0, a.vocab_size, (rows, T), generator=gen).to(p.device)
    model = a.model
    was_training = bool(getattr(model, "training", False))
    model.eval()
    try:
        with torch.no_grad():
            got = torch.cat([p.bob_logits(p.alice_messages([x for x, _ in pairs]), [y for _, y in pairs]),
                             a.bob_logits(a.alice_messages(rand[:, :cut]), rand[:, cut:], cut)])
            ref = torch.cat([a.forward(full), a.forward(rand)])
    finally:
        model.train(was_training)
    return check_same(a, got, ref, f"at the gadget's length {T}, cut after {cut} tokens")


def _applies(adapter: Any, gadget: Any) -> bool:
    if getattr(adapter, "kind", None) != "hf-cache":
        return False
    from types import SimpleNamespace

    from reductions.recurrent import RECURRENT_REDUCTION

    RECURRENT_REDUCTION.applies(SimpleNamespace(kind="recurrent"), gadget)  # Lemma R's own cut checks
    if len(gadget.alice_positions) == len(gadget.owners):
        raise ReductionNotApplicable(f"the gadget {gadget.name} leaves Bob no token: the answer is read after the cut")
    return True


def _build(model: Any, adapter: Any, gadget: Any, device: Any = None) -> HFCacheProtocol:
    p = HFCacheProtocol(model, adapter, gadget, device=device)
    validate_cut(p)
    return p


HF_CACHE_REDUCTION = Reduction(
    name="hf-cache",
    applies=_applies,
    build=_build,
    lemma="Lemma R",
    source="theory §4 Lemma R; [BHBK]",
    inequality="S*b >= D^{A->B}(f)   (S = the cache's counted scalars: conv buffers without the unread slot, "
               "SSM / recurrent states, every layer)",
    description="Alice runs the Hugging Face model over her prefix and sends its cache; Bob continues one token "
                "per call.",
)
