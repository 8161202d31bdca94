"""Training configurations, and the command line that maps 1:1 onto them (``ccbounds train``).

:class:`TrainConfig` fixes a training run completely; :meth:`TrainConfig.command_line` writes the
exact ``ccbounds train ...`` command that reproduces it, :func:`train_options` declares one
option per field (the CLI turns them into ``argparse`` arguments) and :func:`parse_command_line`
inverts :meth:`TrainConfig.command_line`.

Examples
--------
>>> cfg = TrainConfig("lstm", "index-lookup", n=4, width=8, steps=3)
>>> cfg.command_line("lstm.pt")
'ccbounds train --arch lstm --task index-lookup --n 4 --width 8 --steps 3 --seed 0 --batch-size 64 --lr 0.003 --clip 1.0 --schedule cosine --eval-size 2000 --layers 1 --q 2 -o lstm.pt'
>>> parse_command_line(cfg.command_line("lstm.pt")) == (cfg, "lstm.pt")
True
"""  # noqa: E501 (doctest output)

from __future__ import annotations

import math
import shlex
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ccbounds._options import Option, parse_options
from ccbounds.architectures import ARCHITECTURES
from ccbounds.errors import InvalidInputError, UnknownNameError
from ccbounds.tasks import TOKEN_TASKS

__all__ = [
    "ARCHS",
    "TRAIN_TASKS",
    "SCHEDULES",
    "TrainConfig",
    "train_options",
    "parse_command_line",
]

#: architectures ``train`` builds: the families of :data:`ccbounds.architectures.ARCHITECTURES`
ARCHS = tuple(ARCHITECTURES)
#: tasks whose inputs are token ids (the ``"nn"`` task has real-vector inputs and is refused)
TRAIN_TASKS = TOKEN_TASKS
#: how Dyck non-members are sampled (ccbounds.tasks.BoundedDyck)
NEGATIVES = ("uniform", "near-miss")

#: learning-rate schedules after the warm-up
SCHEDULES = ("cosine", "linear", "constant")

