"""Randomized one-round protocols with public or private coins (theory §1: R_eps(pub), R_eps(priv)).

Alice sends one message computed from x and her coins; Bob answers from the message, y and his coins.
All randomness comes from ``numpy.random.default_rng(seed)``: with public coins one shared draw that
both players see; with private coins two independent streams spawned from that generator, one for
Alice and one for Bob, each player seeing only its own. ``Transcript.coins`` records the draws.

A randomized protocol carries the error bound that its construction proves for *every* input
(``error_bound``) and the argument as text (``error_note``); :meth:`RandomizedProtocol.as_bound`
turns it into a :class:`~ccbounds.bound_record.Bound` (``R_eps(model)(problem) <= cost`` at ``eps = error_bound``).

Examples
--------
A public-coin test of EQ_2 with one random parity: error 0 on x = y, exactly 1/2 on x != y.

>>> import numpy as np
>>> p = PublicCoinProtocol(lambda x, r: str(int(np.dot(r, x) % 2)),
...                        lambda m, y, r: int(m == str(int(np.dot(r, y) % 2))), 1,
...                        draw_coins=lambda rng: rng.integers(0, 2, size=2), error_bound=0.5)
>>> p.run((1, 0), (1, 0), seed=0).output, p.cost
(1, 2)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ccbounds.bound_record import Bound
from ccbounds.errors import InvalidInputError
from ccbounds.protocols.base import ALICE, BOB, Message, Protocol, Transcript

__all__ = ["RandomizedProtocol", "PublicCoinProtocol", "PrivateCoinProtocol"]


class RandomizedProtocol(Protocol):
    """Common part of :class:`PublicCoinProtocol` and :class:`PrivateCoinProtocol`.

    Parameters
    ----------
    alice : callable, optional
        ``alice(x, coins) -> message`` (Alice's coins: the public ones, or her private ones).
    bob : callable, optional
        ``bob(message, y, coins) -> answer``.
    message_bits : int
        Most bits of Alice's message after :meth:`encode`.
    error_bound : float or Fraction
        The proven bound on the error probability on every input, in [0, 1] (a Fraction is kept exactly).
    name : str
    announce_output : bool
        If True (default) Bob sends his 0/1 answer as one more bit, so ``cost = message_bits + 1``: the
        two-way models ``R_eps(pub)`` / ``R_eps(priv)`` (theory §1). If False the model is one-way and
        ``cost = message_bits``.
    error_note : str
        The argument for ``error_bound`` (shown in :meth:`as_bound`).

    Raises
    ------
    InvalidInputError
        For an ``error_bound`` outside [0, 1] or a negative ``message_bits``; at run time for a message
        longer than ``message_bits`` or an announced answer that is not 0/1.
    """

    kind = "randomized"
    coin_model = ""

    def __init__(self, alice: Callable[..., Any] | None = None, bob: Callable[..., Any] | None = None,
                 message_bits: int = 0, *, error_bound: float, name: str = "randomized protocol",
                 announce_output: bool = True, error_note: str = "") -> None:
        if isinstance(message_bits, bool) or not isinstance(message_bits, int) or message_bits < 0:
            raise InvalidInputError(f"message_bits must be a non-negative int, got {message_bits!r}")
        from fractions import Fraction

        if (isinstance(error_bound, bool) or not isinstance(error_bound, (int, float, Fraction))
                or not 0.0 <= float(error_bound) <= 1.0):
            raise InvalidInputError(f"error_bound must be a probability in [0, 1], got {error_bound!r}")
        self._alice_fn, self._bob_fn = alice, bob
        self.message_bits = message_bits
        self.error_bound = float(error_bound)
        #: the bound as given when it is a Fraction (verify compares exact errors with it exactly)
        self.error_bound_exact = error_bound if isinstance(error_bound, Fraction) else None
        self.name = name
        self.announce_output = bool(announce_output)
        self.error_note = error_note

    def alice(self, x: Any, coins: Any) -> Any:
        """Alice's message on x with her view of the coins."""
        if self._alice_fn is None:
            raise InvalidInputError(f"{self.name}: pass alice= or override the alice method")
        return self._alice_fn(x, coins)

    def bob(self, message: Any, y: Any, coins: Any) -> Any:
        """Bob's answer on the message and y with his view of the coins."""
        if self._bob_fn is None:
            raise InvalidInputError(f"{self.name}: pass bob= or override the bob method")
        return self._bob_fn(message, y, coins)

    def encode(self, message: Any) -> str:
        """The message as a '0'/'1' string; by default the message must already be one."""
        if not isinstance(message, str):
            raise InvalidInputError(f"{self.name}: the message {message!r} is not a '0'/'1' string; override encode()")
        return message

    def _coins(self, rng: np.random.Generator) -> tuple[Any, Any, Any]:
        """(Alice's view, Bob's view, record for the transcript)."""
        raise InvalidInputError(f"{type(self).__name__} does not define its coins")

    def run(self, x: Any, y: Any, *, seed: int | None = None) -> Transcript:
        """Run on (x, y) with coins drawn from ``numpy.random.default_rng(seed)``."""
        return self._run(x, y, *self._coins(np.random.default_rng(seed)))

    def _run(self, x: Any, y: Any, a_coins: Any, b_coins: Any, record: Any) -> Transcript:
        msg = self.alice(x, a_coins)
        bits = self.encode(msg)
        if not isinstance(bits, str) or any(c not in "01" for c in bits) or len(bits) > self.message_bits:
            raise InvalidInputError(
                f"{self.name}: encode() gave {bits!r}, not a '0'/'1' string of at most {self.message_bits} bits"
            )
        out = self.bob(msg, y, b_coins)
        messages = [Message(ALICE, bits)]
        if self.announce_output:
            if out not in (0, 1):
                raise InvalidInputError(f"{self.name}: an announced answer must be 0 or 1, got {out!r}")
            messages.append(Message(BOB, str(int(out))))
        return Transcript(tuple(messages), out, coins=record)

    @property
    def cost(self) -> int:
        """``message_bits`` (+1 when Bob announces the answer)."""
        return self.message_bits + int(self.announce_output)

    @property
    def model(self) -> str:
        """The model this protocol witnesses an upper bound for (a key of ``MODELS``)."""
        return f"R_eps({self.coin_model})" if self.announce_output else "R1way_eps(A->B)"

    def as_bound(self, problem: str) -> Bound:
        """The upper bound ``model(problem) <= cost`` at ``eps = error_bound`` this protocol proves.

        Examples
        --------
        >>> p = PrivateCoinProtocol(lambda x, c: "", lambda m, y, c: 1, 0, error_bound=0.25, name="guess")
        >>> str(p.as_bound("EQ_1"))
        'R_eps(priv)(EQ_1) (eps=0.25) <= 1 bits  [protocol; guess]'
        """
        return Bound(self.cost, "upper", self.model, problem, eps=self.error_bound, method="protocol",
                     witness=self, source=self.name, note=self.error_note)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}: {self.cost} bits, error <= {self.error_bound:.4g}>"


