"""Lemma T: a one-layer softmax Transformer is a one-way protocol of partial softmax sums (theory §4).

The output is read at the last position T. Head h attends with a query q_h that depends only on
(s_T, T) and keys/values that depend only on (s_j, j). If the positions split into Alice's P_A and
Bob's P_B, Alice sends, per head, her share of the softmax and Bob adds his and finishes (residual,
LayerNorm, FFN, readout cost nothing).

Convention used here (no extra scalar for stability): per head Alice sends the normalised partial
average a_A = Σ_{j∈P_A} e^{s_j} v_j / Z_A (d_v scalars) and log Z_A = log Σ_{j∈P_A} e^{s_j}
(1 scalar), where s_j = <q, k_j>. This is the pair (numerator, denominator) of theory §4 written in
log-space: numerator = e^{log Z_A}·a_A, denominator = e^{log Z_A}, so the message is exactly
H·(d_v + 1) scalars and Bob's merge (log-sum-exp) is exact and numerically stable.

If the final token is Bob's and can take Q values, Alice does not know the query and sends her sums
for all Q values: Q·H·(d_v + 1) scalars. If it is public, Q = 1. If it is Alice's the reduction
refuses (no gadget here puts the output position on Alice's side).

Examples
--------
>>> import torch
>>> from reductions.registry import builtin_reduction
>>> from ccbounds.models import TransformerConfig, build_model
>>> from ccbounds.problems import DISJ
>>> torch.manual_seed(0) and None
>>> tf = build_model(TransformerConfig(vocab_size=4, num_classes=2, max_len=8, d_model=8, heads=2))
>>> p = builtin_reduction(tf, DISJ(3))  # this reading (reduce() compiles the forward)
>>> p.scalars, p.query_values
(10, (3,))
>>> pairs = DISJ(3).sample(30, seed=2)
>>> bool((p.model_answers(pairs) == [p.output(x, y) for x, y in pairs]).all())
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ccbounds.errors import ReductionNotApplicable
from ccbounds.protocols.induced import InducedProtocol
from reductions.base import Reduction

__all__ = ["PartialSoftmaxProtocol", "ATTENTION_REDUCTION", "final_token_values"]

#: enumerate Bob's inputs to find the values of the final token when there are at most this many
MAX_ENUMERATE = 1 << 16


def final_token_values(gadget: Any) -> tuple[int, ...]:
    """The token ids the final (output) position can hold: Q of Lemma T.

    Public final position: its one token. Bob's: the gadget's ``final_token_values`` if it states
    them, else all values over Bob's inputs (enumerated when there are at most ``MAX_ENUMERATE``),
    else every token id of the task (sound: Alice then sends sums for every possible query).
    """
    T = gadget.task.seq_len
    owner = gadget.owners[T - 1]
    if owner == "public":
        pos, tok = gadget.encode_public()
        return (int(dict(zip(pos, tok.tolist()))[T - 1]),)
    if owner == "Alice":
        raise ReductionNotApplicable(
            f"the output position of {gadget.name} is Alice's; Lemma T here needs it on Bob's side or public")
    stated = getattr(gadget, "final_token_values", None)
    if stated:
        return tuple(int(v) for v in stated)
    if gadget.problem.num_bob_inputs <= MAX_ENUMERATE:
        vals = set()
        for y in gadget.problem.bob_inputs():
            pos, tok = gadget.encode_bob(y)
            vals.add(int(tok[list(pos).index(T - 1)]))
        return tuple(sorted(vals))
    return tuple(range(gadget.task.vocab_size))


def _query_is_vocabulary_fallback(gadget: Any) -> bool:
    """Whether :func:`final_token_values` fell back to every token id (too many Bob inputs to enumerate)."""
    return (gadget.owners[gadget.task.seq_len - 1] == "Bob" and not getattr(gadget, "final_token_values", None)
            and gadget.problem.num_bob_inputs > MAX_ENUMERATE)


class PartialSoftmaxProtocol(InducedProtocol):
    """Alice sends per head (and per possible query token) her normalised partial attention and log-mass."""

    lemma = "Lemma T (theory §4)"

    def __init__(self, model: Any, adapter: Any, gadget: Any, *, device: Any = None) -> None:
        self.query_values = final_token_values(gadget)
        self._H, self._dv = int(adapter.heads), int(adapter.d_v)
        self._T = gadget.task.seq_len
        super().__init__(model, adapter, gadget, name=f"{gadget.name} via one-layer attention", device=device)
        import torch

        # token id -> row of Alice's table (-1: not a possible query token)
        table = torch.full((max(max(self.query_values), self.task.vocab_size) + 1,), -1, dtype=torch.long)
        table[list(self.query_values)] = torch.arange(len(self.query_values))
        self._query_index = table.to(self.device)

    @property
    def message_grows_with_n(self) -> bool:  # type: ignore[override]
        """True when Q counts the values Bob's input puts at the output position (index tokens: Q = n).

        When Q is the whole vocabulary (the fallback of :func:`final_token_values`), Q is a constant of
        the model and the usual length limit applies.
        """
        return len(self.query_values) > 1 and not _query_is_vocabulary_fallback(self.gadget)

    @property
    def scalars(self) -> int:
        from ccbounds.architectures import get_architecture

        return get_architecture("tf1").message_scalars(self._H * self._dv, heads=self._H,
                                                       query_values=len(self.query_values))

    def _tok(self, rows: list[np.ndarray]) -> Any:
        import torch

        return torch.as_tensor(np.stack(rows), dtype=torch.long, device=self.device)

    def _pos(self, pos: Sequence[int]) -> Any:
        import torch

        return torch.as_tensor(list(pos), dtype=torch.long, device=self.device)

    def alice_messages(self, xs: Sequence[Any]) -> Any:
        import torch

        from ccbounds.adapters import partial_sums

        g, B = self.gadget, len(xs)
        toks = self._tok([g.encode_alice(x)[1] for x in xs])  # (B, |P_A|)
        k, v = self.adapter.keys_values(toks, self._pos(g.alice_positions))  # (B, H, |P_A|, d)
        parts = []
        for val in self.query_values:
            q = self.adapter.queries(torch.full((B,), val, dtype=torch.long, device=self.device), self._T)
            ps = partial_sums(q, k, v)  # num (B,H,d_v), den (B,H), shift (B,H)
            avg = ps.num / ps.den.unsqueeze(-1)
            logz = torch.log(ps.den) + ps.shift
            parts.append(torch.cat([avg, logz.unsqueeze(-1)], dim=-1))  # (B, H, d_v+1)
        return torch.stack(parts, dim=1).reshape(B, -1).float()  # (B, Q*H*(d_v+1))

    def bob_logits_from_tokens(self, messages: Any, toks: Any) -> Any:
        import torch

        from ccbounds.adapters import PartialSums, combine, partial_sums

        B = toks.shape[0]
        last = toks[:, -1]
        sel = self._query_index[last]  # (B,) row of Alice's table for Bob's query token
        if bool((sel < 0).any()):
            raise ReductionNotApplicable("Bob's final token is not among the query values Alice prepared")
        msg = messages.to(self.device).reshape(B, len(self.query_values), self._H, self._dv + 1)
        mine = msg[torch.arange(B, device=self.device), sel]  # (B, H, d_v+1)
        alice = PartialSums(mine[..., :-1], torch.ones_like(mine[..., -1]), mine[..., -1])
        k, v = self.adapter.keys_values(toks, self._pos(self.bob_positions))
        q = self.adapter.queries(last, self._T)
        attended = combine([alice, partial_sums(q, k, v)])  # (B, H, d_v)
        return self.adapter.finish(last, self._T, attended)

    def describe_message(self) -> str:
        Q = len(self.query_values)
        per = f"{self._H} head{'s' if self._H > 1 else ''} x (d_v = {self._dv} averaged values + 1 log-mass)"
        if Q == 1:
            return f"the partial softmax sums over Alice's positions: {per}"
        return f"the partial softmax sums for each of the Q = {Q} possible query tokens: {Q} x {per}"


def _applies(adapter: Any, gadget: Any) -> bool:
    if getattr(adapter, "kind", None) != "attention":
        return False
    if not gadget.alice_positions:
        raise ReductionNotApplicable(f"the gadget {gadget.name} gives Alice no positions: nothing to send")
    final_token_values(gadget)  # refuses an output position on Alice's side
    return True


ATTENTION_REDUCTION = Reduction(
    name="one-layer-attention",
    applies=_applies,
    build=lambda model, adapter, gadget, device=None: PartialSoftmaxProtocol(model, adapter, gadget, device=device),
    lemma="Lemma T",
    source="theory §4 Lemma T; [BHBK]; [SHT]",
    inequality="Q*H*(d_v+1)*b >= D^{A->B}(f)   (Q = values of the query token: 1 if public)",
    description="Alice sends, per head, her partial softmax average and log-mass; Bob merges and finishes.",
)
