"""The independent RUP checkers accept solver proofs and reject corrupted ones; the two engines agree.

Three implementations meet here: the numba engine, the pure-Python engine and, on the smallest
formulas, ``_naive_check`` below (unit propagation by rescanning every clause, no watches, no
deletions: the definition of a forward RUP check). pysat only produces proofs and says which weakened
formulas are satisfiable; it never checks anything.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from pysat.examples.genhard import PHP
from pysat.solvers import Solver

import ccbounds.bounds
from ccbounds.bounds import _drup_fast, check_rup_proof, drup, exact_D, protocol_tree_clauses
from ccbounds.bounds.drup import parse_proof
from ccbounds.errors import CCBoundsError, UnknownNameError
from ccbounds.problems import DISJ

SOLVERS = ("glucose4", "cadical195")


def _proof(clauses, name):
    with Solver(name=name, bootstrap_with=clauses, with_proof=True) as s:
        assert s.solve() is False
        return list(s.get_proof())


def _sat(clauses) -> bool:
    with Solver(name="glucose4", bootstrap_with=clauses) as s:
        return s.solve()


def _random_3sat(seed: int, n: int, ratio: float = 4.5) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    return [[int(v) if s else -int(v) for v, s in zip(rng.choice(np.arange(1, n + 1), 3, replace=False),
                                                      rng.integers(0, 2, 3))] for _ in range(int(ratio * n))]


def _naive_rup(db, lemma) -> bool:
    true = {-l for l in lemma}
    if any(-l in true for l in true):
        return True
    changed = True
    while changed:
        changed = False
        for c in db:
            if any(l in true for l in c):
                continue
            free = [l for l in c if -l not in true]
            if not free:
                return True
            if len(set(free)) == 1:
                true.add(free[0])
                changed = True
    return False


def _naive_check(clauses, proof) -> bool:
    try:
        steps = parse_proof(proof)
    except ValueError:
        return False
    db = [list(c) for c in clauses]
    for dele, lemma in steps:
        if dele:
            continue
        if not _naive_rup(db, lemma):
            return False
        if not lemma:
            return True
        db.append(list(lemma))
    return _naive_rup(db, ())


def _passes(clauses, proof) -> tuple[bool, bool]:
    """The pass with the deletions applied, numba and Python (asserted equal), and the pass keeping all."""
    try:
        steps = parse_proof(proof)
    except ValueError:
        return False, False
    cnf = [tuple(c) for c in clauses]
    nvars = max([abs(l) for c in cnf for l in c] + [abs(l) for _, c in steps for l in c] + [0])
    arrays = (*_drup_fast.formula_arrays(cnf), *_drup_fast.proof_arrays(proof))
    with_del = _drup_fast.check_arrays(*arrays, deletions=True)
    assert with_del == drup._check(cnf, steps, nvars, deletions=True), proof
    return with_del, _drup_fast.check_arrays(*arrays, deletions=False)


def _verdict(clauses, proof, naive: bool = False) -> bool:
    """Both engines' answer (asserted equal, and equal to the naive checker when ``naive``)."""
    fast = check_rup_proof(clauses, proof, engine="numba")
    slow = check_rup_proof(clauses, proof, engine="python")
    assert fast == slow, (fast, slow, proof)
    with_del, keep_all = _passes(clauses, proof)
    assert fast == (with_del or keep_all) and (keep_all or not with_del), proof  # deleting only weakens
    if naive:
        assert _naive_check(clauses, proof) == fast, proof
    return fast


def _formulas():
    """Small UNSAT formulas: pigeonhole, random 3-SAT near the threshold, protocol-tree CNFs."""
    out = [("php4-3", PHP(3).clauses, True), ("php5-4", PHP(4).clauses, False)]
    for seed in range(12):
        cl = _random_3sat(seed, 14)
        if not _sat(cl):
            out.append((f"3sat14/{seed}", cl, True))
    for seed in range(3):
        cl = _random_3sat(100 + seed, 40, 5.0)
        if not _sat(cl):
            out.append((f"3sat40/{seed}", cl, False))
    out.append(("tree eye3 d2", protocol_tree_clauses(np.eye(3, dtype=int), 2)[0], False))
    out.append(("tree DISJ2 d2", protocol_tree_clauses(DISJ(2).matrix(), 2)[0], False))
    return out


