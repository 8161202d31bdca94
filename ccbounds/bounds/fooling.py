"""Fooling sets: 1-, 0- and combined fooling sets, exact by maximum clique (theory §3, [KN] Prop. 1.14).

Two cells (x1, y1), (x2, y2) can share a monochromatic rectangle iff M[x1, y1] = M[x2, y2] =
M[x1, y2] = M[x2, y1]. A fooling set is a set of cells no two of which can; each needs its own leaf,
so a protocol tree has at least |S| leaves and ``D(f) >= ceil(log2 |S|)``. For a 1-fooling set alone
one more leaf is forced when M has a 0 (any 0-cell is compatible with every 1-cell), which gives
``D(EQ_n) >= n + 1``.

The largest fooling set is a maximum clique of the compatibility graph on cells, found here by a
bitset branch and bound with greedy-colouring bounds (Tomita & Seki's MCQ). It is exact within the
time budget; past it :class:`~ccbounds.errors.SolverLimitError` is raised, or with
``on_limit="best"`` the best set found is returned marked ``optimal=False`` (still a valid bound).

Examples
--------
>>> b = largest_fooling_set([[1, 0], [0, 1]], kind="1")
>>> b.witness.cells, b.value   # 2 one-cells + one 0-leaf: 3 leaves
(((0, 0), (1, 1)), 2)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ccbounds.bound_record import Bound
from ccbounds.bounds._matrix import Deadline, as_matrix
from ccbounds.errors import InvalidInputError, SolverLimitError, TooLargeError

__all__ = ["MAX_FOOLING_CELLS", "FoolingSet", "fooling_leaves", "is_fooling_set", "largest_fooling_set"]

#: the clique search considers at most this many candidate cells
MAX_FOOLING_CELLS = 4096

_KINDS = ("1", "0", "combined")


@dataclass(frozen=True)
class FoolingSet:
    """A fooling set of ``kind`` ("1", "0" or "combined"); ``optimal`` if proven largest."""

    kind: str
    cells: tuple[tuple[int, int], ...]
    optimal: bool = True

    @property
    def size(self) -> int:
        return len(self.cells)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "size": self.size, "optimal": self.optimal,
                "cells": [list(c) for c in self.cells]}

    def __str__(self) -> str:
        tag = "largest" if self.optimal else "not proven largest"
        return f"{self.kind}-fooling set of size {self.size} ({tag})"


def _kind(kind: Any) -> str:
    k = str(kind)
    if k not in _KINDS:
        raise InvalidInputError(f"kind must be one of {_KINDS}, got {kind!r}")
    return k


def _compat(M: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """compat[p, q]: cells p and q cannot lie in one monochromatic rectangle."""
    V = M[xs, ys]
    A = M[xs[:, None], ys[None, :]]  # A[p, q] = M[x_p, y_q]
    return (V[:, None] != V[None, :]) | (A != V[:, None]) | (A.T != V[:, None])


def fooling_leaves(M: np.ndarray, cells: Any) -> int:
    """Leaves a fooling set forces: |S|, plus one if M has a colour that S lacks (per colour).

    A cell of a colour S lacks is compatible with all of S, so it may be added.

    Examples
    --------
    >>> fooling_leaves(np.eye(2, dtype=np.int8), [(0, 0), (1, 1)])
    3
    """
    colours = {int(M[i, j]) for i, j in cells}
    present = {int(v) for v in np.unique(M)}
    return len(list(cells)) + len(present - colours)


class _Timeout(Exception):
    pass


def _max_clique(adj: list[int], deadline: Deadline, best: list[int]) -> list[int]:
    """Maximum clique on bitset adjacency (vertices pre-sorted by degree); ``best`` seeds it.

    Tomita & Seki's MCQ with an explicit stack (no recursion, so a clique of thousands of
    vertices, e.g. the diagonal of EQ_10, needs no deep Python stack). Past the deadline
    :class:`_Timeout` carries the best clique found.
    """
    n = len(adj)
    best = list(best)

    def colour_sort(P: int) -> tuple[list[int], list[int]]:
        order: list[int] = []
        colours: list[int] = []
        k, U = 0, P
        while U:
            k += 1
            Q = U
            while Q:
                v = (Q & -Q).bit_length() - 1
                Q &= ~adj[v] & ~(1 << v)
                U &= ~(1 << v)
                order.append(v)
                colours.append(k)
        return order, colours

    # a frame: [P, order, colours, idx] -- candidates P (minus those already tried), the colour order of
    # P when the frame was opened, and the index of the next vertex to try (from the end)
    R: list[int] = []
    order, colours = colour_sort((1 << n) - 1)
    stack: list[list[Any]] = [[(1 << n) - 1, order, colours, len(order) - 1]]
    calls = 1
    while stack:
        frame = stack[-1]
        P, order, colours, idx = frame
        if idx < 0 or len(R) + colours[idx] <= len(best):
            stack.pop()
            if stack:  # back in the parent: its vertex R[-1] is done
                v = R.pop()
                parent = stack[-1]
                parent[0] &= ~(1 << v)
                parent[3] -= 1
            continue
        v = order[idx]
        R.append(v)
        newP = P & adj[v]
        if newP:
            calls += 1
            if calls % 16 == 0 and deadline.expired():
                raise _Timeout(best)
            sub_order, sub_colours = colour_sort(newP)
            stack.append([newP, sub_order, sub_colours, len(sub_order) - 1])
            continue
        if len(R) > len(best):
            best = list(R)
        R.pop()
        frame[0] = P & ~(1 << v)
        frame[3] = idx - 1
    return best


def largest_fooling_set(x: Any, kind: str = "combined", time_limit: float | None = 10.0,
                        on_limit: str = "raise") -> Bound:
    """The largest fooling set of ``kind`` and the bound ``D >= ceil(log2 #forced leaves)``.

    Parameters
    ----------
    x : array_like or Problem
        The communication matrix.
    kind : {"combined", "1", "0"}
        "1": cells with value 1 only; "0": value 0 only; "combined": both (theory §3: |S1| + |S0|).
    time_limit : float or None
        Seconds for the exact clique search (``None``: unlimited).
    on_limit : {"raise", "best"}
        Past the time limit raise :class:`SolverLimitError`, or return the best set found so far
        with ``optimal=False`` (a valid bound, not proven the largest).

    Returns
    -------
    Bound
        ``model="D"``, ``direction="lower"``, ``method="fooling-set"``, witness :class:`FoolingSet`;
        the value is ``ceil(log2 L)`` with ``L`` = :func:`fooling_leaves`.

    Raises
    ------
    InvalidInputError, TooLargeError, SolverLimitError
        Bad arguments; more than :data:`MAX_FOOLING_CELLS` candidate cells; time limit hit.

    Examples
    --------
    >>> b = largest_fooling_set(np.eye(4, dtype=int), kind="1")  # EQ_2: the diagonal
    >>> b.witness.size, b.value
    (4, 3)

    References
    ----------
    [KN] Prop. 1.14 and Ex. 1.20 (fooling sets). E. Tomita, T. Seki, An efficient branch-and-bound
    algorithm for finding a maximum clique, DMTCS 2003.
    """
    k = _kind(kind)
    if on_limit not in ("raise", "best"):
        raise InvalidInputError(f"on_limit must be 'raise' or 'best', got {on_limit!r}")
    M, name = as_matrix(x, what="fooling sets")
    deadline = Deadline(time_limit)
    mask = np.ones_like(M, dtype=bool) if k == "combined" else (M == int(k))
    xs, ys = np.nonzero(mask)
    if len(xs) > MAX_FOOLING_CELLS:
        raise TooLargeError(f"the fooling-set search takes at most {MAX_FOOLING_CELLS} candidate cells, "
                            f"got {len(xs)}; use a smaller matrix or kind='1'/'0'")
    cells = list(zip(xs.tolist(), ys.tolist()))
    optimal = True
    if cells:
        C = _compat(M, xs, ys)
        np.fill_diagonal(C, False)
        order = np.argsort(-C.sum(axis=1), kind="stable")  # high degree first = low bit index
        Cs = C[np.ix_(order, order)]
        adj = [int("".join("1" if b else "0" for b in row[::-1]), 2) for row in Cs]
        try:
            clique = _max_clique(adj, deadline, [0])
        except _Timeout as t:  # carries the best clique found
            if on_limit == "raise":
                raise SolverLimitError(
                    f"largest {k}-fooling set not proven within time_limit={time_limit} s "
                    f"(best so far: {len(t.args[0])} cells); raise time_limit or pass on_limit='best'"
                ) from None
            clique, optimal = t.args[0], False
        chosen = sorted(cells[int(order[v])] for v in clique)
    else:
        chosen = []
    fs = FoolingSet(k, tuple(chosen), optimal)
    leaves = fooling_leaves(M, chosen)
    note = f"|S| = {fs.size}, {leaves} leaves forced" + ("" if optimal else "; time limit hit: not proven largest")
    return Bound(math.ceil(math.log2(leaves)) if leaves > 0 else 0, "lower", "D", name,
                 method="fooling-set", witness=fs, source="[KN] Prop. 1.14 (fooling sets); theory §3",
                 expression="ceil(log2(|S1| + |S0|))", note=note)


def is_fooling_set(S: Any, x: Any, kind: str = "combined") -> bool:
    """True iff the cells ``S`` form a fooling set of ``kind`` for the matrix ``x``.

    Accepts a :class:`FoolingSet` or an iterable of ``(row, column)`` pairs.

    Examples
    --------
    >>> is_fooling_set([(0, 0), (1, 1)], [[1, 0], [0, 1]], "1")
    True
    >>> is_fooling_set([(0, 0), (1, 1)], [[1, 1], [1, 1]], "1")
    False
    """
    k = _kind(kind)
    M, _ = as_matrix(x, what="fooling sets")
    cells = S.cells if isinstance(S, FoolingSet) else S
    try:
        pairs = [(int(i), int(j)) for i, j in cells]
    except (TypeError, ValueError):
        return False
    if len(set(pairs)) != len(pairs):
        return False
    R, C = M.shape
    if any(not (0 <= i < R and 0 <= j < C) for i, j in pairs):
        return False
    if k != "combined" and any(int(M[i, j]) != int(k) for i, j in pairs):
        return False
    for a in range(len(pairs)):
        x1, y1 = pairs[a]
        for b in range(a + 1, len(pairs)):
            x2, y2 = pairs[b]
            v = M[x1, y1]
            if M[x2, y2] == v and M[x1, y2] == v and M[x2, y1] == v:
                return False
    return True
