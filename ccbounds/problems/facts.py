"""What a problem answers about itself: shared pieces of the facts :class:`~ccbounds.problems.Problem` owns.

A problem class says, itself, which one-way bound a protocol is held to (theory §1, §2), the largest n
a message of B bits allows (theory §6), which Bob queries an audit asks and whether they certify
information (theory §6), and which query separates two colliding Alice inputs (theory §6). This module
holds the pieces several classes share: the audit's query description :class:`AuditQueries`, the
generic "largest n" search, the distributional bound INDEX lends through an embedding, and the
seeded query sample of problems without a dedicated distribution.

Examples
--------
>>> from ccbounds.problems import EQ, INDEX
>>> largest_n(INDEX(4), 10), largest_n(INDEX(4, q=3), 10), largest_n(EQ(4), 10, eps=0.1)
(10, 6, None)
>>> unit_vectors(3)
((1, 0, 0), (0, 1, 0), (0, 0, 1))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ccbounds.bound_record import Bound
from ccbounds.errors import InvalidInputError

__all__ = [
    "BOB_STREAM",
    "EQ_NO_CERTIFICATE",
    "GT_NO_CERTIFICATE",
    "LARGEST_N_CAP",
    "NO_CERTIFICATE",
    "OTHER_QUERIES",
    "SEARCH_BOB_INPUTS",
    "AuditQueries",
    "ProblemFacts",
    "fits",
    "flip_description",
    "flip_queries",
    "index_embedding_bound",
    "largest_n",
    "matrix_distributional_bound",
    "sampled_queries",
    "unit_vectors",
]

#: how many Bob inputs are sampled for problems without a dedicated query distribution
OTHER_QUERIES = 16
#: stream id of the sampled Bob inputs (the audit draws Alice's inputs from streams 0 and 1)
BOB_STREAM = 2
#: :meth:`ProblemFacts.separating_query` searches all of Bob's inputs when there are at most this many
SEARCH_BOB_INPUTS = 4096
#: :func:`largest_n` searches n up to this; a bound that never exceeds B below it gives no limit
LARGEST_N_CAP = 2**62


@dataclass(frozen=True)
class AuditQueries:
    """Bob's side of an audit's distribution mu for one problem (theory §6).

    Attributes
    ----------
    kind : str
        A short name of the distribution (``"index"``, ``"disj"``, ``"eq"``, ... or ``"sampled"``).
    labels : tuple of str
        One name per query column.
    fixed : tuple or None
        Bob's inputs when they are the same for every x; None when they depend on x
        (then :meth:`~ccbounds.problems.Problem.audit_query_inputs` gives them).
    q : int
        The alphabet of the per-query answers the certificate is about.
    description : str
        mu in words (Alice's and Bob's side).
    certified : bool
        Whether the per-coordinate Fano certificate applies: query j is fixed in advance and its
        answer is coordinate j of a uniform x.
    note : str
        Why there is no certificate (empty when ``certified``).
    """

    kind: str
    labels: tuple[str, ...]
    fixed: tuple[Any, ...] | None
    q: int
    description: str
    certified: bool = False
    note: str = ""


#: why an audit of a problem without coordinate queries carries no certificate
NO_CERTIFICATE = ("no Fano certificate: it needs Bob's error on each coordinate of a uniform x with the "
                  "queries fixed in advance, which INDEX gives (and DISJ, IP through y = {i}); this "
                  "problem's audit queries do not reveal single coordinates of x")

#: why an EQ audit carries no certificate (theory §6)
EQ_NO_CERTIFICATE = ("no Fano certificate: it needs Bob's error on each coordinate of a uniform x, which INDEX "
                     "and DISJ (through y = {i}) give; EQ's queries (y = x and its flips) do not reveal single "
                     "coordinates of x, and EQ has no non-trivial distributional bound (public-coin hashing "
                     "solves it with O(log 1/eps) bits)")
#: why a GT audit carries no certificate (theory §6)
GT_NO_CERTIFICATE = ("no Fano certificate: GT's queries (y = x and its flips, GT(x, x XOR e_i) = x_i) depend on "
                     "x, so Bob's answer is not a guess of x_i from the message alone; no distributional bound "
                     "for GT is stated here")

def fits(bound: Bound, bits: float) -> bool:
    """Whether a message of ``bits`` bits is not ruled out by ``bound``: bits >= ceil(value).

    >>> from ccbounds.problems import INDEX
    >>> fits(INDEX(5).one_way_bound(), 5), fits(INDEX(5).one_way_bound(), 4)
    (True, False)
    """
    return bits >= math.ceil(float(bound.value) - 1e-9)


def largest_n(problem: Any, bits: float, eps: float = 0.0) -> int | None:
    """The largest n whose bound ``problem.resized(n).one_way_bound(eps)`` a B-bit message meets (theory §6).

    The one implementation of "largest n" (budgets, reductions, audits and plots call it through
    :meth:`~ccbounds.problems.Problem.largest_n`). The bounds grow with n, so an exponential then a
    binary search over n finds the last n with ``fits``; 0 when even n = 1 is ruled out, None when no
    n up to :data:`LARGEST_N_CAP` is (e.g. EQ with errors: public-coin hashing), when the problem has
    no size parameter, or when no bound is known at this eps.

    >>> from ccbounds.problems import DISJ
    >>> largest_n(DISJ(3), 7), largest_n(DISJ(3), 7, eps=0.5)
    (7, None)
    """
    eps = min(max(float(eps), 0.0), 1.0)
    if problem.n is None or (eps > 0 and problem.distributional_bound(eps) is None):
        return None

    def ok(m: int) -> bool:
        return fits(problem.resized(m).one_way_bound(eps), bits)

    if not ok(1):
        return 0
    lo = 1
    while ok(2 * lo):
        lo *= 2
        if lo >= LARGEST_N_CAP:
            return None
    hi = 2 * lo  # ok(lo), not ok(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return lo


def index_embedding_bound(problem: Any, eps: float, q: int, mu: str) -> Bound:
    """n·(log2 q − H2(eps) − eps·log2(q−1)) under mu: [KNR] / Fano per coordinate (theory §6).

    For INDEX itself (mu: x uniform, i uniform) and every problem INDEX embeds in one way through a
    Bob input fixed by i alone (DISJ and IP with y = {i}): Bob's answer on that input is a guess of x_i
    from the message, so Fano's inequality per coordinate bounds the message.
    """
    from ccbounds.information import fano_term

    return Bound(problem.n * float(fano_term(eps, q)), "lower", "D_mu_eps(A->B)", problem.name, eps=eps,
                 method="known", source="[KNR]; theory §6 (Fano per coordinate)",
                 expression="n*(1-H2(eps))" if q == 2 else "n*(log2 q - H2(eps) - eps*log2(q-1))",
                 note=f"average error eps under mu: {mu}")


def matrix_distributional_bound(problem: Any, eps: float) -> Bound:
    """Exact D^{A->B,mu}_eps of a problem given by its matrix, under the audit's mu (theory §10.6).

    mu: x uniform on the rows, y uniform on Bob's audit queries (all columns when there are at most
    :data:`OTHER_QUERIES`, else the sample of ``audit_queries(seed=0)``), so the value bounds the message of every
    one-way protocol -- and every model an audit reduces -- whose average error under that mu is at most eps.
    A matrix too large for the exhaustive search gets the trivial bound 0, saying so.

    >>> from ccbounds.problems import Problem
    >>> p = Problem.from_matrix([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 0]])
    >>> p.one_way_bound(0.0).value, p.one_way_bound(0.1).value, p.one_way_bound(0.25).value
    (2, 2, 1)
    """
    from ccbounds.bounds.oneway_dist import one_way_distributional
    from ccbounds.errors import TooLargeError

    cache = problem.__dict__.setdefault("_distributional_cache", {})
    if eps in cache:
        return cache[eps]
    q = problem.audit_queries(seed=0)
    cols = [problem.y_index(y) for y in q.fixed]
    every = len(cols) == problem.num_bob_inputs
    mu = (f"x uniform on the {problem.num_alice_inputs} rows, y uniform on "
          + (f"all {len(cols)} columns" if every else f"the audit's {len(cols)} sampled columns (seed 0)"))
    try:
        M = problem.matrix()[:, cols]
        b = one_way_distributional(M, eps, mu_description=mu)
        out = Bound(b.value, "lower", "D_mu_eps(A->B)", problem.name, eps=eps, method="exhaustive", witness=b.witness,
                    source="theory §10.6 (exhaustive search over message classes)", expression=b.expression,
                    note=f"mu: {mu}; exact for this mu ({b.witness.search})")
    except TooLargeError as e:
        out = Bound(0, "lower", "D_mu_eps(A->B)", problem.name, eps=eps, method="trivial", expression="0",
                    source="theory §10.6", note=f"the exact search is too large here ({e})")
    cache[eps] = out
    return out


def unit_vectors(n: int) -> tuple[tuple[int, ...], ...]:
    """The n indicator vectors e_i = {i} as tuples (Bob's INDEX embedding for DISJ and IP)."""
    return tuple(tuple(int(j == i) for j in range(n)) for i in range(n))


def flip_queries(rows: np.ndarray) -> list[tuple[int, ...]]:
    """Per row x: x itself, then the n single-bit flips x XOR e_i (flattened row-major)."""
    out: list[tuple[int, ...]] = []
    for r in rows.tolist():
        out.append(tuple(r))
        for i in range(len(r)):
            flip = list(r)
            flip[i] ^= 1
            out.append(tuple(flip))
    return out


def flip_description(n: int) -> str:
    """mu of the problems asked y = x and its n single-bit flips."""
    return (f"x uniform on {{0,1}}^{n} (K i.i.d. draws); Bob asks y = x and the {n} single-bit flips "
            "x XOR e_i (n + 1 queries per x)")


def sampled_queries(problem: Any, seed: int) -> AuditQueries:
    """At most :data:`OTHER_QUERIES` of Bob's inputs, sampled once with the seed (no certificate)."""
    count = int(problem.num_bob_inputs)
    rng = np.random.default_rng([seed, BOB_STREAM])
    picks = sorted(rng.choice(count, size=min(OTHER_QUERIES, count), replace=False).tolist()) \
        if count > OTHER_QUERIES else list(range(count))
    ys = tuple(problem.y_at(j) for j in picks)
    return AuditQueries("sampled", tuple(f"y#{j}" for j in picks), ys, len(problem.outputs),
                        f"x uniform on the {problem.num_alice_inputs} Alice inputs (K i.i.d. draws); Bob asks "
                        f"{len(ys)} of his inputs sampled once with the seed (no certificate)", note=NO_CERTIFICATE)


class ProblemFacts:
    """What a problem answers about itself (mixed into :class:`~ccbounds.problems.Problem`).

    The defaults fit any finite problem (the one-way bound from the matrix, sampled audit queries,
    a search for a separating query); INDEX, EQ, DISJ, GT and IP override them with their textbook
    facts. A new problem class overrides what it knows better, and every caller (bounds of a reduction,
    budgets, audits, witnesses, plots) picks it up.
    """

    name: str
    n: int | None
    outputs: tuple

    #: Alice's input is a vector of n symbols in range(alphabet); None: an opaque input (a row index)
    alphabet: int | None = None
    #: theory §7 constructions by architecture: arch -> (display name, key of ccbounds.models.CONSTRUCTIONS)
    constructions: ClassVar[dict[str, tuple[str, str]]] = {}

    @property
    def family(self) -> str:
        """The problem without its size, as formulas write it (``"INDEX"``, ``"EQ"``; the name otherwise)."""
        return self.name

    @property
    def query_token_values(self) -> int:
        """Q of Lemma T (theory §4): how many values the token at the output position takes in the
        problem's default sequence layout (theory §5). 1 when it is public or fixed (END)."""
        return 1

    def resized(self, n: int) -> Any:
        """The same problem family at size n (other parameters, such as q, kept).

        Raises
        ------
        InvalidInputError
            For problems without a size parameter (given by a matrix or a function).
        """
        raise InvalidInputError(f"{self.name} has no size parameter n to change")

    def one_way_bound(self, eps: float = 0.0) -> Bound:
        """The lower bound on Alice's message in any one-way A->B protocol (theory §1, §2, §6).

        Parameters
        ----------
        eps : float
            0: protocols correct on every input, D^{A->B}(f) (a textbook value, else
            ceil(log2 #distinct rows) computed from the matrix). In (0, 1]: average error <= eps under
            the problem's distribution mu (:meth:`distributional_bound`).

        Returns
        -------
        Bound
            Model ``"D1way(A->B)"`` (eps = 0) or ``"D_mu_eps(A->B)"`` (eps > 0).

        Raises
        ------
        InvalidInputError
            eps outside [0, 1], or eps > 0 for a problem without a distributional bound here.

        Examples
        --------
        >>> from ccbounds.problems import EQ
        >>> EQ(5).one_way_bound().value, EQ(5).one_way_bound(0.1).value
        (5, 0)
        """
        if isinstance(eps, bool) or not isinstance(eps, (int, float, np.floating)) or not 0 <= eps <= 1:
            raise InvalidInputError(f"eps must be in [0, 1], got {eps!r}")
        if eps == 0:
            for b in self.known_bounds(eps=0.0):
                if b.model == "D1way(A->B)" and b.is_lower:
                    return b
            from ccbounds.bounds import one_way

            return one_way(self)
        bound = self.distributional_bound(float(eps))
        if bound is None:
            raise InvalidInputError(f"no distributional bound for {self.name} with eps > 0; pass eps=0")
        return bound

    def distributional_bound(self, eps: float) -> Bound | None:
        """D^{A->B,mu}_eps(f) for eps > 0 under the problem's mu, or None when none is known here."""
        return None

    def largest_n(self, bits: float, eps: float = 0.0) -> int | None:
        """The largest n at which a message of ``bits`` bits meets :meth:`one_way_bound` (theory §6).

        ``resized(n).one_way_bound(eps)`` <= bits < ``resized(n + 1).one_way_bound(eps)``. None when
        no length is ruled out (no size parameter, no bound at this eps, or a bound that does not grow).

        Examples
        --------
        >>> from ccbounds.problems import INDEX
        >>> INDEX(8).largest_n(64), INDEX(8, q=4).largest_n(64), INDEX(8).largest_n(64, eps=0.5)
        (64, 32, None)
        """
        return largest_n(self, bits, eps)

    def audit_queries(self, seed: int = 0) -> AuditQueries:
        """Bob's queries of an audit (theory §6): by default a seeded sample of at most
        :data:`~ccbounds.problems.facts.OTHER_QUERIES` of his inputs, the same for every x (no certificate)."""
        return sampled_queries(self, seed)

    def audit_query_inputs(self, rows: np.ndarray, fixed: tuple | None) -> list:
        """Bob's inputs for each audited Alice row, flattened row-major (``len(rows) * #queries``)."""
        return list(fixed) * len(rows)

    def audit_truth(self, rows: np.ndarray, xs: Sequence[Any], fixed: tuple | None) -> np.ndarray:
        """f(x, y) for every audited row and query column: ``(len(rows), #queries)`` int64."""
        ys = self.audit_query_inputs(rows, fixed)
        width = len(ys) // max(len(xs), 1)
        return np.array([[self.f(x, y) for y in ys[r * width:(r + 1) * width]] for r, x in enumerate(xs)],
                        dtype=np.int64).reshape(len(xs), width)

    def separating_query(self, x: Any, x_prime: Any, candidates: Sequence[Any] | None = ()) -> Any:
        """A Bob input y with f(x, y) != f(x', y), or None (theory §6, collision witnesses).

        Tries ``candidates`` (the audit's fixed queries) first, then every Bob input when there are
        at most :data:`SEARCH_BOB_INPUTS` of them.
        """
        for y in candidates or ():
            if self.f(x, y) != self.f(x_prime, y):
                return y
        if self.num_bob_inputs <= SEARCH_BOB_INPUTS:
            return next((y for y in self.bob_inputs() if self.f(x, y) != self.f(x_prime, y)), None)
        return None

    def axis_label(self, who: str) -> str | None:
        """A plot's axis label for ``who``'s inputs when the generic one does not fit (None: generic)."""
        return None
