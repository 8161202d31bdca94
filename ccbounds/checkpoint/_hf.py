"""Loading a Hugging Face ``save_pretrained`` directory (config.json + safetensors) for an audit.

The directory holds a causal LM; the spec (``--spec FILE``, or ``ccbounds-spec.json`` inside the
directory, which ``ccbounds train --arch mamba`` writes) names the task, n and ``answer_tokens``: the
vocabulary id of each answer, read at the last position. ``trust_remote_code`` is never set, so only
model classes of the installed ``transformers`` load; pickled ``.bin`` weights need ``trust_pickle``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ccbounds.checkpoint._spec import parse_spec
from ccbounds.errors import CheckpointError

__all__ = ["TRAIN_NAME", "load_hf_checkpoint"]

#: the training record ``ccbounds train`` writes beside the spec
TRAIN_NAME = "ccbounds-train.json"


#: the largest config.json read
MAX_CONFIG_BYTES = 2**20
#: config.json keys that count layers, and keys that give a width or vocabulary, checked before transformers builds
_LAYER_KEYS = ("num_hidden_layers", "n_layer", "num_layers", "n_layers")
_WIDTH_KEYS = ("hidden_size", "d_model", "n_embd", "intermediate_size", "vocab_size", "state_size", "n_positions",
               "max_position_embeddings")


def _files(folder: Path) -> list[Path]:
    """config.json and the weight files, in name order."""
    return sorted([folder / "config.json", *folder.glob("*.safetensors"), *folder.glob("*.bin")])


def check_folder(folder: Path) -> dict[str, Any]:
    """The parsed config.json of a save_pretrained folder, after checking that it and every weight file are
    regular files under the size limits and that its layer count and widths are in bounds (nothing built yet).

    Raises
    ------
    CheckpointError
        A FIFO, device or link to one, a file over the limits, an unreadable config.json, or one naming
        more than :data:`~ccbounds.models.config.MAX_LAYERS` layers or more than
        :data:`~ccbounds.models.config.MAX_PARAMETERS` parameters.
    """
    from ccbounds.checkpoint._container import check_regular
    from ccbounds.models.config import MAX_LAYERS, MAX_PARAMETERS

    for f in _files(folder):
        check_regular(f, "file")
    cfg = folder / "config.json"
    if cfg.stat().st_size > MAX_CONFIG_BYTES:
        raise CheckpointError(f"{str(cfg)!r} is over the limit of 1 MiB for a config.json; pass the folder "
                              "save_pretrained wrote")
    try:
        config = json.loads(cfg.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise CheckpointError(f"{str(cfg)!r} is not a UTF-8 JSON file ({type(e).__name__}: {e}); pass the folder "
                              "save_pretrained wrote") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{str(cfg)!r} holds a {type(config).__name__}, not a JSON object; pass the folder "
                              "save_pretrained wrote")
    quant = config.get("quantization_config")
    if quant:
        method = quant.get("quant_method", "quantized") if isinstance(quant, dict) else "quantized"
        raise CheckpointError(f"{str(cfg)!r} has a quantization_config ({method}): the weights are stored quantized, "
                              "and ccbounds audits float weights (the audit quantizes the message itself); save the "
                              "model before quantizing it (save_pretrained of the float model)")
    ints = {k: v for k, v in config.items() if isinstance(v, int) and not isinstance(v, bool)}
    for key in _LAYER_KEYS:
        if ints.get(key, 0) > MAX_LAYERS:
            raise CheckpointError(f"{str(cfg)!r} says {key} = {ints[key]}, over the limit MAX_LAYERS = {MAX_LAYERS}; "
                                  "ccbounds audits small models, pass a smaller one")
    layers = max([ints.get(k, 1) for k in _LAYER_KEYS] + [1])
    width = max([ints.get(k, 1) for k in ("hidden_size", "d_model", "n_embd")] + [1])
    wide = max([ints.get(k, 1) for k in _WIDTH_KEYS] + [1])
    estimate = wide * width + layers * 12 * width * width
    if estimate > MAX_PARAMETERS:
        raise CheckpointError(f"{str(cfg)!r} describes a model of about {estimate:.3g} parameters (widths "
                              f"{ {k: ints[k] for k in _WIDTH_KEYS if k in ints} }, {layers} layers), over the limit "
                              "MAX_PARAMETERS = 2^30; ccbounds audits small models, pass a smaller one")
    return config


def _digest(folder: Path) -> str:
    """SHA-256 over config.json and the weight files, in name order (streamed, regular files only)."""
    from ccbounds.checkpoint._container import check_regular

    h = hashlib.sha256()
    for f in _files(folder):
        check_regular(f, "file")
        h.update(f.name.encode())
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def load_hf_checkpoint(path: str | Path, spec: Mapping[str, Any] | str | Path | None, *, trust_pickle: bool,
                       device: str) -> Any:
    """A :class:`~ccbounds.checkpoint.LoadedCheckpoint` of format ``"hf-pretrained"``.

    Raises
    ------
    CheckpointError
        No spec, a spec without ``answer_tokens``, answer ids outside the vocabulary, a vocabulary smaller
        than the task's, or a directory that is not a loadable ``save_pretrained`` output.
    """
    from ccbounds.checkpoint._loaded import LoadedCheckpoint
    from ccbounds.models.hf import SPEC_NAME, load_hf_directory

    folder = Path(path)
    check_folder(folder)
    if spec is None:
        if not (folder / SPEC_NAME).is_file():
            raise CheckpointError(
                f"{str(folder)!r} is a Hugging Face directory without {SPEC_NAME}; pass --spec FILE naming the task, "
                'n and the answer tokens, e.g. {"task": "index-lookup", "n": 8, "answer_tokens": [10, 11]}')
        spec = folder / SPEC_NAME
    parsed = parse_spec(spec)
    if parsed.answer_tokens is None:
        raise CheckpointError(
            f"the spec of {str(folder)!r} lacks 'answer_tokens': a causal LM answers with vocabulary ids, so name "
            'the id of each answer in order, e.g. "answer_tokens": [10, 11]')
    task = parsed.build_task()
    model = load_hf_directory(folder, parsed.answer_tokens, trust_pickle=trust_pickle, device=device)
    vocab = int(model.lm.config.vocab_size)
    if vocab < task.vocab_size:
        raise CheckpointError(f"the model in {str(folder)!r} reads {vocab} token ids but {task} uses "
                              f"{task.vocab_size}; fix the spec's task or tokens")
    if len(parsed.answer_tokens) != task.num_classes:
        raise CheckpointError(f"the spec names {len(parsed.answer_tokens)} answer tokens but {task} has "
                              f"{task.num_classes} answers; give one id per answer")
    meta: dict[str, Any] = {"spec": parsed.to_dict(), "model_type": model.lm.config.model_type,
                            "model_class": type(model.lm).__name__}
    if (folder / TRAIN_NAME).is_file():
        try:
            meta["train"] = json.loads((folder / TRAIN_NAME).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise CheckpointError(f"{str(folder / TRAIN_NAME)!r} is not a readable UTF-8 JSON file "
                                  f"({type(e).__name__}); delete it or re-save the folder") from None
    return LoadedCheckpoint(model, None, task, meta, str(folder), "hf-pretrained", _digest(folder),
                            "safetensors" if list(folder.glob("*.safetensors")) else "bin")
