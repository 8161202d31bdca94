"""What every ``ccbounds`` subcommand shares: exit codes, JSON and text output, progress on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["EXIT_OK", "EXIT_ERROR", "EXIT_VIOLATION", "write_text", "write_json", "emit", "progress_bar", "note"]

EXIT_OK, EXIT_ERROR, EXIT_VIOLATION = 0, 1, 3


def note(text: str) -> None:
    """A progress note on stderr, like the progress bars only when stderr is a terminal (so that a failing
    command's stderr is its one error line)."""
    if sys.stderr.isatty():
        print(text, file=sys.stderr)


def write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` (one line on stderr says so); an unwritable path is an InvalidInputError."""
    from ccbounds.errors import InvalidInputError

    try:
        Path(path).write_text(text)
    except OSError as e:
        raise InvalidInputError(f"cannot write the JSON report to {path!r} ({e.strerror}); pass a writable path") from e
    print(f"wrote {path}", file=sys.stderr)


def write_json(path: str | None, payload: dict[str, Any]) -> None:
    """Write ``payload`` as indented JSON when ``path`` is given."""
    if path:
        write_text(path, json.dumps(payload, indent=2, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return repr(obj)


def emit(text: Any, width: int | None = None) -> None:
    """Print ``text`` on stdout with every line fitting ``width`` (default: the terminal's, 100 without one)."""
    from ccbounds._text import fit_text

    print(fit_text(str(text), width))


def progress_bar(label: str) -> Callable[[int, int], None]:
    """A ``progress(done, total)`` callback drawing a tqdm bar on stderr; silent when stderr is not a terminal."""
    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        from tqdm import tqdm

        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = tqdm(total=total, desc=label, file=sys.stderr, disable=not sys.stderr.isatty(),
                                      leave=True, dynamic_ncols=True)
        bar.total = total
        bar.update(done - bar.n)
        if done >= total:
            bar.close()
            state.pop("bar")

    return update
