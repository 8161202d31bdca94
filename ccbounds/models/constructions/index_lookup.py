"""A one-layer, one-head Transformer of width O(log n) that solves index lookup (theory §7, [BHBK]).

Layout (theory §5): data symbols x_0..x_{n−1} ∈ {0..q−1} at positions 0..n−1, then the index token q+i
at position n; the answer x_i is read at position n.

Examples
--------
>>> import torch
>>> m = index_lookup_transformer(5, q=2)
>>> x, i = [1, 0, 0, 1, 1], 3
>>> int(m(torch.tensor([x + [2 + i]])).argmax())
1
>>> m.config.d_model == 2 + 2 * m.construction.params["k"]
True
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ccbounds.codes import nearly_orthogonal_codes
from ccbounds.errors import InvalidInputError
from ccbounds.models.config import TransformerConfig
from ccbounds.models.constructions._common import ConstructionInfo, check_eps, check_n, zero_model

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ccbounds.models.transformer import TransformerClassifier

__all__ = ["index_lookup_transformer", "index_lookup_lambda"]


def index_lookup_lambda(n: int, eps: float, gamma: float) -> float:
    """The attention scale ``λ = ln(n·(1−ε)/ε) / (1−γ)`` that puts softmax mass ≥ 1−ε on the target.

    n competitors: the n−1 other data positions and the query position itself (theory §7 writes n−1
    for a layout whose query position does not take part).

    Examples
    --------
    >>> round(index_lookup_lambda(9, 0.1, 0.5), 4)  # 2 ln 81
    8.7889
    """
    return math.log(n * (1.0 - eps) / eps) / (1.0 - gamma)


def index_lookup_transformer(
    n: int,
    q: int = 2,
    eps: float = 0.1,
    gamma: float = 0.5,
    delta: float = 0.1,
    k: int | None = None,
    seed: int = 0,
    max_tries: int = 50,
) -> TransformerClassifier:
    """A :class:`TransformerClassifier` (1 layer, 1 head, post-norm, learned positions) for INDEX_n.

    Construction (d_model = q + 2k, blocks S | Q | P of sizes q, k, k). Draw n+1 nearly orthogonal
    codes u_0..u_n ∈ R^k (:func:`~ccbounds.codes.nearly_orthogonal_codes`, realised coherence
    γ_r ≤ γ) and set λ = ln(n(1−ε)/ε)/(1−γ_r).

    - embed(s) = [e_s, 0, 0] for a data symbol s < q; embed(q+i) = [0, u_i, 0]; pos(j) = [0, 0, u_j].
    - W_q maps the Q block to the P coordinates times λ·√d (cancelling the 1/√d of the softmax),
      W_k copies the P block, W_v copies the S block, out_proj is the identity on S; all biases,
      the FFN and the head bias are 0; LayerNorms are the plain (weight 1, bias 0) maps; the head
      reads the S block: head.weight = [I_q 0 0].

    Proof of correctness on every input. At the query position the input is [0, u_i, u_n], so the
    score of position j is λ<u_i, u_j>: λ for j = i and ≤ λγ_r for the other n positions (the n−1
    other data positions and the query position). Hence the softmax mass on j = i is
    p_i ≥ e^λ/(e^λ + n·e^{λγ_r}) ≥ 1−ε by the choice of λ. Values are [e_{s_j}, 0, 0] (0 at the query
    position), so the attention output is a = [Σ_{j<n} p_j e_{x_j}, 0, 0]: coordinate x_i is ≥ 1−ε
    and every other coordinate is ≤ ε < 1/2 < 1−ε. After the residual, z = [a_S, u_i, u_n]; LayerNorm
    maps z to (z − μ)/σ with σ > 0, the FFN adds 0 and the second LayerNorm rescales by a positive
    factor, so the logits are κ·(a_c − μ) with κ > 0 and argmax = x_i. ∎

    Width: d_model = q + 2·code_dimension(n+1, γ, δ) = q + 2·⌈(2/γ²)·ln(2(n+1)²/δ)⌉ = O(log n)
    (with the defaults γ = 1/2, δ = 0.1: q + 2·⌈8·ln(20(n+1)²)⌉; 272 for n = 1024, q = 2). Scores
    are at most λ in magnitude, so float32 is ample; a fixed-point version needs the logit gap
    (1−2ε)/σ resolved, i.e. O(log n) bits.

    Parameters
    ----------
    n : int
        Number of data positions.
    q : int
        Alphabet size (q ≥ 2).
    eps : float
        Softmax mass allowed off the target, in (0, 1/2).
    gamma, delta, k, seed, max_tries
        Passed to :func:`~ccbounds.codes.nearly_orthogonal_codes` for the n+1 codes.

    Returns
    -------
    TransformerClassifier
        In eval mode, with ``model.construction`` (a ConstructionInfo: λ, k, γ_r, seed used).

    Raises
    ------
    InvalidInputError
        For n < 1, q < 2 or eps outside (0, 1/2).
    SolverLimitError
        If no code met γ within ``max_tries``.

    References
    ----------
    theory §5 (layout), §7 (one-layer index lookup); [BHBK] (one-layer Transformers of width
    O(log N) perform index lookup).

    Examples
    --------
    >>> m = index_lookup_transformer(3, q=3, seed=1)
    >>> m.config.vocab_size, m.config.num_classes, m.config.max_len
    (6, 3, 4)
    """
    import torch

    from ccbounds.models.transformer import TransformerClassifier

    check_n(n)
    if isinstance(q, bool) or not isinstance(q, int) or q < 2:
        raise InvalidInputError(f"q must be an integer >= 2, got {q!r}")
    check_eps(eps)
    code = nearly_orthogonal_codes(n + 1, k=k, gamma=gamma, delta=delta, seed=seed, max_tries=max_tries)
    k, U = code.k, torch.tensor(code.codes, dtype=torch.float32)  # (n+1, k)
    lam = index_lookup_lambda(n, eps, code.gamma_realised)
    d = q + 2 * k
    S, Qb, Pb = slice(0, q), slice(q, q + k), slice(q + k, q + 2 * k)
    cfg = TransformerConfig(
        vocab_size=q + n, num_classes=q, max_len=n + 1, d_model=d, heads=1, layers=1, d_ff=1,
        norm_first=False, positions="learned", final_norm=False,
    )
    model = TransformerClassifier(cfg)
    zero_model(model)
    layer = model.layers[0]
    with torch.no_grad():
        E = model.embed.weight  # (q+n, d)
        E[:q, S] = torch.eye(q)
        E[q:, Qb] = U[:n]
        model.pos.weight[:, Pb] = U  # (n+1, k)
        Wq, Wk, Wv = layer.self_attn.in_proj_weight.view(3, d, d).unbind(0)
        Wq[Pb, Qb] = lam * math.sqrt(d) * torch.eye(k)
        Wk[Pb, Pb] = torch.eye(k)
        Wv[S, S] = torch.eye(q)
        layer.self_attn.out_proj.weight[S, S] = torch.eye(q)
        model.head.weight[:, S] = torch.eye(q)
    model.construction = ConstructionInfo(
        "index_lookup", d,
        {"n": n, "q": q, "eps": eps, "lambda": lam, "k": k, "gamma": gamma,
         "gamma_realised": code.gamma_realised, "seed_used": code.seed_used},
        "[BHBK] one-layer index lookup; theory §7",
    )
    return model.eval()
