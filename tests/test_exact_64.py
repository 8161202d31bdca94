"""Issue 18 item 2: every entry point at 64 x 64 (functions of 6 bits a side)."""

from __future__ import annotations

import numpy as np
import pytest

from ccbounds.bounds import cover_number, exact_D, is_fooling_set, partition_number
from ccbounds.bounds._fooling_greedy import greedy_fooling_set
from ccbounds.bounds.rectangles import RectangleLimitError, check_rectangles
from ccbounds.literature import kushilevitz_h, kushilevitz_h_properties
from ccbounds.problems import DISJ, EQ, GT, IP, Problem


@pytest.mark.parametrize("P", [EQ, GT, DISJ, IP])
@pytest.mark.slow
def test_cheap_bounds_settle_the_textbook_functions_at_n6(P):
    p = P(6)
    r = exact_D(p, time_limit=30)
    assert r.value == 7  # n + 1 ([KN] Ex. 1.19-1.25; theory §2)
    assert r.lower.method.startswith("leaf-rank") and r.proof is None
    assert r.check(p)


@pytest.mark.slow
def test_from_function_six_bits_a_side():
    ip = Problem.from_function(lambda x, y: bin(x & y).count("1") % 2, list(range(64)), list(range(64)), name="ip6")
    r = exact_D(ip, time_limit=30)
    assert r.value == 7 and r.check(ip)


@pytest.mark.slow
def test_partition_and_cover_numbers_at_64():
    b = partition_number(EQ(6), time_limit=30)
    assert b.witness.number == 128 and b.value == 7 and check_rectangles(EQ(6), b.witness)
    c = cover_number(EQ(6), 1, time_limit=30)
    assert c.witness.number == 64 and check_rectangles(EQ(6), c.witness)


@pytest.mark.slow
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


def test_literature_instances_from_their_definitions():
    from ccbounds.bounds import is_fooling_set, rank_real
    from ccbounds.literature import DHS_BASE, literature_instances

    props = kushilevitz_h_properties()
    assert props == {"boolean": True, "degree": 3, "sensitivity": 6, "monomials": 31}
    # independent: h is 0 at weight 0 and 4..5 only where the ten triples say, 1 at weight 1 and 2
    for z in range(64):
        w = bin(z).count("1")
        if w in (1, 2):
            assert kushilevitz_h(z) == 1
        if w == 0:
            assert kushilevitz_h(z) == 0
    assert ((DHS_BASE * DHS_BASE.T) == np.eye(4, dtype=int)).all() and np.linalg.matrix_rank(DHS_BASE) == 3
    inst = {i.id: i for i in literature_instances()}
    assert set(inst) == {"kushilevitz-h-xor", "kushilevitz-h-and", "domino-kron2", "domino-kron3", "dhs-kron2",
                         "dhs-kron3"}
    assert inst["kushilevitz-h-and"].matrix.shape == (64, 64) and inst["domino-kron3"].matrix.shape == (27, 27)
    assert rank_real(inst["kushilevitz-h-and"].matrix).rank == 31  # rank of f(x AND y) = monomials of f
    M = inst["dhs-kron2"].matrix
    assert is_fooling_set([(i, i) for i in range(16)], M, "1") and rank_real(M).rank == 9
    for i in inst.values():
        assert i.citation and i.loose
