"""Deterministic protocol trees (theory §1, [KN] Def. 1.1).

A protocol tree is a binary tree. Every internal node is owned by Alice or Bob and carries a message
function of its owner's input only, returning the bit sent (0: go to child 0, 1: go to child 1).
Every leaf carries the output. The cost is the depth. The inputs reaching a leaf form a combinatorial
rectangle, so the leaves partition the input matrix into rectangles that are monochromatic when the
protocol is correct.

Trees are stored in a :class:`networkx.DiGraph`: node attributes ``owner`` ("Alice"/"Bob"),
``func`` (callable), ``label`` (human-readable description of the message) on internal nodes and
``output`` on leaves; edges carry ``bit``.

Examples
--------
The trivial protocol for AND on one bit each: Alice sends x, then Bob answers.

>>> t = ProtocolTree.from_nested(("Alice", lambda x: x, "x",
...                                0,
...                                ("Bob", lambda y: y, "y", 0, 1)))
>>> t.cost, t.output(1, 1), t.output(1, 0)
(2, 1, 0)
>>> str(t.run(1, 1))
'A:1 B:1 -> 1  (2 bits)'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import networkx as nx

from ccbounds.errors import InvalidInputError
from ccbounds.protocols.base import ALICE, BOB, Message, Protocol, Transcript

__all__ = ["ProtocolTree", "Rectangle"]

Rectangle = tuple[tuple[int, ...], tuple[int, ...], Any]
"""(row indices, column indices, output) of one leaf, indices into the problem's input orders."""


