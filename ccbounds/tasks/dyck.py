"""Bounded Dyck languages Dyck-(types, depth): well-nested brackets of bounded depth, then END.

Layout (theory §5): ``"(" ")" "[" "]" = 0 1 2 3`` and ``END = 4`` for two bracket types (in general
type t opens with id 2t and closes with id 2t+1, END = 2·types); a sequence is ``length`` bracket
tokens followed by END (sequence length ``length + 1``); the answer, read at END, is 1 iff the
brackets are well nested, every closing bracket matches the type of the bracket it closes, and the
nesting depth never exceeds ``depth``.

Defaults: ``length = 2 * depth * n``, so ``BoundedDyck(n)`` is Dyck-(2,2) of length 4n (the target of
DISJ_n) and ``BoundedDyck(n, depth=1)`` is Dyck-(2,1) of length 2n (the target of EQ_n).

Examples
--------
>>> t = BoundedDyck(1)
>>> [t.label(t.from_string(s)) for s in ("(())", "[()]", "()()", "[)(]", "((()")]
[1, 1, 1, 0, 0]
>>> t.count_members()   # strings of length 4 in Dyck-(2,2)
8
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from ccbounds.errors import InvalidInputError
from ccbounds.tasks.base import Task, check_n, resolve_tokens

__all__ = ["BoundedDyck", "BRACKETS"]

#: (open, close) names of bracket types 0..3
BRACKETS = (("(", ")"), ("[", "]"), ("{", "}"), ("<", ">"))

NEGATIVES = ("uniform", "near-miss")


def _randbelow(rng: np.random.Generator, bound: int) -> int:
    """A uniform integer in ``range(bound)`` for an arbitrarily large ``bound`` (exact rejection)."""
    nbits = bound.bit_length()
    nbytes = (nbits + 7) // 8
    while True:
        v = int.from_bytes(rng.bytes(nbytes), "little") >> (8 * nbytes - nbits)
        if v < bound:
            return v


@dataclass(frozen=True)
class BoundedDyck(Task):
    """Membership in Dyck-(types, depth) for bracket strings of a fixed length (theory §5, §7).

    Parameters
    ----------
    n : int
        Size parameter; the default length is ``2 * depth * n`` (n gadget blocks of theory §5).
    depth : int
        Maximum nesting depth (>= 1).
    types : int
        Number of bracket types, 1..4.
    length : int, optional
        Number of bracket tokens; must be even and >= 2 (odd lengths have no members).
    negatives : {"uniform", "near-miss"}
        The law of label-0 sequences in ``sample(balanced=True)`` (see Notes).
    tokens : mapping, optional
        Overrides by name (``"("``, ``")"``, ``"["``, ``"]"``, ..., ``"END"``).
    vocab_size : int, optional
        Defaults to the largest id + 1.

    Notes
    -----
    Members are counted by a dynamic programme over the stack height (the number of completions
    from a stack does not depend on its contents): ``C[r][d] = C[r-1][d-1] + types·C[r-1][d+1]``
    (terms present when ``d > 0``, resp. ``d < depth``), ``C[0][d] = [d = 0]``; there are
    ``C[length][0]`` members. For Dyck-(2,2) these are the completions of the 7 stack contents
    ``'', (, [, ((, ([, [(, [[``.

    ``sample(balanced=True)``: stratified labels. Label 1: exactly uniform over the members (a
    uniform rank in ``range(C[length][0])``, drawn by exact big-integer rejection, is unranked
    with C). Label 0 with ``negatives="uniform"``: uniform over all ``(2·types)**length`` strings,
    redrawn while a member (rejection), i.e. exactly uniform over the non-members. Label 0 with
    ``negatives="near-miss"``: a uniform member with one uniformly chosen position replaced by a
    uniformly chosen *different* bracket token; such a string is never a member (the change
    either unbalances the counts of opening and closing brackets or breaks one matched pair).
    ``balanced=False``: uniform over all strings. ``all_sequences()``: every string, in
    ``itertools.product`` order over the brackets in id order.

    Raises
    ------
    InvalidInputError
        Bad n, depth, types, length, negatives or token ids.

    Examples
    --------
    >>> BoundedDyck(1, depth=1).layout()
    {'(': 0, ')': 1, '[': 2, ']': 3, 'END': 4}
    >>> t = BoundedDyck(2, negatives="near-miss")
    >>> tokens, labels = t.sample(4, seed=0)
    >>> labels.tolist().count(1), tokens.shape
    (2, (4, 9))

    References
    ----------
    S. Bhattamishra, M. Hahn, P. Blunsom, V. Kanade, Separations in the Representational
    Capabilities of Transformers and Recurrent Architectures, NeurIPS 2024.
    """

    n: int
    depth: int = 2
    types: int = 2
    length: int | None = None
    negatives: str = "uniform"
    tokens: Mapping[str, int] | None = None
    vocab_size: int | None = None  # type: ignore[assignment]

    name = "dyck"

    def problem(self) -> Any:
        """DISJ_n for Dyck-(2,2) (the blocks of theory §5); other depths and types embed none here."""
        if self.depth == 2 and self.types == 2:
            from ccbounds.problems import DISJ

            return DISJ(self.n)
        return super().problem()

    def __post_init__(self) -> None:
        n = check_n(self.n)
        depth = check_n(self.depth, "depth")
        types = check_n(self.types, "types")
        if types > len(BRACKETS):
            raise InvalidInputError(f"dyck: types must be 1..{len(BRACKETS)}, got {types}")
        length = check_n(2 * depth * n if self.length is None else self.length, "length")
        if length % 2:
            raise InvalidInputError(f"dyck: length must be even (odd lengths have no members), got {length}")
        if self.negatives not in NEGATIVES:
            raise InvalidInputError(f"dyck: negatives must be one of {NEGATIVES}, got {self.negatives!r}")
        defaults = {name: 2 * t + j for t in range(types) for j, name in enumerate(BRACKETS[t])}
        defaults["END"] = 2 * types
        layout, vocab = resolve_tokens(defaults, self.tokens, self.vocab_size, self.name)
        for attr, v in (("n", n), ("depth", depth), ("types", types), ("length", length)):
            object.__setattr__(self, attr, v)
        object.__setattr__(self, "tokens", tuple(layout.items()))
        object.__setattr__(self, "vocab_size", vocab)
        object.__setattr__(self, "num_classes", 2)
        object.__setattr__(self, "seq_len", length + 1)

    # --- layout helpers -----------------------------------------------------------------------
    @property
    def bracket_ids(self) -> np.ndarray:
        """Token ids of the brackets in order open_0, close_0, open_1, close_1, ..."""
        return self._ids([b for t in range(self.types) for b in BRACKETS[t]])

    def from_string(self, s: str) -> np.ndarray:
        """The sequence for a bracket string (END appended).

        Examples
        --------
        >>> BoundedDyck(1).from_string("[()]").tolist()
        [2, 0, 1, 3, 4]
        """
        lay = self.layout()
        if len(s) != self.length or any(c not in lay or c == "END" for c in s):
            raise InvalidInputError(
                f"{self}: need {self.length} characters from {list(lay)[:-1]}, got {s!r}"
            )
        return np.array([lay[c] for c in s] + [lay["END"]], dtype=np.int64)

    def to_string(self, tokens: Any) -> str:
        """The bracket string of one sequence (END dropped)."""
        seq = self._validated(tokens)[0]
        names = [b for t in range(self.types) for b in BRACKETS[t]]
        return "".join(names[i] for i in seq)

    def _validated(self, batch: Any) -> np.ndarray:
        """Bracket indices (0..2·types-1) of a batch, after checking every token and END."""
        arr = self._as_batch(batch)
        ids = self.bracket_ids
        self._check_ids(arr, slice(0, self.length), ids, f"a bracket {ids.tolist()}")
        end = self.layout()["END"]
        self._check_ids(arr, self.length, np.array([end]), f"END={end}")
        return self._inverse(ids)[arr[:, : self.length]]

    # --- labels -------------------------------------------------------------------------------
    def label(self, tokens: Any) -> int:
        """1 iff the brackets are in Dyck-(types, depth): a stack machine, token by token."""
        stack: list[int] = []
        for b in self._validated(tokens)[0].tolist():
            kind, closing = divmod(b, 2)
            if not closing:
                if len(stack) == self.depth:
                    return 0
                stack.append(kind)
            elif not stack or stack.pop() != kind:
                return 0
        return int(not stack)

    def labels(self, batch: Any) -> np.ndarray:
        """Vectorised :meth:`label`: the same stack machine run on a (k, depth) stack array."""
        b = self._validated(batch)
        k = len(b)
        rows = np.arange(k)
        stack = np.zeros((k, self.depth + 1), dtype=np.int64)
        height = np.zeros(k, dtype=np.int64)
        ok = np.ones(k, dtype=bool)
        for col in b.T:
            kind, closing = col // 2, col % 2 == 1
            opening = ~closing
            ok &= ~(opening & (height == self.depth))
            top = stack[rows, np.maximum(height - 1, 0)]
            ok &= ~(closing & ((height == 0) | (top != kind)))
            push = ok & opening
            stack[rows[push], height[push]] = kind[push]
            height = height + push - (ok & closing)
        return (ok & (height == 0)).astype(np.int64)

    # --- counting and sampling ----------------------------------------------------------------
    @cached_property
    def _completions(self) -> np.ndarray:
        """Object array T (length+1, depth+3): T[r, d+1] = completions of length r from height d."""
        D = self.depth
        table = np.zeros((self.length + 1, D + 3), dtype=object)
        table[0, 1] = 1
        for r in range(1, self.length + 1):
            for d in range(D + 1):
                table[r, d + 1] = table[r - 1, d] + self.types * table[r - 1, d + 2]
        return table

    def count_members(self) -> int:
        """The number of members of length ``length`` (exact, by the DP of the class Notes)."""
        return int(self._completions[self.length, 1])

    def unrank(self, ranks: Any) -> np.ndarray:
        """The members of the given ranks, in ``range(count_members())``, as bracket sequences.

        The order is lexicographic with closing before opening and lower types first.

        Examples
        --------
        >>> t = BoundedDyck(1, depth=1)
        >>> [t.to_string(t.unrank([r])[0]) for r in range(t.count_members())]
        ['()', '[]']
        """
        T = self._completions
        r = np.array([int(v) for v in np.atleast_1d(np.asarray(ranks, dtype=object))], dtype=object)
        total = self.count_members()
        if len(r) and (min(r) < 0 or max(r) >= total):
            raise InvalidInputError(f"{self}: ranks must be in range({total})")
        k = len(r)
        rows = np.arange(k)
        stack = np.zeros((k, self.depth + 1), dtype=np.int64)
        height = np.zeros(k, dtype=np.int64)
        out = np.zeros((k, self.length), dtype=np.int64)
        for pos in range(self.length):
            rem = self.length - pos - 1
            w_close = T[rem, height]  # completions after a close (height - 1, shifted by one)
            w_open = T[rem, height + 2]  # completions after an open, per type
            close = (r < w_close).astype(bool)
            r = np.where(close, r, r - w_close)
            safe = np.where(close, 1, w_open)
            kind = np.where(close, 0, r // safe).astype(np.int64)
            r = np.where(close, r, r % safe)
            top = stack[rows, np.maximum(height - 1, 0)]
            out[:, pos] = np.where(close, 2 * top + 1, 2 * kind)
            stack[rows[~close], height[~close]] = kind[~close]
            height = height + np.where(close, -1, 1)
        ids = self.bracket_ids
        end = np.full((k, 1), self.layout()["END"], dtype=np.int64)
        return np.concatenate([ids[out], end], axis=1)

    def _uniform_strings(self, k: int, rng: np.random.Generator) -> np.ndarray:
        b = rng.integers(0, 2 * self.types, size=(k, self.length))
        end = np.full((k, 1), self.layout()["END"], dtype=np.int64)
        return np.concatenate([self.bracket_ids[b], end], axis=1)

    def _sample_given(self, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        k = len(labels)
        out = np.zeros((k, self.seq_len), dtype=np.int64)
        pos = np.flatnonzero(labels == 1)
        neg = np.flatnonzero(labels == 0)
        total = self.count_members()
        out[pos] = self.unrank([_randbelow(rng, total) for _ in pos])
        if self.negatives == "uniform":
            out[neg] = self._uniform_strings(len(neg), rng)
            redo = neg[self.labels(out[neg]) == 1]
            while len(redo):  # rejection: uniform over non-members
                out[redo] = self._uniform_strings(len(redo), rng)
                redo = redo[self.labels(out[redo]) == 1]
        else:
            base = self.unrank([_randbelow(rng, total) for _ in neg])
            where = rng.integers(0, self.length, size=len(neg))
            old = self._inverse(self.bracket_ids)[base[np.arange(len(neg)), where]]
            shift = rng.integers(1, 2 * self.types, size=len(neg))  # a different bracket
            base[np.arange(len(neg)), where] = self.bracket_ids[(old + shift) % (2 * self.types)]
            out[neg] = base
        return out

    def _sample_unconditional(self, k: int, rng: np.random.Generator) -> np.ndarray:
        return self._uniform_strings(k, rng)

    def _space_size(self) -> int:
        return (2 * self.types) ** self.length

    def _enumerate(self) -> np.ndarray:
        b = np.array(list(itertools.product(range(2 * self.types), repeat=self.length)), dtype=np.int64)
        end = np.full((len(b), 1), self.layout()["END"], dtype=np.int64)
        return np.concatenate([self.bracket_ids[b], end], axis=1)
