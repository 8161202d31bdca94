"""Lemma R and Lemma T on the user's own forward (theory §4): the protocols of the interception adapters.

* :class:`InterceptedStateProtocol` (Lemma R): Alice runs the model on everything before the cut (her
  tokens and any public ones, e.g. a BOS); the message is the final state of every recurrent module,
  captured with hooks; Bob runs the model on the rest with each module started from the message.
* :class:`InterceptedAttentionProtocol` (Lemma T): the one attention computation's softmax at the query
  row the readout uses is split into Alice's partial sums (per head ``a_A`` and ``log Z_A``, for each of
  the Q values Bob's query token can take: she runs the forward once per value) and Bob's, merged by
  log-sum-exp.

Neither is trusted: each protocol is validated against the model's own forward at the gadget's own
length and cut on :data:`VALIDATION_INPUTS` random inputs (all inputs when there are fewer). A
difference that occurs on a fraction p of the inputs escapes all N of them with probability (1 − p)^N:
with N = 512, below 0.6% for p = 1%, below 3.4·10⁻⁵ for p = 2%, below 1.8·10⁻⁷ for p = 3%. Logits are
compared (not only answers), so a model whose cut changes its logits at all is refused on nearly every
input. The recurrent adapter is also checked at other lengths and cuts on random token ids.

Examples
--------
>>> import torch
>>> from torch import nn
>>> from ccbounds.problems import INDEX
>>> from ccbounds.reduction import reduce
>>> class Pooled(nn.Module):                 # mean-pools its GRU outputs: not a function of the final state
...     def __init__(self):
...         super().__init__()
...         self.emb, self.gru, self.head = nn.Embedding(6, 4), nn.GRU(4, 4, batch_first=True), nn.Linear(4, 2)
...     def forward(self, x):
...         return self.head(self.gru(self.emb(x))[0].mean(dim=1))
>>> _ = torch.manual_seed(0)
>>> p = reduce(Pooled().eval(), INDEX(4))   # the intercepted state differs from the forward: compiled instead
>>> type(p).__name__, p.scalars             # the GRU state and Alice's partial sum of the pooled outputs
('CompiledProtocol', 8)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ccbounds.errors import ReductionNotApplicable
from ccbounds.protocols.induced import InducedProtocol
from reductions.base import Reduction

__all__ = [
    "INTERCEPTED_ATTENTION",
    "INTERCEPTED_STATE",
    "VALIDATION_INPUTS",
    "InterceptedAttentionProtocol",
    "InterceptedStateProtocol",
    "query_token_values",
    "split_point",
]

#: random inputs of the gadget on which every intercepted protocol is compared with the model's forward
VALIDATION_INPUTS = 512
#: enumerate Bob's inputs to find the values of the query token when there are at most this many
MAX_ENUMERATE = 1 << 16
ATOL = RTOL = 1e-4


def split_point(gadget: Any) -> int:
    """The cut of Lemma R: one past Alice's last position; before it only Alice's and public positions,
    after it only Bob's and public ones (so a BOS before Alice's block is fine).

    Raises
    ------
    ReductionNotApplicable
        When Bob owns a position before Alice's last one, or Alice owns none.
    """
    if not gadget.alice_positions:
        raise ReductionNotApplicable(f"the gadget {gadget.name} gives Alice no positions: nothing to send")
    cut = max(gadget.alice_positions) + 1
    if any(p < cut for p in gadget.bob_positions):
        raise ReductionNotApplicable(
            f"Lemma R needs Alice's positions to form a prefix, but the gadget {gadget.name} interleaves "
            "them with Bob's (the state would depend on Bob's tokens); use a prefix gadget such as x SEP y END")
    return cut


def prefix_tokens(gadget: Any, xs: Sequence[Any], cut: int, device: Any) -> Any:
    """Every token before the cut (Alice's, and public ones such as a BOS) for Alice inputs ``xs``: ``(B, cut)``."""
    import torch

    fill = dict(zip(*(list(a) for a in gadget.encode_public()))) | {p: 0 for p in gadget.alice_positions}
    rows = np.array([[fill[p] for p in range(cut)]] * len(xs), dtype=np.int64).reshape(len(xs), cut)
    where = list(gadget.alice_positions)
    for r, x in enumerate(xs):
        rows[r, where] = gadget.encode_alice(x)[1]
    return torch.as_tensor(rows, dtype=torch.long, device=device)


def _validation_pairs(problem: Any, seed: int) -> list[tuple[Any, Any]]:
    if problem.num_alice_inputs * problem.num_bob_inputs <= VALIDATION_INPUTS:
        return [(x, y) for x in problem.alice_inputs() for y in problem.bob_inputs()]
    return list(problem.sample(VALIDATION_INPUTS, seed=seed))


def _sequences(gadget: Any, pairs: Sequence[tuple[Any, Any]], device: Any) -> Any:
    import torch

    seq = gadget.sequences([x for x, _ in pairs], [y for _, y in pairs])  # (len(pairs), T)
    return torch.as_tensor(seq, dtype=torch.long, device=device)


class _Intercepted(InducedProtocol):
    """What both intercepted protocols share: the model run in eval mode, and the validation."""

    def _validate(self, seed: int, cause: str, cut: Any) -> None:
        import torch

        from ccbounds.adapters.intercept_recurrent import split_mismatch

        pairs = _validation_pairs(self.problem, seed)
        with torch.no_grad():
            ref = self.adapter.forward(_sequences(self.gadget, pairs, self.device))
            if not torch.equal(ref, self.adapter.forward(_sequences(self.gadget, pairs, self.device))):
                raise ReductionNotApplicable(
                    f"{type(self.module).__name__}.forward is not deterministic (dropout in training mode?); call "
                    "model.eval() before reducing it")
            got = self.bob_logits_from_tokens(self.alice_messages([x for x, _ in pairs]),
                                              self.bob_tokens([y for _, y in pairs]))
        split_mismatch(self.module, ref, got, self.task.seq_len, cut, ATOL, RTOL, cause)
        self.validated_on = len(pairs)

    def _rows(self, positions: Sequence[int], fill: dict[int, int], rows: int) -> np.ndarray:
        out = np.empty((rows, len(positions)), dtype=np.int64)
        for c, p in enumerate(positions):
            out[:, c] = fill[p]
        return out


class PrefixCut:
    """Lemma R's split: S measured scalars, and Bob holds every position from the cut on (his and public ones)."""

    _S: int
    _cut: int
    task: Any

    @property
    def scalars(self) -> int:
        return self._S

    @property
    def bob_positions(self) -> list[int]:
        """Every position after the cut (Bob's and public ones)."""
        return list(range(self._cut, self.task.seq_len))


class InterceptedStateProtocol(PrefixCut, _Intercepted):
    """Alice sends the captured states of the model's recurrent modules after her prefix; Bob continues (Lemma R)."""

    lemma = "Lemma R (theory §4), on the model's own forward"

    def __init__(self, model: Any, adapter: Any, gadget: Any, *, device: Any = None, seed: int = 0,
                 validate: bool = True) -> None:
        self._cut = split_point(gadget)
        self._S = int(adapter.state_size)
        super().__init__(model, adapter, gadget, name=f"{gadget.name} via the recurrent state", device=device)
        if validate:
            import torch

            gen = torch.Generator().manual_seed(seed)
            V = max(2, min(adapter.vocab_size or self.task.vocab_size, self.task.vocab_size))
            for T in sorted({3, 8, self.task.seq_len}):
                toks = torch.randint(0, V, (64, T), generator=gen).to(self.device)
                for cut in sorted({1, T // 2, T - 1} - {0}):
                    adapter.check_split(toks, cut, atol=ATOL, rtol=RTOL)
            self._validate(seed, "the output depends on more than the recurrent states at the cut (pooling over "
                           "positions, a position-dependent map, or Alice's tokens read outside the recurrent modules)",
                           self._cut)

    def alice_tokens(self, xs: Sequence[Any]) -> Any:
        """Positions 0..cut-1 (Alice's tokens and the public ones among them): ``(len(xs), cut)``."""
        return prefix_tokens(self.gadget, xs, self._cut, self.device)

    def alice_messages(self, xs: Sequence[Any]) -> Any:
        import torch

        with torch.no_grad():
            _, state = self.adapter.run(self.alice_tokens(xs))
        return self.adapter.flatten(state)  # (B, S) float32

    def bob_logits_from_tokens(self, messages: Any, tokens: Any) -> Any:
        return self.adapter.run(tokens, self.adapter.unflatten(messages.to(self.device)))[0]

    def describe_message(self) -> str:
        return f"the states of the model's recurrent modules at the cut: {self.adapter.describe_state()}"

    def to_dict(self) -> dict[str, Any]:
        tensors = [vars(e) | {"shape": list(e.shape)} for e in self.adapter.layout]
        return {**super().to_dict(), "message_tensors": tensors,
                "message_bits_native": self.adapter.state_bits}


def query_token_values(gadget: Any, pos: int) -> tuple[tuple[int, ...], bool]:
    """The token ids position ``pos`` can hold (Q of Lemma T) and whether that is the vocabulary fallback.

    Public: its one token. Bob's: the gadget's stated values at the last position, else the values over
    Bob's inputs (enumerated up to :data:`MAX_ENUMERATE`), else every token id of the task (sound).
    """
    owner = gadget.owners[pos]
    if owner == "public":
        pub = dict(zip(*(list(a) for a in gadget.encode_public())))
        return (int(pub[pos]),), False
    if owner == "Alice":
        raise ReductionNotApplicable(
            f"the readout of {gadget.name} reads the attention at position {pos}, which is Alice's; Lemma T needs "
            "the query position on Bob's side or public")
    if pos == gadget.task.seq_len - 1 and gadget.final_token_values:
        return tuple(int(v) for v in gadget.final_token_values), False
    if gadget.problem.num_bob_inputs <= MAX_ENUMERATE:
        where = list(gadget.bob_positions).index(pos)
        return tuple(sorted({int(gadget.encode_bob(y)[1][where]) for y in gadget.problem.bob_inputs()})), False
    return tuple(range(gadget.task.vocab_size)), True


class InterceptedAttentionProtocol(_Intercepted):
    """Alice sends, per possible query token and head, her partial softmax average and log-mass (Lemma T)."""

    lemma = "Lemma T (theory §4), on the model's own forward"

    def __init__(self, model: Any, adapter: Any, gadget: Any, *, device: Any = None, seed: int = 0,
                 validate: bool = True) -> None:
        import torch

        self.module, self.adapter, self.gadget, self.device = model, adapter, gadget, device
        self.problem, self.task = gadget.problem, gadget.task
        T = gadget.task.seq_len
        if not gadget.alice_positions:
            raise ReductionNotApplicable(f"the gadget {gadget.name} gives Alice no positions: nothing to send")
        pairs = list(gadget.problem.sample(16, seed=seed))
        x0, y0 = pairs[0]
        self._fill_bob = dict(zip(gadget.bob_positions, gadget.encode_bob(y0)[1].tolist()))
        self._fill_alice = dict(zip(gadget.alice_positions, gadget.encode_alice(x0)[1].tolist()))
        rows, qshape, kshape = adapter.read_rows(_sequences(gadget, pairs, device), seed)
        name = type(model).__name__
        if kshape[-2] != T:
            raise ReductionNotApplicable(
                f"{name} attends over {kshape[-2]} keys but the sequence has {T} positions, so the positions of the "
                "attention are not the gadget's (a model reading only part of its input, or a sequence dimension "
                "that is not second to last); Lemma T needs attention over every position")
        if qshape[-2] not in (1, T):
            raise ReductionNotApplicable(f"{name} computes {qshape[-2]} attention queries for {T} positions")
        if len(rows) != 1:
            raise ReductionNotApplicable(
                f"{name}'s output reads the attention output at {len(rows)} query positions "
                f"({', '.join(map(str, rows[:8]))}{'...' if len(rows) > 8 else ''}): pooling over positions, so no "
                "single softmax splits into Alice's and Bob's sums")
        self.row = rows[0]
        self.query_position = self.row if qshape[-2] == T else T - 1
        self.query_values, self._fallback = query_token_values(gadget, self.query_position)
        self._alice_keys = torch.zeros(T, dtype=torch.bool, device=device)
        self._alice_keys[list(gadget.alice_positions)] = True
        table = torch.full((max(max(self.query_values), gadget.task.vocab_size) + 1,), -1, dtype=torch.long)
        table[list(self.query_values)] = torch.arange(len(self.query_values))
        self._query_index = table.to(device)
        a, _ = self._alice_sums([x0])
        self._heads, self._dv = int(a.shape[1]), int(a.shape[2])
        self._S = len(self.query_values) * self._heads * (self._dv + 1)
        super().__init__(model, adapter, gadget, name=f"{gadget.name} via one-layer attention", device=device)
        if validate:
            self._validate(seed, "the output depends on more than the one softmax at the query position (keys or "
                           "values mixing positions before the attention, Alice's tokens read outside it, or a "
                           "query that depends on other tokens than the one at its position)",
                           f"Alice's positions {tuple(gadget.alice_positions)[:4]}...")

    @property
    def scalars(self) -> int:
        return self._S

    @property
    def message_grows_with_n(self) -> bool:  # type: ignore[override]
        """True when Q counts the values Bob's input puts at the query position (index tokens: Q = n)."""
        return len(self.query_values) > 1 and not self._fallback

    def _mode(self, role: str, batch: int, message: Any = None) -> Any:
        from ccbounds.adapters.intercept_attention import AttentionInterceptor

        return AttentionInterceptor(role, row=self.row, alice_keys=self._alice_keys, message=message, batch=batch)

    def _alice_sums(self, xs: Sequence[Any]) -> tuple[Any, Any]:
        """Alice's ``(a_A (B*Q, H, d_v), log Z_A (B*Q, H))``: one forward per (input, query value)."""
        import torch

        g, T, Q = self.gadget, self.task.seq_len, len(self.query_values)
        pub = dict(zip(*(list(a) for a in g.encode_public())))
        rows = self._rows(range(T), pub | self._fill_bob | self._fill_alice, len(xs))
        for r, x in enumerate(xs):
            rows[r, list(g.alice_positions)] = g.encode_alice(x)[1]
        rows = np.repeat(rows, Q, axis=0)  # (B*Q, T)
        rows[:, self.query_position] = np.tile(np.asarray(self.query_values, dtype=np.int64), len(xs))
        mode = self._mode("alice", len(rows))
        with torch.no_grad():
            self.adapter.run(torch.as_tensor(rows, dtype=torch.long, device=self.device), mode)
        if mode.sent is None:
            raise ReductionNotApplicable(
                f"{type(self.module).__name__}: the attention did not run on Alice's sequences")
        return mode.sent

    def alice_messages(self, xs: Sequence[Any]) -> Any:
        import torch

        a, logz = self._alice_sums(xs)
        return torch.cat([a, logz[..., None]], dim=-1).reshape(len(xs), -1).float()  # (B, Q*H*(d_v+1))

    def bob_logits_from_tokens(self, messages: Any, tokens: Any) -> Any:
        import torch

        B, T, Q = tokens.shape[0], self.task.seq_len, len(self.query_values)
        full = torch.empty((B, T), dtype=torch.long, device=self.device)
        full[:, list(self.gadget.alice_positions)] = torch.as_tensor(
            [self._fill_alice[p] for p in self.gadget.alice_positions], device=self.device)
        full[:, self.bob_positions] = tokens.to(self.device)
        sel = self._query_index[full[:, self.query_position]]
        if bool((sel < 0).any()):
            raise ReductionNotApplicable("Bob's query token is not among the query values Alice prepared")
        msg = messages.to(self.device).reshape(B, Q, -1)[torch.arange(B, device=self.device), sel]  # (B, H*(d_v+1))
        msg = msg.reshape(B, self._heads, self._dv + 1)
        return self.adapter.run(full, self._mode("bob", B, (msg[..., :-1], msg[..., -1])))

    def describe_message(self) -> str:
        Q, H = len(self.query_values), self._heads
        per = f"{H} head{'s' if H > 1 else ''} x (d_v = {self._dv} averaged values + 1 log-mass)"
        where = f"the query row at position {self.query_position}"
        if Q == 1:
            return f"the partial softmax sums over Alice's positions at {where}: {per}"
        return f"the partial softmax sums at {where} for each of the Q = {Q} possible query tokens: {Q} x {per}"


def _is(cls_name: str) -> Any:
    def applies(adapter: Any, gadget: Any) -> bool:
        return type(adapter).__name__ == cls_name
    return applies


def _reduction(name: str, adapter: str, protocol: type, lemma: str, source: str, inequality: str,
               description: str) -> Reduction:
    return Reduction(name=name, applies=_is(adapter), lemma=lemma, source=source, inequality=inequality,
                     description=description,
                     build=lambda model, ad, gadget, device=None, seed=0: protocol(model, ad, gadget, device=device,
                                                                                  seed=seed))


INTERCEPTED_STATE = _reduction(
    "intercepted-state", "InterceptedRecurrentAdapter", InterceptedStateProtocol, "Lemma R",
    "theory §4 Lemma R; [BHBK]",
    "S*b >= D^{A->B}(f)   (S = measured state scalars of every recurrent module at the cut)",
    "Alice runs the user's forward on her prefix, sending its recurrent modules' states; Bob continues.")

INTERCEPTED_ATTENTION = _reduction(
    "intercepted-attention", "InterceptedAttentionAdapter", InterceptedAttentionProtocol, "Lemma T",
    "theory §4 Lemma T; [BHBK]; [SHT]",
    "Q*H*(d_v+1)*b >= D^{A->B}(f)   (Q = values of the query token: 1 if public)",
    "The user's forward with its one softmax split: Alice's partial sums, merged by Bob (log-sum-exp).")
