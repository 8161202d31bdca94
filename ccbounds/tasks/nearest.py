"""Nearest neighbour: n labelled unit vectors and a query; answer the label of the nearest one.

Inputs are real vectors, not token ids. A sequence is a float64 array of shape ``(n + 1, dim + 2)``:
row j < n is ``[u_j | x_j | 0]`` (a unit vector u_j in R^dim, its label x_j in ``range(num_labels)``,
is-query flag 0); row n is ``[v | 0 | 1]`` (the query v, flag 1). The answer is the label of
``argmax_j <u_j, v>`` (lowest j on ties): the nearest point by inner product, which for unit vectors
is the Euclidean nearest point since ``|v - u|^2 = 2 - 2<u, v>``. This is the target of the gadget
INDEX_n -> nearest neighbour of theory §5 (public nearly orthogonal codes, theory §7).

Examples
--------
>>> t = NearestNeighbour(3, dim=2, points="random")
>>> seq = np.array([[1, 0, 1, 0], [0, 1, 0, 0], [-1, 0, 1, 0], [0.1, 0.9, 0, 1]])
>>> t.label(seq)
0
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from ccbounds.codes import code_dimension, nearly_orthogonal_codes
from ccbounds.errors import InvalidInputError
from ccbounds.tasks.base import Task, check_n

__all__ = ["NearestNeighbour"]

POINTS = ("codebook", "random")


@dataclass(frozen=True)
class NearestNeighbour(Task):
    """Nearest-neighbour retrieval over n labelled unit vectors (theory §5; [BHBK]).

    Parameters
    ----------
    n : int
        Number of labelled points.
    dim : int, optional
        Dimension of the vectors; default :func:`code_dimension` ``(n, gamma)``.
    gamma : float
        Coherence bound of the public codebook, ``0 < gamma < 1``.
    num_labels : int
        Labels are in ``range(num_labels)`` (>= 2).
    points : {"codebook", "random"}
        Where sampled points come from: the public codebook (``u_j`` = row j of
        :attr:`codebook`, the setting of the INDEX gadget) or fresh uniform unit vectors.
    query_noise : float
        Sampled queries are ``normalize(u_j + query_noise · g / sqrt(dim))`` with j uniform and g
        standard normal (0 gives exactly ``u_j``).
    code_seed : int
        Seed of the codebook.

    Notes
    -----
    Natural law (``balanced=False``): points as above, labels uniform and independent, query as
    above. ``balanced=True``: stratified answers; given answer a, the conditional of the natural
    law: points and query as above, the nearest point's label set to a, the others uniform.
    ``all_sequences()`` (codebook only): every labelling x in ``itertools.product`` order and, for
    each, the queries ``u_0..u_{n-1}`` exactly: ``num_labels**n * n`` sequences.
    ``vocab_size`` is None (inputs are real vectors).

    Examples
    --------
    >>> t = NearestNeighbour(4, gamma=0.5)
    >>> seq = t.encode((1, 0, 0, 1), 3)
    >>> seq.shape, t.label(seq)
    ((5, 49), 1)
    """

    n: int
    dim: int | None = None
    gamma: float = 0.5
    num_labels: int = 2
    points: str = "codebook"
    query_noise: float = 0.0
    code_seed: int = 0

    name = "nn"
    token_inputs = False
    vocab_size = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        n = check_n(self.n)
        if isinstance(self.gamma, bool) or not isinstance(self.gamma, (int, float)) or not 0 < self.gamma < 1:
            raise InvalidInputError(f"nn: gamma must satisfy 0 < gamma < 1, got {self.gamma!r}")
        dim = code_dimension(n, float(self.gamma)) if self.dim is None else check_n(self.dim, "dim")
        labels = check_n(self.num_labels, "num_labels")
        if labels < 2:
            raise InvalidInputError(f"nn: num_labels must be >= 2, got {labels}")
        if self.points not in POINTS:
            raise InvalidInputError(f"nn: points must be one of {POINTS}, got {self.points!r}")
        if not isinstance(self.query_noise, (int, float)) or self.query_noise < 0:
            raise InvalidInputError(f"nn: query_noise must be a number >= 0, got {self.query_noise!r}")
        for attr, v in (("n", n), ("dim", dim), ("num_labels", labels), ("gamma", float(self.gamma))):
            object.__setattr__(self, attr, v)
        object.__setattr__(self, "num_classes", labels)
        object.__setattr__(self, "seq_len", n + 1)

    @property
    def input_dim(self) -> int:
        """Width of a row: ``dim + 2`` (vector, label, is-query flag)."""
        return self.dim + 2  # type: ignore[operator]

    def layout(self) -> dict[str, int]:
        """Column layout of a row (inputs are real vectors, not tokens).

        Examples
        --------
        >>> NearestNeighbour(2, dim=3).layout()
        {'vector': 0, 'label': 3, 'is_query': 4}
        """
        return {"vector": 0, "label": self.dim, "is_query": self.dim + 1}  # type: ignore[dict-item]

    @cached_property
    def codebook(self) -> np.ndarray:
        """The public codes ``u_0..u_{n-1}`` (:func:`nearly_orthogonal_codes` with ``code_seed``)."""
        code = nearly_orthogonal_codes(self.n, k=self.dim, gamma=float(self.gamma), seed=self.code_seed, max_tries=100)
        return code.codes

    def encode(self, x: Any, i: int) -> np.ndarray:
        """The sequence with codebook points labelled by x and the query ``u_i`` (0-based i)."""
        xs = np.asarray(x, dtype=np.int64)
        if xs.shape != (self.n,) or xs.min() < 0 or xs.max() >= self.num_labels:
            raise InvalidInputError(f"{self}: x must be {self.n} labels in range({self.num_labels}), got {x!r}")
        if not 0 <= int(i) < self.n:
            raise InvalidInputError(f"{self}: query index must be in range({self.n}), got {i!r}")
        return self._assemble(self.codebook[None], xs[None], self.codebook[[int(i)]])[0]

    def _assemble(self, u: np.ndarray, x: np.ndarray, v: np.ndarray) -> np.ndarray:
        k = len(u)
        out = np.zeros((k, self.n + 1, self.input_dim), dtype=np.float64)
        out[:, : self.n, : self.dim] = u
        out[:, : self.n, self.dim] = x
        out[:, self.n, : self.dim] = v
        out[:, self.n, self.dim + 1] = 1.0
        return out

    def _as_batch(self, batch: Any) -> np.ndarray:
        arr = np.asarray(batch, dtype=np.float64)
        if arr.ndim == 2:
            arr = arr[None]
        shape = (self.n + 1, self.input_dim)
        if arr.ndim != 3 or arr.shape[1:] != shape:
            raise InvalidInputError(f"{self}: expected arrays of shape (k, {shape[0]}, {shape[1]}), got "
                                    f"{np.shape(batch)}")
        flags = arr[:, :, self.dim + 1]
        if not ((flags[:, : self.n] == 0).all() and (flags[:, self.n] == 1).all()):
            raise InvalidInputError(f"{self}: the is-query flag must be 0 on rows 0..{self.n - 1} and 1 on row "
                                    f"{self.n}")
        lab = arr[:, : self.n, self.dim]
        if not (np.isin(lab, np.arange(self.num_labels)).all() and (arr[:, self.n, self.dim] == 0).all()):
            raise InvalidInputError(f"{self}: labels must be in range({self.num_labels}) and 0 on the query row")
        return arr

    def label(self, tokens: Any) -> int:
        """The label of the nearest point to the query, by brute force over the n points."""
        seq = self._as_batch(tokens)[0]
        v = seq[self.n, : self.dim]
        best, best_score = 0, -math.inf
        for j in range(self.n):
            score = float(np.dot(seq[j, : self.dim], v))
            if score > best_score:
                best, best_score = j, score
        return int(seq[best, self.dim])

    def labels(self, batch: Any) -> np.ndarray:
        """Vectorised :meth:`label` (one matrix product and an argmax)."""
        arr = self._as_batch(batch)
        return arr[np.arange(len(arr)), self._nearest(arr), self.dim].astype(np.int64)

    def _nearest(self, arr: np.ndarray) -> np.ndarray:
        scores = np.einsum("knd,kd->kn", arr[:, : self.n, : self.dim], arr[:, self.n, : self.dim])
        return scores.argmax(axis=1)

    def _draw(self, k: int, rng: np.random.Generator) -> np.ndarray:
        if self.points == "codebook":
            u = np.broadcast_to(self.codebook, (k, self.n, self.dim)).copy()
        else:
            u = rng.standard_normal((k, self.n, self.dim))
            u /= np.linalg.norm(u, axis=2, keepdims=True)
        j = rng.integers(0, self.n, size=k)
        v = u[np.arange(k), j] + self.query_noise * rng.standard_normal((k, self.dim)) / math.sqrt(self.dim)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        x = rng.integers(0, self.num_labels, size=(k, self.n))
        return self._assemble(u, x, v)

    def _sample_unconditional(self, k: int, rng: np.random.Generator) -> np.ndarray:
        return self._draw(k, rng)

    def _sample_given(self, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = self._draw(len(labels), rng)
        out[np.arange(len(labels)), self._nearest(out), self.dim] = labels
        return out

    def _space_size(self) -> int:
        return self.num_labels**self.n * self.n

    def _enumerate(self) -> np.ndarray:
        if self.points != "codebook":
            raise InvalidInputError(f"{self}: random points form a continuum; use points='codebook' to enumerate")
        xs = np.array(list(itertools.product(range(self.num_labels), repeat=self.n)), dtype=np.int64)
        m = len(xs)
        u = np.broadcast_to(self.codebook, (m * self.n, self.n, self.dim))
        return self._assemble(u, np.repeat(xs, self.n, axis=0), np.tile(self.codebook, (m, 1)))
