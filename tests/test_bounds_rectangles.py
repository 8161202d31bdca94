"""SAT partition and cover numbers against exhaustive search; rectangle checker; DRUP proofs."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from ccbounds.bounds import (
    UnsatProof,
    brute_force_cover,
    brute_force_partition,
    check_rectangles,
    check_rup_proof,
    cover_number,
    monochromatic_rectangles,
    partition_number,
)
from ccbounds.errors import InvalidInputError, TooLargeError, UnknownNameError
from ccbounds.problems import EQ


def _all(shape):
    for bits in itertools.product((0, 1), repeat=shape[0] * shape[1]):
        yield np.array(bits).reshape(shape)


@pytest.mark.parametrize("cheap", [True, False])
@pytest.mark.slow
def test_partition_and_cover_match_bruteforce(cheap):
    """All 2x2 and 3x3 matrices; cheap=False makes SAT prove every answer (UNSAT for one fewer)."""
    proofs = 0
    for M in itertools.chain(_all((2, 2)), _all((3, 3))):
        p = partition_number(M, use_cheap_bounds=cheap)
        assert p.witness.number == brute_force_partition(M), M
        assert check_rectangles(M, p.witness) and p.value == math.ceil(math.log2(p.witness.number))
        assert (p.direction, p.model, p.method) == ("lower", "D", "partition-number")
        for v in (0, 1):
            c = cover_number(M, v, use_cheap_bounds=cheap)
            assert c.witness.number == brute_force_cover(M, v), (M, v)
            assert check_rectangles(M, c.witness) and c.model == f"N{v}" and c.direction == "exact"
        if not cheap and isinstance(p.witness.lower, UnsatProof):
            proofs += 1
            assert p.witness.lower.claim.endswith(f"into {p.witness.number - 1} rectangles")
            if proofs % 50 == 1:  # the pure-Python checker on a sample
                assert check_rup_proof(p.witness.lower.clauses, p.witness.lower.lemmas)
    assert cheap or proofs > 400


@pytest.mark.slow
def test_sat_path_with_fooling_symmetry_breaking_on_random_4x4():
    rng = np.random.default_rng(11)
    for _ in range(15):
        M = rng.integers(0, 2, size=(4, 4))
        assert partition_number(M, use_cheap_bounds=False).witness.number == brute_force_partition(M)
        for v in (0, 1):
            assert cover_number(M, v, use_cheap_bounds=False).witness.number == brute_force_cover(M, v)


def test_eq2_numbers():
    assert partition_number(EQ(2)).witness.number == brute_force_partition(EQ(2).matrix())
    assert cover_number(EQ(2), 1).witness.number == 4
    assert cover_number(np.zeros((2, 3), dtype=int), 1).value == 0  # no 1-cells: C^1 = 0, N1 = 0


def test_never_an_upper_bound_on_D():
    b = partition_number(EQ(2))
    assert not b.is_upper and "NOT an upper bound" in b.note


def test_rectangle_checker_rejects():
    M = np.array([[1, 0], [0, 1]])
    good = [((0,), (0,), 1), ((1,), (1,), 1), ((0,), (1,), 0), ((1,), (0,), 0)]
    assert check_rectangles(M, good, "partition")
    assert not check_rectangles(M, good[:3], "partition")  # a cell uncovered
    assert not check_rectangles(M, good + [good[0]], "partition")  # a cell twice
    assert check_rectangles(M, good[:2] + [good[0]], "cover1")  # covers may overlap
    assert not check_rectangles(M, [((0, 1), (0,), 1)], "cover1")  # not monochromatic
    assert not check_rectangles(M, [((0,), (), 1)], "cover1")  # empty
    with pytest.raises(InvalidInputError):
        check_rectangles(M, good, "cover2")


def test_monochromatic_rectangles_count():
    # an all-ones 2x3 matrix: every nonempty rectangle, (2^2 - 1)(2^3 - 1) = 21
    assert len(monochromatic_rectangles(np.ones((2, 3), dtype=int))) == 21


def test_errors():
    with pytest.raises(UnknownNameError):
        partition_number([[1]], solver="zchaff")
    with pytest.raises(TooLargeError):
        cover_number(np.eye(65, dtype=int))  # MAX_RECT_SIDE = 64
    with pytest.raises(InvalidInputError):
        cover_number([[1]], value=2)
