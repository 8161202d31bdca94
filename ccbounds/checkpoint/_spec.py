"""Spec files: what a foreign checkpoint cannot say about itself (its task, and a few model facts).

A spec is a dict, or a path to a small JSON or TOML file holding one. Keys:

* ``"task"`` (required) and ``"n"`` (required): the task the model was trained on, as
  :func:`ccbounds.tasks.get_task` names it;
* task options, passed on to ``get_task`` unchanged: ``"q"``, ``"tokens"`` (token-name -> id overrides
  for a model trained with another layout), ``"vocab_size"``, ...;
* model facts the tensors cannot tell (all optional): ``"arch"`` (``"rnn"``, ``"gru"``, ``"lstm"``,
  ``"tf1"``, ...; checked against the inferred one), ``"heads"`` (Transformers: the state_dict cannot
  tell one head from several), ``"norm_first"``, ``"positions"`` (``"learned"`` or ``"sinusoidal"``),
  ``"max_len"``, ``"nonlinearity"`` (``"tanh"`` or ``"relu"``, plain RNNs);
* tensor names that resolve an ambiguous layout (all optional; a module name or its ``.weight``):
  ``"embedding"``, ``"position_embedding"``, ``"readout"``;
* ``"answer_tokens"``: for a causal LM (a Hugging Face ``save_pretrained`` directory), the vocabulary id
  of each answer in answer order, read at the last position.
* token layout (optional): ``"bos"`` / ``"eos"`` (a public token before / after the sequence),
  ``"data_offset"`` / ``"index_offset"`` (whole blocks of ids moved: data ids 5, 6, ...; index ids from 10);
* ``"readout_position"`` (``"last"``, or where else the head reads) and ``"embedding_scale"`` (the factor
  on token embeddings before positions are added).

A bare state_dict is rebuilt into a reference model only when the spec gives every fact of
:data:`REBUILD_FACTS` for its family (token ids, readout position; plain RNNs: the nonlinearity;
Transformers: heads, norm placement, position kind, embedding scale); otherwise the load is refused with the
missing keys. Such a model is labelled "rebuilt from tensor names": pass the model's own code
(``--model MODULE:CALLABLE``) to audit its real forward.

Examples
--------
>>> s = parse_spec({"task": "index-lookup", "n": 16, "q": 2, "heads": 2})
>>> (s.task, s.n, s.task_options, s.heads)
('index-lookup', 16, {'q': 2}, 2)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ccbounds.errors import InvalidInputError

__all__ = ["CheckpointSpec", "parse_spec", "MODEL_KEYS", "REBUILD_FACTS", "LAYOUT_KEYS"]

#: spec keys about the model (everything else except "task" and "n" is a task option)
MODEL_KEYS = (
    "arch",
    "heads",
    "norm_first",
    "positions",
    "max_len",
    "nonlinearity",
    "embedding",
    "position_embedding",
    "readout",
    "answer_tokens",
    "readout_position",
    "embedding_scale",
)

#: token-layout keys (reductions.gadgets.layouts): public frame tokens and whole blocks of ids moved by an offset
LAYOUT_KEYS = ("bos", "eos", "data_offset", "index_offset")

#: facts a model rebuilt from tensor names needs from the spec, per family, and what each says
REBUILD_FACTS: dict[str, dict[str, str]] = {
    "recurrent": {
        "tokens": "the token ids, with bos/eos/data_offset/index_offset if used ({} = theory §5's default layout)",
        "readout_position": '"last" when the head reads the last position',
    },
}
REBUILD_FACTS["rnn"] = {**REBUILD_FACTS["recurrent"], "nonlinearity": '"tanh" or "relu"'}
REBUILD_FACTS["transformer"] = {
    **REBUILD_FACTS["recurrent"],
    "heads": "the number of attention heads",
    "norm_first": "true for pre-norm blocks",
    "positions": '"learned" or "sinusoidal"',
    "embedding_scale": "the factor on token embeddings before positions are added (1 if none)",
}

_TYPES: dict[str, tuple[type, ...]] = {
    "arch": (str,),
    "heads": (int,),
    "norm_first": (bool,),
    "positions": (str,),
    "max_len": (int,),
    "nonlinearity": (str,),
    "embedding": (str,),
    "position_embedding": (str,),
    "readout": (str,),
    "answer_tokens": (list,),
    "readout_position": (str, int),
    "embedding_scale": (int, float),
}
_CHOICES = {"positions": ("learned", "sinusoidal"), "nonlinearity": ("tanh", "relu")}


@dataclass(frozen=True)
class CheckpointSpec:
    """A parsed spec: the task (name, n, options) and the optional model facts (see module docstring)."""

    task: str
    n: int
    task_options: dict[str, Any] = field(default_factory=dict)
    arch: str | None = None
    heads: int | None = None
    norm_first: bool | None = None
    positions: str | None = None
    max_len: int | None = None
    nonlinearity: str | None = None
    embedding: str | None = None
    position_embedding: str | None = None
    readout: str | None = None
    answer_tokens: list[int] | None = None
    readout_position: str | int | None = None
    embedding_scale: float | None = None
    layout: dict[str, int] = field(default_factory=dict)
    source: str = "dict"

    def build_task(self) -> Any:
        """The task object, ``get_task(task, n, **task_options)`` (bad names or options raise there)."""
        from ccbounds.tasks import get_task
        from ccbounds.tasks.framed import FramedTask, offset_tokens

        opts = dict(self.task_options)
        offsets = {k: self.layout[k] for k in ("data_offset", "index_offset") if k in self.layout}
        if offsets:
            moved = offset_tokens(self.task, self.n, int(opts.get("q", 2)), **offsets)
            opts["tokens"] = {**moved, **dict(opts.get("tokens") or {})}
        task = get_task(self.task, self.n, **opts)
        bos, eos = self.layout.get("bos"), self.layout.get("eos")
        if bos is None and eos is None:
            return task
        return FramedTask(task, () if bos is None else (bos,), () if eos is None else (eos,))

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain data (the form :func:`parse_spec` reads)."""
        out: dict[str, Any] = {"task": self.task, "n": self.n, **self.task_options, **self.layout}
        for key in MODEL_KEYS:
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


