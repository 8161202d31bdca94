"""Models with weights set by hand (no training): the upper-bound constructions of theory §7 / [BHBK].

- :func:`index_lookup_transformer`: one layer, one head, width O(log n), solves INDEX_n on every input;
- :func:`dyck_recognizer`: a ReLU RNN of width 21 (8 DFA states) that recognises Dyck-(2,2) exactly;
- :func:`two_layer_set_transformer`: two layers, width O(log n), decides EQ_n or DISJ_n on every input.

Each returns a reference model (:class:`~ccbounds.models.TransformerClassifier` or
:class:`~ccbounds.models.RecurrentClassifier`) in eval mode carrying ``model.construction``
(what was chosen: λ, code dimension, realised coherence, seeds). :data:`CONSTRUCTIONS` lists them
and :func:`construction_width` gives the width each one uses without building it.

Examples
--------
>>> sorted(CONSTRUCTIONS)
['dyck', 'index_lookup', 'two_layer_disj', 'two_layer_eq']
>>> construction_width("index_lookup", 1024), construction_width("dyck", 1000), construction_width("two_layer_eq", 256)
(272, 21, 470)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ccbounds.codes import code_dimension
from ccbounds.errors import InvalidInputError, UnknownNameError
from ccbounds.models.constructions._common import ConstructionInfo
from ccbounds.models.constructions.dyck import DyckDFA, dyck_dfa, dyck_recognizer, dyck_width
from ccbounds.models.constructions.index_lookup import index_lookup_lambda, index_lookup_transformer
from ccbounds.models.constructions.sets import set_transformer_width, two_layer_set_transformer

__all__ = [
    "Construction", "CONSTRUCTIONS", "construction_width", "ConstructionInfo",
    "index_lookup_transformer", "index_lookup_lambda", "dyck_dfa", "DyckDFA", "dyck_recognizer",
    "dyck_width", "two_layer_set_transformer", "set_transformer_width",
]


@dataclass(frozen=True)
class Construction:
    """One entry of :data:`CONSTRUCTIONS`: what it solves, with which model, how wide, and the source."""

    name: str
    description: str
    builder: str
    arch: str
    width: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.name}: {self.description} ({self.arch}, width {self.width})  [{self.source}]"


CONSTRUCTIONS: dict[str, Construction] = {
    c.name: c
    for c in (
        Construction(
            "index_lookup", "INDEX_n (alphabet q) by one softmax head over nearly orthogonal position codes",
            "index_lookup_transformer(n, q)", "tf1", "q + 2*code_dimension(n+1) = O(log n)",
            "[BHBK] one-layer index lookup of width O(log N); theory §7",
        ),
        Construction(
            "dyck", "Dyck-(2,2) membership by an exact ReLU RNN simulating the 8-state minimal DFA",
            "dyck_recognizer()", "rnn", "21 (independent of n)",
            "[BHBK] bounded Dyck by constant-size RNNs; theory §7",
        ),
        Construction(
            "two_layer_eq", "EQ_n on x SEP y END: copy x_i to y_i, FFN flags x_i != y_i, average, threshold",
            "two_layer_set_transformer(n, 'eq')", "tf2", "4*code_dimension(n+1) + 18 = O(log n)",
            "[BHBK] two-layer string equality of width O(log N); theory §7",
        ),
        Construction(
            "two_layer_disj", "DISJ_n on x SEP y END: copy x_i to y_i, FFN flags x_i and y_i, average, threshold",
            "two_layer_set_transformer(n, 'disj')", "tf2", "4*code_dimension(n+1) + 18 = O(log n)",
            "[BHBK] two-layer disjointness of width O(log N); theory §7",
        ),
    )
}


def construction_width(name: str, n: int, q: int = 2, gamma: float = 0.5, delta: float = 0.1) -> int:
    """The width a construction uses: d_model for the Transformers, the hidden size for the RNN.

    Parameters
    ----------
    name : str
        A key of :data:`CONSTRUCTIONS`.
    n : int
        Input length (ignored by ``"dyck"``, whose width is constant).
    q : int
        Alphabet size (``"index_lookup"`` only).
    gamma, delta : float
        The code parameters, as passed to the builder with ``k=None``.

    Returns
    -------
    int

    Raises
    ------
    UnknownNameError
        For an unknown name (the message lists the valid ones).
    InvalidInputError
        For n < 1.

    Examples
    --------
    >>> [construction_width("index_lookup", n) for n in (8, 64, 512)]
    [122, 184, 250]
    """
    if name not in CONSTRUCTIONS:
        raise UnknownNameError(f"unknown construction {name!r}; valid ones are {sorted(CONSTRUCTIONS)}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidInputError(f"n must be a positive integer, got {n!r}")
    if name == "dyck":
        return dyck_width(2)
    k = code_dimension(n + 1, gamma, delta)
    return q + 2 * k if name == "index_lookup" else set_transformer_width(k)
