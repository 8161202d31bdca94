"""The protocol interface every protocol in ccbounds implements, and its transcripts.

theory §1: Alice holds x, Bob holds y; a protocol is a rule for who speaks and what they send.
Costs count bits sent. Inputs are whatever the problem enumerates (tuples of bits, ints, ...).

Examples
--------
>>> t = Transcript((Message("Alice", "101"), Message("Bob", "1")), output=1)
>>> t.cost, t.senders
(4, ('Alice', 'Alice', 'Alice', 'Bob'))
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from ccbounds.errors import InvalidInputError

__all__ = ["Message", "Transcript", "Protocol", "ALICE", "BOB"]

ALICE = "Alice"
BOB = "Bob"


@dataclass(frozen=True)
class Message:
    """One message: who sent it and its exact bits as a '0'/'1' string."""

    sender: str
    bits: str

    def __post_init__(self) -> None:
        if self.sender not in (ALICE, BOB):
            raise InvalidInputError(f"a message is sent by {ALICE!r} or {BOB!r}, not {self.sender!r}")
        if any(c not in "01" for c in self.bits):
            raise InvalidInputError(f"message bits must be a '0'/'1' string, got {self.bits!r}")


@dataclass(frozen=True)
class Transcript:
    """What a run of a protocol sent, and its output.

    ``coins`` records public randomness (or the seeds of private coins) so the run can be replayed.
    """

    messages: tuple[Message, ...]
    output: Any
    coins: Any = None

    @property
    def cost(self) -> int:
        """Total bits sent, by both players."""
        return sum(len(m.bits) for m in self.messages)

    @property
    def bits(self) -> str:
        """All bits sent, in order."""
        return "".join(m.bits for m in self.messages)

    @property
    def senders(self) -> tuple[str, ...]:
        """The sender of every bit, in order."""
        return tuple(m.sender for m in self.messages for _ in m.bits)

    def __str__(self) -> str:
        parts = [f"{m.sender[0]}:{m.bits or '-'}" for m in self.messages]
        return f"{' '.join(parts) or '(silent)'} -> {self.output}  ({self.cost} bits)"


class Protocol(ABC):
    """A two-party protocol. Subclasses define :meth:`run` and :attr:`cost`.

    ``kind`` is one of ``"deterministic"``, ``"one-way"``, ``"public-coin"``, ``"private-coin"``.
    ``cost`` is the worst-case number of bits over all inputs (and coins).
    """

    kind: str = "deterministic"
    name: str = "protocol"

    @abstractmethod
    def run(self, x: Any, y: Any, *, seed: int | None = None) -> Transcript:
        """Run on inputs (x, y); randomized protocols need ``seed`` for reproducibility."""

    @property
    @abstractmethod
    def cost(self) -> int:
        """Worst-case bits sent."""

    def output(self, x: Any, y: Any, *, seed: int | None = None) -> Any:
        """The protocol's answer on (x, y)."""
        return self.run(x, y, seed=seed).output

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}: {self.kind}, {self.cost} bits>"
