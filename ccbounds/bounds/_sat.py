"""One SAT call with an optional time budget and DRUP proof logging (pysat).

Examples
--------
>>> out = run_sat([[1, 2], [-1], [-2]], "glucose4", Deadline(None))
>>> out.sat, out.proof is not None
(False, True)
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass

from ccbounds.bounds._matrix import Deadline
from ccbounds.errors import SolverLimitError

__all__ = ["SatOutcome", "run_sat"]


@dataclass(frozen=True)
class SatOutcome:
    """The answer of one call: ``sat``, a model (if SAT), DRUP lines (if UNSAT and logged), seconds."""

    sat: bool
    model: tuple[int, ...] | None
    proof: tuple[str, ...] | None
    seconds: float


def run_sat(clauses: list[list[int]], solver: str, deadline: Deadline, proof: bool = True,
            what: str = "the SAT search") -> SatOutcome:
    """Solve ``clauses`` with pysat's ``solver`` (a canonical name), within ``deadline``.

    The time limit is enforced by ``interrupt()`` for solvers that support it; others run to the end.
    Proof logging is requested when ``proof`` is true and silently dropped (``proof=None`` in the
    outcome) for solvers that cannot log proofs.

    Raises
    ------
    SolverLimitError
        The deadline passed before the solver answered.
    """
    from pysat.solvers import Solver

    t0 = time.perf_counter()
    if deadline.expired():
        raise SolverLimitError(f"{what} ran out of time (time_limit={deadline.seconds} s); raise time_limit")
    try:
        s = Solver(name=solver, bootstrap_with=clauses, with_proof=proof)
        logged = proof
    except NotImplementedError:  # pysat's signal that this solver cannot log proofs: solve without one
        s = Solver(name=solver, bootstrap_with=clauses)
        logged = False
    with s:
        remaining = deadline.remaining()
        if remaining is None:
            res = s.solve()
        else:
            def stop() -> None:
                with contextlib.suppress(NotImplementedError):  # pysat: CaDiCaL, lingeling cannot be interrupted
                    s.interrupt()

            timer = threading.Timer(max(remaining, 0.0), stop)
            timer.start()
            try:
                res = s.solve_limited(expect_interrupt=True)
            except NotImplementedError:  # pysat: no interruptible solve for this solver; run to the end
                res = s.solve()
            finally:
                timer.cancel()
                timer.join()
        if res is None:
            raise SolverLimitError(f"{what} ran out of time (time_limit={deadline.seconds} s); raise time_limit")
        model = tuple(s.get_model()) if res else None
        lines = tuple(s.get_proof() or ()) if (logged and not res) else None
    return SatOutcome(bool(res), model, lines, time.perf_counter() - t0)
