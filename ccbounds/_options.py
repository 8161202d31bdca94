"""Command-line options declared by the library's configs, parsed without argparse.

A config (:class:`~ccbounds.training.TrainConfig`, :class:`~ccbounds.experiments.SeparationConfig`)
declares one :class:`Option` per field; the CLI (:mod:`ccbounds.cli`) turns them into argparse
arguments, and :func:`parse_options` reads back the ``--flag VALUE ... -o PATH`` commands the configs
write (``command_line``), so a recorded command can be replayed without the CLI.

Examples
--------
>>> opts = (Option("n", int, "size", required=True), Option("lr", float, "rate", default=0.1))
>>> parse_options(["--n", "3", "-o", "m.pt"], opts, "ccbounds demo")
({'n': 3, 'lr': 0.1}, 'm.pt')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ccbounds.errors import InvalidInputError

__all__ = ["Option", "parse_options"]


@dataclass(frozen=True)
class Option:
    """One ``--flag VALUE`` option of a config field: how to parse it, its help, choices and default."""

    field: str
    parse: Callable[[str], Any]
    help: str
    choices: tuple[str, ...] | None = None
    required: bool = False
    default: Any = None

    @property
    def flag(self) -> str:
        """``--batch-size`` for the field ``batch_size``."""
        return "--" + self.field.replace("_", "-")


def parse_options(argv: Sequence[str], options: Sequence[Option], command: str,
                  output_default: str | None = None) -> tuple[dict[str, Any], str | None]:
    """``({field: value}, output path)`` of ``--flag VALUE`` / ``--flag=VALUE`` pairs and ``-o/--output PATH``.

    Raises
    ------
    InvalidInputError
        An unknown flag, a missing value, a value that does not parse or is not a choice, a missing
        required option; the message names ``command``'s ``--help``.
    """
    by_flag = {o.flag: o for o in options}
    values = {o.field: o.default for o in options}
    output, seen, k = output_default, set(), 0
    args = list(argv)

    def fail(why: str) -> InvalidInputError:
        return InvalidInputError(f"cannot parse the command ({why}); see '{command} --help'")

    while k < len(args):
        flag, _, inline = args[k].partition("=")
        if not inline and k + 1 >= len(args):
            raise fail(f"{flag} needs a value")
        value = inline if inline else args[k + 1]
        k += 1 if inline else 2
        if flag in ("-o", "--output"):
            output = value
            continue
        if flag not in by_flag:
            raise fail(f"unknown option {flag!r}")
        opt = by_flag[flag]
        if opt.choices is not None and value not in opt.choices:
            raise fail(f"{flag} must be one of {', '.join(opt.choices)}, got {value!r}")
        try:
            values[opt.field] = opt.parse(value)
        except ValueError as e:
            raise fail(f"{flag} {value!r}: {e}") from None
        seen.add(opt.field)
    missing = [o.flag for o in options if o.required and o.field not in seen]
    if missing:
        raise fail(f"missing {', '.join(missing)}")
    return values, output
