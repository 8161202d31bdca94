"""The training loop: :func:`train`, :func:`train_to_checkpoint`, :func:`evaluate`, :func:`lr_factor`.

See :mod:`ccbounds.training` for what makes a run deterministic.

Examples
--------
>>> lr_factor(0, 1000, "cosine"), lr_factor(99, 1000, "cosine"), lr_factor(999, 1000, "cosine")
(0.01, 1.0, 0.0)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ccbounds.errors import InvalidInputError
from ccbounds.training.config import _NN_MESSAGE, TRAIN_TASKS, TrainConfig

__all__ = ["TrainResult", "train", "train_to_checkpoint", "evaluate", "lr_factor"]


def lr_factor(step: int, steps: int, schedule: str) -> float:
    """Multiplier of the peak learning rate at optimiser step ``step`` (0-based).

    Linear warm-up over ``w = min(100, steps // 10)`` steps (``(step + 1) / w``), then ``"constant"``
    1, ``"linear"`` decay to 0, or ``"cosine"`` ``(1 + cos(pi * t)) / 2`` with ``t`` the fraction of
    the post-warm-up steps done.

    Examples
    --------
    >>> [lr_factor(s, 21, "linear") for s in (0, 1, 2, 11, 20)]
    [0.5, 1.0, 1.0, 0.5, 0.0]
    >>> lr_factor(11, 21, "cosine")
    0.5
    """
    warm = min(100, steps // 10)
    if step < warm:
        return (step + 1) / warm
    if schedule == "constant":
        return 1.0
    t = (step - warm) / max(1, steps - warm - 1) if steps - warm > 1 else 0.0
    t = min(1.0, max(0.0, t))
    if schedule == "linear":
        return 1.0 - t
    return 0.5 * (1.0 + math.cos(math.pi * t))


def _derived_seed(seed: int, *path: int) -> int:
    """A 32-bit seed for stream ``path`` of the run with ``seed`` (SeedSequence)."""
    return int(np.random.SeedSequence([seed, *path]).generate_state(1)[0])


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` returns: the trained model (eval mode) and how training went.

    Attributes
    ----------
    config : TrainConfig
    model : torch.nn.Module
        The trained reference model, in eval mode.
    task : Task
    accuracy : float
        Accuracy on a fresh balanced held-out sample of ``config.eval_size`` sequences.
    loss_curve : tuple of float
        Mean training loss (nats, cross entropy) over each tenth of the run.
    final_loss : float
        Mean training loss over the last tenth of the run.
    wall_time_s : float
        Seconds spent; shown by ``str`` only, never in :meth:`to_dict` (metadata stays reproducible).
    """

    config: TrainConfig
    model: Any = field(repr=False, compare=False)
    task: Any
    accuracy: float
    loss_curve: tuple[float, ...]
    final_loss: float
    wall_time_s: float = field(default=0.0, compare=False)

    def train_info(self, output: str | Path = "model.pt") -> dict[str, Any]:
        """The ``train`` record stored in checkpoint metadata (no wall time)."""
        return {
            "command": self.config.command_line(output),
            "seed": self.config.seed,
            "steps": self.config.steps,
            "final_accuracy": self.accuracy,
            "eval_size": self.config.eval_size,
            "final_loss": self.final_loss,
            "config": self.config.to_dict(),
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain data (no model, no wall time)."""
        return {
            "config": self.config.to_dict(),
            "model": self.model.config.to_dict(),
            "task": self.task.to_dict(),
            "accuracy": self.accuracy,
            "eval_size": self.config.eval_size,
            "loss_curve": list(self.loss_curve),
            "final_loss": self.final_loss,
        }

    def __str__(self) -> str:
        curve = " ".join(f"{v:.3g}" for v in self.loss_curve)
        return (
            f"trained {self.model.config} on {self.task}: {self.config.steps} steps, seed {self.config.seed}, "
            f"{self.wall_time_s:.1f} s\n"
            f"held-out accuracy {self.accuracy:.4f} on {self.config.eval_size} balanced sequences; "
            f"loss (nats) by tenths: {curve}"
        )


def evaluate(model: Any, task: Any, k: int, seed: int, batch: int = 1000) -> float:
    """Accuracy of ``model`` on ``task.sample(k, seed, balanced=True)``.

    Parameters
    ----------
    model : torch.nn.Module
        Maps token ids ``(B, T)`` to logits ``(B, num_classes)``.
    task : Task
    k, seed : int
        Sample size and seed.
    batch : int
        Sequences per forward pass.

    Returns
    -------
    float
        The fraction of correct argmax predictions.

    Examples
    --------
    >>> import torch
    >>> from ccbounds.tasks import get_task
    >>> from ccbounds.models import RecurrentConfig, build_model
    >>> task = get_task("eq", 2)
    >>> m = build_model(RecurrentConfig("rnn", task.vocab_size, 2, width=2))
    >>> with torch.no_grad():
    ...     _ = m.head.weight.zero_(); _ = m.head.bias.copy_(torch.tensor([0.0, 1.0]))
    >>> evaluate(m, task, 10, seed=0)   # always answers 1: right on the 5 equal pairs
    0.5
    """
    import torch

    tokens, labels = task.sample(k, seed=seed, balanced=True)
    was_training = model.training
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, k, batch):
            x = torch.from_numpy(tokens[start : start + batch])  # (B, T)
            pred = model(x).argmax(dim=-1).numpy()  # (B,)
            correct += int((pred == labels[start : start + batch]).sum())
    model.train(was_training)
    return correct / k if k else 0.0


def train(config: TrainConfig, progress: Callable[[int, int, float], None] | None = None) -> TrainResult:
    """Train a reference model on a token task, deterministically (see the module docstring).

    Parameters
    ----------
    config : TrainConfig
    progress : callable, optional
        Called as ``progress(step, steps, mean_loss)`` about 20 times (the CLI prints to stderr).

    Returns
    -------
    TrainResult
        The model in eval mode, its held-out accuracy and a loss summary.

    Raises
    ------
    InvalidInputError
        Task ``"nn"`` (vectors, not token ids) or a bad config.

    Examples
    --------
    >>> r = train(TrainConfig("gru", "index-lookup", n=2, width=8, steps=30, eval_size=100))
    >>> r.model.training, r.model.config.arch, r.accuracy == train(r.config).accuracy
    (False, 'gru', True)

    References
    ----------
    D. P. Kingma, J. Ba, Adam: A Method for Stochastic Optimization, ICLR 2015.
    I. Loshchilov, F. Hutter, SGDR: Stochastic Gradient Descent with Warm Restarts, ICLR 2017
    (the cosine schedule).
    """
    import torch

    if not isinstance(config, TrainConfig):
        raise InvalidInputError(f"train needs a TrainConfig, got {type(config).__name__}")
    if config.task not in TRAIN_TASKS:  # unreachable for a validated config; kept for clarity
        raise InvalidInputError(_NN_MESSAGE.format(list(TRAIN_TASKS)))
    from ccbounds.models.build import build_model

    task = config.build_task()
    start = time.perf_counter()
    threads, det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            model = build_model(config.model_config(task))
            losses = _optimise(model, task, config, progress)
        accuracy = evaluate(model, task, config.eval_size, _derived_seed(config.seed, 2))
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(det)
    model.eval()
    tenths = np.array_split(np.asarray(losses, dtype=np.float64), min(10, len(losses)))
    curve = tuple(float(c.mean()) for c in tenths)
    return TrainResult(config, model, task, accuracy, curve, curve[-1], time.perf_counter() - start)


def _optimise(model: Any, task: Any, config: TrainConfig,
              progress: Callable[[int, int, float], None] | None) -> list[float]:
    import torch

    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, config.steps, config.schedule))
    loss_fn = torch.nn.CrossEntropyLoss()
    every = max(1, config.steps // 20)
    losses: list[float] = []
    model.train()
    for step in range(config.steps):
        tokens, labels = task.sample(config.batch_size, seed=_derived_seed(config.seed, 1, step), balanced=True)
        logits = model(torch.from_numpy(tokens))  # (B, C)
        loss = loss_fn(logits, torch.from_numpy(labels))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if progress is not None and ((step + 1) % every == 0 or step + 1 == config.steps):
            progress(step + 1, config.steps, float(np.mean(losses[-every:])))
    return losses


def train_to_checkpoint(
    config: TrainConfig, path: str | Path, progress: Callable[[int, int, float], None] | None = None
) -> TrainResult:
    """Train (:func:`train`) and save a ccbounds checkpoint whose metadata holds the exact command.

    ``train_info`` is :meth:`TrainResult.train_info` with ``output = str(path)`` as given, so a
    relative path gives a command that reproduces the file from the same working directory.

    Parameters
    ----------
    config : TrainConfig
    path : str or pathlib.Path
        Ends in ``.pt`` or ``.safetensors``; for ``arch="mamba"`` a directory (``save_pretrained`` with the
        spec and training record beside it, see :func:`ccbounds.models.hf.save_hf_directory`).
    progress : callable, optional
        As in :func:`train`.

    Returns
    -------
    TrainResult

    Raises
    ------
    InvalidInputError
        A bad config or path (see :func:`ccbounds.checkpoint.save_checkpoint`).
    """
    from ccbounds.checkpoint import save_checkpoint

    if config.arch == "mamba":
        from ccbounds.models.hf import save_hf_directory

        if Path(path).suffix in (".pt", ".safetensors"):
            raise InvalidInputError(f"--arch mamba is saved as a save_pretrained directory; pass a folder name, "
                                    f"not {str(path)!r}")
        result = train(config, progress)
        save_hf_directory(result.model, path, result.task, result.train_info(path))
        return result
    if Path(path).suffix not in (".pt", ".safetensors"):
        raise InvalidInputError(f"checkpoint path {str(path)!r} must end in .pt or .safetensors")
    result = train(config, progress)
    save_checkpoint(result.model, path, task=result.task, train_info=result.train_info(path))
    return result

