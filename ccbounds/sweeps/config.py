"""Sweep configurations: a TOML file expands into a grid of :class:`RunSpec` (train + audit), each keyed by a hash.

A sweep file has four parts; every key of ``[train]`` and of each ``[[models]]`` entry is a field of
:class:`ccbounds.training.TrainConfig`, and a list value is a grid axis (the grid is the product):

.. code-block:: toml

    [sweep]
    name = "tiny"
    tasks = ["index-lookup"]          # or several; see ccbounds.training.TRAIN_TASKS
    lengths = [4, 8]                  # the task's size n (or a table: lengths.dyck = [2, 4])
    seeds = [0]

    [train]                           # shared by every run; lists are axes (e.g. steps = [100, 1000])
    steps = 200

    [task_options.dyck]               # per-task TrainConfig fields (optional)
    negatives = "near-miss"

    [audit]                           # one audit per run, at every precision
    precisions = [1, 8, 32]
    samples = 256

    [[models]]                        # one entry per architecture; the arch name goes to training as is
    arch = "lstm"
    width = [4, 16]

The key of a run (:attr:`RunSpec.key`) is a hash of its canonical config: the TrainConfig fields
that are set (None dropped) and the audit settings. Where a run executes (``device``) is not part of
the key: a result is the same experiment wherever it ran (its row records the device).

Examples
--------
>>> cfg = parse_sweep_config('''
... [sweep]
... name = "tiny"
... tasks = ["index-lookup"]
... lengths = [4, 8]
... [train]
... steps = 5
... [audit]
... precisions = [1, 32]
... samples = 16
... [[models]]
... arch = "lstm"
... width = [2, 4]
... ''')
>>> [(r.train["n"], r.train["width"]) for r in cfg.runs]
[(4, 2), (4, 4), (8, 2), (8, 4)]
>>> len({r.key for r in cfg.runs}), len(cfg.runs[0].key)
(4, 16)
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ccbounds.errors import CCBoundsError, InvalidInputError

try:
    import tomllib  # Python >= 3.11
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = ["AUDIT_DEFAULTS", "RunSpec", "SweepConfig", "load_sweep_config", "parse_sweep_config", "run_key"]

#: audit settings of every run unless ``[audit]`` says otherwise (``witnesses = 0``: sweeps keep no witnesses)
AUDIT_DEFAULTS: dict[str, Any] = {"precisions": [1, 2, 4, 8, 16, 32], "samples": 512, "calibration_samples": 256,
                                  "confidence": 0.95, "seed": None}
_SECTIONS = ("sweep", "train", "task_options", "audit", "models")
_SWEEP_KEYS = ("name", "description", "tasks", "lengths", "seeds")


def run_key(canonical: dict[str, Any]) -> str:
    """The first 16 hex digits of the SHA-256 of ``canonical`` as sorted, compact JSON.

    Examples
    --------
    >>> run_key({"b": 1, "a": [2]}) == run_key({"a": [2], "b": 1}), run_key({"a": 1})
    (True, '015abd7f5cc57a2d')
    """
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class RunSpec:
    """One train + audit run of a sweep.

    Attributes
    ----------
    train : dict
        Keyword arguments of :class:`ccbounds.training.TrainConfig` (None-valued fields dropped).
    audit : dict
        ``precisions``, ``samples``, ``calibration_samples``, ``confidence``, ``seed`` of :func:`ccbounds.audit`.
    key : str
        :func:`run_key` of ``{"train": train, "audit": audit}``: the run's row name in the results table.
    """

    train: dict[str, Any]
    audit: dict[str, Any]
    key: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", run_key(self.canonical()))

    def canonical(self) -> dict[str, Any]:
        """What the key hashes: the run's training and audit settings (no device, no paths)."""
        return {"train": dict(self.train), "audit": dict(self.audit)}

    def label(self) -> str:
        """A short human name, e.g. ``lstm w4 index-lookup n=8 seed 0``."""
        t = self.train
        layers = f"x{t['layers']}" if t.get("layers", 1) != 1 else ""
        return (f"{t['arch']}{layers} w{t['width']} {t['task']} n={t['n']} seed {t.get('seed', 0)} "
                f"steps {t.get('steps')}")


