"""Plain-text tables and prose that fit the terminal, rendered by ``rich`` (imported here, lazily).

Every report's ``__str__`` goes through :func:`render_table` / :func:`fit_text`, so the CLI's output
fits ``COLUMNS`` (100 when there is no terminal). No colour and no markup: the text is the same in a
pipe, a file or a notebook.

Examples
--------
>>> print(render_table(["n", "bits"], [["1", "2"], ["10", "20"]], width=40))
 n    bits
-----------
 1    2
 10   20
>>> fit_text("a long sentence " * 3, width=20).splitlines()[0]
'a long sentence a'
"""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from collections.abc import Sequence
from typing import Any

__all__ = ["terminal_width", "render_table", "fit_text", "fit_command", "DEFAULT_WIDTH", "WIDE"]

#: width when neither COLUMNS nor a terminal says otherwise
DEFAULT_WIDTH = 100
#: the width of ``--wide`` output (long fields kept on one line)
WIDE = 400


def terminal_width(width: int | None = None) -> int:
    """``width`` if given, else ``$COLUMNS``, else the terminal's width when stdout is one, else 100.

    >>> terminal_width(72)
    72
    """
    if width is not None:
        return max(20, int(width))
    env = os.environ.get("COLUMNS", "")
    if env.strip().isdigit():
        return max(20, int(env))
    if sys.stdout is not None and hasattr(sys.stdout, "isatty") and sys.stdout.isatty():
        return max(20, shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns)
    return DEFAULT_WIDTH


def _console(width: int) -> Any:
    import io

    from rich.console import Console

    return Console(file=io.StringIO(), width=width, color_system=None, force_terminal=False,
                   force_jupyter=False, highlight=False, markup=False, emoji=False, soft_wrap=False)


def render_table(headers: Sequence[str] | None, rows: Sequence[Sequence[Any]], *, width: int | None = None,
                 no_wrap: Sequence[int] = (), right: Sequence[int] = (), compact: bool = False) -> str:
    """An aligned table of strings that fits ``width`` columns (:func:`terminal_width`); long cells wrap.

    Parameters
    ----------
    headers : sequence of str, or None
        Column headers (None: a borderless two-column grid such as ``key  value``).
    rows : sequence of sequences
        Cells (converted with ``str``).
    width : int, optional
        Total width; default :func:`terminal_width`.
    no_wrap, right : sequence of int
        Columns never wrapped (short values such as numbers), columns aligned right.
    compact : bool
        One space between columns instead of two (for tables of many short numbers).
    """
    from rich.box import Box
    from rich.table import Table
    from rich.text import Text

    w = terminal_width(width)
    grid = headers is None
    ncol = len(rows[0]) if grid and rows else len(headers or ())
    rule = Box("    \n    \n -- \n    \n    \n    \n    \n    \n", ascii=True)  # rich's SIMPLE_HEAD in ASCII
    table = Table(box=None if grid else rule, show_header=not grid, pad_edge=not grid,
                  padding=(0, 2, 0, 0) if grid else (0, 1, 0, 0) if compact else (0, 1), show_edge=False, expand=False)
    for k in range(ncol):
        table.add_column(Text(headers[k]) if headers else "", no_wrap=k in no_wrap, overflow="fold",
                         justify="right" if k in right else "left")
    for row in rows:
        table.add_row(*(Text(str(c)) for c in row))
    console = _console(w)
    console.print(table)
    lines = [line.rstrip() for line in console.file.getvalue().splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def fit_text(text: str, width: int | None = None) -> str:
    """Wrap every line of ``text`` longer than ``width``, continuing at the line's own indent + 2.

    >>> print(fit_text("  key: " + "word " * 6, width=20))
      key: word word
        word word word
        word
    """
    w = terminal_width(width)
    out: list[str] = []
    for line in text.splitlines():
        if len(line) <= w:
            out.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        out += textwrap.wrap(line.strip(), width=w, initial_indent=indent, subsequent_indent=indent + "  ",
                             break_long_words=True, break_on_hyphens=False)
    return "\n".join(out)


def fit_command(label: str, command: str, width: int | None = None) -> str:
    """A shell command after ``label``, broken at spaces into lines ending in `` \\`` so it still pastes.

    >>> print(fit_command("command  ", "ccbounds train --arch lstm --n 4 -o m.pt", width=34))
    command  ccbounds train --arch \\
               lstm --n 4 -o m.pt
    """
    w = terminal_width(width)
    lines, cur = [], label
    pad = " " * (len(label) + 2)
    for tok in command.split(" "):
        if cur.strip() and len(cur) + 1 + len(tok) + 2 > w and cur != label and cur != pad:
            lines.append(cur + " \\")
            cur = pad + tok
        else:
            cur = cur + ("" if cur in (label, pad) else " ") + tok
    lines.append(cur)
    return "\n".join(lines)
