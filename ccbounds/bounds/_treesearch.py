"""A fast search for a protocol tree of depth <= d (the upper-bound side of exact D, theory §8).

:func:`find_tree` looks for a protocol tree of depth at most ``d`` on a matrix by depth-first search
over sub-rectangles ``R x C`` (row and column sets as bitmasks). Inside each sub-rectangle equal rows
and equal columns are merged (this keeps D, see :mod:`ccbounds.bounds.exact`), so a sub-rectangle is
named by its representative rows and columns (the lowest index of each class); results are memoised
per such key:

* a key solved with ``t`` bits is solvable with any ``t' >= t`` (the split found is stored);
* a key refuted at depth ``t`` *exhaustively* (every split tried, every child refuted or pruned by a
  lower bound) is refuted at every ``t' <= t``; a failure after trying only the heuristic splits is
  remembered for the current pass only and never counted as a refutation.

Pruning uses lower bounds on D of the sub-rectangle: ``ceil(log2 #values)`` and the leaf-rank bound
``ceil(log2 sum_v rank(S == v))`` over R and over GF(2) (every leaf of value v is a rank-1 block of the
indicator of v; a tree of depth t has at most 2^t leaves; [KN] Lemma 1.28), exact values where one
side has a single class, and the upper bound of the better one-way protocol. Real ranks are numerical
(batched SVDs); they only prune, so an error there could lose a tree, never return a wrong one.

Candidate splits are all splits of a side with few classes, else the splits "value at one column"
(Alice) / "value at one row" (Bob) and the unions and intersections of two of them; those whose
children pass the lower bound are ordered by the children's lower bounds, one-way upper bounds and
leaf-rank totals (ties broken by the seed), and the harder child is searched first. Successive passes
(:data:`_PASSES`) first try a few candidates per node, then all of them, then every split of sides
with up to 10, 12 and 18 classes: with at most 18 distinct rows and columns the last pass is a
complete search, bounded by the deadline.

Only what is found is certified: the returned spec is run on every cell before it is returned.
``None`` means "not found within the deadline", never "no such tree exists".

Examples
--------
>>> import numpy as np
>>> from ccbounds.bounds._trees import depth
>>> spec = find_tree(np.eye(4, dtype=np.int8), 3)
>>> depth(spec) <= 3, find_tree(np.eye(4, dtype=np.int8), 2)  # D(EQ_2) = 3
(True, None)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ccbounds.bounds._matrix import Deadline
from ccbounds.bounds._trees import ALICE, BOB, oneway_spec

__all__ = ["find_tree", "spec_errors"]

#: the successive passes: (splits tried per node or None for all candidates, the most classes a side
#: may have for all of its 2^(n-1) - 1 splits to be candidates; a larger side gets the pattern splits).
#: The last pass enumerates every split of sides up to 18 classes (2^17 - 1 splits): on matrices with
#: at most 18 distinct rows and columns it is a complete search (exponential, bounded by the deadline).
_PASSES = ((4, 7), (12, 7), (None, 7), (None, 10), (None, 12), (None, 18))


class _OutOfTime(Exception):
    pass


def _bits(mask: int) -> list[int]:
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


def _gf2_rank(vectors: list[int]) -> int:
    """Rank over GF(2) of vectors given as int bitmasks (xor basis by leading bit)."""
    basis: dict[int, int] = {}
    for v in vectors:
        while v:
            top = v.bit_length() - 1
            if top not in basis:
                basis[top] = v
                break
            v ^= basis[top]
    return len(basis)


def _representatives(tables: list[list[int]], items: int, other: int) -> int:
    """The lowest index of each class of ``items``: equal masks ``table[i] & other`` in every table."""
    reps = 0
    if len(tables) == 1:  # a 0/1 matrix: the pattern is one mask
        table, seen1 = tables[0], set()
        for i in _bits(items):
            p1 = table[i] & other
            if p1 not in seen1:
                seen1.add(p1)
                reps |= 1 << i
        return reps
    seen: set[tuple[int, ...]] = set()
    for i in _bits(items):
        p = tuple(t[i] & other for t in tables)
        if p not in seen:
            seen.add(p)
            reps |= 1 << i
    return reps


def _indicators(masks: list[int], n: int) -> np.ndarray:
    """0/1 float rows: entry ``[k, i]`` is bit ``i`` of ``masks[k]`` (``i < n``)."""
    if n <= 64:
        bits = np.array(masks, dtype=np.uint64)[:, None] >> np.arange(n, dtype=np.uint64)
        return (bits & np.uint64(1)).astype(np.float64)
    return np.array([[(m >> i) & 1 for i in range(n)] for m in masks], dtype=np.float64)


class _Search:
    """Memoised depth-first search over sub-rectangles of ``M`` (see the module docstring)."""

    def __init__(self, M: np.ndarray, deadline: Deadline, seed: int) -> None:
        self.M = M
        self.deadline = deadline
        self.rng = np.random.default_rng(seed)
        self.values = [int(v) for v in np.unique(M)]
        # by_row[k][i]: columns where row i holds values[k]; by_col[k][j]: rows where column j does
        self.by_row = [[sum(1 << j for j in np.flatnonzero(M[i] == v).tolist()) for i in range(M.shape[0])]
                       for v in self.values]
        self.by_col = [[sum(1 << i for i in np.flatnonzero(M[:, j] == v).tolist()) for j in range(M.shape[1])]
                       for v in self.values]
        self.indicator = np.stack([(M == v).astype(np.float64) for v in self.values])  # (values, rows, cols)
        self.win: dict[tuple[int, int], tuple[int, Any]] = {}   # key -> (depth, how), least depth found
        self.lose: dict[tuple[int, int], int] = {}              # key -> greatest depth refuted exhaustively
        self.tried: set[tuple[tuple[int, int], int]] = set()    # (key, depth) given up in this pass
        self.info: dict[tuple[int, int], tuple[int, float, int, int, int]] = {}
        self.width: int | None = None
        self.exhaustive = 7
        self.nodes = 0

    # ---- sub-rectangles ------------------------------------------------------------------------
    def reduce(self, rows: int, cols: int) -> tuple[int, int]:
        """The key of ``rows x cols``: the lowest row of each row class and column of each column class."""
        reps = _representatives(self.by_row[1:], rows, cols)
        return reps, _representatives(self.by_col[1:], cols, reps)

    def facts(self, key: tuple[int, int]) -> tuple[int, float, int, int, int]:
        """``(lower bound on D, leaf-rank total, one-way upper bound, one-way axis, #values)`` of a key."""
        got = self.info.get(key)
        if got is None:
            self.prepare([key])
            got = self.info[key]
        return got

    def prepare(self, keys: list[tuple[int, int]]) -> None:
        """Fill :meth:`facts` for ``keys``; the real ranks of all of them in one batched SVD."""
        todo: list[tuple[tuple[int, int], list[int], int, int, int]] = []
        blocks: list[tuple[int, int, int]] = []  # (row mask, column mask, value index) to rank over R
        for key in keys:
            if key in self.info:
                continue
            rows, cols = _bits(key[0]), _bits(key[1])
            present = [k for k in range(len(self.values)) if any(self.by_row[k][i] & key[1] for i in rows)]
            nv = len(present)
            if len(rows) == 1 or len(cols) == 1:  # one side has a single class: the other names the value
                d = math.ceil(math.log2(nv))
                self.info[key] = (d, float(nv), d, 0 if len(cols) == 1 else 1, nv)
                continue
            gf2 = sum(_gf2_rank([self.by_row[k][i] & key[1] for i in rows]) for k in present)
            ubs = []
            for axis, (items, other) in enumerate(((rows, key[1]), (cols, key[0]))):
                table = self.by_row if axis == 0 else self.by_col
                answer = max(sum(1 for k in present if table[k][i] & other) for i in items)
                ubs.append((math.ceil(math.log2(len(items))) + math.ceil(math.log2(answer)), axis))
            ub, axis = min(ubs)
            todo.append((key, present, gf2, ub, axis))
            blocks += [(key[0], key[1], k) for k in present]
        if not todo:
            return
        r = _indicators([b[0] for b in blocks], self.M.shape[0])
        c = _indicators([b[1] for b in blocks], self.M.shape[1])
        A = self.indicator[[b[2] for b in blocks]] * r[:, :, None] * c[:, None, :]  # (blocks, rows, cols)
        ranks = np.linalg.matrix_rank(A).tolist()
        at = 0
        for key, present, gf2, ub, axis in todo:
            real = sum(ranks[at:at + len(present)])
            at += len(present)
            total = max(real, gf2, len(present), 3)  # two distinct rows and two distinct columns: 3 leaves
            lb = max(2, math.ceil(math.log2(total) - 1e-9))
            self.info[key] = (lb, float(total), ub, axis, len(present))

    # ---- candidate splits ----------------------------------------------------------------------
    def candidates(self, key: tuple[int, int], t: int) -> tuple[list[tuple[Any, ...]], bool]:
        """Splits of ``key`` whose children pass the lower bound at depth ``t - 1``, best first;
        and whether they are all the splits."""
        rows, cols = key
        out: list[tuple[Any, ...]] = []
        complete = True
        for owner, full, other in ((ALICE, rows, cols), (BOB, cols, rows)):
            items = _bits(full)
            parts: set[int] = set()
            low = full & -full
            if len(items) <= self.exhaustive:
                rest = full ^ low
                sub = rest
                while True:  # every part containing the lowest class except the whole side
                    if (sub | low) != full:
                        parts.add(sub | low)
                        if len(parts) % 65536 == 0 and self.deadline.expired():
                            raise _OutOfTime
                    if sub == 0:
                        break
                    sub = (sub - 1) & rest
            else:
                complete = False
                table = self.by_col if owner == ALICE else self.by_row
                singles = {table[k][j] & full for k in range(len(self.values)) for j in _bits(other)}
                singles = [s for s in singles if 0 < s < full]
                pool = set(singles)
                for a in range(len(singles)):
                    for b in range(a + 1, len(singles)):
                        pool.add(singles[a] & singles[b])
                        pool.add(singles[a] | singles[b])
                for s in pool:
                    if 0 < s < full:
                        parts.add(s if s & low else full ^ s)
            children = []
            for p in parts:
                if owner == ALICE:
                    children.append((p, self.reduce(p, cols), self.reduce(full ^ p, cols)))
                else:
                    children.append((p, self.reduce(rows, p), self.reduce(rows, full ^ p)))
                if len(children) % 256 == 0:  # a batch of ranks, and time to look at the clock
                    self.prepare([k for _, k0, k1 in children[-256:] for k in (k0, k1)])
                    if self.deadline.expired():
                        raise _OutOfTime
            self.prepare([k for _, k0, k1 in children[len(children) - len(children) % 256:] for k in (k0, k1)])
            for p, k0, k1 in children:
                f0, f1 = self.info[k0], self.info[k1]
                if max(f0[0], f1[0]) > t - 1 or self.lose.get(k0, -1) >= t - 1 or self.lose.get(k1, -1) >= t - 1:
                    continue
                if f0[1] < f1[1]:  # the harder child first
                    k0, k1, f0, f1 = k1, k0, f1, f0
                score = (max(f0[0], f1[0]), max(f0[2], f1[2]), f0[1] + f1[1], f0[1], self.rng.random())
                out.append((score, owner, p, k0, k1))
        out.sort(key=lambda c: c[0])
        return out, complete

    # ---- search --------------------------------------------------------------------------------
    def solve(self, key: tuple[int, int], t: int) -> bool | None:
        """True: a tree of depth <= t exists (stored in ``win``); False: refuted; None: gave up."""
        w = self.win.get(key)
        if w is not None and w[0] <= t:
            return True
        if self.lose.get(key, -1) >= t:
            return False
        lb, _, ub, axis, _ = self.facts(key)
        if lb > t:
            return False
        if ub <= t:
            self.win[key] = (ub, ("oneway", axis))
            return True
        if (key, t) in self.tried:
            return None
        self.nodes += 1
        if self.deadline.expired():
            raise _OutOfTime
        cands, complete = self.candidates(key, t)
        if self.width is not None and len(cands) > self.width:
            cands, complete = cands[:self.width], False
        for _, owner, part, k0, k1 in cands:
            a = self.solve(k0, t - 1)
            if a is not True:
                complete = complete and a is False
                continue
            b = self.solve(k1, t - 1)
            if b is True:
                self.win[key] = (t, (owner, part))
                return True
            complete = complete and b is False
        if complete:
            self.lose[key] = t
            return False
        self.tried.add((key, t))
        return None

    # ---- the tree found ------------------------------------------------------------------------
    def spec(self, rows: int, cols: int) -> Any:
        """The spec of the tree stored for ``rows x cols`` (full index sets, duplicates included)."""
        key = self.reduce(rows, cols)
        _, how = self.win[key]
        if how[0] == "oneway":
            r, c = _bits(rows), _bits(cols)
            return _relabel(oneway_spec(self.M[np.ix_(r, c)], how[1]), r, c)
        owner, part = how
        # every row (column) goes where the representative of its class goes
        if owner == ALICE:
            tables, reps, items, other = self.by_row[1:], part, rows, cols
        else:
            tables, reps, items, other = self.by_col[1:], part, cols, rows
        side = key[0] if owner == ALICE else key[1]
        pattern = lambda i: tuple(t[i] & other for t in tables)  # noqa: E731
        rep_of = {pattern(i): i for i in _bits(side)}
        ones = [i for i in _bits(items) if (reps >> rep_of[pattern(i)]) & 1]
        mask = sum(1 << i for i in ones)
        if owner == ALICE:
            return (ALICE, ones, self.spec(rows ^ mask, cols), self.spec(mask, cols))
        return (BOB, ones, self.spec(rows, cols ^ mask), self.spec(rows, mask))


def _relabel(spec: Any, rows: list[int], cols: list[int]) -> Any:
    """A spec on the indices of a submatrix mapped to the indices of the whole matrix."""
    if not isinstance(spec, tuple):
        return spec
    owner, ones, c0, c1 = spec
    index = rows if owner == ALICE else cols
    return (owner, [index[k] for k in ones], _relabel(c0, rows, cols), _relabel(c1, rows, cols))


def spec_errors(M: np.ndarray, spec: Any) -> list[tuple[int, int]]:
    """The cells ``(i, j)`` on which ``spec`` does not output ``M[i, j]`` (empty: it computes M).

    Examples
    --------
    >>> spec_errors(np.array([[0, 1]]), ("Bob", [1], 0, 1)), spec_errors(np.array([[0, 1]]), 0)
    ([], [(0, 1)])
    """
    wrong = []
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            s = spec
            while isinstance(s, tuple):
                owner, ones, c0, c1 = s
                s = c1 if (i if owner == ALICE else j) in ones else c0
            if s != M[i, j]:
                wrong.append((i, j))
    return wrong


def find_tree(M: np.ndarray, d: int, deadline: Deadline | None = None, seed: int = 0) -> Any:
    """A protocol tree of depth at most ``d`` computing ``M``, as a spec, or ``None`` if none was found.

    Parameters
    ----------
    M : numpy.ndarray
        A 2-D integer matrix (0/1 or several output values), best with duplicate rows and columns
        already merged (they are merged inside the search anyway), at most 64 x 64 in practice.
    d : int
        The depth sought.
    deadline : Deadline or None
        When to give up (``None``: no limit; the last pass is then exhaustive over the candidate
        splits, which can take exponential time).
    seed : int
        Breaks ties between equally scored splits; the same seed gives the same tree.

    Returns
    -------
    spec or None
        A spec in the format of :mod:`ccbounds.bounds._trees` (row/column indices of ``M``) of depth
        at most ``d``, checked on every cell; ``None`` when none was found (not a proof that none exists).

    Examples
    --------
    >>> from ccbounds.bounds._trees import depth
    >>> depth(find_tree(np.array([[0, 0, 1], [0, 1, 1], [1, 1, 1]]), 3))
    3
    """
    M = np.asarray(M)
    deadline = Deadline(None) if deadline is None else deadline
    search = _Search(M, deadline, seed)
    full = ((1 << M.shape[0]) - 1, (1 << M.shape[1]) - 1)
    root = search.reduce(*full)
    try:
        for search.width, search.exhaustive in _PASSES:
            search.tried.clear()
            found = search.solve(root, d)
            if found is not None:
                break
    except _OutOfTime:
        return None
    if not found:
        return None
    spec = search.spec(*full)
    wrong = spec_errors(M, spec)
    if wrong:
        raise RuntimeError(f"internal error: the tree found errs on {wrong[:3]}; please report this matrix")
    return spec
