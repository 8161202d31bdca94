"""Lemma T by interception: the user's own forward, with only the softmax of its one attention layer split.

:class:`AttentionInterceptor` is a :class:`torch.overrides.TorchFunctionMode`. While it is active, every
call of ``torch.nn.functional.scaled_dot_product_attention`` (however the user's code imported it) and of
``torch.nn.functional.multi_head_attention_forward`` (what ``nn.MultiheadAttention`` and
``nn.TransformerEncoderLayer`` run; their fused fast paths step aside while a mode is active) is
computed here, in plain softmax form, and — for the one query row the readout uses — split into the
partial sums over Alice's key positions and over the rest (theory §4, Lemma T):

* role ``"alice"``: per head, ``a_A = Σ_{j∈A} e^{s_j} v_j / Z_A`` and ``log Z_A`` are recorded and the
  forward stops;
* role ``"bob"``: Bob's own ``a_B``, ``log Z_B`` are merged with Alice's by log-sum-exp, exactly, and the
  forward continues as the user wrote it;
* roles ``"count"`` and ``"probe"``: count the attention computations, and find the rows the output reads.

Everything else (embeddings, positions of any kind and scale, norms, FFN, masks, the readout) is the
user's code.

Examples
--------
>>> import torch
>>> import torch.nn.functional as F
>>> q, k, v = torch.randn(2, 3, 5, 4), torch.randn(2, 3, 5, 4), torch.randn(2, 3, 5, 4)
>>> with AttentionInterceptor("count") as mode:
...     out = F.scaled_dot_product_attention(q, k, v)
>>> mode.calls, bool(torch.allclose(out, F.scaled_dot_product_attention(q, k, v), atol=1e-6))
(1, True)
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from ccbounds.adapters._forward import (
    forward_failed,
    logits_of,
    token_vocabulary,
)
from ccbounds.adapters.base import REGISTER_HINT, Adapter
from ccbounds.errors import ReductionNotApplicable, UnsupportedArchitecture

__all__ = ["ROLES", "AttentionInterceptor", "InterceptedAttentionAdapter", "count_attention"]

ROLES = ("count", "probe", "alice", "bob")
#: log Z_A sent when a mask excludes every one of Alice's keys: finite (quantizable), and exp() of it is 0
EMPTY_LOG_MASS = -1.0e4
_SDPA = inspect.signature(lambda query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                          enable_gqa=False: None)
_MHA = inspect.signature(F.multi_head_attention_forward)


class _Stop(Exception):
    """Raised inside the forward once Alice's partial sums are recorded (the rest is not needed)."""


def _additive(mask: torch.Tensor | None, like: torch.Tensor, true_means_keep: bool) -> torch.Tensor | None:
    if mask is None:
        return None
    if mask.dtype == torch.bool:
        keep = mask if true_means_keep else ~mask
        return torch.zeros(keep.shape, dtype=like.dtype, device=like.device).masked_fill(~keep, -math.inf)
    return mask.to(like.dtype)


