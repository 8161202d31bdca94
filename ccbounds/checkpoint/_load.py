"""Saving ccbounds checkpoints and loading any supported checkpoint into a reference model."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ccbounds.checkpoint._container import RawCheckpoint, read_container, sha256_file
from ccbounds.checkpoint._foreign import infer_reference
from ccbounds.checkpoint._loaded import FORMATS, REBUILT, LoadedCheckpoint
from ccbounds.checkpoint._spec import CheckpointSpec, parse_spec
from ccbounds.errors import CCBoundsError, CheckpointError, InvalidInputError

__all__ = ["LoadedCheckpoint", "save_checkpoint", "load_checkpoint", "check_rebuild_facts", "FORMAT", "VERSION",
           "FORMATS", "REBUILT"]

FORMAT = "ccbounds-checkpoint"
VERSION = 1
_SUFFIXES = (".pt", ".safetensors")


def _check_finite(state: Mapping[str, Any], where: str) -> None:
    import torch

    for name, t in state.items():
        if torch.is_floating_point(t) or torch.is_complex(t):
            bad = int((~torch.isfinite(t)).sum())
            if bad:
                raise CheckpointError(
                    f"{where}: tensor {name!r} has {bad} non-finite value(s) (NaN or inf); the file is corrupted "
                    "or training diverged, use an earlier checkpoint"
                )


def check_against_task(config: Any, task: Any) -> None:
    """Raise a CheckpointError if the model's vocabulary, classes or length do not fit the task."""
    if config.vocab_size != task.vocab_size:
        raise CheckpointError(
            f"the checkpoint's embedding has {config.vocab_size} rows but the task {task.name} with n={task.n} "
            f"needs {task.vocab_size} token ids; pass the right --n/--task or a spec file with the model's token ids"
        )
    if config.num_classes != task.num_classes:
        raise CheckpointError(
            f"the checkpoint's readout has {config.num_classes} outputs but the task {task.name} with n={task.n} "
            f"has {task.num_classes} classes; pass the right --task/--n (or q) for this model"
        )
    max_len = getattr(config, "max_len", None)
    if max_len is not None and max_len < task.seq_len:
        raise CheckpointError(
            f"the checkpoint's position table has {max_len} rows but the task {task.name} with n={task.n} has "
            f"sequences of length {task.seq_len}; pass the n the model was trained for"
        )


def _parse_metadata(raw: str, path: str) -> dict[str, Any]:
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError as e:
        raise CheckpointError(
            f"checkpoint {path!r}: its ccbounds metadata is not valid JSON ({e.msg}); re-save it with save_checkpoint"
        ) from e
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        got = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise CheckpointError(
            f"checkpoint {path!r}: metadata format is {got!r}, not {FORMAT!r}; re-save it with save_checkpoint"
        )
    if meta.get("version") != VERSION:
        raise CheckpointError(
            f"checkpoint {path!r}: metadata version {meta.get('version')!r} is not supported (this ccbounds reads "
            f"version {VERSION}); use the ccbounds release that wrote it or re-save it"
        )
    for key in ("model", "task"):
        if not isinstance(meta.get(key), dict):
            raise CheckpointError(f"checkpoint {path!r}: metadata has no {key!r} object; re-save it with "
                                  f"save_checkpoint")
    return meta


def _from_metadata(meta: dict[str, Any], path: str) -> tuple[Any, Any]:
    from ccbounds.errors import CCBoundsError
    from ccbounds.models.config import config_from_dict
    from ccbounds.tasks import task_from_dict

    try:
        config = config_from_dict(meta["model"])
        task = task_from_dict(meta["task"])
    except (CCBoundsError, TypeError, ValueError, KeyError) as e:
        raise CheckpointError(
            f"checkpoint {path!r}: its metadata does not describe a valid model/task ({e}); re-save it"
        ) from e
    return config, task


