"""The SAT portfolio (ccbounds.bounds._sat): the race of two solver processes answers like one solver, carries a
checkable DRUP proof from the winner, kills its children at the deadline, and exact D is unchanged by it."""

from __future__ import annotations

import itertools
import multiprocessing as mp

import numpy as np
import pytest

from ccbounds.bounds import _sat, exact_D
from ccbounds.bounds._matrix import Deadline
from ccbounds.bounds.drup import check_rup_proof
from ccbounds.errors import SolverLimitError


def _php(p: int, h: int) -> list[list[int]]:
    """Pigeonhole: p pigeons in h holes (UNSAT iff p > h)."""
    v = lambda i, j: i * h + j + 1  # noqa: E731
    return ([[v(i, j) for j in range(h)] for i in range(p)]
            + [[-v(i, j), -v(k, j)] for j in range(h) for i, k in itertools.combinations(range(p), 2)])


def _random_3cnf(seed: int, n: int = 12, m: int = 55) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    return [[int(v) * (1 if s else -1) for v, s in zip(rng.choice(np.arange(1, n + 1), 3, replace=False),
                                                     rng.integers(0, 2, 3))] for _ in range(m)]


@pytest.fixture
def race_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """No in-process head start: every call goes to the two-process race."""
    monkeypatch.setattr(_sat, "PORTFOLIO_HEAD_START", 0.0)


def test_the_race_answers_like_one_solver_with_a_checked_proof(race_now: None) -> None:
    for seed in range(12):
        cl = _random_3cnf(seed)
        one = _sat.run_sat(cl, "glucose4", Deadline(None))
        raced = _sat.run_sat(cl, "portfolio", Deadline(None))
        assert raced.sat == one.sat and raced.solver in _sat.PORTFOLIO
        if raced.sat:
            true = {lit for lit in raced.model if lit > 0}
            assert all(any((lit > 0) == (abs(lit) in true) for lit in c) for c in cl)
        else:
            assert check_rup_proof(cl, raced.proof)
    assert not mp.active_children()


@pytest.mark.slow
def test_the_race_is_killed_at_the_deadline(race_now: None) -> None:
    with pytest.raises(SolverLimitError, match="ran out of time"):
        _sat.run_sat(_php(12, 11), "portfolio", Deadline(1.0))
    assert not mp.active_children()  # both solver processes are gone


def test_exact_D_through_the_race_equals_one_solver(race_now: None) -> None:
    rng = np.random.default_rng(3)
    for _ in range(4):
        M = (rng.random((6, 5)) < 0.5).astype(int)
        a = exact_D(M, solver="portfolio", use_cheap_bounds=False)
        b = exact_D(M, solver="glucose4", use_cheap_bounds=False)
        assert a.value == b.value and a.proof is not None and a.proof.check() and a.proof.solver in _sat.PORTFOLIO


@pytest.mark.parametrize("name", ["cadical195", "glucose4"])
@pytest.mark.slow
def test_one_solver_stops_at_the_deadline_interruptible_or_not(name: str) -> None:
    """CaDiCaL has no interrupt(): with a time limit it runs in a child process that is killed."""
    with pytest.raises(SolverLimitError, match="ran out of time"):
        _sat.run_sat(_php(12, 11), name, Deadline(1.0))
    assert not mp.active_children()
    assert not _sat.run_sat(_php(5, 4), name, Deadline(30.0)).sat  # and answers when there is time
