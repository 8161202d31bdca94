"""Issue 18 item 5: the per-value leaf count, memory budgets, certificates that validate what they store,
and the end-to-end check of an exact answer against its problem."""

from __future__ import annotations

import dataclasses
import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

import ccbounds.bounds._matrix as matrix_mod
from ccbounds.bounds import exact_D, leaf_rank_bound
from ccbounds.bounds._lookahead import refute
from ccbounds.bounds._lookahead_tree import SplitRefutation
from ccbounds.bounds._refutation_check import check_refutation
from ccbounds.bounds.bruteforce import brute_force_D
from ccbounds.bounds.exact import ExactLimitError
from ccbounds.errors import InvalidInputError, MemoryBudgetError
from ccbounds.problems import INDEX


def _rank_q(rows: list[list[int]]) -> int:
    """Rank over Q by Gauss-Jordan on Fractions (independent of ccbounds.bounds.rank)."""
    A = [[Fraction(v) for v in r] for r in rows]
    r = 0
    for c in range(len(A[0]) if A else 0):
        p = next((i for i in range(r, len(A)) if A[i][c] != 0), None)
        if p is None:
            continue
        A[r], A[p] = A[p], A[r]
        for i in range(len(A)):
            if i != r and A[i][c] != 0:
                f = A[i][c] / A[r][c]
                A[i] = [a - f * b for a, b in zip(A[i], A[r])]
        r += 1
    return r


def test_value_leaf_count_against_fractions_and_brute_force():
    rng = np.random.default_rng(18)
    for _ in range(25):
        M = rng.integers(0, 3, size=(int(rng.integers(1, 5)), int(rng.integers(1, 5))))
        if np.unique(M).size < 3:
            continue
        b = leaf_rank_bound(M)
        total = sum(_rank_q([[int(M[i, j] == v) for j in range(M.shape[1])] for i in range(M.shape[0])])
                    for v in np.unique(M))
        assert sum(c.rank for c in b.witness) == total
        assert int(np.ceil(b.value - 1e-9)) <= brute_force_D(M).value  # a valid lower bound


@pytest.mark.parametrize("n,q", [(3, 3), (2, 5), (2, 6)])
def test_q_ary_index_settled_by_the_leaf_count(n, q):
    p = INDEX(n, q=q)
    r = exact_D(p)
    assert r.value == 4 and r.lower.method == "leaf-rank"
    assert r.check(p)
    assert not r.check(INDEX(n, q=q).matrix() % 2)  # another matrix: rejected


def test_split_search_refuses_past_its_memory_budget():
    M = np.eye(12, dtype=np.int8)  # D = 4, leaf count 24
    with pytest.raises(MemoryBudgetError):
        refute(M, 5, memory_budget=10_000)  # 24 <= 32 leaves: the 2^11 - 1 row splits must be scanned
    assert refute(M, 5) is None  # the default budget is enough (and a tree of depth 5 exists)
    # 24 > 8: the root's own leaf count refutes depth 3, with no scan and no entries, within any budget
    ref = refute(M, 3, memory_budget=10_000)
    assert ref.n_nodes == 1 and ref.n_entries == 0 and check_refutation(M, ref)


def test_exact_D_answers_with_an_interval_past_the_memory_budget(monkeypatch):
    M = np.array([[0, 0, 1, 1], [0, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 1]])
    monkeypatch.setattr(matrix_mod, "MEMORY_BUDGET", 1000)
    with pytest.raises(ExactLimitError) as e:
        exact_D(M, use_cheap_bounds=False)  # straight to the tree CNF, which is over the budget
    iv = e.value.interval
    assert iv.lower.value <= brute_force_D(M).value <= iv.upper.value
    assert iv.check(M) and "memory budget" in iv.reason


def test_split_refutation_check_validates_its_matrix():
    M = np.eye(4, dtype=np.int8)
    cert = SplitRefutation(M, refute(M, 2))
    assert cert.check() and cert.check(M)
    assert not SplitRefutation(M.astype(float), cert.refutation).check()
    assert not SplitRefutation(M.astype(np.int16) * 200, cert.refutation).check()  # outside 0..127
    assert not cert.check(1 - M)  # not the matrix it claims
    assert not check_refutation(M * -1, cert.refutation)
    # the check states its memory before allocating: past a tiny budget it refuses, checking nothing
    with pytest.raises(MemoryBudgetError):
        cert.check(M, memory_budget=100)
    assert cert.check(M, memory_budget=10**6)