def _build(config: Any, state: dict[str, Any], path: str, device: str) -> Any:
    import torch

    from ccbounds.models import build_model

    with torch.device("meta"):  # no random initialisation, no global RNG use
        model = build_model(config)
    if getattr(config, "positions", None) == "sinusoidal":
        from ccbounds.models.transformer import sinusoidal_table

        table = sinusoidal_table(config.max_len, config.d_model)
        if "pos_table" not in state:
            state = {**state, "pos_table": table}
        elif (state["pos_table"].shape != table.shape
              or not torch.allclose(state["pos_table"].float(), table, atol=1e-5)):
            raise CheckpointError(
                f"checkpoint {path!r}: its position table is not the sin/cos table of a sinusoidal model; "
                "drop 'positions': 'sinusoidal' from the spec to load it as learned positions"
            )
    want = model.state_dict()
    missing, unexpected = sorted(set(want) - set(state)), sorted(set(state) - set(want))
    if missing or unexpected:
        raise CheckpointError(
            f"checkpoint {path!r} does not fit its declared {config.arch} config: missing keys {missing[:5]}, "
            f"unexpected keys {unexpected[:5]}; the file was not written for this config, re-save it"
        )
    for name, t in want.items():
        if tuple(state[name].shape) != tuple(t.shape):
            raise CheckpointError(
                f"checkpoint {path!r}: tensor {name!r} has shape {tuple(state[name].shape)} but the declared "
                f"config {config} needs {tuple(t.shape)}; the metadata and weights disagree, re-save it"
            )
        if torch.is_floating_point(t) and not torch.is_floating_point(state[name]):
            raise CheckpointError(
                f"checkpoint {path!r}: weight {name!r} has dtype {state[name].dtype}, not a float type; save the "
                "float weights (tensor.float()): the audit quantizes the message itself")
    state = {k: v.to(torch.float32) if torch.is_floating_point(v) else v for k, v in state.items()}
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as e:
        raise CheckpointError(f"checkpoint {path!r} does not load into {config} ({str(e).splitlines()[-1][:160]}); "
                              "re-save it") from None
    return model.to(device).eval()


def _foreign(raw: RawCheckpoint, spec: CheckpointSpec | None, path: str, device: str) -> tuple:
    if spec is None:
        raise CheckpointError(
            f"checkpoint {path!r} has no ccbounds metadata; pass a spec (--spec FILE) naming its task, "
            'e.g. {"task": "index-lookup", "n": 16}'
        )
    task = spec.build_task()
    if raw.module is not None:
        config = getattr(raw.module, "config", None)
        if config is not None and hasattr(config, "arch") and hasattr(config, "vocab_size"):
            check_against_task(config, task)
        else:
            config = None
        model = raw.module.to(device).eval()
        return model, config, task, {"spec": spec.to_dict()}, "pickled-module", {}
    guess = _guess_arch(raw.state_dict)
    if guess is not None:  # the missing facts first, all of them, before any guess from the weights
        check_rebuild_facts(spec, guess, path)
    try:
        config, mapped, provenance, ignored = infer_reference(raw.state_dict, spec, task)
    except (IndexError, ValueError, TypeError, KeyError, RuntimeError, AttributeError) as e:
        if isinstance(e, CCBoundsError):
            raise
        raise CheckpointError(
            f"checkpoint {path!r}: cannot read a model's layout from its tensors ({type(e).__name__}: "
            f"{str(e)[:120]}); check that it is a state_dict of one of the reference layouts, or pass "
            "--model MODULE:CALLABLE") from None
    check_rebuild_facts(spec, config, path)
    check_against_task(config, task)
    model = _build(config, mapped, path, device)
    meta = {"spec": spec.to_dict(), "ignored_modules": ignored}
    return model, config, task, meta, "foreign-state-dict", provenance


def _guess_arch(state: Mapping[str, Any]) -> Any:
    """A stand-in config with the ``arch`` the tensor names suggest (tf1 / rnn / gru / lstm), or None."""
    from types import SimpleNamespace

    if any(k.endswith("in_proj_weight") for k in state):
        return SimpleNamespace(arch="tf1")
    ih = [k for k in state if k.endswith("weight_ih_l0")]
    hh = [k for k in state if k.endswith("weight_hh_l0")]
    if ih and hh and state[ih[0]].dim() == 2 and state[hh[0]].dim() == 2:
        rows, hidden = state[ih[0]].shape[0], state[hh[0]].shape[-1]
        gates = rows // hidden if hidden and rows % hidden == 0 else 0  # weight_ih stacks one block per gate
        return SimpleNamespace(arch={1: "rnn", 3: "gru", 4: "lstm"}.get(gates, "recurrent"))
    return None


