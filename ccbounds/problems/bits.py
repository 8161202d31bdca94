"""Problems on pairs of n-bit strings: EQ, DISJ, GT, IP (theory §2).

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
from typing import Any, ClassVar

import numpy as np

from ccbounds.bound_record import Bound
from ccbounds.errors import InvalidInputError
from ccbounds.problems.base import Problem, _check_eps, _check_int
from ccbounds.problems.facts import (
    EQ_NO_CERTIFICATE,
    GT_NO_CERTIFICATE,
    AuditQueries,
    flip_description,
    flip_queries,
    index_embedding_bound,
    unit_vectors,
)

__all__ = ["EQ", "DISJ", "GT", "IP"]

class _BitProblem(Problem):
    """x, y ∈ {0,1}^n as tuples; position i in the order is the binary expansion of i, MSB first."""

    prefix = ""
    alphabet = 2

    def __init__(self, n: int) -> None:
        self.n = _check_int(n, "n", 1)
        self.name = f"{self.prefix}_{self.n}"

    @property
    def family(self) -> str:
        return self.prefix

    def resized(self, n: int) -> _BitProblem:
        """The same problem at size n."""
        return type(self)(n)

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
            self._bound(n + 1, "upper", "D", "n+1", "theory §1 (Alice sends x, Bob answers)"),
            self._bound(n, "exact", "D1way(A->B)", "n", "theory §3 (2^n distinct rows)"),
            self._bound(n, "exact", "D1way(B->A)", "n", "theory §3 (2^n distinct columns)"),
        ]

    def _knr_embedding(self, eps: float) -> Bound:
        """R1way_eps(A->B) >= (1 - H2(eps))·n: INDEX_n sits inside through Bob's y = {i} ([KNR]; theory §2)."""
        from ccbounds.information import fano_term

        return self._bound(self.n * float(fano_term(eps, 2)), "lower", "R1way_eps(A->B)", "(1-H2(eps))*n",
                           "[KNR] through INDEX_n (Bob's y = {i}); theory §2", eps=eps)

    def _first_difference(self, x: Any, x_prime: Any) -> int | None:
        return next((i for i in range(self.n) if x[i] != x_prime[i]), None)

    def _unit_queries(self, kind: str, answer: str) -> AuditQueries:
        """Bob asks y = {i} for every i, which reads coordinate i of x (certified, theory §6)."""
        n = self.n
        return AuditQueries(kind, tuple(f"y={{{i}}}" for i in range(n)), unit_vectors(n), 2,
                            f"x uniform on {{0,1}}^{n} (K i.i.d. draws); Bob asks y = {{i}} for every i = 0..{n - 1} "
                            f"(the INDEX embedding, {self.prefix}(x, {{i}}) = {answer})", certified=True)

    def _unit_query(self, x: Any, x_prime: Any) -> tuple[int, ...] | None:
        """y = {i} for the first i with x_i != x'_i."""
        i = self._first_difference(x, x_prime)
        return None if i is None else unit_vectors(self.n)[i]