def _read_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InvalidInputError(
            f"spec file {str(path)!r} does not exist or is not a file; pass the path of a JSON or TOML spec"
        )
    if path.stat().st_size > 2**20:
        raise InvalidInputError(f"spec file {str(path)!r} is over 1 MiB; a spec is a small JSON or TOML file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInputError(f"cannot read the spec file {str(path)!r} ({type(e).__name__}); pass a UTF-8 JSON "
                                "or TOML file") from None
    if path.suffix.lower() == ".toml":
        try:
            import tomllib as toml  # Python >= 3.11
        except ModuleNotFoundError:  # pragma: no cover - Python 3.10 only
            try:
                import tomli as toml  # type: ignore[no-redef]
            except ModuleNotFoundError:
                raise InvalidInputError(
                    f"reading the TOML spec {str(path)!r} needs Python >= 3.11 (or the tomli package); "
                    "write the spec as JSON instead"
                ) from None
        try:
            data = toml.loads(text)
        except RecursionError:
            raise InvalidInputError(f"spec file {str(path)!r} nests too deeply to be a spec; write it as flat "
                                    "TOML") from None
        except toml.TOMLDecodeError as e:
            raise InvalidInputError(f"spec file {str(path)!r} is not valid TOML ({e}); fix it or write it as "
                                    f"JSON") from e
    else:
        try:
            data = json.loads(text)
        except RecursionError:
            raise InvalidInputError(f"spec file {str(path)!r} nests too deeply to be a spec; a spec is one flat "
                                    'JSON object such as {"task": "eq", "n": 8}') from None
        except json.JSONDecodeError as e:
            raise InvalidInputError(f"spec file {str(path)!r} is not valid JSON ({e}); fix it (or use a .toml "
                                    f"file)") from e
    if not isinstance(data, dict):
        raise InvalidInputError(f"spec file {str(path)!r} must hold one object/table, got {type(data).__name__}")
    return data


