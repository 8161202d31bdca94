"""An audit of a model on a user's own problem shows an eps-error bound row (theory §10.6), and the value is
the exact D^{A->B,mu}_eps computed here independently (all assignments of rows to 2^c messages)."""

from __future__ import annotations

import dataclasses
import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).parent))

from oracles.oneway_mu import d_mu_uniform as _oracle_one_way  # noqa: E402

from ccbounds import audit  # noqa: E402
from ccbounds.problems import INDEX, Problem  # noqa: E402
from reductions.gadgets import get_gadget  # noqa: E402

pytestmark = pytest.mark.slow  # trains and audits a model


@pytest.mark.slow
def test_custom_problem_audit_shows_error_bound() -> None:
    """A GRU trained briefly on index lookup (n = 3), audited on the user's function problem 'lookup3'."""
    from ccbounds.training import TrainConfig, train

    xs = list(itertools.product((0, 1), repeat=3))
    P = Problem.from_function(lambda x, i: x[i], xs, [0, 1, 2], name="lookup3")
    g = dataclasses.replace(get_gadget(INDEX(3)), problem=P)
    model = train(TrainConfig("gru", "index-lookup", n=3, width=4, steps=300, eval_size=100)).model
    r = audit(model, P, gadget=g, precisions=(1, 32), samples=64, calibration_samples=32, witnesses=0)
    assert r.error_bounds, "no eps-error bound row"
    assert any(e["bound"]["value_bits"] > 0 for e in r.error_bounds)  # the trained model errs little: a real bound
    M = P.matrix()
    rows = {row.precision: row for row in r.rows}
    for eb in r.error_bounds:
        row = rows[eb["precision"]]
        eps = 1.0 - row.accuracy
        assert eb["precision"] == row.precision and eb["eps"] == pytest.approx(eps)
        assert eb["bound"]["model"] == "D_mu_eps(A->B)" and eb["bound"]["direction"] == "lower"
        assert eb["bound"]["value_bits"] == _oracle_one_way(M, eps)
    text = r.text()
    assert "Error bounds at each row's measured error" in text and "D_mu_eps(A->B)(lookup3)" in text
    assert "error_bounds" in r.to_dict()


@pytest.mark.parametrize("eps", [0.0, 0.05, 1 / 8, 1 / 6, 0.2, 0.3, 0.5])
def test_matrix_problem_one_way_bound_matches_oracle(eps: float) -> None:
    for M in (INDEX(3).matrix(), np.array([[0, 1, 1, 0], [1, 1, 0, 0], [0, 0, 0, 1], [1, 0, 1, 1], [0, 1, 1, 1]])):
        p = Problem.from_matrix(M)
        b = p.one_way_bound(eps) if eps > 0 else None
        if b is not None:
            assert b.model == "D_mu_eps(A->B)" and b.value == _oracle_one_way(np.asarray(M), eps)
