"""The reference Transformer classifier (encoder blocks, no mask) and a fast last-position evaluator.

The module layout (``embed``, ``pos`` or ``pos_table``, ``layers``, ``final_norm``, ``head``) is the
contract the attention adapter reads. For ``layers == 1`` the output at the last position T is the
function of theory §4 Lemma T: the query depends only on (s_T, T) and each key/value only on (s_j, j).
:func:`last_position_logits` uses exactly that to evaluate the last position in O(T·d) per sequence
(instead of the O(T²·d + T·d²) of a full forward pass), which is how long inputs are checked.

Examples
--------
>>> import torch
>>> from ccbounds.models.config import TransformerConfig
>>> _ = torch.manual_seed(0)
>>> m = TransformerClassifier(TransformerConfig(vocab_size=6, num_classes=2, max_len=9, d_model=8, heads=2))
>>> t = torch.randint(0, 6, (3, 9))
>>> m(t).shape
torch.Size([3, 2])
>>> torch.allclose(last_position_logits(m, t), m(t), atol=1e-5)
True
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ccbounds.errors import InvalidInputError
from ccbounds.models._tokens import check_tokens
from ccbounds.models.config import TransformerConfig

__all__ = ["TransformerClassifier", "sinusoidal_table", "last_position_logits"]


def sinusoidal_table(max_len: int, d_model: int) -> torch.Tensor:
    """The fixed position table of Vaswani et al. (2017), shape ``(max_len, d_model)``.

    ``P[t, 2i] = sin(t / 10000^(2i/d))`` and ``P[t, 2i+1] = cos(t / 10000^(2i/d))``.

    Examples
    --------
    >>> [round(v, 3) for v in sinusoidal_table(3, 4)[1].tolist()]  # sin 1, cos 1, sin 0.01, cos 0.01
    [0.841, 0.54, 0.01, 1.0]
    """
    t = torch.arange(max_len, dtype=torch.float64)[:, None]  # (L, 1)
    freq = torch.pow(10000.0, -torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)  # (ceil(d/2),)
    table = torch.zeros(max_len, d_model, dtype=torch.float64)
    table[:, 0::2] = torch.sin(t * freq)
    table[:, 1::2] = torch.cos(t * freq[: d_model // 2])
    return table.float()


class TransformerClassifier(nn.Module):
    """``head(final_norm(layers(embed(tokens) + positions)[:, -1]))`` for a :class:`TransformerConfig`.

    Parameters
    ----------
    config : TransformerConfig
        The architecture; kept as ``self.config``.

    Attributes
    ----------
    embed : nn.Embedding
        ``(vocab_size, d_model)``.
    pos : nn.Embedding
        ``(max_len, d_model)`` learned positions (``positions="learned"`` only).
    pos_table : torch.Tensor
        Persistent buffer ``(max_len, d_model)``, the sin/cos table (``positions="sinusoidal"`` only).
    layers : nn.ModuleList
        ``nn.TransformerEncoderLayer(d_model, heads, d_ff, dropout=0.0, activation="relu",
        batch_first=True, norm_first=norm_first)``, no attention mask.
    final_norm : nn.LayerNorm or nn.Identity
    head : nn.Linear
        ``(d_model, num_classes)``, applied at the last position.

    Raises
    ------
    InvalidInputError
        If ``config`` is not a :class:`TransformerConfig`, or (in ``forward``) tokens are not a
        (batch, length <= max_len) tensor of ids in the vocabulary.

    References
    ----------
    theory §4, Lemma T; A. Vaswani et al., Attention is all you need, NeurIPS 2017.

    Examples
    --------
    >>> from ccbounds.models.config import TransformerConfig
    >>> m = TransformerClassifier(TransformerConfig(5, 3, max_len=4, d_model=6, heads=3, positions="sinusoidal"))
    >>> m.config.arch, tuple(m.pos_table.shape), "pos_table" in m.state_dict()
    ('tf1', (4, 6), True)
    """

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        if not isinstance(config, TransformerConfig):
            raise InvalidInputError(
                f"TransformerClassifier needs a TransformerConfig, got {type(config).__name__}; use build_model(config)"
            )
        self.config = c = config
        self.embed = nn.Embedding(c.vocab_size, c.d_model)
        if c.positions == "learned":
            self.pos = nn.Embedding(c.max_len, c.d_model)
        else:
            self.register_buffer("pos_table", sinusoidal_table(c.max_len, c.d_model), persistent=True)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(
                c.d_model, c.heads, c.d_ff, dropout=0.0, activation="relu", batch_first=True,
                norm_first=c.norm_first,
            )
            for _ in range(c.layers)
        )
        self.final_norm = nn.LayerNorm(c.d_model) if c.final_norm else nn.Identity()
        self.head = nn.Linear(c.d_model, c.num_classes)

    def position_table(self) -> torch.Tensor:
        """The ``(max_len, d_model)`` table added to the embeddings (learned or sinusoidal)."""
        return self.pos.weight if self.config.positions == "learned" else self.pos_table

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, num_classes)`` read at the last position of ``tokens`` ``(B, T)``."""
        check_tokens(tokens, self.config.vocab_size, self.config.max_len)
        T = tokens.shape[1]
        h = self.embed(tokens) + self.position_table()[:T]  # (B, T, d)
        for layer in self.layers:
            h = layer(h)  # (B, T, d)
        return self.head(self.final_norm(h[:, -1]))  # (B, num_classes)

    def extra_repr(self) -> str:
        return f"arch={self.config.arch!r}"


