"""The independent RUP checker accepts solver proofs and rejects corrupted ones."""

from __future__ import annotations

import pytest
from pysat.examples.genhard import PHP
from pysat.solvers import Solver

from ccbounds.bounds import check_rup_proof, exact_D, protocol_tree_clauses
from ccbounds.bounds.drup import parse_proof
from ccbounds.problems import DISJ


def _proof(clauses, name):
    with Solver(name=name, bootstrap_with=clauses, with_proof=True) as s:
        assert s.solve() is False
        return list(s.get_proof())


@pytest.mark.parametrize("name", ["glucose4", "cadical195"])
def test_accepts_solver_proofs(name):
    for n in (2, 3, 4):
        clauses = PHP(n).clauses
        proof = _proof(clauses, name)
        assert check_rup_proof(clauses, proof)


@pytest.mark.parametrize("name", ["glucose4", "cadical195"])
def test_accepts_protocol_tree_proofs(name):
    M = DISJ(2).matrix()
    cl, _ = protocol_tree_clauses(M, 2)
    assert check_rup_proof(cl, _proof(cl, name))


def test_rejects_corrupted_proofs():
    clauses = PHP(4).clauses
    proof = _proof(clauses, "glucose4")
    adds = [p for p in proof if not p.startswith("d")]
    assert len(adds) > 4
    assert not check_rup_proof(clauses, proof[: len(proof) // 2])  # truncated: no refutation
    assert not check_rup_proof(clauses, [])  # the formula alone does not propagate to a conflict
    assert not check_rup_proof(clauses, ["1 0"] + proof)  # a unit that is not RUP
    assert not check_rup_proof(clauses, ["0"])
    assert not check_rup_proof(clauses[:-3], proof)  # the proof of another (satisfiable) formula
    assert not check_rup_proof(clauses, ["1 x 0"])  # garbage


def test_parse_and_deletions():
    assert parse_proof(["d 1 2 0", "3 0", [], [4, 0]]) == [(True, (1, 2)), (False, (3,)), (False, ()), (False, (4,))]
    with pytest.raises(ValueError):
        parse_proof(["1 0 2 0"])
    assert check_rup_proof([[1], [-1]], [])  # glucose's empty proof for a propagation conflict


def test_exact_result_proof_checks():
    res = exact_D(DISJ(2), use_cheap_bounds=False)
    assert res.proof is not None and res.proof_length > 0 and res.proof.check()
