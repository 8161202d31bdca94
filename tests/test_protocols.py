"""Tests of ccbounds.protocols: one-way and randomized protocols, the library, verification, rectangles."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccbounds.bound_record import MODELS
from ccbounds.errors import InvalidInputError, TooLargeError
from ccbounds.problems import DISJ, EQ, GT, INDEX, IP, Problem
from ccbounds.protocols import (
    ALICE,
    BOB,
    OneWayProtocol,
    ProtocolTree,
    PublicCoinProtocol,
    Verification,
    disj_trivial,
    eq_fingerprint_protocol,
    eq_hash_protocol,
    index_protocol,
    is_monochromatic_partition,
    max_distinct_prime_factors,
    partition_defects,
    primes_up_to,
    rectangle_partition,
    trivial_protocol,
    verify,
)


def ceil_log2(m: int) -> int:
    return math.ceil(math.log2(m)) if m > 1 else 0


# -- deterministic library protocols ------------------------------------------------------------------
SMALL = [EQ(1), EQ(3), DISJ(3), GT(2), IP(4), INDEX(4), INDEX(3, q=3), Problem.from_matrix([[0, 1, 2], [2, 2, 0]])]


@pytest.mark.parametrize("p", SMALL, ids=lambda p: p.name)
@pytest.mark.parametrize("announce", [True, False])
def test_trivial_protocol_exhaustive(p: Problem, announce: bool) -> None:
    proto = trivial_protocol(p, announce_output=announce)
    v = verify(proto, p)
    assert v.ok and v.n_errors == 0 and v.n_checked == p.num_alice_inputs * p.num_bob_inputs
    w = ceil_log2(p.num_alice_inputs)
    assert proto.cost == w + (ceil_log2(len(p.outputs)) if announce else 0) == v.max_bits
    assert proto.model == ("D" if announce else "D1way(A->B)") and proto.model in MODELS
    d = [b for b in p.known_bounds() if b.model == "D"] if not isinstance(p, INDEX) and p.n else []
    if d and announce:  # the protocol meets the trivial upper bound n+1
        assert proto.cost == d[0].value


@pytest.mark.parametrize("n,q", [(1, 2), (4, 2), (5, 2), (3, 3)])
def test_index_protocol(n: int, q: int) -> None:
    p = INDEX(n, q)
    bounds = {b.model: b.value for b in p.known_bounds()}
    two_way, one_way = index_protocol(n, q), index_protocol(n, q, announce_output=False)
    assert verify(two_way, p).ok and verify(one_way, p).ok
    assert two_way.cost == bounds["D"] == ceil_log2(n) + ceil_log2(q)
    assert one_way.cost == bounds["D1way(B->A)"] == ceil_log2(n) and one_way.model == "D1way(B->A)"
    t = two_way.run(p.x_at(0), n - 1)
    assert [m.sender for m in t.messages] == [BOB, ALICE] and t.cost == two_way.cost


@pytest.mark.parametrize("n", [1, 2, 4])
def test_disj_trivial(n: int) -> None:
    proto = disj_trivial(n)
    v = verify(proto, DISJ(n))
    assert v.ok and proto.cost == n + 1 == v.max_bits
    assert proto.cost == [b for b in DISJ(n).known_bounds() if b.model == "D"][0].value


def test_deterministic_protocols_sampled_at_n64() -> None:
    v = verify(disj_trivial(64), DISJ(64), samples=200, seed=1)
    assert v.ok and v.mode == "sampled" and v.n_checked == 200 and v.max_bits == 65
    v = verify(trivial_protocol(EQ(64)), EQ(64), samples=100)
    assert v.ok and v.cost == 65
    assert verify(index_protocol(64), INDEX(64), samples=100).ok


# -- randomized library protocols -----------------------------------------------------------------------
@pytest.mark.parametrize("n,k", [(1, 1), (2, 3), (3, 2)])
def test_eq_hash_exhaustive(n: int, k: int) -> None:
    proto = eq_hash_protocol(n, k)
    assert proto.cost == k + 1 and proto.error_bound == 2.0**-k and proto.kind == "public-coin"
    v = verify(proto, EQ(n), coin_samples=30, seed=2)
    assert v.ok and v.max_bits == proto.cost
    assert v.error_bound == 2.0**-k and v.error_rate <= 2.0**-k + v.tolerance


def test_eq_hash_error_is_exactly_two_to_minus_k() -> None:
    """Exact error by enumerating all public coins for EQ_3, k = 2 (2^6 coin strings)."""
    proto, p = eq_hash_protocol(3, 2), EQ(3)
    coins = [np.array(c, dtype=np.int64).reshape(2, 3) for c in np.ndindex(*(2,) * 6)]
    for x in p.alice_inputs():
        for y in p.bob_inputs():
            wrong = sum(proto.bob(proto.alice(x, r), y, r) != p.f(x, y) for r in coins)
            assert wrong / len(coins) == (0 if x == y else 0.25)


def _claiming(proto: PublicCoinProtocol, eps: float, exact: bool) -> PublicCoinProtocol:
    """The same protocol with a false claim of error <= eps (and its coin support only when ``exact``)."""
    extra = dict(support=proto.support, support_size=proto.support_size) if exact else {}
    return PublicCoinProtocol(proto.alice, proto.bob, proto.message_bits, draw_coins=proto.draw_coins,
                              error_bound=eps, name="overclaimed", **extra)


@pytest.mark.slow
def test_verify_rejects_a_claimed_error_half_the_true_one() -> None:
    proto = eq_hash_protocol(16, 3)  # true error 2^-3 on x != y
    v = verify(_claiming(proto, 2.0**-4, exact=False), EQ(16), samples=64, seed=0)
    assert not v.ok and not v.exact_coins and v.p_value <= 1 - v.confidence and v.confidence == 1 - 1e-6
    assert verify(proto, EQ(16), samples=64, seed=0).ok  # the true claim passes the same test
    w = verify(_claiming(eq_hash_protocol(3, 3), 2.0**-4, exact=True), EQ(3))  # all 2^9 coin values
    assert w.exact_coins and w.confidence == 1.0 and w.error_rate == 0.125 and not w.ok
    assert verify(eq_hash_protocol(3, 3), EQ(3)).ok


def test_binomial_tail_and_p_value_against_exact_sums() -> None:
    from fractions import Fraction

    from ccbounds.protocols.verify import _binomial_tests, _log_binom_sf

    def sf(w: int, m: int, p: Fraction) -> Fraction:  # independent: exact rational sum of the pmf
        return sum((Fraction(math.comb(m, j)) * p**j * (1 - p) ** (m - j) for j in range(max(w, 0), m + 1)),
                   Fraction(0))

    for m in (1, 5, 17, 40):
        for p in (Fraction(1, 16), Fraction(1, 3), Fraction(1, 2)):
            for w in range(0, m + 2):
                got = math.exp(_log_binom_sf(w, m, float(p)))
                assert math.isclose(got, float(sf(w, m, p)), rel_tol=1e-9, abs_tol=1e-300)
    # one pair, 9 errors of 40 runs, claim 1/8; both tests (the pair, its answer group) have the same tail
    pv, tol = _binomial_tests([9], [0], 40, 0.125, 1e-3)
    assert math.isclose(pv, min(1.0, 2 * float(sf(9, 40, Fraction(1, 8)))), rel_tol=1e-9)
    crit = min(w for w in range(42) if w == 41 or 2 * sf(w, 40, Fraction(1, 8)) <= Fraction(1, 1000))
    assert math.isclose(tol, (crit - 1) / 40 - 0.125)


def test_eq_hash_sampled_at_n64() -> None:
    proto = eq_hash_protocol(64, 3)
    v = verify(proto, EQ(64), samples=20, coin_samples=80, seed=5)
    assert v.ok and v.mode == "sampled" and v.max_bits == 4
    assert 0.05 < v.mean_error * 2 < 0.25  # half the pairs are unequal, each wrong w.p. 1/8


def test_primes_and_prime_factor_counts_brute_force() -> None:
    brute = [q for q in range(2, 300) if all(q % d for d in range(2, q))]
    assert primes_up_to(299).tolist() == brute and primes_up_to(1).tolist() == []
    for n in range(1, 13):
        omega = max(len({q for q in brute if d % q == 0}) for d in range(1, 2**n))
        assert max_distinct_prime_factors(n) == omega <= max(n - 1, 0)
    with pytest.raises(TooLargeError, match="MAX_SIEVE"):
        primes_up_to(2**40)


@pytest.mark.parametrize("n,eps", [(1, 0.5), (3, 0.3)])
def test_eq_fingerprint_exhaustive(n: int, eps: float) -> None:
    proto = eq_fingerprint_protocol(n, eps=eps)
    assert proto.error_bound <= eps and proto.kind == "private-coin"
    N = int(proto.name.split("N=")[1].rstrip(")"))
    b = N.bit_length()
    assert proto.cost == 2 * b + 1
    assert proto.error_bound == max_distinct_prime_factors(n) / len(primes_up_to(N))
    v = verify(proto, EQ(n), coin_samples=20, seed=3)
    assert v.ok and v.max_bits == proto.cost


def test_eq_fingerprint_exact_error_small() -> None:
    """Exact error over Alice's coins (every prime) is <= the stated bound on every pair of EQ_4."""
    proto, p = eq_fingerprint_protocol(4, N=7), EQ(4)
    assert proto.error_bound == 2 / 4  # K(4) = 2 (6 = 2*3 < 16), primes <= 7: 2, 3, 5, 7
    for x in p.alice_inputs():
        for y in p.bob_inputs():
            wrong = [proto.bob(proto.alice(x, c), y, None) != p.f(x, y) for c in range(4)]
            assert sum(wrong) / 4 <= proto.error_bound


