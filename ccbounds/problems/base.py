"""The :class:`Problem` base class, the size limits and small shared helpers (theory §1).

Examples
--------
>>> from ccbounds.problems import EQ
>>> EQ(3).sample(2, seed=1, balanced=True)[0][0] in EQ(3).alice_inputs()
True
>>> MAX_MATRIX_ENTRIES, MAX_INPUTS
(16777216, 1048576)
"""

from __future__ import annotations

import math
import operator
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ccbounds.bound_record import Bound
from ccbounds.errors import InvalidInputError, TooLargeError
from ccbounds.problems.facts import ProblemFacts

if TYPE_CHECKING:
    from ccbounds.problems.custom import FunctionProblem, MatrixProblem

__all__ = ["Problem", "MAX_MATRIX_ENTRIES", "MAX_INPUTS", "MAX_OUTPUT_VALUE"]


#: most entries |X|·|Y| that :meth:`Problem.matrix` (and :meth:`Problem.from_matrix`) will build (16 Mi)
MAX_MATRIX_ENTRIES = 2**24
#: most inputs :meth:`Problem.alice_inputs` / :meth:`Problem.bob_inputs` will list (1 Mi)
MAX_INPUTS = 2**20
#: base number of draws balanced rejection sampling may make before giving up
REJECTION_DRAWS = 10**6
#: largest output value a matrix may hold (outputs are stored as int8)
MAX_OUTPUT_VALUE = 127


def _ceil_log2(m: int) -> int:
    """⌈log2 m⌉ for an integer m >= 1, exactly."""
    return (m - 1).bit_length()


def _ceil_log2_power(q: int, n: int) -> int:
    """⌈log2 q^n⌉ = ⌈n·log2 q⌉ exactly, without building q^n (which is slow for large n).

    >>> [_ceil_log2_power(3, 3), _ceil_log2_power(4, 5), _ceil_log2_power(2, 10**9)]
    [5, 10, 1000000000]
    """
    if q & (q - 1) == 0:  # q = 2^k: q^n = 2^(kn)
        return (q.bit_length() - 1) * n
    if n <= 4096:
        return _ceil_log2(q**n)
    from decimal import Decimal, getcontext

    getcontext().prec = 60  # q^n is never a power of two here, so ⌈n log2 q⌉ = ⌊n log2 q⌋ + 1
    return int((Decimal(q).ln() / Decimal(2).ln() * n).to_integral_value(rounding="ROUND_FLOOR")) + 1


def _pow2_text(log2_count: float) -> str:
    """A count given by its log2, as digits when small and as 2^x when huge (no giant integers in messages)."""
    if log2_count <= 40:
        return str(round(2.0**log2_count))
    return f"2^{int(log2_count)}" if float(log2_count).is_integer() else f"2^{log2_count:.2f}"


def _check_int(value: Any, what: str, low: int, high: int | None = None) -> int:
    if isinstance(value, bool):
        raise InvalidInputError(f"{what} must be an integer, got {value!r}")
    try:
        v = operator.index(value)
    except TypeError:
        raise InvalidInputError(f"{what} must be an integer, got {value!r}") from None
    if v < low or (high is not None and v > high):
        rng = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise InvalidInputError(f"{what} must be {rng}, got {v}; pass a value {rng}")
    return v


def _check_eps(eps: float) -> float:
    if not isinstance(eps, (int, float)) or isinstance(eps, bool) or not 0 <= eps < 0.5:
        raise InvalidInputError(f"eps must be a number in [0, 1/2), got {eps!r}")
    return float(eps)


