"""``ccbounds sweep``: run a grid of train + audit runs from a TOML config, or draw the figures of its results."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ccbounds.cli._common import EXIT_OK, emit

__all__ = ["add_command", "cmd_sweep"]


def cmd_sweep(args: argparse.Namespace) -> int:
    """``ccbounds sweep CONFIG.toml`` (run the grid) or ``ccbounds sweep --report RESULTS`` (draw its figures)."""
    import shlex

    from ccbounds.errors import InvalidInputError

    if args.compact:
        from ccbounds.sweeps import ResultsStore

        if not Path(args.compact).is_dir():
            raise InvalidInputError(f"no results folder {args.compact!r}; pass the --results folder of a sweep")
        out = args.output or str(Path(args.compact).resolve()) + ".parquet"
        store = ResultsStore(args.compact)
        path = store.compact(out)
        print(f"wrote {path} ({len(store.rows())} rows)", file=sys.stderr)
        return EXIT_OK
    if args.report:
        from ccbounds.sweeps.report import sweep_report

        emit(sweep_report(args.report, args.output or str(Path(args.report) / "report")))
        return EXIT_OK
    if not args.config:
        raise InvalidInputError("name a sweep CONFIG.toml (see configs/), or pass --report RESULTS")
    from ccbounds.sweeps import load_sweep_config, run_sweep

    config = load_sweep_config(args.config)
    results = args.results or str(Path("results") / Path(args.config).stem)
    if args.device != "cpu" and args.scheduler is None:
        from ccbounds.devices import resolve_device

        resolve_device(args.device)  # remote workers check their own devices
    command = shlex.join(["ccbounds", "sweep", args.config, "--results", results, "--executor", args.executor,
                          "--workers", str(args.workers), "--device", args.device]
                         + (["--format", args.format] if args.format else []))
    print(config, file=sys.stderr)
    summary = run_sweep(config, results, executor=args.executor, workers=args.workers, scheduler=args.scheduler,
                        fmt=args.format, device=args.device, command=command, quiet=False)
    emit(summary)
    return EXIT_OK


def add_command(sub: Any) -> None:
    """Register ``sweep`` on the subparsers ``sub``."""
    p = sub.add_parser("sweep", help="a grid of train+audit runs from a TOML config; resumable results; figures",
                       description="Run every not yet finished run of CONFIG.toml (see configs/) and append one "
                       "row per run to RESULTS, or draw the figures of RESULTS with --report. "
                       "Example: ccbounds sweep configs/small-cpu.toml --results results/small-cpu")
    p.add_argument("config", nargs="?", help="sweep TOML file")
    p.add_argument("--results", metavar="PATH", help="results folder (default results/CONFIG-NAME)")
    p.add_argument("--executor", choices=["local", "dask"], default="local", help="process pool or dask.distributed")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="join a running dask scheduler")
    p.add_argument("--workers", type=int, default=2, help="processes / LocalCluster workers (default 2)")
    p.add_argument("--format", choices=["parquet", "csv"], help="format of the result parts (default parquet)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (one GPU per worker)")
    p.add_argument("--report", metavar="RESULTS", help="draw the figures of a results folder instead")
    p.add_argument("--compact", metavar="RESULTS", help="write a results folder as one Parquet file instead "
                   "(default RESULTS.parquet beside the folder)")
    p.add_argument("-o", "--output", metavar="PATH", help="where --report writes (default RESULTS/report), or "
                   "the file --compact writes")
    p.set_defaults(func=cmd_sweep)