class ProtocolTree(Protocol):
    """A deterministic two-way protocol as an explicit tree.

    Build one with :meth:`add_internal` / :meth:`add_leaf` (root is the first node added), or with
    :meth:`from_nested`, or from row/column splits of a matrix with :meth:`from_splits`.
    """

    kind = "deterministic"

    def __init__(self, name: str = "protocol tree") -> None:
        self.name = name
        self.graph = nx.DiGraph()
        self.root: int | None = None

    # -- construction -------------------------------------------------------------------------
    def _new(self, parent: int | None, bit: int | None, **attrs: Any) -> int:
        node = self.graph.number_of_nodes()
        self.graph.add_node(node, **attrs)
        if parent is None:
            if self.root is not None:
                raise InvalidInputError("the tree already has a root; pass parent= and bit=")
            self.root = node
        else:
            if parent not in self.graph or "owner" not in self.graph.nodes[parent]:
                raise InvalidInputError(f"parent {parent} is not an internal node of this tree")
            if bit not in (0, 1):
                raise InvalidInputError(f"an edge carries bit 0 or 1, got {bit!r}")
            if any(d["bit"] == bit for _, _, d in self.graph.out_edges(parent, data=True)):
                raise InvalidInputError(f"node {parent} already has a child for bit {bit}")
            self.graph.add_edge(parent, node, bit=bit)
        return node

    def add_internal(
        self, owner: str, func: Callable[[Any], int], label: str = "",
        parent: int | None = None, bit: int | None = None,
    ) -> int:
        """Add a node where ``owner`` sends ``func(own input)``; returns its id."""
        if owner not in (ALICE, BOB):
            raise InvalidInputError(f"owner must be {ALICE!r} or {BOB!r}, got {owner!r}")
        return self._new(parent, bit, owner=owner, func=func, label=label)

    def add_leaf(self, output: Any, parent: int | None = None, bit: int | None = None) -> int:
        """Add a leaf that outputs ``output``; returns its id."""
        return self._new(parent, bit, output=output)

    @classmethod
    def from_nested(cls, spec: Any, name: str = "protocol tree") -> ProtocolTree:
        """Build from ``(owner, func, label, child0, child1)`` tuples; anything else is a leaf output."""
        tree = cls(name)

        def build(s: Any, parent: int | None, bit: int | None) -> None:
            if isinstance(s, tuple) and len(s) == 5 and s[0] in (ALICE, BOB):
                owner, func, label, c0, c1 = s
                node = tree.add_internal(owner, func, label, parent, bit)
                build(c0, node, 0)
                build(c1, node, 1)
            else:
                tree.add_leaf(s, parent, bit)

        build(spec, None, None)
        tree.validate()
        return tree

    @classmethod
    def from_splits(cls, spec: Any, name: str = "protocol tree") -> ProtocolTree:
        """Build a tree on matrix indices from ``(owner, ones, child0, child1)`` tuples.

        At a node owned by Alice (Bob) the bit sent is 1 iff the row (column) index is in ``ones``.
        Leaves are outputs. This is the form the exact-D solver returns: inputs are row/column
        indices of the matrix.
        """
        def conv(s: Any) -> Any:
            if isinstance(s, tuple) and len(s) == 4 and s[0] in (ALICE, BOB):
                owner, ones, c0, c1 = s
                ones = frozenset(int(i) for i in ones)
                who = "row" if owner == ALICE else "col"
                label = f"{who} in {sorted(ones)}"
                return (owner, lambda v, _o=ones: int(v in _o), label, conv(c0), conv(c1))
            return s

        return cls.from_nested(conv(spec), name)

    def over_inputs(self, problem: Any) -> ProtocolTree:
        """The same tree reading ``problem``'s inputs instead of row/column indices.

        Trees built by :meth:`from_splits` (the witnesses of :func:`ccbounds.bounds.exact_D`) send bits
        that depend on matrix indices; this returns the tree that first maps an input to its index
        with ``problem.x_index`` / ``problem.y_index``, so ``verify(tree, problem)`` and
        ``leaf_rectangles(problem.alice_inputs(), ...)`` work on the problem's own inputs.

        Examples
        --------
        >>> from ccbounds.problems import EQ
        >>> t = ProtocolTree.from_splits(("Alice", [1], ("Bob", [0], 0, 1), ("Bob", [1], 0, 1)))
        >>> u = t.over_inputs(EQ(1))
        >>> u.output((1,), (1,)), u.graph.nodes[u.root]["label"]
        (1, 'x in rows [1]')
        """
        new = ProtocolTree(self.name)
        new.graph = self.graph.copy()
        new.root = self.root
        for _v, d in new.graph.nodes(data=True):
            if "owner" not in d:
                continue
            index = problem.x_index if d["owner"] == ALICE else problem.y_index
            d["func"] = lambda v, _f=d["func"], _i=index: _f(_i(v))
            d["label"] = d["label"].replace("row in", "x in rows", 1).replace("col in", "y in cols", 1)
        return new

    def validate(self) -> None:
        """Check the shape: a rooted binary tree, internal nodes with children 0 and 1."""
        g = self.graph
        if self.root is None:
            raise InvalidInputError("empty protocol tree: add a root")
        if not nx.is_arborescence(g):
            raise InvalidInputError("a protocol tree must be a rooted tree")
        for v, d in g.nodes(data=True):
            bits = sorted(e["bit"] for _, _, e in g.out_edges(v, data=True))
            if "owner" in d and bits != [0, 1]:
                raise InvalidInputError(f"internal node {v} needs children for bits 0 and 1, has {bits}")
            if "owner" not in d and bits:
                raise InvalidInputError(f"leaf {v} has children")

    # -- running ------------------------------------------------------------------------------
    def _child(self, node: int, bit: int) -> int:
        for _, c, d in self.graph.out_edges(node, data=True):
            if d["bit"] == bit:
                return c
        raise InvalidInputError(f"node {node} has no child for bit {bit}")

    def leaf_of(self, x: Any, y: Any) -> int:
        """The leaf reached on (x, y)."""
        node = self.root
        while "owner" in self.graph.nodes[node]:
            d = self.graph.nodes[node]
            bit = int(d["func"](x if d["owner"] == ALICE else y))
            if bit not in (0, 1):
                raise InvalidInputError(f"message function at node {node} returned {bit!r}, not 0/1")
            node = self._child(node, bit)
        return node

    def run(self, x: Any, y: Any, *, seed: int | None = None) -> Transcript:
        node = self.root
        msgs: list[Message] = []
        while "owner" in self.graph.nodes[node]:
            d = self.graph.nodes[node]
            bit = int(d["func"](x if d["owner"] == ALICE else y))
            msgs.append(Message(d["owner"], str(bit)))
            node = self._child(node, bit)
        return Transcript(tuple(msgs), self.graph.nodes[node]["output"])

    @property
    def cost(self) -> int:
        """Depth of the tree (worst-case bits)."""
        return max(nx.single_source_shortest_path_length(self.graph, self.root).values())

    @property
    def leaves(self) -> list[int]:
        return [v for v, d in self.graph.nodes(data=True) if "owner" not in d]

    def leaf_rectangles(self, xs: Sequence[Any], ys: Sequence[Any]) -> list[Rectangle]:
        """The rectangle of each leaf, as indices into ``xs`` (rows) and ``ys`` (columns).

        Leaves no input reaches are omitted. Follows [KN] Prop. 1.13: each leaf's inputs form a
        rectangle R_x × R_y; this is computed by routing rows and columns separately.
        """
        rows: dict[int, list[int]] = {}
        cols: dict[int, list[int]] = {}
        self._route(self.root, list(range(len(xs))), list(range(len(ys))), xs, ys, rows, cols)
        return [
            (tuple(rows[v]), tuple(cols[v]), self.graph.nodes[v]["output"])
            for v in self.leaves if rows.get(v) and cols.get(v)
        ]

    def _route(self, node: int, r: list[int], c: list[int], xs: Sequence[Any], ys: Sequence[Any],
               rows: dict[int, list[int]], cols: dict[int, list[int]]) -> None:
        d = self.graph.nodes[node]
        if "owner" not in d:
            rows[node], cols[node] = r, c
            return
        for bit in (0, 1):
            if d["owner"] == ALICE:
                r2, c2 = [i for i in r if int(d["func"](xs[i])) == bit], c
            else:
                r2, c2 = r, [j for j in c if int(d["func"](ys[j])) == bit]
            self._route(self._child(node, bit), r2, c2, xs, ys, rows, cols)

    def to_dict(self) -> dict[str, Any]:
        """Nested plain-data form: ``{"owner", "label", "0": ..., "1": ...}`` or ``{"output"}``."""
        def rec(v: int) -> dict[str, Any]:
            d = self.graph.nodes[v]
            if "owner" not in d:
                out = d["output"]
                return {"output": out.item() if hasattr(out, "item") else out}
            return {"owner": d["owner"], "label": d["label"],
                    "0": rec(self._child(v, 0)), "1": rec(self._child(v, 1))}
        return rec(self.root)

    def pretty(self) -> str:
        """An indented text drawing of the tree."""
        lines: list[str] = []

        def rec(v: int, indent: str, edge: str) -> None:
            d = self.graph.nodes[v]
            if "owner" not in d:
                lines.append(f"{indent}{edge}output {d['output']}")
                return
            lines.append(f"{indent}{edge}{d['owner']} sends [{d['label'] or 'bit'}]")
            for bit in (0, 1):
                rec(self._child(v, bit), indent + "    ", f"{bit}: ")

        rec(self.root, "", "")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.pretty()


