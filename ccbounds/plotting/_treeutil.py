"""Tree helpers shared by the tree and rectangle plots: layout, leaf numbers, what the message functions read.

Examples
--------
>>> from ccbounds.protocols import ProtocolTree
>>> t = ProtocolTree.from_nested(("Alice", lambda x: x, "x", 0, ("Bob", lambda y: y, "y", 0, 1)))
>>> leaf_numbers(t)
{1: 0, 3: 1, 4: 2}
"""

from __future__ import annotations

import re
from typing import Any

from ccbounds.errors import InvalidInputError
from ccbounds.plotting._style import as_matrix_and_inputs

__all__ = ["tree_layout", "leaf_numbers", "tree_inputs", "route_by_index", "child"]

_SPLIT_LABEL = re.compile(r"^(row|col) in \[")


def child(tree: Any, v: int, bit: int) -> int:
    """The child of internal node ``v`` along the edge carrying ``bit``."""
    for _, c, d in tree.graph.out_edges(v, data=True):
        if d["bit"] == bit:
            return c
    raise KeyError(bit)


def tree_layout(tree: Any) -> dict[int, tuple[float, int]]:
    """Node -> (x, depth): leaves at 0, 1, 2, ... in depth-first order, parents above their children's middle.

    Returns
    -------
    dict
        ``{node: (x, depth)}`` with the root at depth 0.
    """
    pos: dict[int, tuple[float, int]] = {}
    counter = [0]

    def place(v: int, depth: int) -> float:
        if "owner" not in tree.graph.nodes[v]:
            x = float(counter[0])
            counter[0] += 1
        else:
            x = (place(child(tree, v, 0), depth + 1) + place(child(tree, v, 1), depth + 1)) / 2
        pos[v] = (x, depth)
        return x

    place(tree.root, 0)
    return dict(sorted(pos.items()))


def leaf_numbers(tree: Any) -> dict[int, int]:
    """Leaf node -> its number ℓk, k = 0, 1, ... from left to right (depth-first, bit 0 first).

    :func:`plot_protocol_tree` and :func:`~ccbounds.plotting.plot_rectangles` both name leaves this way.
    """
    pos = tree_layout(tree)
    leaves = sorted((x, v) for v, (x, _) in pos.items() if "owner" not in tree.graph.nodes[v])
    return {v: k for k, (_, v) in enumerate(leaves)}


def route_by_index(tree: Any, problem: Any, by: str) -> bool:
    """True if the tree's message functions take row/column indices rather than the inputs themselves."""
    if by not in ("auto", "input", "index"):
        raise InvalidInputError(f"by must be 'auto', 'input' or 'index', got {by!r}")
    if by != "auto":
        return by == "index"
    if problem is None:
        return True
    labels = [d.get("label", "") for _, d in tree.graph.nodes(data=True) if "owner" in d]
    return bool(labels) and all(_SPLIT_LABEL.match(str(lab)) for lab in labels)


def tree_inputs(tree: Any, problem_or_matrix: Any, by: str = "auto") -> tuple[Any, list, list]:
    """(matrix data, the rows and columns to feed the tree's message functions) for ``by``.

    ``by="auto"`` routes indices when the input is a bare matrix or when every internal node of the
    tree has a :meth:`~ccbounds.protocols.ProtocolTree.from_splits` label (``"row in [...]"``), which is
    how :func:`~ccbounds.bounds.exact_D` and :func:`~ccbounds.bounds.bounds_report` build their trees.
    """
    data = as_matrix_and_inputs(problem_or_matrix)
    M, problem, xs, ys, _ = data
    if route_by_index(tree, problem, by):
        return data, list(range(M.shape[0])), list(range(M.shape[1]))
    return data, xs, ys