def check_rebuild_facts(spec: CheckpointSpec, config: Any, path: str) -> None:
    """Refuse to rebuild a model from tensor names unless the spec gives every fact the weights cannot tell.

    Raises
    ------
    CheckpointError
        Listing the missing spec keys (:data:`~ccbounds.checkpoint._spec.REBUILD_FACTS`), or a fact the
        reference models cannot express (a readout elsewhere than the last position, scaled embeddings).
    """
    from ccbounds.checkpoint._spec import REBUILD_FACTS

    family = "rnn" if config.arch == "rnn" else "transformer" if config.arch.startswith("tf") else "recurrent"
    given = spec.to_dict()
    missing = [k for k in REBUILD_FACTS[family] if k not in given]
    if missing:
        explain = "; ".join(f"{k}: {REBUILD_FACTS[family][k]}" for k in missing)
        raise CheckpointError(
            f"checkpoint {path!r} is a bare state_dict of a {config.arch} model: a model rebuilt from its tensor names "
            f"needs the facts the weights cannot tell, and the spec lacks {missing} ({explain}); add them to the "
            "spec, or pass --model MODULE:CALLABLE to audit your own model's forward")
    if given["readout_position"] != "last":
        raise CheckpointError(
            f"the spec says readout_position {given['readout_position']!r}, but a model rebuilt from tensor names "
            "reads the last position; pass --model MODULE:CALLABLE to audit your own model's forward")
    if family == "transformer" and float(given["embedding_scale"]) != 1.0:
        raise CheckpointError(
            f"the spec says embedding_scale {given['embedding_scale']!r}, but a model rebuilt from tensor names adds "
            "unscaled embeddings and positions; pass --model MODULE:CALLABLE to audit your own model's forward")


def _with_code(raw: RawCheckpoint, meta_raw: Any, spec: CheckpointSpec | None, where: str, model_ref: str,
               model_kwargs: Any, device: str) -> tuple:
    from ccbounds.checkpoint._usercode import build_user_model

    if raw.state_dict is None:
        raise CheckpointError(f"checkpoint {where!r} holds no state_dict to load into --model {model_ref}")
    if meta_raw is not None:
        _, task = _from_metadata(_parse_metadata(meta_raw, where), where)
    elif spec is None:
        raise CheckpointError(f"checkpoint {where!r} does not say which task it was trained on; pass --spec FILE "
                              'naming it, e.g. {"task": "index-lookup", "n": 16}')
    else:
        task = spec.build_task()
    model = build_user_model(model_ref, model_kwargs, dict(raw.state_dict), where, device)
    meta = {"spec": spec.to_dict() if spec is not None else None, "model": model_ref,
            "model_kwargs": model_kwargs if isinstance(model_kwargs, dict) else model_kwargs or {}}
    return model, task, meta


def load_checkpoint(
    path: str | Path,
    *,
    spec: Mapping[str, Any] | str | Path | None = None,
    trust_pickle: bool = False,
    device: str = "cpu",
    model: str | None = None,
    model_kwargs: Any = None,
) -> LoadedCheckpoint:
    """Load a checkpoint (untrusted input) into a reference model in eval mode.

    See the :mod:`ccbounds.checkpoint` docstring for the formats and a worked example.

    Parameters
    ----------
    path : str or pathlib.Path
        A ccbounds checkpoint, a foreign ``.pt`` / ``.safetensors`` state_dict, or a Hugging Face
        ``save_pretrained`` directory (its spec names ``answer_tokens``; see :mod:`ccbounds.checkpoint._hf`).
    spec : dict or path, optional
        Required for files without ccbounds metadata: the task and what the tensors cannot tell.
        With a ccbounds checkpoint it must agree with the stored task.
    trust_pickle : bool
        Allow unpickling Python objects (a whole module) if the safe load fails. Runs the file's code.
    device : str
        Where to put the model.
    model : str, optional
        ``"MODULE:CALLABLE"``: build the model with the user's own code (imported from the working
        directory) and load the state_dict into it, strictly and safely; the audit then runs its real forward.
    model_kwargs : dict or JSON text, optional
        Keyword arguments of that callable.

    Returns
    -------
    LoadedCheckpoint

    Raises
    ------
    CheckpointError
        Unreadable, truncated, malicious, non-finite, mis-shaped, ambiguous or inconsistent files.
    InvalidInputError
        A malformed spec.
    """
    from ccbounds.devices import resolve_device

    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise InvalidInputError(f"load_checkpoint needs the path of a checkpoint file or folder, got {path!r}")
    device = resolve_device(device)
    if Path(path).is_dir() and os.path.lexists(Path(path) / "config.json"):  # a Hugging Face save_pretrained folder
        from ccbounds.checkpoint._hf import load_hf_checkpoint

        return load_hf_checkpoint(path, spec, trust_pickle=trust_pickle, device=device)
    raw = read_container(path, trust_pickle=trust_pickle)
    where = str(path)
    parsed = None if spec is None else parse_spec(spec)
    if raw.state_dict is not None:
        _check_finite(raw.state_dict, f"checkpoint {where!r}")
    if model is not None:
        built, task, meta = _with_code(raw, raw.metadata, parsed, where, model, model_kwargs, device)
        return LoadedCheckpoint(built, None, task, meta, where, "state-dict-with-code", sha256_file(path),
                                raw.container, {}, f"your code: {model}")
    if raw.metadata is not None:
        meta = _parse_metadata(raw.metadata, where)
        config, task = _from_metadata(meta, where)
        if parsed is not None and parsed.build_task().to_dict() != task.to_dict():
            raise CheckpointError(
                f"the spec describes task {parsed.build_task()} but checkpoint {where!r} was trained on {task}; "
                "drop the spec (ccbounds checkpoints carry their task) or fix it"
            )
        check_against_task(config, task)
        built = _build(config, dict(raw.state_dict), where, device)
        fmt, mapping = "ccbounds", {}
    else:
        built, config, task, meta, fmt, mapping = _foreign(raw, parsed, where, device)
    source = {"ccbounds": "ccbounds checkpoint (its architecture from its metadata)", "foreign-state-dict": REBUILT,
              "pickled-module": "pickled module (the file's own code)"}[fmt]
    return LoadedCheckpoint(built, config, task, meta, where, fmt, sha256_file(path), raw.container, mapping, source)


