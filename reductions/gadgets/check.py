"""Checking gadgets and problem maps, exhaustively on small n or on seeded samples (theory §5).

For a :class:`~reductions.gadgets.Gadget` and every checked input (x, y):

- ``answer``: ``f(x, y) == answer_map(task.labels(encode(x, y)))``;
- ``assembly``: assembling ``encode_alice(x)``, ``encode_bob(y)`` and the public tokens gives
  ``encode(x, y)``;
- ``ownership``: changing x alters only Alice's positions and changing y only Bob's: ``encode(x, y)``
  agrees with ``encode(x', y)`` off Alice's positions and with ``encode(x, y')`` off Bob's, for a
  reference x' and y'. Exhaustively the reference is the first input of each side; agreement with
  one reference for every (x, y) implies agreement between any two inputs, so this is complete.
  On samples the reference is the next sampled pair (cyclically).
- ``malformed``: the task rejected the encoded sequence.
- ``final-token``: the last token is one of the gadget's ``final_token_values`` (when stated).

For a :class:`~reductions.gadgets.ProblemMap`: ``answer`` is
``f(x, y) == output_map(g(map_x(x), map_y(y)))`` and ``domain`` that the mapped inputs are valid
inputs of the target.

Examples
--------
>>> from reductions.gadgets import get_gadget
>>> from ccbounds.problems import DISJ
>>> r = check_gadget(get_gadget(DISJ(2), "dyck"))
>>> r.ok, r.num_inputs, r.mode
(True, 16, 'exhaustive')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ccbounds.errors import CCBoundsError, InvalidInputError, TooLargeError
from reductions.gadgets.base import Gadget, ProblemMap

__all__ = ["check_gadget", "GadgetCheck", "Counterexample", "MAX_CHECK_PAIRS", "MAX_COUNTEREXAMPLES"]

#: ``check_gadget(exhaustive=True)`` refuses problems with more input pairs than this
MAX_CHECK_PAIRS = 2**16
#: counterexamples kept per kind (all failures are counted)
MAX_COUNTEREXAMPLES = 10


@dataclass(frozen=True)
class Counterexample:
    """One failed check: its kind, the input, what was expected and what was found."""

    kind: str
    x: Any
    y: Any
    expected: Any
    got: Any

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {"kind": self.kind, "x": self.x, "y": self.y, "expected": self.expected, "got": self.got}

    def __str__(self) -> str:
        return f"{self.kind}: x={self.x}, y={self.y}: expected {self.expected}, got {self.got}"


@dataclass(frozen=True)
class GadgetCheck:
    """The outcome of :func:`check_gadget`.

    Attributes
    ----------
    name : str
        The gadget or map checked.
    mode : {"exhaustive", "sampled", "given"}
    num_inputs : int
        Input pairs checked.
    failures : dict
        Kind -> number of failed inputs.
    counterexamples : tuple of Counterexample
        Up to :data:`MAX_COUNTEREXAMPLES` per kind.
    """

    name: str
    mode: str
    num_inputs: int
    failures: dict[str, int]
    counterexamples: tuple[Counterexample, ...]

    @property
    def ok(self) -> bool:
        """True iff no check failed."""
        return not any(self.failures.values())

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {"name": self.name, "mode": self.mode, "num_inputs": self.num_inputs, "ok": self.ok,
                "failures": dict(self.failures), "counterexamples": [c.to_dict() for c in self.counterexamples]}

    def to_frame(self) -> Any:
        """The counterexamples as a pandas DataFrame (one row each)."""
        import pandas as pd

        return pd.DataFrame([c.to_dict() for c in self.counterexamples], columns=["kind", "x", "y", "expected", "got"])

    def __str__(self) -> str:
        head = f"{self.name}: {self.mode} check of {self.num_inputs} inputs: "
        if self.ok:
            return head + "OK"
        lines = [head + ", ".join(f"{k} failed {v}" for k, v in self.failures.items() if v)]
        return "\n".join(lines + [f"  {c}" for c in self.counterexamples])


class _Log:
    def __init__(self, kinds: tuple[str, ...]) -> None:
        self.failures = {k: 0 for k in kinds}
        self.examples: list[Counterexample] = []

    def fail(self, kind: str, x: Any, y: Any, expected: Any, got: Any) -> None:
        self.failures[kind] += 1
        if self.failures[kind] <= MAX_COUNTEREXAMPLES:
            self.examples.append(Counterexample(kind, x, y, expected, got))


def _pairs(problem: Any, exhaustive: bool, samples: int | None, seed: int,
           pairs: Any) -> tuple[str, list[tuple[Any, Any]], tuple[Any, Any] | None]:
    """(mode, pairs, exhaustive references or None)."""
    if pairs is not None:
        got = [(problem.check_x(x), problem.check_y(y)) for x, y in pairs]
        if not got:
            raise InvalidInputError("check_gadget: pairs is empty; pass at least one (x, y)")
        return "given", got, None
    if samples is not None:
        got = problem.sample(samples, seed, balanced=True)
        if not got:
            raise InvalidInputError("check_gadget: samples must be >= 1")
        return "sampled", got, None
    if not exhaustive:
        raise InvalidInputError("check_gadget: pass exhaustive=True, samples=k or pairs=[(x, y), ...]")
    size = problem.num_alice_inputs * problem.num_bob_inputs
    if size > MAX_CHECK_PAIRS:
        raise TooLargeError(
            f"{problem.name} has {size} input pairs, more than MAX_CHECK_PAIRS = {MAX_CHECK_PAIRS}; "
            "pass samples=k (and a seed) instead"
        )
    xs, ys = problem.alice_inputs(), problem.bob_inputs()
    return "exhaustive", [(x, y) for x in xs for y in ys], (xs[0], ys[0])


def _differs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Positions (first axis) where two sequences differ."""
    if a.shape != b.shape:
        return np.arange(max(len(a), len(b)))
    neq = a != b
    return np.flatnonzero(neq.reshape(len(a), -1).any(axis=1))


