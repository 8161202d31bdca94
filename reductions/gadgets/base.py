"""Gadgets: a communication problem inside a sequence task, with the owner of every position.

A :class:`Gadget` maps inputs (x, y) of a :class:`ccbounds.problems.Problem` to a sequence of a
:class:`ccbounds.tasks.Task` so that ``f(x, y) = answer_map(task.label(encode(x, y)))`` and every
position is fixed by x alone (Alice's), by y alone (Bob's) or by neither (public) — theory §5, the
property Lemmas R and T of theory §4 rely on. A :class:`ProblemMap` is the same idea between two
problems (INDEX_n -> DISJ_n). Both are checked, by brute force or on samples, by
:func:`reductions.gadgets.check_gadget`.

Each gadget carries two independent implementations: ``encode`` writes the whole sequence from
the theory §5 formula, while ``encode_alice`` / ``encode_bob`` produce only one party's tokens; the
checker verifies that assembling the halves reproduces ``encode``.

Examples
--------
>>> from reductions.gadgets import get_gadget
>>> from ccbounds.problems import DISJ
>>> g = get_gadget(DISJ(2), "dyck")
>>> g.task.to_string(g.encode((0, 1), (1, 1)))
'()()[)(]'
>>> g.alice_positions, g.is_prefix_cut
((0, 3, 4, 7), False)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ccbounds.errors import InvalidInputError

__all__ = ["Gadget", "ProblemMap", "compose", "OWNERS"]

#: the owners a position may have
OWNERS = ("Alice", "Bob", "public")


def _identity(a: int) -> int:
    return a


def _encode_all(encode: Callable[[Any], np.ndarray], items: list, width: int) -> np.ndarray:
    """``encode`` of every item stacked ``(len(items), width, ...)``, each distinct (hashable) item once."""
    cache: dict[Any, np.ndarray] = {}
    rows = []
    for item in items:
        try:
            row = cache.get(item)
            if row is None:
                row = cache[item] = np.asarray(encode(item))
        except TypeError:  # an unhashable input: no cache
            row = np.asarray(encode(item))
        rows.append(row)
    return np.stack(rows) if rows else np.zeros((0, width), dtype=np.int64)


@dataclass(frozen=True, eq=False)
class Gadget:
    """A problem-to-task gadget with the owner of every position (theory §5).

    Parameters
    ----------
    name : str
        E.g. ``"DISJ_3->dyck"``.
    problem : Problem
        The communication problem.
    task : Task
        The sequence task.
    owners : tuple of str
        ``"Alice"``, ``"Bob"`` or ``"public"`` for each position (length ``task.seq_len``).
    encode_fn : callable
        ``(x, y) -> sequence`` on canonical inputs: the whole sequence, from the theory's formula.
    alice_fn : callable
        ``x -> tokens`` at :attr:`alice_positions` (in increasing position order).
    bob_fn : callable
        ``y -> tokens`` at :attr:`bob_positions`.
    public_tokens : numpy.ndarray
        The tokens at :attr:`public_positions`.
    answer_fn : callable, optional
        Task answer -> problem answer (default: identity).
    description, source : str
        What it does, and where it is stated (theory section, paper).
    final_token_values : tuple of int
        Every token id the last (output) position can hold, when the gadget states them (Q of
        Lemma T, theory §4); empty if not stated. :func:`check_gadget` verifies it.

    Examples
    --------
    >>> from reductions.gadgets import get_gadget
    >>> from ccbounds.problems import INDEX
    >>> g = get_gadget(INDEX(3))
    >>> g.encode((1, 0, 1), 2).tolist(), g.owners
    ([1, 0, 1, 4], ('Alice', 'Alice', 'Alice', 'Bob'))
    >>> g.encode_bob(2)
    ((3,), array([4]))
    """

    name: str
    problem: Any
    task: Any
    owners: tuple[str, ...]
    encode_fn: Callable[[Any, Any], np.ndarray]
    alice_fn: Callable[[Any], np.ndarray]
    bob_fn: Callable[[Any], np.ndarray]
    public_tokens: np.ndarray
    answer_fn: Callable[[int], int] = _identity
    description: str = ""
    source: str = ""
    final_token_values: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "final_token_values", tuple(int(v) for v in self.final_token_values))
        owners = tuple(self.owners)
        bad = sorted({o for o in owners if o not in OWNERS})
        if bad:
            raise InvalidInputError(f"gadget {self.name}: owners must be in {OWNERS}, got {bad}")
        if len(owners) != self.task.seq_len:
            raise InvalidInputError(
                f"gadget {self.name}: {len(owners)} owners for a task of length {self.task.seq_len}"
            )
        object.__setattr__(self, "owners", owners)
        public = np.asarray(self.public_tokens)
        if len(public) != len(self.public_positions):
            raise InvalidInputError(
                f"gadget {self.name}: {len(public)} public tokens for {len(self.public_positions)} public positions"
            )
        object.__setattr__(self, "public_tokens", public)

    # --- positions ----------------------------------------------------------------------------
    def _positions(self, who: str) -> tuple[int, ...]:
        return tuple(p for p, o in enumerate(self.owners) if o == who)

    @property
    def alice_positions(self) -> tuple[int, ...]:
        """Positions fixed by x alone."""
        return self._positions("Alice")

    @property
    def bob_positions(self) -> tuple[int, ...]:
        """Positions fixed by y alone."""
        return self._positions("Bob")

    @property
    def public_positions(self) -> tuple[int, ...]:
        """Positions fixed by neither input."""
        return self._positions("public")

    @property
    def is_prefix_cut(self) -> bool:
        """True iff every Alice position precedes every Bob and public position (Lemma R needs it)."""
        rest = self.bob_positions + self.public_positions
        return not self.alice_positions or not rest or max(self.alice_positions) < min(rest)

    # --- encoding -----------------------------------------------------------------------------
    def encode(self, x: Any, y: Any) -> np.ndarray:
        """The task sequence of (x, y): int64 tokens (float rows for nearest neighbour)."""
        return self.encode_fn(self.problem.check_x(x), self.problem.check_y(y))

    def encode_alice(self, x: Any) -> tuple[tuple[int, ...], np.ndarray]:
        """(Alice's positions, her tokens there), computed from x alone."""
        return self.alice_positions, np.asarray(self.alice_fn(self.problem.check_x(x)))

    def encode_bob(self, y: Any) -> tuple[tuple[int, ...], np.ndarray]:
        """(Bob's positions, his tokens there), computed from y alone."""
        return self.bob_positions, np.asarray(self.bob_fn(self.problem.check_y(y)))

    def encode_public(self) -> tuple[tuple[int, ...], np.ndarray]:
        """(public positions, their tokens)."""
        return self.public_positions, self.public_tokens

    def assemble(self, alice_tokens: Any, bob_tokens: Any) -> np.ndarray:
        """The sequence built from the two parties' tokens and the public ones (one row of :meth:`assemble_batch`).

        Raises
        ------
        InvalidInputError
            If a part has the wrong number of positions.
        """
        return self.assemble_batch(np.asarray(alice_tokens)[None], np.asarray(bob_tokens)[None])[0]

    def assemble_batch(self, alice_tokens: Any, bob_tokens: Any) -> np.ndarray:
        """Sequences ``(B, T, ...)`` from Alice's tokens ``(B, |A|, ...)``, Bob's ``(B, |B|, ...)`` and the public ones.

        Raises
        ------
        InvalidInputError
            If a part has the wrong number of positions or the batches differ in size.
        """
        parts = ((self.alice_positions, np.asarray(alice_tokens)), (self.bob_positions, np.asarray(bob_tokens)),
                 (self.public_positions, np.asarray(self.public_tokens)[None]))
        for (pos, arr), who in zip(parts, ("Alice", "Bob", "public")):
            if arr.ndim < 2 or arr.shape[1] != len(pos):
                got = arr.shape[1] if arr.ndim >= 2 else 0
                raise InvalidInputError(
                    f"gadget {self.name}: {who} has {len(pos)} positions but {got} tokens were given"
                )
        B = parts[0][1].shape[0]
        if parts[1][1].shape[0] != B:
            raise InvalidInputError(f"gadget {self.name}: {B} rows of Alice's tokens but {parts[1][1].shape[0]} "
                                    "of Bob's")
        sized = [arr for _, arr in parts if arr.size]
        tail = sized[0].shape[2:] if sized else ()
        out = np.zeros((B, len(self.owners)) + tail, dtype=np.result_type(*(arr for _, arr in parts)))
        for pos, arr in parts:
            if len(pos):
                out[:, list(pos)] = arr
        return out

    def sequences(self, xs: Any, ys: Any, *, grid: bool = False) -> np.ndarray:
        """The full sequences of a batch, built from the parties' halves: the one batch encoder.

        ``grid=False``: one sequence per pair ``(xs[k], ys[k])``; ``grid=True``: one per pair of
        ``xs`` x ``ys``, x-major (``len(xs) * len(ys)`` rows). Each distinct input is encoded once. The
        first row is compared with :meth:`encode` (the independent formula).

        Raises
        ------
        InvalidInputError
            ``grid=False`` with lists of different lengths, or halves that do not assemble to ``encode``
            (run :func:`reductions.gadgets.check_gadget` on the gadget).

        Examples
        --------
        >>> from reductions.gadgets import get_gadget
        >>> from ccbounds.problems import INDEX
        >>> get_gadget(INDEX(2)).sequences([(1, 0), (0, 1)], [0, 1], grid=True).tolist()
        [[1, 0, 2], [1, 0, 3], [0, 1, 2], [0, 1, 3]]
        """
        xs, ys = list(xs), list(ys)
        if not grid and len(xs) != len(ys):
            raise InvalidInputError(f"gadget {self.name}: {len(xs)} Alice inputs but {len(ys)} Bob inputs; "
                                    "pass one y per x, or grid=True for every pair")
        alice = _encode_all(lambda x: self.encode_alice(x)[1], xs, len(self.alice_positions))  # (A, |A|, ...)
        bob = _encode_all(lambda y: self.encode_bob(y)[1], ys, len(self.bob_positions))  # (Y, |B|, ...)
        if grid:
            alice = np.repeat(alice, len(ys), axis=0)
            bob = np.tile(bob, (len(xs),) + (1,) * (bob.ndim - 1))
        seq = self.assemble_batch(alice, bob)
        if len(seq) and not np.array_equal(seq[0], self.encode(xs[0], ys[0])):
            raise InvalidInputError(f"gadget {self.name}: assembling Alice's and Bob's halves does not give "
                                    "encode(x, y); run reductions.gadgets.check_gadget on it")
        return seq

    def answer_map(self, task_answer: int) -> int:
        """The problem's answer from the task's answer (identity unless the gadget complements)."""
        return int(self.answer_fn(int(task_answer)))

    def answer(self, x: Any, y: Any) -> int:
        """``answer_map(task.label(encode(x, y)))``: what the gadget claims f(x, y) is."""
        return self.answer_map(self.task.label(self.encode(x, y)))

    def to_dict(self) -> dict[str, Any]:
        """Plain data: names, task, owners and source."""
        return {
            "name": self.name,
            "problem": self.problem.name,
            "task": self.task.to_dict(),
            "owners": list(self.owners),
            "is_prefix_cut": self.is_prefix_cut,
            "final_token_values": list(self.final_token_values),
            "description": self.description,
            "source": self.source,
        }

    def __str__(self) -> str:
        code = "".join({"Alice": "A", "Bob": "B", "public": "."}[o] for o in self.owners)
        if len(code) > 40:
            code = code[:37] + "..."
        return f"{self.name}: {self.description} [owners {code}; {self.source}]"


@dataclass(frozen=True, eq=False)
class ProblemMap:
    """A one-way embedding of one problem in another: ``f(x, y) = out(g(map_x(x), map_y(y)))``.

    Alice applies ``map_x`` to her input and Bob ``map_y`` to his, each alone, so a protocol for
    the target problem gives one for the source problem at the same cost.

    Parameters
    ----------
    name : str
    source, target : Problem
    map_x, map_y : callable
        Alice's and Bob's input maps (on canonical inputs).
    output_map : callable
        The target's answer -> the source's answer.
    description, ref : str

    Examples
    --------
    >>> from reductions.gadgets import index_to_disj
    >>> m = index_to_disj(3)
    >>> m.map_y(1), m.apply((1, 1, 0), 1)
    ((0, 1, 0), 1)
    """

    name: str
    source: Any
    target: Any
    map_x: Callable[[Any], Any]
    map_y: Callable[[Any], Any]
    output_map: Callable[[int], int] = _identity
    description: str = ""
    ref: str = ""

    def apply(self, x: Any, y: Any) -> int:
        """``output_map(target.f(map_x(x), map_y(y)))``: the source's answer through the target."""
        x, y = self.source.check_x(x), self.source.check_y(y)
        return int(self.output_map(self.target.f(self.map_x(x), self.map_y(y))))

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {"name": self.name, "source": self.source.name, "target": self.target.name,
                "description": self.description, "source_ref": self.ref}

    def __str__(self) -> str:
        return f"{self.name}: {self.description} [{self.ref}]"


def compose(m: ProblemMap, g: Gadget) -> Gadget:
    """The gadget for ``m.source``: apply the problem map, then the gadget of ``m.target``.

    Owners are unchanged (Alice's map uses x alone, Bob's y alone); the answer map is
    ``m.output_map`` after ``g.answer_map``.

    Raises
    ------
    InvalidInputError
        If the gadget is not for ``m.target``.

    Examples
    --------
    >>> from reductions.gadgets import get_gadget, index_to_disj
    >>> from ccbounds.problems import DISJ
    >>> g = compose(index_to_disj(2), get_gadget(DISJ(2)))
    >>> g.encode((1, 0), 0).tolist(), g.answer((1, 0), 0)
    ([1, 0, 2, 1, 0, 3], 1)
    """
    if g.problem.name != m.target.name:
        raise InvalidInputError(f"cannot compose {m.name} (target {m.target.name}) with a gadget for {g.problem.name}")
    return Gadget(
        name=f"{m.source.name}->{g.name.split('->', 1)[1]} (via {m.target.name})",
        problem=m.source,
        task=g.task,
        owners=g.owners,
        encode_fn=lambda x, y: g.encode_fn(m.map_x(x), m.map_y(y)),
        alice_fn=lambda x: g.alice_fn(m.map_x(x)),
        bob_fn=lambda y: g.bob_fn(m.map_y(y)),
        public_tokens=g.public_tokens,
        answer_fn=lambda a: m.output_map(g.answer_fn(a)),
        description=f"{m.description}, then {g.description}",
        source=f"{m.ref}; {g.source}",
        final_token_values=g.final_token_values,
    )
