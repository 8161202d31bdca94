"""Problems on pairs of n-bit strings: EQ, DISJ, GT, IP (SPEC §2).

Inputs are tuples of 0/1 of length n (strings like ``"0101"`` are accepted); the order of
:meth:`~ccbounds.problems.Problem.alice_inputs` is that of ``itertools.product((0, 1), repeat=n)``:
position i is the binary expansion of i, most significant bit first.

Examples
--------
>>> IP(2).matrix().tolist()
[[0, 0, 0, 0], [0, 1, 0, 1], [0, 0, 1, 1], [0, 1, 1, 0]]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ccbounds.bound import Bound
from ccbounds.errors import InvalidInputError
from ccbounds.problems.base import Problem, _check_eps, _check_int

__all__ = ["EQ", "DISJ", "GT", "IP"]


class _BitProblem(Problem):
    """x, y ∈ {0,1}^n as tuples; position i in the order is the binary expansion of i, MSB first."""

    prefix = ""

    def __init__(self, n: int) -> None:
        self.n = _check_int(n, "n", 1)
        self.name = f"{self.prefix}_{self.n}"

    def _bits(self, v: Any, who: str) -> tuple[int, ...]:
        if isinstance(v, str):
            v = [int(c) if c in "01" else c for c in v]
        try:
            t = tuple(v)
        except TypeError:
            raise InvalidInputError(f"{who}'s input to {self.name} must be a sequence of {self.n} bits, got "
                                    f"{v!r}") from None
        if len(t) != self.n or any(isinstance(b, bool) or b not in (0, 1) for b in t):
            raise InvalidInputError(f"{who}'s input to {self.name} must be {self.n} bits (0/1), got {v!r}")
        return tuple(int(b) for b in t)

    def check_x(self, x: Any) -> tuple[int, ...]:
        """Validate Alice's input; returns it as a tuple of ints."""
        return self._bits(x, "Alice")

    def check_y(self, y: Any) -> tuple[int, ...]:
        """Validate Bob's input; returns it as a tuple of ints."""
        return self._bits(y, "Bob")

    @property
    def num_alice_inputs(self) -> int:
        return 2**self.n

    @property
    def num_bob_inputs(self) -> int:
        return 2**self.n

    @property
    def log2_num_alice_inputs(self) -> float:
        return float(self.n)

    @property
    def log2_num_bob_inputs(self) -> float:
        return float(self.n)

    def _x_at(self, i: int) -> tuple[int, ...]:
        return tuple((i >> (self.n - 1 - k)) & 1 for k in range(self.n))

    _y_at = _x_at

    def x_index(self, x: Any) -> int:
        return int("".join(map(str, self.check_x(x))), 2)

    def y_index(self, y: Any) -> int:
        return int("".join(map(str, self.check_y(y))), 2)

    def _random_pairs(self, rng: np.random.Generator, k: int) -> list[tuple[Any, Any]]:
        xs = rng.integers(0, 2, size=(k, self.n))
        ys = rng.integers(0, 2, size=(k, self.n))
        return [(tuple(a.tolist()), tuple(b.tolist())) for a, b in zip(xs, ys)]

    def _grid(self) -> tuple[np.ndarray, np.ndarray]:
        self._check_matrix_size()
        r = np.arange(2**self.n, dtype=np.int32)
        return r[:, None], r[None, :]

    def _trivial_bounds(self) -> list[Bound]:
        n = self.n
        return [
            self._bound(n + 1, "upper", "D", "n+1", "SPEC §1 (Alice sends x, Bob answers)"),
            self._bound(n, "exact", "D1way(A->B)", "n", "SPEC §3 (2^n distinct rows)"),
            self._bound(n, "exact", "D1way(B->A)", "n", "SPEC §3 (2^n distinct columns)"),
        ]