class AttentionInterceptor(TorchFunctionMode):
    """Computes the model's attention itself and splits the softmax of one query row (see the module).

    Parameters
    ----------
    role : str
        One of :data:`ROLES`.
    row : int
        The query row to split (an index into the query's sequence dimension).
    alice_keys : Tensor (S,) of bool
        Which key positions are Alice's; the others are Bob's or public.
    message : tuple of Tensor, optional
        Bob's copy of Alice's ``(a_A (B, H, d_v), log Z_A (B, H))``.
    batch : int
        Sequences in the forward (rows of every recorded tensor).
    """

    def __init__(self, role: str, *, row: int = 0, alice_keys: torch.Tensor | None = None,
                 message: tuple[torch.Tensor, torch.Tensor] | None = None, batch: int = 1) -> None:
        super().__init__()
        self.role, self.row, self.alice_keys, self.message, self.batch = role, row, alice_keys, message, batch
        self.calls = 0
        self.shapes: list[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]] = []
        self.leaf: torch.Tensor | None = None
        self.sent: tuple[torch.Tensor, torch.Tensor] | None = None

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        if func is F.scaled_dot_product_attention:
            b = _SDPA.bind(*args, **kwargs).arguments
            if b.get("enable_gqa"):
                raise UnsupportedArchitecture("scaled_dot_product_attention with enable_gqa is not read; "
                                              f"{REGISTER_HINT}")
            q, k, v = b["query"], b["key"], b["value"]
            mask = _additive(b.get("attn_mask"), q, true_means_keep=True)
            if b.get("is_causal"):
                causal = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool, device=q.device).tril()
                mask = _additive(causal, q, True) if mask is None else mask + _additive(causal, q, True)
            self._dropout(b.get("dropout_p", 0.0))
            scale = b.get("scale") or 1.0 / math.sqrt(q.shape[-1])
            return self.attend(q, k, v, mask, scale)
        if func is F.multi_head_attention_forward:
            return self._mha(_MHA.bind(*args, **kwargs).arguments)
        return func(*args, **kwargs)

    def _dropout(self, p: float) -> None:
        if p:
            raise ReductionNotApplicable(
                f"the attention runs with dropout_p={p:g}, so the forward is random; call model.eval() (and pass "
                "dropout_p=0.0 outside training) before reducing it")

    def _mha(self, b: dict[str, Any]) -> Any:
        """``F.multi_head_attention_forward`` (seq-first inputs), its softmax computed by :meth:`attend`."""
        query, key, value = b["query"], b["key"], b["value"]
        if query.dim() != 3:
            raise UnsupportedArchitecture(f"nn.MultiheadAttention on unbatched inputs is not read; {REGISTER_HINT}")
        if b.get("bias_k") is not None or b.get("add_zero_attn") or b.get("static_k") is not None:
            raise UnsupportedArchitecture(
                f"nn.MultiheadAttention with bias_k/bias_v, add_zero_attn or static keys is not read; {REGISTER_HINT}")
        if b.get("training", True):
            self._dropout(b.get("dropout_p", 0.0))
        L, N, E = query.shape
        S, H = key.shape[0], b["num_heads"]
        if b.get("use_separate_proj_weight"):
            ws = (b["q_proj_weight"], b["k_proj_weight"], b["v_proj_weight"])
        else:
            ws = b["in_proj_weight"].chunk(3)
        bias = b.get("in_proj_bias")
        bs = bias.chunk(3) if bias is not None else (None, None, None)
        q, k, v = (F.linear(x, w, bb) for x, w, bb in zip((query, key, value), ws, bs))  # (L|S, N, E)
        def heads(t: torch.Tensor, n: int) -> torch.Tensor:
            return t.reshape(n, N, H, -1).permute(1, 2, 0, 3)  # (N, H, n, hd)

        q, k, v = heads(q, L), heads(k, S), heads(v, S)
        mask = _additive(b.get("attn_mask"), q, true_means_keep=False)
        if mask is not None and mask.dim() == 3:
            mask = mask.reshape(N, H, L, S)
        kpm = _additive(b.get("key_padding_mask"), q, true_means_keep=False)
        if kpm is not None:
            kpm = kpm.reshape(N, 1, 1, S)
            mask = kpm if mask is None else mask + kpm
        if b.get("is_causal") and b.get("attn_mask") is None:
            causal = _additive(torch.ones(L, S, dtype=torch.bool, device=q.device).tril(), q, True)
            mask = causal if mask is None else mask + causal
        out = self.attend(q, k, v, mask, 1.0 / math.sqrt(q.shape[-1]))  # (N, H, L, hd)
        out = F.linear(out.permute(2, 0, 1, 3).reshape(L, N, E), b["out_proj_weight"], b.get("out_proj_bias"))
        weights = None
        if b.get("need_weights", True):
            scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
            w = torch.softmax(scores if mask is None else scores + mask, dim=-1)  # (N, H, L, S)
            weights = w.mean(dim=1) if b.get("average_attn_weights", True) else w
        return out, weights

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None,
               scale: float) -> torch.Tensor:
        """Softmax attention ``(..., L, d_v)``; in the alice/bob roles, the split of row :attr:`row`."""
        self.calls += 1
        self.shapes.append((tuple(q.shape), tuple(k.shape), tuple(v.shape)))
        scores = (q @ k.transpose(-2, -1)) * scale  # (..., L, S)
        if mask is not None:
            scores = scores + mask
        out = torch.softmax(scores, dim=-1) @ v  # (..., L, d_v)
        if self.role == "count":
            return out
        if self.calls > 1:
            raise ReductionNotApplicable.attention_layers("the forward computes attention more than once")
        if self.role == "probe":
            self.leaf = out.detach().requires_grad_(True)
            return self.leaf
        s = scores[..., self.row, :]  # (..., S)
        mine = self.alice_keys if self.role == "alice" else ~self.alice_keys
        a, logz = _partial(s[..., mine], v[..., mine, :])
        if self.role == "alice":  # a mask may exclude all of Alice's keys: a finite stand-in for log 0 (exp gives 0)
            logz = torch.where(torch.isneginf(logz), torch.full_like(logz, EMPTY_LOG_MASS), logz)
            self.sent = (a.reshape(self.batch, -1, a.shape[-1]), logz.reshape(self.batch, -1))
            raise _Stop
        a_alice, logz_alice = (t.reshape(shape) for t, shape in zip(self.message, (a.shape, logz.shape)))
        total = torch.logaddexp(logz_alice, logz)
        w_a = torch.exp(logz_alice - total).nan_to_num(0.0)[..., None]
        w_b = torch.exp(logz - total).nan_to_num(0.0)[..., None]
        out = out.clone()
        out[..., self.row, :] = w_a * a_alice + w_b * a
        return out


