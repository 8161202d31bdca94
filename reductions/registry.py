"""The registry of reductions: which one-way protocol a model (through its adapter) induces.

Built-in: :mod:`reductions.recurrent` (Lemma R) and :mod:`reductions.attention` (Lemma T). A user adds
a reduction for a new architecture without editing ccbounds::

    from reductions.registry import Reduction, register_reduction
    register_reduction(Reduction(name="my-ssm", applies=lambda adapter, gadget: ..., build=...,
                                 lemma="Lemma R", source="theory §4"))

(usually together with an adapter registered by :func:`ccbounds.adapters.register_adapter`).

Examples
--------
>>> [r.name for r in list_reductions()]
['hf-cache', 'intercepted-state', 'intercepted-attention', 'recurrent-state', 'one-layer-attention']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ccbounds.errors import InvalidInputError, UnsupportedArchitecture

__all__ = ["Reduction", "register_reduction", "unregister_reduction", "find_reduction", "list_reductions"]


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


_USER: list[Reduction] = []
_BUILTIN: list[Reduction] = []


def _builtins() -> list[Reduction]:
    if not _BUILTIN:
        from reductions.attention import ATTENTION_REDUCTION
        from reductions.hf_cache import HF_CACHE_REDUCTION
        from reductions.intercept import INTERCEPTED_ATTENTION, INTERCEPTED_STATE
        from reductions.recurrent import RECURRENT_REDUCTION

        _BUILTIN.extend([HF_CACHE_REDUCTION, INTERCEPTED_STATE, INTERCEPTED_ATTENTION, RECURRENT_REDUCTION,
                         ATTENTION_REDUCTION])
    return _BUILTIN


def register_reduction(reduction: Reduction) -> Reduction:
    """Add a reduction; user reductions are tried before the built-ins (a same-named one is replaced)."""
    if not isinstance(reduction, Reduction):
        raise InvalidInputError("register_reduction takes a reductions.registry.Reduction record")
    unregister_reduction(reduction.name, missing_ok=True)
    _USER.insert(0, reduction)
    return reduction


def unregister_reduction(name: str, missing_ok: bool = False) -> None:
    """Remove a user-registered reduction by name."""
    for r in list(_USER):
        if r.name == name:
            _USER.remove(r)
            return
    if not missing_ok:
        raise InvalidInputError(f"no user-registered reduction named {name!r}")


def list_reductions() -> list[Reduction]:
    """User reductions first, then the built-ins."""
    return [*_USER, *_builtins()]


def find_reduction(adapter: Any, gadget: Any) -> Reduction:
    """The first reduction that applies to ``adapter`` and ``gadget`` (refusals propagate)."""
    for r in list_reductions():
        if r.applies(adapter, gadget):
            return r
    names = ", ".join(r.name for r in list_reductions())
    raise UnsupportedArchitecture(
        f"no reduction applies to a {getattr(adapter, 'kind', '?')} adapter ({names} were tried); "
        "register one with reductions.registry.register_reduction")
