"""Finding the built-in reading of a model (the test oracles of the compiled reduction, and the Hugging Face
cache reading): refusals, then the built-in layouts. User registration (``register_adapter``) was removed:
:func:`ccbounds.reduce` compiles any traceable forward (theory §4.3).

:func:`get_adapter` tries, in order:

1. the refusals of theory §4 (:func:`check_applicable`): bidirectional RNNs, recurrent models that also
   attend back over the prefix, and two or more attention layers raise
   :class:`~ccbounds.errors.ReductionNotApplicable`;
2. the built-in adapters in :data:`ADAPTERS`.

A model matching nothing raises :class:`~ccbounds.errors.UnsupportedArchitecture` listing the
supported layouts. torch is imported only when a model is inspected.

Examples
--------
>>> [e.name for e in ADAPTERS]
['hf-cache', 'intercept-recurrent', 'intercept-attention', 'recurrent', 'transformer-1layer']
>>> check_applicable(object()) is None
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ccbounds.adapters.base import REGISTER_HINT, Adapter, removed_extension, validate_adapter
from ccbounds.errors import ReductionNotApplicable, UnsupportedArchitecture

__all__ = [
    "AdapterEntry",
    "ADAPTERS",
    "get_adapter",
    "register_adapter",
    "unregister_adapter",
    "registered_adapters",
    "check_applicable",
]


@dataclass(frozen=True)
class AdapterEntry:
    """One way to adapt models: when it applies (``predicate``) and how to build it (``factory``)."""

    name: str
    kind: str  # "recurrent" | "attention" | "user"
    description: str
    predicate: Callable[[Any], bool]
    factory: Callable[..., Adapter]
    builtin: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "description": self.description, "builtin": self.builtin}

    def __str__(self) -> str:
        return f"{self.name} ({self.kind}): {self.description}"


def _modules(model: Any) -> list[Any]:
    return list(model.modules()) if callable(getattr(model, "modules", None)) else []


def _has(model: Any, cls_name: str) -> bool:
    from torch import nn

    cls = getattr(nn, cls_name)
    return any(isinstance(m, cls) for m in _modules(model))


def _recurrent_factory(model: Any, *, validate: bool = True, seed: int = 0) -> Adapter:
    from ccbounds.adapters.recurrent import TorchRecurrentAdapter

    adapter = TorchRecurrentAdapter(model)
    if validate:
        validate_adapter(adapter, seed=seed)
    return adapter


def _hf_factory(model: Any, *, validate: bool = True, seed: int = 0) -> Adapter:
    from ccbounds.adapters.hf import HFCacheAdapter

    adapter = HFCacheAdapter(model)
    if validate:
        adapter.validate(seed=seed)
    return adapter


def _is_hf(model: Any) -> bool:
    from ccbounds.adapters.hf import is_hf_model

    return is_hf_model(model)


def _user_model(model: Any) -> bool:
    """Not one of ccbounds' reference classes (those keep their exact built-in adapters)."""
    return bool(_modules(model)) and not type(model).__module__.startswith("ccbounds.models")


def _has_state_module(model: Any) -> bool:
    from ccbounds.adapters.intercept_recurrent import state_protocol_for

    return any(state_protocol_for(m) is not None for m in _modules(model))


def _runs_attention(model: Any) -> bool:
    if _has(model, "MultiheadAttention"):
        return True
    import torch
    from torch import nn

    from ccbounds.adapters.intercept_attention import count_attention

    if not any(isinstance(m, nn.Embedding) for m in _modules(model)):
        return False
    p = next(model.parameters(), None)
    return count_attention(model, torch.zeros(1, 4, dtype=torch.long, device=p.device if p is not None else "cpu")) > 0


