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


def _digest(folder: Path) -> str:
    """SHA-256 over config.json and the weight files, in name order."""
    h = hashlib.sha256()
    for f in sorted([folder / "config.json", *folder.glob("*.safetensors"), *folder.glob("*.bin")]):
        h.update(f.name.encode())
        h.update(f.read_bytes())
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
    from ccbounds.checkpoint._load import LoadedCheckpoint
    from ccbounds.models.hf import SPEC_NAME, load_hf_directory

    folder = Path(path)
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
        meta["train"] = json.loads((folder / TRAIN_NAME).read_text(encoding="utf-8"))
    return LoadedCheckpoint(model, None, task, meta, str(folder), "hf-pretrained", _digest(folder),
                            "safetensors" if list(folder.glob("*.safetensors")) else "bin")
