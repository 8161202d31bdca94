"""A quick fooling set for large matrices (theory §3.2), where the exact clique search is too slow.

:func:`fooling_bound` calls :func:`~ccbounds.bounds.fooling.largest_fooling_set` (exact maximum clique)
on matrices with at most :data:`EXACT_FOOLING_CELLS` candidate cells; on larger ones (up to 64 x 64) it
grows fooling sets greedily in seeded random orders within a time budget and keeps the largest. Either
way the witness is a :class:`~ccbounds.bounds.fooling.FoolingSet` (the greedy one marked not proven
largest) that :func:`~ccbounds.bounds.fooling.is_fooling_set` checks.

Examples
--------
>>> import numpy as np
>>> len(greedy_fooling_set(np.eye(40, dtype=np.int8), "1", max_rounds=1))  # the diagonal
40
>>> b = fooling_bound(np.eye(4, dtype=np.int8), "1")  # 4 candidate cells: the exact search
>>> b.witness.size, b.witness.optimal
(4, True)
"""

from __future__ import annotations

import math
import time

import numpy as np

from ccbounds.bound_record import Bound
from ccbounds.bounds.fooling import FoolingSet, fooling_leaves, largest_fooling_set

__all__ = ["EXACT_FOOLING_CELLS", "fooling_bound", "greedy_fooling_set"]

#: candidate cells up to which the exact clique search runs; above it the greedy search
EXACT_FOOLING_CELLS = 1024


def greedy_fooling_set(M: np.ndarray, kind: str = "combined", seed: int = 0, time_limit: float = 0.5,
                       max_rounds: int = 64) -> tuple[tuple[int, int], ...]:
    """The largest of several greedy fooling sets (first round in row-major order, then seeded shuffles)."""
    if kind == "combined":
        xs, ys = np.nonzero(np.ones_like(M, dtype=bool))
    else:
        xs, ys = np.nonzero(M == int(kind))
    rng = np.random.default_rng(seed)
    best: list[int] = []
    t0 = time.perf_counter()
    for rnd in range(max_rounds):
        order = np.arange(len(xs)) if rnd == 0 else rng.permutation(len(xs))
        sx: list[int] = []
        sy: list[int] = []
        chosen: list[int] = []
        for i, p in enumerate(order):
            if i % 1024 == 1023 and time.perf_counter() - t0 > time_limit:
                break  # a partial greedy set is still a fooling set
            x, y = int(xs[p]), int(ys[p])
            v = M[x, y]
            if chosen:
                ax, ay = np.array(sx), np.array(sy)
                # compatible with every chosen cell q: different colours, or a cross cell of another colour
                same = M[ax, ay] == v
                if (same & (M[x, ay] == v) & (M[ax, y] == v)).any():
                    continue
            sx.append(x)
            sy.append(y)
            chosen.append(int(p))
        if len(chosen) > len(best):
            best = chosen
        if time.perf_counter() - t0 > time_limit:
            break
    return tuple(sorted((int(xs[p]), int(ys[p])) for p in best))


def fooling_bound(M: np.ndarray, kind: str = "combined", time_limit: float = 1.0, name: str | None = None) -> Bound:
    """The fooling-set lower bound on D: exact (clique search) on small matrices, greedy on large ones."""
    cells = M.size if kind == "combined" else int((M == int(kind)).sum())
    if cells <= EXACT_FOOLING_CELLS:
        return largest_fooling_set(M, kind, time_limit=time_limit, on_limit="best")
    S = greedy_fooling_set(M, kind, time_limit=time_limit)
    leaves = fooling_leaves(M, S)
    return Bound(math.ceil(math.log2(leaves)) if leaves > 0 else 0, "lower", "D",
                 name or f"matrix {M.shape[0]}x{M.shape[1]}", method="fooling-set",
                 witness=FoolingSet(kind, S, optimal=False),
                 source="[KN] Prop. 1.14 (fooling sets); theory §3", expression="ceil(log2(|S1| + |S0|))",
                 note=f"|S| = {len(S)}, {leaves} leaves forced; greedy search ({cells} candidate cells): "
                      "not proven largest")
