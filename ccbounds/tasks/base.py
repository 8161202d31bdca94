"""The :class:`Task` interface: a sequence task a model is trained on, with its token layout.

A task (DESIGN step 2) fixes a token layout, a sequence length and a label function computed
*directly from the task's definition* (a stack machine for Dyck, parse-and-compare for EQ, ...),
independently of any gadget; gadgets (``reductions.gadgets``) are checked against it (theory §5).

Balanced sampling (``sample(k, seed, balanced=True)``) is *stratified*: the k labels are a uniformly
random permutation of a multiset that holds every class ``k // C`` times plus ``k % C`` further
classes drawn uniformly without replacement (C = ``num_classes``); given its label, each sequence
is drawn from the task's conditional distribution for that label (uniform over the sequences with
that label unless the task's docstring says otherwise), independently. So every label is marginally
uniform and the class counts are exact.

Examples
--------
>>> stratified_labels(5, 2, np.random.default_rng(0)).tolist().count(0) in (2, 3)
True
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from ccbounds.errors import InvalidInputError, TooLargeError

__all__ = [
    "Task",
    "TASKS",
    "MAX_ALL_SEQUENCES",
    "MAX_TASK_N",
    "stratified_labels",
    "check_n",
    "resolve_tokens",
    "check_seed_k",
]

#: ``Task.all_sequences()`` refuses (TooLargeError) to enumerate more sequences than this
MAX_ALL_SEQUENCES = 2**20

#: the largest n (and depth, types, length, ...) a token task accepts: its vocabulary and sequences grow with it
MAX_TASK_N = 2**16

#: registry name -> task class; every Task subclass that sets its own ``name`` is registered on definition
TASKS: dict[str, type[Task]] = {}


def check_n(n: Any, what: str = "n") -> int:
    """Validate a positive integer length parameter and return it as ``int``.

    Parameters
    ----------
    n : int
        The value to check.
    what : str
        Its name, for the error message.

    Returns
    -------
    int

    Raises
    ------
    InvalidInputError
        If ``n`` is not an integer >= 1.

    Examples
    --------
    >>> check_n(3)
    3
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InvalidInputError(f"{what} must be a positive integer, got {n!r}; pass {what}=1 or more")
    if n > MAX_TASK_N:
        raise TooLargeError(f"{what} = {n} is over the limit MAX_TASK_N = {MAX_TASK_N} of a token task (its "
                            f"vocabulary and sequences grow with {what}); pass {what} <= {MAX_TASK_N}")
    return int(n)