def test_eq_fingerprint_sampled_at_n64_and_log_cost() -> None:
    proto = eq_fingerprint_protocol(64, eps=1 / 3)
    assert proto.cost == 17 and proto.error_bound == 15 / 54
    v = verify(proto, EQ(64), samples=20, coin_samples=30, seed=0)
    assert v.ok and v.max_bits <= 17
    costs = [eq_fingerprint_protocol(n, eps=0.1).cost for n in (16, 256, 4096)]
    assert costs == sorted(costs) and costs[-1] < 60  # O(log n) growth


def test_randomized_runs_are_seeded_and_record_coins() -> None:
    pub, priv = eq_hash_protocol(8, 4), eq_fingerprint_protocol(8)
    x, y = (1,) * 8, (0,) * 8
    a, b = pub.run(x, y, seed=11), pub.run(x, y, seed=11)
    assert a.bits == b.bits and np.array_equal(a.coins, b.coins)
    assert any(not np.array_equal(a.coins, pub.run(x, y, seed=s).coins) for s in range(12, 15))
    assert a.coins.shape == (4, 8)
    t = priv.run(x, y, seed=11)
    assert set(t.coins) == {"alice", "bob"} and t.coins["bob"] is None and t.cost == priv.cost
    assert t.bits == priv.run(x, y, seed=11).bits
    bound = pub.as_bound("EQ_8")
    assert bound.model == "R_eps(pub)" and bound.eps == 1 / 16 and bound.value == 5 and bound.direction == "upper"
    assert priv.as_bound("EQ_8").model == "R_eps(priv)"