def test_unsat_proof_check_rebuilds_its_cnf():
    M = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]])
    r = exact_D(M, solver="glucose4", use_cheap_bounds=False)  # SAT all the way
    assert r.proof is not None and r.proof.check() and r.check(M)
    p = r.proof
    extra = dataclasses.replace(p, clauses=p.clauses + ((1,), (-1,)))  # still refutable, but not the CNF
    assert extra.check_formula() is False and not extra.check()
    other = dict(p.origin, matrix=1 - np.asarray(p.origin["matrix"]))
    assert not dataclasses.replace(p, origin=other).check()
    bad_lit = dataclasses.replace(p, clauses=((0, 1),) + p.clauses[1:], origin=None)
    assert not bad_lit.check()
    as_float = dict(p.origin, matrix=np.asarray(p.origin["matrix"], dtype=float))  # same values, not as built
    assert not dataclasses.replace(p, origin=as_float).check()
    no_fool = dict(p.origin, fooling=((0, 0), (0, 1), (1, 0)))  # not a fooling set
    assert not dataclasses.replace(p, origin=no_fool).check()


def test_exact_result_check_end_to_end():
    M = np.array([[0, 0, 1, 1], [0, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 1], [0, 0, 1, 1]])
    r = exact_D(M)
    assert r.check(M) and r.value == brute_force_D(M).value
    assert not r.check(M[:, ::-1].copy() ^ 1)
    wrong_value = dataclasses.replace(r, value=r.value + 1)
    assert not wrong_value.check(M)
    low = r.lower
    weak = dataclasses.replace(low, witness=None)
    assert not dataclasses.replace(r, lower=weak).check(M)


def test_answers_report_the_search_size():
    M = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]])
    r = exact_D(M, solver="glucose4", use_cheap_bounds=False)
    assert r.search["sat_calls"] == r.value and r.search["proof_lines"] >= r.proof.length
    s = exact_D(np.eye(6, dtype=int), lower_bounds=(), use_cheap_bounds=True).search
    assert set(s) == {"split_nodes", "splits_scanned", "sat_calls", "proof_lines", "memo_hits", "depth_hits",
                      "contain_hits", "iso_hits"}  # the memo's hits of theory §8.9
    assert set(exact_D(np.eye(6, dtype=int), speedups=False).search) == {"split_nodes", "splits_scanned",
                                                                         "sat_calls", "proof_lines"}
    assert r.to_dict()["search"] == r.search


# ---------------------------------------------------------------- an independent exhaustive D (this file only)

def _oracle_D(M: np.ndarray) -> int:
    """D(M) by the definition: 0 on a monochromatic rectangle, else 1 + the best split of the rows or of the
    columns into two nonempty parts of the larger child's D; memoised on (row set, column set). Shares no
    code with ccbounds (no merging, no bounds, no masks of the library)."""
    memo: dict[tuple[frozenset, frozenset], int] = {}

    def parts(side: tuple[int, ...]):
        first, rest = side[0], side[1:]
        for k in range(len(rest) + 1):
            for c in itertools.combinations(rest, k):
                a = frozenset((first,) + c)
                if len(a) < len(side):
                    yield a, frozenset(side) - a

    def D(rows: frozenset, cols: frozenset) -> int:
        key = (rows, cols)
        if key not in memo:
            vals = {int(M[i, j]) for i in rows for j in cols}
            if len(vals) == 1:
                memo[key] = 0
            else:
                best = min([max(D(a, cols), D(b, cols)) for a, b in parts(tuple(sorted(rows)))]
                           + [max(D(rows, a), D(rows, b)) for a, b in parts(tuple(sorted(cols)))])
                memo[key] = 1 + best
        return memo[key]

    return D(frozenset(range(M.shape[0])), frozenset(range(M.shape[1])))


def test_oracle_knows_the_textbook_values():
    assert _oracle_D(np.eye(4, dtype=int)) == 3  # EQ_2: n + 1
    assert _oracle_D(np.ones((3, 3), dtype=int)) == 0
    assert _oracle_D(INDEX(2, q=3).matrix()) == 3  # Bob names i (1 bit), Alice answers in 2


@pytest.mark.parametrize("values", [2, 3])
def test_exact_D_and_its_end_to_end_check_agree_with_the_oracle(values):
    """exact_D's value equals the independent exhaustive D, and its whole answer checks against M, on random
    matrices of two and three output values (3 x 3 to 4 x 5)."""
    rng = np.random.default_rng([18, values])
    for _ in range(30):
        M = rng.integers(0, values, size=(int(rng.integers(3, 5)), int(rng.integers(3, 6))))
        r = exact_D(M)
        assert r.value == _oracle_D(M), M.tolist()
        assert r.check(M), (M.tolist(), r.failures(M))


