"""Matrices up to row and column permutations and complement (R_eps, disc, gamma2 are invariant)."""

from __future__ import annotations

from itertools import permutations, product

import numpy as np


def canonical(M: np.ndarray) -> bytes:
    """The smallest byte string among the row/column permutations and complements of M."""
    M = np.asarray(M, dtype=np.int8)
    m, n = M.shape
    best = None
    for A in (M, 1 - M):
        for p in permutations(range(m)):
            Ap = A[list(p)]
            for q in permutations(range(n)):
                key = Ap[:, list(q)].tobytes()
                if best is None or key < best:
                    best = key
    return best


def canonical_classes(m: int, n: int) -> list[np.ndarray]:
    """One representative of every class of m x n 0/1 matrices under permutations and complement."""
    seen, reps = set(), []
    for v in product((0, 1), repeat=m * n):
        M = np.array(v, dtype=np.int8).reshape(m, n)
        k = canonical(M)
        if k not in seen:
            seen.add(k)
            reps.append(M)
    return reps
