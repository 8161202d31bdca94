"""Rank, one-way and fooling-set bounds: closed forms, brute force and witness checkers."""

from __future__ import annotations

import itertools
import math

import networkx as nx
import numpy as np
import pytest

from ccbounds.bounds import (
    RankCertificate,
    RowClasses,
    brute_force_fooling,
    check_rank_certificate,
    check_row_classes,
    is_fooling_set,
    largest_fooling_set,
    leaf_rank_bound,
    log_rank,
    one_way,
    rank_gf2,
    rank_real,
)
from ccbounds.errors import InvalidInputError, SolverLimitError, TooLargeError
from ccbounds.problems import DISJ, EQ, GT, INDEX, IP


def _gf2_rank_bruteforce(M):
    """Rank over GF(2) = log2 of the size of the row span, by enumerating all combinations."""
    rows = [tuple(r) for r in np.asarray(M) % 2]
    span = {tuple(np.zeros(len(rows[0]), int))}
    for r in rows:
        span |= {tuple((np.array(s) + r) % 2) for s in span}
    return int(math.log2(len(span)))


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_rank_disj_is_2_to_n(n):
    c = rank_real(DISJ(n))
    assert c.rank == 2 ** n and check_rank_certificate(DISJ(n), c)
    b = log_rank(DISJ(n))
    assert (b.value, b.direction, b.model, b.problem) == (n, "lower", "D", DISJ(n).name)


def test_rank_of_gt_and_ip():
    for n in (2, 3):
        assert rank_real(GT(n)).rank == 2 ** n - 1
        assert rank_real(IP(n)).rank == 2 ** n - 1
        assert rank_gf2(IP(n)).rank == n


def test_rank_matches_numpy_and_bruteforce_gf2():
    rng = np.random.default_rng(7)
    for _ in range(60):
        shape = tuple(rng.integers(1, 7, size=2))
        M = rng.integers(0, 2, size=shape)
        cr, c2 = rank_real(M), rank_gf2(M)
        assert cr.rank == np.linalg.matrix_rank(M)
        assert c2.rank == _gf2_rank_bruteforce(M)
        assert check_rank_certificate(M, cr) and check_rank_certificate(M, c2)
        assert c2.rank <= cr.rank


def test_rank_certificate_checker_rejects_bad_ones():
    M = [[1, 1], [1, 1]]
    assert not check_rank_certificate(M, RankCertificate("R", 2, (0, 1), (0, 1)))
    assert not check_rank_certificate(M, RankCertificate("R", 1, (0, 0), (1,)))
    assert not check_rank_certificate(M, RankCertificate("R", 1, (5,), (1,)))
    assert not check_rank_certificate([[1, 1], [1, 0]], RankCertificate("GF2", 2, (0, 1), (0, 0)))


def test_leaf_rank_bound_counts_both_colours():
    b = leaf_rank_bound(EQ(2))
    assert b.witness[0].rank == 4 and b.witness[1].rank == 4 and math.ceil(b.value) == 3
    assert leaf_rank_bound([[0, 0], [0, 0]]).value == 0


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_one_way_index(n):
    b = one_way(INDEX(n), "A->B")
    assert (b.value, b.direction, b.model) == (n, "exact", "D1way(A->B)")
    assert check_row_classes(INDEX(n), b.witness)
    assert one_way(INDEX(n), "B->A").value == math.ceil(math.log2(n))


def test_one_way_classes_and_checker():
    M = [[0, 1], [0, 1], [1, 1]]
    b = one_way(M)
    assert b.witness.classes == ((0, 1), (2,)) and b.value == 1
    assert one_way([[1, 1], [1, 1]]).value == 0
    assert not check_row_classes(M, RowClasses(0, ((0,), (1,), (2,))))  # equal rows split
    assert not check_row_classes(M, RowClasses(0, ((0, 1, 2),)))  # unequal rows merged
    assert not check_row_classes(M, RowClasses(0, ((0, 1),)))  # row 2 missing
    with pytest.raises(InvalidInputError):
        one_way(M, "A<-B")


