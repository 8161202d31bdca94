"""Gadgets: communication problems embedded in sequence tasks, with position owners (theory §5).

- :class:`Gadget`: ``encode(x, y)``, owners per position, ``encode_alice`` / ``encode_bob``,
  ``answer_map``; built by :func:`get_gadget` from the registry :data:`GADGETS`.
- :class:`ProblemMap`: a one-way embedding between problems (:func:`index_to_disj`);
  :func:`compose` turns a map and a gadget into a gadget.
- :func:`check_gadget`: brute-force (or sampled) proof that f(x, y) = answer_map(task(encode(x, y)))
  and that every position is fixed by its owner alone.

Examples
--------
>>> from ccbounds.problems import INDEX
>>> g = get_gadget(INDEX(3), "disj")
>>> g.encode((1, 0, 1), 2).tolist(), g.answer((1, 0, 1), 2)
([1, 0, 1, 2, 0, 0, 1, 3], 1)
>>> check_gadget(g).ok
True
"""

from __future__ import annotations

from reductions.gadgets.base import OWNERS, Gadget, ProblemMap, compose
from reductions.gadgets.check import (
    MAX_CHECK_PAIRS,
    Counterexample,
    GadgetCheck,
    check_gadget,
)
from reductions.gadgets.library import (
    DYCK_BLOCKS,
    GADGETS,
    GadgetEntry,
    disj_dyck_gadget,
    eq_dyck_gadget,
    get_gadget,
    index_lookup_gadget,
    index_nn_gadget,
    index_to_disj,
    list_gadgets,
    pair_gadget,
    register_gadget,
)

__all__ = [
    "Gadget", "ProblemMap", "compose", "OWNERS",
    "check_gadget", "GadgetCheck", "Counterexample", "MAX_CHECK_PAIRS",
    "GADGETS", "GadgetEntry", "register_gadget", "get_gadget", "list_gadgets", "DYCK_BLOCKS",
    "index_lookup_gadget", "pair_gadget", "disj_dyck_gadget", "eq_dyck_gadget", "index_nn_gadget",
    "index_to_disj",
]