class PublicCoinProtocol(RandomizedProtocol):
    """A public-coin protocol: one shared draw ``draw_coins(rng)``, seen by both players.

    Parameters are those of :class:`RandomizedProtocol`, plus ``draw_coins(rng) -> coins`` (or override
    the method :meth:`draw_coins`), and optionally ``support``: a callable returning every value
    ``draw_coins`` can give, each exactly once, when ``draw_coins`` is uniform on them (with
    ``support_size``, their number). Then :func:`~ccbounds.protocols.verify` can compute the exact error
    of every pair by running all coin values (:meth:`run_with_coins`). ``Transcript.coins`` is the shared draw.

    Examples
    --------
    >>> p = PublicCoinProtocol(lambda x, r: "", lambda m, y, r: int(r), 0, error_bound=0.5,
    ...                        draw_coins=lambda rng: int(rng.integers(0, 2)))
    >>> t = p.run(0, 0, seed=3)
    >>> t.output == t.coins, p.model
    (True, 'R_eps(pub)')
    """

    kind = "public-coin"
    coin_model = "pub"

    def __init__(self, alice: Callable[..., Any] | None = None, bob: Callable[..., Any] | None = None,
                 message_bits: int = 0, *, draw_coins: Callable[[np.random.Generator], Any] | None = None,
                 support: Callable[[], Iterable[Any]] | None = None, support_size: int | None = None,
                 **kw: Any) -> None:
        super().__init__(alice, bob, message_bits, **kw)
        self._draw = draw_coins
        if (support is None) != (support_size is None) or (
                support_size is not None and (isinstance(support_size, bool) or not isinstance(support_size, int)
                                              or support_size < 1)):
            raise InvalidInputError("pass support= (all coin values) together with support_size= (their "
                                    f"number, a positive int), or neither; got support_size={support_size!r}")
        self._support, self.support_size = support, support_size

    def support(self) -> Iterable[Any]:
        """Every equally likely value of the shared coins (only when the protocol was given ``support``)."""
        if self._support is None:
            raise InvalidInputError(f"{self.name}: no coin support given; pass support= and support_size=")
        return self._support()

    def run_with_coins(self, x: Any, y: Any, coins: Any) -> Transcript:
        """Run on (x, y) with the shared coins fixed to ``coins`` (a value of :meth:`support`)."""
        return self._run(x, y, coins, coins, coins)

    def draw_coins(self, rng: np.random.Generator) -> Any:
        """The shared random string."""
        if self._draw is None:
            raise InvalidInputError(f"{self.name}: pass draw_coins= or override draw_coins")
        return self._draw(rng)

    def _coins(self, rng: np.random.Generator) -> tuple[Any, Any, Any]:
        c = self.draw_coins(rng)
        return c, c, c


