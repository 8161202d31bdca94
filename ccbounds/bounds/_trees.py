"""Cheap protocol trees (upper bounds on D) as split specs, and their conversion to ProtocolTree.

A *spec* is a leaf output (0/1) or ``(owner, ones, child0, child1)`` with ``ones`` the row (Alice)
or column (Bob) indices that send bit 1 — the form of :meth:`ProtocolTree.from_splits`.

Examples
--------
>>> import numpy as np
>>> depth(oneway_spec(np.eye(4, dtype=np.int8), 0))  # Alice names her row (2 bits), Bob answers
3
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["ALICE", "BOB", "depth", "expand_spec", "greedy_spec", "oneway_spec"]

ALICE, BOB = "Alice", "Bob"


def depth(spec: Any) -> int:
    """Depth of a spec (0 for a leaf)."""
    if isinstance(spec, tuple):
        return 1 + max(depth(spec[2]), depth(spec[3]))
    return 0


def _colour(M: np.ndarray, rows: list[int], cols: list[int]) -> int | None:
    sub = M[np.ix_(rows, cols)]
    v = int(sub.flat[0])
    return v if (sub == v).all() else None


def _announce(owner: str, groups: list[list[int]], leaf: Any, first: int = 0) -> Any:
    """A balanced tree in which ``owner`` names which of ``groups`` (lists of their row or column
    indices) holds; ``leaf(k)`` below the k-th group (``first`` offsets k)."""
    if len(groups) == 1:
        return leaf(first)
    h = 1 << (math.ceil(math.log2(len(groups))) - 1)
    ones = sorted(i for g in groups[h:] for i in g)
    return (owner, ones, _announce(owner, groups[:h], leaf, first), _announce(owner, groups[h:], leaf, first + h))


def oneway_spec(M: np.ndarray, axis: int = 0) -> Any:
    """The protocol 'Alice (axis 0) / Bob (axis 1) names the class of her row, the other answers'.

    Depth ``ceil(log2 #classes)`` plus the answer: ``ceil(log2 #values)`` bits for a class whose
    row takes that many values (none where it is constant; one for a 0/1 matrix).
    """
    A = M if axis == 0 else M.T
    owner, other = (ALICE, BOB) if axis == 0 else (BOB, ALICE)
    groups: dict[bytes, list[int]] = {}
    for i in range(A.shape[0]):
        groups.setdefault(A[i].tobytes(), []).append(i)
    classes = sorted(groups.values())

    def answer(k: int) -> Any:
        row = A[classes[k][0]]
        values = sorted(set(row.tolist()))
        return _announce(other, [[j for j in range(A.shape[1]) if row[j] == v] for v in values],
                         lambda t: int(values[t]))

    return _announce(owner, classes, answer)


def _estimate(M: np.ndarray, rows: list[int], cols: list[int]) -> int:
    """An upper bound on D of the sub-rectangle: the better one-way protocol inside it."""
    sub = M[np.ix_(rows, cols)]
    if (sub == sub.flat[0]).all():
        return 0
    best = math.inf
    for A in (sub, sub.T):
        uniq = {A[i].tobytes() for i in range(A.shape[0])}
        constant = all(len(set(u)) == 1 for u in uniq)
        best = min(best, math.ceil(math.log2(len(uniq))) + (0 if constant else 1))
    return int(best)


def greedy_spec(M: np.ndarray, rows: list[int] | None = None, cols: list[int] | None = None) -> Any:
    """A protocol built top-down: at each node the split 'value at one column' (Alice) or 'value at
    one row' (Bob) whose children have the smallest one-way estimate, until the rectangles are
    monochromatic. Always terminates: a non-monochromatic rectangle has a nontrivial such split.
    """
    rows = list(range(M.shape[0])) if rows is None else rows
    cols = list(range(M.shape[1])) if cols is None else cols
    c = _colour(M, rows, cols)
    if c is not None:
        return c
    best: tuple[Any, ...] | None = None
    seen: set[tuple[str, tuple[int, ...]]] = set()
    for owner, items, others in ((ALICE, rows, cols), (BOB, cols, rows)):
        for k in others:
            vals = M[items, k] if owner == ALICE else M[k, items]
            ones = tuple(i for i, v in zip(items, vals) if v)
            if not ones or len(ones) == len(items) or (owner, ones) in seen:
                continue
            seen.add((owner, ones))
            zeros = [i for i in items if i not in set(ones)]
            if owner == ALICE:
                e = max(_estimate(M, zeros, cols), _estimate(M, list(ones), cols))
            else:
                e = max(_estimate(M, rows, zeros), _estimate(M, rows, list(ones)))
            key = (e, abs(len(ones) - len(zeros)))
            if best is None or key < best[0]:
                best = (key, owner, list(ones), zeros)
    assert best is not None  # a non-monochromatic rectangle always has a nontrivial split
    _, owner, ones, zeros = best
    if owner == ALICE:
        return (ALICE, ones, greedy_spec(M, zeros, cols), greedy_spec(M, ones, cols))
    return (BOB, ones, greedy_spec(M, rows, zeros), greedy_spec(M, rows, ones))


def expand_spec(spec: Any, row_classes: Any, col_classes: Any) -> Any:
    """Map a spec on class indices (of a deduplicated matrix) back to original row/column indices."""
    if not isinstance(spec, tuple):
        return spec
    owner, ones, c0, c1 = spec
    classes = row_classes if owner == ALICE else col_classes
    orig = sorted(i for k in ones for i in classes[k])
    return (owner, orig, expand_spec(c0, row_classes, col_classes), expand_spec(c1, row_classes, col_classes))
