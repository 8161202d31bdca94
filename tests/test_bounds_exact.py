"""Exact D by SAT against the independent brute-force search; protocol trees and UNSAT proofs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from pysat.solvers import Solver

from ccbounds.bounds import (
    brute_force_D,
    check_rup_proof,
    exact_D,
    is_fooling_set,
    largest_fooling_set,
    protocol_tree_clauses,
)
from ccbounds.bounds.exact import ExactLimitError
from ccbounds.errors import (
    InvalidInputError,
    SolverLimitError,
    TooLargeError,
    UnknownNameError,
)
from ccbounds.problems import DISJ, EQ, GT, INDEX, IP, Problem
from ccbounds.protocols import verify


def _tree_ok(M, res):
    """The witness tree has cost D and computes M; for a Problem it reads the problem's inputs."""
    tree = res.tree
    assert tree.cost == res.value
    if isinstance(M, Problem):
        v = verify(tree, M)
        assert v.ok and v.n_errors == 0 and v.n_checked == M.num_alice_inputs * M.num_bob_inputs
        return
    M = np.asarray(M)
    assert all(tree.output(i, j) == M[i, j] for i in range(M.shape[0]) for j in range(M.shape[1]))


@pytest.mark.parametrize("shape", [(2, 2), pytest.param((3, 3), marks=pytest.mark.slow)])
def test_exact_equals_brute_force_on_every_small_matrix(shape):
    r, c = shape
    for bits in itertools.product((0, 1), repeat=r * c):
        M = np.array(bits).reshape(r, c)
        want = brute_force_D(M)
        assert want.witness.cost == want.value
        got = exact_D(M)
        assert got.value == want.value, M
        _tree_ok(M, got)


@pytest.mark.slow
def test_exact_sat_only_equals_brute_force_on_every_3x3():
    for bits in itertools.product((0, 1), repeat=9):
        M = np.array(bits).reshape(3, 3)
        assert exact_D(M, use_cheap_bounds=False).value == brute_force_D(M).value, M


@pytest.mark.slow
def test_exact_equals_brute_force_on_random_4x4():
    rng = np.random.default_rng(2024)
    for _ in range(200):
        M = rng.integers(0, 2, size=(4, 4))
        want = brute_force_D(M).value
        for cheap in (True, False):
            got = exact_D(M, use_cheap_bounds=cheap)
            assert got.value == want, M
            _tree_ok(M, got)


def test_exact_on_rectangular_and_duplicate_rows():
    rng = np.random.default_rng(5)
    for shape in [(1, 5), (5, 1), (2, 5), (5, 3), (6, 2)]:
        for _ in range(5):
            M = rng.integers(0, 2, size=shape)
            M = np.vstack([M, M[:1]])  # a duplicate row
            res = exact_D(M)
            assert res.value == brute_force_D(M).value
            _tree_ok(M, res)


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("cls", [EQ, DISJ])
def test_eq_disj_need_n_plus_1(cls, n):
    for cheap in (True, False):
        res = exact_D(cls(n), use_cheap_bounds=cheap)
        assert res.value == n + 1 and res.problem == cls(n).name
        _tree_ok(cls(n), res)


@pytest.mark.slow
@pytest.mark.parametrize("cls", [EQ, DISJ, GT, IP])
def test_n4_problems_need_5_bits(cls):
    res = exact_D(cls(4))
    assert res.value == 5
    _tree_ok(cls(4), res)


def test_sat_only_proof_is_checked_and_lengths_recorded():
    res = exact_D(EQ(2), use_cheap_bounds=False)
    assert res.value == 3 and res.lower.method == "sat"
    assert res.proof is not None and res.proof_length == len(res.proof.lemmas) > 0
    assert res.proof.claim.startswith("no protocol tree of depth 2")
    assert check_rup_proof(res.proof.clauses, res.proof.lemmas)
    assert res.proof.check()
    assert set(res.timings) >= {"lower bounds", "upper bounds", "sat", "verify"}


def test_cheap_bound_certificate_names_the_bound():
    res = exact_D(DISJ(3))
    assert res.proof is None and res.lower.value >= 3.0001 and res.lower.method in (
        "leaf-rank", "leaf-rank GF(2)", "fooling-set")
    assert res.upper.value == 4 and res.upper.is_upper
    b = res.bound
    assert (b.value, b.direction, b.model) == (4, "exact", "D")


def test_tree_clauses_models_are_trees():
    # depth 1 for AND on one bit each is UNSAT, depth 2 SAT: count via the solver
    M = np.array([[0, 0], [0, 1]], dtype=np.int8)
    for d, want in [(1, False), (2, True)]:
        cl, _ = protocol_tree_clauses(M, d)
        with Solver(bootstrap_with=cl) as s:
            assert s.solve() is want