_NN_MESSAGE = (
    "nearest-neighbour inputs are real vectors and the reference models read token ids, so `ccbounds train` "
    "cannot train on 'nn' (its task and gadget are in ccbounds.tasks / reductions.gadgets); train on one of {}"
)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (and so the weights, bit for bit).

    Parameters
    ----------
    arch : {"rnn", "gru", "lstm", "tf1", "tf2"}
        Recurrent cell, or a Transformer with 1 or 2 encoder layers.
    task : str
        A token task (:data:`ccbounds.tasks.TOKEN_TASKS`: index-lookup, eq, disj, dyck, ...) of
        :func:`ccbounds.tasks.get_task` (``"nn"`` is refused: its inputs are vectors).
    n : int
        The task's size parameter.
    width : int
        Hidden size of a recurrent cell, ``d_model`` of a Transformer.
    steps : int
        Optimiser steps.
    seed : int
        The only source of randomness (initialisation, batches, held-out sample).
    batch_size : int
        Sequences per step (balanced labels, see :meth:`ccbounds.tasks.Task.sample`).
    lr : float
        Peak Adam learning rate.
    clip : float
        Gradient-norm clipping threshold.
    schedule : {"cosine", "linear", "constant"}
        Decay after a linear warm-up of ``min(100, steps // 10)`` steps (see :func:`lr_factor`).
    eval_size : int
        Size of the held-out balanced sample that gives :attr:`TrainResult.accuracy`.
    layers : int
        Stacked recurrent layers (recurrent only; a Transformer's depth is in ``arch``).
    heads : int or None
        Attention heads (Transformers only); ``None`` means 2 if ``width`` is even, else 1.
    q : int
        Alphabet size of index lookup (2 for the other tasks).
    negatives : {"uniform", "near-miss"} or None
        Dyck only: how the non-members of the training and held-out samples are drawn
        (:class:`~ccbounds.tasks.BoundedDyck`); ``None`` is the task's default, uniform non-members.
        Near misses (one bracket changed) are the inputs the DISJ -> Dyck-(2,2) gadget produces.

    Raises
    ------
    UnknownNameError
        Unknown ``arch``, ``task`` or ``schedule`` (the message lists the valid ones).
    InvalidInputError
        Task ``"nn"``, non-positive sizes, ``heads`` for a recurrent model, ``layers`` for a
        Transformer, ``q != 2`` outside index lookup.

    Examples
    --------
    >>> TrainConfig("tf1", "disj", n=8, width=32).heads
    2
    >>> TrainConfig("gru", "eq", n=3, width=4, lr=0.01).to_dict()["lr"]
    0.01
    """

    arch: str
    task: str
    n: int
    width: int
    steps: int = 2000
    seed: int = 0
    batch_size: int = 64
    lr: float = 3e-3
    clip: float = 1.0
    schedule: str = "cosine"
    eval_size: int = 2000
    layers: int = 1
    heads: int | None = None
    q: int = 2
    negatives: str | None = None

    def __post_init__(self) -> None:
        if self.task == "nn":
            raise InvalidInputError(_NN_MESSAGE.format(list(TRAIN_TASKS)))
        for name, valid in (("arch", ARCHS), ("task", TRAIN_TASKS), ("schedule", SCHEDULES)):
            if getattr(self, name) not in valid:
                raise UnknownNameError(f"unknown {name} {getattr(self, name)!r}; valid ones are {list(valid)}")
        for name in ("n", "width", "steps", "batch_size", "eval_size", "layers", "q"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise InvalidInputError(f"{name} must be a positive integer, got {v!r}; pass --{_flag(name)} 1 or more")
            object.__setattr__(self, name, int(v))
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise InvalidInputError(f"seed must be a non-negative integer, got {self.seed!r}; pass --seed 0")
        object.__setattr__(self, "seed", int(self.seed))
        for name in ("lr", "clip"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise InvalidInputError(f"{name} must be a positive number, got {v!r}")
            object.__setattr__(self, name, float(v))
        if self.negatives is not None:
            if self.task != "dyck":
                raise InvalidInputError(f"negatives applies to task 'dyck' only; drop --negatives for task "
                                        f"{self.task!r}")
            if self.negatives not in NEGATIVES:
                raise UnknownNameError(f"unknown negatives {self.negatives!r}; valid ones are {list(NEGATIVES)}")
        if self.q != 2 and self.task != "index-lookup":
            raise InvalidInputError(f"q applies to task 'index-lookup' only; drop --q for task {self.task!r}")
        if not ARCHITECTURES[self.arch].recurrent:
            if self.layers != 1:
                raise InvalidInputError(
                    f"layers applies to recurrent models; a Transformer's depth is its arch ({self.arch!r}): "
                    "drop --layers or pick arch tf1 / tf2"
                )
            heads = self.heads if self.heads is not None else (2 if self.width % 2 == 0 else 1)
            if isinstance(heads, bool) or not isinstance(heads, (int, np.integer)) or heads < 1:
                raise InvalidInputError(f"heads must be a positive integer, got {heads!r}")
            if self.width % heads:
                raise InvalidInputError(
                    f"width={self.width} is not divisible by heads={heads}; pick a width that is a multiple of heads"
                )
            object.__setattr__(self, "heads", int(heads))
        elif self.heads is not None:
            raise InvalidInputError(f"heads applies to Transformers (tf1, tf2) only; drop --heads for arch "
                                    f"{self.arch!r}")

    def build_task(self) -> Any:
        """The task: ``get_task(task, n)`` (with ``q`` for index lookup).

        Examples
        --------
        >>> str(TrainConfig("lstm", "index-lookup", n=5, width=4, q=3).build_task())
        'index-lookup(n=5, q=3)'
        """
        from ccbounds.tasks import get_task

        if self.task == "index-lookup":
            return get_task(self.task, self.n, q=self.q)
        if self.negatives is not None:
            return get_task(self.task, self.n, negatives=self.negatives)
        return get_task(self.task, self.n)

    def model_config(self, task: Any | None = None) -> Any:
        """The :class:`~ccbounds.models.RecurrentConfig` or :class:`~ccbounds.models.TransformerConfig`.

        Examples
        --------
        >>> print(TrainConfig("tf2", "eq", n=8, width=16).model_config())
        tf2(vocab=4, classes=2, max_len=18, d_model=16, heads=2, d_ff=64, post-norm, learned positions)
        """
        task = self.build_task() if task is None else task
        return ARCHITECTURES[self.arch].make_config(task.vocab_size, task.num_classes, task.seq_len, self.width,
                                                    heads=self.heads, layers=self.layers)

    def to_dict(self) -> dict[str, Any]:
        """Plain data; ``TrainConfig(**d)`` rebuilds the config."""
        return asdict(self)

    def command_line(self, output: str | Path = "model.pt") -> str:
        """The exact ``ccbounds train ...`` command that reproduces this run and writes ``output``.

        Every field is written (defaults included), so the command does not depend on defaults
        that may change. :func:`parse_command_line` inverts it.

        Examples
        --------
        >>> TrainConfig("tf1", "eq", n=2, width=6, heads=3).command_line("my model.pt").split(" -o ")[1]
        "'my model.pt'"
        """
        parts = ["ccbounds", "train"]
        for name, value in self.to_dict().items():
            if value is None:
                continue
            parts += [f"--{_flag(name)}", str(value)]
        parts += ["-o", str(output)]
        return " ".join(shlex.quote(p) for p in parts)


def _flag(name: str) -> str:
    return name.replace("_", "-")


# --- the command line maps 1:1 onto TrainConfig (options declared here, argparse in ccbounds.cli) ---
_HELP = {
    "arch": "architecture",
    "task": "token task",
    "n": "task size parameter",
    "width": "hidden size (recurrent) or d_model (Transformer)",
    "steps": "optimiser steps",
    "seed": "the run's only source of randomness",
    "batch_size": "sequences per step",
    "lr": "peak Adam learning rate",
    "clip": "gradient-norm clipping threshold",
    "schedule": "learning-rate decay after warm-up",
    "eval_size": "held-out balanced sample size for the final accuracy",
    "layers": "stacked recurrent layers (recurrent only)",
    "heads": "attention heads (Transformers; default 2 if width is even, else 1)",
    "q": "alphabet size (index-lookup only)",
    "negatives": "how Dyck non-members are drawn: uniform or near-miss (dyck only)",
}


def train_options() -> tuple[Option, ...]:
    """One :class:`~ccbounds._options.Option` per :class:`TrainConfig` field (``ccbounds train`` declares them).

    Examples
    --------
    >>> [o.flag for o in train_options()][:3], train_options()[5].default
    (['--arch', '--task', '--n'], 0)
    """
    choices = {"arch": ARCHS, "task": TRAIN_TASKS + ("nn",), "schedule": SCHEDULES, "negatives": NEGATIVES}
    out = []
    for name, f in TrainConfig.__dataclass_fields__.items():
        kind = float if name in ("lr", "clip") else (str if name in choices else int)
        required = name in ("arch", "task", "n", "width")
        out.append(Option(name, kind, _HELP[name], choices=choices.get(name), required=required,
                          default=None if required else f.default))
    return tuple(out)


def parse_command_line(command: str | Sequence[str]) -> tuple[TrainConfig, str]:
    """Invert :meth:`TrainConfig.command_line`: ``(config, output path)``.

    Raises
    ------
    InvalidInputError
        If the command is not ``ccbounds train ...`` with valid options.

    Examples
    --------
    >>> cfg, out = parse_command_line("ccbounds train --arch gru --task dyck --n 2 --width 8 -o g.pt")
    >>> cfg.arch, cfg.steps, out
    ('gru', 2000, 'g.pt')
    """
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    if argv[:2] != ["ccbounds", "train"]:
        raise InvalidInputError(f"expected a command starting 'ccbounds train', got {' '.join(argv[:2])!r}")
    values, output = parse_options(argv[2:], train_options(), "ccbounds train")
    if output is None:
        raise InvalidInputError("cannot parse the train command (missing -o PATH); see 'ccbounds train --help'")
    return TrainConfig(**values), output
