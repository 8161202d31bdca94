"""Index lookup: n data symbols, then the index of the one to output (the task INDEX_n embeds in).

Layout (theory §5): positions 0..n-1 hold data symbols ``D0..D{q-1}`` (ids 0..q-1 by default),
position n holds the index token ``I{i}`` for the 0-based index i (id q+i by default); the answer
is ``x_i`` in ``range(q)``. Vocabulary q+n, sequence length n+1.

Examples
--------
>>> t = IndexLookup(3)
>>> t.label([1, 0, 1, 2 + 1])   # x = 101, index token for i = 1
0
>>> t.seq_len, t.vocab_size, t.num_classes
(4, 5, 2)
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ccbounds.errors import InvalidInputError
from ccbounds.tasks.base import Task, check_n, resolve_tokens

__all__ = ["IndexLookup"]


@dataclass(frozen=True)
class IndexLookup(Task):
    """The index-lookup task: ``x_0 .. x_{n-1} I_i`` -> ``x_i`` (theory §5, [BHBK]).

    Parameters
    ----------
    n : int
        Number of data symbols.
    q : int
        Alphabet size of the data symbols (>= 2).
    tokens : mapping, optional
        Token-id overrides by name: ``"D{a}"`` for data symbol a, ``"I{i}"`` for the index token of
        position i. Defaults: ``D{a} = a``, ``I{i} = q + i``.
    vocab_size : int, optional
        Defaults to the largest id + 1 (``q + n`` with the default ids).

    Notes
    -----
    ``sample(balanced=True)``: stratified answers (see :mod:`ccbounds.tasks.base`); given answer a,
    the index i is uniform, ``x_i = a`` and the other symbols are uniform and independent, which
    is exactly uniform over the sequences with answer a. ``balanced=False``: x and i uniform.
    ``all_sequences()`` lists x in ``itertools.product`` order, and for each x the indices 0..n-1
    (the order of ``INDEX(n, q).alice_inputs() x .bob_inputs()``); q**n * n sequences.

    Raises
    ------
    InvalidInputError
        n < 1, q < 2, or bad token ids.

    Examples
    --------
    >>> t = IndexLookup(2, q=3)
    >>> t.layout()
    {'D0': 0, 'D1': 1, 'D2': 2, 'I0': 3, 'I1': 4}
    >>> tokens, labels = t.sample(6, seed=0)
    >>> sorted(labels.tolist())
    [0, 0, 1, 1, 2, 2]

    References
    ----------
    S. Bhattamishra, M. Hahn, P. Blunsom, V. Kanade, Separations in the Representational
    Capabilities of Transformers and Recurrent Architectures, NeurIPS 2024.
    """

    n: int
    q: int = 2
    tokens: Mapping[str, int] | None = None
    vocab_size: int | None = None  # type: ignore[assignment]

    name = "index-lookup"

    def problem(self) -> Any:
        """INDEX_n over this task's alphabet (theory §5)."""
        from ccbounds.problems import INDEX

        return INDEX(self.n, q=self.q)

    def __post_init__(self) -> None:
        n = check_n(self.n)
        if isinstance(self.q, bool) or not isinstance(self.q, (int, np.integer)) or self.q < 2:
            raise InvalidInputError(f"index-lookup: alphabet size q must be an integer >= 2, got {self.q!r}")
        q = check_n(self.q, "q")
        defaults = {f"D{a}": a for a in range(q)} | {f"I{i}": q + i for i in range(n)}
        layout, vocab = resolve_tokens(defaults, self.tokens, self.vocab_size, self.name)
        object.__setattr__(self, "n", n)
        object.__setattr__(self, "q", q)
        object.__setattr__(self, "tokens", tuple(layout.items()))
        object.__setattr__(self, "vocab_size", vocab)
        object.__setattr__(self, "num_classes", q)
        object.__setattr__(self, "seq_len", n + 1)

    @property
    def data_ids(self) -> np.ndarray:
        """Token id of data symbol a, for a in ``range(q)``."""
        return self._ids([f"D{a}" for a in range(self.q)])

    @property
    def index_ids(self) -> np.ndarray:
        """Token id of the index token for position i, for i in ``range(n)``."""
        return self._ids([f"I{i}" for i in range(self.n)])

    def encode(self, x: Any, i: int) -> np.ndarray:
        """The sequence for data ``x`` (values in ``range(q)``) and 0-based index ``i``.

        Examples
        --------
        >>> IndexLookup(3).encode((1, 1, 0), 2).tolist()
        [1, 1, 0, 4]
        """
        xs = np.asarray(x, dtype=np.int64)
        if xs.shape != (self.n,) or xs.min() < 0 or xs.max() >= self.q:
            raise InvalidInputError(f"{self}: x must be {self.n} symbols in range({self.q}), got {x!r}")
        if not 0 <= int(i) < self.n:
            raise InvalidInputError(f"{self}: index must be in range({self.n}) (0-based), got {i!r}")
        return np.concatenate([self.data_ids[xs], self.index_ids[[int(i)]]])

    def label(self, tokens: Any) -> int:
        """``x_i``: parse the data symbols and the index token, then look up (theory §5).

        Raises
        ------
        InvalidInputError
            A wrong length or a token outside the layout at some position.
        """
        seq = self._as_batch(tokens)[0]
        data = {int(t): a for a, t in enumerate(self.data_ids)}
        index = {int(t): i for i, t in enumerate(self.index_ids)}
        x = []
        for pos, tok in enumerate(seq[: self.n].tolist()):
            if tok not in data:
                raise InvalidInputError(
                    f"{self}: position {pos} holds token {tok}, expected a data symbol {sorted(data)}"
                )
            x.append(data[tok])
        last = int(seq[self.n])
        if last not in index:
            raise InvalidInputError(
                f"{self}: position {self.n} holds token {last}, expected an index token {sorted(index)}"
            )
        return x[index[last]]

    def labels(self, batch: Any) -> np.ndarray:
        """Vectorised :meth:`label` (an inverse lookup table; same validation)."""
        arr = self._as_batch(batch)
        self._check_ids(arr, slice(0, self.n), self.data_ids, f"a data symbol {self.data_ids.tolist()}")
        self._check_ids(arr, self.n, self.index_ids, f"an index token {self.index_ids.tolist()}")
        x = self._inverse(self.data_ids)[arr[:, : self.n]]  # (k, n)
        i = self._inverse(self.index_ids)[arr[:, self.n]]  # (k,)
        return x[np.arange(len(arr)), i]

    def _sample_given(self, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        k = len(labels)
        x = rng.integers(0, self.q, size=(k, self.n))
        i = rng.integers(0, self.n, size=k)
        x[np.arange(k), i] = labels
        return self._assemble(x, i)

    def _sample_unconditional(self, k: int, rng: np.random.Generator) -> np.ndarray:
        x = rng.integers(0, self.q, size=(k, self.n))
        return self._assemble(x, rng.integers(0, self.n, size=k))

    def _space_size(self) -> int:
        return self.q**self.n * self.n

    def _enumerate(self) -> np.ndarray:
        xs = np.array(list(itertools.product(range(self.q), repeat=self.n)), dtype=np.int64)
        x = np.repeat(xs, self.n, axis=0)
        i = np.tile(np.arange(self.n), len(xs))
        return self._assemble(x, i)

    def _assemble(self, x: np.ndarray, i: np.ndarray) -> np.ndarray:
        return np.concatenate([self.data_ids[x], self.index_ids[i][:, None]], axis=1).astype(np.int64)
