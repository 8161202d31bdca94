"""Shared pieces of the randomized bounds: rectangle maxima, exact rationals, the gamma2* dual check.

* :func:`max_rectangle_sum` -- max over rectangles S x T of sum_{S x T} K, exhaustively over the subsets of the
  smaller side and in closed form on the other (the best T keeps the columns whose partial sum is positive).
  ``exact=True`` does it in rationals (floats are converted exactly, ``Fraction(float)``).
* :func:`dual_norm_upper` -- a checked upper bound on gamma2*(K) = max sum_ij K_ij <u_i, v_j> over unit vectors,
  from a point (a, b) of the dual: if [[diag a, -K], [-K^T, diag b]] is PSD then gamma2*(K) <= (sum a + sum b)/2.
  The check computes the least eigenvalue with numpy (never a solver) and, when it is negative, raises a and b by
  it (which makes the matrix PSD), so the returned value is an upper bound up to the eigenvalue round-off, which
  is added as a stated margin (:data:`EIG_MARGIN` times the matrix's norm and size).

Examples
--------
>>> max_rectangle_sum(np.array([[1.0, -2.0], [3.0, 1.0]]))[0]
4.0
>>> max_rectangle_sum([[1, -2], [3, 1]], exact=True)[0]
Fraction(4, 1)
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from ccbounds.errors import InvalidInputError, TooLargeError

__all__ = ["EIG_MARGIN", "MAX_ENUM_SIDE", "dual_norm_upper", "eps_fraction", "max_rectangle_sum", "optional_import",
           "to_fractions"]

#: most rows (of the smaller side) whose 2^k subsets are enumerated
MAX_ENUM_SIDE = 20
#: relative round-off margin added to eigenvalue-based certificate checks
EIG_MARGIN = 1e-9


def optional_import(name: str) -> Any:
    """Import scipy or cvxpy, or raise one clear error naming the ``randomized`` extra."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        raise InvalidInputError(f"the randomized bounds need {name.split('.')[0]}: "
                                "pip install 'ccbounds[randomized]'") from None


def eps_fraction(eps: float) -> Fraction:
    """eps as the rational it was meant to be: 1/3 for the float 0.333..., else the float's exact value.

    >>> eps_fraction(1 / 3), eps_fraction(0.1)
    (Fraction(1, 3), Fraction(1, 10))
    """
    f = Fraction(float(eps)).limit_denominator(1000)
    return f if abs(float(f) - float(eps)) < 1e-12 else Fraction(float(eps))


def to_fractions(K: Any) -> list[list[Fraction]]:
    """A matrix of numbers as exact rationals (a float becomes the rational it represents)."""
    return [[v if isinstance(v, Fraction) else Fraction(v) for v in row] for row in np.asarray(K, dtype=object)]


def max_rectangle_sum(K: Any, exact: bool = False) -> tuple[Any, tuple[int, ...], tuple[int, ...]]:
    """max over rectangles S x T (S, T possibly empty) of the sum of K over S x T, with an optimal (S, T).

    Parameters
    ----------
    K : array_like
        Real matrix (floats, ints or Fractions).
    exact : bool
        Compute in rationals (``Fraction``), so the value is exact; else in float64.

    Returns
    -------
    (value, S, T)
        The maximum (>= 0, the empty rectangle) and row and column index tuples attaining it.

    Raises
    ------
    TooLargeError
        Both sides longer than :data:`MAX_ENUM_SIDE`.
    """
    transpose = False
    A = np.asarray(K, dtype=object if exact else np.float64)
    if A.ndim != 2:
        raise InvalidInputError("expected a 2-D matrix")
    if A.shape[0] > A.shape[1]:
        A, transpose = A.T, True
    k = A.shape[0]
    if k > MAX_ENUM_SIDE:
        raise TooLargeError(f"exact rectangle maxima enumerate 2^k subsets of the smaller side, k <= {MAX_ENUM_SIDE}; "
                            f"this matrix has {k} (use the SDP upper bound)")
    if exact:
        F = to_fractions(A)
        D = math.lcm(*(v.denominator for row in F for v in row))
        ints = [[int(v * D) for v in row] for row in F]
        if sum(abs(v) for row in ints for v in row) < 2**62:  # int64 sums are exact
            v, bS, bT = _enumerate(np.array(ints, dtype=np.int64), k)
            value: Any = Fraction(int(v), D)
        else:
            v, bS, bT = _gray(ints, k)
            value = Fraction(v, D)
    else:
        v, bS, bT = _enumerate(A.astype(np.float64), k)
        value = float(v)
    return (value, bT, bS) if transpose else (value, bS, bT)


def _enumerate(A: np.ndarray, k: int) -> tuple[Any, tuple[int, ...], tuple[int, ...]]:
    """Vectorised over chunks of subsets of the k rows (float64, or int64 for exact sums)."""
    best, bS, bT = A.dtype.type(0), (), ()
    chunk = 1 << min(k, 14)
    for start in range(0, 2**k, chunk):
        idx = np.arange(start, min(start + chunk, 2**k), dtype=np.int64)[:, None]
        rows = ((idx >> np.arange(k)[None, :]) & 1).astype(A.dtype)
        cols = rows @ A  # (chunk, n) partial column sums
        vals = np.where(cols > 0, cols, 0).sum(axis=1)
        j = int(np.argmax(vals))
        if vals[j] > best:
            best = vals[j]
            bS = tuple(int(r) for r in np.flatnonzero(rows[j]))
            bT = tuple(int(c) for c in np.flatnonzero(cols[j] > 0))
    return best, bS, bT


def _gray(ints: list[list[int]], k: int) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
    """Python integers (unbounded), one row in or out per step (Gray code)."""
    best, bS, bT = 0, (), ()
    col = [0] * len(ints[0])
    prev = 0
    for g in range(1, 2**k):
        gray = g ^ (g >> 1)
        i = (gray ^ prev).bit_length() - 1
        sign = 1 if gray >> i & 1 else -1
        col = [c + sign * ints[i][j] for j, c in enumerate(col)]
        prev = gray
        val = sum(c for c in col if c > 0)
        if val > best:
            best = val
            bS = tuple(r for r in range(k) if gray >> r & 1)
            bT = tuple(j for j, c in enumerate(col) if c > 0)
    return best, bS, bT


def dual_norm_upper(K: Any, a: Any, b: Any) -> float:
    """A checked upper bound on gamma2*(K) from a dual point (a, b) (see the module docstring).

    Examples
    --------
    >>> round(dual_norm_upper(np.eye(2), [1, 1], [1, 1]), 6)  # gamma2*(I_2) = 2
    2.0
    >>> dual_norm_upper(np.eye(2), [0, 0], [0, 0]) >= 2  # an infeasible point is repaired, not trusted
    True
    """
    K = np.asarray(K, dtype=np.float64)
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    m, n = K.shape
    if a.shape != (m,) or b.shape != (n,) or not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise InvalidInputError(f"a dual point needs {m} + {n} finite numbers")
    block = np.block([[np.diag(a), -K], [-K.T, np.diag(b)]])
    lam = float(np.linalg.eigvalsh(block)[0])
    margin = EIG_MARGIN * (m + n) * max(1.0, float(np.abs(block).max()))
    shift = max(0.0, -lam) + margin
    return float((a.sum() + b.sum()) / 2 + shift * (m + n) / 2)
