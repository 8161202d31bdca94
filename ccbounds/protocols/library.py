"""Standard protocols: the upper bounds of theory §1-§2 as protocols that run.

- :func:`trivial_protocol`: Alice sends (the index of) x, Bob answers: D <= ⌈log2 |X|⌉ + 1.
- :func:`index_protocol`: Bob sends i, Alice answers x_i: D(INDEX_n) <= ⌈log2 n⌉ + 1, D^{B→A} = ⌈log2 n⌉.
- :func:`eq_hash_protocol`: public-coin EQ by k random parities: k + 1 bits, error 2^-k.
- :func:`eq_fingerprint_protocol`: private-coin EQ by a random prime fingerprint: O(log n) bits.
- :func:`disj_trivial`: DISJ_n in n + 1 bits.

Examples
--------
>>> from ccbounds.problems import EQ
>>> p = eq_hash_protocol(8, k=3)
>>> p.cost, p.error_bound, p.output((1,) * 8, (1,) * 8, seed=0)
(4, 0.125, 1)
>>> trivial_protocol(EQ(3)).cost
4
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from ccbounds.errors import InvalidInputError, TooLargeError
from ccbounds.problems import DISJ, EQ, INDEX, Problem
from ccbounds.protocols.oneway import OneWayProtocol, int_to_bits
from ccbounds.protocols.randomized import PrivateCoinProtocol, PublicCoinProtocol

__all__ = [
    "trivial_protocol", "index_protocol", "eq_hash_protocol", "eq_fingerprint_protocol", "disj_trivial",
    "primes_up_to", "max_distinct_prime_factors", "MAX_SIEVE",
]

#: largest N for which :func:`primes_up_to` will sieve
MAX_SIEVE = 2**27


def _ceil_log2(m: int) -> int:
    return (m - 1).bit_length()


def _pos_int(v: Any, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise InvalidInputError(f"{what} must be a positive integer, got {v!r}")
    return int(v)


def trivial_protocol(problem: Problem, *, announce_output: bool = True) -> OneWayProtocol:
    """Alice sends the index of x in ⌈log2 |X|⌉ bits; Bob decodes x and answers f(x, y) (theory §1).

    Parameters
    ----------
    problem : Problem
    announce_output : bool
        True (default): Bob sends his answer in ⌈log2 |outputs|⌉ bits, cost ⌈log2 |X|⌉ + 1 for a
        boolean f, the upper bound on D. False: the one-way protocol of cost ⌈log2 |X|⌉ (D^{A→B}).

    Returns
    -------
    OneWayProtocol
        Bob uses only the message bits (he decodes x from them).

    Examples
    --------
    >>> from ccbounds.problems import INDEX
    >>> p = trivial_protocol(INDEX(3), announce_output=False)
    >>> str(p.run((0, 1, 1), 2)), p.model
    ('A:011 -> 1  (3 bits)', 'D1way(A->B)')
    """
    w = _ceil_log2(problem.num_alice_inputs)
    return OneWayProtocol(
        lambda x: int_to_bits(problem.x_index(x), w),
        lambda m, y: problem.f(problem.x_at(int(m, 2) if m else 0), y),
        w, name=f"trivial({problem.name})", announce_output=announce_output, outputs=problem.outputs,
    )


def index_protocol(n: int, q: int = 2, *, announce_output: bool = True) -> OneWayProtocol:
    """INDEX_n: Bob sends i in ⌈log2 n⌉ bits, Alice answers x_i (theory §2).

    A one-way protocol in the direction B->A. With ``announce_output=True`` (default) Alice sends the
    answer in ⌈log2 q⌉ bits, so the cost is ⌈log2 n⌉ + ⌈log2 q⌉ (= ⌈log2 n⌉ + 1 for bits): the upper bound
    on D(INDEX_n). With ``announce_output=False`` Alice just outputs: cost ⌈log2 n⌉ = D^{B→A}(INDEX_n).

    Examples
    --------
    >>> p = index_protocol(5)
    >>> str(p.run((0, 0, 0, 1, 0), 3)), p.cost
    ('B:011 A:1 -> 1  (4 bits)', 4)
    """
    prob = INDEX(n, q)
    w = _ceil_log2(prob.n)
    return OneWayProtocol(
        lambda m, x: prob.check_x(x)[int(m, 2) if m else 0],
        lambda i: int_to_bits(prob.check_y(i), w),
        w, name=f"index({prob.name})", direction="B->A", announce_output=announce_output,
        outputs=prob.outputs,
    )


def eq_hash_protocol(n: int, k: int) -> PublicCoinProtocol:
    """EQ_n with public coins: k random parities (theory §2, R^{pub}_eps(EQ) <= ⌈log2(1/eps)⌉ + 1).

    The public coins are r_1..r_k uniform in {0,1}^n; Alice sends <r_t, x> mod 2 for t = 1..k; Bob
    announces 1 iff all k equal <r_t, y> mod 2. Cost k + 1. Error: 0 on x = y; on x != y each parity
    <r_t, x ⊕ y> is a fair coin, independent over t, so the error is exactly 2^-k.

    Examples
    --------
    >>> p = eq_hash_protocol(4, 2)
    >>> str(p.run((1, 0, 0, 1), (1, 0, 0, 1), seed=7)).endswith("-> 1  (3 bits)"), p.error_bound
    (True, 0.25)
    """
    prob = EQ(n)
    k = _pos_int(k, "k (number of parities)")

    def parities(v: Any, r: np.ndarray) -> str:
        return "".join(map(str, (r @ np.array(prob.check_x(v), dtype=np.int64)) % 2))

    return PublicCoinProtocol(
        parities, lambda m, y, r: int(m == parities(y, r)), k,
        draw_coins=lambda rng: rng.integers(0, 2, size=(k, prob.n), dtype=np.int64),
        support=lambda: (np.array(c, dtype=np.int64).reshape(k, prob.n)
                         for c in itertools.product((0, 1), repeat=k * prob.n)),
        support_size=2 ** (k * prob.n),
        error_bound=2.0**-k, name=f"eq_hash({prob.name}, k={k})",
        error_note=f"one-sided: error 0 on x = y, exactly 2^-{k} on x != y (random parities)",
    )


def primes_up_to(N: int) -> np.ndarray:
    """All primes p <= N, increasing (sieve of Eratosthenes); refuses N > :data:`MAX_SIEVE`.

    Examples
    --------
    >>> primes_up_to(20).tolist()
    [2, 3, 5, 7, 11, 13, 17, 19]
    """
    N = _pos_int(N, "N")
    if N > MAX_SIEVE:
        raise TooLargeError(f"N = {N} exceeds MAX_SIEVE = {MAX_SIEVE}; choose a smaller N or a larger eps")
    sieve = np.ones(N + 1, dtype=bool)
    sieve[:2] = False
    for p in range(2, math.isqrt(N) + 1):
        if sieve[p]:
            sieve[p * p :: p] = False
    return np.flatnonzero(sieve)


def max_distinct_prime_factors(n: int) -> int:
    """The most distinct primes that divide one integer d with 1 <= d < 2^n.

    It is the largest k with p_1·p_2·…·p_k < 2^n (the product of the first k primes is the smallest
    integer with k distinct prime factors).

    Examples
    --------
    >>> max_distinct_prime_factors(1), max_distinct_prime_factors(3), max_distinct_prime_factors(64)
    (0, 2, 15)
    """
    n = _pos_int(n, "n")
    k, prod, p = 0, 1, 2
    while True:
        if all(p % d for d in range(2, math.isqrt(p) + 1)):
            if prod * p >= 2**n:
                return k
            prod, k = prod * p, k + 1
        p += 1


class _FingerprintProtocol(PrivateCoinProtocol):
    """Private-coin protocol whose message (p, x mod p) is written as two ``width``-bit numbers."""

    width = 0

    def encode(self, message: tuple[int, int]) -> str:
        return int_to_bits(message[0], self.width) + int_to_bits(message[1], self.width)


def eq_fingerprint_protocol(n: int, eps: float = 1 / 3, N: int | None = None) -> PrivateCoinProtocol:
    """EQ_n with private coins: a random prime fingerprint (theory §2, R^{priv}_eps(EQ) = Θ(log n)).

    Alice picks a prime p uniformly among the π(N) primes <= N and sends p and (x mod p), reading x as
    an n-bit number (MSB first), each in b = bit_length(N) bits; Bob announces 1 iff y mod p = x mod p.
    Cost 2b + 1. Error: 0 on x = y; on x != y, p must divide d = |x - y| with 1 <= d < 2^n, which has at
    most K(n) = :func:`max_distinct_prime_factors` (n) distinct prime factors (K(n) <= n - 1), so the
    error is at most ``error_bound = K(n) / π(N)`` (π(N) computed exactly by a sieve).

    Parameters
    ----------
    n : int
    eps : float
        Target error in (0, 1); used only when N is None: then N = 2^b - 1 for the smallest b >= 2
        with K(n) / π(N) <= eps.
    N : int, optional
        The range of primes; overrides ``eps``.

    Examples
    --------
    >>> p = eq_fingerprint_protocol(64, eps=1/3)
    >>> p.cost, round(p.error_bound, 4), p.output((1,) * 64, (1,) * 64, seed=0)
    (17, 0.2778, 1)
    """
    prob = EQ(n)
    K = max_distinct_prime_factors(prob.n)
    if N is None:
        if not isinstance(eps, (int, float)) or not 0 < eps < 1:
            raise InvalidInputError(f"eps must be in (0, 1), got {eps!r}")
        b = 2
        while K / len(primes_up_to(2**b - 1)) > eps:
            b += 1
        N = 2**b - 1
    N = _pos_int(N, "N")
    if N < 2:
        raise InvalidInputError("N must be at least 2 so that there is a prime to pick")
    primes = primes_up_to(N)
    b = N.bit_length()

    def number(v: Any) -> int:
        return int("".join(map(str, prob.check_x(v))), 2)

    proto = _FingerprintProtocol(
        lambda x, c: (int(primes[c]), number(x) % int(primes[c])),
        lambda m, y, _c: int(number(y) % m[0] == m[1]), 2 * b,
        draw_alice_coins=lambda rng: int(rng.integers(0, len(primes))),
        error_bound=min(1.0, K / len(primes)), name=f"eq_fingerprint({prob.name}, N={N})",
        error_note=f"one-sided: error 0 on x = y; <= K(n)/pi(N) = {K}/{len(primes)} on x != y",
    )
    proto.width = b
    return proto


def disj_trivial(n: int, *, announce_output: bool = True) -> OneWayProtocol:
    """DISJ_n: Alice sends x (n bits), Bob announces [x ∩ y = ∅]: cost n + 1 = D(DISJ_n) (theory §2).

    Examples
    --------
    >>> str(disj_trivial(3).run((1, 0, 1), (0, 1, 0)))
    'A:101 B:1 -> 1  (4 bits)'
    """
    prob = DISJ(n)
    return OneWayProtocol(
        lambda x: "".join(map(str, prob.check_x(x))),
        lambda m, y: prob.f(m, y), prob.n, name=f"disj_trivial({prob.name})",
        announce_output=announce_output,
    )