def _attend(layer: nn.TransformerEncoderLayer, x_q: torch.Tensor, scores_and_mean) -> torch.Tensor:
    """Self-attention output at one query row: x_q (B, d) -> (B, d), keys/values given by a callback.

    ``scores_and_mean(qk)`` gets ``qk`` (B, H, d), the query pushed through W_k (so a score is
    ``qk · X_j``), and returns ``(S, mean)`` where ``S`` (B, H, T) are the scores and ``mean(p)``
    maps the softmax weights p (B, H, T) to ``sum_j p_j X_j`` (B, H, d).
    """
    mha = layer.self_attn
    d, H = mha.embed_dim, mha.num_heads
    dh = d // H
    Wq, Wk, Wv = mha.in_proj_weight.split(d)  # (d, d) each
    bq, bk, bv = mha.in_proj_bias.split(d) if mha.in_proj_bias is not None else (torch.zeros(d),) * 3
    q = ((x_q @ Wq.T + bq) / math.sqrt(dh)).view(-1, H, dh)  # (B, H, dh)
    qk = torch.einsum("bhe,hed->bhd", q, Wk.view(H, dh, d))  # (B, H, d)
    S, mean = scores_and_mean(qk)  # (B, H, T)
    S = S + torch.einsum("bhe,he->bh", q, bk.view(H, dh))[..., None]
    p = torch.softmax(S, dim=-1)  # (B, H, T)
    o = torch.einsum("bhd,hed->bhe", mean(p), Wv.view(H, dh, d)) + bv.view(H, dh)  # (B, H, dh)
    return mha.out_proj(o.reshape(-1, d))  # (B, d)


def _ff(layer: nn.TransformerEncoderLayer, x: torch.Tensor) -> torch.Tensor:
    return layer.linear2(layer.activation(layer.linear1(x)))


