"""The ``ccbounds`` command line: a thin layer over the public API.

Tables go to stdout (fitting ``COLUMNS``, 100 without a terminal), progress to stderr (a tqdm bar,
silent when stderr is not a terminal), ``--json PATH`` writes the full report. Errors a user can
cause print one line (``error: ...``) and exit 1; ``ccbounds audit`` exits 3 on a violation;
``ccbounds bounds --exact`` exits 4 when exact D was not decided within ``--time-limit`` (the report
then shows the certified interval lower <= D <= upper). Heavy
modules (torch, the SAT solvers, rich, tqdm) are imported inside the command that needs them, so
``ccbounds --help`` stays light. One module per group of subcommands: :mod:`~ccbounds.cli.core`
(problems, bounds, budget, examples), :mod:`~ccbounds.cli.audit`, :mod:`~ccbounds.cli.configs`
(train, experiment), :mod:`~ccbounds.cli.sweep`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from ccbounds.cli._common import EXIT_ERROR, EXIT_OK, EXIT_VIOLATION

__all__ = ["main", "build_parser", "EXIT_OK", "EXIT_ERROR", "EXIT_VIOLATION"]


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of every subcommand."""
    from ccbounds import __version__
    from ccbounds.cli import audit, configs, core, notebooks, sweep

    parser = argparse.ArgumentParser(
        prog="ccbounds",
        description="Communication-complexity lower bounds for sequence models: problems, exact bounds, "
        "reductions of RNNs and one-layer Transformers to one-way protocols, and audits of checkpoints. "
        "All numbers are in bits.",
    )
    parser.add_argument("--version", action="version", version=f"ccbounds {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    core.add_commands(sub)
    audit.add_command(sub)
    configs.add_commands(sub)
    sweep.add_command(sub)
    notebooks.add_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ccbounds`` command; returns the exit code."""
    from ccbounds.errors import CCBoundsError

    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return EXIT_OK
    try:
        return func(args)
    except CCBoundsError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
