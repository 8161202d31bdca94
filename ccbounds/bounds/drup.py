"""UNSAT certificates: DRUP proofs from pysat and an independent forward RUP checker.

A DRUP proof is a list of clauses ("lemmas"), optionally interleaved with deletions ``d ...``. Each
lemma must be a *reverse unit propagation* (RUP) consequence of the formula plus the earlier lemmas:
assigning all its literals false and unit-propagating yields a conflict. A proof refutes the
formula when the empty clause is RUP at the end (explicitly as a final ``0`` line, or because unit
propagation over formula + lemmas alone conflicts — glucose emits an empty proof for formulas that
propagation refutes outright). Deletions are ignored, which is sound: keeping clauses only makes
propagation stronger and every kept clause is implied.

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

__all__ = ["UnsatProof", "check_rup_proof", "parse_proof"]


@dataclass(frozen=True)
class UnsatProof:
    """A refutation of ``clauses`` found by ``solver``: the DRUP ``lemmas`` (text lines, pysat form).

    ``lemmas`` is ``None`` when the solver cannot log proofs (then only its UNSAT answer is recorded).
    ``claim`` says in words what the UNSAT formula means (e.g. "no protocol tree of depth 3").
    """

    claim: str
    solver: str
    clauses: tuple[tuple[int, ...], ...] = field(repr=False)
    lemmas: tuple[str, ...] | None = field(repr=False)

    @property
    def length(self) -> int | None:
        """Number of proof lines (lemmas and deletions), or ``None`` without a proof."""
        return None if self.lemmas is None else len(self.lemmas)

    def check(self) -> bool:
        """Run :func:`check_rup_proof` on this proof (False when there is no proof)."""
        return self.lemmas is not None and check_rup_proof(self.clauses, self.lemmas)

    def to_dict(self) -> dict[str, Any]:
        n_vars = max((abs(l) for c in self.clauses for l in c), default=0)
        return {"claim": self.claim, "solver": self.solver, "n_vars": n_vars,
                "n_clauses": len(self.clauses), "proof_lines": self.length}

    def __str__(self) -> str:
        tail = f"DRUP proof, {self.length} lines" if self.lemmas is not None else "no proof logged"
        return f"UNSAT: {self.claim} ({self.solver}, {len(self.clauses)} clauses, {tail})"


def parse_proof(proof: Iterable[Any]) -> list[tuple[bool, tuple[int, ...]]]:
    """Parse proof lines into ``(is_deletion, literals)``; accepts text lines or integer lists.

    Examples
    --------
    >>> parse_proof(["1 -2 0", "d 1 -2 0", [3, 0]])
    [(False, (1, -2)), (True, (1, -2)), (False, (3,))]
    """
    out: list[tuple[bool, tuple[int, ...]]] = []
    for line in proof:
        if isinstance(line, (bytes, str)):
            text = line.decode() if isinstance(line, bytes) else line
            toks = text.split()
            if not toks:
                continue
            dele = toks[0] == "d"
            lits = [int(t) for t in (toks[1:] if dele else toks)]
        else:
            dele, lits = False, [int(t) for t in line]
        if lits and lits[-1] == 0:
            lits = lits[:-1]
        if 0 in lits:
            raise ValueError(f"a proof line has a 0 before its end: {line!r}")
        out.append((dele, tuple(lits)))
    return out


class _Propagator:
    """Two-watched-literal unit propagation over a growing clause database."""

    def __init__(self, nvars: int) -> None:
        self.val = [0] * (nvars + 1)  # per variable: 0 unassigned, 1 true, -1 false
        self.watch: dict[int, list[list[int]]] = {}
        self.units: list[int] = []
        self.has_empty = False

    def add(self, clause: Sequence[int]) -> None:
        c = list(dict.fromkeys(clause))  # drop duplicate literals
        if any(-l in c for l in c):
            return  # tautology
        if not c:
            self.has_empty = True
        elif len(c) == 1:
            self.units.append(c[0])
        else:
            self.watch.setdefault(c[0], []).append(c)
            self.watch.setdefault(c[1], []).append(c)

    def _value(self, lit: int) -> int:
        v = self.val[abs(lit)]
        return v if lit > 0 else -v

    def conflicts(self, assumptions: Sequence[int]) -> bool:
        """Does unit propagation from the units plus ``assumptions`` reach a conflict?"""
        if self.has_empty:
            return True
        trail: list[int] = []
        try:
            for lit in list(self.units) + list(assumptions):
                v = self._value(lit)
                if v == -1:
                    return True
                if v == 0:
                    self.val[abs(lit)] = 1 if lit > 0 else -1
                    trail.append(lit)
            head = 0
            while head < len(trail):
                false_lit = -trail[head]
                head += 1
                ws = self.watch.get(false_lit, [])
                i = 0
                while i < len(ws):
                    c = ws[i]
                    if c[0] == false_lit:
                        c[0], c[1] = c[1], c[0]
                    if self._value(c[0]) == 1:
                        i += 1
                        continue
                    for k in range(2, len(c)):
                        if self._value(c[k]) != -1:
                            c[1], c[k] = c[k], c[1]
                            self.watch.setdefault(c[1], []).append(c)
                            ws[i] = ws[-1]
                            ws.pop()
                            break
                    else:
                        if self._value(c[0]) == -1:
                            return True
                        self.val[abs(c[0])] = 1 if c[0] > 0 else -1
                        trail.append(c[0])
                        i += 1
            return False
        finally:
            for lit in trail:
                self.val[abs(lit)] = 0


def check_rup_proof(clauses: Iterable[Sequence[int]], proof: Iterable[Any]) -> bool:
    """Forward-check a DRUP refutation: every lemma is RUP, and the empty clause is derived.

    Parameters
    ----------
    clauses : iterable of int sequences
        The CNF formula (DIMACS literals, no trailing 0).
    proof : iterable
        Proof lines as pysat's ``get_proof()`` returns them (``"1 -2 0"``, ``"d 1 -2 0"``) or
        integer lists.

    Returns
    -------
    bool
        True iff each added lemma follows from the formula and earlier lemmas by unit propagation
        and the empty clause is RUP at the end. Deletions are ignored (sound; see module docstring).
        Slow on large proofs (pure Python): meant for small instances and tests.

    Examples
    --------
    >>> check_rup_proof([[1], [-1, 2], [-2]], [])  # propagation alone refutes it
    True
    >>> check_rup_proof([[1, 2], [-1, 2], [1, -2], [-1, -2]], ["3 0", "0"])  # 3 is not RUP
    False

    References
    ----------
    N. Wetzler, M. Heule, W. Hunt, DRAT-trim: efficient checking and trimming using expressive
    clausal proofs, SAT 2014 (DRUP; the forward RUP check).
    """
    cnf = [tuple(int(l) for l in c) for c in clauses]
    try:
        steps = parse_proof(proof)
    except ValueError:
        return False
    nvars = max([abs(l) for c in cnf for l in c] + [abs(l) for _, c in steps for l in c] + [0])
    prop = _Propagator(nvars)
    for c in cnf:
        prop.add(c)
    for dele, lemma in steps:
        if dele:
            continue
        if not prop.conflicts([-l for l in lemma]):
            return False
        if not lemma:
            return True
        prop.add(lemma)
    return prop.conflicts([])