class PrivateCoinProtocol(RandomizedProtocol):
    """A private-coin protocol: Alice and Bob draw from independent streams.

    The generator ``default_rng(seed)`` draws two 63-bit child seeds, the first seeding Alice's generator
    (``draw_alice_coins``) and the second Bob's (``draw_bob_coins``); each player's function sees only its
    own draw. ``Transcript.coins`` is ``{"alice": ..., "bob": ...}``. A missing drawer means that
    player uses no coins (its view is ``None``).

    Examples
    --------
    >>> p = PrivateCoinProtocol(lambda x, a: str(a), lambda m, y, b: int(m == "1"), 1, error_bound=0.5,
    ...                         draw_alice_coins=lambda rng: int(rng.integers(0, 2)))
    >>> t = p.run(0, 0, seed=1)
    >>> t.coins["bob"] is None, t.output == t.coins["alice"]
    (True, True)
    """

    kind = "private-coin"
    coin_model = "priv"

    def __init__(self, alice: Callable[..., Any] | None = None, bob: Callable[..., Any] | None = None,
                 message_bits: int = 0, *,
                 draw_alice_coins: Callable[[np.random.Generator], Any] | None = None,
                 draw_bob_coins: Callable[[np.random.Generator], Any] | None = None, **kw: Any) -> None:
        super().__init__(alice, bob, message_bits, **kw)
        self._draw_a, self._draw_b = draw_alice_coins, draw_bob_coins

    def draw_alice_coins(self, rng: np.random.Generator) -> Any:
        """Alice's private coins (``None`` if she uses none)."""
        return None if self._draw_a is None else self._draw_a(rng)

    def draw_bob_coins(self, rng: np.random.Generator) -> Any:
        """Bob's private coins (``None`` if he uses none)."""
        return None if self._draw_b is None else self._draw_b(rng)

    def _coins(self, rng: np.random.Generator) -> tuple[Any, Any, Any]:
        sa, sb = (int(s) for s in rng.integers(0, 2**63 - 1, size=2))
        a = self.draw_alice_coins(np.random.default_rng(sa))
        b = self.draw_bob_coins(np.random.default_rng(sb))
        return a, b, {"alice": a, "bob": b}
