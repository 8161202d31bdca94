"""``ccbounds train`` and ``ccbounds experiment separations``: argparse over the configs' declared options.

The library declares one :class:`~ccbounds._options.Option` per config field
(:func:`~ccbounds.training.train_options`, :func:`~ccbounds.experiments.experiment_options`); this
module turns them into argparse arguments, so the command line maps 1:1 onto the typed configs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from ccbounds.cli._common import EXIT_OK, emit, progress_bar

__all__ = ["add_options", "config_from_args", "add_commands"]


def add_options(parser: argparse.ArgumentParser, options: Sequence[Any], output_required: bool,
                output_default: str | None = None, output_help: str = "output path") -> argparse.ArgumentParser:
    """One argparse argument per :class:`~ccbounds._options.Option`, plus ``-o/--output``.

    Examples
    --------
    >>> from ccbounds.training import TrainConfig, train_options
    >>> ns = add_options(argparse.ArgumentParser(), train_options(), True).parse_args(
    ...     "--arch gru --task eq --n 3 --width 4 -o m.pt".split())
    >>> config_from_args(ns, TrainConfig).steps, ns.output
    (2000, 'm.pt')
    """
    for o in options:
        kw: dict[str, Any] = {"type": o.parse, "help": o.help, "dest": o.field}
        if o.choices is not None:
            kw["choices"] = list(o.choices)
        if o.required:
            kw["required"] = True
        else:
            kw["default"] = o.default
        parser.add_argument(o.flag, **kw)
    if output_required:
        parser.add_argument("-o", "--output", required=True, help=output_help)
    else:
        parser.add_argument("-o", "--output", default=output_default, help=output_help)
    return parser


def config_from_args(args: argparse.Namespace, config_type: type) -> Any:
    """The config (a dataclass) of parsed :func:`add_options` arguments."""
    return config_type(**{name: getattr(args, name) for name in config_type.__dataclass_fields__})


def cmd_train(args: argparse.Namespace) -> int:
    from ccbounds.training import TrainConfig, train_to_checkpoint

    config = config_from_args(args, TrainConfig)
    bar = progress_bar(f"training {config.arch} on {config.task} (n={config.n})")
    result = train_to_checkpoint(config, args.output, progress=lambda step, total, loss: bar(step, total))
    emit(result)
    print(f"wrote {args.output}", file=sys.stderr)
    return EXIT_OK


def cmd_separations(args: argparse.Namespace) -> int:
    """Run the experiment (progress on stderr), print the table, write ``args.output``; exit 0."""
    from ccbounds.experiments import SeparationConfig, run_separations

    config = config_from_args(args, SeparationConfig)
    print(f"{config}", file=sys.stderr)

    def progress(done: int, total: int, run: Any) -> None:
        print(f"[{done}/{total}] {run.task} n={run.n} {run.arch}: accuracy {run.accuracy:.3f}", file=sys.stderr)

    results = run_separations(config, progress=progress, output=args.output)
    results.save(args.output)
    emit(results)
    print(f"wrote {args.output} ({results.wall_time_s:.0f} s)", file=sys.stderr)
    return EXIT_OK


def add_commands(sub: Any) -> None:
    """Register ``train`` and ``experiment separations`` on the subparsers ``sub``."""
    from ccbounds.experiments.config import experiment_options
    from ccbounds.training.config import train_options

    p = sub.add_parser("train", help="train a reference model on a task (CPU) and write a ccbounds checkpoint",
                       description="Deterministic training of a reference classifier; the exact command is stored "
                       "in the checkpoint's metadata. Example: ccbounds train --arch lstm --task index-lookup "
                       "--n 8 --width 32 --steps 500 -o lstm.pt")
    add_options(p, train_options(), True, output_help="checkpoint path (.pt or .safetensors)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("experiment", help="reproducible experiments (the [BHBK] separations in small)")
    esub = p.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True)
    q = esub.add_parser("separations",
                        help="train tf1/LSTM/GRU on index lookup and Dyck-(2,2); accuracy vs S*b vs the CC bound",
                        description="Example: ccbounds experiment separations --ns 4,8,16,32 --seed 0 -o "
                                    "separations.json")
    add_options(q, experiment_options(), False, output_default="separations.json", output_help="results JSON path")
    q.set_defaults(func=cmd_separations)