def _check_map(m: ProblemMap, pairs: list[tuple[Any, Any]], log: _Log) -> None:
    for x, y in pairs:
        mx, my = m.map_x(x), m.map_y(y)
        try:
            m.target.check_x(mx)
            m.target.check_y(my)
        except CCBoundsError as e:
            log.fail("domain", x, y, "valid target inputs", str(e))
            continue
        want, got = m.source.f(x, y), m.output_map(m.target.f(mx, my))
        if want != got:
            log.fail("answer", x, y, want, got)


def _check_gadget(g: Gadget, pairs: list[tuple[Any, Any]], refs: tuple[Any, Any] | None, log: _Log) -> None:
    seqs = [np.asarray(g.encode_fn(x, y)) for x, y in pairs]
    try:
        labels = g.task.labels(np.stack(seqs)).tolist()
    except CCBoundsError:
        labels = []
        for (x, y), s in zip(pairs, seqs):
            try:
                labels.append(g.task.label(s))
            except CCBoundsError as e:
                labels.append(None)
                log.fail("malformed", x, y, "a valid task sequence", str(e))
    alice = set(g.alice_positions)
    bob = set(g.bob_positions)
    cache: dict[tuple[str, Any], np.ndarray] = {}
    for idx, ((x, y), seq, lab) in enumerate(zip(pairs, seqs, labels)):
        if lab is not None:
            want, got = g.problem.f(x, y), g.answer_fn(lab)
            if want != got:
                log.fail("answer", x, y, want, got)
        if g.final_token_values and int(seq[-1]) not in g.final_token_values:
            log.fail("final-token", x, y, f"one of {list(g.final_token_values)}", int(seq[-1]))
        try:
            built = g.assemble(g.alice_fn(x), g.bob_fn(y))
        except CCBoundsError as e:
            log.fail("assembly", x, y, "parts of the right sizes", str(e))
        else:
            diff = _differs(built, seq)
            if len(diff):
                log.fail("assembly", x, y, "encode(x, y)", f"differs at positions {diff.tolist()}")
        x_ref, y_ref = refs if refs is not None else pairs[(idx + 1) % len(pairs)]
        for who, other, allowed in (("x", (x_ref, y), alice), ("y", (x, y_ref), bob)):
            key = (who, other)
            if key not in cache:
                cache[key] = np.asarray(g.encode_fn(*other))
            outside = sorted(set(_differs(cache[key], seq).tolist()) - allowed)
            if outside:
                owner = "Alice's" if who == "x" else "Bob's"
                log.fail("ownership", x, y, f"changing {who} alters only {owner} positions",
                         f"encode{other} differs at positions {outside}")


def check_gadget(gadget: Gadget | ProblemMap, exhaustive: bool = True, samples: int | None = None,
                 seed: int = 0, pairs: Any = None) -> GadgetCheck:
    """Check a gadget (or problem map) on all inputs, on seeded samples, or on given pairs.

    Parameters
    ----------
    gadget : Gadget or ProblemMap
    exhaustive : bool
        Check every (x, y) (refused beyond :data:`MAX_CHECK_PAIRS` pairs).
    samples : int, optional
        Check ``problem.sample(samples, seed, balanced=True)`` instead.
    seed : int
        Seed of the sample.
    pairs : iterable of (x, y), optional
        Check exactly these inputs (takes precedence).

    Returns
    -------
    GadgetCheck
        ``ok`` and the counterexamples of each kind (see the module docstring).

    Raises
    ------
    TooLargeError
        Exhaustive check of too many pairs; pass ``samples=k``.
    InvalidInputError
        Invalid or empty inputs.

    Examples
    --------
    >>> from reductions.gadgets import get_gadget, index_to_disj
    >>> from ccbounds.problems import EQ
    >>> check_gadget(get_gadget(EQ(40)), samples=20, seed=1).ok
    True
    >>> str(check_gadget(index_to_disj(3)))
    'INDEX_3->DISJ_3: exhaustive check of 24 inputs: OK'
    """
    if not isinstance(gadget, (Gadget, ProblemMap)):
        raise InvalidInputError(f"check_gadget takes a Gadget or a ProblemMap, got {type(gadget).__name__}")
    problem = gadget.source if isinstance(gadget, ProblemMap) else gadget.problem
    mode, todo, refs = _pairs(problem, exhaustive, samples, seed, pairs)
    if isinstance(gadget, ProblemMap):
        log = _Log(("answer", "domain"))
        _check_map(gadget, todo, log)
    else:
        log = _Log(("answer", "assembly", "ownership", "malformed", "final-token"))
        _check_gadget(gadget, todo, refs, log)
    return GadgetCheck(gadget.name, mode, len(todo), log.failures, tuple(log.examples))
