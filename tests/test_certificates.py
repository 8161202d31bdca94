"""check_witness: every witness of a report checks, and corrupted ones are rejected."""

from __future__ import annotations

import dataclasses

import ccbounds
from ccbounds.bounds import exact_D, largest_fooling_set
from ccbounds.certificates import check_report, check_witness


def test_every_witness_of_small_reports_checks_and_textbook_values_are_not_claimed_checked():
    for p in (ccbounds.EQ(2), ccbounds.DISJ(2), ccbounds.IP(2)):
        checks = check_report(ccbounds.bounds_report(p, exact=True, time_limit=20), p)
        assert all(c.ok for c in checks if c.ok is not None), [c.to_dict() for c in checks if not c.ok]
        assert {c.witness for c in checks} >= {"ExactResult", "FoolingSet", "RankCertificate"}
        assert all(c.ok is None for c in checks if c.bound.method == "known")


def test_corrupted_witnesses_are_rejected():
    p = ccbounds.EQ(2)
    fs = largest_fooling_set(p, "1")
    cells = list(fs.witness.cells)
    bad = dataclasses.replace(fs.witness, cells=tuple(cells[:-1]) + ((0, 1),))  # a 0-cell in a 1-fooling set
    assert check_witness(p, dataclasses.replace(fs, witness=bad)).ok is False
    ex = exact_D(p)
    other = exact_D(ccbounds.GT(2))  # a correct tree for another function
    wrong = dataclasses.replace(ex, tree=other.tree)
    assert check_witness(p, dataclasses.replace(ex.bound, witness=wrong)).ok is False
