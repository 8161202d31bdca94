"""Bounded Dyck languages: the minimal DFA and an exact ReLU RNN built from it (theory §7, [BHBK]).

Dyck-(2, D): balanced strings over two bracket types "()" and "[]" whose nesting depth never exceeds
D. Layout (theory §5): "(" ")" "[" "]" = 0 1 2 3, END = 4; the answer (1 = in the language) is read at
END. The minimal DFA has one state per stack content of height ≤ D plus a reject state:
2^{D+1} − 1 + 1 states, 8 for D = 2, so ⌈log2 8⌉ = 3 state bits suffice.

Examples
--------
>>> dfa = dyck_dfa()
>>> len(dfa.states), dfa.accepts("([])[]"), dfa.accepts("((()))")
(8, True, False)
>>> import torch
>>> m = dyck_recognizer()
>>> m(torch.tensor([[0, 2, 3, 1, 4], [0, 3, 2, 1, 4]])).argmax(1).tolist()
[1, 0]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ccbounds.errors import InvalidInputError
from ccbounds.models.config import RecurrentConfig
from ccbounds.models.constructions._common import ConstructionInfo, zero_model

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ccbounds.models.recurrent import RecurrentClassifier

__all__ = ["DyckDFA", "dyck_dfa", "dyck_recognizer", "dyck_width", "BRACKETS", "END"]

#: the bracket symbols in token order (theory §5)
BRACKETS = ("(", ")", "[", "]")
#: the END token id
END = 4
_OPEN = {"(": ")", "[": "]"}


@dataclass(frozen=True)
class DyckDFA:
    """A DFA over the four brackets: ``table[s][a]`` is the state after reading bracket a in state s.

    ``states[0]`` is the start (the empty stack) and the only accepting state; the last state is
    ``"reject"`` (a sink). Other states are named by their stack content, bottom first.
    """

    depth: int
    states: tuple[str, ...]
    table: tuple[tuple[int, ...], ...]

    symbols = BRACKETS
    start = 0

    @property
    def reject(self) -> int:
        """Index of the sink state."""
        return len(self.states) - 1

    def run(self, string: Iterable[Any], state: int = 0) -> int:
        """The state after reading ``string`` (bracket characters or token ids 0..3) from ``state``."""
        for a in string:
            a = BRACKETS.index(a) if isinstance(a, str) else int(a)
            if not 0 <= a < 4:
                raise InvalidInputError(f"Dyck symbols are {BRACKETS} or ids 0..3, got {a!r}")
            state = self.table[state][a]
        return state

    def accepts(self, string: Iterable[Any]) -> bool:
        """Is ``string`` in Dyck-(2, depth)?"""
        return self.run(string) == self.start

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {"depth": self.depth, "states": list(self.states), "symbols": list(BRACKETS),
                "table": [list(r) for r in self.table], "start": self.start, "accepting": [self.start]}

    def __str__(self) -> str:
        name = [repr(s) if s != "reject" else s for s in self.states]
        w = max(map(len, name))
        head = " " * w + " | " + "  ".join(f"{a:>{w}}" for a in BRACKETS)
        rows = [f"{name[s]:>{w}} | " + "  ".join(f"{name[t]:>{w}}" for t in r) for s, r in enumerate(self.table)]
        return "\n".join([f"Dyck-(2,{self.depth}) DFA, start/accept = ''", head, *rows])


def dyck_dfa(depth: int = 2) -> DyckDFA:
    """The minimal DFA of Dyck-(2, depth): stacks of height ≤ depth plus reject.

    Parameters
    ----------
    depth : int
        Maximal nesting depth D ≥ 1.

    Returns
    -------
    DyckDFA
        2^{D+1} states (8 for D = 2), in breadth-first order from the empty stack.

    Raises
    ------
    InvalidInputError
        For depth < 1.

    References
    ----------
    theory §7 (the minimal DFA has 8 states); [BHBK] (constant-size RNNs recognise bounded Dyck).

    Examples
    --------
    >>> dyck_dfa().states
    ('', '(', '[', '((', '([', '[(', '[[', 'reject')
    >>> dyck_dfa().table[1]  # from '(': '(' -> '((', ')' -> '', '[' -> '([', ']' -> reject
    (3, 0, 4, 7)
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise InvalidInputError(f"depth must be a positive integer, got {depth!r}")
    stacks = [""]
    for s in stacks:  # breadth-first: stacks grows while iterating
        if len(s) < depth:
            stacks += [s + o for o in _OPEN]
    index = {s: i for i, s in enumerate(stacks)}
    rej = len(stacks)

    def step(s: str, a: str) -> int:
        if a in _OPEN:
            return index.get(s + a, rej)
        return index[s[:-1]] if s and _OPEN[s[-1]] == a else rej

    table = tuple(tuple(step(s, a) for a in BRACKETS) for s in stacks) + ((rej,) * 4,)
    return DyckDFA(depth, tuple(stacks) + ("reject",), table)


