"""Exceptions a user can cause.

Every error that bad input can trigger is a :class:`CCBoundsError`; its message is one line that says
what went wrong *and what to do about it*. The CLI prints that line (no traceback) and exits 1.

Examples
--------
>>> from ccbounds.errors import InvalidInputError
>>> try:
...     raise InvalidInputError("n must be a positive integer, got 0; pass --n 1 or more")
... except CCBoundsError as e:
...     print(e)
n must be a positive integer, got 0; pass --n 1 or more
"""

from __future__ import annotations

__all__ = [
    "CCBoundsError",
    "InvalidInputError",
    "TooLargeError",
    "UnknownNameError",
    "SolverLimitError",
    "MemoryBudgetError",
    "ReductionNotApplicable",
    "CheckpointError",
    "UnsupportedArchitecture",
    "TWO_LAYER_REASON",
]

#: why no bound of theory §4 applies to two or more attention layers (theory §4.2, "Why two layers escape")
TWO_LAYER_REASON = ("Lemma T covers one attention layer; a model with two or more has one-way protocols too, but "
                    "long ones (Alice's message grows with the number of Bob's positions), so no size bound of "
                    "theory §4 applies; the 2-layer construction of [BHBK] (theory §7.4) solves EQ/DISJ in width "
                    "O(log n)")


class CCBoundsError(Exception):
    """Base class of every error a user can cause; the message says what to do."""

    exit_code = 1


class InvalidInputError(CCBoundsError, ValueError):
    """Malformed input: a non-0/1 or empty matrix, n <= 0, an input outside a problem's domain."""


class TooLargeError(CCBoundsError, ValueError):
    """The request would enumerate or allocate more than the documented limit (the message names it)."""


class UnknownNameError(CCBoundsError, LookupError):
    """An unknown problem, task, architecture, solver or example name; the message lists the valid ones."""

    def __str__(self) -> str:  # LookupError subclasses would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class SolverLimitError(CCBoundsError):
    """An exact computation ran past its size or time budget before it could prove its answer."""


class MemoryBudgetError(SolverLimitError):
    """An exact search or certificate check would allocate more than its memory budget
    (:data:`ccbounds.bounds._matrix.MEMORY_BUDGET`); it refuses before allocating."""


class ReductionNotApplicable(CCBoundsError):
    """No reduction of theory §4 applies to the model (two attention layers, bidirectional RNN, ...).

    >>> print(ReductionNotApplicable.attention_layers("M has 2 attention layers"))  # doctest: +ELLIPSIS
    M has 2 attention layers: Lemma T covers one attention layer; a model with two or more has one-way ...
    """

    @classmethod
    def attention_layers(cls, subject: str) -> ReductionNotApplicable:
        """The refusal of a model with two or more attention layers: ``subject``, then :data:`TWO_LAYER_REASON`
        and what to do."""
        return cls(f"{subject}: {TWO_LAYER_REASON}. No bound is reported for it; a one-layer Transformer or a "
                   "recurrent model can be audited")


class CheckpointError(CCBoundsError):
    """A checkpoint is truncated, corrupted, malicious, mis-shaped or inconsistent with its spec."""


class UnsupportedArchitecture(ReductionNotApplicable):
    """No adapter knows this model's module layout; the message lists the supported ones.

    A kind of :class:`ReductionNotApplicable`: every refusal to reduce a model can be caught as one.
    """
