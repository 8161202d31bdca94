"""Checking protocols against problems: correctness, error rates, bit counts, rectangle partitions.

:func:`verify` runs a protocol on every input pair (or on a sample) and compares with f. For a
randomized protocol it runs ``coin_samples`` independent coin draws per pair and checks the empirical
error of every pair against the proven ``error_bound`` plus a Hoeffding margin (see :func:`verify`).

:func:`rectangle_partition` and :func:`is_monochromatic_partition` check [KN] Prop. 1.13 (SPEC §3): the
leaves of a correct protocol tree partition the matrix into monochromatic rectangles.

Examples
--------
>>> from ccbounds.problems import EQ
>>> from ccbounds.protocols.library import trivial_protocol
>>> v = verify(trivial_protocol(EQ(2)), EQ(2))
>>> v.ok, v.n_checked, v.n_errors, v.max_bits
(True, 16, 0, 3)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ccbounds.errors import InvalidInputError, TooLargeError
from ccbounds.problems import Problem
from ccbounds.protocols.base import Protocol
from ccbounds.protocols.oneway import OneWayProtocol
from ccbounds.protocols.tree import ProtocolTree, Rectangle

__all__ = [
    "Verification", "verify", "rectangle_partition", "is_monochromatic_partition", "partition_defects",
    "MAX_VERIFY_PAIRS", "MAX_VERIFY_RUNS", "CONFIDENCE_DELTA", "MAX_COUNTEREXAMPLES",
]

#: most input pairs an exhaustive :func:`verify` will run (pass ``samples=k`` beyond it)
MAX_VERIFY_PAIRS = 2**16
#: most protocol runs (pairs × coin draws) one :func:`verify` call will make
MAX_VERIFY_RUNS = 2**21
#: a correct randomized protocol fails :func:`verify` with probability at most this
CONFIDENCE_DELTA = 1e-6
#: counterexamples kept in a :class:`Verification`
MAX_COUNTEREXAMPLES = 10

RANDOMIZED_KINDS = ("public-coin", "private-coin", "randomized")


@dataclass(frozen=True)
class Verification:
    """The outcome of :func:`verify`.

    ``error_rate``: deterministic — the fraction of checked pairs answered wrongly; randomized — the
    largest empirical error over the checked pairs (``mean_error`` is the mean over pairs).
    ``tolerance``: the Hoeffding margin added to ``error_bound`` (0 for deterministic protocols).
    ``counterexamples``: up to :data:`MAX_COUNTEREXAMPLES` wrong runs as (x, y, expected, got).
    ``ok``: no wrong answer (deterministic) or every pair's empirical error <= error_bound + tolerance
    (randomized); and no transcript longer than ``cost``; and (one-way) the encoding was injective.
    """

    protocol: str
    problem: str
    mode: str
    n_checked: int
    n_runs: int
    n_errors: int
    error_rate: float
    mean_error: float
    error_bound: float | None
    tolerance: float
    max_bits: int
    cost: int
    ok: bool
    counterexamples: list = field(default_factory=list)
    notes: tuple[str, ...] = ()

    @property
    def cost_ok(self) -> bool:
        """True if no transcript used more bits than the protocol's ``cost``."""
        return self.max_bits <= self.cost

    def to_dict(self) -> dict[str, Any]:
        """Plain data (counterexamples as lists)."""
        d = asdict(self)
        d["counterexamples"] = [list(c) for c in self.counterexamples]
        d["notes"] = list(self.notes)
        d["cost_ok"] = self.cost_ok
        return d

    def __str__(self) -> str:
        verdict = "OK" if self.ok else "FAILED"
        if self.error_bound is None:
            err = f"{self.n_errors} wrong ({self.error_rate:.4g})"
        else:
            err = (f"max error {self.error_rate:.4g}, mean {self.mean_error:.4g} "
                   f"(bound {self.error_bound:.4g} + tolerance {self.tolerance:.3g})")
        lines = [f"{verdict}: {self.protocol} on {self.problem}, {self.mode} over {self.n_checked} pairs "
                 f"({self.n_runs} runs): {err}; max {self.max_bits} bits of cost {self.cost}"]
        lines += [f"  counterexample x={x!r} y={y!r}: expected {e}, got {g}" for x, y, e, g in self.counterexamples[:3]]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))
    except (TypeError, ValueError):
        return a == b


