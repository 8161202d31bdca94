"""One SAT call with an optional time budget and DRUP proof logging (pysat), alone or as a portfolio.

``solver="portfolio"`` (:data:`PORTFOLIO`) first runs glucose 4 in this process for
:data:`PORTFOLIO_HEAD_START` seconds (small formulas end there, with no process start-up), then runs
glucose 4 and CaDiCaL 1.9.5 in two child processes on the two cores and takes the first answer; the other
is killed. Both log DRUP proofs, so the answer carries the winner's proof either way, and the time limit
is enforced for both (a child is killed at the deadline; CaDiCaL cannot be interrupted in-process). Each
child's data segment is capped at :data:`~ccbounds.bounds._matrix.MEMORY_BUDGET` bytes above what it
inherits; a child that runs out reports a :class:`~ccbounds.errors.MemoryBudgetError`.

Examples
--------
>>> out = run_sat([[1, 2], [-1], [-2]], "glucose4", Deadline(None))
>>> out.sat, out.proof is not None
(False, True)
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from ccbounds.bounds._matrix import Deadline
from ccbounds.errors import MemoryBudgetError, SolverLimitError

__all__ = ["PORTFOLIO", "PORTFOLIO_HEAD_START", "UNINTERRUPTIBLE", "SatOutcome", "run_sat"]

#: the solvers ``solver="portfolio"`` races (pysat canonical names); each logs DRUP proofs
PORTFOLIO = ("glucose4", "cadical195")

#: pysat solvers (name prefixes) without ``interrupt()``: with a time limit they run in a child process
#: that is killed at the deadline
UNINTERRUPTIBLE = ("cadical", "lingeling")

#: seconds glucose 4 runs in-process before the portfolio's child processes start
PORTFOLIO_HEAD_START = 0.5


@dataclass(frozen=True)
class SatOutcome:
    """The answer of one call: ``sat``, a model (if SAT), DRUP lines (if UNSAT and logged), seconds."""

    sat: bool
    model: tuple[int, ...] | None
    proof: tuple[str, ...] | None
    seconds: float
    solver: str = ""


def run_sat(clauses: list[list[int]], solver: str, deadline: Deadline, proof: bool = True,
            what: str = "the SAT search", memory_budget: int | None = None) -> SatOutcome:
    """Solve ``clauses`` with pysat's ``solver`` (a canonical name, or ``"portfolio"``), within ``deadline``.

    The time limit is enforced by ``interrupt()`` for solvers that support it, and by killing child
    processes for the others (:data:`UNINTERRUPTIBLE`, run in a child when there is a limit) and in the
    portfolio. Proof logging is requested when ``proof`` is
    true and silently dropped (``proof=None`` in the outcome) for solvers that cannot log proofs.
    ``memory_budget``: the data-segment limit of each child process above what it inherits (None:
    :data:`~ccbounds.bounds._matrix.MEMORY_BUDGET`); the in-process head start is not limited.

    Raises
    ------
    SolverLimitError
        The deadline passed before the solver answered.
    """
    if solver != "portfolio":
        if deadline.seconds is not None and solver.startswith(UNINTERRUPTIBLE):
            # a child process, killed at the deadline
            return _race(clauses, deadline, proof, what, (solver,), memory_budget)
        return _solve_here(clauses, solver, deadline, deadline.remaining(), proof, what)
    t0 = time.perf_counter()
    remaining = deadline.remaining()
    head = PORTFOLIO_HEAD_START if remaining is None else min(PORTFOLIO_HEAD_START, max(remaining, 0.0))
    try:
        out = _solve_here(clauses, PORTFOLIO[0], deadline, head, proof, what)
    except SolverLimitError:
        if deadline.expired():
            raise
        out = _race(clauses, deadline, proof, what, PORTFOLIO, memory_budget)
    return SatOutcome(out.sat, out.model, out.proof, time.perf_counter() - t0, out.solver)


def _limit_error(what: str, deadline: Deadline) -> SolverLimitError:
    return SolverLimitError(f"{what} ran out of time (time_limit={deadline.seconds} s); raise time_limit")


def _solve_here(clauses: list[list[int]], solver: str, deadline: Deadline, budget: float | None, proof: bool,
                what: str) -> SatOutcome:
    """One solver in this process, interrupted after ``budget`` seconds (None: no limit)."""
    from pysat.solvers import Solver

    t0 = time.perf_counter()
    if deadline.expired():
        raise _limit_error(what, deadline)
    try:
        s = Solver(name=solver, bootstrap_with=clauses, with_proof=proof)
        logged = proof
    except NotImplementedError:  # pysat's signal that this solver cannot log proofs: solve without one
        s = Solver(name=solver, bootstrap_with=clauses)
        logged = False
    with s:
        if budget is None:
            res = s.solve()
        else:  # only interruptible solvers get here with a budget (see run_sat)
            timer = threading.Timer(max(budget, 0.0), s.interrupt)
            timer.start()
            try:
                res = s.solve_limited(expect_interrupt=True)
            finally:
                timer.cancel()
                timer.join()
        if res is None:
            raise _limit_error(what, deadline)
        model = tuple(s.get_model()) if res else None
        lines = tuple(s.get_proof() or ()) if (logged and not res) else None
    return SatOutcome(bool(res), model, lines, time.perf_counter() - t0, solver)


def _limit_data(budget: int) -> None:
    """Cap this (child) process's data segment at what it holds now plus ``budget`` bytes (Linux)."""
    try:
        import resource

        with open("/proc/self/status") as f:
            vm = next((int(line.split()[1]) * 1024 for line in f if line.startswith("VmData:")), None)
        if vm is not None:
            resource.setrlimit(resource.RLIMIT_DATA, (vm + budget, resource.RLIM_INFINITY))
    except (OSError, ValueError, ImportError):  # no /proc or no rlimits: the time limit still holds
        pass


