"""Helpers shared by the hand-set constructions (model-facing: imports torch)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    from torch import nn

from ccbounds.errors import InvalidInputError

__all__ = ["ConstructionInfo", "zero_model", "check_n", "check_eps"]


@dataclass(frozen=True)
class ConstructionInfo:
    """What a construction chose: its name, size, parameters (λ, γ, k, seeds, ...) and source.

    Attached to every constructed model as ``model.construction``.
    """

    name: str
    width: int
    params: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {"name": self.name, "width": self.width, "params": dict(self.params), "source": self.source}

    def __str__(self) -> str:
        ps = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.params.items())
        return f"{self.name} (width {self.width}; {ps})  [{self.source}]"


def zero_model(model: nn.Module) -> None:
    """Set every parameter to 0 and every LayerNorm to the identity affine map (weight 1, bias 0)."""
    import torch
    from torch import nn

    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        for m in model.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.fill_(1.0)


def check_n(n: Any) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidInputError(f"n must be a positive integer, got {n!r}; pass the input length n >= 1")


def check_eps(eps: Any, upper: float = 0.5) -> None:
    if not isinstance(eps, (int, float)) or isinstance(eps, bool) or not 0 < eps < upper or math.isnan(eps):
        raise InvalidInputError(f"eps must lie in (0, {upper:g}), got {eps!r}; a typical choice is 0.1")
