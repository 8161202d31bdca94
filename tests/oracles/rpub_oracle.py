"""Independent oracle: exact public-coin randomized complexity of tiny 0/1 matrices.

Written for the tests only, sharing no code with ``ccbounds``. A deterministic protocol tree of depth
at most c computes an output table t: X x Y -> {0, 1}; ``tables(M, c)`` enumerates every such table
(as an int bitmask over the cells, bit i*n + j for cell (i, j)). A public-coin protocol of cost c is a
distribution p over deterministic protocols of cost c, so

    R^pub_eps(M) <= c  iff  min_p max_(x,y) Pr_p[t(x, y) != M(x, y)] <= eps,

an LP over the distributions p on ``tables(M, c)`` (scipy HiGHS). ``rpub(M, eps)`` is the least such c.
One-way: the tables of a one-way protocol with c message bits are those with at most 2^c distinct rows
(Bob answers from the message and y alone); ``rpub_oneway`` is the same LP over them.
"""

from __future__ import annotations

from functools import cache
from itertools import product

import numpy as np
from scipy.optimize import linprog

TOL = 1e-9


def _subsets(mask: int) -> list[int]:
    """All non-empty proper sub-masks of mask, one of each complementary pair."""
    out, sub = [], (mask - 1) & mask
    while sub:
        if sub < (mask ^ sub):
            out.append(sub)
        sub = (sub - 1) & mask
    return out


def _bits(mask: int) -> list[int]:
    return [i for i in range(mask.bit_length()) if mask >> i & 1]


def tables(m: int, n: int, c: int) -> frozenset[int]:
    """Output tables (bitmasks over m x n cells) of all deterministic protocols of depth <= c."""
    return _tables(m, n, (1 << m) - 1, (1 << n) - 1, c)


@cache
def _tables(m: int, n: int, rows: int, cols: int, c: int) -> frozenset[int]:
    cells = 0
    for i in _bits(rows):
        for j in _bits(cols):
            cells |= 1 << (i * n + j)
    out = {0, cells}
    if c == 0:
        return frozenset(out)
    out |= _tables(m, n, rows, cols, c - 1)
    for a in _subsets(rows):  # Alice speaks: her rows split into a and rows - a
        left, right = _tables(m, n, a, cols, c - 1), _tables(m, n, rows ^ a, cols, c - 1)
        out |= {s | t for s in left for t in right}
    for b in _subsets(cols):  # Bob speaks
        left, right = _tables(m, n, rows, b, c - 1), _tables(m, n, rows, cols ^ b, c - 1)
        out |= {s | t for s in left for t in right}
    return frozenset(out)


def oneway_tables(m: int, n: int, c: int) -> list[int]:
    """Tables with at most 2^c distinct rows: one-way A->B protocols with c message bits."""
    out = []
    for rows in product(range(1 << n), repeat=m):
        if len(set(rows)) <= 2**c:
            out.append(sum(r << (i * n) for i, r in enumerate(rows)))
    return out


def min_max_error(M: np.ndarray, tabs: list[int] | frozenset[int]) -> float:
    """min over distributions on the tables of the largest error probability over the cells (LP)."""
    M = np.asarray(M)
    m, n = M.shape
    target = sum(int(M[i, j]) << (i * n + j) for i in range(m) for j in range(n))
    tabs = sorted(tabs)
    if target in tabs:
        return 0.0
    K = len(tabs)
    shifts = np.arange(m * n, dtype=np.uint64)
    wrong = ((np.array([t ^ target for t in tabs], dtype=np.uint64)[:, None] >> shifts) & np.uint64(1))
    wrong = wrong.T.astype(float)  # (cells, K): 1 where table k errs on the cell
    # variables: p_1..p_K, e; minimise e s.t. wrong @ p - e <= 0, sum p = 1
    cost = np.zeros(K + 1)
    cost[-1] = 1.0
    A_ub = np.hstack([wrong, -np.ones((m * n, 1))])
    A_eq = np.hstack([np.ones((1, K)), np.zeros((1, 1))])
    res = linprog(cost, A_ub=A_ub, b_ub=np.zeros(m * n), A_eq=A_eq, b_eq=[1.0],
                  bounds=[(0, None)] * (K + 1), method="highs")
    assert res.status == 0, res.message
    return float(res.fun)


@cache
def _errors(key: tuple, oneway: bool) -> tuple[float, ...]:
    M = np.array(key, dtype=np.int64)
    m, n = M.shape
    errs = []
    for c in range(0, 8):
        tabs = oneway_tables(m, n, c) if oneway else tables(m, n, c)
        e = min_max_error(M, tabs)
        errs.append(e)
        if e == 0.0:
            break
    return tuple(errs)


def _key(M: np.ndarray) -> tuple:
    return tuple(tuple(int(v) for v in row) for row in np.asarray(M))


def rpub(M: np.ndarray, eps: float) -> int:
    """Exact R^pub_eps(M): the least c with min-max error <= eps over depth-c protocol distributions."""
    return next(c for c, e in enumerate(_errors(_key(M), False)) if e <= eps + TOL)


def rpub_oneway(M: np.ndarray, eps: float) -> int:
    """Exact public-coin one-way R^{A->B,pub}_eps(M) (message bits only)."""
    return next(c for c, e in enumerate(_errors(_key(M), True)) if e <= eps + TOL)


def all_matrices(m: int, n: int) -> list[np.ndarray]:
    """Every m x n 0/1 matrix."""
    return [np.array(v, dtype=np.int8).reshape(m, n) for v in product((0, 1), repeat=m * n)]