def test_solver_names_and_errors():
    M = np.eye(3, dtype=int)
    assert exact_D(M, solver="cd19").value == exact_D(M, solver="g4").value == 3
    with pytest.raises(UnknownNameError, match="glucose4"):
        exact_D(M, solver="nosuchsolver")
    with pytest.raises(InvalidInputError):
        exact_D([[0, 0.5]])
    with pytest.raises(InvalidInputError):
        exact_D([[0, -1]])
    with pytest.raises(TooLargeError):
        exact_D(np.eye(65, dtype=int))
    with pytest.raises(InvalidInputError):
        exact_D(M, time_limit=0)
    with pytest.raises(InvalidInputError, match="encoding"):
        exact_D(M, encoding="nosuch")


def test_interrupted_search_keeps_both_certificates(monkeypatch):
    import ccbounds.bounds.exact as ex

    real = ex.run_sat

    def limited(clauses, solver, deadline, proof=True, what="", memory_budget=None):
        if "depth 3" in what:  # depths 0..2 are refuted, then the time runs out
            raise SolverLimitError(f"{what} ran out of time")
        return real(clauses, solver, deadline, proof, what, memory_budget)

    monkeypatch.setattr(ex, "run_sat", limited)
    with pytest.raises(ExactLimitError) as info:
        exact_D(EQ(3), use_cheap_bounds=False)
    assert isinstance(info.value, SolverLimitError) and "known so far" in str(info.value)
    iv = info.value.interval
    assert (iv.lower.value, iv.lower.method, iv.upper.value) == (3, "sat", 4)
    assert iv.proof is iv.lower.witness and iv.proof.check()
    assert iv.proof.claim.startswith("no protocol tree of depth 2")
    assert verify(iv.tree, EQ(3)).ok and iv.tree.cost == 4
    assert "3 <= D(EQ_3) <= 4" in str(iv) and iv.to_dict()["lower"]["value_bits"] == 3


@pytest.mark.slow
def test_time_limit_raises_solver_limit():
    rng = np.random.default_rng(0)
    M = rng.integers(0, 2, size=(40, 40))
    with pytest.raises(SolverLimitError, match="time_limit"):
        exact_D(M, time_limit=0.05, use_cheap_bounds=False)


def test_from_matrix_problem_name():
    P = Problem.from_matrix([[1, 0], [0, 1]], name="tiny")
    assert exact_D(P).problem == "tiny"


@pytest.mark.slow
@pytest.mark.parametrize("path", ["split search", "sat"])
def test_exact_equals_brute_force_on_200_random_5_and_6(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both lower-bound searches against brute force: the split search (theory §8.5) and, with it switched
    off, SAT on the tree CNF with the fooling constraints; every certificate is checked."""
    from ccbounds.bounds import exact as exact_mod

    if path == "sat":
        monkeypatch.setattr(exact_mod, "SPLIT_MAX_SIDE", 0)
    rng = np.random.default_rng(11)
    gaps = 0
    for k in range(200):
        shape = [(5, 5), (5, 6), (6, 5), (6, 6)][k % 4]
        M = (rng.random(shape) < rng.uniform(0.25, 0.75)).astype(np.int8)
        want = brute_force_D(M).value
        got = exact_D(M)
        assert got.value == want, M
        _tree_ok(M, got)
        if got.proof is not None:  # the lower side came from SAT: the proof and its fooling set check
            gaps += 1
            assert path == "sat" and got.proof.check() and is_fooling_set(got.fooling, got.reduced)
        elif got.lower.method == "split-search":
            gaps += 1
            assert path == "split search" and got.lower.witness.check() and got.lower.witness.depth == want - 1
    assert gaps > 0  # some instances needed a refutation


@pytest.mark.slow
def test_q_ary_exact_equals_brute_force():
    rng = np.random.default_rng(3)
    for k in range(60):
        shape = [(2, 3), (3, 3), (4, 3), (3, 4)][k % 4]
        M = rng.integers(0, 3 + k % 2, size=shape)
        want = brute_force_D(M)
        got = exact_D(M)
        assert got.value == want.value == want.witness.cost, M
        _tree_ok(M, got)
    res = exact_D(INDEX(2, q=3))
    assert res.value == brute_force_D(INDEX(2, q=3)).value == 3 and verify(res.tree, INDEX(2, q=3)).ok


@pytest.mark.slow
def test_fooling_and_plain_encodings_agree():
    rng = np.random.default_rng(8)
    for _ in range(30):
        M = rng.integers(0, 2, size=(5, 5))
        fb = largest_fooling_set(M).witness.cells
        for d in range(4):
            plain, _ = protocol_tree_clauses(M, d)
            strong, _ = protocol_tree_clauses(M, d, fb)
            with Solver(bootstrap_with=plain) as a, Solver(bootstrap_with=strong) as b:
                assert a.solve() == b.solve(), (M, d)


def test_a_lower_bound_above_a_checked_tree_is_refused():
    """A caller's lower bound that a checked protocol tree contradicts is an error, not D >= 10 beside D = 3."""
    from ccbounds.bound_record import Bound
    from ccbounds.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="exceeds the depth 3"):
        exact_D(np.eye(4, dtype=int), lower_bounds=[Bound(10, "lower", "D", "x", method="mine")])