def _partial(s: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(Σ_j softmax(s)_j v_j, logsumexp(s))`` over the given positions; ``(0, -inf)`` when none takes part."""
    logz = torch.logsumexp(s, dim=-1)  # (...)
    w = torch.exp(s - logz[..., None]).nan_to_num(0.0)
    return (w[..., None] * v).sum(dim=-2), logz


def count_attention(model: nn.Module, tokens: torch.Tensor) -> int:
    """How many attention computations one forward of ``model`` on ``tokens`` runs (0 if the forward fails)."""
    mode = AttentionInterceptor("count")
    try:
        with torch.no_grad(), mode:
            model(tokens)
    except ReductionNotApplicable:
        raise
    except Exception:  # noqa: BLE001 - a forward that fails here fails again, with its reason, later
        return 0
    return mode.calls


class InterceptedAttentionAdapter(Adapter):
    """The user's one-layer attention model, run as written, its one softmax split by :class:`AttentionInterceptor`.

    Raises
    ------
    ReductionNotApplicable
        Two or more attention computations in one forward (Lemma T covers one layer).
    UnsupportedArchitecture
        No attention computation at all, or a forward that fails on token ids.

    References
    ----------
    theory §4, Lemma T; [BHBK]; [SHT].
    """

    kind = "attention"

    def __init__(self, model: nn.Module, *, vocab_size: int | None = None) -> None:
        super().__init__(model)
        p = next(model.parameters(), None)
        probe = torch.zeros(1, 4, dtype=torch.long, device=p.device if p is not None else "cpu")
        self.vocab_size = int(vocab_size) if vocab_size else token_vocabulary(model, probe)
        self.max_len = None
        calls = count_attention(model, probe)
        name = type(model).__name__
        if calls >= 2:
            raise ReductionNotApplicable.attention_layers(f"{name} computes attention {calls} times per forward")
        if calls == 0:
            raise UnsupportedArchitecture(
                f"{name}: no attention computation (nn.MultiheadAttention, nn.TransformerEncoderLayer or "
                f"F.scaled_dot_product_attention) runs in its forward on token ids; {REGISTER_HINT}")
        self.description = (f"{name}: its own forward, with the softmax of its one attention layer split at the "
                            "readout's query row into Alice's and Bob's partial sums")

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """The model's own forward (no interception): logits ``(B, C)``."""
        return logits_of(self.model(tokens))

    def run(self, tokens: torch.Tensor, mode: AttentionInterceptor) -> torch.Tensor | None:
        """The forward under ``mode``: logits, or None when Alice's role stopped it after her partial sums."""
        try:
            with mode:
                return logits_of(self.model(tokens))
        except _Stop:
            return None
        except (ReductionNotApplicable, UnsupportedArchitecture):
            raise
        except Exception as exc:  # the user's forward may reject what we feed it
            raise forward_failed(self.model, tokens, exc, " under the attention interception") from exc

    def read_rows(self, tokens: torch.Tensor, seed: int = 0) -> tuple[list[int], tuple[int, ...], tuple[int, ...]]:
        """The query rows of the attention output the logits depend on (a gradient probe), and q's, k's shapes."""
        mode = AttentionInterceptor("probe")
        with torch.enable_grad():
            logits = self.run(tokens, mode)
            if mode.leaf is None or logits is None:
                raise UnsupportedArchitecture(f"{type(self.model).__name__}: no attention computation ran")
            w = torch.randn(logits.shape, generator=torch.Generator().manual_seed(seed)).to(logits)
            if not logits.requires_grad:
                return [], mode.shapes[0][0], mode.shapes[0][1]
            (g,) = torch.autograd.grad((logits * w).sum(), mode.leaf, allow_unused=True)
        if g is None:
            return [], mode.shapes[0][0], mode.shapes[0][1]
        rows = g.abs().transpose(-2, 0).reshape(g.shape[-2], -1).sum(dim=1)  # (L,)
        return [int(i) for i in torch.nonzero(rows).flatten()], mode.shapes[0][0], mode.shapes[0][1]

    def reconstruct(self, tokens: torch.Tensor) -> torch.Tensor:
        """The forward with the attention computed by the interceptor (no split): must equal :meth:`forward`."""
        return self.run(tokens, AttentionInterceptor("count"))
