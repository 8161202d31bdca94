"""Validation of token batches shared by the reference models (model-facing: imports torch)."""

from __future__ import annotations

import torch
from torch._subclasses.fake_tensor import is_fake

from ccbounds.errors import InvalidInputError

__all__ = ["check_tokens"]


def check_tokens(tokens: torch.Tensor, vocab_size: int, max_len: int | None = None) -> None:
    """Raise :class:`InvalidInputError` unless ``tokens`` is a (B, T) integer tensor of ids < vocab_size.

    Examples
    --------
    >>> check_tokens(torch.tensor([[0, 1, 2]]), vocab_size=3)
    >>> check_tokens(torch.tensor([[0, 3]]), vocab_size=3)
    Traceback (most recent call last):
    ...
    ccbounds.errors.InvalidInputError: token ids must lie in 0..2, got ids in 0..3; map your symbols to the model's vocabulary
    """  # noqa: E501 (doctest output)
    if not isinstance(tokens, torch.Tensor) or tokens.dim() != 2 or tokens.dtype.is_floating_point:
        shape = tuple(tokens.shape) if isinstance(tokens, torch.Tensor) else type(tokens).__name__
        raise InvalidInputError(f"tokens must be a (batch, length) LongTensor, got {shape}; use "
                                f"torch.tensor(ids)[None]")
    if tokens.shape[1] == 0:
        raise InvalidInputError("tokens must have length >= 1; the model reads its answer at the last position")
    if max_len is not None and tokens.shape[1] > max_len:
        raise InvalidInputError(
            f"sequence length {tokens.shape[1]} exceeds max_len={max_len}; build the model with a larger max_len"
        )
    if tokens.numel() and not _tracing(tokens):  # a traced program (theory §4.3) checks nothing about values
        lo, hi = int(tokens.min()), int(tokens.max())
        if lo < 0 or hi >= vocab_size:
            raise InvalidInputError(
                f"token ids must lie in 0..{vocab_size - 1}, got ids in {lo}..{hi}; map your symbols to the model's "
                f"vocabulary"
            )


def _tracing(tokens: torch.Tensor) -> bool:
    """True while the compiled reduction traces the model on fake tensors (they have no values to check), or logs
    the ops of one run for another batch size (a dispatch mode marked ``ccbounds_tracing``: that run must take
    the path of the trace)."""
    from torch.utils._python_dispatch import _get_current_dispatch_mode

    return bool(is_fake(tokens)) or bool(getattr(_get_current_dispatch_mode(), "ccbounds_tracing", False))