@dataclass(frozen=True)
class SweepConfig:
    """A parsed sweep file: its name, the runs of its grid (duplicates removed, grid order) and its source."""

    name: str
    description: str
    runs: tuple[RunSpec, ...]
    source: str = ""

    def __str__(self) -> str:
        archs = sorted({r.train["arch"] for r in self.runs})
        tasks = sorted({r.train["task"] for r in self.runs})
        return f"sweep {self.name!r}: {len(self.runs)} runs; tasks {', '.join(tasks)}; archs {', '.join(archs)}"


def _as_list(v: Any) -> list[Any]:
    return list(v) if isinstance(v, list) else [v]


def _axes(table: dict[str, Any], where: str) -> list[dict[str, Any]]:
    """The product of a table's list values (scalars are fixed): one dict per grid point."""
    keys = list(table)
    for k in keys:
        if isinstance(table[k], list) and not table[k]:
            raise InvalidInputError(f"{where}: {k} is an empty list; give at least one value")
    return [dict(zip(keys, combo)) for combo in itertools.product(*(_as_list(table[k]) for k in keys))]


def _check_keys(table: Any, valid: tuple[str, ...], where: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise InvalidInputError(f"{where} must be a TOML table, got {type(table).__name__}")
    unknown = sorted(set(table) - set(valid))
    if unknown:
        raise InvalidInputError(f"{where}: unknown keys {unknown}; valid keys are {sorted(valid)}")
    return dict(table)


def _lengths(sweep: dict[str, Any], tasks: list[str]) -> dict[str, list[int]]:
    lengths = sweep.get("lengths")
    if lengths is None:
        raise InvalidInputError("[sweep] needs lengths = [...] (the task size n), or a table lengths.TASK = [...]")
    if isinstance(lengths, dict):
        missing = [t for t in tasks if t not in lengths]
        if missing:
            raise InvalidInputError(f"[sweep] lengths has no entry for tasks {missing}; "
                                    f"add lengths.{missing[0]} = [...]")
        return {t: _as_list(lengths[t]) for t in tasks}
    return {t: _as_list(lengths) for t in tasks}


def _check_audit(audit: dict[str, Any], precisions: list[Any], where: str) -> None:
    """Every ``[audit]`` value as :func:`ccbounds.audit` will check it, before the first run trains."""
    from ccbounds.auditing.runner import AuditSettings
    from ccbounds.quantize.precision import parse_precisions

    try:
        parse_precisions(precisions)
        seed = audit["seed"]
        AuditSettings(audit["samples"], 0 if seed is None else seed, audit["confidence"],
                      audit["calibration_samples"], 0, 1)
    except CCBoundsError as e:
        raise type(e)(f"{where}: {e}") from None


def parse_sweep_config(text: str, source: str = "<string>") -> SweepConfig:
    """Parse a sweep TOML text into a :class:`SweepConfig`, validating every run's TrainConfig.

    Raises
    ------
    InvalidInputError
        Not TOML, unknown sections or keys, empty grids, or a run that :class:`TrainConfig` refuses
        (the message names the ``[[models]]`` entry).
    UnknownNameError
        An unknown task or architecture (from :class:`TrainConfig`; the message lists the valid ones).
    """
    from ccbounds.training.config import TrainConfig

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InvalidInputError(f"{source} is not valid TOML ({e}); see configs/ for examples") from None
    data = _check_keys(data, _SECTIONS, source)
    sweep = _check_keys(data.get("sweep", {}), _SWEEP_KEYS, f"{source} [sweep]")
    fields = tuple(f for f in TrainConfig.__dataclass_fields__ if f not in ("task", "n", "seed"))  # from [sweep]
    train = _check_keys(data.get("train", {}), fields, f"{source} [train]")
    audit = {**AUDIT_DEFAULTS, **_check_keys(data.get("audit", {}), tuple(AUDIT_DEFAULTS), f"{source} [audit]")}
    options = _check_keys(data.get("task_options", {}), tuple(data.get("task_options", {})), f"{source} [task_options]")
    models = data.get("models")
    if not isinstance(models, list) or not models:
        raise InvalidInputError(f"{source}: no [[models]] entries; add one per architecture (arch = ..., width = ...)")
    tasks = _as_list(sweep.get("tasks", []))
    if not tasks:
        raise InvalidInputError(f"{source} [sweep] needs tasks = [...], e.g. tasks = [\"index-lookup\"]")
    lengths = _lengths(sweep, tasks)
    seeds = _as_list(sweep.get("seeds", [0]))
    precisions = _as_list(audit["precisions"])
    if not precisions:
        raise InvalidInputError(f"{source} [audit] precisions is empty; e.g. precisions = [1, 8, 32]")
    _check_audit(audit, precisions, f"{source} [audit]")
    runs: dict[str, RunSpec] = {}
    for t in tasks:
        opts = _check_keys(options.get(t, {}), fields, f"{source} [task_options.{t}]")
        for n, seed in itertools.product(lengths[t], seeds):
            for m, model in enumerate(models):
                model = _check_keys(model, fields, f"{source} [[models]] #{m + 1}")
                if "arch" not in model or "width" not in model:
                    raise InvalidInputError(f"{source} [[models]] #{m + 1} needs arch = ... and width = ...")
                for point in _axes({**train, **opts, **model}, f"{source} [[models]] #{m + 1}"):
                    kw = {**point, "task": t, "n": n, "seed": seed}
                    try:
                        tc = TrainConfig(**kw)
                    except CCBoundsError as e:
                        raise type(e)(_config_message(str(e), source, m, t, n, set(model))) from None
                    spec_train = {k: v for k, v in tc.to_dict().items() if v is not None}
                    spec_audit = {**audit, "precisions": precisions,
                                  "seed": seed if audit["seed"] is None else audit["seed"]}
                    spec = RunSpec(spec_train, spec_audit)
                    runs.setdefault(spec.key, spec)
    return SweepConfig(str(sweep.get("name", Path(source).stem)), str(sweep.get("description", "")),
                       tuple(runs.values()), source)


#: the config key (and its section) behind each TrainConfig field that [sweep] sets
_SWEEP_FIELDS = {"n": ("[sweep]", "lengths"), "seed": ("[sweep]", "seeds")}


def _config_message(msg: str, source: str, m: int, task: str, n: int, model_keys: set[str]) -> str:
    """A TrainConfig error rewritten for a config file: the command-line hint ("pass --width 1 or more") becomes
    the config key to change, in its section ("set width in [[models]] #1 of FILE to 1 or more")."""
    where = f"{source} [[models]] #{m + 1} ({task}, n={n})"
    found = re.search(r"^(\w+) must .*?; pass --([\w-]+) (.+)$", msg)
    if not found:
        return f"{where}: {msg}"
    field, hint = found.group(1), found.group(3)
    section, key = _SWEEP_FIELDS.get(field, ("[[models]] #" + str(m + 1) if field in model_keys else "[train]",
                                             field))
    head = msg[: found.start(2) - len("; pass --")]
    values = " (every value in the list)" if field in _SWEEP_FIELDS else ""
    return f"{where}: {head}; set {key} in {section} of {source} to {hint}{values}"


def load_sweep_config(path: str | Path) -> SweepConfig:
    """Read and parse a sweep TOML file (see :func:`parse_sweep_config`).

    Raises
    ------
    InvalidInputError
        Missing or unreadable file, or an invalid config.
    """
    p = Path(path)
    if not p.is_file():
        raise InvalidInputError(f"the sweep config {str(p)!r} does not exist or is not a file; pass a TOML file "
                                "such as configs/small-cpu.toml")
    if p.stat().st_size > 2**20:
        raise InvalidInputError(f"the sweep config {str(p)!r} is over 1 MiB; a sweep config is a small TOML file "
                                "such as configs/small-cpu.toml")
    try:
        text = p.read_bytes().decode("utf-8")
    except OSError as e:
        raise InvalidInputError(f"cannot read the sweep config {str(p)!r} ({e.strerror}); pass a TOML file "
                                "such as configs/small-cpu.toml") from None
    except UnicodeDecodeError as e:
        raise InvalidInputError(f"the sweep config {str(p)!r} is not UTF-8 text (byte {e.start}); TOML files are "
                                "UTF-8, save it as UTF-8") from None
    return parse_sweep_config(text, source=str(p))
