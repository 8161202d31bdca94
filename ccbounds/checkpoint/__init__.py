"""Checkpoints: saving reference models, and loading untrusted files into them.

DESIGN: checkpoints are untrusted input. ``torch.load`` is called with ``weights_only=True``
(written out in ``_container.py``), so loading never runs code from the file; safetensors files
are read with ``safetensors``; a pickled module is refused unless the caller passes
``trust_pickle=True`` (``--trust-pickle``). Every problem -- a missing, empty, truncated or random
file, NaN weights, wrong shapes, bad metadata, a vocabulary that does not fit the task -- raises a
:class:`~ccbounds.errors.CheckpointError` whose one-line message says what to do.

Format
------
A ccbounds checkpoint is a state_dict plus JSON metadata::

    {"format": "ccbounds-checkpoint", "version": 1,
     "model": config.to_dict(),            # with "arch": "lstm", "tf1", ...
     "task": task.to_dict(),               # name, n, token layout, vocab_size
     "train": {"command": "ccbounds train ...", "seed": 0, "steps": 2000, "final_accuracy": 1.0},
     "created_by": "ccbounds 0.1.0"}

in one of two containers, chosen by the file's suffix when saving and by its first bytes when loading:

* ``.pt``: ``torch.save({"state_dict": {name: tensor}, "ccbounds_metadata": json.dumps(meta)}, path)``;
* ``.safetensors``: the tensors, with ``metadata={"ccbounds_metadata": json.dumps(meta)}``.

Hugging Face directories
------------------------
A ``save_pretrained`` directory (config.json + safetensors) of a causal LM loads with a spec naming
``answer_tokens`` (the vocabulary id of each answer, read at the last position), given as ``--spec`` or
as ``ccbounds-spec.json`` inside the directory (``ccbounds train --arch mamba`` writes it).
``trust_remote_code`` is never set; pickled ``.bin`` weights need ``trust_pickle=True``. The model is
the user's, read through :class:`~ccbounds.models.answers.AnswerLogits` (format ``"hf-pretrained"``).

Foreign checkpoints and spec files
----------------------------------
A plain ``torch.save(model.state_dict(), "lstm.pt")`` of an ``Embedding -> LSTM -> Linear``
classifier, or of a Transformer built from ``nn.TransformerEncoderLayer`` / ``nn.MultiheadAttention``,
written by code that knows nothing of ccbounds, loads with a *spec* naming what the tensors cannot
say. A worked example, ``lookup.toml`` (the same keys work as JSON)::

    task = "index-lookup"      # required: the task the model was trained on ...
    n = 16                     # ... and its size
    q = 2                      # task options, passed to ccbounds.tasks.get_task
    heads = 4                  # Transformers: in_proj_weight is (3d, d) for any number of heads
    norm_first = false         # pre-norm blocks? (not visible in the weights; PyTorch default false)
    readout = "classifier"     # only if two modules could be the readout (the error says so)

    [tokens]                   # only if the model used other token ids than theory §5's defaults
    I0 = 2

then ``load_checkpoint("lookup.pt", spec="lookup.toml")``. The architecture and all sizes are read
from the tensor names and shapes (``weight_ih_l0`` rows / hidden = 1, 3, 4 for RNN, GRU, LSTM; the
layer count from ``_l{k}``; d_model and d_ff from the attention and FFN weights), the tensors are
renamed onto :class:`~ccbounds.models.RecurrentClassifier` / :class:`~ccbounds.models.TransformerClassifier`
and loaded with ``strict=True``; ``LoadedCheckpoint.mapping`` records where each tensor came from.

Examples
--------
>>> import tempfile, os, torch
>>> from ccbounds.models import RecurrentConfig, build_model
>>> from ccbounds.tasks import get_task
>>> task = get_task("index-lookup", 4, q=2)
>>> _ = torch.manual_seed(0); model = build_model(RecurrentConfig("gru", task.vocab_size, 2, width=8))
>>> path = os.path.join(tempfile.mkdtemp(), "gru.safetensors")
>>> _ = save_checkpoint(model, path, task=task, train_info={"seed": 0, "steps": 10})
>>> ck = load_checkpoint(path)
>>> ck.format, ck.config.arch, str(ck.task), ck.metadata["train"]["steps"]
('ccbounds', 'gru', 'index-lookup(n=4, q=2)', 10)
"""

from __future__ import annotations

from ccbounds.checkpoint._container import sha256_file
from ccbounds.checkpoint._foreign import infer_reference
from ccbounds.checkpoint._load import FORMAT, FORMATS, VERSION, LoadedCheckpoint, load_checkpoint, save_checkpoint
from ccbounds.checkpoint._spec import MODEL_KEYS, CheckpointSpec, parse_spec

__all__ = [
    "save_checkpoint",
    "load_checkpoint",
    "LoadedCheckpoint",
    "CheckpointSpec",
    "parse_spec",
    "infer_reference",
    "sha256_file",
    "FORMAT",
    "VERSION",
    "FORMATS",
    "MODEL_KEYS",
]
