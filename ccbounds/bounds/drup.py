"""UNSAT certificates: DRUP proofs from pysat and an independent forward RUP checker.

A DRUP proof is a list of clauses ("lemmas"), optionally interleaved with deletions ``d ...``. Each
lemma must be a *reverse unit propagation* (RUP) consequence of the formula plus the earlier lemmas:
assigning all its literals false and unit-propagating yields a conflict. A proof refutes the
formula when the empty clause is RUP at the end (explicitly as a final ``0`` line, or because unit
propagation over formula + lemmas alone conflicts — glucose emits an empty proof for formulas that
propagation refutes outright). Deletions are applied (a smaller database propagates faster; deleting
only weakens propagation, so every accepted step stays a RUP consequence), except that what units
propagated stays assigned; a proof rejected that way is checked again with every clause kept, which
is sound too: every kept clause is implied by the formula (theory §8).

Two engines run this same check, both ccbounds' own code (no SAT solver is called): the compiled one
of :mod:`ccbounds.bounds._drup_fast` (numba; ``engine="numba"``, and ``"auto"`` where numba can be
imported) and the pure-Python :class:`_Propagator` below (``engine="python"``, and ``"auto"``'s
fallback without numba). ``tests/test_bounds_drup.py`` runs them against each other and against a
naive checker. On the proofs of ``benchmarks/exact_cc.py`` the numba engine checks 1.4 * 10^4 to
7 * 10^4 lines per second and the Python one 400 to 2600, 20 to 40 times fewer
(``benchmarks/drup_check.py``, one run on a shared machine).

Examples
--------
>>> check_rup_proof([[1, 2], [-1, 2], [1, -2], [-1, -2]], ["2 0", "0"])
True
>>> check_rup_proof([[1, 2], [-1, 2], [1, -2], [-1, -2]], ["0"])  # the empty clause is not RUP yet
False
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ccbounds.bounds._proof_lines import parse_proof
from ccbounds.errors import CCBoundsError, InvalidInputError, UnknownNameError

__all__ = ["ENGINES", "ORIGINS", "UnsatProof", "check_rup_proof", "parse_proof"]


#: the encodings an :class:`UnsatProof`'s ``origin`` may name (rebuilt by :meth:`UnsatProof.check`)
ORIGINS = ("protocol-tree", "partition", "cover1", "cover0", "binary-rank")


def _rebuild(origin: dict[str, Any]) -> list[list[int]] | None:
    """The CNF ``origin`` names, rebuilt from its matrix (None if the origin is malformed, or its fooling
    set is not one: the implied constraints would then not hold for every protocol or partition)."""
    from ccbounds.bounds._matrix import as_matrix
    from ccbounds.bounds.fooling import is_fooling_set

    kind = origin.get("encoding")
    if kind not in ORIGINS:
        return None
    try:
        raw = np.asarray(origin["matrix"])
        if raw.ndim != 2 or raw.dtype.kind not in "biu":  # a stored matrix is an integer array, as built
            return None
        M, _ = as_matrix(raw, what="the certificate's matrix", binary=kind != "protocol-tree")
        fooling = [(int(i), int(j)) for i, j in origin.get("fooling", ())]
        size = int(origin["depth" if kind == "protocol-tree" else "k"])
    except (CCBoundsError, KeyError, TypeError, ValueError):
        return None
    if size < 0:
        return None
    binary = bool(np.isin(M, (0, 1)).all())
    fk = {"protocol-tree": "combined", "partition": "combined", "cover1": "1", "cover0": "0", "binary-rank": "1"}[kind]
    if fooling and not (binary and is_fooling_set(fooling, M, fk)):
        return None
    if kind == "protocol-tree":
        from ccbounds.bounds._encoding import protocol_tree_clauses

        return protocol_tree_clauses(M, size, fooling)[0]
    from ccbounds.bounds._rect_encoding import rectangle_clauses

    return rectangle_clauses(M, kind, size, fooling)[0]


@dataclass(frozen=True)
class UnsatProof:
    """A refutation of ``clauses`` found by ``solver``: the DRUP ``lemmas`` (text lines, pysat form).

    ``lemmas`` is ``None`` when the solver cannot log proofs (then only its UNSAT answer is recorded).
    ``claim`` says in words what the UNSAT formula means (e.g. "no protocol tree of depth 3").
    ``origin`` (optional) names the encoding the CNF came from, so that :meth:`check` can rebuild it
    and compare: ``{"encoding": "protocol-tree", "matrix": M, "depth": d, "fooling": cells}`` or
    ``{"encoding": "partition" | "cover1" | "cover0" | "binary-rank", "matrix": M, "k": k,
    "fooling": cells}`` (one of :data:`ORIGINS`).
    """

    claim: str
    solver: str
    clauses: tuple[tuple[int, ...], ...] = field(repr=False)
    lemmas: tuple[str, ...] | None = field(repr=False)
    origin: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def length(self) -> int | None:
        """Number of proof lines (lemmas and deletions), or ``None`` without a proof."""
        return None if self.lemmas is None else len(self.lemmas)

    def check_formula(self) -> bool:
        """True iff the stored CNF is well formed (clauses of nonzero integers) and, when ``origin`` is
        set, equal to the CNF that encoding builds from the stored matrix (with a valid fooling set)."""
        try:
            ok = all(isinstance(lit, (int, np.integer)) and not isinstance(lit, bool) and lit != 0
                     for c in self.clauses for lit in c)
        except TypeError:
            return False
        if not ok:
            return False
        if self.origin is None:
            return True
        rebuilt = _rebuild(self.origin)
        return rebuilt is not None and [tuple(c) for c in rebuilt] == [tuple(c) for c in self.clauses]

    def check(self, engine: str = "auto") -> bool:
        """The stored CNF is valid (:meth:`check_formula`) and :func:`check_rup_proof` accepts the proof
        (False when there is no proof)."""
        return (self.lemmas is not None and self.check_formula()
                and check_rup_proof(self.clauses, self.lemmas, engine=engine))

    def to_dict(self) -> dict[str, Any]:
        n_vars = max((abs(l) for c in self.clauses for l in c), default=0)
        return {"claim": self.claim, "solver": self.solver, "n_vars": n_vars,
                "n_clauses": len(self.clauses), "proof_lines": self.length}

    def __str__(self) -> str:
        tail = f"DRUP proof, {self.length} lines" if self.lemmas is not None else "no proof logged"
        return f"UNSAT: {self.claim} ({self.solver}, {len(self.clauses)} clauses, {tail})"


class _Propagator:
    """Two-watched-literal unit propagation over a clause database with a persistent top level.

    Units (and what they propagate) stay assigned at the top level for good: they are consequences
    of the formula, so keeping them is sound even if their clauses are deleted later. Each check of
    a lemma only propagates its negation on top of that and undoes it afterwards.
    """

    def __init__(self, nvars: int) -> None:
        self.val = [0] * (nvars + 1)  # per variable: 0 unassigned, 1 true, -1 false
        self.watch: dict[int, list[list[int]]] = {}
        self.trail: list[int] = []
        self.index: dict[tuple[int, ...], list[list[int]]] = {}  # clauses by their literal set, for deletions
        self.has_empty = False  # the top level is already conflicting

    def _value(self, lit: int) -> int:
        v = self.val[abs(lit)]
        return v if lit > 0 else -v

    def _assign(self, lit: int) -> None:
        self.val[abs(lit)] = 1 if lit > 0 else -1
        self.trail.append(lit)

    def add(self, clause: Sequence[int]) -> None:
        c = list(dict.fromkeys(clause))  # drop duplicate literals
        if any(-l in c for l in c) or self.has_empty:
            return  # a tautology, or everything follows already
        c.sort(key=lambda l: self._value(l) == -1)  # literals false at the top level last
        if not c or self._value(c[0]) == -1:
            self.has_empty = True
            return
        if len(c) == 1 or self._value(c[1]) == -1:  # unit at the top level
            if self._value(c[0]) == 0:
                start = len(self.trail)
                self._assign(c[0])
                if self._propagate(start):
                    self.has_empty = True
                    return
            if len(c) == 1:
                return
        self.watch.setdefault(c[0], []).append(c)
        self.watch.setdefault(c[1], []).append(c)
        self.index.setdefault(tuple(sorted(c)), []).append(c)

    def delete(self, clause: Sequence[int]) -> None:
        """Remove one copy of ``clause`` (unit clauses and unknown clauses are ignored)."""
        same = self.index.get(tuple(sorted(set(clause))))
        if not same:
            return
        c = same.pop()
        for lit in (c[0], c[1]):
            ws = self.watch[lit]
            for k, other in enumerate(ws):
                if other is c:
                    ws[k] = ws[-1]
                    ws.pop()
                    break

    def _propagate(self, head: int) -> bool:
        """Propagate the trail from ``head``; True on a conflict (the assignments stay)."""
        trail, val = self.trail, self.val
        while head < len(trail):
            false_lit = -trail[head]
            head += 1
            ws = self.watch.get(false_lit)
            if not ws:
                continue
            i = 0
            while i < len(ws):
                c = ws[i]
                if c[0] == false_lit:
                    c[0], c[1] = c[1], c[0]
                first = c[0]
                v0 = val[abs(first)] if first > 0 else -val[abs(first)]
                if v0 == 1:
                    i += 1
                    continue
                for k in range(2, len(c)):
                    lit = c[k]
                    if (val[abs(lit)] if lit > 0 else -val[abs(lit)]) != -1:
                        c[1], c[k] = lit, c[1]
                        self.watch.setdefault(lit, []).append(c)
                        ws[i] = ws[-1]
                        ws.pop()
                        break
                else:
                    if v0 == -1:
                        return True
                    self._assign(first)
                    i += 1
        return False

    def conflicts(self, assumptions: Sequence[int]) -> bool:
        """Does unit propagation from the top level plus ``assumptions`` reach a conflict?"""
        if self.has_empty:
            return True
        mark = len(self.trail)
        try:
            for lit in assumptions:
                v = self._value(lit)
                if v == -1:
                    return True
                if v == 0:
                    self._assign(lit)
            return self._propagate(mark)
        finally:
            for lit in self.trail[mark:]:
                self.val[abs(lit)] = 0
            del self.trail[mark:]


def _check(cnf: list[tuple[int, ...]], steps: list[tuple[bool, tuple[int, ...]]], nvars: int,
           deletions: bool) -> bool:
    prop = _Propagator(nvars)
    for c in cnf:
        prop.add(c)
    for dele, lemma in steps:
        if dele:
            if deletions:
                prop.delete(lemma)
            continue
        if not prop.conflicts([-l for l in lemma]):
            return False
        if not lemma:
            return True
        prop.add(lemma)
    return prop.conflicts([])


ENGINES = ("auto", "numba", "python")


def check_rup_proof(clauses: Iterable[Sequence[int]], proof: Iterable[Any], engine: str = "auto") -> bool:
    """Forward-check a DRUP refutation: every lemma is RUP, and the empty clause is derived.

    Parameters
    ----------
    clauses : iterable of int sequences
        The CNF formula (DIMACS literals, no trailing 0).
    proof : iterable
        Proof lines as pysat's ``get_proof()`` returns them (``"1 -2 0"``, ``"d 1 -2 0"``) or
        integer lists.
    engine : {"auto", "numba", "python"}
        ``"numba"``: the compiled checker of :mod:`ccbounds.bounds._drup_fast` (flat arrays, watch
        lists as linked lists of watch slots, a byte scanner for the proof text); ``"python"``: the
        pure-Python checker of this module; ``"auto"`` (default): numba when it can be imported,
        else the pure-Python checker. Both implement the same check (the tests run them against
        each other on solver proofs and on corrupted ones) and neither calls a SAT solver.

    Returns
    -------
    bool
        True iff each added lemma follows from the formula and earlier lemmas by unit propagation
        and the empty clause is RUP at the end (deletions: see the module docstring). On the proofs
        of ``benchmarks/exact_cc.py`` (10^4 clauses, 10^4-10^5 lines; ``benchmarks/drup_check.py``)
        the numba engine checks 1.4 * 10^4 to 7 * 10^4 lines per second, the pure-Python one 400
        to 2600 (one shared machine; the first numba call with an empty cache also compiles, ~10 s).

    Raises
    ------
    UnknownNameError
        For an engine not in :data:`ENGINES`.
    CCBoundsError
        For ``engine="numba"`` without numba installed, or (numba engine) a literal 0 inside a
        formula clause or a variable index of 2^30 or more.

    Examples
    --------
    >>> check_rup_proof([[1], [-1, 2], [-2]], [])  # propagation alone refutes it
    True
    >>> check_rup_proof([[1, 2], [-1, 2], [1, -2], [-1, -2]], ["3 0", "0"], engine="python")  # 3 is not RUP
    False

    References
    ----------
    N. Wetzler, M. Heule, W. Hunt, DRAT-trim: efficient checking and trimming using expressive
    clausal proofs, SAT 2014 (DRUP; the forward RUP check).
    """
    if engine not in ENGINES:
        raise UnknownNameError(f"unknown DRUP checker engine {engine!r}; use one of {', '.join(ENGINES)}")
    cnf = [tuple(int(l) for l in c) for c in clauses]
    lines = proof if isinstance(proof, (list, tuple)) else list(proof)
    fast = _fast_engine(engine)
    if fast is not None:
        try:
            arrays = fast.proof_arrays(lines)
        except InvalidInputError:
            raise
        except ValueError:  # a line the reference parser refuses, as below
            return False
        return fast.check_arrays(*fast.formula_arrays(cnf), *arrays)
    try:
        steps = parse_proof(lines)
    except ValueError:
        return False
    nvars = max([abs(l) for c in cnf for l in c] + [abs(l) for _, c in steps for l in c] + [0])
    # with the deletions applied the database stays small (fast); a proof whose lemmas need deleted
    # clauses is checked once more keeping every clause
    return _check(cnf, steps, nvars, deletions=True) or _check(cnf, steps, nvars, deletions=False)


def _fast_engine(engine: str) -> Any:
    """The numba module for ``engine`` ("auto": None when numba cannot be imported), or None for python."""
    if engine == "python":
        return None
    try:
        from ccbounds.bounds import _drup_fast
    except ImportError as e:
        if engine == "auto":
            return None
        raise CCBoundsError(f"the numba DRUP checker needs numba ({e}); python -m pip install numba, "
                            "or pass engine='python'") from e
    return _drup_fast
