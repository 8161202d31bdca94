"""Splitting one softmax attention between the players of Lemma T (theory §4).

A head attends with ``a = Σ_j e^{<q,k_j>} v_j / Σ_j e^{<q,k_j>}``. If the positions split into sets
owned by Alice and Bob, each computes a partial numerator and denominator over their own positions
(:func:`partial_sums`); the partial sums merge exactly (:func:`merge_partial_sums`, :func:`combine`).

Max-shift convention
--------------------
``partial_sums(q, k, v)`` over a set P of positions returns, per example and head,
``num = Σ_{j∈P} exp(<q,k_j> − m) v_j``, ``den = Σ_{j∈P} exp(<q,k_j> − m)`` and the shift ``m``.
By default ``m = max_{j∈P} <q,k_j>`` (so ``1 <= den <= |P|``); for an empty P, ``num = 0``,
``den = 0`` and ``m = −inf``. A caller may instead pass a fixed shift (e.g. a public constant,
then it need not be sent). With the max-shift, Alice's message per head is ``d_v + 2`` scalars
(num, den, shift); with a public shift it is ``d_v + 1`` (theory §4, Lemma T).
:func:`merge_partial_sums` rescales every part to the largest shift, so merging is exact
(log-sum-exp style) whatever shifts the parts used.

References
----------
.. [BHBK] S. Bhattamishra, M. Hahn, P. Blunsom, V. Kanade, "Separations in the Representational
   Capabilities of Transformers and Recurrent Architectures", NeurIPS 2024 (arXiv 2406.09347).
.. [SHT] C. Sanford, D. Hsu, M. Telgarsky, "Representational Strengths and Limitations of
   Transformers", NeurIPS 2023.

Examples
--------
>>> import torch
>>> q = torch.tensor([[[1.0]]]); k = torch.tensor([[[[0.0], [0.0]]]])
>>> v = torch.tensor([[[[2.0], [4.0]]]])
>>> attend(q, k, v).tolist()
[[[3.0]]]
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from ccbounds.errors import InvalidInputError

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

__all__ = ["PartialSums", "attend", "partial_sums", "merge_partial_sums", "combine"]


class PartialSums(NamedTuple):
    """A softmax partial sum over a set of positions (see the module's max-shift convention)."""

    num: Any  # (B, H, d_v): Σ_j exp(<q,k_j> - shift) v_j
    den: Any  # (B, H): Σ_j exp(<q,k_j> - shift)
    shift: Any  # (B, H)


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Softmax attention of one query per head over positions: ``Σ_j softmax_j(<q,k_j>) v_j``.

    Parameters
    ----------
    q : Tensor (B, H, d_k)
        Queries, already scaled.
    k : Tensor (B, H, t, d_k)
    v : Tensor (B, H, t, d_v)

    Returns
    -------
    Tensor (B, H, d_v)

    Examples
    --------
    >>> import torch
    >>> q = torch.zeros(1, 1, 2); k = torch.zeros(1, 1, 4, 2); v = torch.arange(4.0).reshape(1, 1, 4, 1)
    >>> attend(q, k, v).tolist()
    [[[1.5]]]
    """
    import torch

    scores = torch.einsum("bhd,bhtd->bht", q, k)  # (B, H, t)
    return torch.einsum("bht,bhtd->bhd", torch.softmax(scores, dim=-1), v)


def partial_sums(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, shift: torch.Tensor | float | None = None
) -> PartialSums:
    """Alice's (or Bob's) share of the softmax in Lemma T: shifted numerator and denominator.

    Parameters
    ----------
    q : Tensor (B, H, d_k)
    k : Tensor (B, H, t, d_k)
        Keys of this party's positions only (``t`` may be 0).
    v : Tensor (B, H, t, d_v)
    shift : Tensor (B, H) or float, optional
        Subtracted from every score before ``exp``. Default: the max score over these positions
        (``-inf`` when ``t == 0``). A given shift must be finite.

    Returns
    -------
    PartialSums
        ``(num (B,H,d_v), den (B,H), shift (B,H))``.

    Raises
    ------
    InvalidInputError
        If a given shift is not finite.

    References
    ----------
    theory §4, Lemma T; [BHBK], [SHT].

    Examples
    --------
    >>> import torch
    >>> q = torch.ones(1, 1, 1); k = torch.tensor([[[[0.0], [2.0]]]]); v = torch.ones(1, 1, 2, 1)
    >>> p = partial_sums(q, k, v)
    >>> p.shift.tolist(), round(p.den.item(), 4)
    ([[2.0]], 1.1353)
    """
    import torch

    scores = torch.einsum("bhd,bhtd->bht", q, k)  # (B, H, t)
    if shift is None:
        if scores.shape[-1] == 0:
            m = torch.full(scores.shape[:2], -math.inf, dtype=scores.dtype, device=scores.device)
            zeros = torch.zeros(*scores.shape[:2], v.shape[-1], dtype=v.dtype, device=v.device)
            return PartialSums(zeros, torch.zeros_like(m), m)
        m = scores.max(dim=-1).values  # (B, H)
    else:
        m = torch.as_tensor(shift, dtype=scores.dtype, device=scores.device)
        m = m.expand(scores.shape[:2]) if m.dim() == 0 else m
        if not bool(torch.isfinite(m).all()):
            raise InvalidInputError("a given shift must be finite; pass shift=None to use the max score")
    w = torch.exp(scores - m.unsqueeze(-1))  # (B, H, t)
    return PartialSums(torch.einsum("bht,bhtd->bhd", w, v), w.sum(dim=-1), m)


def merge_partial_sums(parts: Iterable[PartialSums | tuple]) -> PartialSums:
    """Merge partial sums over disjoint position sets exactly, rescaling to the largest shift.

    ``num = Σ_i exp(shift_i − M) num_i``, ``den = Σ_i exp(shift_i − M) den_i`` with
    ``M = max_i shift_i`` (parts with shift ``-inf`` are empty and contribute 0).

    Raises
    ------
    InvalidInputError
        If ``parts`` is empty.

    Examples
    --------
    >>> import torch
    >>> a = PartialSums(torch.tensor([[[1.0]]]), torch.tensor([[1.0]]), torch.tensor([[0.0]]))
    >>> merge_partial_sums([a, a]).den.tolist()
    [[2.0]]
    """
    import torch

    parts = [PartialSums(*p) for p in parts]
    if not parts:
        raise InvalidInputError("merge_partial_sums needs at least one part; pass a list of partial_sums(...)")
    shifts = torch.stack([p.shift for p in parts])  # (P, B, H)
    m = shifts.max(dim=0).values  # (B, H)
    safe_m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    w = torch.where(torch.isfinite(shifts), torch.exp(shifts - safe_m), torch.zeros_like(shifts))  # (P, B, H)
    num = sum(wi.unsqueeze(-1) * p.num for wi, p in zip(w, parts))
    den = sum(wi * p.den for wi, p in zip(w, parts))
    return PartialSums(num, den, m)


def combine(parts: Iterable[PartialSums | tuple]) -> torch.Tensor:
    """The attended vectors ``(B, H, d_v)`` from partial sums over a partition of the positions.

    Raises
    ------
    InvalidInputError
        If every part is empty (no position at all to attend to).

    Examples
    --------
    >>> import torch
    >>> q = torch.zeros(1, 1, 1); k = torch.zeros(1, 1, 3, 1); v = torch.tensor([[[[0.0], [3.0], [6.0]]]])
    >>> combine([partial_sums(q, k[:, :, :1], v[:, :, :1]), partial_sums(q, k[:, :, 1:], v[:, :, 1:])]).tolist()
    [[[3.0]]]
    """
    merged = merge_partial_sums(parts)
    if not bool((merged.den > 0).all()):
        raise InvalidInputError("combine needs at least one position in some part; every part was empty")
    return merged.num / merged.den.unsqueeze(-1)