class EQ(_BitProblem):
    """EQ_n(x, y) = [x = y] for x, y ∈ {0,1}^n (SPEC §2).

    Parameters
    ----------
    n : int
        Length of the bit strings, >= 1.

    Raises
    ------
    InvalidInputError
        If n is not a positive integer; from :meth:`f`, for inputs that are not n bits.

    References
    ----------
    [KN] §1.3 (D), §3 (randomized); see :data:`ccbounds.bound.SOURCES`.

    Examples
    --------
    >>> EQ(3).f("101", (1, 0, 1)), EQ(3).num_alice_inputs
    (1, 8)
    """

    prefix = "EQ"
    description = "equality: [x = y] for n-bit strings x, y"

    def _f(self, x: tuple, y: tuple) -> int:
        return int(x == y)

    def matrix(self) -> np.ndarray:
        i, j = self._grid()
        return (i == j).astype(np.int8)

    def _pairs_with_output(self, rng: np.random.Generator, v: int, k: int) -> list[tuple[Any, Any]]:
        xs = rng.integers(0, 2, size=(k, self.n))
        if v == 1:
            return [(tuple(a.tolist()), tuple(a.tolist())) for a in xs]
        out = []
        for a in xs:  # y = x XOR d with d uniform on the nonzero strings: uniform on y != x
            d = rng.integers(0, 2, size=self.n)
            while not d.any():
                d = rng.integers(0, 2, size=self.n)
            out.append((tuple(a.tolist()), tuple((a ^ d).tolist())))
        return out

    def known_bounds(self, eps: float = 1 / 3) -> list[Bound]:
        """D = n+1 [KN], D1way = n, R_eps(pub) <= ⌈log2(1/eps)⌉+1, R_eps(priv) = Θ(log n) (SPEC §2).

        Examples
        --------
        >>> [str(b) for b in EQ(4).known_bounds(eps=0.25)][3]
        'R_eps(pub)(EQ_4) (eps=0.25) <= 3 bits  [known; [KN] §3 (random parities); SPEC §2]'
        """
        eps = _check_eps(eps)
        out = [self._bound(self.n + 1, "exact", "D", "n+1", "[KN] §1.3 (fooling set {(x, x)})")]
        out += self._trivial_bounds()[1:]
        if eps > 0:
            out.append(self._bound(math.ceil(math.log2(1 / eps) - 1e-12) + 1, "upper", "R_eps(pub)",
                                   "ceil(log2(1/eps))+1", "[KN] §3 (random parities); SPEC §2", eps=eps))
            out.append(self._bound(None, "exact", "R_eps(priv)", "Theta(log n)",
                                   "[KN] §3 (fingerprints; Newman); SPEC §2", eps=eps))
        return out


class DISJ(_BitProblem):
    """DISJ_n(x, y) = 1 iff no k has x_k = y_k = 1 (x, y characteristic vectors of subsets of [n]).

    Parameters
    ----------
    n : int
        Length of the bit strings, >= 1.

    Raises
    ------
    InvalidInputError
        If n is not a positive integer; from :meth:`f`, for inputs that are not n bits.

    References
    ----------
    [KN] §1.3; [KS], [Raz] (randomized); see :data:`ccbounds.bound.SOURCES`.

    Examples
    --------
    >>> DISJ(3).f((1, 0, 1), (0, 1, 0)), DISJ(3).f((1, 0, 1), (0, 0, 1))
    (1, 0)
    """

    prefix = "DISJ"
    description = "disjointness: 1 iff the sets x, y ⊆ [n] (characteristic vectors) do not intersect"

    def _f(self, x: tuple, y: tuple) -> int:
        return int(not any(a & b for a, b in zip(x, y)))

    def matrix(self) -> np.ndarray:
        i, j = self._grid()
        return ((i & j) == 0).astype(np.int8)

    def _pairs_with_output(self, rng: np.random.Generator, v: int, k: int) -> list[tuple[Any, Any]]:
        if v == 0:  # intersecting pairs have probability >= 1/4 under uniform: rejection is cheap
            return super()._pairs_with_output(rng, v, k)
        c = rng.integers(0, 3, size=(k, self.n))  # each coordinate uniform on (0,0), (1,0), (0,1)
        return [(tuple((r == 1).astype(int).tolist()), tuple((r == 2).astype(int).tolist())) for r in c]

    def known_bounds(self, eps: float = 1 / 3) -> list[Bound]:
        """D = n+1 [KN], D1way = n, R_eps = Θ(n) for eps < 1/2 [KS, Raz] (SPEC §2).

        Examples
        --------
        >>> [str(b) for b in DISJ(2).known_bounds()][0]
        'D(DISJ_2) = 3 bits  [known; [KN] §1.3 (fooling set {(x, complement of x)})]'
        """
        eps = _check_eps(eps)
        out = [self._bound(self.n + 1, "exact", "D", "n+1", "[KN] §1.3 (fooling set {(x, complement of x)})")]
        out += self._trivial_bounds()[1:]
        for model in ("R_eps(pub)", "R_eps(priv)"):
            out.append(self._bound(None, "exact", model, "Theta(n)", "[KS], [Raz]", eps=eps))
        return out


