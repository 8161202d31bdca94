"""Built-in Lemma T adapter: one-layer softmax Transformer classifiers read at the last position.

Layouts read (theory §4, Lemma T):

* ``nn.TransformerEncoderLayer`` (``norm_first`` True or False, alone or inside an
  ``nn.TransformerEncoder``): token ``nn.Embedding`` + positions (a learned ``nn.Embedding``, a
  sinusoidal/fixed buffer of shape ``(max_len, d)``, or none) → the layer → optional final
  ``nn.LayerNorm`` → ``nn.Linear`` head at the last position. This is the reference
  :class:`ccbounds.models.TransformerClassifier` with ``layers == 1``.
* a bare ``nn.MultiheadAttention`` with the same embeddings and head, and at most one
  ``nn.LayerNorm``; the forward is one of :data:`MHA_READINGS`.

A foreign module's forward cannot be known for sure, so :func:`build_attention_adapter` builds every
plausible reading of its layout (which embedding holds positions, an optional ``sqrt(d)`` embedding
scale, final norm or not, the MHA readings) and keeps the first one that reproduces the module's own
forward on seeded random tokens.

Examples
--------
>>> import torch
>>> from torch import nn
>>> class M(nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.tok, self.where = nn.Embedding(6, 8), nn.Embedding(5, 8)
...         self.block = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
...         self.out = nn.Linear(8, 3)
...     def forward(self, x):
...         h = self.block(self.tok(x) + self.where.weight[: x.shape[1]])
...         return self.out(h[:, -1])
>>> _ = torch.manual_seed(0)
>>> a = build_attention_adapter(M())
>>> a.heads, a.d_k, a.d_v, a.max_len
(2, 4, 4, 5)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ccbounds.adapters.base import REGISTER_HINT, AttentionAdapter, validate_adapter
from ccbounds.errors import InvalidInputError, ReductionNotApplicable, UnsupportedArchitecture

__all__ = [
    "TransformerAdapter",
    "Reading",
    "Positions",
    "build_attention_adapter",
    "attention_candidates",
    "MHA_READINGS",
    "ATTENTION_LAYOUTS",
]

#: the layouts this module reads, for error messages and docs
ATTENTION_LAYOUTS = (
    "Embedding (+ learned Embedding or (max_len, d) buffer positions) -> one nn.TransformerEncoderLayer "
    "(norm_first True/False) -> [LayerNorm] -> Linear at the last position",
    "Embedding (+ positions) -> one nn.MultiheadAttention -> [LayerNorm] -> Linear at the last position",
)

#: candidate forwards tried for the bare-MultiheadAttention layout (h = embedding + positions)
MHA_READINGS = (
    "head(h_T + attn(h))",
    "head(attn(h))",
    "head(LN(h_T + attn(h)))",
    "head(LN(attn(h)))",
    "head(h_T + attn(LN(h)))",
)


@dataclass(frozen=True)
class Positions:
    """Where the positional encoding comes from: a learned table, a fixed buffer, or nothing."""

    kind: str  # "learned" | "buffer" | "none"
    name: str
    owner: Any = None  # the nn.Embedding, or the module owning the buffer
    attr: str = ""  # buffer name in owner (fetched on each call, so .to(device) is followed)
    max_len: int | None = None

    def __call__(self, idx: torch.Tensor, d: int, like: torch.Tensor) -> torch.Tensor:
        """Encodings ``(t, d)`` of 0-based positions ``idx`` ``(t,)``."""
        if self.kind == "learned":
            return self.owner(idx)
        if self.kind == "buffer":
            return getattr(self.owner, self.attr).reshape(-1, d)[idx].to(like.dtype)
        return torch.zeros(idx.shape[0], d, dtype=like.dtype, device=like.device)


@dataclass(frozen=True)
class Reading:
    """One reading of the computation around the attention: ``pre`` per position, ``post(h_T, a)`` after."""

    name: str
    pre: Callable[[torch.Tensor], torch.Tensor]
    post: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class TransformerAdapter(AttentionAdapter):
    """Lemma T adapter for a one-layer softmax Transformer (theory §4; [BHBK], [SHT]).

    Queries, keys and values are the attention's own in-projections of ``pre(h_j)``, with
    ``h_j = scale·embed(s_j) + pos(j)``; ``finish`` applies ``out_proj`` then ``post(h_T, ·)`` and the head.

    Parameters
    ----------
    model : nn.Module
    embed : nn.Embedding
    positions : Positions
    attention : nn.MultiheadAttention
    head : nn.Linear
    reading : Reading
    embed_scale : float
    layout : str
        Words for :attr:`description`.
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        embed: nn.Embedding,
        positions: Positions,
        attention: nn.MultiheadAttention,
        head: nn.Linear,
        reading: Reading,
        embed_scale: float = 1.0,
        layout: str = "",
    ) -> None:
        super().__init__(model)
        self.embed, self.positions, self.attention, self.head = embed, positions, attention, head
        self.reading, self.embed_scale = reading, embed_scale
        self.d_model = attention.embed_dim
        self.heads = attention.num_heads
        self.d_k = self.d_v = self.d_model // self.heads
        self.vocab_size = embed.num_embeddings
        self.max_len = positions.max_len
        scale = "" if embed_scale == 1.0 else f"{embed_scale:.4g}*"
        self.description = (
            f"{type(model).__name__}: {layout}; h = {scale}{_name(model, embed)} + {positions.name}; "
            f"{reading.name}; H={self.heads}, d_k=d_v={self.d_k}"
        )

    def _h(self, tokens: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        e = self.embed(tokens) * self.embed_scale  # (B, t, d)
        return e + self.positions(idx.to(e.device), self.d_model, e)

    def _check_T(self, T: int) -> None:
        if T < 1 or (self.max_len is not None and T > self.max_len):
            raise InvalidInputError(f"T is the sequence length, 1 <= T <= {self.max_len}; got {T}")

    def _proj(self, x: torch.Tensor, which: int) -> torch.Tensor:
        d = self.d_model
        w = self.attention.in_proj_weight[which * d : (which + 1) * d]
        b = self.attention.in_proj_bias
        return F.linear(x, w, None if b is None else b[which * d : (which + 1) * d])

    def queries(self, last_tokens: torch.Tensor, T: int) -> torch.Tensor:
        """Per-head queries ``(B, H, d_k)`` at position T (1-based), scaled by ``1/sqrt(d_k)``."""
        self._check_T(T)
        idx = torch.tensor([T - 1])
        x = self.reading.pre(self._h(last_tokens[:, None], idx))[:, 0]  # (B, d)
        return self._proj(x, 0).view(-1, self.heads, self.d_k) / math.sqrt(self.d_k)

    def keys_values(self, tokens: torch.Tensor, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys ``(B, H, t, d_k)`` and values ``(B, H, t, d_v)``; ``positions`` are 0-based ``(t,)``."""
        if tokens.dim() != 2 or positions.shape != (tokens.shape[1],):
            raise InvalidInputError(
                f"keys_values takes tokens (B, t) and positions (t,), got {tuple(tokens.shape)} and "
                f"{tuple(positions.shape)}"
            )
        if positions.numel() and (int(positions.min()) < 0 or (self.max_len and int(positions.max()) >= self.max_len)):
            raise InvalidInputError(f"positions are 0-based indices below max_len={self.max_len}")
        x = self.reading.pre(self._h(tokens, positions))  # (B, t, d)
        B, t = tokens.shape
        k = self._proj(x, 1).view(B, t, self.heads, self.d_k).transpose(1, 2)
        v = self._proj(x, 2).view(B, t, self.heads, self.d_v).transpose(1, 2)
        return k, v

    def finish(self, last_tokens: torch.Tensor, T: int, attended: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, C)``: out_proj, then the reading's residual/LayerNorm/FFN/final norm, then the head."""
        self._check_T(T)
        h_T = self._h(last_tokens[:, None], torch.tensor([T - 1]))[:, 0]  # (B, d)
        a = self.attention.out_proj(attended.reshape(attended.shape[0], self.d_model))  # (B, d)
        return self.head(self.reading.post(h_T, a))


def _name(model: nn.Module, module: Any) -> str:
    return next((n for n, m in model.named_modules() if m is module), type(module).__name__) or "model"


def _ffn(layer: nn.TransformerEncoderLayer, x: torch.Tensor) -> torch.Tensor:
    return layer.linear2(layer.activation(layer.linear1(x)))


def _layer_readings(layer: nn.TransformerEncoderLayer, final: nn.Module | None, fname: str) -> Reading:
    fin = final if final is not None else (lambda z: z)
    tail = f" -> {fname}" if final is not None else ""
    if layer.norm_first:
        return Reading(
            f"pre-norm layer: z = h_T + attn(norm1(h)); z + ffn(norm2(z)){tail} -> head",
            pre=layer.norm1,
            post=lambda h, a: fin((h + a) + _ffn(layer, layer.norm2(h + a))),
        )

    def post(h: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        z = layer.norm1(h + a)
        return fin(layer.norm2(z + _ffn(layer, z)))

    return Reading(f"post-norm layer: z = norm1(h_T + attn(h)); norm2(z + ffn(z)){tail} -> head", pre=lambda h: h,
                   post=post)


def _mha_readings(ln: nn.Module | None) -> list[Reading]:
    ident = lambda h: h  # noqa: E731
    out = [
        Reading(MHA_READINGS[0], ident, lambda h, a: h + a),
        Reading(MHA_READINGS[1], ident, lambda h, a: a),
    ]
    if ln is not None:
        out += [
            Reading(MHA_READINGS[2], ident, lambda h, a: ln(h + a)),
            Reading(MHA_READINGS[3], ident, lambda h, a: ln(a)),
            Reading(MHA_READINGS[4], ln, lambda h, a: h + a),
        ]
    return out


def _position_sources(model: nn.Module, inside: set[int], embeds: list[nn.Embedding], d: int) -> list[Positions]:
    out = [Positions("learned", _name(model, e), e, max_len=e.num_embeddings) for e in embeds]
    for mod_name, mod in model.named_modules():
        if id(mod) in inside:
            continue
        for b_name, buf in mod.named_buffers(recurse=False):
            shape = tuple(buf.shape)
            if (buf.is_floating_point() and buf.dim() in (2, 3) and shape[-1] == d
                    and math.prod(shape) // d in shape[:-1]):
                full = f"{mod_name}.{b_name}" if mod_name else b_name
                out.append(Positions("buffer", full, mod, b_name, max_len=math.prod(shape) // d))
    return out


def attention_candidates(model: nn.Module) -> list[TransformerAdapter]:
    """Every plausible reading of a one-layer Transformer layout, most plausible first (unvalidated).

    Raises
    ------
    ReductionNotApplicable
        Two or more attention layers (Lemma T is for one layer).
    UnsupportedArchitecture
        No single attention layer, an attention with extra key/value biases or different kdim/vdim,
        not exactly one Linear head outside the attention block, no token embedding of width d,
        or more than one LayerNorm outside the block.
    """
    name = type(model).__name__
    mods = list(model.modules())
    mhas = [m for m in mods if isinstance(m, nn.MultiheadAttention)]
    if len(mhas) >= 2:
        raise ReductionNotApplicable.attention_layers(f"{name} has {len(mhas)} attention layers")
    if not mhas:
        raise UnsupportedArchitecture(f"{name}: no nn.MultiheadAttention found; supported: "
                                      f"{' | '.join(ATTENTION_LAYOUTS)}; {REGISTER_HINT}")
    mha = mhas[0]
    if not mha._qkv_same_embed_dim or mha.bias_k is not None or mha.add_zero_attn:
        raise UnsupportedArchitecture(
            f"{name}: the attention uses kdim/vdim != embed_dim, bias_k/bias_v or add_zero_attn, which the built-in "
            f"adapter does not read; {REGISTER_HINT}"
        )
    d = mha.embed_dim
    layers = [m for m in mods if isinstance(m, nn.TransformerEncoderLayer)]
    block: nn.Module = layers[0] if layers else mha
    inside = {id(m) for m in block.modules()}
    outside = [m for m in mods if id(m) not in inside]
    embeds = [m for m in outside if isinstance(m, nn.Embedding) and m.embedding_dim == d]
    heads = [m for m in outside if isinstance(m, nn.Linear)]
    norms = [m for m in outside if isinstance(m, nn.LayerNorm)]
    problem = (
        "no nn.Embedding of width "
        "d_model" if not embeds else "more than two embeddings of width d_model" if len(embeds) > 2
        else f"expected one nn.Linear head outside the attention block, found {len(heads)}" if len(heads) != 1
        else "more than one LayerNorm outside the attention block" if len(norms) > 1 else ""
    )
    if problem:
        raise UnsupportedArchitecture(f"{name}: {problem}; supported: {' | '.join(ATTENTION_LAYOUTS)}; {REGISTER_HINT}")
    head, ln = heads[0], (norms[0] if norms else None)
    # which embedding holds tokens: prefer names without "pos"
    embeds.sort(key=lambda e: "pos" in _name(model, e).lower())
    sources = _position_sources(model, inside, embeds, d)
    pairs = []
    for tok in embeds:
        pos = [p for p in sources if p.owner is not tok]
        if len(embeds) == 1:
            pos.append(Positions("none", "no positions"))
        else:
            pos = [p for p in pos if p.kind == "learned"]
        pairs += [(tok, p) for p in pos]
    if layers:
        layout = f"one nn.TransformerEncoderLayer ({'pre' if block.norm_first else 'post'}-norm)"
        lns = [(ln, _name(model, ln))] if ln is not None else []
        readings = [_layer_readings(block, f, n) for f, n in lns + [(None, "")]]
    else:
        layout, readings = "one nn.MultiheadAttention", _mha_readings(ln)
    return [
        TransformerAdapter(model, embed=tok, positions=p, attention=mha, head=head, reading=r, embed_scale=s,
                           layout=layout)
        for tok, p in pairs
        for s in (1.0, math.sqrt(d))
        for r in readings
    ]


def build_attention_adapter(model: nn.Module, *, validate: bool = True, seed: int = 0) -> TransformerAdapter:
    """The Lemma T adapter of a one-layer Transformer: the first reading that reproduces ``model``'s forward.

    Parameters
    ----------
    model : nn.Module
    validate : bool
        If False, return the most plausible reading without running the model (only safe for the
        reference classes).
    seed : int
        Seed of the random validation tokens.

    Raises
    ------
    ReductionNotApplicable, UnsupportedArchitecture
        See :func:`attention_candidates`; also when no reading reproduces forward (the message lists
        every reading tried and how to register a custom adapter).
    """
    cands = attention_candidates(model)
    if not validate:
        return cands[0]
    failures = []
    for cand in cands:
        try:
            validate_adapter(cand, seed=seed, lengths=(4,))  # cheap screen, then the full check
            validate_adapter(cand, seed=seed)
        except UnsupportedArchitecture as exc:
            failures.append(str(exc).split("; register")[0])
            continue
        return cand
    tried = "; ".join(f"[{c.description}]" for c in cands)
    raise UnsupportedArchitecture(
        f"{type(model).__name__}: none of {len(cands)} readings reproduces its forward (tried {tried}; "
        f"first failure: {failures[0]}); {REGISTER_HINT}"
    )
