"""Adapters: the built-in readings of models (theory §4), the test oracles of the compiled reduction.

:func:`ccbounds.reduce` compiles the model's own forward (theory §4.3) and needs no adapter; these classes are
what :func:`reductions.registry.builtin_reduction` reads, independently of it, and the Hugging Face cache
reading ``reduce`` keeps where a forward does not trace. ``register_adapter`` and ``register_state_module``
were removed (they raise, saying what replaces them).

* :class:`RecurrentAdapter` (Lemma R): ``initial_state``, ``advance``, ``readout``, ``state_tensors``,
  ``state_size``, ``flatten`` / ``unflatten``.
* :class:`AttentionAdapter` (Lemma T, one layer): ``queries``, ``keys_values``, ``finish``, and the
  softmax-splitting helpers (:mod:`ccbounds.adapters.softmax`) :func:`attend`, :func:`partial_sums`, :func:`combine`.
* :class:`InterceptedRecurrentAdapter` / :class:`InterceptedAttentionAdapter`: the user's own forward, run as
  written, with the recurrent modules' states captured and injected by hooks (through a :class:`StateProtocol`
  per module type), or with the one
  attention softmax split by a ``TorchFunctionMode``; what :func:`get_adapter` gives every model that is
  not one of ccbounds' reference classes;
* :func:`get_adapter` finds the built-in adapter of a model.

The built-in torch adapters (``TorchRecurrentAdapter``, ``TransformerAdapter``) load lazily, so importing
this package does not import torch.

Examples
--------
>>> from ccbounds.adapters import ADAPTERS
>>> [e.kind for e in ADAPTERS]
['recurrent', 'recurrent', 'attention', 'recurrent', 'attention']
"""

from __future__ import annotations

import importlib
from typing import Any

from ccbounds.adapters.base import REGISTER_HINT, Adapter, AttentionAdapter, RecurrentAdapter, validate_adapter
from ccbounds.adapters.registry import (
    ADAPTERS,
    AdapterEntry,
    check_applicable,
    get_adapter,
    register_adapter,
    registered_adapters,
    unregister_adapter,
)
from ccbounds.adapters.softmax import PartialSums, attend, combine, merge_partial_sums, partial_sums

_LAZY = {
    "TorchRecurrentAdapter": "ccbounds.adapters.recurrent",
    "TransformerAdapter": "ccbounds.adapters.attention",
    "build_attention_adapter": "ccbounds.adapters.attention",
    "InterceptedRecurrentAdapter": "ccbounds.adapters.intercept_recurrent",
    "InterceptedAttentionAdapter": "ccbounds.adapters.intercept_attention",
    "StateProtocol": "ccbounds.adapters.intercept_recurrent",
    "register_state_module": "ccbounds.adapters.intercept_recurrent",
    "unregister_state_module": "ccbounds.adapters.intercept_recurrent",
}

__all__ = [
    "Adapter",
    "RecurrentAdapter",
    "AttentionAdapter",
    "PartialSums",
    "attend",
    "partial_sums",
    "merge_partial_sums",
    "combine",
    "validate_adapter",
    "REGISTER_HINT",
    "ADAPTERS",
    "AdapterEntry",
    "check_applicable",
    "get_adapter",
    "register_adapter",
    "registered_adapters",
    "unregister_adapter",
] + sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ccbounds.adapters' has no attribute {name!r}")
