"""Property tests: every lower bound <= exact D <= every upper bound; every witness passes its checker."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccbounds.bounds import (
    bounds_report,
    brute_force_D,
    check_rank_certificate,
    check_rectangles,
    check_row_classes,
    exact_D,
    is_fooling_set,
)


@st.composite
def matrices(draw, max_side=5):
    r = draw(st.integers(1, max_side))
    c = draw(st.integers(1, max_side))
    bits = draw(st.lists(st.integers(0, 1), min_size=r * c, max_size=r * c))
    return np.array(bits, dtype=np.int8).reshape(r, c)


def _tree_correct(M, tree):
    return all(tree.output(i, j) == M[i, j] for i in range(M.shape[0]) for j in range(M.shape[1]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(matrices(max_side=4))
@pytest.mark.slow
def test_report_bounds_sandwich_exact_D(M):
    rep = bounds_report(M, exact=True, time_limit=20)
    D = brute_force_D(M).value
    assert rep.exact is not None and rep.exact.value == D
    for b in rep.bounds:
        if b.model != "D":
            continue
        if b.is_lower:
            assert math.ceil(b.value - 1e-9) <= D, b
        if b.is_upper:
            assert D <= b.value, b
    # one-way and nondeterministic complexities sit below/around D as theory says
    n1 = rep.best_lower("N1").value
    ab = rep.best_lower("D1way(A->B)").value
    assert n1 <= D <= ab + 1
    for b in rep.bounds:
        w = b.witness
        if b.method in ("log-rank", "log-rank GF(2)"):
            assert check_rank_certificate(M, w)
        elif b.method in ("leaf-rank", "leaf-rank GF(2)"):
            assert check_rank_certificate(M, w[0]) and check_rank_certificate(1 - M, w[1])
        elif b.method in ("distinct-rows", "distinct-columns"):
            assert check_row_classes(M, w)
        elif b.method == "fooling-set":
            assert is_fooling_set(w, M, w.kind)
        elif b.method in ("partition-number", "cover-number"):
            assert check_rectangles(M, w)
        elif b.method == "protocol":
            assert _tree_correct(M, w) and w.cost == b.value
        elif b.method == "exact-search":
            assert _tree_correct(M, w.tree) and w.tree.cost == D


@settings(max_examples=30, deadline=None)
@given(matrices(max_side=5), st.booleans())
def test_exact_D_tree_and_lower_certificate(M, cheap):
    res = exact_D(M, use_cheap_bounds=cheap)
    assert _tree_correct(M, res.tree) and res.tree.cost == res.value
    assert res.lower.value is not None and math.ceil(res.lower.value - 1e-9) == res.value
    if res.proof is not None and M.size <= 12:
        assert res.proof.check()