def test_verify_detects_bad_randomized_protocol() -> None:
    """A protocol that claims error 0.05 but guesses at random is caught."""
    liar = PublicCoinProtocol(lambda x, r: "", lambda m, y, r: int(r), 0, error_bound=0.05,
                              draw_coins=lambda rng: int(rng.integers(0, 2)), name="coin flip")
    v = verify(liar, EQ(2), coin_samples=200)
    assert not v.ok and v.error_rate > 0.3 and v.counterexamples
    one_way = PublicCoinProtocol(lambda x, r: "", lambda m, y, r: 1, 0, error_bound=1.0,
                                 draw_coins=lambda rng: None, announce_output=False)
    assert one_way.cost == 0 and one_way.model == "R1way_eps(A->B)" and verify(one_way, EQ(1), coin_samples=5).ok


# -- one-way protocol mechanics ----------------------------------------------------------------------------
def test_one_way_transcripts_and_errors() -> None:
    p = OneWayProtocol(lambda x: "1" * x, lambda m, y: len(m) == y, 2)
    t = p.run(2, 2)
    assert t.output and t.cost == 2 and t.senders == (ALICE, ALICE)
    with pytest.raises(InvalidInputError, match="message_bits = 2"):
        p.run(3, 0)
    with pytest.raises(InvalidInputError, match="override encode"):
        OneWayProtocol(lambda x: x, lambda m, y: 0, 3).run(5, 0)
    with pytest.raises(InvalidInputError, match="direction"):
        OneWayProtocol(message_bits=1, direction="A<-B")
    with pytest.raises(InvalidInputError, match="message_bits"):
        OneWayProtocol(message_bits=-1)
    with pytest.raises(InvalidInputError, match="pass alice="):
        OneWayProtocol(message_bits=1).run(0, 0)
    with pytest.raises(InvalidInputError, match="not one of outputs"):
        OneWayProtocol(lambda x: "", lambda m, y: 7, 0, announce_output=True).run(0, 0)