def _child(conn: Any, clauses: list[list[int]], solver: str, proof: bool, budget: int | None = None) -> None:
    """Portfolio member: solve to the end within the memory budget (None: ``MEMORY_BUDGET``) and send
    ``(sat, model, proof lines, error)``."""
    from ccbounds.bounds._matrix import MEMORY_BUDGET

    try:
        _limit_data(MEMORY_BUDGET if budget is None else budget)
        out = _solve_here(clauses, solver, Deadline(None), None, proof, "")
        conn.send((out.sat, out.model, out.proof, None))
    except BaseException as e:  # reported to the parent, which raises it
        conn.send((None, None, None, f"{type(e).__name__}: {e}"))
    finally:
        conn.close()


def _race(clauses: list[list[int]], deadline: Deadline, proof: bool, what: str,
          members: tuple[str, ...] = PORTFOLIO, memory_budget: int | None = None) -> SatOutcome:
    """Every solver of ``members`` in its own process, killed at the deadline; the first answer wins."""
    import multiprocessing as mp
    from multiprocessing.connection import wait

    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    t0 = time.perf_counter()
    procs, conns = [], {}
    try:
        for name in members:
            parent, child = ctx.Pipe(duplex=False)
            p = ctx.Process(target=_child, args=(child, clauses, name, proof, memory_budget), daemon=True)
            p.start()
            child.close()
            procs.append(p)
            conns[parent] = name
        errors = []
        while conns:
            remaining = deadline.remaining()
            if remaining is not None and remaining <= 0:
                raise _limit_error(what, deadline)
            ready = wait(list(conns), timeout=remaining)
            for conn in ready:
                name = conns.pop(conn)
                try:
                    sat, model, lines, err = conn.recv()
                except EOFError:  # the child died without an answer
                    sat, model, lines, err = None, None, None, "it exited without an answer"
                if err is None:
                    return SatOutcome(bool(sat), model, lines, time.perf_counter() - t0, name)
                errors.append(f"{name}: {err}")
        if any(e.split(": ", 1)[1].startswith(("MemoryError", "it exited")) for e in errors):
            raise MemoryBudgetError(f"{what}: the SAT solvers stopped without an answer, out of their memory budget "
                                    f"(MEMORY_BUDGET) or killed ({'; '.join(errors)}); use a smaller instance")
        raise RuntimeError(f"{what}: every portfolio solver failed ({'; '.join(errors)})")
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
            p.join()
        for conn in conns:
            conn.close()