def save_checkpoint(model: Any, path: str | Path, *, task: Any, train_info: Mapping[str, Any] | None = None) -> Path:
    """Write a reference model as a ccbounds checkpoint (``.pt`` or ``.safetensors``, by suffix).

    Parameters
    ----------
    model : RecurrentClassifier or TransformerClassifier
        A model built by :func:`ccbounds.models.build_model` (it carries ``model.config``).
    path : str or pathlib.Path
        Ends in ``.pt`` or ``.safetensors``. Written atomically (a temporary file, then a rename).
    task : Task
        The task it was trained on; its vocabulary and classes must fit the model.
    train_info : dict, optional
        Free JSON-serialisable record (``command``, ``seed``, ``steps``, ``final_accuracy``, ...).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InvalidInputError
        Wrong suffix, a model without a reference config, non-JSON ``train_info``.
    CheckpointError
        Non-finite weights, or a model that does not fit the task.
    """
    import torch

    from ccbounds import __version__
    from ccbounds.models.config import RecurrentConfig, TransformerConfig

    p = Path(path)
    if p.suffix not in _SUFFIXES:
        raise InvalidInputError(f"checkpoint path {str(p)!r} must end in .pt or .safetensors")
    config = getattr(model, "config", None)
    if not isinstance(config, (RecurrentConfig, TransformerConfig)):
        raise InvalidInputError(
            f"save_checkpoint writes ccbounds reference models (from build_model), got {type(model).__name__}; "
            "save other models with torch.save(model.state_dict(), path) and load them with a spec"
        )
    check_against_task(config, task)
    state = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    _check_finite(state, "save_checkpoint")
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "model": config.to_dict(),
        "task": task.to_dict(),
        "train": dict(train_info or {}),
        "created_by": f"ccbounds {__version__}",
    }
    try:
        text = json.dumps(meta, sort_keys=True)
    except (TypeError, ValueError) as e:
        raise InvalidInputError(
            f"train_info must be JSON-serialisable ({e}); pass plain numbers, strings, lists and dicts"
        ) from e
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    try:
        if p.suffix == ".pt":
            with open(tmp, "wb") as fh:  # a file object: torch names the archive "archive/", not after tmp
                torch.save({"state_dict": state, "ccbounds_metadata": text}, fh)
        else:
            from safetensors.torch import save_file

            save_file(state, str(tmp), metadata={"ccbounds_metadata": text})
        os.replace(tmp, p)
    except OSError as e:
        raise InvalidInputError(f"cannot write checkpoint {str(p)!r} ({e.strerror}); pass a writable path") from e
    finally:
        if tmp.exists():
            tmp.unlink()
    return p