def parse_spec(spec: Mapping[str, Any] | str | Path, *, source: str | None = None) -> CheckpointSpec:
    """Read and validate a spec (dict, or path to a ``.json`` / ``.toml`` file).

    Parameters
    ----------
    spec : dict or str or pathlib.Path
        The spec itself, or the path of a file holding it (``.toml`` is read as TOML, anything else
        as JSON).
    source : str, optional
        How to name the spec in error messages (default: the path, or ``"dict"``).

    Returns
    -------
    CheckpointSpec

    Raises
    ------
    InvalidInputError
        Missing ``task``/``n``, a wrong type or value, an unreadable or malformed file.

    Examples
    --------
    >>> parse_spec({"task": "eq", "n": 4, "arch": "lstm"}).arch
    'lstm'
    >>> parse_spec({"n": 4})
    Traceback (most recent call last):
    ...
    ccbounds.errors.InvalidInputError: spec dict: missing key 'task'; a spec needs at least {"task": ..., "n": ...}
    """
    if isinstance(spec, (str, Path)):
        path = Path(spec)
        source = source or repr(str(path))
        data = _read_file(path)
    elif isinstance(spec, Mapping):
        source = source or "dict"
        data = dict(spec)
    else:
        raise InvalidInputError(f"a spec is a dict or the path of a JSON/TOML file, got {type(spec).__name__}")
    for key in ("task", "n"):
        if key not in data:
            raise InvalidInputError(f'spec {source}: missing key {key!r}; a spec needs at least {{"task": ..., "n": '
                                    f'...}}')
    task, n = data.pop("task"), data.pop("n")
    if not isinstance(task, str):
        raise InvalidInputError(f"spec {source}: 'task' must be a task name (a string), got {task!r}")
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise InvalidInputError(f"spec {source}: 'n' must be a positive integer, got {n!r}")
    model: dict[str, Any] = {}
    for key in MODEL_KEYS:
        if key not in data:
            continue
        value = data.pop(key)
        types = _TYPES[key]
        if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
            raise InvalidInputError(
                f"spec {source}: {key!r} must be of type {types[0].__name__}, got {value!r}"
            )
        if key in _CHOICES and value not in _CHOICES[key]:
            raise InvalidInputError(f"spec {source}: {key!r} must be one of {list(_CHOICES[key])}, got {value!r}")
        if key == "answer_tokens" and (len(value) < 2 or not all(isinstance(v, int) and not isinstance(v, bool)
                                                                  and v >= 0 for v in value)):
            raise InvalidInputError(f"spec {source}: 'answer_tokens' must list two or more token ids, got {value!r}")
        if key in ("heads", "max_len") and value <= 0:
            raise InvalidInputError(f"spec {source}: {key!r} must be a positive integer, got {value!r}")
        model[key] = value
    layout = {}
    for key in LAYOUT_KEYS:
        if key in data:
            value = data.pop(key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidInputError(f"spec {source}: {key!r} must be a token id (an integer >= 0), got {value!r}")
            layout[key] = value
    _check_unknown(task, data, source)
    return CheckpointSpec(task=task, n=n, task_options=data, source=source, layout=layout, **model)


def _check_unknown(task: str, options: Mapping[str, Any], source: str) -> None:
    """One clear error for a key that is neither a model fact, a layout key nor an option of the task."""
    import dataclasses
    import difflib

    from ccbounds.tasks import TASKS

    cls = TASKS.get(task)
    if cls is None or not dataclasses.is_dataclass(cls):
        return  # an unknown task name is reported by get_task, with the valid names
    fields = {f.name for f in dataclasses.fields(cls) if f.init} - {"n"}
    unknown = sorted(set(options) - fields)
    if unknown:
        valid = sorted({"task", "n", *fields, *MODEL_KEYS, *LAYOUT_KEYS})
        near = difflib.get_close_matches(unknown[0], valid, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise InvalidInputError(f"spec {source}: unknown key(s) {unknown}{hint}; valid keys for the task {task}: "
                                f"{', '.join(valid)}")