@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("cls", [EQ, DISJ])
def test_largest_one_fooling_set_eq_disj(cls, n):
    b = largest_fooling_set(cls(n), kind="1")
    assert b.witness.size == 2 ** n and b.witness.optimal
    assert b.value == n + 1  # plus one 0-leaf
    assert is_fooling_set(b.witness, cls(n), "1")


@pytest.mark.slow
def test_fooling_sets_match_bruteforce_and_networkx():
    for shape in [(2, 2), (3, 3)]:
        for bits in itertools.product((0, 1), repeat=shape[0] * shape[1]):
            M = np.array(bits).reshape(shape)
            for kind in ("1", "0", "combined"):
                b = largest_fooling_set(M, kind)
                assert b.witness.size == brute_force_fooling(M, kind), (M, kind)
                assert is_fooling_set(b.witness.cells, M, kind)
    rng = np.random.default_rng(3)
    for _ in range(20):
        M = rng.integers(0, 2, size=(5, 5))
        cells = [(i, j) for i in range(5) for j in range(5)]
        G = nx.Graph()
        G.add_nodes_from(cells)
        G.add_edges_from((p, q) for p, q in itertools.combinations(cells, 2) if is_fooling_set([p, q], M))
        _, w = nx.max_weight_clique(G, weight=None)
        assert largest_fooling_set(M).witness.size == w


def test_fooling_set_checker_rejects():
    M = [[1, 0], [0, 1]]
    assert not is_fooling_set([(0, 0), (0, 0)], M, "1")  # duplicate
    assert not is_fooling_set([(0, 1)], M, "1")  # wrong colour
    assert not is_fooling_set([(0, 0), (1, 1)], [[1, 1], [1, 1]], "combined")
    assert not is_fooling_set([(0, 9)], M)
    with pytest.raises(InvalidInputError):
        largest_fooling_set(M, kind="2")


def test_fooling_time_limit():
    M = IP(4).matrix()
    with pytest.raises(SolverLimitError, match="on_limit='best'"):
        largest_fooling_set(M, "combined", time_limit=0.05)
    b = largest_fooling_set(M, "combined", time_limit=0.05, on_limit="best")
    assert not b.witness.optimal and "not proven" in b.note and is_fooling_set(b.witness, M)


@pytest.mark.parametrize("bad", [[], [[]], [1, 0], [[0, 1], [1]], [[0, 2]], [[0.5, 1]], [[np.nan, 1]],
                                 [["a", "b"]], np.zeros((2, 2, 2))])
def test_invalid_matrices_rejected(bad):
    integer_outputs = isinstance(bad, list) and bad == [[0, 2]]  # a function with 3 values: one-way applies
    for fn in (rank_real, rank_gf2, log_rank, largest_fooling_set) + (() if integer_outputs else (one_way,)):
        with pytest.raises(InvalidInputError):
            fn(bad)


def test_one_way_of_integer_outputs():
    assert one_way([[0, 2]]).value == 0 and one_way([[0, 2]], "B->A").value == 1
    with pytest.raises(InvalidInputError, match="0..127"):
        one_way([[0, 200]])


def test_too_large():
    with pytest.raises(TooLargeError, match="at most 512"):
        rank_real(np.zeros((513, 2), dtype=int))
    with pytest.raises(TooLargeError):
        largest_fooling_set(np.zeros((70, 70), dtype=int))


@pytest.mark.slow
def test_fooling_set_search_needs_no_deep_stack():
    """A clique of thousands of cells (EQ_10's diagonal, the identity of order 1000) is found by the iterative
    search whatever the recursion limit."""
    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)
    try:
        b = largest_fooling_set(EQ(10), kind="1", time_limit=60)
        eye = largest_fooling_set(np.eye(1000, dtype=int), kind="1", time_limit=60)
    finally:
        sys.setrecursionlimit(limit)
    assert b.witness.size == 1024 and b.witness.optimal and b.value == 11
    assert eye.witness.size == 1000 and eye.witness.optimal and eye.value == 10
    assert is_fooling_set(b.witness, EQ(10), "1")
