"""``ccbounds notebooks``: student copies of the notebooks, without the cells tagged ``solution``."""

from __future__ import annotations

import argparse
from typing import Any

from ccbounds.cli._common import EXIT_OK

__all__ = ["add_command", "cmd_notebooks"]


def cmd_notebooks(args: argparse.Namespace) -> int:
    from ccbounds.errors import InvalidInputError
    from ccbounds.exercises import strip_solutions

    if not args.strip_solutions:
        raise InvalidInputError("nothing to do: pass --strip-solutions OUTDIR to write the student copies")
    written = strip_solutions(args.source, args.strip_solutions)
    print(f"wrote {len(written)} notebook{'s' if len(written) != 1 else ''} without solutions to "
          f"{args.strip_solutions}")
    return EXIT_OK


def add_command(sub: Any) -> None:
    """Register ``notebooks`` on the subparsers ``sub``."""
    p = sub.add_parser("notebooks", help="write copies of the notebooks without their solution cells",
                       description="Copy every notebook of SOURCE (default: notebooks/) to OUTDIR, leaving out "
                       "the cells tagged 'solution' and all outputs. Example: ccbounds notebooks "
                       "--strip-solutions student/")
    p.add_argument("--strip-solutions", metavar="OUTDIR", help="where the student copies go")
    p.add_argument("--source", default="notebooks", help="a notebook or a folder of them (default notebooks/)")
    p.set_defaults(func=cmd_notebooks)
