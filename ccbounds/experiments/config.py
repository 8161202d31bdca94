"""The configuration of the separation experiment and the command line that maps 1:1 onto it.

See :mod:`ccbounds.experiments.separations` for what a run records.

Examples
--------
>>> cfg = SeparationConfig(ns=(2, 3), steps=30)
>>> cfg.command_line("sep.json")
'ccbounds experiment separations --tasks index-lookup,dyck --ns 2,3 --archs tf1,lstm,gru --widths tf1=16,lstm=8,gru=8 --steps 30 --batch-size 64 --lr 0.003 --eval-size 1000 --precisions 1,8,32 --audit-samples 256 --seed 0 --dyck-negatives near-miss -o sep.json'
>>> parse_command_line(cfg.command_line("sep.json")) == (cfg, "sep.json")
True

References
----------
S. Bhattamishra, M. Hahn, P. Blunsom, V. Kanade, Separations in the Representational Capabilities of
Transformers and Recurrent Architectures, NeurIPS 2024 (arXiv 2406.09347).
"""  # noqa: E501 (doctest output)

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ccbounds._options import Option, parse_options
from ccbounds.architectures import ARCHITECTURES
from ccbounds.errors import InvalidInputError, UnknownNameError

__all__ = ["SeparationConfig", "EXPERIMENT_TASKS", "EXPERIMENT_ARCHS", "experiment_options", "parse_command_line"]

#: tasks the experiment trains on (each embeds a problem with a one-way lower bound, theory §5)
EXPERIMENT_TASKS = ("index-lookup", "dyck")
#: architectures: the registered families a reduction applies to (Lemma R or Lemma T)
EXPERIMENT_ARCHS = tuple(a.name for a in ARCHITECTURES.values() if a.lemma)
_DEFAULT_WIDTHS = (("tf1", 16), ("rnn", 8), ("lstm", 8), ("gru", 8))


def _positive_ints(values: Any, what: str) -> tuple[int, ...]:
    out = tuple(values)
    if not out or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in out):
        raise InvalidInputError(f"{what} must be a non-empty list of positive integers, got {values!r}; e.g. 4,8,16")
    if len(set(out)) != len(out):
        raise InvalidInputError(f"{what} lists a value twice ({list(out)}); give each once")
    return tuple(int(v) for v in out)


def _names(values: Any, valid: Sequence[str], what: str) -> tuple[str, ...]:
    out = (values,) if isinstance(values, str) else tuple(values)
    if not out or len(set(out)) != len(out):
        raise InvalidInputError(f"{what} must be a non-empty list without repeats, got {values!r}")
    for v in out:
        if v not in valid:
            raise UnknownNameError(f"unknown {what[:-1]} {v!r}; valid ones are {list(valid)}")
    return out


