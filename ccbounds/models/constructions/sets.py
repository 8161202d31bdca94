"""A two-layer Transformer of width O(log n) for string equality and disjointness (theory §7, [BHBK]).

Layout (theory §5): x_0..x_{n−1} SEP y_0..y_{n−1} END with bits 0/1, SEP = 2, END = 3 (length 2n+2);
the answer is read at END: class 1 = [x = y] (``"eq"``) or [x ∩ y = ∅] (``"disj"``). Two layers
are essential: theory §4 Lemma T turns any one-layer model into a one-way protocol, and EQ_n, DISJ_n
need n bits one-way, so the reductions refuse this model (``config.layers == 2``).

Examples
--------
>>> import torch
>>> m = two_layer_set_transformer(3, "disj")
>>> m(torch.tensor([[1, 0, 1, 2, 0, 1, 0, 3], [1, 0, 1, 2, 0, 0, 1, 3]])).argmax(1).tolist()
[1, 0]
>>> m.config.arch, m.config.d_model == 4 * m.construction.params["k"] + 18
('tf2', True)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ccbounds.errors import UnknownNameError
from ccbounds.models.codes import nearly_orthogonal_codes
from ccbounds.models.config import TransformerConfig
from ccbounds.models.constructions._common import ConstructionInfo, check_eps, check_n, zero_model

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ccbounds.models.transformer import TransformerClassifier

__all__ = ["two_layer_set_transformer", "set_transformer_width", "SET_PROBLEMS"]

#: problems the construction solves
SET_PROBLEMS = ("eq", "disj")

# channels of the half-stream v (the residual stream is [v, -v], so every LayerNorm sees mean 0)
_T0, _T1, _TSEP, _TEND, _ISY, _NOTY, _XC, _ZC, _AVG = range(9)
_FIXED = 9


def set_transformer_width(k: int) -> int:
    """d_model = 2·(2k + 9) for codes of dimension k.

    Examples
    --------
    >>> set_transformer_width(60)
    258
    """
    return 2 * (2 * k + _FIXED)


def two_layer_set_transformer(
    n: int,
    problem: str = "eq",
    eps: float = 0.1,
    gamma: float = 0.5,
    delta: float = 0.1,
    k: int | None = None,
    seed: int = 0,
    max_tries: int = 50,
) -> TransformerClassifier:
    """A 2-layer pre-norm :class:`TransformerClassifier` (1 head, d_ff = 4) deciding EQ_n or DISJ_n.

    Construction. The residual stream is [v, −v] with v ∈ R^m, m = 2k + 9, so every LayerNorm
    (weight 1, bias 0) sees mean 0 and acts as a positive rescaling v ↦ v/√(|v|²/m + ε_LN) of v.
    Channels of v: token one-hot t0, t1, tSEP, tEND; flags isy, noty (1 at y positions, resp.
    elsewhere; "one" = isy + noty); xc (copied x bit), zc (mismatch), avg; a key block K and a query
    block Q of k dims. With n+1 nearly orthogonal codes u_0..u_n (coherence γ_r ≤ γ): x position i
    holds K = u_i, y position i holds Q = u_i, SEP and END hold Q = u_n; every input has |v|² = 3, so
    layer 1's LayerNorm scales all positions by the same α_0, which the weights divide out.

    1. Layer 1 attention (1 head): score(y_i → x_j) = λ<u_i, u_j> with
       λ = ln((2n+1)(1−ε)/ε)/(1−γ_r); keys of non-x positions are 0. The 2n+1 competitors of the
       target x_i score ≤ λγ_r, so its softmax mass is ≥ 1−ε and the value [s_j = 1] averages to
       x̂_i ∈ [x_i − ε, x_i + ε], written to xc. Layer 1 FFN (4 ReLUs, bias via "one"): with
       s = xc + t1 − 2·noty and the exact step σ_a(s) = relu(K(s−a)+½) − relu(K(s−a)−½),
       K = 1/(½−ε), it writes z = σ_½(s) − σ_{3/2}(s) (EQ: x_i ≠ y_i) or z = σ_{3/2}(s) (DISJ:
       x_i = y_i = 1) to zc. At y positions s lies within ε of {0, 1, 2}; elsewhere s ≤ 0: every
       step input is ≥ ½ from its threshold in units of 1/K, so z ∈ {0, 1} exactly, times the
       LayerNorm factor (normalised so zc ∈ [√((3/m+ε_LN)/(4/m+ε_LN)), 1] when z = 1, 0 otherwise).
    2. Layer 2 attention: W_q = W_k = 0, so END averages uniformly: avg = (1/T)·Σ_j c_j·zc_j with
       c_j ∈ [√((3/m+ε_LN)/(5/m+ε_LN)), 1]. Hence avg = 0 if no position mismatches, and
       avg ≥ z_min·c_min/T otherwise. The head thresholds at θ = z_min·c_min/(2T) (docs/theory.md: 1/(2n)
       up to constants); layer 2's FFN is 0 and there is no final norm.

    Precision: the END value separates 0 from ≥ 0.67/T with T = 2n+2, which takes
    log2(2n) + O(1) bits (theory §7); float32 suffices far beyond n = 256.
    Width: d_model = 2(2k + 9) = 4·code_dimension(n+1, γ, δ) + 18 = O(log n).

    Parameters
    ----------
    n : int
        Length of x and y.
    problem : {"eq", "disj"}
    eps : float
        Attention mass allowed off the target x_i in layer 1, in (0, 1/2).
    gamma, delta, k, seed, max_tries
        Passed to :func:`~ccbounds.models.codes.nearly_orthogonal_codes` for the n+1 codes.

    Returns
    -------
    TransformerClassifier
        ``layers=2, norm_first=True, d_ff=4``, in eval mode, with ``model.construction``.

    Raises
    ------
    UnknownNameError
        For a problem other than "eq" or "disj".
    InvalidInputError
        For n < 1 or eps outside (0, 1/2).
    SolverLimitError
        If no code met γ within ``max_tries``.

    References
    ----------
    theory §5 (layout), §7 (two-layer EQ/DISJ); [BHBK] (two-layer Transformers of width O(log N)
    decide string equality and disjointness).

    Examples
    --------
    >>> import torch
    >>> m = two_layer_set_transformer(2, "eq")
    >>> m(torch.tensor([[0, 1, 2, 0, 1, 3], [0, 1, 2, 1, 1, 3]])).argmax(1).tolist()
    [1, 0]
    """
    import torch

    from ccbounds.models.transformer import TransformerClassifier

    check_n(n)
    if problem not in SET_PROBLEMS:
        raise UnknownNameError(f"unknown problem {problem!r} for the two-layer construction; use one of "
                               f"{list(SET_PROBLEMS)}")
    check_eps(eps)
    code = nearly_orthogonal_codes(n + 1, k=k, gamma=gamma, delta=delta, seed=seed, max_tries=max_tries)
    k, U = code.k, torch.tensor(code.codes, dtype=torch.float32)  # (n+1, k)
    g = code.gamma_realised
    lam = math.log((2 * n + 1) * (1 - eps) / eps) / (1 - g)
    K = 1.0 / (0.5 - eps)
    m = 2 * k + _FIXED
    d, T = 2 * m, 2 * n + 2
    Kb, Qb = slice(_FIXED, _FIXED + k), slice(_FIXED + k, _FIXED + 2 * k)
    cfg = TransformerConfig(
        vocab_size=4, num_classes=2, max_len=T, d_model=d, heads=1, layers=2, d_ff=4,
        norm_first=True, positions="learned", final_norm=False,
    )
    model = TransformerClassifier(cfg)
    zero_model(model)
    l1, l2 = model.layers
    ln_eps = l1.norm1.eps
    alpha0 = 1.0 / math.sqrt(3.0 / m + ln_eps)  # layer-1 LayerNorm factor: |v|^2 = 3 everywhere
    z_scale = math.sqrt(3.0 / m + ln_eps)  # makes zc <= 1
    z_min = math.sqrt((3.0 / m + ln_eps) / (4.0 / m + ln_eps))
    c_min = math.sqrt((3.0 / m + ln_eps) / (5.0 / m + ln_eps))
    theta = z_min * c_min / (2 * T)

    def mirrored(rows: torch.Tensor) -> torch.Tensor:
        return torch.cat([rows, -rows], dim=-1)

    with torch.no_grad():
        Ev = torch.zeros(4, m)
        Ev[torch.arange(4), torch.arange(4)] = 1.0
        model.embed.weight.copy_(mirrored(Ev))
        Pv = torch.zeros(T, m)
        Pv[:n, _NOTY] = 1.0
        Pv[:n, Kb] = U[:n]  # x positions: keys
        Pv[n + 1 : 2 * n + 1, _ISY] = 1.0
        Pv[n + 1 : 2 * n + 1, Qb] = U[:n]  # y positions: queries
        Pv[[n, T - 1], _NOTY] = 1.0
        Pv[[n, T - 1], Qb] = U[n]  # SEP, END
        model.pos.weight.copy_(mirrored(Pv))

        # layer 1 attention: query y_i -> key x_i; value = [token is 1] into +-xc
        Wq, Wk, Wv = l1.self_attn.in_proj_weight.view(3, d, d).unbind(0)
        Wq[Kb, Qb] = (lam * math.sqrt(d) / alpha0) * torch.eye(k)
        Wk[Kb, Kb] = torch.eye(k) / alpha0
        Wv[_XC, _T1], Wv[m + _XC, _T1] = 1.0 / alpha0, -1.0 / alpha0
        l1.self_attn.out_proj.weight.copy_(torch.eye(d))
        # layer 1 FFN: steps at 1/2 and 3/2 of s = xc + t1 - 2*noty, constants through "one" = isy + noty
        W1 = l1.linear1.weight  # (4, d)
        for r, (a, c) in enumerate([(0.5, 0.5), (0.5, -0.5), (1.5, 0.5), (1.5, -0.5)]):
            W1[r, _XC] = W1[r, _T1] = K
            W1[r, _NOTY] = -2 * K - K * a + c
            W1[r, _ISY] = -K * a + c
        out = [1.0, -1.0, -1.0, 1.0] if problem == "eq" else [0.0, 0.0, 1.0, -1.0]
        l1.linear2.weight[_ZC] = z_scale * torch.tensor(out)
        l1.linear2.weight[m + _ZC] = -z_scale * torch.tensor(out)

        # layer 2 attention: uniform average of zc into +-avg
        Wv2 = l2.self_attn.in_proj_weight.view(3, d, d)[2]
        Wv2[_AVG, _ZC], Wv2[m + _AVG, _ZC] = z_scale, -z_scale
        l2.self_attn.out_proj.weight.copy_(torch.eye(d))

        # head: logit_1 - logit_0 = 2T (theta * one - avg)
        row = torch.zeros(d)
        row[_AVG], row[_ISY], row[_NOTY] = -float(T), T * theta, T * theta
        model.head.weight[1] = row
        model.head.weight[0] = -row
    model.construction = ConstructionInfo(
        f"two_layer_{problem}", d,
        {"n": n, "problem": problem, "eps": eps, "lambda": lam, "step_slope": K, "threshold": theta,
         "k": k, "gamma": gamma, "gamma_realised": g, "seed_used": code.seed_used},
        "[BHBK] two-layer string equality / disjointness; theory §7",
    )
    return model.eval()
