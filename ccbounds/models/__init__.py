"""Reference sequence models and weight-set constructions.

- configs (no torch): :class:`RecurrentConfig`, :class:`TransformerConfig`, :func:`config_from_dict`;
- torch modules: :class:`RecurrentClassifier`, :class:`TransformerClassifier`, :func:`build_model`,
  :func:`count_parameters`, :func:`last_position_logits`;
- nearly orthogonal codes (theory §7): :func:`code_dimension`, :func:`nearly_orthogonal_codes`;
- constructions with weights set by hand (theory §7, [BHBK]): :func:`index_lookup_transformer`,
  :func:`dyck_recognizer` (with :func:`dyck_dfa`), :func:`two_layer_set_transformer`,
  :func:`construction_width`, :data:`CONSTRUCTIONS`.

Names load lazily, so ``from ccbounds.models import RecurrentConfig`` does not import torch.

Examples
--------
>>> from ccbounds.models import TransformerConfig
>>> TransformerConfig(4, 2, max_len=10, d_model=8, heads=1, layers=2).arch
'tf2'
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "RecurrentConfig": "ccbounds.models.config",
    "TransformerConfig": "ccbounds.models.config",
    "ModelConfig": "ccbounds.models.config",
    "config_from_dict": "ccbounds.models.config",
    "build_model": "ccbounds.models.build",
    "count_parameters": "ccbounds.models.build",
    "RecurrentClassifier": "ccbounds.models.recurrent",
    "TransformerClassifier": "ccbounds.models.transformer",
    "sinusoidal_table": "ccbounds.models.transformer",
    "last_position_logits": "ccbounds.models.transformer",
    "FirstLayerQKV": "ccbounds.models.lemma_t",
    "first_layer_qkv": "ccbounds.models.lemma_t",
    "finish_at_last_position": "ccbounds.models.lemma_t",
    "code_dimension": "ccbounds.codes",
    "nearly_orthogonal_codes": "ccbounds.codes",
    "NearlyOrthogonalCode": "ccbounds.codes",
    "index_lookup_transformer": "ccbounds.models.constructions",
    "dyck_recognizer": "ccbounds.models.constructions",
    "dyck_dfa": "ccbounds.models.constructions",
    "DyckDFA": "ccbounds.models.constructions",
    "two_layer_set_transformer": "ccbounds.models.constructions",
    "construction_width": "ccbounds.models.constructions",
    "CONSTRUCTIONS": "ccbounds.models.constructions",
    "AnswerLogits": "ccbounds.models.answers",
    "HFConfig": "ccbounds.models.hf",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ccbounds.models' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
