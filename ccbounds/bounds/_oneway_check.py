"""Independent re-check of the lower half of an exhaustive D^{A->B,mu}_eps value (theory §10.6).

A value c is optimal iff some protocol with 2^c classes has error <= eps (the witness; checked in
:func:`ccbounds.bounds.oneway_dist.check_one_way_protocol`) and no protocol with 2^(c-1) classes has. This module
decides the second statement by a depth-first search over assignments of rows to classes, pruned by the fact that
the error of a class never decreases when a row joins it. It shares no code with the search of
:mod:`ccbounds.bounds.oneway_dist` (which enumerates whole partitions or Bob's response sets in batches).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ccbounds.errors import TooLargeError

#: most search nodes the re-check visits before giving up
MAX_NODES = 400_000


def integer_weights(M: np.ndarray, mu: object) -> tuple[np.ndarray, int] | None:
    """mu as exact integers with their total (None when mu is not a non-negative array of M's shape)."""
    if mu is None or (isinstance(mu, str) and mu == "uniform"):
        return np.ones(M.shape, dtype=np.int64), int(M.size)
    arr = np.asarray(mu, dtype=np.float64)
    if arr.shape != M.shape or not np.isfinite(arr).all() or (arr < 0).any() or arr.sum() <= 0:
        return None
    fr = [Fraction(float(v)) for v in arr.ravel()]
    scale = math.lcm(*(f.denominator for f in fr))
    ints = [int(f * scale) for f in fr]
    if sum(ints) >= 2**62:
        raise TooLargeError("mu's entries need too many bits for the exact re-check; round mu to fewer digits")
    return np.array(ints, dtype=np.int64).reshape(M.shape), sum(ints)


def fits_in(M: np.ndarray, W: np.ndarray, k: int, budget: int) -> bool:
    """True iff the rows of M split into at most k classes with total error <= budget (integer mu-mass W)."""
    m, n = M.shape
    vals = sorted({int(v) for v in M.ravel()})
    # per row: its mass on each (value, column)
    contrib = [np.stack([np.where(M[i] == v, W[i], 0) for v in vals]) for i in range(m)]
    order = sorted(range(m), key=lambda i: -int(W[i].sum()))  # heavy rows first: earlier pruning
    classes: list[np.ndarray] = []
    errors: list[int] = []
    nodes = 0

    def err_of(mass: np.ndarray) -> int:
        return int(mass.sum() - mass.max(axis=0).sum())

    def dfs(pos: int, total: int) -> bool:
        nonlocal nodes
        nodes += 1
        if nodes > MAX_NODES:
            raise TooLargeError(f"the re-check of this one-way value needs more than {MAX_NODES} search nodes; "
                                "use a smaller matrix")
        if pos == m:
            return True
        row = contrib[order[pos]]
        for j in range(len(classes)):
            new = classes[j] + row
            e = err_of(new)
            t = total - errors[j] + e
            if t <= budget:
                old, olde = classes[j], errors[j]
                classes[j], errors[j] = new, e
                ok = dfs(pos + 1, t)
                classes[j], errors[j] = old, olde
                if ok:
                    return True
        if len(classes) < k:  # a new class (the error of a single row is its own)
            e = err_of(row)
            if total + e <= budget:
                classes.append(row.copy())
                errors.append(e)
                ok = dfs(pos + 1, total + e)
                classes.pop()
                errors.pop()
                if ok:
                    return True
        return False

    return dfs(0, 0)
