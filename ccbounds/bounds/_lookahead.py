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

import numba
import numpy as np
from numba import njit, prange

from ccbounds.bounds._matrix import Deadline, as_matrix, check_memory, distinct_classes
from ccbounds.errors import InvalidInputError, SolverLimitError, TooLargeError

__all__ = ["P", "KIND_GF2", "KIND_ISO", "KIND_MODP", "KIND_NODE", "KIND_SUB", "KIND_VALUES", "Refutation", "refute"]

#: the prime of the second rank test (2^31 - 1; products of two residues fit in int64)
P = 2147483647
#: entry kinds: leaf count over GF(2), leaf count modulo P, a child node, a subsolver certificate
#: and the number of output values (the only cheap test when both rank tests are switched off)
KIND_GF2, KIND_MODP, KIND_NODE, KIND_SUB, KIND_VALUES = 1, 2, 3, 4, 5
#: a child holding an image of a node under the symmetries of D (theory §8.9): value indexes ``isos``
KIND_ISO = 6
_TESTS = {"gf2": KIND_GF2, "modp": KIND_MODP}
#: largest number of distinct rows or columns (masks are int64; 2^31 splits are out of reach anyway)
MAX_SIDE = 32
_CHUNK = 1 << 14
#: the symmetric memo (normal forms, theory §8.9) is consulted for rectangles with a side of at least this
#: many lines: a normal form costs milliseconds, more than searching a smaller rectangle
ISO_MIN_SIDE = 10
#: a side with at least this many splits is scanned on ``workers`` threads, a smaller one on one
PARALLEL_SPLITS = 1 << 15
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
    isos: tuple[tuple[int, tuple[int, ...], tuple[int, ...], bool, bool], ...] = ()

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
def _scan_one(bits, full, rest, other, k0, t, thr, p, tests, bigfirst, child, kind, value, l0, l1, part1):
    """Split k0 + t of the side ``full``: part1 = the bits of k0 + t placed on ``rest``; the cheap tests
    (kinds) in the order given, on the larger child first when ``bigfirst``."""
    k = k0 + t
    s1 = 0
    n1 = 0
    for j in range(rest.shape[0]):
        if (k >> j) & 1:
            s1 |= np.int64(1) << rest[j]
            n1 += 1
    s0 = full ^ s1
    part1[t] = s1
    child[t] = -1
    l0[t], l1[t] = 0, 0
    first = 1
    n0 = rest.shape[0] + 1 - n1
    if bigfirst and n0 > n1:
        first = 0
    # with bigfirst: a child of k lines has at most #values * min(k, |other|) leaves; when that is not
    # above thr no test can succeed on it, and it is not computed (its count stays 0)
    no = 0
    o = other
    while o:
        o &= o - 1
        no += 1
    nb = min(n1 if first == 0 else n0, no) * bits.shape[0]  # the second child's trivial bound
    for test in tests:
        a = _leaves(bits, s1 if first == 1 else s0, other, test, p)
        if a > thr:
            child[t], kind[t], value[t] = first, test, a
            break
        if bigfirst and nb <= thr:
            b = 0
        else:
            b = _leaves(bits, s0 if first == 1 else s1, other, test, p)
        if b > thr:
            child[t], kind[t], value[t] = 1 - first, test, b
            break
        if first == 1:
            l0[t], l1[t] = b, a
        else:
            l0[t], l1[t] = a, b


@njit(cache=True)
def _scan(bits, full, rest, other, k0, k1, thr, p, tests, bigfirst, child, kind, value, l0, l1, part1):
    """Splits k0 <= k < k1 of the side ``full`` (see :func:`_scan_one`), one thread."""
    for t in range(k1 - k0):
        _scan_one(bits, full, rest, other, k0, t, thr, p, tests, bigfirst, child, kind, value, l0, l1, part1)


@njit(cache=True, parallel=True)
def _scan_par(bits, full, rest, other, k0, k1, thr, p, tests, bigfirst, child, kind, value, l0, l1, part1):
    """The same splits divided between numba's threads (each split is independent: same result)."""
    for t in prange(k1 - k0):
        _scan_one(bits, full, rest, other, k0, t, thr, p, tests, bigfirst, child, kind, value, l0, l1, part1)


# ---------------------------------------------------------------- the search

def _positions(mask: int) -> list[int]:
    return [i for i in range(mask.bit_length()) if (mask >> i) & 1]


