"""Issue 18 item 2: every entry point at 64 x 64 (functions of 6 bits a side)."""

from __future__ import annotations

import numpy as np
import pytest

from ccbounds.bounds import cover_number, exact_D, is_fooling_set, partition_number
from ccbounds.bounds._fooling_greedy import greedy_fooling_set
from ccbounds.bounds.rectangles import RectangleLimitError, check_rectangles
from ccbounds.problems import DISJ, EQ, GT, IP, Problem


@pytest.mark.parametrize("P", [EQ, GT, DISJ, IP])
def test_cheap_bounds_settle_the_textbook_functions_at_n6(P):
    p = P(6)
    r = exact_D(p, time_limit=30)
    assert r.value == 7  # n + 1 ([KN] Ex. 1.19-1.25; theory §2)
    assert r.lower.method.startswith("leaf-rank") and r.proof is None
    assert r.check(p)


def test_from_function_six_bits_a_side():
    ip = Problem.from_function(lambda x, y: bin(x & y).count("1") % 2, list(range(64)), list(range(64)), name="ip6")
    r = exact_D(ip, time_limit=30)
    assert r.value == 7 and r.check(ip)


def test_partition_and_cover_numbers_at_64():
    b = partition_number(EQ(6), time_limit=30)
    assert b.witness.number == 128 and b.value == 7 and check_rectangles(EQ(6), b.witness)
    c = cover_number(EQ(6), 1, time_limit=30)
    assert c.witness.number == 64 and check_rectangles(EQ(6), c.witness)


def test_undecided_cover_number_is_an_interval():
    with pytest.raises(RectangleLimitError) as e:
        cover_number(IP(6), 1, time_limit=1.0)
    err = e.value
    assert 0 < err.lower <= err.upper.number and check_rectangles(IP(6), err.upper.rectangles, "cover1")


def test_greedy_fooling_sets_are_fooling_sets():
    rng = np.random.default_rng(5)
    for kind in ("combined", "1", "0"):
        M = rng.integers(0, 2, size=(64, 64))
        S = greedy_fooling_set(M, kind, time_limit=0.1, max_rounds=2)
        assert len(S) > 0 and is_fooling_set(S, M, kind)
