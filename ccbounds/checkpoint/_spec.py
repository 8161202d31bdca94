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

__all__ = ["CheckpointSpec", "parse_spec", "MODEL_KEYS"]

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
)

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
    source: str = "dict"

    def build_task(self) -> Any:
        """The task object, ``get_task(task, n, **task_options)`` (bad names or options raise there)."""
        from ccbounds.tasks import get_task

        return get_task(self.task, self.n, **self.task_options)

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain data (the form :func:`parse_spec` reads)."""
        out: dict[str, Any] = {"task": self.task, "n": self.n, **self.task_options}
        for key in MODEL_KEYS:
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


def _read_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InvalidInputError(
            f"spec file {str(path)!r} does not exist or is not a file; pass the path of a JSON or TOML spec"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInputError(f"cannot read the spec file {str(path)!r} ({e}); pass a UTF-8 JSON or TOML file") from e
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
        except toml.TOMLDecodeError as e:
            raise InvalidInputError(f"spec file {str(path)!r} is not valid TOML ({e}); fix it or write it as "
                                    f"JSON") from e
    else:
        try:
            data = json.loads(text)
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
    return CheckpointSpec(task=task, n=n, task_options=data, source=source, **model)
