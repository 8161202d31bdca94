"""Lemma T by hand on a one-layer reference Transformer: its q, k, v, and Bob finishing at T (theory §4.2).

These helpers expose, from a :class:`~ccbounds.models.TransformerClassifier`'s own weight matrices, the pieces
Lemma T splits: the query at the output position T and the keys and values at every position, per head
(:func:`first_layer_qkv`), and everything after the attention at T — residual, LayerNorms, FFN, readout
(:func:`finish_at_last_position`). With :func:`ccbounds.adapters.partial_sums` and
:func:`ccbounds.adapters.merge_partial_sums` they make Lemma T's protocol explicit; notebook 02 compares the
result with ``torch.nn.MultiheadAttention``'s own output, an implementation that shares nothing with these.

Examples
--------
>>> import torch
>>> from ccbounds.models import TransformerConfig, build_model
>>> _ = torch.manual_seed(0)
>>> m = build_model(TransformerConfig(vocab_size=4, num_classes=2, max_len=6, d_model=8, heads=2)).eval()
>>> tokens = torch.tensor([[0, 1, 2, 3, 1, 0]])
>>> parts = first_layer_qkv(m, tokens)
>>> tuple(parts.q.shape), tuple(parts.k.shape)
((1, 2, 4), (1, 2, 6, 4))
>>> w = torch.softmax(torch.einsum("bhe,bhte->bht", parts.q, parts.k), -1)
>>> avg = torch.einsum("bht,bhte->bhe", w, parts.v)
>>> bool(torch.allclose(finish_at_last_position(m, parts.h0[:, -1], avg), m(tokens), atol=1e-5))
True
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from ccbounds.errors import InvalidInputError

__all__ = ["FirstLayerQKV", "first_layer_qkv", "finish_at_last_position"]


class FirstLayerQKV(NamedTuple):
    """The first layer's inputs and its per-head query at T, keys and values (the 1/sqrt(d_k) is in q)."""

    h0: Any  # (B, T, d): token + position embedding, the residual stream entering the layer
    x: Any  # (B, T, d): what the attention reads (LayerNorm(h0) for a pre-norm block, else h0)
    q: Any  # (B, H, d_v): the query at the last position, scaled by 1/sqrt(d_v)
    k: Any  # (B, H, T, d_v)
    v: Any  # (B, H, T, d_v)


def _one_layer(model: Any) -> Any:
    layers = getattr(model, "layers", None)
    if layers is None or not hasattr(model, "position_table") or len(layers) != 1:
        raise InvalidInputError("first_layer_qkv needs a one-layer ccbounds TransformerClassifier "
                                "(build_model(TransformerConfig(..., layers=1)) or a tf1 example); for other "
                                "models use ccbounds.reduce, which traces the model's own forward")
    return layers[0]


def first_layer_qkv(model: Any, tokens: Any) -> FirstLayerQKV:
    """The query at the last position and every position's keys and values, per head, from the weights.

    Parameters
    ----------
    model : TransformerClassifier
        One attention layer (tf1). Its dtype is used (call ``.double()`` on a copy for float64).
    tokens : LongTensor (B, T)

    Returns
    -------
    FirstLayerQKV

    Raises
    ------
    InvalidInputError
        For a model that is not a one-layer :class:`~ccbounds.models.TransformerClassifier`.
    """
    import torch

    layer = _one_layer(model)
    mha = layer.self_attn
    d, H = mha.embed_dim, mha.num_heads
    dh = d // H
    T = tokens.shape[1]
    Wq, Wk, Wv = mha.in_proj_weight.detach().split(d)
    bq, bk, bv = mha.in_proj_bias.detach().split(d)
    with torch.no_grad():
        h0 = model.embed(tokens) + model.position_table()[:T]  # (B, T, d)
        x = layer.norm1(h0) if layer.norm_first else h0  # a pre-norm LayerNorm is part of q, k, v
        q = ((x[:, -1] @ Wq.T + bq) / math.sqrt(dh)).view(-1, H, dh)  # (B, H, dh)
        k = (x @ Wk.T + bk).view(-1, T, H, dh).transpose(1, 2)  # (B, H, T, dh)
        v = (x @ Wv.T + bv).view(-1, T, H, dh).transpose(1, 2)  # (B, H, T, dh)
    return FirstLayerQKV(h0, x, q, k, v)


def finish_at_last_position(model: Any, h0_last: Any, attention_average: Any) -> Any:
    """Bob's part after the attention: out_proj, residual, LayerNorms, FFN and readout at position T.

    Parameters
    ----------
    model : TransformerClassifier
        One attention layer.
    h0_last : Tensor (B, d)
        The residual stream entering the layer at T (``first_layer_qkv(...).h0[:, -1]``).
    attention_average : Tensor (B, H, d_v)
        The softmax average per head at T (e.g. merged from Alice's and Bob's partial sums).

    Returns
    -------
    Tensor (B, num_classes)
        The model's logits.
    """
    import torch

    layer = _one_layer(model)
    mha = layer.self_attn
    with torch.no_grad():
        a = mha.out_proj(attention_average.reshape(attention_average.shape[0], mha.embed_dim))  # (B, d)
        if layer.norm_first:
            z = h0_last + a
            z = z + layer.linear2(layer.activation(layer.linear1(layer.norm2(z))))
        else:
            z = layer.norm1(h0_last + a)
            z = layer.norm2(z + layer.linear2(layer.activation(layer.linear1(z))))
        return model.head(model.final_norm(z))  # (B, num_classes)