def _units(dfa: DyckDFA) -> list[tuple[int, int]]:
    """Hidden units (state s', token a): a unit for every non-start state reachable by token a."""
    full = [row + (s,) for s, row in enumerate(dfa.table)]  # END (token 4) leaves the state unchanged
    return [(t, a) for a in range(5) for t in range(1, len(dfa.states)) if any(r[a] == t for r in full)]


def dyck_width(depth: int = 2) -> int:
    """Hidden width of :func:`dyck_recognizer` (21 for depth 2).

    Examples
    --------
    >>> dyck_width(2), dyck_width(1)
    (21, 9)
    """
    return len(_units(dyck_dfa(depth)))


def dyck_recognizer(depth: int = 2) -> RecurrentClassifier:
    """A ReLU :class:`RecurrentClassifier` recognising Dyck-(2, depth) exactly, read at END.

    Construction. Let δ be the minimal DFA (:func:`dyck_dfa`) extended by δ(s, END) = s, and let the
    empty stack (the start state) be encoded by h = 0. There is one hidden unit per pair (s', a)
    with s' ≠ start and δ(s, a) = s' for some s (the pre-image P = δ_a^{-1}(s') is non-empty); the
    embedding is one-hot (embed_dim = 5). Invariant: h_t is the indicator of the unit
    (δ(state_{t−1}, a_t), a_t), or 0 if that state is the start. The update keeps it exactly:

    - start ∈ P:  h_{s',a} = relu([a_t = a] − Σ_{units v with state ∉ P} h_v),
    - start ∉ P:  h_{s',a} = relu([a_t = a] + Σ_{units v with state ∈ P} h_v − 1),

    since h_{t−1} has at most one 1 (none exactly when the previous state is the start), so each
    sum is the indicator that the previous state lies outside (resp. inside) P. Both are exact AND
    gates with values in {0, 1}: every activation is an exact 0/1 in float arithmetic. The head
    gives logit_1 − logit_0 = 1 − 2·Σ_v h_v, positive iff the state is the start (empty stack). END
    leaves the state unchanged, so the answer read at END is membership of the brackets before it.

    Width: 21 units for depth 2 (4 + 3 + 4 + 3 for the brackets, 7 for END), independent of the
    input length; the state takes 8 values, i.e. 3 bits of information.

    Parameters
    ----------
    depth : int
        Maximal nesting depth D (docs/theory.md uses D = 2).

    Returns
    -------
    RecurrentClassifier
        cell "rnn", nonlinearity "relu", vocab 5, 2 classes, in eval mode, with ``model.construction``.

    Raises
    ------
    InvalidInputError
        For depth < 1.

    References
    ----------
    theory §5 (layout), §7 (minimal DFA); [BHBK] (constant-size RNNs recognise bounded Dyck languages).

    Examples
    --------
    >>> m = dyck_recognizer()
    >>> m.config.width, m.config.nonlinearity
    (21, 'relu')
    """
    import torch

    from ccbounds.models.recurrent import RecurrentClassifier

    dfa = dyck_dfa(depth)
    full = [row + (s,) for s, row in enumerate(dfa.table)]
    units = _units(dfa)
    W = len(units)
    model = RecurrentClassifier(RecurrentConfig("rnn", 5, 2, width=W, embed_dim=5, nonlinearity="relu"))
    zero_model(model)
    with torch.no_grad():
        model.embed.weight.copy_(torch.eye(5))
        W_ih, W_hh, b = model.rnn.weight_ih_l0, model.rnn.weight_hh_l0, model.rnn.bias_ih_l0
        for u, (t, a) in enumerate(units):
            pre = {s for s, r in enumerate(full) if r[a] == t}
            W_ih[u, a] = 1.0
            for v, (s, _) in enumerate(units):
                if dfa.start in pre and s not in pre:
                    W_hh[u, v] = -1.0
                elif dfa.start not in pre and s in pre:
                    W_hh[u, v] = 1.0
            b[u] = 0.0 if dfa.start in pre else -1.0
        model.head.weight[0] = 1.0
        model.head.weight[1] = -1.0
        model.head.bias.copy_(torch.tensor([-0.5, 0.5]))
    model.construction = ConstructionInfo(
        "dyck", W, {"depth": depth, "dfa_states": len(dfa.states)},
        "[BHBK] bounded Dyck by a constant-size RNN; theory §7",
    )
    return model.eval()
