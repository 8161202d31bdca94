"""CNF encodings of protocol trees of depth d (exact D by SAT, theory §8), and their decoding.

Nodes in heap order (root 1, children 2v and 2v+1, leaves 2**d .. 2**(d+1)-1); IDPool keys:
``("alice", v)`` — Alice owns internal node v; ``("a", v, i)`` / ``("b", v, j)`` — row i / column j
sends bit 1 at v; ``("r", v, i)`` / ``("c", v, j)`` — row i / column j reaches v; ``("out", l)`` —
leaf l outputs 1 (0/1 matrices) or ``("out", l, value)`` — leaf l outputs ``value`` (matrices of more
values: exactly one per leaf). Constraints: ``r[child_bit, i] <-> r[v, i] and (not alice[v] or
a[v, i] == bit)`` and symmetrically for columns; ``r[l, i] and c[l, j] -> out[l] == M[i, j]``.
Symmetry breaking: split bits of rows (columns) that do not reach v, or of the non-owner, are 0, and
the first row (column) reaching v goes to child 0 (swapping the children of a node is a symmetry).

Implied constraints (``fooling``): the cells of a fooling set S lie in distinct leaves of every
correct tree (no monochromatic rectangle holds two of them, [KN] Prop. 1.14), and a node of height h
has at most 2**h leaves below it, so at most ``2**h`` cells of S reach it: ``("z", v, k)`` <-> cell k
of S reaches v, with an at-most-2**h cardinality constraint (sequential counter, pysat.card) on every
node where ``|S| > 2**h``. Every protocol tree of depth d satisfies them, so an UNSAT answer still
means "no tree of depth d" — given that S is a fooling set, which :func:`is_fooling_set` checks.

Examples
--------
>>> from pysat.solvers import Solver
>>> cl, _ = protocol_tree_clauses(np.eye(2, dtype=np.int8), 1)
>>> with Solver(bootstrap_with=cl) as s:
...     s.solve()
False
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ccbounds.bounds import _trees

__all__ = ["decode_tree", "protocol_tree_clauses"]


def protocol_tree_clauses(M: np.ndarray, d: int,
                          fooling: Sequence[tuple[int, int]] = ()) -> tuple[list[list[int]], Any]:
    """CNF whose models are depth-``d`` protocol trees computing M (see module docstring); and its IDPool.

    Parameters
    ----------
    M : numpy.ndarray
        The matrix (0/1, or integer outputs).
    d : int
        The depth.
    fooling : sequence of (row, column)
        A fooling set of M; adds the implied leaf-counting constraints (empty: the plain encoding).
    """
    from pysat.card import CardEnc, EncType
    from pysat.formula import IDPool

    pool = IDPool()
    R, C = M.shape
    cl: list[list[int]] = []
    r = lambda v, i: pool.id(("r", v, i))  # noqa: E731
    c = lambda v, j: pool.id(("c", v, j))  # noqa: E731
    cl += [[r(1, i)] for i in range(R)] + [[c(1, j)] for j in range(C)]
    for v in range(1, 1 << d):
        own = pool.id(("alice", v))
        for side, n, sign, split, inn in (("a", R, 1, "a", r), ("b", C, -1, "b", c)):
            mine = sign * own  # literal "this side owns v"
            for i in range(n):
                s = pool.id((split, v, i))
                cl += [[mine, -s], [inn(v, i), -s]]  # don't-care split bits are 0
                if i == 0:
                    cl.append([-inn(v, 0), -s])  # the first member goes to child 0
                else:
                    seen = pool.id(("seen", side, v, i))  # some member before i reaches v
                    prev = pool.id(("seen", side, v, i - 1)) if i > 1 else None
                    cl.append([-seen, inn(v, i - 1)] + ([prev] if prev else []))
                    cl.append([-inn(v, i), seen, -s])
                for bit in (0, 1):
                    u, lit = 2 * v + bit, (s if bit else -s)
                    cl += [[-inn(u, i), inn(v, i)], [-inn(u, i), -mine, lit],
                           [-inn(v, i), mine, inn(u, i)], [-inn(v, i), -lit, inn(u, i)]]
    values = sorted({int(t) for t in np.unique(M)})
    binary = set(values) <= {0, 1}
    for leaf in range(1 << d, 1 << (d + 1)):
        if binary:
            out = pool.id(("out", leaf))
            for i in range(R):
                for j in range(C):
                    cl.append([-r(leaf, i), -c(leaf, j), out if M[i, j] else -out])
            continue
        outs = [pool.id(("out", leaf, val)) for val in values]
        cl += [[-a, -b] for k, a in enumerate(outs) for b in outs[k + 1:]]
        for i in range(R):
            for j in range(C):
                cl.append([-r(leaf, i), -c(leaf, j), pool.id(("out", leaf, int(M[i, j])))])
    for v in range(1, 1 << (d + 1)):
        h = d - (v.bit_length() - 1)
        if len(fooling) <= 1 << h:
            continue
        zs = []
        for k, (i, j) in enumerate(fooling):
            z = pool.id(("z", v, k))
            zs.append(z)
            cl += [[-r(v, i), -c(v, j), z], [-z, r(v, i)], [-z, c(v, j)]]
        enc = CardEnc.atmost(lits=zs, bound=1 << h, top_id=pool.top, encoding=EncType.seqcounter)
        if enc.nv > pool.top:
            pool.occupy(pool.top + 1, enc.nv)
            pool.top = enc.nv
        cl += enc.clauses
    return cl, pool


def decode_tree(M: np.ndarray, d: int, model: Sequence[int], pool: Any) -> Any:
    """The split spec (see :mod:`ccbounds.bounds._trees`) of a model of :func:`protocol_tree_clauses`."""
    true = {v for v in model if v > 0}

    def rec(v: int, rows: list[int], cols: list[int]) -> Any:
        sub = M[np.ix_(rows, cols)]
        if v >= 1 << d or (sub == sub.flat[0]).all():
            return int(sub.flat[0])
        alice = pool.id(("alice", v)) in true
        items, key = (rows, "a") if alice else (cols, "b")
        ones = [i for i in items if pool.id((key, v, i)) in true]
        zeros = [i for i in items if i not in set(ones)]
        if not ones or not zeros:  # a silent node: skip it
            return rec(2 * v + (1 if ones else 0), rows, cols)
        if alice:
            return (_trees.ALICE, ones, rec(2 * v, zeros, cols), rec(2 * v + 1, ones, cols))
        return (_trees.BOB, ones, rec(2 * v, rows, zeros), rec(2 * v + 1, rows, ones))

    return rec(1, list(range(M.shape[0])), list(range(M.shape[1])))
