"""INDEX_n over an alphabet of size q: Alice holds x ∈ {0..q-1}^n, Bob an index i (theory §2).

Examples
--------
>>> INDEX(2).alice_inputs(), INDEX(2).bob_inputs()
([(0, 0), (0, 1), (1, 0), (1, 1)], [0, 1])
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from ccbounds.bound_record import Bound
from ccbounds.errors import InvalidInputError
from ccbounds.information import fano_term
from ccbounds.problems.base import (
    MAX_OUTPUT_VALUE,
    Problem,
    _ceil_log2,
    _ceil_log2_power,
    _check_eps,
    _check_int,
)
from ccbounds.problems.facts import AuditQueries, index_embedding_bound

__all__ = ["INDEX"]


class INDEX(Problem):
    """INDEX_n: Alice holds x ∈ {0..q-1}^n, Bob holds an index i ∈ range(n) (0-based); f = x_i.

    Parameters
    ----------
    n : int
        Length of Alice's string, >= 1.
    q : int
        Alphabet size, 2 <= q <= 128 (outputs are ``range(q)``).

    Raises
    ------
    InvalidInputError
        For a bad n or q; from :meth:`f`, for a string outside {0..q-1}^n or an index outside range(n).

    References
    ----------
    [KNR] I. Kremer, N. Nisan, D. Ron, On randomized one-round communication complexity, 1999.

    Examples
    --------
    >>> p = INDEX(3)
    >>> p.name, p.f((0, 1, 1), 1), p.matrix().shape
    ('INDEX_3', 1, (8, 3))
    >>> INDEX(2, q=3).name, INDEX(2, q=3).outputs
    ('INDEX_2_q3', (0, 1, 2))
    """

    description = "index: Alice holds x ∈ {0..q-1}^n, Bob an index i; output x_i"
    family = "INDEX"
    constructions: ClassVar[dict[str, tuple[str, str]]] = {"tf1": ("one-layer index lookup", "index_lookup")}

    def __init__(self, n: int, q: int = 2) -> None:
        self.n = _check_int(n, "n", 1)
        self.q = _check_int(q, "q (alphabet size)", 2, MAX_OUTPUT_VALUE + 1)
        self.name = f"INDEX_{self.n}" + ("" if self.q == 2 else f"_q{self.q}")
        self.outputs = tuple(range(self.q))
        self.alphabet = self.q

    def check_x(self, x: Any) -> tuple[int, ...]:
        """Validate Alice's string; returns a tuple of ints in range(q)."""
        if isinstance(x, str):
            x = [int(c) if c.isdigit() else c for c in x]
        try:
            t = tuple(x)
        except TypeError:
            raise InvalidInputError(f"Alice's input to {self.name} must be a sequence of {self.n} symbols") from None
        if len(t) != self.n or any(isinstance(s, bool) or s not in range(self.q) for s in t):
            raise InvalidInputError(f"Alice's input to {self.name} must be {self.n} symbols in 0..{self.q - 1}, got "
                                    f"{x!r}")
        return tuple(int(s) for s in t)

    def check_y(self, y: Any) -> int:
        """Validate Bob's index; returns it as an int in range(n)."""
        if isinstance(y, bool) or not isinstance(y, (int, np.integer)) or not 0 <= y < self.n:
            raise InvalidInputError(f"Bob's input to {self.name} must be an index in 0..{self.n - 1}, got {y!r}")
        return int(y)

    def _f(self, x: tuple, y: int) -> int:
        return x[y]

    @property
    def num_alice_inputs(self) -> int:
        return self.q**self.n

    @property
    def num_bob_inputs(self) -> int:
        return self.n

    @property
    def log2_num_alice_inputs(self) -> float:
        return self.n * math.log2(self.q)

    def _x_at(self, r: int) -> tuple[int, ...]:
        return tuple((r // self.q ** (self.n - 1 - k)) % self.q for k in range(self.n))

    def _y_at(self, i: int) -> int:
        return i

    def x_index(self, x: Any) -> int:
        r = 0
        for s in self.check_x(x):
            r = r * self.q + s
        return r

    def y_index(self, y: Any) -> int:
        return self.check_y(y)

    def _random_pairs(self, rng: np.random.Generator, k: int) -> list[tuple[Any, Any]]:
        xs = rng.integers(0, self.q, size=(k, self.n))
        ys = rng.integers(0, self.n, size=k)
        return [(tuple(a.tolist()), int(i)) for a, i in zip(xs, ys)]

    def matrix(self) -> np.ndarray:
        self._check_matrix_size()
        r = np.arange(self.q**self.n, dtype=np.int64)[:, None]
        powers = self.q ** np.arange(self.n - 1, -1, -1, dtype=np.int64)[None, :]
        return ((r // powers) % self.q).astype(np.int8)

    def known_bounds(self, eps: float = 1 / 3) -> list[Bound]:
        """theory §2: D <= ⌈log2 n⌉+⌈log2 q⌉, D1way(A->B) = ⌈n·log2 q⌉, D1way(B->A) = ⌈log2 n⌉, [KNR].

        For q = 2 these are ⌈log2 n⌉+1, n, ⌈log2 n⌉ and R1way_eps(A->B) >= (1 - H2(eps))·n [KNR]; for
        q > 2 the [KNR] Fano argument gives n·(log2 q - H2(eps) - eps·log2(q-1)) (theory §6).

        Examples
        --------
        >>> [b.value for b in INDEX(8).known_bounds(eps=0)]
        [4, 8, 3, 8.0, 4]
        >>> INDEX(3, q=3).known_bounds()[1].value  # ⌈log2 27⌉, not 3·⌈log2 3⌉ = 6
        5
        """
        eps = _check_eps(eps)
        n, q = self.n, self.q
        lq = _ceil_log2(q)
        rows = _ceil_log2_power(q, n)
        if q == 2:
            d_expr, one_expr, r_expr = "ceil(log2 n)+1", "n", "(1-H2(eps))*n"
        else:
            d_expr, one_expr = "ceil(log2 n)+ceil(log2 q)", "ceil(n*log2 q)"
            r_expr = "n*(log2 q - H2(eps) - eps*log2(q-1))"
        r_val = n * float(fano_term(eps, q))  # the [KNR] / Fano value (theory §6)
        return [
            self._bound(_ceil_log2(n) + lq, "upper", "D", d_expr, "theory §2 (Bob sends i, Alice answers x_i)"),
            self._bound(rows, "exact", "D1way(A->B)", one_expr, "theory §3 (q^n distinct rows)"),
            self._bound(_ceil_log2(n), "exact", "D1way(B->A)", "ceil(log2 n)", "theory §3 (n distinct columns)"),
            self._bound(r_val, "lower", "R1way_eps(A->B)", r_expr, "[KNR]", eps=eps),
            self._bound(_ceil_log2(n) + lq, "upper", "R_eps(pub)", d_expr,
                        "theory §2 (two-way: Bob sends i, deterministic, so any eps)", eps=eps),
        ]

    # -- facts (theory §2, §4, §6) ----------------------------------------------------------------
    @property
    def query_token_values(self) -> int:
        """Q = n: Bob's index token sits at the output position and names one of n positions (theory §4)."""
        return self.n

    def resized(self, n: int) -> INDEX:
        """INDEX at size n over the same alphabet."""
        return INDEX(n, q=self.q)

    def distributional_bound(self, eps: float) -> Bound:
        """[KNR] / Fano: n·(log2 q − H2(eps) − eps·log2(q−1)) under x uniform, i uniform (theory §6).

        >>> round(INDEX(16).distributional_bound(0.1).value, 3)
        8.496
        """
        return index_embedding_bound(self, eps, self.q, "x uniform, i uniform")

    def audit_queries(self, seed: int = 0) -> AuditQueries:
        """Bob asks every index i = 0..n-1: the certificate needs each coordinate's error (theory §6)."""
        n, q = self.n, self.q
        return AuditQueries("index", tuple(f"i={i}" for i in range(n)), tuple(range(n)), q,
                            f"x uniform on [{q}]^{n} (K i.i.d. draws); Bob asks every index i = 0..{n - 1}",
                            certified=True)

    def audit_truth(self, rows: np.ndarray, xs: Any, fixed: Any) -> np.ndarray:
        """x_i for every row and index: the rows themselves."""
        return rows.astype(np.int64)

    def separating_query(self, x: Any, x_prime: Any, candidates: Any = ()) -> int | None:
        """The first index where x and x' differ.

        >>> INDEX(3).separating_query((0, 1, 1), (0, 0, 1))
        1
        """
        return next((i for i in range(self.n) if x[i] != x_prime[i]), None)

    def axis_label(self, who: str) -> str | None:
        """Bob's axis is the index i."""
        return f"Bob's index i ∈ {{0..{self.n - 1}}} (position)" if who == "Bob" else None
