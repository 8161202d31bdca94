"""Independent oracle: exact one-way distributional complexity under the uniform mu on a small matrix.

D^{A->B,mu}_eps(M) for mu uniform on M's cells = the least c such that some map of the rows to 2^c messages,
with Bob's best answer per (message, column), errs on at most eps·|M| cells. Brute force over all maps
(row 0 gets message 0). Shares no code with ccbounds.
"""

from __future__ import annotations

import functools
import itertools
from fractions import Fraction

import numpy as np


@functools.cache
def _min_errors(key: bytes, m: int, n: int) -> tuple[int, ...]:
    M = np.frombuffer(key, dtype=np.int8).reshape(m, n)
    out: list[int] = []
    for c in range(0, 12):
        k = 2**c
        if k >= len({r.tobytes() for r in M}):
            return tuple(out + [0])
        best = m * n
        for labels in itertools.product(range(k), repeat=m - 1):
            labels = (0,) + labels
            err = 0
            for j in range(k):
                rows = [i for i in range(m) if labels[i] == j]
                if rows:
                    ones = M[rows].sum(axis=0)
                    err += int(np.minimum(ones, len(rows) - ones).sum())
            best = min(best, err)
        out.append(best)
    raise AssertionError("matrix too large for the oracle")


def _fraction(eps: float) -> Fraction:
    f = Fraction(eps).limit_denominator(1000)
    return f if abs(float(f) - eps) < 1e-12 else Fraction(eps)


def d_mu_uniform(M: np.ndarray, eps: float) -> int:
    """Exact D^{A->B,mu}_eps(M) for mu uniform on the cells of the 0/1 matrix M."""
    M = np.ascontiguousarray(M, dtype=np.int8)
    errs = _min_errors(M.tobytes(), *M.shape)
    return next(c for c, err in enumerate(errs) if Fraction(err, M.size) <= _fraction(eps))
