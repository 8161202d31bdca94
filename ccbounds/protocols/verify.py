"""Checking protocols against problems: correctness, error rates, bit counts, rectangle partitions.

:func:`verify` runs a protocol on every input pair (or on a sample) and compares with f. For a
randomized protocol it either runs every value of the public coins (exact error per pair, when the
protocol states its coin support and that is feasible) or ``coin_samples`` independent coin draws per
pair, and then tests the claim "error <= ``error_bound`` on every input" with exact one-sided binomial
tests at a stated confidence (see :func:`verify`).

:func:`rectangle_partition` and :func:`is_monochromatic_partition` check [KN] Prop. 1.13 (theory §3): the
leaves of a correct protocol tree partition the matrix into monochromatic rectangles.

Examples
--------
>>> from ccbounds.problems import EQ
>>> from ccbounds.protocols.library import trivial_protocol
>>> v = verify(trivial_protocol(EQ(2)), EQ(2))
>>> v.ok, v.status, v.n_checked, v.n_errors, v.max_bits
(True, 'certified', 16, 0, 3)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from ccbounds.errors import InvalidInputError, TooLargeError
from ccbounds.problems import Problem
from ccbounds.protocols.base import Protocol
from ccbounds.protocols.oneway import OneWayProtocol
from ccbounds.protocols.tree import ProtocolTree, Rectangle

__all__ = [
    "Verification", "verify", "rectangle_partition", "is_monochromatic_partition", "partition_defects",
    "MAX_VERIFY_PAIRS", "MAX_VERIFY_RUNS", "CONFIDENCE_DELTA", "MAX_COUNTEREXAMPLES", "STATUSES",
    "binomial_upper", "claimed_fraction",
]

#: what :func:`verify` established about the claim (``Verification.status``)
STATUSES = {
    "certified": "the claim holds on every checked input: no wrong answer (deterministic), every pair's exact "
                 "error <= the bound (exact coins), or the upper confidence bound on every pair's error <= the "
                 "bound (sampled coins, at the stated confidence); checking a sample of pairs certifies nothing "
                 "about the unchecked ones, so only an exhaustive check is certified",
    "not rejected": "the data are consistent with the claim but do not prove it (the upper confidence bound on "
                    "the error is above the claimed bound, or only a sample of the inputs was checked)",
    "rejected": "a wrong answer (deterministic), an exact error above the bound, a binomial test rejecting the "
                "claim at the stated confidence, a transcript over the declared cost, or a non-injective encoding",
}

#: most input pairs an exhaustive :func:`verify` will run (pass ``samples=k`` beyond it)
MAX_VERIFY_PAIRS = 2**16
#: most protocol runs (pairs × coin draws) one :func:`verify` call will make
MAX_VERIFY_RUNS = 2**21
#: a correct randomized protocol fails a sampled :func:`verify` with probability at most this (default)
CONFIDENCE_DELTA = 1e-6
#: counterexamples kept in a :class:`Verification`
MAX_COUNTEREXAMPLES = 10

RANDOMIZED_KINDS = ("public-coin", "private-coin", "randomized")


@dataclass(frozen=True)
class Verification:
    """The outcome of :func:`verify`.

    ``error_rate``: deterministic — the fraction of checked pairs answered wrongly; randomized — the
    largest error over the checked pairs, exact (``exact_coins``: every coin value was run) or
    empirical (``mean_error`` is the mean over pairs).
    ``confidence``: 1 for deterministic protocols and exact coins; else 1 - delta of the binomial tests.
    ``p_value``: sampled coins only — the smallest Bonferroni-adjusted one-sided binomial p-value of the
    claim "error <= error_bound" (over each pair, and over all runs of the pairs with the same answer);
    the claim is rejected when ``p_value <= 1 - confidence``.
    ``tolerance``: sampled coins only — a pair whose empirical error exceeds ``error_bound + tolerance``
    rejects the claim on its own (0 otherwise).
    ``counterexamples``: up to :data:`MAX_COUNTEREXAMPLES` wrong runs as (x, y, expected, got).
    ``ok``: the claim was **not rejected**: no wrong answer (deterministic); every pair's exact error <=
    error_bound (exact coins); the claim not rejected at ``confidence`` (sampled coins: a protocol whose error
    is <= error_bound on every input gets ``ok = False`` with probability at most 1 - confidence); and no
    transcript longer than ``cost``; and (one-way) the encoding was injective. With sampled coins ``ok`` does
    NOT mean the error is below the bound: ``status`` says what was established ("certified" only when
    ``error_upper`` <= ``error_bound`` on an exhaustive check; :data:`STATUSES`).
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
    confidence: float = 1.0
    p_value: float | None = None
    exact_coins: bool = False
    #: one-sided upper confidence bound on the largest error over the checked pairs (randomized protocols:
    #: the exact largest error with exact coins; Clopper-Pearson with a union bound over the pairs, at
    #: ``confidence``, with sampled coins); None for deterministic protocols
    error_upper: float | None = None
    #: "certified", "not rejected" or "rejected" (:data:`STATUSES`)
    status: str = "not rejected"

    @property
    def certified(self) -> bool:
        """True iff the claim was established (:data:`STATUSES`), not merely not rejected."""
        return self.status == "certified"

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
        verdict = self.status.upper()
        if self.error_bound is None:
            err = f"{self.n_errors} wrong ({self.error_rate:.4g})"
        elif self.exact_coins:
            err = (f"exact max error {self.error_rate:.4g} over all coins, mean {self.mean_error:.4g} "
                   f"(bound {self.error_bound:.4g})")
        else:
            err = (f"max error {self.error_rate:.4g}, mean {self.mean_error:.4g} (bound {self.error_bound:.4g}; "
                   f"every checked pair's error <= {self.error_upper:.4g} at confidence {self.confidence:g}; "
                   f"binomial test p = {self.p_value:.3g})")
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


