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
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ccbounds.architectures import ARCHITECTURES
from ccbounds.errors import InvalidInputError, UnknownNameError

__all__ = ["SeparationConfig", "EXPERIMENT_TASKS", "EXPERIMENT_ARCHS", "add_experiment_arguments",
           "config_from_args", "parse_command_line"]

#: tasks the experiment trains on (each embeds a problem with a one-way lower bound, SPEC §5)
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
        index lookup embeds INDEX_n; Dyck-(2,2) of length 4n embeds DISJ_n (SPEC §5).
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
            raise UnknownNameError(f"unknown dyck_negatives {self.dyck_negatives!r}; valid ones are ['near-miss', 'uniform']")

    def width(self, arch: str) -> int:
        """The width of ``arch`` in this run."""
        return dict(self.widths)[arch]

    def train_config(self, task: str, n: int, arch: str) -> Any:
        """The :class:`~ccbounds.training.TrainConfig` of one run.

        Examples
        --------
        >>> print(SeparationConfig().train_config("dyck", 4, "gru").command_line("m.pt"))
        ccbounds train --arch gru --task dyck --n 4 --width 8 --steps 1000 --seed 0 --batch-size 64 --lr 0.003 --clip 1.0 --schedule cosine --eval-size 1000 --layers 1 --q 2 --negatives near-miss -o m.pt
        """
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


# --- the command line maps 1:1 onto SeparationConfig ----------------------------------------------
def _list(kind: Callable[[str], Any]) -> Callable[[str], tuple]:
    def parse(text: str) -> tuple:
        try:
            return tuple(kind(v.strip()) for v in text.split(",") if v.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {text!r}") from None
    return parse


def _widths(text: str) -> tuple[tuple[str, int], ...]:
    try:
        return tuple((a.strip(), int(w)) for a, w in (item.split("=") for item in text.split(",") if item.strip()))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected ARCH=WIDTH pairs such as tf1=16,lstm=8, got {text!r}") from None


def add_experiment_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Declare one option per :class:`SeparationConfig` field, plus ``-o/--output``, on ``parser``.

    Examples
    --------
    >>> ns = add_experiment_arguments(argparse.ArgumentParser()).parse_args("--ns 2,3 --widths lstm=4".split())
    >>> config_from_args(ns).ns, config_from_args(ns).width("lstm"), ns.output
    ((2, 3), 4, 'separations.json')
    """
    d = SeparationConfig()
    add = parser.add_argument
    add("--tasks", type=_list(str), default=d.tasks, help=f"comma-separated, of {','.join(EXPERIMENT_TASKS)}")
    add("--ns", type=_list(int), default=d.ns, help="sizes n of INDEX_n / DISJ_n (Dyck length 4n)")
    add("--archs", type=_list(str), default=d.archs, help=f"comma-separated, of {','.join(EXPERIMENT_ARCHS)}")
    add("--widths", type=_widths, default=d.widths, help="ARCH=WIDTH pairs (hidden size / d_model)")
    add("--steps", type=int, default=d.steps, help="optimiser steps per model")
    add("--batch-size", type=int, default=d.batch_size, dest="batch_size", help="sequences per step")
    add("--lr", type=float, default=d.lr, help="peak Adam learning rate")
    add("--eval-size", type=int, default=d.eval_size, dest="eval_size", help="held-out balanced sample size")
    add("--precisions", type=_list(int), default=d.precisions, help="bits per scalar b for S·b")
    add("--audit-samples", type=int, default=d.audit_samples, dest="audit_samples",
        help="Alice inputs K of each run's audit")
    add("--seed", type=int, default=d.seed, help="the only source of randomness")
    add("--dyck-negatives", default=d.dyck_negatives, dest="dyck_negatives", choices=["near-miss", "uniform"],
        help="how Dyck non-members are drawn (near-miss: what the DISJ gadget produces)")
    add("-o", "--output", default="separations.json", help="results JSON path")
    return parser


def config_from_args(args: argparse.Namespace) -> SeparationConfig:
    """The :class:`SeparationConfig` of parsed :func:`add_experiment_arguments` options."""
    return SeparationConfig(**{k: getattr(args, k) for k in SeparationConfig.__dataclass_fields__})


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
    parser = add_experiment_arguments(argparse.ArgumentParser(prog="ccbounds experiment separations",
                                                              exit_on_error=False))
    try:
        ns = parser.parse_args(argv[3:])
    except (argparse.ArgumentError, SystemExit) as e:
        raise InvalidInputError(f"cannot parse the experiment command ({e}); see "
                                "'ccbounds experiment separations --help'") from None
    return config_from_args(ns), ns.output

