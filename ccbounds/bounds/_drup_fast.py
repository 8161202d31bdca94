"""The compiled engine of :func:`ccbounds.bounds.check_rup_proof`: the same forward RUP check, in numba.

Same semantics as the pure-Python :class:`ccbounds.bounds.drup._Propagator` (theory §8): clauses are
deduplicated, tautologies skipped, top-level units stay assigned for good, deletions are applied (a
proof rejected that way is checked once more keeping every clause). The data are flat arrays: every
clause (formula first, then one per proof line) is ``lits[start[c] : start[c] + size[c]]``; watch lists
are singly linked lists of watch slots (slot ``2c + k`` watches ``lits[start[c] + k]``, ``k`` in
{0, 1}); a deletion is resolved beforehand to the id of the most recent live copy of the same literal
set (:func:`_deletion_targets`) and marks it deleted, and watch lists skip and unlink deleted clauses
lazily. The proof text is parsed by :func:`_parse`, a byte scanner; anything it does not recognise as
plain DRUP (``"1 -2 0"``, ``"d 1 -2 0"``) is handed back to the Python parser, which decides.

Nothing here calls a SAT solver. Importing this module imports numba; :mod:`ccbounds.bounds.drup`
imports it only when the numba engine is asked for.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
from numba import njit

from ccbounds.errors import InvalidInputError

__all__ = ["check_arrays", "formula_arrays", "proof_arrays"]

_MAX_VAR = 1 << 30  # literals are int32; larger variable indices are refused


# ----------------------------------------------------------------------------------------- parsing

@njit(cache=True)
def _parse(buf, n_lines):
    """Scan ``n_lines`` newline-separated DRUP lines; ``ok`` False on anything but ``[d] [-]digits ... 0``.

    Returns ``(ok, lits, offs, dele)``: line ``i`` (empty lines dropped) is ``lits[offs[i]:offs[i+1]]``
    without its final 0; ``dele[i]`` marks ``d`` lines.
    """
    n = buf.shape[0]
    lits = np.empty(n // 2 + 1, np.int32)
    offs = np.zeros(n_lines + 1, np.int64)
    dele = np.zeros(n_lines, np.bool_)
    n_lits, n_steps, line_no = 0, 0, 0
    i = 0
    while i <= n:  # one line per round
        is_del, last_zero = False, False
        first = True
        while i < n and buf[i] != 10:
            c = buf[i]
            if c == 32:
                i += 1
                continue
            if last_zero:  # a 0 that is not the last token
                return False, lits, offs, dele
            if c == 100:  # "d", only as the first token
                if not first or (i + 1 < n and buf[i + 1] != 32 and buf[i + 1] != 10):
                    return False, lits, offs, dele
                is_del, first = True, False
                i += 1
                continue
            neg = c == 45
            if neg:
                i += 1
            value, digits = 0, 0
            while i < n and 48 <= buf[i] <= 57:
                value = value * 10 + (np.int64(buf[i]) - 48)
                digits += 1
                i += 1
            if digits == 0 or digits > 10 or value >= _MAX_VAR or (i < n and buf[i] != 32 and buf[i] != 10):
                return False, lits, offs, dele
            first = False
            if value == 0:
                last_zero = True
            else:
                lits[n_lits] = -value if neg else value
                n_lits += 1
        line_no += 1
        i += 1
        if first:  # a blank line: no step (as the Python parser)
            continue
        if line_no > n_lines:
            return False, lits, offs, dele
        dele[n_steps] = is_del
        n_steps += 1
        offs[n_steps] = n_lits
    return line_no == n_lines, lits[:n_lits], offs[: n_steps + 1], dele[:n_steps]


def proof_arrays(proof: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Proof lines as ``(lits, offs, dele)``; raises ``ValueError`` where the Python parser would.

    Text lines go through the byte scanner; integer lists, odd spacing or anything unusual through
    :func:`ccbounds.bounds.drup.parse_proof`, the reference parser.

    Examples
    --------
    >>> lits, offs, dele = proof_arrays(["1 -2 0", "d 1 -2 0", "0"])
    >>> lits.tolist(), offs.tolist(), dele.tolist()
    ([1, -2, 1, -2], [0, 2, 4, 4], [False, True, False])
    """
    if proof and all(isinstance(line, str) for line in proof):
        try:
            buf = np.frombuffer("\n".join(proof).encode("ascii"), np.uint8)
        except UnicodeEncodeError:
            buf = None
        if buf is not None:
            ok, lits, offs, dele = _parse(buf, len(proof))
            if ok:
                return lits, offs, dele
    from ccbounds.bounds._proof_lines import parse_proof

    steps = parse_proof(proof)
    sizes = np.fromiter((len(c) for _, c in steps), np.int64, len(steps))
    lits = np.fromiter(itertools.chain.from_iterable(c for _, c in steps), np.int64, int(sizes.sum()))
    offs = np.concatenate([[0], np.cumsum(sizes)])
    return _as_lits(lits, "a proof line"), offs, np.array([d for d, _ in steps], np.bool_)