class CountingProtocol(OneWayProtocol):
    """A subclass overriding alice/bob/encode, as induced protocols do: Alice sends the weight of x."""

    def __init__(self, n: int, width: int) -> None:
        super().__init__(message_bits=width, name="weight")
        self.width = width

    def alice(self, x: tuple) -> int:
        return sum(x)

    def bob(self, message: int, y: tuple) -> int:
        return int(message == sum(y))

    def encode(self, message: int) -> str:
        return format(message % 2**self.width, f"0{self.width}b")


def test_subclass_and_injectivity_check() -> None:
    good = CountingProtocol(2, 2)  # weights 0..2 fit in 2 bits
    v = verify(good, Problem.from_function(lambda x, y: int(sum(x) == sum(y)), EQ(2).alice_inputs(),
                                           EQ(2).bob_inputs()))
    assert v.ok
    lossy = CountingProtocol(3, 1)  # weights 0..3 in 1 bit: 0 and 2 collide
    v = verify(lossy, Problem.from_function(lambda x, y: int(sum(x) == sum(y)), EQ(3).alice_inputs(),
                                            EQ(3).bob_inputs()))
    assert not v.ok and v.n_errors == 0 and any("injective" in note for note in v.notes)


def test_verify_reports_wrong_and_overlong_protocols() -> None:
    wrong = OneWayProtocol(lambda x: "", lambda m, y: 1, 0, name="always 1")
    v = verify(wrong, EQ(2))
    assert not v.ok and v.n_errors == 12 and v.error_rate == 0.75
    assert len(v.counterexamples) == 10 and v.counterexamples[0] == ((0, 0), (0, 1), 0, 1)
    assert isinstance(v, Verification) and v.to_dict()["n_errors"] == 12 and "REJECTED" in str(v)

    class Overlong(OneWayProtocol):
        @property
        def cost(self) -> int:
            return 1

    v = verify(Overlong(lambda x: "".join(map(str, x)), lambda m, y: int(m == "".join(map(str, y))), 2), EQ(2))
    assert not v.ok and v.n_errors == 0 and not v.cost_ok and "more than the declared cost" in v.notes[0]