def _log_binom_sf(w: int, m: int, p: float) -> float:
    """log P(Bin(m, p) >= w), exact up to rounding (log-sum-exp of the pmf terms j = w..m).

    >>> round(math.exp(_log_binom_sf(2, 3, 0.5)), 12)  # P(at least 2 heads of 3) = 4/8
    0.5
    """
    if w <= 0:
        return 0.0
    if w > m or p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return 0.0
    j = np.arange(w, m)  # pmf(j+1)/pmf(j) = (m-j)/(j+1) * p/(1-p)
    head = math.lgamma(m + 1) - math.lgamma(w + 1) - math.lgamma(m - w + 1) + w * math.log(p) + (m - w) * math.log1p(-p)
    terms = np.concatenate(([head], head + np.cumsum(np.log((m - j) / (j + 1)) + math.log(p) - math.log1p(-p))))
    top = terms.max()
    return float(min(0.0, top + math.log(np.exp(terms - top).sum())))


def binomial_upper(wrong: int, m: int, delta: float) -> float:
    """One-sided Clopper-Pearson upper confidence bound: the largest p with P(Bin(m, p) <= wrong) >= delta.

    With probability at least 1 - delta the true error p of a pair with ``wrong`` errors in m runs is at most
    this (bisection to 1e-12, rounded up).

    >>> round(binomial_upper(0, 100, 0.05), 4)  # the "rule of three": about 3/100
    0.0295
    >>> binomial_upper(5, 5, 0.01)
    1.0
    """
    if wrong >= m:
        return 1.0
    lo, hi = wrong / m, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        # P(Bin(m, mid) <= wrong) = 1 - P(Bin >= wrong + 1)
        if -math.expm1(_log_binom_sf(wrong + 1, m, mid)) >= delta:
            lo = mid
        else:
            hi = mid
    return min(1.0, hi + 1e-12)


def claimed_fraction(bound: Any) -> Fraction:
    """A claimed error as the exact rational it names: a Fraction as is; a float as the simplest rational
    (denominator <= 10^6) that rounds to it, else its shortest decimal.

    So 0.57 means 57/100 and 1/3 means 1/3 (the floats are slightly below them, and 57 errors in 100 coin values
    must meet the claim 0.57).

    >>> claimed_fraction(0.57), claimed_fraction(1 / 3), claimed_fraction(Fraction(2, 7)), claimed_fraction(0.25)
    (Fraction(57, 100), Fraction(1, 3), Fraction(2, 7), Fraction(1, 4))
    """
    if isinstance(bound, Fraction):
        return bound
    if isinstance(bound, (int, np.integer)):
        return Fraction(int(bound))
    f = Fraction(float(bound)).limit_denominator(10**6)
    return f if float(f) == float(bound) else Fraction(repr(float(bound)))