def _intercept_recurrent_factory(model: Any, *, validate: bool = True, seed: int = 0) -> Adapter:
    import torch

    from ccbounds.adapters.intercept_recurrent import InterceptedRecurrentAdapter

    adapter = InterceptedRecurrentAdapter(model)
    if validate:  # the gadget's own cut is checked again when the protocol is built
        gen = torch.Generator().manual_seed(seed)
        for T in (3, 8):
            toks = torch.randint(0, max(2, adapter.vocab_size), (16, T), generator=gen).to(adapter._device())
            for cut in (1, T // 2, T - 1):
                adapter.check_split(toks, cut)
    return adapter


def _intercept_attention_factory(model: Any, *, validate: bool = True, seed: int = 0) -> Adapter:
    from ccbounds.adapters.intercept_attention import InterceptedAttentionAdapter

    return InterceptedAttentionAdapter(model)


def _attention_factory(model: Any, *, validate: bool = True, seed: int = 0) -> Adapter:
    from ccbounds.adapters.attention import build_attention_adapter

    return build_attention_adapter(model, validate=validate, seed=seed)


#: the built-in adapters, in the order they are tried (for docs and error messages)
ADAPTERS: tuple[AdapterEntry, ...] = (
    AdapterEntry(
        "hf-cache",
        "recurrent",
        "Lemma R: a Hugging Face Mamba / FalconMamba / Mamba2 / RWKV / xLSTM backbone (in the user's classifier, "
        "or a *ForCausalLM read at given answer tokens); the message is its cache",
        _is_hf,
        _hf_factory,
    ),
    AdapterEntry(
        "intercept-recurrent",
        "recurrent",
        "Lemma R on the model's own forward: any arrangement of nn.RNN/GRU/LSTM (or registered recurrent "
        "modules), their states captured at the cut and injected for Bob",
        lambda m: _user_model(m) and _has_state_module(m),
        _intercept_recurrent_factory,
    ),
    AdapterEntry(
        "intercept-attention",
        "attention",
        "Lemma T on the model's own forward: one nn.MultiheadAttention / nn.TransformerEncoderLayer / "
        "F.scaled_dot_product_attention, its softmax split at the readout's query row",
        lambda m: _user_model(m) and _runs_attention(m),
        _intercept_attention_factory,
    ),
    AdapterEntry(
        "recurrent",
        "recurrent",
        "Lemma R: ccbounds' reference Embedding -> nn.RNN/nn.GRU/nn.LSTM -> Linear classifiers",
        lambda m: _has(m, "RNNBase"),
        _recurrent_factory,
    ),
    AdapterEntry(
        "transformer-1layer",
        "attention",
        "Lemma T: ccbounds' reference one-layer Transformer classifiers",
        lambda m: _has(m, "MultiheadAttention"),
        _attention_factory,
    ),
)

register_adapter = removed_extension("register_adapter")
unregister_adapter = removed_extension("unregister_adapter")


def registered_adapters() -> tuple[AdapterEntry, ...]:
    """Every adapter in the order :func:`get_adapter` tries them (the built-ins; user registration was removed)."""
    return ADAPTERS


def check_applicable(model: Any) -> None:
    """Refuse the models to which no reduction of theory §4 applies.

    Raises
    ------
    ReductionNotApplicable
        A module with ``attention_layers >= 2`` or two or more ``nn.MultiheadAttention``
        (:data:`~ccbounds.errors.TWO_LAYER_REASON`), a
        bidirectional RNN (Lemma R: the state at the cut depends on Bob's tokens), or an RNN that also
        attends back over the prefix.
    """
    mods = _modules(model) or [model]
    name = type(model).__name__
    for m in mods:
        layers = getattr(m, "attention_layers", None)
        if isinstance(layers, int) and layers >= 2:
            raise ReductionNotApplicable.attention_layers(f"{name} has attention_layers={layers}")
    if not _modules(model):
        return
    from torch import nn

    n_att = sum(isinstance(m, nn.MultiheadAttention) for m in mods)
    rnns = [m for m in mods if isinstance(m, nn.RNNBase)]
    if n_att >= 2:
        raise ReductionNotApplicable.attention_layers(f"{name} has {n_att} attention layers")
    if any(r.bidirectional for r in rnns):
        raise ReductionNotApplicable(
            f"Lemma R does not apply to {name}: it has a bidirectional RNN, so the state at the cut depends on "
            "Bob's tokens; use a unidirectional model"
        )
    if rnns and n_att:
        raise ReductionNotApplicable(
            f"Lemma R does not apply to {name}: it is recurrent but also attends back over the prefix, so the "
            "state at the cut is not all that crosses it"
        )


def get_adapter(model: Any, *, validate: bool = True, seed: int = 0) -> Adapter:
    """The adapter (Lemma R or Lemma T, theory §4) that turns ``model`` into what a reduction needs.

    Parameters
    ----------
    model : nn.Module
        A recurrent or one-layer Transformer classifier (tokens ``(B, T)`` -> logits ``(B, C)``).
    validate : bool
        Check the adapter's reconstruction against the model's own forward on seeded random tokens.
    seed : int
        Seed of those tokens.

    Returns
    -------
    RecurrentAdapter or AttentionAdapter

    Raises
    ------
    ReductionNotApplicable
        See :func:`check_applicable`.
    UnsupportedArchitecture
        No adapter reads the layout, or its reading does not reproduce forward (the message lists the
        supported layouts and says that :func:`ccbounds.reduce` compiles any traceable forward).
    """
    check_applicable(model)
    for entry in ADAPTERS:
        if entry.predicate(model):
            return entry.factory(model, validate=validate, seed=seed)
    layouts = " | ".join(e.description for e in ADAPTERS)
    raise UnsupportedArchitecture(f"no adapter reads {type(model).__name__}; supported: {layouts}; {REGISTER_HINT}")