@dataclass(frozen=True)
class SeparationConfig:
    """Everything that fixes a separation run (and so its results file, bit for bit).

    Parameters
    ----------
    tasks : tuple of {"index-lookup", "dyck"}
        index lookup embeds INDEX_n; Dyck-(2,2) of length 4n embeds DISJ_n (theory §5).
    ns : tuple of int
        Sizes n of the embedded problem (the task's size parameter).
    archs : tuple of {"tf1", "rnn", "lstm", "gru"}
    widths : mapping or tuple of (arch, width) pairs
        Hidden size (recurrent) or d_model (tf1; heads = 2 if even, as in :class:`~ccbounds.training.TrainConfig`).
        Missing archs take 16 (tf1) or 8 (recurrent); stored as sorted pairs for ``archs`` only.
    steps, batch_size, lr, eval_size, seed : as in :class:`ccbounds.training.TrainConfig`
        Every run uses the same ``seed``.
    precisions : tuple of int
        Bits per scalar b at which the message size S·b is recorded and the induced protocol audited
        (b < 32: fixed point; 32: the model's float32).
    audit_samples : int
        Alice inputs K of each run's audit (:func:`ccbounds.audit`, seeded by ``seed``).
    dyck_negatives : {"near-miss", "uniform"}
        How Dyck non-members are drawn for training and the held-out accuracy. Near misses (one
        bracket changed) are what the DISJ_n -> Dyck-(2,2) gadget produces on intersecting inputs;
        uniform non-members are easy to reject and hide the separation.

    Raises
    ------
    InvalidInputError, UnknownNameError
        Empty or repeated lists, unknown names, non-positive sizes.

    Examples
    --------
    >>> SeparationConfig(archs=("lstm",), widths={"lstm": 3}).widths
    (('lstm', 3),)
    >>> SeparationConfig().width("tf1")
    16
    """

    tasks: tuple[str, ...] = EXPERIMENT_TASKS
    ns: tuple[int, ...] = (4, 8, 16, 32)
    archs: tuple[str, ...] = ("tf1", "lstm", "gru")
    widths: Any = _DEFAULT_WIDTHS
    steps: int = 1000
    batch_size: int = 64
    lr: float = 3e-3
    eval_size: int = 1000
    precisions: tuple[int, ...] = (1, 8, 32)
    audit_samples: int = 256
    seed: int = 0
    dyck_negatives: str = "near-miss"

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass)
        set_("tasks", _names(self.tasks, EXPERIMENT_TASKS, "tasks"))
        set_("archs", _names(self.archs, EXPERIMENT_ARCHS, "archs"))
        set_("ns", _positive_ints(self.ns, "ns"))
        set_("precisions", _positive_ints(self.precisions, "precisions"))
        if any(b > 32 for b in self.precisions):
            raise InvalidInputError(f"precisions are bits per scalar, 1..32; got {list(self.precisions)}")
        given = dict(self.widths.items() if isinstance(self.widths, Mapping) else self.widths)
        unknown = sorted(set(given) - set(EXPERIMENT_ARCHS))
        if unknown:
            raise UnknownNameError(f"widths name unknown archs {unknown}; valid ones are {list(EXPERIMENT_ARCHS)}")
        full = {**dict(_DEFAULT_WIDTHS), **given}
        set_("widths", tuple((a, _positive_ints([full[a]], f"width of {a}")[0]) for a in self.archs))
        for name in ("steps", "batch_size", "eval_size", "audit_samples"):
            set_(name, _positive_ints([getattr(self, name)], name)[0])
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise InvalidInputError(f"seed must be a non-negative integer, got {self.seed!r}; pass --seed 0")
        set_("seed", int(self.seed))
        if isinstance(self.lr, bool) or not isinstance(self.lr, (int, float)) or not 0 < self.lr < float("inf"):
            raise InvalidInputError(f"lr must be a positive number, got {self.lr!r}")
        set_("lr", float(self.lr))
        if self.dyck_negatives not in ("near-miss", "uniform"):
            raise UnknownNameError(f"unknown dyck_negatives {self.dyck_negatives!r}; valid ones are ['near-miss', "
                                   f"'uniform']")

    def width(self, arch: str) -> int:
        """The width of ``arch`` in this run."""
        return dict(self.widths)[arch]

    def train_config(self, task: str, n: int, arch: str) -> Any:
        """The :class:`~ccbounds.training.TrainConfig` of one run.

        Examples
        --------
        >>> print(SeparationConfig().train_config("dyck", 4, "gru").command_line("m.pt"))
        ccbounds train --arch gru --task dyck --n 4 --width 8 --steps 1000 --seed 0 --batch-size 64 --lr 0.003 --clip 1.0 --schedule cosine --eval-size 1000 --layers 1 --q 2 --negatives near-miss -o m.pt
        """  # noqa: E501 (doctest output)
        from ccbounds.training import TrainConfig

        return TrainConfig(arch, task, n=n, width=self.width(arch), steps=self.steps, seed=self.seed,
                           batch_size=self.batch_size, lr=self.lr, eval_size=self.eval_size,
                           negatives=self.dyck_negatives if task == "dyck" else None)

    def runs(self) -> list[tuple[str, int, str]]:
        """(task, n, arch) of every run, in the order they are trained."""
        return [(t, n, a) for t in self.tasks for n in self.ns for a in self.archs]

    def to_dict(self) -> dict[str, Any]:
        """Plain data; ``SeparationConfig(**d)`` rebuilds the config."""
        return {"tasks": list(self.tasks), "ns": list(self.ns), "archs": list(self.archs),
                "widths": dict(self.widths), "steps": self.steps, "batch_size": self.batch_size, "lr": self.lr,
                "eval_size": self.eval_size, "precisions": list(self.precisions),
                "audit_samples": self.audit_samples, "seed": self.seed, "dyck_negatives": self.dyck_negatives}

    def command_line(self, output: str = "separations.json") -> str:
        """The exact ``ccbounds experiment separations ...`` command (every option written)."""
        j = lambda v: ",".join(str(x) for x in v)  # noqa: E731
        parts = ["ccbounds", "experiment", "separations", "--tasks", j(self.tasks), "--ns", j(self.ns),
                 "--archs", j(self.archs), "--widths", j(f"{a}={w}" for a, w in self.widths),
                 "--steps", str(self.steps), "--batch-size", str(self.batch_size), "--lr", str(self.lr),
                 "--eval-size", str(self.eval_size), "--precisions", j(self.precisions),
                 "--audit-samples", str(self.audit_samples),
                 "--seed", str(self.seed), "--dyck-negatives", self.dyck_negatives, "-o", str(output)]
        return " ".join(shlex.quote(p) for p in parts)

    def __str__(self) -> str:
        w = ", ".join(f"{a} {v}" for a, v in self.widths)
        return (f"separations: tasks {', '.join(self.tasks)}; n in {list(self.ns)}; widths {w}; {self.steps} steps "
                f"(batch {self.batch_size}, lr {self.lr:g}); eval {self.eval_size}; b in {list(self.precisions)}; "
                f"audit K = {self.audit_samples}; seed {self.seed}; Dyck negatives {self.dyck_negatives}")


