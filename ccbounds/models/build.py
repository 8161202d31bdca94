"""Build a reference model from its config, and count its parameters.

Examples
--------
>>> from ccbounds.models.config import RecurrentConfig
>>> m = build_model(RecurrentConfig("rnn", vocab_size=3, num_classes=2, width=4))
>>> type(m).__name__, count_parameters(m)
('RecurrentClassifier', 62)
"""

from __future__ import annotations

from typing import Any

from ccbounds.architectures import architecture_of
from ccbounds.models.config import config_from_dict

__all__ = ["build_model", "count_parameters"]


def build_model(config: Any) -> Any:
    """A fresh (randomly initialised) model of ``config``'s family, built by its architecture registry entry.

    :func:`~ccbounds.architectures.architecture_of` finds the entry (:class:`RecurrentClassifier`,
    :class:`TransformerClassifier`, or Hugging Face Mamba for an ``HFConfig``).

    Parameters
    ----------
    config : RecurrentConfig or TransformerConfig or HFConfig or dict
        A config, or (reference models) its ``to_dict()``.

    Raises
    ------
    InvalidInputError
        For anything else.

    Examples
    --------
    >>> cfg = {"vocab_size": 4, "num_classes": 2, "max_len": 6, "d_model": 8, "heads": 2, "layers": 2}
    >>> build_model(cfg).config.arch
    'tf2'
    """
    if isinstance(config, dict):
        config = config_from_dict(config)
    return architecture_of(config).build(config)


def count_parameters(model: Any) -> int:
    """Number of trainable scalars (``sum(p.numel() for p in model.parameters())``; buffers excluded).

    Examples
    --------
    >>> import torch
    >>> count_parameters(torch.nn.Linear(3, 2))
    8
    """
    return sum(int(p.numel()) for p in model.parameters())
