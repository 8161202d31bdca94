"""The record of one reading of a model as a protocol (:class:`Reduction`): its name, lemma, test and builder.

A leaf: the built-in reductions (:mod:`reductions.recurrent`, :mod:`reductions.attention`,
:mod:`reductions.intercept`, :mod:`reductions.hf_cache`) define their records with it, and
:mod:`reductions.registry` (which re-exports it) lists them, so no reduction imports the registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Reduction"]


@dataclass(frozen=True)
class Reduction:
    """A way to turn (model, adapter, gadget) into an :class:`~ccbounds.reduction.InducedProtocol`.

    ``applies(adapter, gadget)`` returns True or raises ReductionNotApplicable with the reason;
    ``build(model, adapter, gadget, device=...)`` returns the protocol.
    """

    name: str
    applies: Callable[[Any, Any], bool]
    build: Callable[..., Any]
    lemma: str = ""
    source: str = ""
    inequality: str = ""
    description: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "lemma": self.lemma, "inequality": self.inequality, "source": self.source,
                "description": self.description}