def test_verify_limits_and_bad_arguments() -> None:
    with pytest.raises(TooLargeError, match="samples=k"):
        verify(trivial_protocol(EQ(9)), EQ(9))
    with pytest.raises(TooLargeError, match="samples=k"):
        verify(eq_hash_protocol(6, 2), EQ(6), coin_samples=1000)
    with pytest.raises(InvalidInputError):
        verify(trivial_protocol(EQ(2)), EQ(2), exhaustive=False)
    for bad in ({"samples": 0}, {"coin_samples": 0}, {"samples": 2.5}):
        with pytest.raises(InvalidInputError):
            verify(trivial_protocol(EQ(2)), EQ(2), **bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="error_bound"):
        PublicCoinProtocol(error_bound=1.5)
    with pytest.raises(InvalidInputError):
        eq_hash_protocol(4, 0)
    with pytest.raises(InvalidInputError):
        eq_fingerprint_protocol(4, eps=0)
    with pytest.raises(InvalidInputError):
        eq_fingerprint_protocol(0)


# -- protocol trees and rectangles ----------------------------------------------------------------------
def eq2_tree() -> ProtocolTree:
    """EQ_2 by hand: Alice sends x_1, Bob says whether y_1 matches, Alice sends x_2, Bob answers."""
    def bob_answer(first: int, second: int) -> tuple:
        return (BOB, lambda y, f=first, s=second: int(y[0] == f and y[1] == s), f"y == {first}{second}", 0, 1)

    return ProtocolTree.from_nested(
        (ALICE, lambda x: x[0], "x1",
         (ALICE, lambda x: x[1], "x2", bob_answer(0, 0), bob_answer(0, 1)),
         (ALICE, lambda x: x[1], "x2", bob_answer(1, 0), bob_answer(1, 1))), name="EQ_2 by hand")


def test_hand_built_eq2_tree_partition() -> None:
    t, p = eq2_tree(), EQ(2)
    assert t.cost == 3 == [b for b in p.known_bounds() if b.model == "D"][0].value
    assert verify(t, p).ok
    rects = rectangle_partition(t, p)
    assert len(rects) == 8 and is_monochromatic_partition(rects, p.matrix())
    assert sum(out for _, _, out in rects) == 4  # one 1-rectangle per diagonal entry


def test_partition_defects_detected() -> None:
    M = EQ(2).matrix()
    rects = rectangle_partition(eq2_tree(), EQ(2))
    assert not is_monochromatic_partition(rects[:-1], M)
    flipped = [(r, c, 1 - o) for r, c, o in rects]
    assert any("not monochromatic" in d for d in partition_defects(flipped, M))
    assert any("covered 2 times" in d for d in partition_defects(rects + rects[:1], M))
    assert any("outside" in d for d in partition_defects([((9,), (0,), 0)], M))
    with pytest.raises(InvalidInputError):
        partition_defects(rects, [1, 0])


def trivial_tree(M: np.ndarray) -> ProtocolTree:
    """The trivial protocol as a tree on matrix indices: Alice sends her row index bit by bit, Bob answers."""
    R = M.shape[0]
    w = ceil_log2(R)

    def build(rows: list[int], depth: int) -> object:
        if not rows:
            return 0  # unreachable leaf
        if depth == w:
            return (BOB, [j for j in range(M.shape[1]) if M[rows[0], j]], 0, 1)
        bit = w - 1 - depth
        ones = [i for i in range(R) if (i >> bit) & 1]
        return (ALICE, ones, build([i for i in rows if not (i >> bit) & 1], depth + 1),
                build([i for i in rows if (i >> bit) & 1], depth + 1))

    return ProtocolTree.from_splits(build(list(range(R)), 0))


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4).flatmap(lambda c: st.lists(st.lists(st.integers(0, 1), min_size=c, max_size=c),
                                                    min_size=1, max_size=6)))
def test_correct_trees_give_monochromatic_partitions(rows: list[list[int]]) -> None:
    """Property ([KN] Prop. 1.13): a correct tree's leaves partition M into monochromatic rectangles."""
    p = Problem.from_matrix(rows)
    tree, proto = trivial_tree(p.matrix()), trivial_protocol(p)
    assert verify(tree, p).ok and verify(proto, p).ok
    assert tree.cost == proto.cost == ceil_log2(len(rows)) + 1
    rects = rectangle_partition(tree, p)
    assert is_monochromatic_partition(rects, p.matrix())
    assert len(rects) <= 2 ** tree.cost