def check_seed_k(k: Any, seed: Any) -> tuple[int, int]:
    """Validate a sample size ``k >= 0`` and an explicit integer ``seed``.

    Examples
    --------
    >>> check_seed_k(4, 0)
    (4, 0)
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        raise InvalidInputError(f"sample size k must be an integer >= 0, got {k!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidInputError(
            f"seed must be a non-negative integer (randomness is explicit), got {seed!r}; pass seed=0"
        )
    return int(k), int(seed)


def resolve_tokens(
    defaults: Mapping[str, int], overrides: Mapping[str, int] | None, vocab_size: int | None, task: str
) -> tuple[dict[str, int], int]:
    """Merge token-id overrides into a default layout and validate the result.

    Parameters
    ----------
    defaults : mapping
        Token name -> default id (theory §5 default layouts).
    overrides : mapping or None
        Token name -> id for a model trained with another layout; names must be in ``defaults``.
    vocab_size : int or None
        The vocabulary size; ``None`` means ``max(id) + 1``.
    task : str
        The task's name, for messages.

    Returns
    -------
    (dict, int)
        The layout and the vocabulary size.

    Raises
    ------
    InvalidInputError
        Unknown names, negative or repeated ids, or an id ``>= vocab_size``.

    Examples
    --------
    >>> resolve_tokens({"SEP": 2, "END": 3}, {"END": 7}, None, "eq")
    ({'SEP': 2, 'END': 7}, 8)
    """
    layout = dict(defaults)
    if overrides is not None and not isinstance(overrides, Mapping):
        raise InvalidInputError(f"{task}: tokens must map token names to ids, e.g. {{{next(iter(layout))!r}: 5}}, "
                                f"got {overrides!r}")
    for name, tok in dict(overrides or {}).items():
        if name not in layout:
            raise InvalidInputError(
                f"{task}: unknown token name {name!r}; valid names are {sorted(layout)}"
            )
        if isinstance(tok, bool) or not isinstance(tok, (int, np.integer)) or not 0 <= tok < 2**31:
            raise InvalidInputError(f"{task}: token id for {name!r} must be an integer >= 0 (and < 2^31), got {tok!r}")
        layout[name] = int(tok)
    ids = list(layout.values())
    if len(set(ids)) != len(ids):
        dup = sorted({t for t in ids if ids.count(t) > 1})
        raise InvalidInputError(f"{task}: token ids must be distinct, ids {dup} are repeated; pick other ids")
    need = max(ids) + 1
    if vocab_size is None:
        vocab_size = need
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer)) or vocab_size < need:
        raise InvalidInputError(
            f"{task}: vocab_size must be an integer > every token id (>= {need}), got {vocab_size!r}"
        )
    return layout, int(vocab_size)


def stratified_labels(k: int, num_classes: int, rng: np.random.Generator) -> np.ndarray:
    """The labels of a balanced sample: exact class counts, uniformly random order.

    Every class appears ``k // C`` times; ``k % C`` further classes, drawn uniformly without
    replacement, appear once more; the result is a uniformly random permutation. Each entry is
    marginally uniform on ``range(C)``.

    Parameters
    ----------
    k : int
        Sample size.
    num_classes : int
        C.
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray
        int64, shape (k,).

    Examples
    --------
    >>> np.bincount(stratified_labels(6, 3, np.random.default_rng(1))).tolist()
    [2, 2, 2]
    """
    base = np.repeat(np.arange(num_classes, dtype=np.int64), k // num_classes)
    extra = rng.choice(num_classes, size=k % num_classes, replace=False).astype(np.int64)
    labels = np.concatenate([base, extra])
    return labels[rng.permutation(k)]


class Task(ABC):
    """A sequence task: token layout, sequence length, labels computed from the definition, sampler.

    Subclasses are frozen dataclasses and set the class attribute ``name`` (the registry name of
    :func:`ccbounds.tasks.get_task`; defining the class registers it in :data:`TASKS`) and, when the task
    embeds a communication problem, :meth:`problem`. Sequences are numpy ``int64`` arrays of shape ``(seq_len,)``
    (a batch: ``(k, seq_len)``); the answer is read at the last position (theory §5).

    Attributes
    ----------
    name : str
        Registry name (``"eq"``, ``"dyck"``, ...).
    n : int
        Size parameter (the communication problem's n in the gadgets of theory §5).
    vocab_size : int
        Token ids are in ``range(vocab_size)``.
    num_classes : int
        Labels are in ``range(num_classes)``.
    seq_len : int
        Length of every sequence.
    """

    name: ClassVar[str] = "task"
    #: False for tasks whose inputs are real vectors, not token ids (the reference models read token ids)
    token_inputs: ClassVar[bool] = True
    n: int

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if "name" in cls.__dict__:
            TASKS[cls.name] = cls

    def problem(self) -> Any:
        """The communication problem this task embeds with its default gadget (theory §5).

        Raises
        ------
        InvalidInputError
            The task (with these settings) embeds no problem an audit covers.
        """
        covered = sorted(name for name, cls in TASKS.items() if cls.problem is not Task.problem)
        raise InvalidInputError(
            f"no communication problem is embedded in the task {self.name!r} with these settings; audits cover "
            f"{', '.join(covered)} (dyck: depth 2, 2 bracket types)")

    # --- what subclasses define (frozen dataclass fields ``vocab_size``, ``tokens``; ``num_classes``
    # and ``seq_len`` are set in ``__post_init__``) ---------------------------------------------
    vocab_size: int
    num_classes: int
    seq_len: int

    @abstractmethod
    def label(self, tokens: Any) -> int:
        """The answer for one sequence, computed directly from the task's definition."""

    def _params(self) -> dict[str, Any]:
        """Constructor keyword arguments that rebuild this task (besides ``n``), as plain data."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if f.init and f.name != "n":
                v = getattr(self, f.name)
                out[f.name] = dict(v) if f.name == "tokens" else v
        return out

    def layout(self) -> dict[str, int]:
        """Token name -> token id (theory §5 default layouts unless overridden)."""
        return dict(self.tokens)  # type: ignore[attr-defined]

    def _ids(self, names: list[str]) -> np.ndarray:
        """The token ids of ``names``, as an int64 array."""
        lay = self.layout()
        return np.array([lay[k] for k in names], dtype=np.int64)

    def _inverse(self, ids: np.ndarray) -> np.ndarray:
        """A lookup table ``t`` with ``t[ids[j]] = j`` and -1 elsewhere (size ``vocab_size``)."""
        table = np.full(self.vocab_size, -1, dtype=np.int64)
        table[ids] = np.arange(len(ids))
        return table

    @abstractmethod
    def _sample_given(self, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One sequence per entry of ``labels``, drawn from the conditional law given that label."""

    @abstractmethod
    def _sample_unconditional(self, k: int, rng: np.random.Generator) -> np.ndarray:
        """k sequences from the task's unbalanced (natural) distribution."""

    @abstractmethod
    def _enumerate(self) -> np.ndarray:
        """Every sequence of the task's input space, in the documented order."""

    @abstractmethod
    def _space_size(self) -> int:
        """How many sequences ``_enumerate`` would return."""

    # --- shared behaviour ---------------------------------------------------------------------
    def labels(self, batch: Any) -> np.ndarray:
        """The answers of a batch of sequences (vectorised where the subclass can).

        Parameters
        ----------
        batch : array_like
            Shape ``(k, seq_len)`` (or ``(seq_len,)`` for one sequence).

        Returns
        -------
        numpy.ndarray
            int64, shape ``(k,)``.
        """
        arr = self._as_batch(batch)
        return np.array([self.label(row) for row in arr], dtype=np.int64)

    def sample(self, k: int, seed: int, balanced: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Draw k labelled sequences with an explicit seed (same seed -> identical arrays).

        Parameters
        ----------
        k : int
            Number of sequences.
        seed : int
            Seed of ``numpy.random.default_rng``.
        balanced : bool
            ``True``: stratified labels (see the module docstring) and, given the label, the task's
            conditional distribution. ``False``: the task's natural distribution (see the subclass).

        Returns
        -------
        (numpy.ndarray, numpy.ndarray)
            tokens ``(k, seq_len)`` int64 (for nearest neighbour: float64 rows ``(k, n+1, dim+2)``)
            and labels ``(k,)`` int64, computed by :meth:`labels`, so they are always the true answers.

        Raises
        ------
        InvalidInputError
            A negative k or a missing / non-integer seed.

        Examples
        --------
        >>> from ccbounds.tasks import Disjointness
        >>> tokens, labels = Disjointness(4).sample(10, seed=0)
        >>> tokens.shape, tokens.dtype.name, int(labels.sum())
        ((10, 10), 'int64', 5)
        """
        k, seed = check_seed_k(k, seed)
        rng = np.random.default_rng(seed)
        if balanced:
            tokens = self._sample_given(stratified_labels(k, self.num_classes, rng), rng)
        else:
            tokens = self._sample_unconditional(k, rng)
        return tokens, self.labels(tokens)

    def all_sequences(self) -> tuple[np.ndarray, np.ndarray]:
        """Every sequence of the task's input space and its label, for tiny n.

        Returns
        -------
        (numpy.ndarray, numpy.ndarray)
            tokens ``(N, seq_len)`` and labels ``(N,)``.

        Raises
        ------
        TooLargeError
            If N exceeds :data:`MAX_ALL_SEQUENCES`; use :meth:`sample` instead.
        """
        from ccbounds.errors import TooLargeError

        size = self._space_size()
        if size > MAX_ALL_SEQUENCES:
            raise TooLargeError(
                f"{self}: all_sequences would list {size} sequences, more than the limit "
                f"{MAX_ALL_SEQUENCES}; use a smaller n or task.sample(k, seed)"
            )
        tokens = self._enumerate()
        return tokens, self.labels(tokens)

    def to_dict(self) -> dict[str, Any]:
        """Plain data that rebuilds the task with :func:`ccbounds.tasks.task_from_dict`."""
        return {"task": self.name, "n": self.n, **self._params()}

    def _as_batch(self, batch: Any) -> np.ndarray:
        arr = np.asarray(batch)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != self.seq_len:
            raise InvalidInputError(
                f"{self}: expected sequences of length {self.seq_len} (shape (k, {self.seq_len})), "
                f"got shape {np.shape(batch)}"
            )
        if not np.issubdtype(arr.dtype, np.integer):
            raise InvalidInputError(f"{self}: token arrays must be integer, got dtype {arr.dtype}")
        return arr.astype(np.int64, copy=False)

    def _check_ids(self, arr: np.ndarray, pos: slice | int, allowed: np.ndarray, what: str) -> None:
        """Raise if some token at ``pos`` of a batch is not one of ``allowed``."""
        block = arr[:, pos]
        bad = ~np.isin(block, allowed)
        if bad.any():
            row, col = np.argwhere(bad.reshape(arr.shape[0], -1))[0]
            start = (pos.start or 0) if isinstance(pos, slice) else pos
            raise InvalidInputError(
                f"{self}: sequence {row} holds token {int(block.reshape(arr.shape[0], -1)[row, col])} "
                f"at position {start + col}, expected {what}; build sequences with task.sample or a gadget"
            )

    def __str__(self) -> str:
        extra = ", ".join(
            f"{k}={v}" for k, v in self._params().items() if k not in ("tokens", "vocab_size") and v is not None
        )
        return f"{self.name}(n={self.n}{', ' + extra if extra else ''})"
