"""Refute depth d by enumerating the root splits, pruned by the leaf-rank bound one level down.

The exact recursion (theory §8) on a rectangle R x C of a de-duplicated matrix M: D(R x C) > d iff
R x C is not monochromatic (d = 0), and, for d >= 1, for EVERY split of the rows (or of the columns)
into two nonempty parts one part has D > d - 1 (a silent node never helps, and D of a sub-rectangle
is at most D of the rectangle, so a protocol may be assumed to split at its root).

Each child X is first tested by the leaf count L(X) = sum over output values v of rank([X == v]): a
protocol of depth d - 1 has at most 2^(d-1) leaves, each a monochromatic rectangle, so
L(X) > 2^(d-1) proves D(X) > d - 1 (theory §3). The ranks are taken over GF(2) and, when that is not
enough, modulo the prime P = 2^31 - 1; the rank of an integer matrix modulo a prime is at most its
rank over Q, so both are valid lower bounds, and no floating point is involved. A split whose two
children both pass the test is *open*: the child more likely to fail is refuted recursively
(memoised on its de-duplicated row and column masks), else the other. If an open split has two
children that are not refutable, D(M) <= d and :func:`refute` returns None.

The splits are enumerated by a numba kernel over row/column bitmasks; the result is a
:class:`Refutation` certificate that :func:`ccbounds.bounds._refutation_check.check_refutation`
verifies with code of its own.

Examples
--------
>>> import numpy as np
>>> eq3 = np.eye(3, dtype=np.int8)  # D(EQ on 3 inputs) = 3
>>> refute(eq3, 2) is not None, refute(eq3, 3) is None
(True, True)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from ccbounds.bounds._matrix import Deadline, as_matrix, check_memory, distinct_classes
from ccbounds.errors import InvalidInputError, SolverLimitError, TooLargeError

__all__ = ["P", "KIND_GF2", "KIND_MODP", "KIND_NODE", "KIND_SUB", "KIND_VALUES", "Refutation", "refute"]

#: the prime of the second rank test (2^31 - 1; products of two residues fit in int64)
P = 2147483647
#: entry kinds: leaf count over GF(2), leaf count modulo P, a child node, a subsolver certificate
#: and the number of output values (the only cheap test when both rank tests are switched off)
KIND_GF2, KIND_MODP, KIND_NODE, KIND_SUB, KIND_VALUES = 1, 2, 3, 4, 5
_TESTS = {"gf2": KIND_GF2, "modp": KIND_MODP}
#: largest number of distinct rows or columns (masks are int64; 2^31 splits are out of reach anyway)
MAX_SIDE = 32
_CHUNK = 1 << 14
#: bytes per split while one side is scanned (the kernel's six arrays, the stacked entries, temporaries, and
#: the certificate built from them): measured peak about 170 bytes per split (2.8 GB resident for the
#: 2^24 splits of a 25-row side)
SCAN_BYTES = 180
#: bytes per split entry kept for the certificate (five int64 columns)
ENTRY_BYTES = 40


@dataclass(frozen=True, eq=False)  # arrays: compare certificates by checking them, not by ==
class Refutation:
    """A certificate that D(M) > ``depth``, as a list of nodes with one entry per split.

    Node ``k`` is the rectangle ``node_rows[k]`` x ``node_cols[k]`` (bitmasks over the indices of M)
    claimed to need depth > ``node_depth[k]``. Its entries are ``offsets[k]:offsets[k+1]`` of the
    entry arrays, sorted by (axis, part1): a split of the rows (axis 0) or columns (axis 1) into
    ``part1`` and the rest; ``child`` (0: the rest, 1: ``part1``) needs depth > node_depth - 1 because
    ``kind`` / ``value``: KIND_GF2 / KIND_MODP with the leaf count, KIND_NODE with a node id (a
    sub-rectangle of the child), KIND_SUB with an index into ``subs``: (rows, cols, certificate)
    where the certificate has ``.matrix``, ``.depth`` (it proves D(matrix) > depth) and ``.check()``.
    """

    shape: tuple[int, int]
    depth: int
    root: int
    node_rows: np.ndarray
    node_cols: np.ndarray
    node_depth: np.ndarray
    offsets: np.ndarray
    axis: np.ndarray
    part1: np.ndarray
    child: np.ndarray
    kind: np.ndarray
    value: np.ndarray
    subs: tuple[tuple[int, int, Any], ...] = ()

    @property
    def n_nodes(self) -> int:
        return len(self.node_rows)

    @property
    def n_entries(self) -> int:
        return len(self.part1)

    @property
    def nbytes(self) -> int:
        """Bytes of the numpy arrays (the subsolver certificates not counted)."""
        return sum(a.nbytes for a in (self.node_rows, self.node_cols, self.node_depth, self.offsets,
                                      self.axis, self.part1, self.child, self.kind, self.value))


# ---------------------------------------------------------------- numba kernel: one side's splits

@njit(cache=True)
def _gf2_rank(bits, v, rows, other):
    basis = np.zeros(64, np.int64)  # basis[b]: the vector with leading bit b, or 0
    r = 0
    s = rows
    while s:
        i = 0
        low = s & -s
        while (low >> i) != 1:
            i += 1
        s ^= low
        x = bits[v, i] & other
        b = 63
        while x:
            while not (x >> b) & 1:
                b -= 1
            if basis[b] == 0:
                basis[b] = x
                r += 1
                break
            x ^= basis[b]
    return r


@njit(cache=True)
def _inv(a, p):
    res, e = 1, p - 2
    a %= p
    while e:
        if e & 1:
            res = res * a % p
        a = a * a % p
        e >>= 1
    return res


@njit(cache=True)
def _modp_rank(bits, v, rows, other, p):
    n = 0
    cols = np.empty(64, np.int64)
    for c in range(64):
        if (other >> c) & 1:
            cols[n] = c
            n += 1
    A = np.zeros((64, n), np.int64)
    m = 0
    for i in range(64):
        if (rows >> i) & 1:
            x = bits[v, i]
            for c in range(n):
                A[m, c] = (x >> cols[c]) & 1
            m += 1
    r = 0
    for c in range(n):
        piv = -1
        for i in range(r, m):
            if A[i, c] != 0:
                piv = i
                break
        if piv < 0:
            continue
        for k in range(n):
            A[r, k], A[piv, k] = A[piv, k], A[r, k]
        inv = _inv(A[r, c], p)
        for i in range(r + 1, m):
            f = A[i, c] * inv % p
            if f:
                for k in range(c, n):
                    A[i, k] = (A[i, k] - f * A[r, k]) % p
        r += 1
    return r


@njit(cache=True)
def _leaves(bits, rows, other, test, p):
    t = 0
    for v in range(bits.shape[0]):
        if test == 2:
            t += _modp_rank(bits, v, rows, other, p)
        elif test == 1:
            t += _gf2_rank(bits, v, rows, other)
        else:  # the number of values present
            s = rows
            while s:
                i = 0
                while not (s >> i) & 1:
                    i += 1
                s ^= np.int64(1) << i
                if bits[v, i] & other:
                    t += 1
                    break
    return t


@njit(cache=True)
def _scan(bits, full, rest, other, k0, k1, thr, p, tests, child, kind, value, l0, l1, part1):
    """Splits k0 <= k < k1 of the side ``full``: part1 = the bits of k placed on ``rest``; the cheap
    tests (kinds) in the order given."""
    for t in range(k1 - k0):
        k = k0 + t
        s1 = 0
        for j in range(rest.shape[0]):
            if (k >> j) & 1:
                s1 |= np.int64(1) << rest[j]
        s0 = full ^ s1
        part1[t] = s1
        child[t] = -1
        for test in tests:
            a = _leaves(bits, s1, other, test, p)
            if a > thr:
                child[t], kind[t], value[t] = 1, test, a
                break
            b = _leaves(bits, s0, other, test, p)
            if b > thr:
                child[t], kind[t], value[t] = 0, test, b
                break
            l0[t], l1[t] = b, a


# ---------------------------------------------------------------- the search

def _positions(mask: int) -> list[int]:
    return [i for i in range(mask.bit_length()) if (mask >> i) & 1]


class _Search:
    def __init__(self, M: np.ndarray, deadline: Deadline, sub: Callable[[np.ndarray, int], Any] | None,
                 sub_max_side: int, sub_max_depth: int, tests: tuple[str, ...] = ("gf2", "modp")) -> None:
        self.M, self.deadline, self.sub = M, deadline, sub
        self.tests = np.array([_TESTS[t] for t in tests] or [KIND_VALUES], dtype=np.int64)
        self.sub_max_side, self.sub_max_depth = sub_max_side, sub_max_depth
        vals = np.unique(M)
        # rbits[v, i]: columns where row i holds value v; cbits[v, j]: rows where column j holds v
        self.rbits = np.array([[int(sum(1 << j for j in np.flatnonzero(M[i] == v))) for i in range(M.shape[0])]
                               for v in vals], dtype=np.int64)
        self.cbits = np.array([[int(sum(1 << i for i in np.flatnonzero(M[:, j] == v))) for j in range(M.shape[1])]
                               for v in vals], dtype=np.int64)
        self.memo: dict[tuple[int, int, int], int] = {}
        self.witness: dict[tuple[int, int, int], tuple[int, int]] = {}  # (axis, part1) of a good split
        self.nodes: list[tuple[int, int, int, list[np.ndarray]]] = []
        self.subs: list[tuple[int, int, Any]] = []
        self.scanned = 0
        self.bytes = 0  # split entries kept for the certificate (ENTRY_BYTES each)
        self.memory_budget: int | None = None

    def canonical(self, rows: int, cols: int) -> tuple[int, int]:
        """Drop duplicate rows and columns of the rectangle (first of each class kept)."""
        sub = self.M[np.ix_(_positions(rows), _positions(cols))]
        r = [_positions(rows)[c[0]] for c in distinct_classes(sub, 0)]
        c = [_positions(cols)[k[0]] for k in distinct_classes(sub, 1)]
        return sum(1 << i for i in r), sum(1 << j for j in c)

    def monochromatic(self, rows: int, cols: int) -> bool:
        return np.unique(self.M[np.ix_(_positions(rows), _positions(cols))]).size == 1

    def check_time(self) -> None:
        if self.deadline.expired():
            raise SolverLimitError(f"the split search ran past its time limit after {self.scanned} splits on a "
                                   f"{self.M.shape[0]}x{self.M.shape[1]} matrix; raise time_limit")

    def scan(self, rows: int, cols: int, axis: int, thr: int) -> tuple[np.ndarray, ...]:
        bits, full, other = (self.rbits, rows, cols) if axis == 0 else (self.cbits, cols, rows)
        pos = _positions(full)
        rest = np.array(pos[1:], dtype=np.int64)
        n = (1 << len(rest)) - 1
        check_memory(self.bytes + SCAN_BYTES * n, f"the split search (scanning {n} splits of a "
                     f"{rows.bit_count()}x{cols.bit_count()} rectangle, {self.bytes // ENTRY_BYTES} entries kept)",
                     self.memory_budget)
        out = [np.empty(n, dt) for dt in (np.int8, np.int8, np.int64, np.int64, np.int64, np.int64)]
        for k0 in range(1, n + 1, _CHUNK):
            self.check_time()
            k1 = min(n + 1, k0 + _CHUNK)
            sl = [a[k0 - 1:k1 - 1] for a in out]
            _scan(bits, full, rest, other, k0, k1, thr, P, self.tests, *sl)
            self.scanned += k1 - k0
        return tuple(out)

    def solve(self, rows: int, cols: int, d: int) -> int:
        """Node id of a refutation of depth d on the (canonical) rectangle, or -1 if D <= d."""
        key = (rows, cols, d)
        if key in self.memo:
            return self.memo[key]
        self.check_time()
        if self.monochromatic(rows, cols):
            self.memo[key] = -1
            return -1
        entries: list[np.ndarray] = []
        if d >= 1:
            for axis in (0, 1):
                got = self.split_entries(rows, cols, d, axis)
                if isinstance(got, int):  # an open split with two children of depth <= d - 1
                    self.memo[key], self.witness[key] = -1, (axis, got)
                    return -1
                entries.append(got)
        self.nodes.append((rows, cols, d, entries))
        self.memo[key] = len(self.nodes) - 1
        return len(self.nodes) - 1

    def split_entries(self, rows: int, cols: int, d: int, axis: int) -> np.ndarray | int:
        """Rows (axis, part1, child, kind, value) for every split of one side, or the part1 of a split
        whose two children are not refutable."""
        child, kind, value, l0, l1, part1 = self.scan(rows, cols, axis, 1 << (d - 1))
        full = rows if axis == 0 else cols
        for t in np.flatnonzero(child < 0):
            s1 = int(part1[t])
            order = (1, 0) if (l1[t], s1.bit_count()) >= (l0[t], (full ^ s1).bit_count()) else (0, 1)
            for c in order:
                part = s1 if c == 1 else full ^ s1
                got = self.child(part, cols, d - 1) if axis == 0 else self.child(rows, part, d - 1)
                if got is not None:
                    child[t], (kind[t], value[t]) = c, got
                    break
            else:
                return s1
        n = len(part1)
        self.bytes += ENTRY_BYTES * n
        return np.stack([np.full(n, axis, np.int64), part1, child.astype(np.int64), kind.astype(np.int64), value])

    def child(self, rows: int, cols: int, d: int) -> tuple[int, int] | None:
        """(kind, value) refuting depth d on the rectangle, or None."""
        rows, cols = self.canonical(rows, cols)
        if self.sub is not None and (max(rows.bit_count(), cols.bit_count()) <= self.sub_max_side
                                     or d <= self.sub_max_depth):
            key = (rows, cols, -1 - d)
            if key not in self.memo:
                X = np.ascontiguousarray(self.M[np.ix_(_positions(rows), _positions(cols))])
                cert = self.sub(X, d)
                self.memo[key] = -1 if cert is None else len(self.subs)
                if cert is not None:
                    self.subs.append((rows, cols, cert))
            return None if self.memo[key] < 0 else (KIND_SUB, self.memo[key])
        node = self.solve(rows, cols, d)
        return None if node < 0 else (KIND_NODE, node)

    def certificate(self, root: int, d: int) -> Refutation:
        check_memory(3 * self.bytes, f"the split-search certificate ({self.bytes // ENTRY_BYTES} entries)",
                     self.memory_budget)
        blocks = [np.concatenate(e, axis=1) if e else np.zeros((5, 0), np.int64) for *_, e in self.nodes]
        offsets = np.cumsum([0] + [b.shape[1] for b in blocks]).astype(np.int64)
        E = np.concatenate(blocks, axis=1)
        for k, b in enumerate(blocks):  # sorted by (axis, part1) within each node
            o = np.lexsort((b[1], b[0]))
            E[:, offsets[k]:offsets[k + 1]] = b[:, o]
        return Refutation(
            shape=self.M.shape, depth=d, root=root,
            node_rows=np.array([n[0] for n in self.nodes], np.int64),
            node_cols=np.array([n[1] for n in self.nodes], np.int64),
            node_depth=np.array([n[2] for n in self.nodes], np.int8), offsets=offsets,
            axis=E[0].astype(np.int8), part1=E[1], child=E[2].astype(np.int8), kind=E[3].astype(np.int8),
            value=E[4], subs=tuple(self.subs))


def refute(M: Any, d: int, deadline: Deadline | None = None, sub: Callable[[np.ndarray, int], Any] | None = None,
           *, sub_max_side: int = 0, sub_max_depth: int = -1,
           tests: tuple[str, ...] = ("gf2", "modp"), memory_budget: int | None = None,
           _searches: list | None = None) -> Refutation | None:
    """Prove D(M) > d by split enumeration with leaf-rank pruning; None when D(M) <= d.

    Parameters
    ----------
    M : array_like
        A matrix with integer outputs 0..127; duplicate rows and columns are merged first, and at
        most :data:`MAX_SIDE` distinct rows and columns may remain.
    d : int
        The depth to refute (>= 0).
    deadline : Deadline or None
        Checked between chunks of splits and between nodes; None for no limit.
    sub : callable or None
        ``sub(X, e)`` for a child X (a de-duplicated sub-matrix) and depth e: a certificate that
        D(X) > e (with ``.matrix``, ``.depth`` and ``.check()``), or None when D(X) <= e. Called
        instead of the recursion for children with at most ``sub_max_side`` rows and columns, or
        with ``e <= sub_max_depth``.
    tests : tuple of str
        The cheap tests of a child, in order: ``"gf2"`` and ``"modp"`` (leaf counts with ranks over
        GF(2) and modulo :data:`P`); with neither, only the number of output values is used (an
        ablation: the recursion then does all the work).
    memory_budget : int or None
        Bytes the search may hold (the split arrays of the side being scanned and the certificate's
        entries); None: :data:`~ccbounds.bounds._matrix.MEMORY_BUDGET`. A scan or certificate estimated
        above it raises :class:`~ccbounds.errors.MemoryBudgetError` before allocating.

    Returns
    -------
    Refutation or None
        A certificate for :func:`~ccbounds.bounds._refutation_check.check_refutation`, or None: then
        some split has two children of depth <= d - 1, so D(M) <= d (exhaustive search).

    Raises
    ------
    InvalidInputError, TooLargeError, SolverLimitError
        Bad d, more than 32 distinct rows or columns, the deadline passed or the memory budget
        would be exceeded (:class:`~ccbounds.errors.MemoryBudgetError`, a SolverLimitError).
    """
    M, _ = as_matrix(M, what="the split search", binary=False)
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 0:
        raise InvalidInputError(f"the depth to refute must be an integer >= 0, got {d!r}")
    rows = sum(1 << c[0] for c in distinct_classes(M, 0))
    cols = sum(1 << c[0] for c in distinct_classes(M, 1))
    if max(rows.bit_count(), cols.bit_count()) > MAX_SIDE:
        raise TooLargeError(f"the split search accepts at most {MAX_SIDE} distinct rows and columns, got "
                            f"{rows.bit_count()}x{cols.bit_count()}; use exact_D (SAT)")
    if max(M.shape) > 63:
        raise TooLargeError(f"the split search indexes rows and columns by 64-bit masks: at most 63 of each "
                            f"before merging duplicates, got {M.shape[0]}x{M.shape[1]}; merge duplicates first")
    if not set(tests) <= set(_TESTS):
        raise InvalidInputError(f"unknown cheap tests {sorted(set(tests) - set(_TESTS))}; use 'gf2' and/or 'modp'")
    search = _Search(M, deadline or Deadline(None), sub, sub_max_side, sub_max_depth, tuple(tests))
    search.memory_budget = memory_budget
    if _searches is not None:  # for _lookahead_tree: the splits behind a None
        _searches.append(search)
    root = search.solve(rows, cols, int(d))
    return None if root < 0 else search.certificate(root, int(d))