def verify(protocol: Protocol, problem: Problem, exhaustive: bool = True, samples: int | None = None,
           seed: int = 0, coin_samples: int = 200, balanced: bool = True) -> Verification:
    """Run ``protocol`` on ``problem``'s inputs and compare with f.

    Parameters
    ----------
    protocol : Protocol
    problem : Problem
    exhaustive : bool
        Check every pair of X × Y (refused beyond :data:`MAX_VERIFY_PAIRS`); ignored when ``samples``
        is given.
    samples : int, optional
        Check this many pairs from ``problem.sample(samples, seed, balanced=balanced)`` instead.
    seed : int
        Seeds the sample of pairs and, for randomized protocols, every coin draw.
    coin_samples : int
        Randomized protocols: independent runs (coin draws) per pair.
    balanced : bool
        With ``samples``: draw pairs balanced over the outputs (default; uniform EQ pairs are almost
        never equal), or uniformly.

    Returns
    -------
    Verification
        For a randomized protocol with m = ``coin_samples`` runs per pair over P pairs the tolerance is
        t = sqrt(ln(P / δ) / (2m)), δ = :data:`CONFIDENCE_DELTA`: by Hoeffding's inequality and a union
        bound, a protocol whose error on every pair is <= ``error_bound`` has some pair's empirical
        error above ``error_bound + t`` with probability at most δ.

    Raises
    ------
    TooLargeError
        Exhaustive on more than :data:`MAX_VERIFY_PAIRS` pairs (pass ``samples=k``), or more than
        :data:`MAX_VERIFY_RUNS` runs in all (fewer samples or coin_samples).
    InvalidInputError
        For ``samples`` < 1 or ``coin_samples`` < 1.

    Examples
    --------
    >>> from ccbounds.problems import EQ
    >>> from ccbounds.protocols.library import eq_hash_protocol
    >>> v = verify(eq_hash_protocol(3, k=2), EQ(3), coin_samples=50)
    >>> v.ok, v.n_checked, v.n_runs, v.error_bound
    (True, 64, 3200, 0.25)
    """
    randomized = getattr(protocol, "kind", "") in RANDOMIZED_KINDS
    if isinstance(coin_samples, bool) or not isinstance(coin_samples, int) or coin_samples < 1:
        raise InvalidInputError(f"coin_samples must be a positive int, got {coin_samples!r}")
    m = coin_samples if randomized else 1
    if samples is not None:
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            raise InvalidInputError(f"samples must be a positive int, got {samples!r}")
        if samples * m > MAX_VERIFY_RUNS:
            raise TooLargeError(f"{samples} pairs x {m} coin draws exceed MAX_VERIFY_RUNS = {MAX_VERIFY_RUNS}; "
                                "pass fewer samples or coin_samples")
        pairs = problem.sample(samples, seed, balanced=balanced)
        mode = "sampled"
    else:
        if not exhaustive:
            raise InvalidInputError("exhaustive=False needs samples=k (the number of pairs to check)")
        total = problem.num_alice_inputs * problem.num_bob_inputs
        if total > MAX_VERIFY_PAIRS or total * m > MAX_VERIFY_RUNS:
            raise TooLargeError(
                f"{problem.name} has {total} input pairs ({total * m} runs), more than an exhaustive check "
                f"allows (MAX_VERIFY_PAIRS = {MAX_VERIFY_PAIRS}, MAX_VERIFY_RUNS = {MAX_VERIFY_RUNS}); "
                "pass samples=k to check a random sample"
            )
        pairs = [(x, y) for x in problem.alice_inputs() for y in problem.bob_inputs()]
        mode = "exhaustive"
    rng = np.random.default_rng(seed)
    run_seeds = rng.integers(0, 2**63 - 1, size=(len(pairs), m)) if randomized else None
    notes: list[str] = []
    sent: dict[str, Any] = {}
    one_way = isinstance(protocol, OneWayProtocol)
    injective = True
    seen: set[Any] = set()
    n_errors, max_bits, worst, total_err = 0, 0, 0.0, 0.0
    counter: list[tuple[Any, Any, Any, Any]] = []
    for p, (x, y) in enumerate(pairs):
        expected = problem.f(x, y)
        wrong = 0
        for r in range(m):
            t = protocol.run(x, y, seed=int(run_seeds[p, r])) if randomized else protocol.run(x, y)
            max_bits = max(max_bits, t.cost)
            if t.output != expected:
                wrong += 1
                if len(counter) < MAX_COUNTEREXAMPLES:
                    counter.append((x, y, expected, t.output))
            own = x if one_way and protocol.direction == "A->B" else y
            if one_way and injective and own not in seen:
                seen.add(own)
                msg, bits = protocol.message_of(own)
                if bits in sent and not _same(sent[bits], msg):
                    injective = False
                    notes.append(f"encode() is not injective: two different messages both encode to {bits!r}")
                sent.setdefault(bits, msg)
        n_errors += wrong
        worst = max(worst, wrong / m)
        total_err += wrong / m
    n = len(pairs)
    bound = protocol.error_bound if randomized else None
    if randomized:
        tol = math.sqrt(math.log(n / CONFIDENCE_DELTA) / (2 * m))
        correct = worst <= bound + tol
    else:
        tol, correct = 0.0, n_errors == 0
    if max_bits > protocol.cost:
        notes.append(f"a transcript used {max_bits} bits, more than the declared cost {protocol.cost}")
    return Verification(
        protocol=protocol.name, problem=problem.name, mode=mode, n_checked=n, n_runs=n * m,
        n_errors=n_errors, error_rate=worst if randomized else n_errors / n, mean_error=total_err / n, error_bound=bound, tolerance=tol,
        max_bits=max_bits, cost=protocol.cost, ok=correct and max_bits <= protocol.cost and injective,
        counterexamples=counter, notes=tuple(notes),
    )