def formula_arrays(clauses: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """The formula as flat literals and sizes (int32 / int64).

    Examples
    --------
    >>> [a.tolist() for a in formula_arrays([(1, -2), (3,)])]
    [[1, -2, 3], [2, 1]]
    """
    sizes = np.fromiter(map(len, clauses), np.int64, len(clauses))
    lits = np.fromiter(itertools.chain.from_iterable(clauses), np.int64, int(sizes.sum()))
    if (lits == 0).any():
        raise InvalidInputError("a formula clause contains the literal 0; give clauses without DIMACS's final 0")
    return _as_lits(lits, "a formula clause"), sizes


def _as_lits(lits: np.ndarray, what: str) -> np.ndarray:
    if lits.size and np.abs(lits).max() >= _MAX_VAR:
        raise InvalidInputError(f"{what} has a variable index >= 2^30; renumber the variables from 1")
    return lits.astype(np.int32)


# ------------------------------------------------------------------------------------- deletions

@njit(cache=True)
def _mix(x):
    x = (x ^ (x >> 31)) * 0x7FB5D329728EA185
    x = (x ^ (x >> 27)) * 0x01CE4E5B9D2F7A51
    return x ^ (x >> 33)


@njit(cache=True)
def _deletion_targets(nvars, lits, start, size, n_formula, dele):
    """For each deletion step, the id of the latest live clause with the same literal set (or -1).

    ``lits`` holds literal indices (2 v + sign), as in the propagation below.
    """
    n_cl = start.shape[0]
    cap = 1
    while cap < 2 * n_cl + 2:
        cap *= 2
    keys = np.zeros(cap, np.int64)
    heads = np.full(cap, -1, np.int64)  # the latest clause with that hash (chained through chain)
    used = np.zeros(cap, np.bool_)
    chain = np.full(n_cl, -1, np.int64)
    uniq = np.zeros(n_cl, np.int64)
    stamp = np.zeros(2 * nvars + 2, np.int64)
    target = np.full(n_cl - n_formula, -1, np.int64)
    for c in range(n_cl):
        h, u = 0, 0
        for k in range(start[c], start[c] + size[c]):
            li = lits[k]
            if stamp[li] != c + 1:
                stamp[li] = c + 1
                h += _mix(li + 1)
                u += 1
        h ^= _mix(-u - 1)
        uniq[c] = u
        slot = h & (cap - 1)
        while used[slot] and keys[slot] != h:
            slot = (slot + 1) & (cap - 1)
        if c < n_formula or not dele[c - n_formula]:
            if not used[slot]:
                used[slot], keys[slot] = True, h
            chain[c] = heads[slot]
            heads[slot] = c
            continue
        if not used[slot]:
            continue
        prev, d = -1, heads[slot]
        while d != -1:  # the literals of c are stamped c + 1: equal sets have every literal stamped
            same = uniq[d] == u
            for k in range(start[d], start[d] + size[d]):
                if not same:
                    break
                same = stamp[lits[k]] == c + 1
            if same:
                if prev == -1:
                    heads[slot] = chain[d]
                else:
                    chain[prev] = chain[d]
                target[c - n_formula] = d
                break
            prev, d = d, chain[d]
    return target


# ------------------------------------------------------------------------------------ propagation
# Here a literal is its index 2 v + (1 if negative): its negation is ``x ^ 1``; ``val[x]`` is 1 (true),
# -1 (false) or 0, kept for both literals of a variable. ``blk[s]`` is a blocker of watch slot ``s``:
# another literal of its clause; when it is true the clause is not looked at.

@njit(cache=True)
def _assign(val, trail, st, x):
    val[x], val[x ^ 1] = 1, -1
    trail[st[0]] = x
    st[0] += 1


@njit(cache=True)
def _watch(s, x, y, head, nxt, blk):
    nxt[s], blk[s] = head[x], y
    head[x] = s


@njit(cache=True)
def _propagate(q, lits, start, size, deleted, head, nxt, blk, val, trail, st):
    """Propagate the trail from position ``q``; True on a conflict (the assignments stay)."""
    while q < st[0]:
        fl = trail[q] ^ 1
        q += 1
        prev, s = -1, head[fl]
        while s != -1:
            after = nxt[s]
            if val[blk[s]] == 1:
                prev, s = s, after
                continue
            c = s >> 1
            if deleted[c]:  # unlink lazily
                if prev == -1:
                    head[fl] = after
                else:
                    nxt[prev] = after
                s = after
                continue
            b, p = start[c], s & 1
            other = lits[b + 1 - p]
            vo = val[other]
            if vo == 1:
                blk[s] = other
                prev, s = s, after
                continue
            moved = False
            for k in range(b + 2, b + size[c]):
                lk = lits[k]
                if val[lk] != -1:  # watch lk instead
                    lits[k], lits[b + p] = fl, lk
                    if prev == -1:
                        head[fl] = after
                    else:
                        nxt[prev] = after
                    _watch(s, lk, other, head, nxt, blk)
                    moved = True
                    break
            if not moved:
                if vo == -1:
                    return True
                _assign(val, trail, st, other)
                prev = s
            s = after
    return False


@njit(cache=True)
def _add(c, lits, start, size, deleted, head, nxt, blk, val, trail, st, stamp):
    """Add clause ``c`` at the top level (``st[1]`` set when the top level becomes conflicting)."""
    if st[1]:
        return
    b = start[c]
    st[2] += 1
    m = 0
    for k in range(b, b + size[c]):  # drop repeated literals, skip tautologies
        x = lits[k]
        if stamp[x] == st[2]:
            continue
        if stamp[x ^ 1] == st[2]:
            return
        stamp[x] = st[2]
        lits[b + m] = x
        m += 1
    size[c] = m
    j = 0
    for k in range(m):  # literals false at the top level last
        if val[lits[b + k]] != -1:
            lits[b + j], lits[b + k] = lits[b + k], lits[b + j]
            j += 1
    if j == 0:
        st[1] = 1
        return
    if m == 1 or j == 1:  # a unit at the top level
        if val[lits[b]] == 0:
            q = st[0]
            _assign(val, trail, st, lits[b])
            if _propagate(q, lits, start, size, deleted, head, nxt, blk, val, trail, st):
                st[1] = 1
                return
        if m == 1:
            return
    _watch(2 * c, lits[b], lits[b + 1], head, nxt, blk)
    _watch(2 * c + 1, lits[b + 1], lits[b], head, nxt, blk)


@njit(cache=True)
def _rup(c, lits, start, size, deleted, head, nxt, blk, val, trail, st):
    """Does propagating the negation of clause ``c`` from the top level conflict? (Undone after.)"""
    if st[1]:
        return True
    mark = st[0]
    conflict = False
    for k in range(start[c], start[c] + size[c]):
        x = lits[k] ^ 1
        if val[x] == -1:
            conflict = True
            break
        if val[x] == 0:
            _assign(val, trail, st, x)
    if not conflict:
        conflict = _propagate(mark, lits, start, size, deleted, head, nxt, blk, val, trail, st)
    for t in range(mark, st[0]):
        val[trail[t]] = val[trail[t] ^ 1] = 0
    st[0] = mark
    return conflict


@njit(cache=True)
def _check(nvars, lits, start, size, n_formula, dele, target, deletions):
    """Forward check: formula clauses ``0 .. n_formula - 1``, then proof line ``i`` as clause ``n_formula + i``."""
    n_cl = start.shape[0]
    val = np.zeros(2 * nvars + 2, np.int8)
    trail = np.zeros(nvars + 1, np.int64)
    head = np.full(2 * nvars + 2, -1, np.int64)
    nxt = np.full(2 * n_cl, -1, np.int64)
    blk = np.zeros(2 * n_cl, np.int64)
    deleted = np.zeros(n_cl, np.bool_)
    stamp = np.zeros(2 * nvars + 2, np.int64)
    st = np.zeros(3, np.int64)  # trail length, top level conflicting, stamp counter
    for c in range(n_formula):
        _add(c, lits, start, size, deleted, head, nxt, blk, val, trail, st, stamp)
    for i in range(n_cl - n_formula):
        c = n_formula + i
        if dele[i]:
            if deletions and target[i] >= 0:
                deleted[target[i]] = True
            continue
        if not _rup(c, lits, start, size, deleted, head, nxt, blk, val, trail, st):
            return False
        if size[c] == 0:
            return True
        _add(c, lits, start, size, deleted, head, nxt, blk, val, trail, st, stamp)
    return st[1] == 1


def check_arrays(f_lits: np.ndarray, f_sizes: np.ndarray, p_lits: np.ndarray, p_offs: np.ndarray,
                 dele: np.ndarray, deletions: bool | None = None) -> bool:
    """Check a refutation given as arrays (:func:`formula_arrays`, :func:`proof_arrays`).

    ``deletions`` None (default): with the deletions applied, and if that fails once more keeping
    every clause; True or False: that one pass only (the tests compare each pass with the Python one).

    Examples
    --------
    >>> f = formula_arrays([(1, 2), (-1, 2), (1, -2), (-1, -2)])
    >>> check_arrays(*f, *proof_arrays(["2 0", "0"])), check_arrays(*f, *proof_arrays(["0"]))
    (True, False)
    """
    signed = np.concatenate([f_lits, p_lits]).astype(np.int64)
    lits = 2 * np.abs(signed) + (signed < 0)  # literal indices
    size = np.concatenate([f_sizes, np.diff(p_offs)]).astype(np.int64)
    start = np.concatenate([[0], np.cumsum(size)[:-1]]).astype(np.int64) if size.size else size
    nvars = int(np.abs(signed).max()) if signed.size else 0
    n_formula = len(f_sizes)
    dele = np.ascontiguousarray(dele, np.bool_)
    target = _deletion_targets(nvars, lits, start, size, n_formula, dele)
    passes = (True, False) if deletions is None else (bool(deletions),)
    return any(_check(nvars, lits.copy(), start, size.copy(), n_formula, dele, target, d) for d in passes)
