"""A small Hugging Face Mamba trained as a classifier, saved as a ``save_pretrained`` directory.

:class:`HFConfig` and :func:`build_hf_model` give the random-init ``MambaForCausalLM`` that
``ccbounds train --arch mamba`` trains on CPU, read at one answer token per class
(:class:`~ccbounds.models.answers.AnswerLogits`);
:func:`save_hf_directory` / :func:`load_hf_directory` write and read it as a ``save_pretrained``
directory (config.json + model.safetensors) with a ccbounds spec beside it. ``trust_remote_code`` is
never set; pickled ``.bin`` weights are refused unless the caller trusts pickles.

Examples
--------
>>> c = HFConfig("mamba", vocab_size=6, num_classes=2, width=8)
>>> c.answer_tokens, c.lm_vocab_size
((6, 7), 8)
>>> str(c)
'mamba(HF MambaForCausalLM, vocab 6+2 answer tokens, d_model 8, layers 2, state 8, conv 4)'
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ccbounds.errors import CheckpointError, InvalidInputError

__all__ = [
    "SPEC_NAME",
    "HFConfig",
    "build_hf_model",
    "load_hf_directory",
    "save_hf_directory",
]

#: the ccbounds spec written next to a save_pretrained directory's config.json
SPEC_NAME = "ccbounds-spec.json"


@dataclass(frozen=True)
class HFConfig:
    """A small HF Mamba causal LM trained as a classifier: the task's tokens plus one answer token per class.

    Parameters
    ----------
    family : {"mamba"}
    vocab_size, num_classes : int
        The task's token ids ``0..vocab_size-1``; answer tokens are ``vocab_size + c``.
    width, layers, state_size, conv_kernel, expand : int
        ``hidden_size``, ``num_hidden_layers``, ``state_size``, ``conv_kernel``, ``expand`` of MambaConfig.
    """

    family: str
    vocab_size: int
    num_classes: int
    width: int
    layers: int = 2
    state_size: int = 8
    conv_kernel: int = 4
    expand: int = 2

    def __post_init__(self) -> None:
        if self.family != "mamba":
            raise InvalidInputError(f"HFConfig builds family 'mamba' only, got {self.family!r}")
        for name in ("vocab_size", "num_classes", "width", "layers", "state_size", "conv_kernel", "expand"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InvalidInputError(f"{name} must be a positive integer, got {v!r}")
        from ccbounds.models.config import _check_size

        inner = self.expand * self.width  # in_proj, out_proj, conv, x_proj, dt_proj, A and D of each block
        per_layer = (3 * inner * self.width + inner * (self.conv_kernel + 2 * self.state_size + 3)
                     + inner * self.state_size + self.width)
        _check_size(self, self.lm_vocab_size * self.width + self.layers * per_layer)

    @property
    def arch(self) -> str:
        return self.family

    @property
    def answer_tokens(self) -> tuple[int, ...]:
        return tuple(self.vocab_size + c for c in range(self.num_classes))

    @property
    def lm_vocab_size(self) -> int:
        return self.vocab_size + self.num_classes

    @property
    def state_scalars(self) -> int:
        """S of the registry's formula (:mod:`ccbounds.architectures`): what the cache sends."""
        from ccbounds.architectures import get_architecture

        return int(get_architecture("mamba").message_scalars(self.width, layers=self.layers))

    def to_dict(self) -> dict[str, Any]:
        return {"arch": self.arch, **asdict(self)}

    def __str__(self) -> str:
        return (f"{self.family}(HF MambaForCausalLM, vocab {self.vocab_size}+{self.num_classes} answer tokens, "
                f"d_model {self.width}, layers {self.layers}, state {self.state_size}, conv {self.conv_kernel})")


def build_hf_model(config: HFConfig) -> Any:
    """A random-init ``MambaForCausalLM`` read at its answer tokens (seed torch first).

    Wrapped in :class:`~ccbounds.models.answers.AnswerLogits`.
    """
    from transformers import MambaConfig, MambaForCausalLM

    lm = MambaForCausalLM(MambaConfig(
        vocab_size=config.lm_vocab_size, hidden_size=config.width, num_hidden_layers=config.layers,
        state_size=config.state_size, conv_kernel=config.conv_kernel, expand=config.expand,
        pad_token_id=0, bos_token_id=0, eos_token_id=0))
    from ccbounds.models.answers import AnswerLogits

    return AnswerLogits(lm, config.answer_tokens, config=config)


def save_hf_directory(model: Any, path: str | Path, task: Any, train_info: dict[str, Any] | None = None) -> Path:
    """``save_pretrained`` (safetensors) of ``model.lm`` into ``path``, with the spec and training record.

    The spec (:data:`SPEC_NAME`) is ``task.to_dict()`` plus ``answer_tokens``, so ``ccbounds audit DIR``
    needs no ``--spec``; ``train_info`` goes to ``ccbounds-train.json``.
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InvalidInputError(f"{str(p)!r} exists and is not a directory; an HF model is saved as a directory")
    model.lm.save_pretrained(p, safe_serialization=True)
    spec = {**task.to_dict(), "answer_tokens": list(model.answer_tokens)}
    (p / SPEC_NAME).write_text(json.dumps(spec, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if train_info is not None:
        (p / "ccbounds-train.json").write_text(json.dumps(train_info, indent=2, sort_keys=True) + "\n",
                                               encoding="utf-8")
    return p


def load_hf_directory(path: str | Path, answer_tokens: Any, *, trust_pickle: bool = False, device: str = "cpu") -> Any:
    """An :class:`~ccbounds.models.answers.AnswerLogits` classifier of the causal LM saved in ``path`` (eval mode).

    Raises
    ------
    CheckpointError
        No config.json, no weights, pickled weights without ``trust_pickle``, or a load failure.
    """
    p = Path(path)
    if not (p / "config.json").is_file():
        raise CheckpointError(f"{str(p)!r} is a directory without config.json; pass a save_pretrained directory")
    safe = list(p.glob("*.safetensors"))
    if not safe and list(p.glob("*.bin")) and not trust_pickle:
        raise CheckpointError(f"{str(p)!r} holds pickled .bin weights, which run code when loaded; re-save them "
                              "with save_pretrained(safe_serialization=True), or pass --trust-pickle if you trust them")
    if not safe and not list(p.glob("*.bin")):
        raise CheckpointError(f"{str(p)!r} has config.json but no weights (*.safetensors); re-save the model")
    try:
        from transformers import AutoModelForCausalLM

        lm = AutoModelForCausalLM.from_pretrained(p, trust_remote_code=False, use_safetensors=bool(safe))
    except ImportError as e:
        import importlib.util

        if importlib.util.find_spec("transformers") is None:
            raise CheckpointError(f"loading {str(p)!r} needs transformers: pip install 'ccbounds[hf]' ({e})") from e
        raise CheckpointError(f"transformers cannot load {str(p)!r}: a package it needs for this model is missing "
                              f"({str(e)[:160]}); a quantized model cannot be audited, save the float model "
                              "(the audit quantizes the message itself)") from e
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        raise CheckpointError(f"cannot load the Hugging Face model in {str(p)!r}: {e}") from e
    from ccbounds.models.answers import AnswerLogits

    return AnswerLogits(lm.to(device).eval(), answer_tokens).eval()
