"""Tasks on two n-bit strings, ``x SEP y END`` with the answer read at END (theory §5): string equality,
disjointness, greater-than, inner product mod 2.

Layout: bits ``"0" = 0``, ``"1" = 1``, ``SEP = 2``, ``END = 3`` by default; positions 0..n-1 hold x,
position n holds SEP, positions n+1..2n hold y, position 2n+1 holds END; sequence length 2n+2.
String equality answers ``[x = y]``; disjointness answers ``[x ∩ y = ∅]`` reading x, y as the
indicator vectors of subsets of ``range(n)`` (1 = disjoint, as ``DISJ`` in theory §2); greater-than
answers ``[x > y]`` reading x, y as binary numbers, most significant bit first (``GT``); inner product
answers ``Σ_i x_i y_i mod 2`` (``IP``).
Each task names the problem it embeds (``problem_class``); the ``x SEP y END`` gadget finds it there.

Examples
--------
>>> StringEquality(2).label([1, 0, 2, 1, 0, 3])
1
>>> Disjointness(2).label([1, 0, 2, 1, 0, 3])
0
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ccbounds.errors import InvalidInputError
from ccbounds.problems import DISJ, EQ, GT, IP
from ccbounds.tasks.base import Task, check_n, resolve_tokens

__all__ = ["StringEquality", "Disjointness", "GreaterThan", "InnerProduct"]

_DEFAULTS = {"0": 0, "1": 1, "SEP": 2, "END": 3}


@dataclass(frozen=True)
class _PairTask(Task):
    """Shared layout, parsing, sampling and enumeration of ``x SEP y END`` tasks."""

    #: the problem on two n-bit strings the task answers (its ``x SEP y END`` gadget embeds it)
    problem_class: ClassVar[type]
    n: int
    tokens: Mapping[str, int] | None = None
    vocab_size: int | None = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        n = check_n(self.n)
        layout, vocab = resolve_tokens(_DEFAULTS, self.tokens, self.vocab_size, self.name)
        object.__setattr__(self, "n", n)
        object.__setattr__(self, "tokens", tuple(layout.items()))
        object.__setattr__(self, "vocab_size", vocab)
        object.__setattr__(self, "num_classes", 2)
        object.__setattr__(self, "seq_len", 2 * n + 2)

    def problem(self) -> Any:
        """``problem_class(n)``: the problem the ``x SEP y END`` gadget embeds (theory §5)."""
        return self.problem_class(self.n)

    def encode(self, x: Any, y: Any) -> np.ndarray:
        """The sequence ``x SEP y END`` for bit strings x, y of length n.

        Examples
        --------
        >>> StringEquality(2).encode((0, 1), (1, 1)).tolist()
        [0, 1, 2, 1, 1, 3]
        """
        xs, ys = (self._bits(v, w) for v, w in ((x, "x"), (y, "y")))
        return self._assemble(xs[None, :], ys[None, :])[0]

    def _bits(self, v: Any, what: str) -> np.ndarray:
        arr = np.asarray(v, dtype=np.int64)
        if arr.shape != (self.n,) or not np.isin(arr, (0, 1)).all():
            raise InvalidInputError(f"{self}: {what} must be {self.n} bits (0/1), got {v!r}")
        return arr

    def parse(self, tokens: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Read (x, y) back from one sequence, checking SEP, END and every bit token.

        Raises
        ------
        InvalidInputError
            A wrong length or a token that does not belong at its position.

        Examples
        --------
        >>> Disjointness(2).parse([0, 1, 2, 1, 0, 3])
        ((0, 1), (1, 0))
        """
        seq = self._as_batch(tokens)[0].tolist()
        lay = self.layout()
        bit = {lay["0"]: 0, lay["1"]: 1}
        n = self.n
        expect = {n: "SEP", 2 * n + 1: "END"}
        for pos, tok in enumerate(seq):
            if pos in expect:
                if tok != lay[expect[pos]]:
                    raise InvalidInputError(
                        f"{self}: position {pos} holds token {tok}, expected {expect[pos]}={lay[expect[pos]]}"
                    )
            elif tok not in bit:
                raise InvalidInputError(f"{self}: position {pos} holds token {tok}, expected a bit {sorted(bit)}")
        return tuple(bit[t] for t in seq[:n]), tuple(bit[t] for t in seq[n + 1 : 2 * n + 1])

    def _split(self, batch: Any) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised :meth:`parse`: bit arrays x, y of shape (k, n)."""
        arr = self._as_batch(batch)
        lay = self.layout()
        n = self.n
        bits = self._ids(["0", "1"])
        self._check_ids(arr, slice(0, n), bits, f"a bit {bits.tolist()}")
        self._check_ids(arr, n, np.array([lay["SEP"]]), f"SEP={lay['SEP']}")
        self._check_ids(arr, slice(n + 1, 2 * n + 1), bits, f"a bit {bits.tolist()}")
        self._check_ids(arr, 2 * n + 1, np.array([lay["END"]]), f"END={lay['END']}")
        return (arr[:, :n] == lay["1"]).astype(np.int64), (arr[:, n + 1 : 2 * n + 1] == lay["1"]).astype(np.int64)

    def _assemble(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        lay = self.layout()
        k = len(x)
        bits = self._ids(["0", "1"])
        sep = np.full((k, 1), lay["SEP"], dtype=np.int64)
        end = np.full((k, 1), lay["END"], dtype=np.int64)
        return np.concatenate([bits[x], sep, bits[y], end], axis=1)

    def _sample_unconditional(self, k: int, rng: np.random.Generator) -> np.ndarray:
        return self._assemble(rng.integers(0, 2, (k, self.n)), rng.integers(0, 2, (k, self.n)))

    def _sample_by_rejection(self, labels: np.ndarray, answer: Any, rng: np.random.Generator) -> np.ndarray:
        """(x, y) uniform among the pairs with ``answer(x, y) == label``: uniform pairs, redrawn until they match."""
        k = len(labels)
        x, y = rng.integers(0, 2, (k, self.n)), rng.integers(0, 2, (k, self.n))
        redo = np.flatnonzero(answer(x, y) != labels)
        while len(redo):
            x[redo], y[redo] = rng.integers(0, 2, (len(redo), self.n)), rng.integers(0, 2, (len(redo), self.n))
            redo = redo[answer(x[redo], y[redo]) != labels[redo]]
        return self._assemble(x, y)

    def _space_size(self) -> int:
        return 4**self.n

    def _enumerate(self) -> np.ndarray:
        xs = np.array(list(itertools.product((0, 1), repeat=self.n)), dtype=np.int64)
        m = len(xs)
        return self._assemble(np.repeat(xs, m, axis=0), np.tile(xs, (m, 1)))


@dataclass(frozen=True)
class StringEquality(_PairTask):
    """String equality ``x SEP y END`` -> ``[x = y]`` (theory §5; the task EQ_n embeds in).

    Parameters
    ----------
    n : int
        Length of x and of y.
    tokens : mapping, optional
        Overrides of ``{"0": 0, "1": 1, "SEP": 2, "END": 3}``.
    vocab_size : int, optional
        Defaults to the largest id + 1.

    Notes
    -----
    ``sample(balanced=True)``: stratified labels; label 1: x uniform and y = x; label 0: x uniform
    and y = x XOR d with d uniform over the 2**n - 1 nonzero strings (all-zero d redrawn), i.e.
    uniform over the unequal pairs. ``balanced=False``: x, y uniform (label 1 w.p. 2**-n).
    ``all_sequences()``: 4**n pairs, x major, both in ``itertools.product`` order.

    Examples
    --------
    >>> t = StringEquality(3)
    >>> tokens, labels = t.sample(4, seed=0)
    >>> labels.sum().item(), tokens.shape
    (2, (4, 8))
    """

    name = "eq"
    problem_class = EQ

    def label(self, tokens: Any) -> int:
        """``[x = y]``, parsing the sequence and comparing the strings."""
        x, y = self.parse(tokens)
        return int(x == y)

    def labels(self, batch: Any) -> np.ndarray:
        """Vectorised :meth:`label`."""
        x, y = self._split(batch)
        return (x == y).all(axis=1).astype(np.int64)

    def _sample_given(self, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        k = len(labels)
        x = rng.integers(0, 2, (k, self.n))
        d = rng.integers(0, 2, (k, self.n))
        redo = ~d.any(axis=1)
        while redo.any():  # rejection: d uniform over nonzero strings
            d[redo] = rng.integers(0, 2, (int(redo.sum()), self.n))
            redo = ~d.any(axis=1)
        y = np.where(labels[:, None] == 1, x, x ^ d)
        return self._assemble(x, y)


@dataclass(frozen=True)
class Disjointness(_PairTask):
    """Disjointness ``x SEP y END`` -> ``[x ∩ y = ∅]`` (theory §5; the task DISJ_n embeds in).

    Parameters
    ----------
    n : int
        Length of x and of y (indicator vectors of subsets of ``range(n)``).
    tokens : mapping, optional
        Overrides of ``{"0": 0, "1": 1, "SEP": 2, "END": 3}``.
    vocab_size : int, optional
        Defaults to the largest id + 1.

    Notes
    -----
    ``sample(balanced=True)``: stratified labels; label 1 (disjoint): each coordinate
    (x_i, y_i) independently uniform on {(0,0), (0,1), (1,0)}, which is exactly uniform over the
    3**n disjoint pairs; label 0 (intersecting): (x, y) uniform over all pairs, redrawn while
    disjoint (rejection; acceptance 1 - (3/4)**n >= 1/4), which is exactly uniform over the
    4**n - 3**n intersecting pairs. ``balanced=False``: x, y uniform (disjoint w.p. (3/4)**n).

    Examples
    --------
    >>> t = Disjointness(3)
    >>> t.labels([t.encode((1, 0, 1), (0, 1, 0)), t.encode((1, 0, 1), (0, 0, 1))]).tolist()
    [1, 0]
    """

    name = "disj"
    problem_class = DISJ

    def label(self, tokens: Any) -> int:
        """``[x ∩ y = ∅]``: parse and check that no coordinate has both bits set."""
        x, y = self.parse(tokens)
        return int(not any(a == 1 and b == 1 for a, b in zip(x, y)))

    def labels(self, batch: Any) -> np.ndarray:
        """Vectorised :meth:`label`."""
        x, y = self._split(batch)
        return (~(x & y).any(axis=1)).astype(np.int64)

    def _sample_given(self, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        k = len(labels)
        pairs = np.array([(0, 0), (0, 1), (1, 0), (1, 1)], dtype=np.int64)
        choice = rng.integers(0, 3, (k, self.n))  # disjoint: uniform on the first three pairs
        neg = np.flatnonzero(labels == 0)
        choice[neg] = rng.integers(0, 4, (len(neg), self.n))
        redo = neg[(choice[neg] != 3).all(axis=1)]
        while len(redo):  # rejection: intersecting pairs must contain (1, 1) somewhere
            choice[redo] = rng.integers(0, 4, (len(redo), self.n))
            redo = redo[(choice[redo] != 3).all(axis=1)]
        return self._assemble(pairs[choice, 0], pairs[choice, 1])


class _DefinedPairTask(_PairTask):
    """An ``x SEP y END`` task given by a vectorised answer ``answer(x, y)`` on bit arrays ``(k, n)``.

    Parameters are those of :class:`StringEquality`. ``sample(balanced=True)``: stratified labels;
    given the label, (x, y) is uniform over the pairs with that label (uniform pairs redrawn until they
    match: GT and IP match with probability >= 1/4 per draw). ``balanced=False``: x, y uniform.
    """

    answer: ClassVar[Any]

    def labels(self, batch: Any) -> np.ndarray:
        """Vectorised :meth:`label`."""
        return type(self).answer(*self._split(batch))

    def _sample_given(self, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self._sample_by_rejection(labels, type(self).answer, rng)


def _greater(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """[x > y] per row of bit arrays (MSB first): x has the 1 at the first position where they differ."""
    diff = x != y
    first = diff.argmax(axis=1)
    return (diff.any(axis=1) & (x[np.arange(len(x)), first] == 1)).astype(np.int64)


@dataclass(frozen=True)
class GreaterThan(_DefinedPairTask):
    """Greater-than ``x SEP y END`` -> ``[x > y]``, x and y binary numbers, MSB first (the task GT_n embeds in).

    Parameters and sampling as :class:`_DefinedPairTask` (n, tokens, vocab_size as :class:`StringEquality`).

    Examples
    --------
    >>> t = GreaterThan(3)
    >>> t.labels([t.encode((1, 0, 0), (0, 1, 1)), t.encode((0, 1, 1), (0, 1, 1))]).tolist()
    [1, 0]
    """

    name = "gt"
    problem_class = GT
    answer = staticmethod(_greater)

    def label(self, tokens: Any) -> int:
        """``[x > y]``: parse, then compare the two numbers' values."""
        x, y = self.parse(tokens)
        value_x, value_y = (sum(b << (self.n - 1 - i) for i, b in enumerate(bits)) for bits in (x, y))
        return int(value_x > value_y)


def _parity(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Σ_i x_i y_i mod 2 per row of bit arrays."""
    return ((x & y).sum(axis=1) % 2).astype(np.int64)


@dataclass(frozen=True)
class InnerProduct(_DefinedPairTask):
    """Inner product mod 2 ``x SEP y END`` -> ``Σ_i x_i y_i mod 2`` (the task IP_n embeds in).

    Parameters and sampling as :class:`_DefinedPairTask` (n, tokens, vocab_size as :class:`StringEquality`).

    Examples
    --------
    >>> t = InnerProduct(3)
    >>> t.labels([t.encode((1, 1, 0), (1, 1, 1)), t.encode((1, 0, 1), (0, 0, 1))]).tolist()
    [0, 1]
    """

    name = "ip"
    problem_class = IP
    answer = staticmethod(_parity)

    def label(self, tokens: Any) -> int:
        """The parity of the positions where both x and y hold a 1."""
        x, y = self.parse(tokens)
        return sum(1 for a, b in zip(x, y) if a == 1 and b == 1) % 2