class _Search:
    """The memoised split search. With ``speedups`` (theory §8.9) a refutation of a rectangle at depth e
    answers every query at depth <= e and a tree of depth e every query at depth >= e, also when the
    search is reused for the next depth; a child containing a refuted node is refuted by that node
    (the checker accepts any node inside the child); a child whose merged matrix has the normal form
    (:mod:`ccbounds.bounds._canonical`) of a refuted node is refuted by a KIND_ISO entry; hopeless cheap
    tests are skipped, the larger child is tested first, the side with fewer splits is scanned first,
    and the scan runs on ``workers`` threads. Without them it is the search of ccbounds at 383c2a5."""

    def __init__(self, M: np.ndarray, deadline: Deadline, sub: Callable[[np.ndarray, int], Any] | None,
                 sub_max_side: int, sub_max_depth: int, tests: tuple[str, ...] = ("gf2", "modp"),
                 speedups: bool = False, workers: int = 1) -> None:
        self.M, self.deadline, self.sub = M, deadline, sub
        self.tests = np.array([_TESTS[t] for t in tests] or [KIND_VALUES], dtype=np.int64)
        self.sub_max_side, self.sub_max_depth = sub_max_side, sub_max_depth
        self.speedups, self.workers = bool(speedups), max(1, int(workers))
        self.binary = bool(np.isin(M, (0, 1)).all())
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
        self.isos: list[tuple[int, tuple[int, ...], tuple[int, ...], bool, bool]] = []
        self.scanned = 0
        self.bytes = 0  # split entries kept for the certificate (ENTRY_BYTES each)
        self.memory_budget: int | None = None
        self.self_test = True
        # speedups: (rows, cols) -> (deepest refuted depth, node) / shallowest depth with a tree
        self.refuted: dict[tuple[int, int], tuple[int, int]] = {}
        self.won: dict[tuple[int, int], int] = {}
        self.forms: dict[bytes, tuple[int, int, int, int, Any]] = {}  # form -> (depth, node, rows, cols, Form)
        self._nr = np.zeros(64, np.int64)  # refuted nodes as arrays, for the containment test
        self._nc = np.zeros(64, np.int64)
        self._nd = np.full(64, -1, np.int64)
        self._nn = np.zeros(64, np.int64)
        self._n = 0
        self.hits = {"memo_hits": 0, "depth_hits": 0, "contain_hits": 0, "iso_hits": 0}

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
        tests = self.tests
        if self.speedups and len(tests) > 1:
            # a child's leaf count is at most the rectangle's (ranks of sub-matrices): a test the whole
            # rectangle fails is failed by every child, so it is skipped (the last one is kept: its counts
            # order the open splits)
            keep = [t for t in tests[:-1] if _leaves(bits, full, other, t, P) > thr] + [tests[-1]]
            tests = np.array(keep, dtype=np.int64)
        workers = self.workers if n >= PARALLEL_SPLITS else 1  # threads cost more than they save on small scans
        kernel = _scan_par if workers > 1 else _scan
        if workers > 1:
            numba.set_num_threads(min(workers, numba.config.NUMBA_NUM_THREADS))
        out = [np.empty(n, dt) for dt in (np.int8, np.int8, np.int64, np.int64, np.int64, np.int64)]
        for k0 in range(1, n + 1, _CHUNK * workers):
            self.check_time()
            k1 = min(n + 1, k0 + _CHUNK * workers)
            sl = [a[k0 - 1:k1 - 1] for a in out]
            kernel(bits, full, rest, other, k0, k1, thr, P, tests, self.speedups, *sl)
            self.scanned += k1 - k0
        return tuple(out)

    def _remember(self, rows: int, cols: int, d: int, node: int) -> int:
        """Record the outcome of ``solve`` (node id, or -1 for D <= d) in the memos; returns ``node``."""
        self.memo[(rows, cols, d)] = node
        if not self.speedups:
            return node
        if node < 0:
            self.won[(rows, cols)] = min(d, self.won.get((rows, cols), d))
            return node
        if self.refuted.get((rows, cols), (-1, -1))[0] < d:
            self.refuted[(rows, cols)] = (d, node)
        if self._n == len(self._nr):
            self._nr, self._nc, self._nd, self._nn = (np.concatenate([a, np.zeros_like(a)])
                                                      for a in (self._nr, self._nc, self._nd, self._nn))
        self._nr[self._n], self._nc[self._n], self._nd[self._n], self._nn[self._n] = rows, cols, d, node
        self._n += 1
        return node

    def self_refuted(self, rows: int, cols: int, d: int) -> bool:
        """The rectangle's own leaf count (the cheap tests, in order) exceeds 2^d, so D > d (theory §3.4)."""
        return any(_leaves(self.rbits, rows, cols, int(t), P) > (1 << d) for t in self.tests)

    def solve(self, rows: int, cols: int, d: int) -> int:
        """Node id of a refutation of depth d on the (canonical) rectangle, or -1 if D <= d."""
        key = (rows, cols, d)
        if key in self.memo:
            self.hits["memo_hits"] += 1
            return self.memo[key]
        if self.speedups:
            ref = self.refuted.get((rows, cols))
            if ref is not None and ref[0] >= d:  # refuted deeper: refuted here (node depth >= d)
                self.hits["depth_hits"] += 1
                return ref[1]
            if self.won.get((rows, cols), d + 1) <= d:  # a tree of smaller depth
                self.hits["depth_hits"] += 1
                return -1
        self.check_time()
        if self.monochromatic(rows, cols):
            return self._remember(rows, cols, d, -1)
        entries: list[np.ndarray] = []
        if d >= 1 and self.self_test and self.self_refuted(rows, cols, d):
            # the node's own leaf count exceeds 2^d: refuted without its splits (an entry-free node, which
            # the checker accepts by recomputing the count; theory §8.5). Only a root can get here: a child
            # is searched only after this very test failed on it at its parent's scan.
            self.nodes.append((rows, cols, d, entries))
            return self._remember(rows, cols, d, len(self.nodes) - 1)
        if d >= 1:
            axes = (0, 1)
            if self.speedups and cols.bit_count() < rows.bit_count():  # fewer splits first: a tree shows sooner
                axes = (1, 0)
            for axis in axes:
                got = self.split_entries(rows, cols, d, axis)
                if isinstance(got, int):  # an open split with two children of depth <= d - 1
                    self.witness[key] = (axis, got)
                    return self._remember(rows, cols, d, -1)
                entries.append(got)
        self.nodes.append((rows, cols, d, entries))
        return self._remember(rows, cols, d, len(self.nodes) - 1)

    def split_entries(self, rows: int, cols: int, d: int, axis: int) -> np.ndarray | int:
        """Rows (axis, part1, child, kind, value) for every split of one side, or the part1 of a split
        whose two children are not refutable."""
        child, kind, value, l0, l1, part1 = self.scan(rows, cols, axis, 1 << (d - 1))
        full = rows if axis == 0 else cols
        for t in np.flatnonzero(child < 0):
            s1 = int(part1[t])
            order = (1, 0) if (l1[t], s1.bit_count()) >= (l0[t], (full ^ s1).bit_count()) else (0, 1)
            got = None
            if self.speedups and self.sub is None:  # what is known of either child, before any recursion
                for c in order:
                    part = s1 if c == 1 else full ^ s1
                    got = self.known(part, cols, d - 1) if axis == 0 else self.known(rows, part, d - 1)
                    if got is not None:
                        child[t], (kind[t], value[t]) = c, got
                        break
            if got is not None:
                continue
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

    def contained(self, rows: int, cols: int, d: int) -> int:
        """A refuted node of depth >= d inside the rectangle (any rows and columns), or -1."""
        n = self._n
        if n == 0:
            return -1
        ok = (((self._nr[:n] & ~np.int64(rows)) == 0) & ((self._nc[:n] & ~np.int64(cols)) == 0)
              & (self._nd[:n] >= d))
        hit = np.flatnonzero(ok)
        return int(self._nn[hit[0]]) if len(hit) else -1

    def iso(self, rows: int, cols: int, d: int) -> tuple[Any, int]:
        """``(normal form key, index into isos or -1)``: a refuted node whose merged matrix has the normal
        form of this (canonical) rectangle's, at depth >= d, mapped onto it (theory §8.9)."""
        from ccbounds.bounds._canonical import normal_form

        xr, xc = _positions(rows), _positions(cols)
        X = self.M[np.ix_(xr, xc)]
        key, fx = normal_form(X, self.binary)
        got = self.forms.get(key)
        if got is None or got[0] < d:
            return (key, fx), -1
        depth, node, yrows, ycols, fy = got
        # N = V_X[fx.rows][:, fx.cols] = V_Y[fy.rows][:, fy.cols]: row a of V_Y is row rho[a] of V_X
        rho = np.empty(len(fy.rows), np.int64)
        rho[fy.rows] = fx.rows
        gam = np.empty(len(fy.cols), np.int64)
        gam[fy.cols] = fx.cols
        t, c = fx.transposed != fy.transposed, fx.complemented != fy.complemented
        if fx.transposed:  # V_X = X^T: its rows are columns of X
            rho, gam = gam, rho
        xrows = tuple(int(xr[i]) for i in rho)
        xcols = tuple(int(xc[j]) for j in gam)
        Y = self.M[np.ix_(_positions(yrows), _positions(ycols))]
        G = Y.T if t else Y
        if not np.array_equal(self.M[np.ix_(xrows, xcols)], 1 - G if c else G):
            return (key, fx), -1  # cannot happen for equal keys; a miss costs nothing
        self.isos.append((node, xrows, xcols, bool(t), bool(c)))
        return (key, fx), len(self.isos) - 1

    def known(self, rows: int, cols: int, d: int) -> tuple[int, int] | None:
        """(kind, value) refuting depth d on the rectangle by a node already proven (one inside it, or the
        same merged rectangle refuted at depth >= d), without searching; None if there is none."""
        node = self.contained(rows, cols, d)
        if node >= 0:
            self.hits["contain_hits"] += 1
            return KIND_NODE, node
        return None

    def child(self, rows: int, cols: int, d: int) -> tuple[int, int] | None:
        """(kind, value) refuting depth d on the rectangle, or None."""
        if self.speedups and self.sub is None:
            node = self.contained(rows, cols, d)
            if node >= 0:
                self.hits["contain_hits"] += 1
                return KIND_NODE, node
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
        form = None
        if (self.speedups and (rows, cols, d) not in self.memo and (rows, cols) not in self.refuted
                and (rows, cols) not in self.won and d >= 1 and min(rows.bit_count(), cols.bit_count()) > 1
                and max(rows.bit_count(), cols.bit_count()) >= ISO_MIN_SIDE):
            form, k = self.iso(rows, cols, d)
            if k >= 0:
                self.hits["iso_hits"] += 1
                return KIND_ISO, k
        node = self.solve(rows, cols, d)
        if node >= 0 and form is not None:
            key, f = form
            if self.forms.get(key, (-1,))[0] < d:
                self.forms[key] = (d, node, rows, cols, f)
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
            value=E[4], subs=tuple(self.subs), isos=tuple(self.isos))