class EQ(_BitProblem):
    """EQ_n(x, y) = [x = y] for x, y ∈ {0,1}^n (theory §2).

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
    [KN] §1.3 (D), §3 (randomized); see :data:`ccbounds.bound_record.SOURCES`.

    Examples
    --------
    >>> EQ(3).f("101", (1, 0, 1)), EQ(3).num_alice_inputs
    (1, 8)
    """

    prefix = "EQ"
    description = "equality: [x = y] for n-bit strings x, y"
    constructions: ClassVar[dict[str, tuple[str, str]]] = {"tf2": ("two-layer EQ", "two_layer_eq")}

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
        """D = n+1 [KN], D1way = n, R_eps(pub) <= ⌈log2(1/eps)⌉+1, R_eps(priv) = Θ(log n) (theory §2).

        Examples
        --------
        >>> [str(b) for b in EQ(4).known_bounds(eps=0.25)][3]
        'R_eps(pub)(EQ_4) (eps=0.25) <= 3 bits  [known; [KN] §3 (random parities); theory §2]'
        """
        eps = _check_eps(eps)
        out = [self._bound(self.n + 1, "exact", "D", "n+1", "[KN] §1.3 (fooling set {(x, x)})")]
        out += self._trivial_bounds()[1:]
        if eps > 0:
            out.append(self._bound(math.ceil(math.log2(1 / eps) - 1e-12) + 1, "upper", "R_eps(pub)",
                                   "ceil(log2(1/eps))+1", "[KN] §3 (random parities); theory §2", eps=eps))
            out.append(self._bound(None, "exact", "R_eps(priv)", "Theta(log n)",
                                   "[KN] §3 (fingerprints or Newman; lower: R_priv = Omega(log D)); theory §2",
                                   eps=eps))
        return out

    def distributional_bound(self, eps: float) -> Bound:
        """0: no non-trivial bound once errors are allowed (public-coin hashing, theory §2)."""
        return Bound(0, "lower", "D_mu_eps(A->B)", self.name, eps=eps, method="known",
                     source="[KN] Ex. 3.5 (public-coin EQ in ceil(log2(1/eps))+1 bits)", expression="0",
                     note="no non-trivial bound with errors: hashing solves EQ with O(log 1/eps) bits")

    def audit_queries(self, seed: int = 0) -> AuditQueries:
        """Bob asks y = x and the n single-bit flips of x (no certificate: theory §6)."""
        return AuditQueries("eq", ("equal",) + tuple(f"flip {i}" for i in range(self.n)), None, 2,
                            flip_description(self.n), note=EQ_NO_CERTIFICATE)

    def audit_query_inputs(self, rows: np.ndarray, fixed: Any) -> list:
        return flip_queries(rows)

    def audit_truth(self, rows: np.ndarray, xs: Any, fixed: Any) -> np.ndarray:
        """1 for y = x, 0 for every flip."""
        out = np.zeros((len(rows), self.n + 1), dtype=np.int64)
        out[:, 0] = 1
        return out

    def separating_query(self, x: Any, x_prime: Any, candidates: Any = ()) -> Any:
        """y = x: EQ(x, x) = 1, EQ(x', x) = 0."""
        return None if tuple(x) == tuple(x_prime) else tuple(x)


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
    [KN] §1.3; [KS], [Raz] (randomized); see :data:`ccbounds.bound_record.SOURCES`.

    Examples
    --------
    >>> DISJ(3).f((1, 0, 1), (0, 1, 0)), DISJ(3).f((1, 0, 1), (0, 0, 1))
    (1, 0)
    """

    prefix = "DISJ"
    description = "disjointness: 1 iff the sets x, y ⊆ [n] (characteristic vectors) do not intersect"
    constructions: ClassVar[dict[str, tuple[str, str]]] = {"tf2": ("two-layer DISJ", "two_layer_disj")}

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
        """D = n+1 [KN], D1way = n, R_eps = Θ(n) for eps < 1/2 [KS, Raz], one-way (1-H2(eps))·n [KNR] (theory §2).

        Examples
        --------
        >>> [str(b) for b in DISJ(2).known_bounds()][0]
        'D(DISJ_2) = 3 bits  [known; [KN] §1.3 (fooling set {(x, complement of x)})]'
        """
        eps = _check_eps(eps)
        out = [self._bound(self.n + 1, "exact", "D", "n+1", "[KN] §1.3 (fooling set {(x, complement of x)})")]
        out += self._trivial_bounds()[1:]
        for model in ("R_eps(pub)", "R_eps(priv)"):
            out.append(self._bound(None, "exact", model, "Theta(n)",
                                   "[KS], [Raz] (Kalyanasundaram-Schnitger; Razborov: corruption)", eps=eps))
        out.append(self._knr_embedding(eps))
        return out

    def distributional_bound(self, eps: float) -> Bound:
        """INDEX's bound through y = {i}: n·(1 − H2(eps)) (theory §2, §6)."""
        return index_embedding_bound(self, eps, 2, "x uniform, i uniform; y = {i} (the INDEX->DISJ embedding)")

    def audit_queries(self, seed: int = 0) -> AuditQueries:
        return self._unit_queries("disj", "1 - x_i")

    def audit_truth(self, rows: np.ndarray, xs: Any, fixed: Any) -> np.ndarray:
        """DISJ(x, {i}) = 1 - x_i."""
        return (1 - rows).astype(np.int64)

    def separating_query(self, x: Any, x_prime: Any, candidates: Any = ()) -> Any:
        return self._unit_query(x, x_prime)


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
    [KN] §1.3 (fooling sets); see :data:`ccbounds.bound_record.SOURCES`.

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
        """D = n+1 (0-fooling set {(x, x)} plus a 1-input), D1way = n, R_eps(pub) = Θ(log n) for eps > 0.

        >>> [b.expression for b in GT(8).known_bounds(0.25)][-1]
        'Theta(log n)'
        """
        eps = _check_eps(eps)
        out = [self._bound(self.n + 1, "exact", "D", "n+1",
                           "[KN] §1.3 (0-fooling set {(x, x)} and one 1-input)")]
        out += self._trivial_bounds()[1:]
        if eps > 0:
            out.append(self._bound(None, "exact", "R_eps(pub)", "Theta(log n)",
                                   "Nisan 1993 (upper), Viola 2015 (lower); theory §2.4", eps=eps,
                                   note="for constant eps in (0, 1/2)"))
        return out

    def audit_queries(self, seed: int = 0) -> AuditQueries:
        """Bob asks y = x and the n single-bit flips of x: GT(x, x) = 0, GT(x, x XOR e_i) = x_i.

        No certificate: the flips depend on x, so Bob's query already tells him the other bits.
        """
        return AuditQueries("gt", ("equal",) + tuple(f"flip {i}" for i in range(self.n)), None, 2,
                            flip_description(self.n), note=GT_NO_CERTIFICATE)

    def audit_query_inputs(self, rows: np.ndarray, fixed: Any) -> list:
        return flip_queries(rows)

    def audit_truth(self, rows: np.ndarray, xs: Any, fixed: Any) -> np.ndarray:
        """0 for y = x; x_i for the flip of bit i (x and x XOR e_i differ only there)."""
        return np.concatenate([np.zeros((len(rows), 1), dtype=np.int64), rows.astype(np.int64)], axis=1)

    def separating_query(self, x: Any, x_prime: Any, candidates: Any = ()) -> Any:
        """y = min(x, x'): GT(min, min) = 0 and GT(max, min) = 1.

        >>> GT(3).separating_query((1, 0, 0), (0, 1, 1))
        (0, 1, 1)
        """
        x, x_prime = tuple(x), tuple(x_prime)
        return None if x == x_prime else min(x, x_prime)


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
    [KN] §3.5 (discrepancy); see :data:`ccbounds.bound_record.SOURCES`.

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
        """D1way = n (distinct rows), D <= n+1 (trivial), R_eps = Θ(n) for eps < 1/2 (discrepancy), one-way [KNR]."""
        eps = _check_eps(eps)
        return self._trivial_bounds() + [
            self._bound(None, "exact", model, "Theta(n)", "[KN] §3.5 (discrepancy of IP; Chor-Goldreich 1988)",
                        eps=eps) for model in ("R_eps(pub)", "R_eps(priv)")] + [self._knr_embedding(eps)]

    def distributional_bound(self, eps: float) -> Bound:
        """INDEX's bound through y = {i} (IP(x, e_i) = x_i): n·(1 − H2(eps)) (theory §6)."""
        return index_embedding_bound(self, eps, 2, "x uniform, i uniform; y = {i} (IP(x, {i}) = x_i)")

    def audit_queries(self, seed: int = 0) -> AuditQueries:
        return self._unit_queries("ip", "x_i")

    def audit_truth(self, rows: np.ndarray, xs: Any, fixed: Any) -> np.ndarray:
        """IP(x, {i}) = x_i."""
        return rows.astype(np.int64)

    def separating_query(self, x: Any, x_prime: Any, candidates: Any = ()) -> Any:
        return self._unit_query(x, x_prime)
