"""CNF encodings of rectangle partitions and covers of a matrix (theory §8), shared by the search and its checker.

:mod:`~ccbounds.bounds.rectangles` solves these formulas; :mod:`~ccbounds.bounds.drup` rebuilds them to check a
logged UNSAT proof without importing the search.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["rectangle_clauses"]


def rectangle_clauses(M: np.ndarray, kind: str, k: int, fool: list[tuple[int, int]]) -> tuple[list[list[int]], Any]:
    """CNF: ``k`` rectangles of ``kind`` cover (partition) ``M``'s cells, the fooling pairs ``fool`` pinned.

    Variables are ``pool.id(("row", t, i))``, ``("col", t, j)``, ``("in", t, i, j)`` and, for a partition,
    ``("out", t)`` (the colour of rectangle t); returns the clauses and the pysat ``IDPool``.
    """
    from pysat.formula import IDPool

    pool = IDPool()
    R, C = M.shape
    row = {(t, i): pool.id(("row", t, i)) for t in range(k) for i in range(R)}
    col = {(t, j): pool.id(("col", t, j)) for t in range(k) for j in range(C)}
    cl: list[list[int]] = []
    if kind == "partition":
        out = {t: pool.id(("out", t)) for t in range(k)}
        for i in range(R):
            for j in range(C):
                ins = []
                for t in range(k):
                    v = pool.id(("in", t, i, j))
                    ins.append(v)
                    cl += [[-v, row[t, i]], [-v, col[t, j]], [v, -row[t, i], -col[t, j]],
                           [-v, out[t] if M[i, j] else -out[t]]]
                cl.append(ins)
                cl += [[-a, -b] for n, a in enumerate(ins) for b in ins[n + 1:]]
        for t, (i, j) in enumerate(fool[:k]):
            cl.append([pool.id(("in", t, i, j))])
    else:  # "binary-rank": the 1-cells partitioned by 1-rectangles; otherwise the kind[-1]-cells covered
        exact = kind == "binary-rank"
        val = 1 if exact else int(kind[-1])
        for i in range(R):
            for j in range(C):
                if M[i, j] != val:
                    cl += [[-row[t, i], -col[t, j]] for t in range(k)]
                    continue
                ins = []
                for t in range(k):
                    v = pool.id(("in", t, i, j))
                    ins.append(v)
                    cl += [[-v, row[t, i]], [-v, col[t, j]]]
                    if exact:
                        cl.append([v, -row[t, i], -col[t, j]])
                cl.append(ins)
                if exact:
                    cl += [[-a, -b] for n, a in enumerate(ins) for b in ins[n + 1:]]
        for t, (i, j) in enumerate(fool[:k]):
            cl += [[pool.id(("in", t, i, j))]] if exact else [[row[t, i]], [col[t, j]]]
    return cl, pool