def _critical_count(m: int, p: float, log_alpha: float) -> int:
    """The fewest errors w of m runs with P(Bin(m, p) >= w) <= alpha (m + 1 when no count is that rare)."""
    lo, hi = 0, m + 1  # the tail is decreasing in w: bisection on the count
    while lo < hi:
        mid = (lo + hi) // 2
        if _log_binom_sf(mid, m, p) <= log_alpha:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _binomial_tests(wrong: list[int], outputs: list[Any], m: int, bound: float, delta: float) -> tuple[float, float]:
    """(p-value, per-pair tolerance) of the claim "every pair's error <= bound" from ``wrong[p]`` of m runs.

    Under the claim a pair's error count is stochastically at most Bin(m, bound), and the sum over any
    fixed set of pairs at most Bin(m·|set|, bound). Tests: each pair alone (half of delta, split over
    the P pairs) and, for each answer value, all pairs with that answer pooled (the other half, split over
    the values; one-sided protocols err on one answer only). Bonferroni: the smallest adjusted p-value
    is <= delta with probability <= delta when the claim holds.
    """
    P = len(wrong)
    groups: dict[Any, int] = {}
    sizes: dict[Any, int] = {}
    for w, out in zip(wrong, outputs):
        groups[out] = groups.get(out, 0) + w
        sizes[out] = sizes.get(out, 0) + m
    logs = [math.log(2 * P) + _log_binom_sf(max(wrong), m, bound)]
    logs += [math.log(2 * len(groups)) + _log_binom_sf(w, sizes[g], bound) for g, w in groups.items()]
    crit = _critical_count(m, bound, math.log(delta / (2 * P)))
    return min(1.0, math.exp(min(logs))), (crit - 1) / m - bound