FORMULAS = _formulas()


@pytest.mark.parametrize("name", SOLVERS)
def test_engines_accept_solver_proofs(name):
    assert len(FORMULAS) >= 8
    for label, cl, naive in FORMULAS:
        assert _verdict(cl, _proof(cl, name), naive), label


@pytest.mark.parametrize("name", SOLVERS)
@pytest.mark.slow
def test_engines_agree_on_corrupted_proofs(name):
    for label, cl, naive in FORMULAS:
        proof = _proof(cl, name)
        adds = [i for i, p in enumerate(proof) if not p.startswith("d")]
        rng = np.random.default_rng(len(proof))
        every = naive and len(proof) <= 16  # every variant of the shortest proofs, a sample of the others
        picks = adds if every else sorted(rng.choice(adds, min(len(adds), 6), replace=False))
        dropped = [_verdict(cl, proof[:i] + proof[i + 1:], naive) for i in picks]
        flipped = []
        for i in picks:
            lits = proof[i].split()
            if len(lits) > 1:
                k = int(rng.integers(0, len(lits) - 1))
                lits[k] = str(-int(lits[k]))
                flipped.append(_verdict(cl, proof[:i] + [" ".join(lits)] + proof[i + 1:], naive))
        cuts = range(len(proof)) if every else sorted(rng.choice(len(proof), min(len(proof), 6), replace=False))
        truncated = [_verdict(cl, proof[:k], naive) for k in cuts]
        if label.startswith("php"):  # minimally unsatisfiable with a non-trivial proof
            assert not all(dropped), label  # some lemma is needed
            assert not _verdict(cl, proof[: len(proof) // 4]), label  # a quarter proves nothing yet
        assert not all(dropped + flipped + truncated), label


def test_non_rup_lemma_rejected():
    cl = PHP(3).clauses  # variable 1: pigeon 1 in hole 1; "-1" does not follow by unit propagation
    assert not _naive_rup(cl, (-1,))
    for name in SOLVERS:
        proof = _proof(cl, name)
        assert _verdict(cl, proof, naive=True)
        assert not _verdict(cl, ["-1 0"] + proof, naive=True)
        assert not _verdict(cl, ["-1 0"] + proof[-1:], naive=True)
        for at in (len(proof) // 2, len(proof) - 1):  # later it may follow from the lemmas: both agree
            _verdict(cl, proof[:at] + ["-1 0"] + proof[at:], naive=True)


@pytest.mark.parametrize("name", SOLVERS)
@pytest.mark.slow
def test_satisfiable_weakenings_rejected(name):
    for n in (3, 4):  # pigeonhole formulas are minimally unsatisfiable: dropping any clause makes them SAT
        cl = PHP(n).clauses
        proof = _proof(cl, name)
        for k in range(len(cl)):
            weaker = cl[:k] + cl[k + 1:]
            assert _sat(weaker)
            assert not _verdict(weaker, proof, naive=n == 3), (n, k)
    for label, cl, _ in FORMULAS:  # random and tree formulas: the clauses removed until it is SAT
        proof = _proof(cl, name)
        rng = np.random.default_rng(7)
        weaker = list(cl)
        while not _sat(weaker):
            weaker.pop(int(rng.integers(0, len(weaker))))
        assert not _verdict(weaker, proof), label


def test_satisfiable_formulas_never_accept_other_proofs():
    sat = [c for c in (_random_3sat(s, 14) for s in range(12)) if _sat(c)]
    proofs = [_proof(cl, name) for _, cl, _ in FORMULAS[:6] for name in SOLVERS]
    assert len(sat) >= 3
    for cl in sat:
        for proof in proofs:
            assert not _verdict(cl, proof, naive=True)


def test_deleted_clause_needed_then_kept():
    cl = [[1, 2], [-1, 2], [1, -2], [-1, -2]]
    # "2" is RUP only with (1 2), which the proof deleted: the check without deletions accepts it
    assert _verdict(cl, ["d 2 1 0", "2 0", "0"], naive=True)
    assert _verdict(cl, ["d 1 2 0", "d -1 2 0", "d 1 -2 0", "d -1 -2 0", "2 0", "0"], naive=True)
    assert not _verdict(cl, ["d 1 2 0", "3 0", "0"], naive=True)


@pytest.mark.parametrize("proof", [
    ["1 0 2 0"], ["1 x 0"], ["d1 2 0"], ["1 d 0"], ["+2 0", "0"], ["2\t0", "", "   ", "0"], ["2", "0"],
    ["d 0", "d", "2 0", "0"], ["2 2 0", "0"], ["1 -1 0", "0"], ["-0 2 0"], ["2 0\n0"],
    [[2, 0], [0]], ["٢ 0", "0"], ["-2 -0 0"], ["2 0 ", " 0"],
])
def test_parsers_agree(proof):
    cl = [[1, 2], [-1, 2], [1, -2], [-1, -2]]
    _verdict(cl, proof, naive=True)


def test_parse_and_deletions():
    assert parse_proof(["d 1 2 0", "3 0", [], [4, 0]]) == [(True, (1, 2)), (False, (3,)), (False, ()), (False, (4,))]
    with pytest.raises(ValueError):
        parse_proof(["1 0 2 0"])
    assert _verdict([[1], [-1]], [])  # glucose's empty proof for a propagation conflict
    assert not _verdict(PHP(3).clauses, [])
    assert not _verdict(PHP(3).clauses, ["0"])


def test_engine_choice(monkeypatch):
    cl = [[1, 2], [-1, 2], [1, -2], [-1, -2]]
    with pytest.raises(UnknownNameError, match="numba, python"):
        check_rup_proof(cl, ["2 0", "0"], engine="fast")
    with pytest.raises(CCBoundsError, match="a formula clause contains the literal 0"):
        check_rup_proof([[1, 0]], ["0"], engine="numba")
    with pytest.raises(CCBoundsError, match="renumber"):
        check_rup_proof(cl, ["1234567890 0"], engine="numba")
    monkeypatch.setitem(sys.modules, "ccbounds.bounds._drup_fast", None)  # as if numba were missing
    monkeypatch.delattr(ccbounds.bounds, "_drup_fast", raising=False)
    assert check_rup_proof(cl, ["2 0", "0"]) and not check_rup_proof(cl, ["0"])  # auto: pure Python
    with pytest.raises(CCBoundsError, match="pip install numba"):
        check_rup_proof(cl, ["2 0", "0"], engine="numba")


def test_exact_result_proof_checks():
    res = exact_D(DISJ(2), use_cheap_bounds=False)
    assert res.proof is not None and res.proof_length > 0
    assert res.proof.check() and res.proof.check(engine="python")


@pytest.mark.slow
def test_engines_agree_on_random_proofs():
    """Random formulas (with units, repeated literals, tautologies) and random proofs mixing lemmas
    and deletions (of formula clauses, lemmas, absent clauses, literals permuted): three checkers agree."""
    rng = np.random.default_rng(11)
    accepted = 0
    for _ in range(300):
        n = int(rng.integers(3, 8))

        def clause(k, n=n):
            return [int(v) * int(s) for v, s in zip(rng.integers(1, n + 1, k), rng.choice([-1, 1], k))]

        cl = [clause(int(rng.integers(1, 4))) for _ in range(int(rng.integers(4, 5 * n)))]
        live, proof = [list(c) for c in cl], []
        for _ in range(int(rng.integers(0, 12))):
            if live and rng.random() < 0.3:
                c = list(live.pop(int(rng.integers(0, len(live)))))
                rng.shuffle(c)
                proof.append("d " + " ".join(map(str, c + [0])))
            else:
                c = clause(int(rng.integers(0, 3)))
                live.append(c)
                proof.append(" ".join(map(str, c + [0])))
        accepted += _verdict(cl, proof, naive=True)
    assert 20 < accepted < 280