class GT(_BitProblem):
    """GT_n(x, y) = [x > y], comparing x, y as n-bit binary numbers, most significant bit first.

    Parameters
    ----------
    n : int
        Length of the bit strings, >= 1.

    Raises
    ------
    InvalidInputError
        If n is not a positive integer; from :meth:`f`, for inputs that are not n bits.

    References
    ----------
    [KN] §1.3 (fooling sets); see :data:`ccbounds.bound.SOURCES`.

    Examples
    --------
    >>> GT(2).matrix().tolist()
    [[0, 0, 0, 0], [1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0]]
    """

    prefix = "GT"
    description = "greater-than: [x > y] for n-bit binary numbers (MSB first)"

    def _f(self, x: tuple, y: tuple) -> int:
        return int(x > y)  # lexicographic order on equal-length bit tuples = numeric order

    def matrix(self) -> np.ndarray:
        i, j = self._grid()
        return (i > j).astype(np.int8)

    def known_bounds(self, eps: float = 1 / 3) -> list[Bound]:
        """D = n+1 (0-fooling set {(x, x)} plus a 1-input), D1way = n, trivial upper bound n+1."""
        _check_eps(eps)
        out = [self._bound(self.n + 1, "exact", "D", "n+1",
                           "[KN] §1.3 (0-fooling set {(x, x)} and one 1-input)")]
        return out + self._trivial_bounds()[1:]


class IP(_BitProblem):
    """IP_n(x, y) = Σ_k x_k·y_k mod 2.

    Parameters
    ----------
    n : int
        Length of the bit strings, >= 1.

    Raises
    ------
    InvalidInputError
        If n is not a positive integer; from :meth:`f`, for inputs that are not n bits.

    References
    ----------
    [KN] §3.5 (discrepancy); see :data:`ccbounds.bound.SOURCES`.

    Examples
    --------
    >>> IP(3).f((1, 1, 0), (1, 1, 1))
    0
    """

    prefix = "IP"
    description = "inner product mod 2 of n-bit strings"

    def _f(self, x: tuple, y: tuple) -> int:
        return sum(a & b for a, b in zip(x, y)) % 2

    def matrix(self) -> np.ndarray:
        i, j = self._grid()
        both = i & j
        if hasattr(np, "bitwise_count"):  # numpy >= 2.0
            return (np.bitwise_count(both) & 1).astype(np.int8)
        par = np.zeros(both.shape, dtype=np.int8)
        for b in range(self.n):
            par ^= ((both >> b) & 1).astype(np.int8)
        return par

    def known_bounds(self, eps: float = 1 / 3) -> list[Bound]:
        """D1way = n (distinct rows), D <= n+1 (trivial), R_eps = Θ(n) for eps < 1/2 (discrepancy)."""
        eps = _check_eps(eps)
        return self._trivial_bounds() + [
            self._bound(None, "exact", "R_eps(pub)", "Theta(n)", "[KN] §3.5 (discrepancy of IP)", eps=eps)]
