"""Parsing DRUP proof lines, shared by the pure-Python checker (:mod:`~ccbounds.bounds.drup`, which re-exports
:func:`parse_proof`) and the numba one (:mod:`~ccbounds.bounds._drup_fast`), so neither imports the other for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["parse_proof"]


def parse_proof(proof: Iterable[Any]) -> list[tuple[bool, tuple[int, ...]]]:
    """Parse proof lines into ``(is_deletion, literals)``; accepts text lines or integer lists.

    Examples
    --------
    >>> parse_proof(["1 -2 0", "d 1 -2 0", [3, 0]])
    [(False, (1, -2)), (True, (1, -2)), (False, (3,))]
    """
    out: list[tuple[bool, tuple[int, ...]]] = []
    for line in proof:
        if isinstance(line, (bytes, str)):
            text = line.decode() if isinstance(line, bytes) else line
            toks = text.split()
            if not toks:
                continue
            dele = toks[0] == "d"
            lits = [int(t) for t in (toks[1:] if dele else toks)]
        else:
            dele, lits = False, [int(t) for t in line]
        if lits and lits[-1] == 0:
            lits = lits[:-1]
        if 0 in lits:
            raise ValueError(f"a proof line has a 0 before its end: {line!r}")
        out.append((dele, tuple(lits)))
    return out