def rectangle_partition(tree: ProtocolTree, problem: Problem) -> list[Rectangle]:
    """The leaf rectangles of ``tree`` as (row indices, column indices, output) into ``problem.matrix()``.

    Uses :meth:`ProtocolTree.leaf_rectangles` over ``problem.alice_inputs()`` / ``problem.bob_inputs()``.

    Examples
    --------
    >>> from ccbounds.problems import Problem
    >>> t = ProtocolTree.from_nested(("Alice", lambda x: x, "x", 0, ("Bob", lambda y: y, "y", 0, 1)))
    >>> rectangle_partition(t, Problem.from_matrix([[0, 0], [0, 1]]))
    [((0,), (0, 1), 0), ((1,), (0,), 0), ((1,), (1,), 1)]
    """
    return tree.leaf_rectangles(problem.alice_inputs(), problem.bob_inputs())


def partition_defects(rects: list[Rectangle], M: Any) -> list[str]:
    """Why ``rects`` is not a partition of M into monochromatic rectangles (empty list: it is one).

    Examples
    --------
    >>> partition_defects([((0,), (0, 1), 0)], [[0, 0], [1, 1]])
    ['cell (1, 0) is covered 0 times', 'cell (1, 1) is covered 0 times']
    """
    M = np.asarray(M)
    if M.ndim != 2:
        raise InvalidInputError(f"M must be a 2-D matrix, got shape {M.shape}")
    cover = np.zeros(M.shape, dtype=np.int64)
    defects: list[str] = []
    for rows, cols, out in rects:
        if any(not 0 <= i < M.shape[0] for i in rows) or any(not 0 <= j < M.shape[1] for j in cols):
            defects.append(f"rectangle {rows}x{cols} has indices outside the {M.shape} matrix")
            continue
        block = M[np.ix_(list(rows), list(cols))]
        cover[np.ix_(list(rows), list(cols))] += 1
        if (block != out).any():
            defects.append(f"rectangle {rows}x{cols} labelled {out} is not monochromatic")
    for i, j in zip(*np.nonzero(cover != 1)):
        defects.append(f"cell ({i}, {j}) is covered {cover[i, j]} times")
    return defects


def is_monochromatic_partition(rects: list[Rectangle], M: Any) -> bool:
    """True if ``rects`` partition M into rectangles each constant and equal to its label ([KN] 1.13).

    Examples
    --------
    >>> is_monochromatic_partition([((0,), (0, 1), 0), ((1,), (0, 1), 1)], [[0, 0], [1, 1]])
    True
    """
    return not partition_defects(rects, M)