def refute(M: Any, d: int, deadline: Deadline | None = None, sub: Callable[[np.ndarray, int], Any] | None = None,
           *, sub_max_side: int = 0, sub_max_depth: int = -1,
           tests: tuple[str, ...] = ("gf2", "modp"), memory_budget: int | None = None,
           speedups: bool = True, workers: int = 1, self_test: bool = True, _searches: list | None = None,
           _reuse: Any = None) -> Refutation | None:
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
    speedups : bool
        The memo shared across depths, refutation by a contained node or a symmetric image, the skipped
        tests and scan order of theory §8.9 (default); False: the search of ccbounds at commit 383c2a5.
    workers : int
        Threads the split scan is divided between (numba; each split is independent, so the answer and
        the certificate are the same for every value); 1: one thread.
    self_test : bool
        Test a node's own leaf count before scanning its splits (default): a rectangle with more than
        2^d leaves is refuted by an entry-free node, whatever its size (theory §8.5). Only the root can
        be refuted this way (a child reaches the search only after failing the same test at its parent's
        scan), so this is what keeps ``refute(INDEX(3, q=3), 3)`` from scanning 2^26 splits. False: scan
        the root too (for tests of the scan's certificate entries).

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
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise InvalidInputError(f"workers must be an integer >= 1, got {workers!r}")
    search = _reuse
    if search is None or search.M.shape != M.shape or not np.array_equal(search.M, M) or search.sub is not sub:
        search = _Search(M, deadline or Deadline(None), sub, sub_max_side, sub_max_depth, tuple(tests),
                         speedups=speedups, workers=int(workers))
    search.deadline = deadline or Deadline(None)
    search.memory_budget = memory_budget
    search.self_test = bool(self_test)
    if _searches is not None:  # for _lookahead_tree: the splits behind a None
        _searches.append(search)
    root = search.solve(rows, cols, int(d))
    return None if root < 0 else search.certificate(root, int(d))