def test_split_search_with_the_root_test_agrees_with_the_oracle_on_multivalued_matrices():
    """refute(M, d) certifies D > d exactly when the oracle says so, with and without the root's own leaf
    count (theory §8.5), and check_refutation accepts each certificate."""
    rng = np.random.default_rng(185)
    for _ in range(25):
        M = rng.integers(0, 3, size=(int(rng.integers(2, 5)), int(rng.integers(2, 5)))).astype(np.int8)
        D = _oracle_D(M)
        for d in range(D + 1):
            for self_test in (True, False):
                ref = refute(M, d, self_test=self_test)
                assert (ref is not None) == (D > d), (M.tolist(), d, self_test)
                if ref is not None:
                    assert check_refutation(M, ref)


def test_q_ary_index_split_search_needs_no_scan():
    """INDEX(3, q=3) (27 x 3): its leaf count 9 > 8 refutes depth 3 at the root, an entry-free node, within a
    budget far below one scan of its 2^26 - 1 row splits."""
    M = INDEX(3, q=3).matrix()
    ref = refute(M, 3, memory_budget=100_000)
    assert ref.n_nodes == 1 and ref.n_entries == 0 and check_refutation(M, ref)
    # the entry-free node claims more than its leaf count gives: rejected
    deeper = dataclasses.replace(ref, depth=4, node_depth=np.array([4], np.int8))
    assert not check_refutation(M, deeper)
    # and on a matrix with fewer leaves (two values of INDEX(3, q=3) merged: 3 + 3 < 8 + 1) it is rejected
    assert not check_refutation(np.minimum(M, 1), ref)


_SPLIT = np.array([[0, 0, 1, 1, 1], [0, 0, 0, 1, 0], [1, 0, 0, 1, 0], [0, 1, 1, 1, 0], [1, 0, 1, 1, 1]])


def test_a_tiny_memory_budget_answers_with_an_interval_without_searching():
    import tracemalloc

    from ccbounds.bounds.exact import tree_cnf_bytes

    with pytest.raises(ExactLimitError):  # once untraced: loading the compiled kernels allocates too
        exact_D(_SPLIT, memory_budget=1000)
    tracemalloc.start()
    try:
        with pytest.raises(ExactLimitError) as e:
            exact_D(_SPLIT, memory_budget=1000)  # cheap bound 3, tree 4: depth 3 must be decided
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    iv = e.value.interval
    assert iv.limit == "memory" and "memory budget" in iv.reason and "split search was refused" in iv.reason
    assert (math.ceil(iv.lower.value - 1e-9), iv.upper.value) == (3, 4) and iv.check(_SPLIT)
    assert iv.search["splits_scanned"] == 0 and iv.search["sat_calls"] == 0  # nothing was searched
    assert peak < tree_cnf_bytes(_SPLIT.shape, 3) / 2  # the refused CNF was never built
    r = exact_D(_SPLIT)  # the default budget decides it
    assert r.value == 4 == _oracle_D(_SPLIT) and r.lower.method == "split-search"
    with pytest.raises(InvalidInputError):
        exact_D(_SPLIT, memory_budget=0)


def test_end_to_end_check_rejects_corrupted_pieces():
    r = exact_D(_SPLIT)
    assert r.lower.method == "split-search" and r.check(_SPLIT)
    cert = r.lower.witness
    # a tampered stored matrix: another 0/1 matrix of the same shape
    flipped = cert.matrix.copy()
    flipped[0, 0] ^= 1
    tampered = SplitRefutation(flipped, cert.refutation)
    assert not tampered.check(_SPLIT)
    assert not dataclasses.replace(r, lower=dataclasses.replace(r.lower, witness=tampered)).check(_SPLIT)
    # the tree of another matrix's answer
    other = exact_D(1 - np.eye(5, dtype=int)[:, ::-1])
    assert not dataclasses.replace(r, upper=other.upper).check(_SPLIT)
    # the certificate of another matrix
    assert not dataclasses.replace(r, lower=other.lower).check(_SPLIT)
    # the answer checked against another problem (same shape, one cell changed)
    M2 = _SPLIT.copy()
    M2[4, 4] ^= 1
    assert not r.check(M2)
    # a problem answered by the right tree and certificate, but a claimed value one off
    assert not dataclasses.replace(r, value=3).check(_SPLIT)


def test_rectangle_numbers_take_the_memory_budget():
    from ccbounds.bounds import partition_number
    from ccbounds.bounds.rectangles import RectangleLimitError, binary_rank, check_rectangles

    with pytest.raises(RectangleLimitError) as e:
        partition_number(_SPLIT, use_cheap_bounds=False, memory_budget=1000)  # its first CNF is over it
    assert "memory budget" in str(e.value) and check_rectangles(_SPLIT, e.value.upper, "partition")
    assert e.value.lower <= partition_number(_SPLIT).witness.number <= e.value.upper.number
    with pytest.raises(InvalidInputError):
        binary_rank(_SPLIT, memory_budget=-1)
