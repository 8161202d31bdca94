"""Information cost of protocol trees: exact values against an independent brute force (theory §11)."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

import ccbounds
from ccbounds.bounds import exact_D
from ccbounds.errors import InvalidInputError
from ccbounds.information.protocol_information import (
    AND_HARD_DISTRIBUTION,
    C_DISJ,
    IC_AND_BITS,
    and_information_bounds,
    buzzer_protocol,
    information_cost,
)
from ccbounds.protocols import ProtocolTree


def _brute(tree, mu, ca=None, cb=None):
    """(I(X;T|Y), I(Y;T|X), I(XY;T)) by the KL-divergence formula over a dense table of transcripts."""
    xs = sorted({x for x, _ in mu}, key=repr)
    ys = sorted({y for _, y in mu}, key=repr)
    ca = ca or {None: 1.0}
    cb = cb or {None: 1.0}
    transcripts = {}
    cells = []
    for (x, y), p in mu.items():
        for ra, pa in ca.items():
            for rb, pb in cb.items():
                xa = x if ra is None else (x, ra)
                yb = y if rb is None else (y, rb)
                t = "".join(f"{m.sender[0]}{m.bits}" for m in tree.run(xa, yb).messages)
                cells.append((xs.index(x), ys.index(y), transcripts.setdefault(t, len(transcripts)),
                              float(p) * float(pa) * float(pb)))
    P = np.zeros((len(xs), len(ys), len(transcripts)))
    for i, j, t, w in cells:
        P[i, j, t] += w

    def kl(num, den):
        m = P > 0
        return float((P[m] * np.log2(num[m] / den[m])).sum())

    pxy = P.sum(2, keepdims=True)
    py, px, pt = P.sum((0, 2), keepdims=True), P.sum((1, 2), keepdims=True), P.sum((0, 1), keepdims=True)
    pyt, pxt = P.sum(0, keepdims=True), P.sum(1, keepdims=True)
    i_x_t_given_y = kl(P * py, pxy * pyt)  # p(x,t|y) / (p(x|y) p(t|y))
    i_y_t_given_x = kl(P * px, pxy * pxt)
    i_xy_t = kl(P, pxy * pt)
    return i_x_t_given_y, i_y_t_given_x, i_xy_t


def _random_mu(xs, ys, rng):
    w = rng.random((len(xs), len(ys)))
    w /= w.sum()
    return {(x, y): float(w[i, j]) for i, x in enumerate(xs) for j, y in enumerate(ys)}


@pytest.mark.parametrize("problem", [ccbounds.EQ(2), ccbounds.GT(2), ccbounds.DISJ(2), ccbounds.IP(2)])
def test_deterministic_trees_match_brute_force_and_identities(problem):
    tree = exact_D(problem).tree  # reads the problem's own inputs
    rng = np.random.default_rng(7)
    for _ in range(3):
        mu = _random_mu(problem.alice_inputs(), problem.bob_inputs(), rng)
        c = information_cost(tree, mu)
        bx, by, bxy = _brute(tree, mu)
        assert c.bob_learns_bits == pytest.approx(bx, abs=1e-9)
        assert c.alice_learns_bits == pytest.approx(by, abs=1e-9)
        assert c.external_bits == pytest.approx(bxy, abs=1e-9)
        # deterministic: I(XY;T) = H(T); and IC_int <= IC_ext <= H(T) <= E|T| <= cost
        assert c.external_bits == pytest.approx(c.transcript_entropy_bits, abs=1e-9)
        assert c.internal_bits <= c.external_bits + 1e-9 <= c.expected_bits + 2e-9 <= c.cost + 3e-9


def test_buzzer_with_coins_matches_brute_force_and_is_zero_error():
    rng = np.random.default_rng(3)
    for k in (1, 2, 3):
        tree, ca, cb = buzzer_protocol(k)
        for x, y in itertools.product((0, 1), repeat=2):
            for ra, rb in itertools.product(range(k), repeat=2):
                assert tree.output((x, ra), (y, rb)) == (x & y)
        mu = _random_mu((0, 1), (0, 1), rng)
        c = information_cost(tree, mu, alice_coins=ca, bob_coins=cb)
        bx, by, bxy = _brute(tree, mu, ca, cb)
        assert (c.bob_learns_bits, c.alice_learns_bits, c.external_bits) == pytest.approx((bx, by, bxy), abs=1e-9)
        assert c.internal_bits <= c.external_bits + 1e-9 and c.cost == 2 * k


def test_exact_fractions_are_accepted_and_bad_distributions_refused():
    t = ProtocolTree.from_nested(("Alice", lambda x: x, "x", 0, ("Bob", lambda y: y, "y", 0, 1)))
    c = information_cost(t, {(x, y): Fraction(1, 4) for x in (0, 1) for y in (0, 1)})
    assert (c.internal_bits, c.external_bits) == (1.5, 1.5)
    with pytest.raises(InvalidInputError, match="not 1"):
        information_cost(t, {(0, 0): 0.5})
    with pytest.raises(InvalidInputError, match="non-negative"):
        information_cost(t, {(0, 0): 1.5, (1, 1): -0.5})
    with pytest.raises(InvalidInputError, match="positive integer"):
        buzzer_protocol(0)


def test_buzzer_information_cost_decreases_towards_ic_and():
    values = []
    for k in (1, 2, 4, 8, 16):
        tree, ca, cb = buzzer_protocol(k)
        values.append(information_cost(tree, AND_HARD_DISTRIBUTION, alice_coins=ca, bob_coins=cb).internal_bits)
    assert all(a > b for a, b in zip(values, values[1:])), values  # strictly decreasing in k
    assert all(v >= IC_AND_BITS - 1e-4 for v in values), values  # never below IC(AND, 0) = 1.4923
    assert values[-1] - IC_AND_BITS < 0.001  # within a thousandth at k = 16 ([BGPW]: C + Theta(1/r^2))
    # differences shrink about 4x per doubling of k: the Theta(1/k^2) rate
    gaps = [a - b for a, b in zip(values, values[1:])]
    assert all(3.0 < g1 / g2 < 5.0 for g1, g2 in zip(gaps[1:], gaps[2:])), gaps


def test_hard_distribution_is_a_local_maximum_for_the_buzzer():
    tree, ca, cb = buzzer_protocol(8)

    def ic(a, c):
        b = (1 - a - c) / 2
        return information_cost(tree, {(0, 0): a, (0, 1): b, (1, 0): b, (1, 1): c},
                                alice_coins=ca, bob_coins=cb).internal_bits

    a0, c0 = AND_HARD_DISTRIBUTION[(0, 0)], AND_HARD_DISTRIBUTION[(1, 1)]
    base = ic(a0, c0)
    for da, dc in ((0.02, 0), (-0.02, 0), (0, 0.02), (0, -0.02)):
        assert ic(a0 + da, c0 + dc) < base + 1e-5


@pytest.mark.slow
def test_disjointness_constant_is_the_max_over_mu_with_no_11():
    # C_DISJ = max over mu with mu(1,1) = 0 of IC_mu(AND, 0): the buzzer at k = 16 comes within 0.002 of 0.4827
    tree, ca, cb = buzzer_protocol(16)
    best = max(information_cost(tree, {(0, 0): a, (0, 1): (1 - a) / 2, (1, 0): (1 - a) / 2, (1, 1): 0.0},
                                alice_coins=ca, bob_coins=cb).internal_bits for a in np.linspace(0.34, 0.39, 6))
    assert C_DISJ - 1e-4 <= best < C_DISJ + 0.002


def test_known_bounds_are_typed_with_sources():
    bounds = and_information_bounds(64)
    assert [b.model for b in bounds] == ["IC_0", "IC_ext_0", "R_eps(pub)", "R_eps(pub)"]
    assert all(b.method == "known" and b.source for b in bounds)
    assert bounds[0].value == 1.4923 and bounds[1].value == pytest.approx(math.log2(3))
    assert "STOC 2013" in bounds[0].source and "JCSS 68(4), 2004" in bounds[2].source
    assert bounds[2].problem == "DISJ_64" and bounds[2].direction == "lower"
