"""The ``ccbounds`` command line: a thin layer over the public API.

Tables go to stdout (fitting ``COLUMNS``, 100 without a terminal), progress to stderr (a tqdm bar,
silent when stderr is not a terminal), ``--json PATH`` writes the full report. Errors a user can
cause, usage errors of the argument parser included, print one line (``error: ...``, at most
:data:`MAX_ERROR_CHARS` characters) and exit 1; ``ccbounds audit`` exits 3 on a violation;
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
from typing import Any

from ccbounds.cli._common import EXIT_ERROR, EXIT_OK, EXIT_VIOLATION

__all__ = ["main", "build_parser", "EXIT_OK", "EXIT_ERROR", "EXIT_VIOLATION", "MAX_ERROR_CHARS", "error_line"]

#: the longest error line printed (longer messages keep their start and their advice at the end)
MAX_ERROR_CHARS = 600


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error raised (one line, exit 1 in :func:`main`) instead of a usage block and exit 2."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        raise _UsageError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def error_line(message: str, limit: int = MAX_ERROR_CHARS) -> str:
    """``"error: " + message`` on one line of at most ``limit`` characters (the middle elided).

    Examples
    --------
    >>> error_line("bad\\nthing")
    'error: bad; thing'
    >>> len(error_line("x" * 1000)), error_line("a" * 1000 + "; do this", 60)[-9:]
    (600, '; do this')
    """
    text = "error: " + "; ".join(part.strip() for part in str(message).splitlines() if part.strip())
    if len(text) <= limit:
        return text
    tail = max(limit // 3, 1)
    return text[:limit - tail - 5] + " ... " + text[-tail:]


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of every subcommand."""
    from ccbounds import __version__
    from ccbounds.cli import audit, configs, core, notebooks, sweep

    parser = _Parser(
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
    try:
        args = parser.parse_args(argv)
    except _UsageError as e:
        print(error_line(str(e)), file=sys.stderr)
        return EXIT_ERROR
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return EXIT_OK
    import warnings

    shown = warnings.showwarning
    warnings.showwarning = _one_line_warning  # a warning (e.g. a damaged results part set aside) is one line too
    try:
        return func(args)
    except CCBoundsError as e:
        print(error_line(str(e)), file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`ccbounds ... | head -1`): stop quietly, like a killed pipe
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    finally:
        warnings.showwarning = shown


#: exit status after the output pipe closed (128 + SIGPIPE, as a shell reports a process killed by it)
EXIT_BROKEN_PIPE = 141


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush cannot raise again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # not a real file (e.g. a test's stream)
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (lives until exit)


def _one_line_warning(message: Any, category: Any, filename: str, lineno: int, file: Any = None,
                      line: Any = None) -> None:
    print(error_line(str(message)).replace("error: ", "warning: ", 1), file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