# --- the command line maps 1:1 onto SeparationConfig (options declared here, argparse in ccbounds.cli) ---
def _list(kind: Callable[[str], Any]) -> Callable[[str], tuple]:
    def parse(text: str) -> tuple:
        try:
            return tuple(kind(v.strip()) for v in text.split(",") if v.strip())
        except ValueError:
            raise ValueError(f"expected a comma-separated list, got {text!r}") from None
    return parse


def _widths(text: str) -> tuple[tuple[str, int], ...]:
    try:
        return tuple((a.strip(), int(w)) for a, w in (item.split("=") for item in text.split(",") if item.strip()))
    except ValueError:
        raise ValueError(f"expected ARCH=WIDTH pairs such as tf1=16,lstm=8, got {text!r}") from None


def experiment_options() -> tuple[Option, ...]:
    """One :class:`~ccbounds._options.Option` per :class:`SeparationConfig` field (``-o`` is the output).

    Examples
    --------
    >>> opts = {o.field: o for o in experiment_options()}
    >>> opts["ns"].parse("2,3"), opts["widths"].parse("lstm=4"), opts["ns"].flag
    ((2, 3), (('lstm', 4),), '--ns')
    """
    d = SeparationConfig()
    return (
        Option("tasks", _list(str), f"comma-separated, of {','.join(EXPERIMENT_TASKS)}", default=d.tasks),
        Option("ns", _list(int), "sizes n of INDEX_n / DISJ_n (Dyck length 4n)", default=d.ns),
        Option("archs", _list(str), f"comma-separated, of {','.join(EXPERIMENT_ARCHS)}", default=d.archs),
        Option("widths", _widths, "ARCH=WIDTH pairs (hidden size / d_model)", default=d.widths),
        Option("steps", int, "optimiser steps per model", default=d.steps),
        Option("batch_size", int, "sequences per step", default=d.batch_size),
        Option("lr", float, "peak Adam learning rate", default=d.lr),
        Option("eval_size", int, "held-out balanced sample size", default=d.eval_size),
        Option("precisions", _list(int), "bits per scalar b for S·b", default=d.precisions),
        Option("audit_samples", int, "Alice inputs K of each run's audit", default=d.audit_samples),
        Option("seed", int, "the only source of randomness", default=d.seed),
        Option("dyck_negatives", str, "how Dyck non-members are drawn (near-miss: what the DISJ gadget produces)",
               choices=("near-miss", "uniform"), default=d.dyck_negatives),
    )


def parse_command_line(command: str | Sequence[str]) -> tuple[SeparationConfig, str]:
    """Invert :meth:`SeparationConfig.command_line`: ``(config, output path)``.

    Raises
    ------
    InvalidInputError
        If the command is not ``ccbounds experiment separations ...`` with valid options.
    """
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    if argv[:3] != ["ccbounds", "experiment", "separations"]:
        raise InvalidInputError(f"expected 'ccbounds experiment separations ...', got {' '.join(argv[:3])!r}")
    values, output = parse_options(argv[3:], experiment_options(), "ccbounds experiment separations",
                                   output_default="separations.json")
    return SeparationConfig(**values), output