class Problem(ProblemFacts, ABC):
    """A two-party function f: X × Y → outputs (theory §1).

    Users build problems with the subclasses (:class:`~ccbounds.problems.EQ`, ...), :meth:`from_matrix`
    or :meth:`from_function`. A subclass defines ``_f`` (f on canonical inputs), ``check_x`` / ``check_y``
    (validate an input and return its canonical form), ``_x_at`` / ``_y_at`` (the input at a position of
    the documented order), ``x_index`` / ``y_index`` and the counts ``num_alice_inputs`` /
    ``num_bob_inputs``; it may override ``_random_pairs``, ``_pairs_with_output`` and ``matrix`` with
    faster versions. The facts a reduction and an audit need (one-way bound, largest n, audit queries,
    separating queries) come from :class:`~ccbounds.problems.facts.ProblemFacts`; subclasses override them.

    Attributes
    ----------
    name : str
        e.g. ``"EQ_3"``, ``"INDEX_4_q3"``, ``"matrix 3x4"``.
    n : int or None
        The size parameter (None for problems given by a matrix or a function).
    outputs : tuple
        The possible values of f, ``(0, 1)`` for boolean problems.

    References
    ----------
    .. [KN] E. Kushilevitz and N. Nisan, Communication Complexity, Cambridge University Press, 1997.
    """

    name: str = "problem"
    n: int | None = None
    outputs: tuple = (0, 1)
    description: str = ""

    # -- the function -----------------------------------------------------------------------------
    def f(self, x: Any, y: Any) -> int:
        """f(x, y); raises :class:`InvalidInputError` for inputs outside X × Y."""
        return self._f(self.check_x(x), self.check_y(y))

    @abstractmethod
    def _f(self, x: Any, y: Any) -> int:
        """f on inputs already in canonical form."""

    @abstractmethod
    def check_x(self, x: Any) -> Any:
        """Alice's input in canonical form; :class:`InvalidInputError` if it is not in X."""

    @abstractmethod
    def check_y(self, y: Any) -> Any:
        """Bob's input in canonical form; :class:`InvalidInputError` if it is not in Y."""

    @property
    @abstractmethod
    def num_alice_inputs(self) -> int:
        """|X|, computed without enumerating."""

    @property
    @abstractmethod
    def num_bob_inputs(self) -> int:
        """|Y|, computed without enumerating."""

    @property
    def log2_num_alice_inputs(self) -> float:
        """log2 |X|, without building |X| (subclasses with huge X override it)."""
        return math.log2(self.num_alice_inputs)

    @property
    def log2_num_bob_inputs(self) -> float:
        """log2 |Y|, without building |Y|."""
        return math.log2(self.num_bob_inputs)

    def _fits(self, log2_count: float, exact: Callable[[], int], limit: int) -> bool:
        """Whether a count is at most ``limit``, decided from its log2 and exactly only at the boundary."""
        if log2_count > math.log2(limit) + 1e-6:
            return False
        if log2_count < math.log2(limit) - 1e-6:
            return True
        return exact() <= limit

    @abstractmethod
    def _x_at(self, i: int) -> Any:
        """Alice's input at position i (unchecked)."""

    @abstractmethod
    def _y_at(self, j: int) -> Any:
        """Bob's input at position j (unchecked)."""

    # -- enumerations -----------------------------------------------------------------------------
    def _enum(self, log2_count: float, count: Callable[[], int], at: Callable[[int], Any], who: str) -> list:
        if not self._fits(log2_count, count, MAX_INPUTS):
            raise TooLargeError(
                f"{self.name} has {_pow2_text(log2_count)} {who} inputs, more than MAX_INPUTS = {MAX_INPUTS}; "
                "use a smaller n or sample(k, seed) instead"
            )
        return [at(i) for i in range(count())]

    def alice_inputs(self) -> list:
        """X in the documented order (the rows of :meth:`matrix`); at most :data:`MAX_INPUTS`."""
        return self._enum(self.log2_num_alice_inputs, lambda: self.num_alice_inputs, self._x_at, "Alice")

    def bob_inputs(self) -> list:
        """Y in the documented order (the columns of :meth:`matrix`); at most :data:`MAX_INPUTS`."""
        return self._enum(self.log2_num_bob_inputs, lambda: self.num_bob_inputs, self._y_at, "Bob")

    def x_at(self, i: int) -> Any:
        """Alice's input at row i of the documented order (the inverse of :meth:`x_index`)."""
        return self._x_at(_check_int(i, "row index", 0, self.num_alice_inputs - 1))

    def y_at(self, j: int) -> Any:
        """Bob's input at column j of the documented order (the inverse of :meth:`y_index`)."""
        return self._y_at(_check_int(j, "column index", 0, self.num_bob_inputs - 1))

    @abstractmethod
    def x_index(self, x: Any) -> int:
        """The row of x in :meth:`alice_inputs` (validates x)."""

    @abstractmethod
    def y_index(self, y: Any) -> int:
        """The column of y in :meth:`bob_inputs` (validates y)."""

    # -- sampling ---------------------------------------------------------------------------------
    def sample(self, k: int, seed: int = 0, *, balanced: bool = False) -> list[tuple[Any, Any]]:
        """k input pairs drawn with ``numpy.random.default_rng(seed)`` (same seed, same pairs).

        Parameters
        ----------
        k : int
            Number of pairs, >= 0.
        seed : int
        balanced : bool
            False (default): i.i.d. uniform on X × Y. True: the k pairs are split as evenly as possible
            between the output values (the first ``k mod |outputs|`` values get one more), each drawn
            uniformly among the pairs with that output, then shuffled. EQ and DISJ sample these
            conditioned distributions directly; problems with at most 2^16 pairs draw from the cells
            of their matrix; larger ones use rejection sampling.

        Returns
        -------
        list of (x, y)
            Inputs in canonical form (tuples of ints, ints).

        Raises
        ------
        InvalidInputError
            ``balanced=True`` and some output never occurs (small problems).
        TooLargeError
            ``balanced=True`` and rejection sampling found no pair with some output in
            ``REJECTION_DRAWS + 1000·k`` draws.

        Examples
        --------
        >>> from ccbounds.problems import EQ
        >>> [EQ(8).f(x, y) for x, y in EQ(8).sample(4, seed=0, balanced=True)].count(1)
        2
        """
        k = _check_int(k, "k (number of samples)", 0)
        rng = np.random.default_rng(seed)
        if not balanced:
            return self._random_pairs(rng, k)
        m = len(self.outputs)
        pairs: list[tuple[Any, Any]] = []
        for idx, v in enumerate(self.outputs):
            pairs += self._pairs_with_output(rng, v, k // m + (idx < k % m))
        order = rng.permutation(len(pairs))
        return [pairs[i] for i in order]

    def _random_pairs(self, rng: np.random.Generator, k: int) -> list[tuple[Any, Any]]:
        xs = rng.integers(0, self.num_alice_inputs, size=k) if k else []
        ys = rng.integers(0, self.num_bob_inputs, size=k) if k else []
        return [(self._x_at(int(i)), self._y_at(int(j))) for i, j in zip(xs, ys)]

    def _pairs_with_output(self, rng: np.random.Generator, v: int, k: int) -> list[tuple[Any, Any]]:
        if self.num_alice_inputs * self.num_bob_inputs <= 2**16:  # small: draw exactly from the matrix
            cells = np.flatnonzero(self.matrix() == v)
            if not len(cells):
                raise InvalidInputError(f"no input pair of {self.name} has output {v}; pass balanced=False")
            cols = self.num_bob_inputs
            return [(self._x_at(int(c) // cols), self._y_at(int(c) % cols)) for c in rng.choice(cells, size=k)]
        out: list[tuple[Any, Any]] = []
        budget = REJECTION_DRAWS + 1000 * k
        while len(out) < k and budget > 0:
            batch = self._random_pairs(rng, min(4 * (k - len(out)) + 16, budget))
            budget -= len(batch)
            out += [(x, y) for x, y in batch if self._f(x, y) == v][: k - len(out)]
        if len(out) < k:
            raise TooLargeError(
                f"could not find inputs with output {v} of {self.name} by rejection sampling; "
                "pass balanced=False or use a problem whose outputs are less rare"
            )
        return out

    # -- matrix and bounds ------------------------------------------------------------------------
    def _check_matrix_size(self) -> None:
        la, lb = self.log2_num_alice_inputs, self.log2_num_bob_inputs
        if not self._fits(la + lb, lambda: self.num_alice_inputs * self.num_bob_inputs, MAX_MATRIX_ENTRIES):
            raise TooLargeError(
                f"the matrix of {self.name} has {_pow2_text(la)}x{_pow2_text(lb)} = {_pow2_text(la + lb)} "
                f"entries, more than MAX_MATRIX_ENTRIES = {MAX_MATRIX_ENTRIES}; use a smaller n"
            )

    def matrix(self) -> np.ndarray:
        """The communication matrix M[i, j] = f(X[i], Y[j]) in the documented orders.

        Returns
        -------
        numpy.ndarray
            int8, shape (|X|, |Y|); a fresh array on every call.

        Raises
        ------
        TooLargeError
            When |X|·|Y| > :data:`MAX_MATRIX_ENTRIES` (use a smaller n).

        Examples
        --------
        >>> from ccbounds.problems import DISJ
        >>> DISJ(1).matrix().tolist()
        [[1, 1], [1, 0]]
        """
        self._check_matrix_size()
        xs, ys = self.alice_inputs(), self.bob_inputs()
        return np.array([[self._f(x, y) for y in ys] for x in xs], dtype=np.int8)

    def known_bounds(self, eps: float = 1 / 3) -> list[Bound]:
        """Textbook bounds (theory §2) as :class:`Bound` records with ``method="known"``.

        Parameters
        ----------
        eps : float
            The error parameter of the randomized bounds, in [0, 1/2).

        Returns
        -------
        list of Bound
            Empty for problems given by a matrix or a function (compute theirs with the bounds module).

        Raises
        ------
        InvalidInputError
            For eps outside [0, 1/2).
        """
        _check_eps(eps)
        return []

    def _bound(self, value: float | None, direction: str, model: str, expression: str, source: str,
               eps: float | None = None, note: str = "") -> Bound:
        return Bound(value, direction, model, self.name, eps=eps, method="known", source=source,
                     expression=expression, note=note)

    # -- constructors for user problems -----------------------------------------------------------
    @staticmethod
    def from_matrix(M: Any, name: str | None = None) -> MatrixProblem:
        """A problem whose inputs are the row and column indices of M (see :class:`MatrixProblem`)."""
        from ccbounds.problems.custom import MatrixProblem

        return MatrixProblem(M, name)

    @staticmethod
    def from_function(f: Callable[[Any, Any], int], X: Sequence[Hashable], Y: Sequence[Hashable],
                      name: str | None = None, outputs: Sequence[int] = (0, 1)) -> FunctionProblem:
        """A problem with inputs X, Y (lists of hashable values) and function f (see :class:`FunctionProblem`)."""
        from ccbounds.problems.custom import FunctionProblem

        return FunctionProblem(f, X, Y, name, outputs)

    # -- presentation -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Name, parameters and sizes as plain data."""
        la, lb = self.log2_num_alice_inputs, self.log2_num_bob_inputs
        return {"name": self.name, "n": self.n, "outputs": list(self.outputs), "description": self.description,
                "num_alice_inputs": self.num_alice_inputs if la <= 62 else _pow2_text(la),
                "num_bob_inputs": self.num_bob_inputs if lb <= 62 else _pow2_text(lb)}

    def __str__(self) -> str:
        la, lb = self.log2_num_alice_inputs, self.log2_num_bob_inputs
        return f"{self.name}: {self.description} (|X| = {_pow2_text(la)}, |Y| = {_pow2_text(lb)})"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"
