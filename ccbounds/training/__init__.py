"""A small, deterministic trainer for the reference models (what ``ccbounds train`` runs).

It trains a :class:`~ccbounds.models.RecurrentClassifier` (``"rnn"``, ``"gru"``, ``"lstm"``) or a
:class:`~ccbounds.models.TransformerClassifier` (``"tf1"``, ``"tf2"``) on a token task of
:mod:`ccbounds.tasks` (theory §5) with Adam, cross entropy at the last position, gradient clipping
and a warm-up + cosine (or linear, or constant) learning-rate schedule, on the CPU.

Determinism: the same :class:`TrainConfig` gives the same weights, bit for bit, on the same
machine and torch build. Initialisation draws from ``torch.manual_seed(seed)`` inside a forked RNG
(the caller's global RNG is left as it was); the batch of step t is
``task.sample(batch_size, seed=s_t)`` with ``s_t`` derived from ``(seed, t)`` by
``numpy.random.SeedSequence``; the held-out sample uses another derived seed. Training runs
single-threaded with ``torch.use_deterministic_algorithms(True)`` (both restored afterwards), since
thread counts can change floating-point summation order. Wall time is kept out of every
``to_dict``, so checkpoint metadata is reproducible too.

The command line is a thin layer over this package: :func:`train_options` declares one option per
:class:`TrainConfig` field (``ccbounds.cli`` turns them into argparse arguments), so
:meth:`TrainConfig.command_line` reproduces a run exactly (``ccbounds.training.config``); the loop
is in ``ccbounds.training.loop``. torch is imported only when a model is trained or evaluated.

Examples
--------
>>> cfg = TrainConfig("lstm", "index-lookup", n=4, width=8, steps=3)
>>> cfg.command_line("lstm.pt")
'ccbounds train --arch lstm --task index-lookup --n 4 --width 8 --steps 3 --seed 0 --batch-size 64 --lr 0.003 --clip 1.0 --schedule cosine --eval-size 2000 --layers 1 --q 2 -o lstm.pt'
>>> parse_command_line(cfg.command_line("lstm.pt")) == (cfg, "lstm.pt")
True
"""  # noqa: E501 (doctest output)


from __future__ import annotations

from ccbounds.training.config import (
    ARCHS,
    SCHEDULES,
    TRAIN_TASKS,
    TrainConfig,
    parse_command_line,
    train_options,
)
from ccbounds.training.loop import TrainResult, evaluate, lr_factor, train, train_to_checkpoint

__all__ = [
    "ARCHS",
    "TRAIN_TASKS",
    "SCHEDULES",
    "TrainConfig",
    "TrainResult",
    "train",
    "train_to_checkpoint",
    "evaluate",
    "lr_factor",
    "train_options",
    "parse_command_line",
]