def verify(protocol: Protocol, problem: Problem, exhaustive: bool = True, samples: int | None = None,
           seed: int = 0, coin_samples: int = 200, balanced: bool = True, *,
           confidence: float = 1 - CONFIDENCE_DELTA, exact_coins: bool | None = None) -> Verification:
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
    confidence : float
        Sampled coins: 1 - delta, the confidence of the binomial tests (default 1 - :data:`CONFIDENCE_DELTA`).
    exact_coins : bool, optional
        Public-coin protocols that state their coin ``support``: run every coin value on every pair, so
        each pair's error is exact (confidence 1). Default: when pairs × support fit :data:`MAX_VERIFY_RUNS`.

    Returns
    -------
    Verification
        ``status``: "certified", "not rejected" or "rejected" (:data:`STATUSES`); ``error_upper``: the
        upper confidence bound on the error. Exact coins: ``ok`` iff every checked pair's exact error is <=
        ``error_bound``, compared in rationals (:func:`claimed_fraction`). Sampled coins
        (m = ``coin_samples`` runs per pair, P pairs): exact one-sided binomial tests of "error <=
        ``error_bound`` on every pair" ([CP] / Bonferroni, see ``p_value``); a protocol meeting its
        bound fails with probability at most delta = 1 - ``confidence``, one whose error on some pairs is
        well above it (e.g. twice it) fails with high probability once m·P is large enough.

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
    >>> v = verify(eq_hash_protocol(3, k=2), EQ(3), coin_samples=50, exact_coins=False)
    >>> v.ok, v.status, v.n_checked, v.n_runs, v.error_bound  # 50 draws cannot show that the error is <= 1/4
    (True, 'not rejected', 64, 3200, 0.25)
    >>> v = verify(eq_hash_protocol(2, k=2), EQ(2))  # all 2^4 coin values on each of the 16 pairs
    >>> v.ok, v.status, v.exact_coins, v.error_rate, v.n_runs, v.confidence
    (True, 'certified', True, 0.25, 256, 1.0)
    """
    randomized = getattr(protocol, "kind", "") in RANDOMIZED_KINDS
    if isinstance(coin_samples, bool) or not isinstance(coin_samples, int) or coin_samples < 1:
        raise InvalidInputError(f"coin_samples must be a positive int, got {coin_samples!r}")
    if not 0.0 < confidence < 1.0:
        raise InvalidInputError(f"confidence must lie in (0, 1), got {confidence!r}")
    size = getattr(protocol, "support_size", None) if randomized else None
    if exact_coins and size is None:
        raise InvalidInputError(f"{protocol.name} states no coin support: pass support= and support_size= to "
                                "PublicCoinProtocol, or exact_coins=False")
    if exact_coins is None:
        n_pairs = samples if samples is not None else problem.num_alice_inputs * problem.num_bob_inputs
        exact_coins = size is not None and n_pairs * size <= MAX_VERIFY_RUNS
    exact_coins = bool(exact_coins)
    m = (size if exact_coins else coin_samples) if randomized else 1
    if samples is not None:
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            raise InvalidInputError(f"samples must be a positive int, got {samples!r}")
        if samples * m > MAX_VERIFY_RUNS:
            raise TooLargeError(f"{samples} pairs x {m} coin draws exceed MAX_VERIFY_RUNS = {MAX_VERIFY_RUNS}; "
                                "pass fewer samples or coin_samples (or exact_coins=False)")
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
    run_seeds = rng.integers(0, 2**63 - 1, size=(len(pairs), m)) if randomized and not exact_coins else None
    notes: list[str] = []
    sent: dict[str, Any] = {}
    one_way = isinstance(protocol, OneWayProtocol)
    injective = True
    seen: set[Any] = set()
    n_errors, max_bits, worst, total_err = 0, 0, 0.0, 0.0
    counter: list[tuple[Any, Any, Any, Any]] = []
    wrongs, outputs = [], []
    for p, (x, y) in enumerate(pairs):
        expected = problem.f(x, y)
        wrong = 0
        if exact_coins:
            runs = (protocol.run_with_coins(x, y, c) for c in protocol.support())
        elif randomized:
            runs = (protocol.run(x, y, seed=int(s)) for s in run_seeds[p])
        else:
            runs = iter((protocol.run(x, y),))
        for t in runs:
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
        wrongs.append(wrong)
        outputs.append(expected)
    n = len(pairs)
    bound = protocol.error_bound if randomized else None
    tol, p_value, conf, upper = 0.0, None, 1.0, None
    below = False  # the error is established to be <= the bound on every checked pair
    if randomized and exact_coins:
        # exact: each pair's error is wrong / |support|, compared in rationals (57/100 meets 0.57)
        claim = claimed_fraction(getattr(protocol, "error_bound_exact", None) or bound)
        correct = below = Fraction(max(wrongs), m) <= claim
        upper = max(wrongs) / m
    elif randomized:
        p_value, tol = _binomial_tests(wrongs, outputs, m, bound, 1.0 - confidence)
        correct, conf = p_value > 1.0 - confidence, confidence
        upper = binomial_upper(max(wrongs), m, (1.0 - confidence) / max(1, len(wrongs)))
        below = upper <= bound
    else:
        correct = below = n_errors == 0
    if max_bits > protocol.cost:
        notes.append(f"a transcript used {max_bits} bits, more than the declared cost {protocol.cost}")
    ok = correct and max_bits <= protocol.cost and injective
    status = "rejected" if not ok else "certified" if below and mode == "exhaustive" else "not rejected"
    if ok and below and mode != "exhaustive":
        notes.append(f"only {n} sampled pairs were checked: the claim is not certified on the others")
    elif ok and not below:
        notes.append(f"not certified: the upper confidence bound {upper:.4g} on the error exceeds the claimed "
                     f"{bound:g}; more coin_samples can certify it if the error is really below")
    return Verification(
        protocol=protocol.name, problem=problem.name, mode=mode, n_checked=n, n_runs=n * m,
        n_errors=n_errors, error_rate=worst if randomized else n_errors / n, mean_error=total_err / n,
        error_bound=bound, tolerance=tol,
        max_bits=max_bits, cost=protocol.cost, ok=ok,
        counterexamples=counter, notes=tuple(notes), confidence=conf, p_value=p_value,
        exact_coins=exact_coins and randomized, error_upper=upper, status=status,
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
