"""The conformance suite every reduction passes: :func:`check_reduction` (cf. scikit-learn's
``check_estimator``).

For one (model, problem) it checks, and reports each check by name:

1. ``protocol-equals-model``: the induced protocol's answer equals the model's own answer on the
   full sequence ``gadget.encode(x, y)`` on every input (exhaustive for small problems, else a
   seeded sample), through both the batched path (Alice once per x, Bob batched over y) and the
   single-run path ``protocol.run(x, y)``;
2. ``message-bits``: the transcript of a run has exactly ``cost_bits(b)`` = S·b bits, at fp32 and at
   fixed-point precisions (quantized messages);
3. ``bound-is-spec``: ``lower_bound()`` is D^{A->B}(f) (theory §1, §4) and, for small problems, equals
   ceil(log2 #distinct rows) of the problem's matrix computed here by brute force;
4. ``gadget``: the gadget computes f (``check_gadget``).

Refusals are checked by :func:`check_refusal`: the model must be refused with
:class:`~ccbounds.errors.ReductionNotApplicable` (or UnsupportedArchitecture) whose message says why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ccbounds.errors import CCBoundsError, ReductionNotApplicable, UnsupportedArchitecture

__all__ = ["check_reduction", "check_refusal", "ConformanceResult"]


@dataclass(frozen=True)
class ConformanceResult:
    """Named pass/fail checks with details; ``ok`` when all passed. ``reduced`` is the protocol that was checked
    (what ``reduce`` returned), so a caller can inspect it without compiling the model again."""

    protocol: str
    checks: dict[str, bool]
    details: dict[str, str] = field(default_factory=dict)
    reduced: Any = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return all(self.checks.values())

    def raise_if_failed(self) -> None:
        if not self.ok:
            bad = [f"{k}: {self.details.get(k, '')}" for k, v in self.checks.items() if not v]
            raise AssertionError(f"{self.protocol} fails conformance: " + "; ".join(bad))

    def to_dict(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "ok": self.ok, "checks": dict(self.checks), "details": dict(self.details)}

    def __str__(self) -> str:
        lines = [f"conformance of {self.protocol}: {'PASS' if self.ok else 'FAIL'}"]
        lines += [f"  [{'x' if v else ' '}] {k}  {self.details.get(k, '')}" for k, v in self.checks.items()]
        return "\n".join(lines)


def _pairs(problem: Any, limit: int, samples: int, seed: int) -> tuple[list[Any], list[Any], bool]:
    if problem.num_alice_inputs * problem.num_bob_inputs <= limit:
        return problem.alice_inputs(), problem.bob_inputs(), True
    rng = np.random.default_rng(seed)
    xs = [x for x, _ in problem.sample(samples, seed=int(rng.integers(2**31)))]
    if problem.num_bob_inputs <= 256:
        ys = problem.bob_inputs()
    else:
        ys = [y for _, y in problem.sample(min(samples, 64), seed=int(rng.integers(2**31)))]
    return xs, ys, False


def check_reduction(model: Any, problem: Any, *, task: Any = None, gadget: Any = None, exhaustive_limit: int = 4096,
                    samples: int = 256, precisions: tuple[int, ...] = (1, 4, 8), seed: int = 0) -> ConformanceResult:
    """Run the conformance checks on ``reduce(model, problem, task, gadget)``.

    Parameters
    ----------
    exhaustive_limit : int
        Check every (x, y) when |X|·|Y| is at most this; otherwise ``samples`` Alice inputs against
        all of Bob's (or a sample of them).
    precisions : tuple of int
        Fixed-point precisions at which transcript lengths are checked.
    """
    from ccbounds.reduction import reduce
    from reductions.gadgets import check_gadget

    p = reduce(model, problem, task=task, gadget=gadget, seed=seed)
    checks: dict[str, bool] = {}
    details: dict[str, str] = {}

    # 1. protocol = model
    xs, ys, exhaustive = _pairs(problem, exhaustive_limit, samples, seed)
    msgs = p.messages(xs)
    grid = p.answer_grid(msgs, ys)
    pairs = [(x, y) for x in xs for y in ys]
    ref = p.model_grid(xs, ys)  # the real model, through its adapter, on every full sequence
    wrong = np.argwhere(grid != ref)
    single = [(x, y) for x, y in pairs[:: max(1, len(pairs) // 16)]]
    single_ok = all(p.run(x, y).output == r for (x, y), r in zip(single, p.model_answers(single)))
    checks["protocol-equals-model"] = bool(len(wrong) == 0 and single_ok)
    details["protocol-equals-model"] = (f"{'all' if exhaustive else 'sampled'} {len(pairs)} inputs, "
                                       f"{len(wrong)} disagreements; {len(single)} single runs "
                                       f"{'agree' if single_ok else 'DISAGREE'}")

    # 2. message bits = claimed cost
    ok, notes = True, []
    x0, y0 = xs[0], ys[0]
    t = p.run(x0, y0)
    ok &= t.cost == p.cost_bits(32) == 32 * p.scalars
    notes.append(f"fp32: {t.cost} = {p.scalars}*32")
    calib = msgs.cpu().numpy()
    for b in precisions:
        q = p.at_precision(b, calibration=calib)
        tb = q.run(x0, y0)
        ok &= tb.cost == q.cost_bits(b) == p.scalars * b
        notes.append(f"b={b}: {tb.cost}")
    checks["message-bits"] = bool(ok)
    details["message-bits"] = ", ".join(notes)

    # 3. the bound is the theory's D^{A->B}(f), and equals the brute-force count of distinct rows
    bound = p.lower_bound()
    ok = bound.model == "D1way(A->B)" and bound.is_lower
    note = f"{bound}"
    if problem.num_alice_inputs * problem.num_bob_inputs <= (1 << 16):
        rows = {tuple(r) for r in problem.matrix().tolist()}
        brute = math.ceil(math.log2(len(rows))) if len(rows) > 1 else 0
        ok &= bound.value == brute
        note += f"; brute force: ceil(log2 {len(rows)} distinct rows) = {brute}"
    checks["bound-is-spec"] = bool(ok)
    details["bound-is-spec"] = note

    # 4. the gadget computes f
    gc = check_gadget(p.gadget, exhaustive=exhaustive, samples=None if exhaustive else samples, seed=seed)
    checks["gadget"] = bool(gc.ok)
    details["gadget"] = str(gc).splitlines()[0] if str(gc) else ""
    return ConformanceResult(p.name, checks, details, reduced=p)


def check_refusal(model: Any, problem: Any, *, must_mention: str = "", task: Any = None) -> str:
    """Assert that ``reduce(model, problem)`` is refused with a reason; returns the message.

    Raises
    ------
    AssertionError
        If the model is accepted, refused with another error, or the reason lacks ``must_mention``.
    """
    from ccbounds.reduction import reduce

    try:
        reduce(model, problem, task=task)
    except (ReductionNotApplicable, UnsupportedArchitecture) as e:
        msg = str(e)
        if must_mention and must_mention.lower() not in msg.lower():
            raise AssertionError(f"refusal message lacks {must_mention!r}: {msg}") from e
        return msg
    except CCBoundsError as e:  # pragma: no cover - reported as a failure
        raise AssertionError(f"refused with the wrong error type {type(e).__name__}: {e}") from e
    raise AssertionError(f"{type(model).__name__} was accepted but should be refused")