def _finish(layer: nn.TransformerEncoderLayer, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """The rest of a block after attention: residual input x, attention output a (after out_proj)."""
    if layer.norm_first:
        x = x + a
        return x + _ff(layer, layer.norm2(x))
    x = layer.norm1(x + a)
    return layer.norm2(x + _ff(layer, x))


def _first_layer_tabulated(model: TransformerClassifier, tokens: torch.Tensor) -> torch.Tensor:
    """Block 1 at every position, with q, k and out_proj(v) looked up from (vocab, position) tables.

    The input of block 1 at position j depends only on (s_j, j), so its projections are computed
    once for all V·T pairs instead of once per sequence; out_proj is folded into the values.
    """
    B, T = tokens.shape
    layer = model.layers[0]
    mha = layer.self_attn
    d, H = mha.embed_dim, mha.num_heads
    dh = d // H
    h0 = model.embed.weight[:, None, :] + model.position_table()[None, :T]  # (V, T, d)
    X = layer.norm1(h0) if layer.norm_first else h0
    q, k, v = nn.functional.linear(X, mha.in_proj_weight, mha.in_proj_bias).split(d, dim=-1)  # (V, T, d)
    Wo = mha.out_proj.weight.view(d, H, dh)  # (d_out, H, dh)
    vo = torch.einsum("vthe,dhe->vthd", v.reshape(*v.shape[:2], H, dh), Wo)  # (V, T, H, d)
    flat = tokens * T + torch.arange(T)  # (B, T): row of the (V*T)-row tables

    def look(table: torch.Tensor) -> torch.Tensor:
        return nn.functional.embedding(flat, table.reshape(-1, table[0, 0].numel()))  # (B, T, ...)

    Q = look(q / math.sqrt(dh)).view(B, T, H, dh)
    K = look(k).view(B, T, H, dh)
    p = torch.softmax(torch.einsum("bthe,bshe->bhts", Q, K), dim=-1)  # (B, H, T, T)
    a = torch.einsum("bhts,bshd->btd", p, look(vo).view(B, T, H, d))  # (B, T, d)
    if mha.out_proj.bias is not None:
        a = a + mha.out_proj.bias
    return _finish(layer, look(h0), a)  # (B, T, d)


def _last_chunk(model: TransformerClassifier, tokens: torch.Tensor) -> torch.Tensor:
    T = tokens.shape[1]
    P = model.position_table()[:T]  # (T, d)
    last = model.layers[-1]
    if len(model.layers) == 1 and not last.norm_first:
        # attention input X_j = E[s_j] + P[j]: scores and means split into a token part and a position part
        E = model.embed.weight  # (V, d)
        H = last.self_attn.num_heads
        idx = tokens[:, None, :].expand(-1, H, -1)  # (B, H, T)

        def scores_and_mean(qk):
            S = torch.einsum("bhd,vd->bhv", qk, E).gather(2, idx) + torch.einsum("bhd,td->bht", qk, P)

            def mean(p):
                bucket = torch.zeros(p.shape[0], H, E.shape[0], dtype=p.dtype).scatter_add_(2, idx, p)
                return bucket @ E + p @ P  # (B, H, d)

            return S, mean

        x_T = E[tokens[:, -1]] + P[-1]  # (B, d)
        a = _attend(last, x_T, scores_and_mean)
    else:
        h = _first_layer_tabulated(model, tokens) if len(model.layers) > 1 else model.embed(tokens) + P
        for layer in model.layers[1:-1]:
            h = layer(h)  # (B, T, d)
        X = last.norm1(h) if last.norm_first else h  # (B, T, d)
        x_T = h[:, -1]
        a = _attend(last, X[:, -1], lambda qk: (torch.einsum("bhd,btd->bht", qk, X),
                                                lambda p: torch.einsum("bht,btd->bhd", p, X)))

    x = _finish(last, x_T, a)
    return model.head(model.final_norm(x))  # (B, num_classes)


@torch.no_grad()
def last_position_logits(model: TransformerClassifier, tokens: torch.Tensor, chunk_size: int = 512) -> torch.Tensor:
    """``model(tokens)`` computed for the last query row only, in chunks of ``chunk_size`` sequences.

    The last block is evaluated for the single query at position T: a score is ``(W_k^T q) · X_j``
    and the attention output is ``W_v (sum_j p_j X_j)``, so no key or value is ever projected. For a
    one-layer post-norm model X_j = E[s_j] + P[j] and both sums split into a vocabulary part and a
    position part (theory §4 Lemma T), so the cost is O((V + T)·d) per sequence. In deeper models the
    first block reads only (s_j, j) at position j, so its projections are tabulated once per
    (token, position) pair (cost O(T²·d) per sequence); middle blocks run in full. Equal to
    ``model(tokens)`` up to float rounding.

    Parameters
    ----------
    model : TransformerClassifier
    tokens : torch.Tensor
        ``(B, T)`` token ids.
    chunk_size : int
        Sequences evaluated at once (memory O(chunk_size · (T·d + heads·T²)) for deeper or pre-norm models).

    Returns
    -------
    torch.Tensor
        ``(B, num_classes)`` logits.

    Raises
    ------
    InvalidInputError
        For a model that is not a :class:`TransformerClassifier` or invalid tokens.

    References
    ----------
    theory §4, Lemma T.

    Examples
    --------
    >>> from ccbounds.models.config import TransformerConfig
    >>> _ = torch.manual_seed(1)
    >>> m = TransformerClassifier(TransformerConfig(7, 3, max_len=5, d_model=4, heads=1, norm_first=True))
    >>> t = torch.randint(0, 7, (2, 5))
    >>> torch.allclose(last_position_logits(m, t), m(t), atol=1e-5)
    True
    """
    if not isinstance(model, TransformerClassifier):
        raise InvalidInputError(
            f"last_position_logits needs a TransformerClassifier, got {type(model).__name__}; call model(tokens)"
        )
    check_tokens(tokens, model.config.vocab_size, model.config.max_len)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise InvalidInputError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    parts = [_last_chunk(model, tokens[i : i + chunk_size]) for i in range(0, tokens.shape[0], chunk_size)]
    return torch.cat(parts)
