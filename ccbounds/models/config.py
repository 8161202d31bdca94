"""Configurations of the reference sequence classifiers (no torch here).

A config is a frozen dataclass that fixes a model's architecture completely: :func:`build_model`
(``ccbounds.models``) turns it into a torch module, checkpoints store its :meth:`to_dict`, and the
budget and CLI code read it without importing torch. ``arch`` names the family the reductions of
theory §4 dispatch on: ``"rnn"``, ``"gru"``, ``"lstm"`` (Lemma R) or ``f"tf{layers}"`` (Lemma T for
``"tf1"``; two or more layers are refused).

Examples
--------
>>> c = RecurrentConfig("lstm", vocab_size=5, num_classes=2, width=8)
>>> c.arch, c.embed_dim
('lstm', 8)
>>> RecurrentConfig.from_dict(c.to_dict()) == c
True
>>> t = TransformerConfig(vocab_size=6, num_classes=2, max_len=9, d_model=16, heads=2)
>>> t.arch, t.d_ff, t.d_head
('tf1', 64, 8)
>>> config_from_dict(t.to_dict()) == t
True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from ccbounds.errors import InvalidInputError, UnknownNameError

__all__ = ["RecurrentConfig", "TransformerConfig", "ModelConfig", "config_from_dict", "CELLS", "POSITIONS",
           "MAX_LAYERS", "MAX_PARAMETERS"]

#: recurrent cells (``nn.RNN``, ``nn.GRU``, ``nn.LSTM``)
CELLS = ("rnn", "gru", "lstm")
#: nonlinearities of ``nn.RNN``
NONLINEARITIES = ("tanh", "relu")
#: position encodings of :class:`TransformerConfig`
POSITIONS = ("learned", "sinusoidal")


#: the most layers a reference model may have (checked before anything is built)
MAX_LAYERS = 1024
#: the most parameters a reference model may have, 2^30 (4 GiB in float32; checked before anything is built)
MAX_PARAMETERS = 2**30

#: weight matrices per recurrent layer (gates)
_GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def _check_size(config: Any, parameters: int) -> None:
    """Refuse a config with more than :data:`MAX_LAYERS` layers or :data:`MAX_PARAMETERS` parameters."""
    from ccbounds.errors import TooLargeError

    if config.layers > MAX_LAYERS:
        raise TooLargeError(f"layers = {config.layers} is over the limit MAX_LAYERS = {MAX_LAYERS}; pass a smaller "
                            "number of layers")
    if parameters > MAX_PARAMETERS:
        raise TooLargeError(f"the model {config} would have about {parameters:.3g} parameters, over the limit "
                            f"MAX_PARAMETERS = 2^30 (4 GiB in float32); pass a smaller width, vocabulary or depth")


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(f"{name} must be a positive integer, got {value!r}; pass an int >= 1")


def _from_dict(cls: type, data: dict[str, Any]) -> Any:
    if not isinstance(data, dict):
        raise InvalidInputError(f"{cls.__name__}.from_dict needs a dict, got {type(data).__name__}")
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - names - {"arch", "kind"})
    if unknown:
        raise InvalidInputError(
            f"{cls.__name__} has no field(s) {unknown}; valid fields are {sorted(names)}"
        )
    config = cls(**{k: v for k, v in data.items() if k in names})
    if "arch" in data and data["arch"] != config.arch:
        raise InvalidInputError(
            f"config says arch={data['arch']!r} but its fields give {config.arch!r}; fix 'arch' or the fields"
        )
    return config


@dataclass(frozen=True)
class RecurrentConfig:
    """A recurrent classifier: embedding -> ``nn.RNN | nn.GRU | nn.LSTM`` -> linear head at the last step.

    Parameters
    ----------
    cell : {"rnn", "gru", "lstm"}
        The recurrent cell.
    vocab_size, num_classes, width : int
        Token ids are ``0..vocab_size-1``; ``width`` is the hidden size of every layer.
    layers : int
        Stacked recurrent layers (the state of theory §4 Lemma R is all of them).
    embed_dim : int or None
        Embedding size; ``None`` means ``width``.
    nonlinearity : {"tanh", "relu"}
        For ``cell="rnn"`` only (GRU and LSTM have fixed gates and need the default ``"tanh"``).

    Raises
    ------
    UnknownNameError
        For an unknown cell or nonlinearity (the message lists the valid ones).
    InvalidInputError
        For a non-positive size, or ``nonlinearity="relu"`` with a GRU or LSTM.

    Examples
    --------
    >>> print(RecurrentConfig("rnn", 5, 2, width=21, nonlinearity="relu"))
    rnn(vocab=5, classes=2, width=21, layers=1, embed_dim=21, relu)
    """

    cell: str
    vocab_size: int
    num_classes: int
    width: int
    layers: int = 1
    embed_dim: int | None = None
    nonlinearity: str = "tanh"

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise UnknownNameError(f"unknown recurrent cell {self.cell!r}; valid cells are {list(CELLS)}")
        if self.nonlinearity not in NONLINEARITIES:
            raise UnknownNameError(
                f"unknown nonlinearity {self.nonlinearity!r}; valid ones are {list(NONLINEARITIES)}"
            )
        if self.cell != "rnn" and self.nonlinearity != "tanh":
            raise InvalidInputError(
                f"nonlinearity={self.nonlinearity!r} applies to cell='rnn' only; leave it 'tanh' for {self.cell}"
            )
        for name in ("vocab_size", "num_classes", "width", "layers"):
            _positive_int(name, getattr(self, name))
        if self.embed_dim is None:
            object.__setattr__(self, "embed_dim", self.width)
        _positive_int("embed_dim", self.embed_dim)
        _check_size(self, self.num_parameters)

    @property
    def num_parameters(self) -> int:
        """Trainable parameters of the model :func:`~ccbounds.models.build_model` builds (computed, no torch).

        Examples
        --------
        >>> RecurrentConfig("lstm", 5, 3, width=7, layers=3, embed_dim=4).num_parameters
        1304
        """
        g, w = _GATES[self.cell], self.width
        return (self.vocab_size * self.embed_dim + g * w * (self.embed_dim + w + 2)
                + (self.layers - 1) * g * w * (2 * w + 2) + w * self.num_classes + self.num_classes)

    @property
    def arch(self) -> str:
        """The architecture family: the cell name."""
        return self.cell

    @property
    def state_scalars(self) -> int:
        """Scalars carried from one step to the next (theory §4 Lemma R): h of every layer, plus c for LSTM."""
        from ccbounds.architectures import get_architecture

        return get_architecture(self.cell).message_scalars(self.width, layers=self.layers)

    def to_dict(self) -> dict[str, Any]:
        """Plain data, with ``arch`` added (ignored by :meth:`from_dict`)."""
        return {**asdict(self), "arch": self.arch}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RecurrentConfig:
        """Inverse of :meth:`to_dict`; unknown keys or an ``arch`` that contradicts the fields raise
        :class:`InvalidInputError`."""
        return _from_dict(cls, data)

    def __str__(self) -> str:
        nl = f", {self.nonlinearity}" if self.cell == "rnn" else ""
        return (
            f"{self.cell}(vocab={self.vocab_size}, classes={self.num_classes}, width={self.width}, "
            f"layers={self.layers}, embed_dim={self.embed_dim}{nl})"
        )


@dataclass(frozen=True)
class TransformerConfig:
    """An encoder-only Transformer classifier read at the last position (no mask, no dropout).

    Parameters
    ----------
    vocab_size, num_classes : int
        Token ids are ``0..vocab_size-1``.
    max_len : int
        Longest input; the position table has this many rows.
    d_model, heads : int
        Width and number of heads (``d_model`` divisible by ``heads``; ``d_head = d_model // heads``).
    layers : int
        ``nn.TransformerEncoderLayer`` blocks. theory §4 Lemma T covers ``layers == 1`` only.
    d_ff : int or None
        FFN hidden size; ``None`` means ``4 * d_model``.
    norm_first : bool
        Pre-norm (``True``) or post-norm (``False``, the PyTorch default) blocks.
    positions : {"learned", "sinusoidal"}
        Learned position embeddings or the fixed sin/cos table of Vaswani et al. (2017).
    final_norm : bool
        A LayerNorm before the head.

    Raises
    ------
    UnknownNameError
        For an unknown ``positions`` kind.
    InvalidInputError
        For a non-positive size or ``d_model`` not divisible by ``heads``.

    Examples
    --------
    >>> print(TransformerConfig(4, 2, max_len=18, d_model=32, heads=1, layers=2, d_ff=4, norm_first=True))
    tf2(vocab=4, classes=2, max_len=18, d_model=32, heads=1, d_ff=4, pre-norm, learned positions)
    """

    vocab_size: int
    num_classes: int
    max_len: int
    d_model: int
    heads: int
    layers: int = 1
    d_ff: int | None = None
    norm_first: bool = False
    positions: str = "learned"
    final_norm: bool = False

    def __post_init__(self) -> None:
        if self.positions not in POSITIONS:
            raise UnknownNameError(f"unknown positions kind {self.positions!r}; valid ones are {list(POSITIONS)}")
        for name in ("vocab_size", "num_classes", "max_len", "d_model", "heads", "layers"):
            _positive_int(name, getattr(self, name))
        if self.d_model % self.heads:
            raise InvalidInputError(
                f"d_model={self.d_model} is not divisible by heads={self.heads}; pick d_model a multiple of heads"
            )
        if self.d_ff is None:
            object.__setattr__(self, "d_ff", 4 * self.d_model)
        _positive_int("d_ff", self.d_ff)
        _check_size(self, self.num_parameters)
        for name in ("norm_first", "final_norm"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidInputError(f"{name} must be True or False, got {getattr(self, name)!r}")

    @property
    def num_parameters(self) -> int:
        """Trainable parameters of the model :func:`~ccbounds.models.build_model` builds (computed, no torch).

        Examples
        --------
        >>> TransformerConfig(6, 3, max_len=9, d_model=8, heads=2, layers=2, d_ff=5).num_parameters
        973
        """
        d, ff = self.d_model, int(self.d_ff)  # d_ff is set in __post_init__
        positions = self.max_len * d if self.positions == "learned" else 0
        final = 2 * d if self.final_norm else 0
        return (self.vocab_size * d + positions + self.layers * (4 * d * d + 2 * d * ff + 9 * d + ff) + final
                + (d + 1) * self.num_classes)

    @property
    def arch(self) -> str:
        """``f"tf{layers}"``: ``"tf1"`` for the one-layer models of theory §4 Lemma T."""
        return f"tf{self.layers}"

    @property
    def d_head(self) -> int:
        """Per-head query/key/value size ``d_model // heads``."""
        return self.d_model // self.heads

    def to_dict(self) -> dict[str, Any]:
        """Plain data, with ``arch`` added (ignored by :meth:`from_dict`)."""
        return {**asdict(self), "arch": self.arch}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TransformerConfig:
        """Inverse of :meth:`to_dict`; unknown keys or an ``arch`` that contradicts the fields raise
        :class:`InvalidInputError`."""
        return _from_dict(cls, data)

    def __str__(self) -> str:
        norm = "pre-norm" if self.norm_first else "post-norm"
        fin = ", final norm" if self.final_norm else ""
        return (
            f"{self.arch}(vocab={self.vocab_size}, classes={self.num_classes}, max_len={self.max_len}, "
            f"d_model={self.d_model}, heads={self.heads}, d_ff={self.d_ff}, {norm}, {self.positions} positions{fin})"
        )


ModelConfig = RecurrentConfig | TransformerConfig


def config_from_dict(data: dict[str, Any]) -> ModelConfig:
    """Rebuild either config from :meth:`to_dict` output, dispatching on ``arch`` (or ``cell``).

    Raises
    ------
    InvalidInputError
        If the dict names neither a recurrent cell nor a ``tf<layers>`` architecture.

    Examples
    --------
    >>> config_from_dict({"cell": "gru", "vocab_size": 3, "num_classes": 2, "width": 4}).arch
    'gru'
    """
    if not isinstance(data, dict):
        raise InvalidInputError(f"a model config is a dict, got {type(data).__name__}")
    arch = str(data.get("arch", data.get("cell", "")))
    if arch in CELLS:
        return RecurrentConfig.from_dict(data)
    if arch.startswith("tf") or "d_model" in data:
        return TransformerConfig.from_dict(data)
    raise InvalidInputError(
        f"cannot tell the architecture of config {sorted(data)}; give 'arch' as one of {list(CELLS)} or 'tf<layers>'"
    )
