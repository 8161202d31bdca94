"""What both intercepting adapters need of a user's forward: its logits, its vocabulary, the error when it fails.

A leaf shared by :mod:`~ccbounds.adapters.intercept_recurrent` (which re-exports these names) and
:mod:`~ccbounds.adapters.intercept_attention`, so neither imports the other for them.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ccbounds.adapters.base import REGISTER_HINT
from ccbounds.errors import UnsupportedArchitecture

__all__ = ["forward_failed", "logits_of", "token_vocabulary"]


def forward_failed(model: Any, tokens: torch.Tensor, exc: Exception, during: str = "") -> UnsupportedArchitecture:
    """The error for a user's forward that raised on the token ids we fed it."""
    return UnsupportedArchitecture(
        f"{type(model).__name__}.forward failed{during} on token ids of shape {tuple(tokens.shape)} "
        f"({type(exc).__name__}: {exc}); {REGISTER_HINT}")


def logits_of(out: Any) -> torch.Tensor:
    """The logits tensor of a forward's output: the tensor itself, or its ``logits`` field."""
    if isinstance(out, torch.Tensor):
        return out
    got = getattr(out, "logits", None)
    if isinstance(got, torch.Tensor):
        return got
    raise UnsupportedArchitecture(
        f"the model's forward returned {type(out).__name__}, not logits (B, C) or an object with a logits field; "
        f"{REGISTER_HINT}")


def token_vocabulary(model: nn.Module, tokens: torch.Tensor) -> int:
    """``num_embeddings`` of the ``nn.Embedding`` the model feeds its token ids to (0 if none is)."""
    seen: list[int] = []

    def hook(module: nn.Module, args: tuple) -> None:
        if args and args[0] is tokens or (args and isinstance(args[0], torch.Tensor) and args[0].shape == tokens.shape
                                          and bool(torch.equal(args[0], tokens))):
            seen.append(module.num_embeddings)

    handles = [m.register_forward_pre_hook(hook) for m in model.modules() if isinstance(m, nn.Embedding)]
    try:
        with torch.no_grad():
            model(tokens)
    except Exception:  # noqa: BLE001 - the caller's own forward reports its errors later
        return 0
    finally:
        for h in handles:
            h.remove()
    return seen[0] if seen else 0
