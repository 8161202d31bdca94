"""One-way protocols: one player sends one message, the other answers (theory §1, §4).

The sender computes a message from its own input; :meth:`OneWayProtocol.encode` writes it as a
'0'/'1' string of at most ``message_bits`` bits; the receiver answers from the message and its own
input. This is the protocol form of Lemma R and Lemma T (theory §4): the induced protocols of neural
models subclass :class:`OneWayProtocol` and override :meth:`~OneWayProtocol.alice`,
:meth:`~OneWayProtocol.bob` and :meth:`~OneWayProtocol.encode`.

Examples
--------
Alice sends her 2-bit string, Bob answers EQ:

>>> p = OneWayProtocol(lambda x: "".join(map(str, x)), lambda m, y: int(m == "".join(map(str, y))), 2,
...                    name="send x")
>>> str(p.run((1, 0), (1, 0)))
'A:10 -> 1  (2 bits)'
>>> p.cost, p.kind
(2, 'one-way')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ccbounds.errors import InvalidInputError
from ccbounds.protocols.base import ALICE, BOB, Message, Protocol, Transcript

__all__ = ["OneWayProtocol", "DIRECTIONS_1WAY", "int_to_bits"]

#: the two directions a one-way protocol can have
DIRECTIONS_1WAY = ("A->B", "B->A")


def int_to_bits(value: int, width: int) -> str:
    """``value`` as a big-endian '0'/'1' string of exactly ``width`` bits.

    Examples
    --------
    >>> int_to_bits(5, 4), int_to_bits(0, 0)
    ('0101', '')
    """
    if value < 0 or value >= 2**width:
        raise InvalidInputError(f"{value} does not fit in {width} bits")
    return format(value, f"0{width}b") if width else ""


class OneWayProtocol(Protocol):
    """A deterministic one-way protocol with an exact message length.

    Parameters
    ----------
    alice, bob : callable, optional
        For ``direction="A->B"``: ``alice(x) -> message`` and ``bob(message, y) -> answer``.
        For ``direction="B->A"``: ``bob(y) -> message`` and ``alice(message, x) -> answer``.
        Subclasses may instead override the methods :meth:`alice` and :meth:`bob`.
    message_bits : int
        The most bits a message may take after :meth:`encode`; the cost of the protocol.
    name : str
        A readable name.
    direction : {"A->B", "B->A"}
        Who sends.
    announce_output : bool
        If True the receiver also sends its answer, in ``ceil(log2 len(outputs))`` bits, so the run is
        a two-way protocol for the model ``D`` (theory §1: the last speaker's bits are the answer) and the
        cost grows by those bits. If False (the default) the receiver just outputs (model ``D1way``).
    outputs : sequence
        The possible answers, used to encode an announced answer (default ``(0, 1)``).

    Notes
    -----
    The receiver gets the message object the sender returned, so the count of bits is honest only if
    :meth:`encode` is injective on the messages that occur; :func:`ccbounds.protocols.verify` checks
    that on every input it runs.

    Raises
    ------
    InvalidInputError
        For a bad direction, a negative ``message_bits``, or (at run time) a message that does not
        encode to at most ``message_bits`` bits or an announced answer not in ``outputs``.

    Examples
    --------
    INDEX_4 by the B->A protocol: Bob sends i in 2 bits, Alice announces x_i (theory §2, D <= 3):

    >>> p = OneWayProtocol(lambda m, x: x[int(m, 2)], lambda i: format(i, "02b"), 2,
    ...                    direction="B->A", announce_output=True)
    >>> str(p.run((0, 1, 1, 0), 2)), p.cost
    ('B:10 A:1 -> 1  (3 bits)', 3)
    """

    kind = "one-way"

    def __init__(self, alice: Callable[..., Any] | None = None, bob: Callable[..., Any] | None = None,
                 message_bits: int = 0, *, name: str = "one-way protocol", direction: str = "A->B",
                 announce_output: bool = False, outputs: Sequence[Any] = (0, 1)) -> None:
        if direction not in DIRECTIONS_1WAY:
            raise InvalidInputError(f"direction must be one of {DIRECTIONS_1WAY}, got {direction!r}")
        if isinstance(message_bits, bool) or not isinstance(message_bits, int) or message_bits < 0:
            raise InvalidInputError(f"message_bits must be a non-negative int, got {message_bits!r}")
        self._alice_fn, self._bob_fn = alice, bob
        self.message_bits = message_bits
        self.name = name
        self.direction = direction
        self.announce_output = bool(announce_output)
        self.outputs = tuple(outputs)
        if not self.outputs:
            raise InvalidInputError("outputs must list at least one possible answer")
        self.answer_bits = (len(self.outputs) - 1).bit_length() if self.announce_output else 0

    # -- the overridable parts --------------------------------------------------------------------
    def alice(self, *args: Any) -> Any:
        """A->B: ``alice(x) -> message``; B->A: ``alice(message, x) -> answer``."""
        if self._alice_fn is None:
            raise InvalidInputError(f"{self.name}: pass alice= or override the alice method")
        return self._alice_fn(*args)

    def bob(self, *args: Any) -> Any:
        """A->B: ``bob(message, y) -> answer``; B->A: ``bob(y) -> message``."""
        if self._bob_fn is None:
            raise InvalidInputError(f"{self.name}: pass bob= or override the bob method")
        return self._bob_fn(*args)

    def encode(self, message: Any) -> str:
        """The message as a '0'/'1' string; by default the message must already be one."""
        if not isinstance(message, str):
            raise InvalidInputError(
                f"{self.name}: the message {message!r} is not a '0'/'1' string; override encode()"
            )
        return message

    # -- running ----------------------------------------------------------------------------------
    @property
    def sender(self) -> str:
        """``"Alice"`` for A->B, ``"Bob"`` for B->A."""
        return ALICE if self.direction == "A->B" else BOB

    def message_of(self, own_input: Any) -> tuple[Any, str]:
        """The sender's message on its input, and its bits (validated against ``message_bits``)."""
        msg = self.alice(own_input) if self.direction == "A->B" else self.bob(own_input)
        bits = self.encode(msg)
        if not isinstance(bits, str) or any(c not in "01" for c in bits):
            raise InvalidInputError(f"{self.name}: encode() must return a '0'/'1' string, got {bits!r}")
        if len(bits) > self.message_bits:
            raise InvalidInputError(
                f"{self.name}: a message encodes to {len(bits)} bits but message_bits = "
                f"{self.message_bits}; raise message_bits or fix encode()"
            )
        return msg, bits

    def run(self, x: Any, y: Any, *, seed: int | None = None) -> Transcript:
        """Run on (x, y): one message from the sender, then the receiver's answer."""
        if self.direction == "A->B":
            msg, bits = self.message_of(x)
            out = self.bob(msg, y)
        else:
            msg, bits = self.message_of(y)
            out = self.alice(msg, x)
        messages = [Message(self.sender, bits)]
        if self.announce_output:
            if out not in self.outputs:
                raise InvalidInputError(f"{self.name}: answer {out!r} is not one of outputs {self.outputs}")
            receiver = BOB if self.sender == ALICE else ALICE
            messages.append(Message(receiver, int_to_bits(self.outputs.index(out), self.answer_bits)))
        return Transcript(tuple(messages), out)

    @property
    def cost(self) -> int:
        """``message_bits``, plus the bits of the announced answer when ``announce_output``."""
        return self.message_bits + self.answer_bits

    @property
    def model(self) -> str:
        """The model of communication whose upper bound this protocol witnesses (a key of MODELS)."""
        return "D" if self.announce_output else f"D1way({self.direction})"
