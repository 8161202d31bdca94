"""Information cost of a protocol tree under a distribution, computed exactly (theory §11).

For a protocol π with private coins R_A (Alice's) and R_B (Bob's), inputs (X, Y) ~ μ and transcript Π (the
bits sent; in a tree, the leaf reached), the **internal** and **external information cost** are

    IC^int_μ(π) = I(X; Π | Y) + I(Y; Π | X)        (what each player learns about the other's input),
    IC^ext_μ(π) = I(XY; Π)                          (what an observer learns about both),

and IC^int ≤ IC^ext ≤ H(Π) ≤ the cost of π (Braverman–Rao 2011, [BGPW]). :func:`information_cost` enumerates
every (x, y, r_A, r_B), runs the tree, and computes both from the exact joint distribution of (X, Y, Π) (the
probabilities are exact sums of products of the given weights; only the final logarithms are floating point).

The information complexity of a function with zero error is IC(f, 0) = inf_π max_μ IC^int_μ(π) over zero-error
protocols; for AND, IC(AND, 0) = C∧ ≈ 1.4923 bits and IC^ext(AND, 0) = log2 3 ([BGPW]). :func:`and_information_bounds`
returns these and the direct-sum consequences for DISJ_n as typed ``known`` bounds. :func:`buzzer_protocol` builds
the k-step discretisation of [BGPW]'s optimal ("buzzer") protocol for AND as a tree with private coins; its
information cost under the hardest distribution decreases towards C∧ as k grows ([BGPW]: like C∧ + Θ(1/r²) for
r-round protocols).

References
----------
.. [BGPW] M. Braverman, A. Garg, D. Pankratov, O. Weinstein, "From information to exact communication",
   STOC 2013, pp. 151-160.
.. [BJKS] Z. Bar-Yossef, T. S. Jayram, R. Kumar, D. Sivakumar, "An information statistics approach to data stream
   and communication complexity", J. Comput. Syst. Sci. 68(4), 2004, pp. 702-732.

Examples
--------
>>> from ccbounds.protocols import ProtocolTree

Alice sends x, then Bob sends x AND y: under the uniform μ Bob learns x (1 bit) and Alice learns y only when
x = 1 (1/2 bit).

>>> t = ProtocolTree.from_nested(("Alice", lambda x: x, "x", 0, ("Bob", lambda y: y, "y", 0, 1)))
>>> c = information_cost(t, {(x, y): 0.25 for x in (0, 1) for y in (0, 1)})
>>> c.internal_bits, c.external_bits, c.alice_learns_bits, c.bob_learns_bits
(1.5, 1.5, 0.5, 1.0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from ccbounds.bound_record import Bound
from ccbounds.errors import InvalidInputError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ccbounds.protocols.tree import ProtocolTree

__all__ = ["InformationCost", "information_cost", "buzzer_protocol", "and_information_bounds",
           "AND_HARD_DISTRIBUTION", "IC_AND_BITS", "C_DISJ"]

#: IC(AND, 0), zero-error internal information complexity of the 2-bit AND, in bits ([BGPW], ≈ 1.4923)
IC_AND_BITS = 1.4923
#: lim_{eps -> 0} lim_{n -> inf} R_eps(DISJ_n) / n ([BGPW], ≈ 0.4827)
C_DISJ = 0.4827
#: a symmetric distribution on (x, y) at which the buzzer protocols' internal cost is largest, found numerically
#: (Nelder-Mead over symmetric μ on buzzer_protocol(64); theory §11.2). Not from the paper: a computed value.
AND_HARD_DISTRIBUTION = {(0, 0): 0.0809, (0, 1): 0.2644, (1, 0): 0.2644, (1, 1): 0.3903}


@dataclass(frozen=True)
class InformationCost:
    """The information cost of one protocol under one distribution, in bits."""

    alice_learns_bits: float  # I(Y; Π | X)
    bob_learns_bits: float  # I(X; Π | Y)
    external_bits: float  # I(XY; Π)
    transcript_entropy_bits: float  # H(Π)
    expected_bits: float  # E[|Π|], bits sent on average
    cost: int  # worst-case bits (the tree's depth)

    @property
    def internal_bits(self) -> float:
        """IC^int = I(X; Π | Y) + I(Y; Π | X)."""
        return self.alice_learns_bits + self.bob_learns_bits

    def to_dict(self) -> dict[str, Any]:
        return {"internal_bits": self.internal_bits, "external_bits": self.external_bits,
                "alice_learns_bits": self.alice_learns_bits, "bob_learns_bits": self.bob_learns_bits,
                "transcript_entropy_bits": self.transcript_entropy_bits, "expected_bits": self.expected_bits,
                "cost": self.cost}

    def __str__(self) -> str:
        return (f"IC_int = {self.internal_bits:.6f} bits (Bob learns {self.bob_learns_bits:.6f}, Alice "
                f"{self.alice_learns_bits:.6f}); IC_ext = {self.external_bits:.6f} bits; H(transcript) = "
                f"{self.transcript_entropy_bits:.6f}; E[bits sent] = {self.expected_bits:.6f}; cost {self.cost}")


def _weights(d: Any, what: str) -> dict[Any, Any]:
    if not isinstance(d, Mapping) or not d:
        raise InvalidInputError(f"{what} must be a non-empty mapping value -> probability")
    out = {}
    for k, p in d.items():
        if isinstance(p, bool) or not isinstance(p, (int, float, Fraction)) or not p >= 0:
            raise InvalidInputError(f"{what}: probability of {k!r} is {p!r}; give non-negative numbers")
        out[k] = p
    total = sum(out.values())
    if abs(float(total) - 1.0) > 1e-9:
        raise InvalidInputError(f"{what} sums to {float(total):.12g}, not 1; normalise it")
    return out


def _entropy(masses: Any) -> float:
    h = 0.0
    for m in masses:
        p = float(m)
        if p > 0:
            h -= p * math.log2(p)
    return h


def _marginal(joint: dict[tuple, Any], keep: tuple[int, ...]) -> dict[tuple, Any]:
    out: dict[tuple, Any] = {}
    for key, p in joint.items():
        k = tuple(key[i] for i in keep)
        out[k] = out.get(k, 0) + p
    return out


def _cond_mi(joint: dict[tuple, Any], a: tuple[int, ...], b: tuple[int, ...], c: tuple[int, ...]) -> float:
    """I(A; B | C) = H(A,C) + H(B,C) - H(A,B,C) - H(C), from the exact joint table."""
    h = (_entropy(_marginal(joint, a + c).values()) + _entropy(_marginal(joint, b + c).values())
         - _entropy(_marginal(joint, a + b + c).values()) - _entropy(_marginal(joint, c).values()))
    return max(0.0, h)


def information_cost(tree: ProtocolTree, mu: Mapping[tuple[Any, Any], Any], *,
                     alice_coins: Mapping[Any, Any] | None = None,
                     bob_coins: Mapping[Any, Any] | None = None) -> InformationCost:
    """Internal and external information cost of ``tree`` under ``mu``, exactly (theory §11.1).

    Parameters
    ----------
    tree : ProtocolTree
        The protocol. Without coins its message functions read x (Alice) and y (Bob); with coins they read the
        pairs (x, r_A) and (y, r_B).
    mu : mapping (x, y) -> probability
        The input distribution (floats or :class:`fractions.Fraction`; must sum to 1).
    alice_coins, bob_coins : mapping r -> probability, optional
        The players' private randomness, independent of each other and of (x, y).

    Returns
    -------
    InformationCost

    Raises
    ------
    InvalidInputError
        A distribution that is empty, negative or does not sum to 1.
    """
    mu = _weights(mu, "mu")
    ca = _weights(alice_coins, "alice_coins") if alice_coins is not None else None
    cb = _weights(bob_coins, "bob_coins") if bob_coins is not None else None
    import networkx as nx

    depth = nx.single_source_shortest_path_length(tree.graph, tree.root)
    joint: dict[tuple, Any] = {}  # (x, y, leaf) -> probability
    for (x, y), p in mu.items():
        if p == 0:
            continue
        for ra, pa in (ca.items() if ca is not None else [(None, 1)]):
            for rb, pb in (cb.items() if cb is not None else [(None, 1)]):
                w = p * pa * pb
                if w == 0:
                    continue
                leaf = tree.leaf_of(x if ca is None else (x, ra), y if cb is None else (y, rb))
                key = (x, y, leaf)
                joint[key] = joint.get(key, 0) + w
    X, Y, P = (0,), (1,), (2,)
    return InformationCost(
        alice_learns_bits=_cond_mi(joint, Y, P, X), bob_learns_bits=_cond_mi(joint, X, P, Y),
        external_bits=_cond_mi(joint, X + Y, P, ()),
        transcript_entropy_bits=_entropy(_marginal(joint, P).values()),
        expected_bits=float(sum(w * depth[k[2]] for k, w in joint.items())), cost=tree.cost)


def buzzer_protocol(k: int) -> tuple[ProtocolTree, dict[int, Fraction], dict[int, Fraction]]:
    """The k-step discretised buzzer protocol for AND, with its private coins (theory §11.2, [BGPW]).

    A player with input 0 draws a time r uniform in {0, ..., k-1}; with input 1 they never buzz. At each step
    t = 0, ..., k-1 Alice sends 1 ("buzz") iff x = 0 and r_A = t, then Bob sends 1 iff y = 0 and r_B = t; the
    first buzz ends the protocol with output 0, and after k silent steps the output is 1. It is correct on every
    input and coin value (a 0-input always buzzes, 1-inputs never do), and costs 2k bits in the worst case. As
    k grows it approaches [BGPW]'s continuous protocol, whose information cost is IC(AND, 0).

    Returns
    -------
    (ProtocolTree, alice_coins, bob_coins)
        The tree reads (x, r_A) and (y, r_B); pass the coins to :func:`information_cost`.

    Examples
    --------
    >>> t, ca, cb = buzzer_protocol(2)
    >>> t.cost, [t.output((x, ra), (y, rb)) for x, y, ra, rb in [(1, 1, 0, 1), (0, 1, 1, 0), (1, 0, 0, 1)]]
    (4, [1, 0, 0])
    """
    from ccbounds.protocols.tree import ProtocolTree

    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InvalidInputError(f"k must be a positive integer (steps of the buzzer), got {k!r}")

    def step(t: int) -> Any:
        if t == k:
            return 1
        alice = ("Alice", lambda xr, _t=t: int(xr[0] == 0 and xr[1] == _t), f"x = 0 and r_A = {t}")
        bob = ("Bob", lambda yr, _t=t: int(yr[0] == 0 and yr[1] == _t), f"y = 0 and r_B = {t}")
        return (*alice, (*bob, step(t + 1), 0), 0)

    coins = {r: Fraction(1, k) for r in range(k)}
    return ProtocolTree.from_nested(step(0), name=f"buzzer protocol for AND, {k} steps"), coins, dict(coins)


def and_information_bounds(n: int | None = None) -> list[Bound]:
    """IC(AND, 0), IC^ext(AND, 0) and the direct-sum route to R(DISJ_n) = Θ(n), as typed ``known`` bounds.

    Parameters
    ----------
    n : int, optional
        For the DISJ_n bounds' problem name (default: the symbolic ``DISJ_n``).

    Returns
    -------
    list of Bound
        ``IC_0(AND) = 1.4923`` and ``IC_ext_0(AND) = log2 3`` ([BGPW]); ``R_eps(DISJ_n) >= Ω(n)`` for
        every constant eps < 1/2 ([BJKS] by the information-complexity direct sum, the proof route of theory
        §11.4; first proved by [KS], [Raz]); and ``R_eps(DISJ_n) = (0.4827 ± o(1))·n`` as eps → 0 ([BGPW]).

    Examples
    --------
    >>> [str(b).split("  [")[0] for b in and_information_bounds()][:2]
    ['IC_0(AND) (eps=0) = 1.492 bits', 'IC_ext_0(AND) (eps=0) = 1.585 bits']
    """
    prob = "DISJ_n" if n is None else f"DISJ_{int(n)}"
    bgpw = "Braverman, Garg, Pankratov, Weinstein, From information to exact communication, STOC 2013"
    bjks = ("Bar-Yossef, Jayram, Kumar, Sivakumar, An information statistics approach to data stream and "
            "communication complexity, JCSS 68(4), 2004")
    return [
        Bound(IC_AND_BITS, "exact", "IC_0", "AND", eps=0.0, method="known", source=f"{bgpw}; theory §11",
              expression="C_AND ≈ 1.4923",
              note="zero-error internal information complexity, max over all input distributions (prior-free); "
                   "the value is the constant C_AND rounded to 4 decimals (a published number, not computed here)"),
        Bound(math.log2(3), "exact", "IC_ext_0", "AND", eps=0.0, method="known",
              source=f"{bgpw}; theory §11", expression="log2 3",
              note="zero-error external information complexity"),
        Bound(None, "lower", "R_eps(pub)", prob, method="known", expression="Omega(n)",
              source=f"{bjks} (information-complexity direct sum over n copies of AND); theory §11.4",
              note="every constant eps < 1/2; first proved by Kalyanasundaram-Schnitger 1992 and Razborov 1992"),
        Bound(None, "exact", "R_eps(pub)", prob, method="known", expression="(0.4827 ± o(1))·n as eps -> 0",
              source=f"{bgpw}; theory §11.4",
              note="lim_{eps->0} lim_{n->inf} R_eps(DISJ_n)/n = C_DISJ ≈ 0.4827 (max of IC_mu(AND, 0) over mu "
                   "with mu(1,1) = 0)"),
    ]
