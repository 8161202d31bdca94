"""The architecture registry: one entry per model family, read by budgets, training, experiments, examples
and the checkpoint loader (no torch here).

Each :class:`Architecture` says, for its family: the name (``ccbounds train --arch``), the config
dataclass and how to make one for a task, how to build the model, the adapter that reads it (Lemma R
or Lemma T, theory §4), the one formula for the message size S in scalars, and how a foreign
state_dict is matched to it (gate blocks of a recurrent layer, encoder layers of a Transformer).
The registry is the one owner of these facts: :func:`~ccbounds.models.build_model` builds through
:func:`architecture_of` and the configs' ``state_scalars`` read S here.

=========  ==============================  ==================================================
name       S (scalars Alice sends)         lemma
=========  ==============================  ==================================================
rnn, gru   width·layers                    Lemma R: the state of every layer
lstm       2·width·layers                  Lemma R: h and c of every layer
tf1        Q·H·(d_v + 1), d_v = width/H    Lemma T; Q = values of the query token (theory §4)
tf2        none                            no size bound: its one-way protocols grow with
                                           Bob's positions; two layers solve EQ/DISJ in
                                           width O(log n) [BHBK]
mamba      2·width·(K−1 + N)·layers        Lemma R: HF MambaForCausalLM's cache, conv buffer
           (K = 4, N = 8: 22·width·layers) without its unread slot + SSM state (expand 2)
=========  ==============================  ==================================================

Examples
--------
>>> [a.name for a in ARCHITECTURES.values()]
['rnn', 'gru', 'lstm', 'tf1', 'tf2', 'mamba']
>>> get_architecture("lstm").message_scalars(10, layers=2), get_architecture("tf1").message_scalars(8, heads=2)
(40, 10)
>>> get_architecture("tf1").message_scalars(8, heads=2, query_values=5), get_architecture("tf2").message_scalars(8)
(50, None)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ccbounds.errors import InvalidInputError, UnknownNameError
from ccbounds.models.config import RecurrentConfig, TransformerConfig, config_from_dict
from ccbounds.models.hf import HFConfig

__all__ = ["ARCHITECTURES", "Architecture", "architecture_of", "get_architecture", "register_architecture"]


@dataclass(frozen=True)
class Architecture:
    """One model family (see the module docstring).

    Attributes
    ----------
    name : str
        Registry name (``"lstm"``, ``"tf1"``, ...).
    description : str
        One line: the family and its message size.
    lemma : str or None
        ``"Lemma R"``, ``"Lemma T"``, or None when no reduction of theory §4 applies (refused).
    config : type
        The config dataclass (:class:`~ccbounds.models.RecurrentConfig`, ...).
    scalars : callable or None
        ``scalars(width, heads, layers, query_values) -> S``: the message size formula (None: no reduction).
    make_config : callable
        ``make_config(vocab_size, num_classes, seq_len, width, heads, layers) -> config`` for a task.
    adapter : str or None
        ``"module:Class"`` of the adapter that reads the built model (imported lazily).
    gates : int or None
        Checkpoint matcher of recurrent families: rows of ``weight_hh_l0`` per hidden unit (1, 3, 4).
        Transformers are matched by their number of encoder layers (``TransformerConfig.arch``).
    recurrent : bool
        True for families whose depth is ``layers`` and whose width is a hidden size (Lemma R).
    builder : str or None
        ``"module:callable"`` that builds the model from a config (imported lazily: torch); None: not buildable.
    """

    name: str
    description: str
    lemma: str | None
    config: type
    scalars: Callable[[int, int, int, int], int] | None
    make_config: Callable[..., Any]
    adapter: str | None
    gates: int | None = None
    recurrent: bool = False
    builder: str | None = None

    def message_scalars(self, width: int, *, heads: int = 1, layers: int = 1, query_values: int = 1) -> int | None:
        """S, the scalars of Alice's message (theory §4); None when no reduction applies.

        ``query_values`` is Q of Lemma T (how many values the token at the output position takes);
        recurrent families ignore it and ``heads``.
        """
        return None if self.scalars is None else int(self.scalars(width, heads, layers, query_values))

    def build(self, config: Any) -> Any:
        """A fresh (randomly initialised) model from ``config`` (torch imported here).

        ``config`` may be a dict (:func:`~ccbounds.models.config_from_dict`); a config of another family is
        built by that family's entry (:func:`architecture_of`), as :func:`~ccbounds.models.build_model` does.
        """
        if isinstance(config, dict):
            config = config_from_dict(config)
        arch = self if isinstance(config, self.config) and self.builder else architecture_of(config)
        module, name = str(arch.builder).split(":")
        return getattr(importlib.import_module(module), name)(config)

    def adapter_for(self, model: Any) -> Any:
        """The registered adapter of this family on ``model`` (no validation against forward)."""
        if self.adapter is None:
            raise UnknownNameError(f"{self.name} has no adapter: {self.description}")
        module, cls = self.adapter.split(":")
        return getattr(importlib.import_module(module), cls)(model)


#: name -> :class:`Architecture`, in registration order
ARCHITECTURES: dict[str, Architecture] = {}


def register_architecture(arch: Architecture) -> Architecture:
    """Add ``arch`` to :data:`ARCHITECTURES` (replacing an entry of the same name)."""
    ARCHITECTURES[arch.name] = arch
    return arch


def get_architecture(name: str) -> Architecture:
    """The entry called ``name`` (case-insensitive).

    Raises
    ------
    UnknownNameError
        The message lists the valid names.
    """
    key = str(name).lower()
    if key not in ARCHITECTURES:
        raise UnknownNameError(f"unknown architecture {name!r}; valid: {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[key]


def architecture_of(config: Any) -> Architecture:
    """The entry that builds ``config``: the one named by ``config.arch``, else the first whose config class
    ``config`` is an instance of (a ``tf3`` config is built like every ``TransformerConfig``).

    Raises
    ------
    InvalidInputError
        For an object no entry builds; the message names the config classes that are.

    Examples
    --------
    >>> architecture_of(RecurrentConfig("gru", vocab_size=3, num_classes=2, width=4)).name
    'gru'
    >>> architecture_of(TransformerConfig(vocab_size=3, num_classes=2, max_len=4, d_model=4, heads=1, layers=3)).name
    'tf1'
    """
    named = ARCHITECTURES.get(str(getattr(config, "arch", "")).lower())
    if named is not None and named.builder and isinstance(config, named.config):
        return named
    for arch in ARCHITECTURES.values():
        if arch.builder and isinstance(config, arch.config):
            return arch
    names = sorted({a.config.__name__ for a in ARCHITECTURES.values() if a.builder})
    raise InvalidInputError(f"build_model needs the config of a registered architecture ({', '.join(names)}), "
                            f"got {type(config).__name__}")


def _recurrent(cell: str, gates: int, state_per_unit: int, text: str) -> Architecture:
    def make(vocab_size: int, num_classes: int, seq_len: int, width: int, heads: int | None = None,
             layers: int = 1) -> Any:
        return RecurrentConfig(cell, vocab_size, num_classes, width=width, layers=layers)

    return Architecture(cell, text, "Lemma R", RecurrentConfig,
                        lambda width, heads, layers, q: state_per_unit * width * layers, make,
                        "ccbounds.adapters.recurrent:TorchRecurrentAdapter", gates=gates, recurrent=True,
                        builder="ccbounds.models.recurrent:RecurrentClassifier")


def _transformer(depth: int, text: str) -> Architecture:
    def make(vocab_size: int, num_classes: int, seq_len: int, width: int, heads: int | None = None,
             layers: int = 1) -> Any:  # the family fixes the depth; ``layers`` counts recurrent layers
        return TransformerConfig(vocab_size=vocab_size, num_classes=num_classes, max_len=seq_len, d_model=width,
                                 heads=int(heads or 1), layers=depth)

    one = depth == 1
    return Architecture(f"tf{depth}", text, "Lemma T" if one else None, TransformerConfig,
                        (lambda width, heads, _, q: q * heads * (width // heads + 1)) if one else None, make,
                        "ccbounds.adapters.attention:build_attention_adapter" if one else None,
                        builder="ccbounds.models.transformer:TransformerClassifier")


def _hf_mamba(text: str) -> Architecture:
    def make(vocab_size: int, num_classes: int, seq_len: int, width: int, heads: int | None = None,
             layers: int = 1) -> Any:
        return HFConfig("mamba", vocab_size, num_classes, width=width, layers=layers)

    d = HFConfig("mamba", 1, 2, 1)  # the defaults: expand, conv kernel K, state size N
    per_unit = d.expand * ((d.conv_kernel - 1) + d.state_size)
    return Architecture("mamba", text, "Lemma R", HFConfig, lambda width, heads, layers, q: per_unit * width * layers,
                        make, "ccbounds.adapters.hf:HFCacheAdapter", recurrent=True,
                        builder="ccbounds.models.hf:build_hf_model")


for _entry in (
    _recurrent("rnn", 1, 1, "Elman RNN: Lemma R, S = width*layers"),
    _recurrent("gru", 3, 1, "GRU: Lemma R, S = width*layers"),
    _recurrent("lstm", 4, 2, "LSTM: Lemma R, S = 2*width*layers (h and c)"),
    _transformer(1, "one-layer softmax Transformer: Lemma T, S = Q*H*(width/H + 1)"),
    _transformer(2, "two-layer Transformer: no size bound of theory §4 applies (refused)"),
    _hf_mamba("Hugging Face Mamba (transformers): Lemma R through its cache, S = 22*width*layers"),
):
    register_architecture(_entry)
