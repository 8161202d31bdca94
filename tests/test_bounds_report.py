"""bounds_report: contents, known bounds of Problems, output formats, skips."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ccbounds.bounds import (
    BoundsReport,
    bounds_report,
    brute_force_D,
    cover_number,
    one_way,
)
from ccbounds.errors import InvalidInputError
from ccbounds.problems import EQ, INDEX
from ccbounds.protocols import verify


def test_report_of_problem_includes_known_and_exact():
    rep = bounds_report(EQ(2), exact=True)
    assert isinstance(rep, BoundsReport) and rep.problem == "EQ_2"
    methods = {b.method for b in rep.bounds}
    assert {"log-rank", "fooling-set", "distinct-rows", "partition-number", "cover-number", "exact-search",
            "known"} <= methods
    assert rep.exact.value == 3 and rep.best_lower("D").value <= 3 <= rep.best_upper("D").value
    assert not [b for b in rep.bounds if b.method == "partition-number" and b.is_upper]
    known = [b for b in rep.bounds if b.method == "known"]
    assert known == EQ(2).known_bounds()


def test_formats():
    rep = bounds_report(EQ(2))
    df = rep.to_frame()
    assert list(df.columns) == ["measure", "direction", "value_bits", "model", "method", "source", "witness"]
    assert len(df) == len(rep.bounds)
    text = str(rep)
    assert text.splitlines()[0] == "Bounds for EQ_2 (bits)" and "log-rank" in text
    assert "<table" in rep._repr_html_() and "</table>" in rep._repr_html_()
    d = rep.to_dict()
    json.dumps(d, default=str)
    assert d["problem"] == "EQ_2" and len(d["bounds"]) == len(rep.bounds)


@pytest.mark.slow
def test_matrix_name_and_skips():
    rep = bounds_report(np.eye(3, dtype=int))
    assert rep.problem == "matrix 3x3" and rep.exact is None and rep.skipped == ()
    big = bounds_report(np.eye(40, dtype=int), exact=True, time_limit=5)  # rectangles take up to 64 x 64
    part = [b for b in big.bounds if b.method == "partition-number"]
    assert part and part[0].witness.number == 80  # rank(I) + rank(J - I) = 80, met by the one-way protocol
    assert big.exact is not None and big.exact.value == 7  # EQ-like: ceil(log2 40) + 1
    huge = bounds_report(np.eye(65, dtype=int), exact=True, time_limit=5)  # too large for rectangles, exact D
    assert {"partition number", "exact D"} <= {m for m, _ in huge.skipped}


def test_problem_too_large_for_matrix_still_reports_known():
    rep = bounds_report(INDEX(40))
    assert rep.bounds and all(b.method == "known" for b in rep.bounds)
    assert rep.skipped and "computed" in rep.skipped[0][0]


def test_bad_input():
    for bad in ([[0, 0.5]], [[0, -1]], [[0, 300]]):
        with pytest.raises(InvalidInputError):
            bounds_report(bad)


def test_q_ary_index_is_reported_with_exact_D():
    P = INDEX(2, q=3)
    rep = bounds_report(P, exact=True)
    assert rep.exact is not None and rep.exact.value == brute_force_D(P).value == 3
    assert verify(rep.exact.tree, P).ok
    ab = rep.best_lower("D1way(A->B)")
    assert ab.value == 4 == one_way(P).value  # ceil(log2 9): 9 distinct rows
    assert rep.best_upper("D").value == 3  # Bob names i (1 bit), Alice answers x_i in 2 bits
    assert any("0/1 matrices" in why for _, why in rep.skipped)
    assert [b for b in rep.bounds if b.method == "known"] == P.known_bounds()


def _evaluate(expression: str, M: np.ndarray) -> int:
    """The one-way upper bound's expression, evaluated on M independently of the library."""
    rows, cols = len({r.tobytes() for r in M}), len({c.tobytes() for c in M.T})
    text = expression.replace("#distinct rows", str(rows)).replace("#distinct columns", str(cols))
    return eval(text.replace("ceil(log2 ", "math.ceil(math.log2("). replace(")", "))", 1))


def test_one_way_upper_bound_expression_evaluates_to_its_value():
    for P in (INDEX(4), EQ(2), INDEX(2, q=3)):
        up = next(b for b in bounds_report(P).bounds if b.method == "protocol")
        assert _evaluate(up.expression, P.matrix()) == up.value, (P.name, up.expression)
    up = next(b for b in bounds_report(INDEX(4)).bounds if b.method == "protocol")
    assert up.value == 3 and "columns" in up.expression and "Bob" in up.source


def test_nondeterministic_complexity_is_log2_of_the_cover_number():
    M = [[1, 1, 0], [0, 1, 1], [1, 0, 1]]  # C^1 = 3
    b = cover_number(M, 1)
    assert b.witness.number == 3 and b.value == pytest.approx(math.log2(3))
    assert b.expression == "log2 C^1" and "[KN] §2.1" in b.source and "ceil(log2 C^1) = 2" in b.note


@pytest.mark.slow
def test_interrupted_exact_search_reports_the_interval(hard_9x9, sat_only):
    M = hard_9x9
    rep = bounds_report(M, exact=True, time_limit=0.2)
    assert rep.exact is None and rep.interval is not None
    lo, up = rep.interval.lower, rep.interval.upper
    assert lo.is_lower and up.is_upper and lo.value <= 5 <= up.value and lo in rep.bounds and up in rep.bounds
    assert all(up.witness.output(i, j) == M[i, j] for i in range(9) for j in range(9))
    assert lo.witness is not None and (lo.witness.check() if lo.method == "sat" else lo.method != "trivial")
    assert "exact D not decided" in str(rep) and rep.to_dict()["interval"]["upper"]["value_bits"] == up.value


@pytest.mark.slow
def test_two_valued_matrix_gets_randomized_bounds_relabelled() -> None:
    """A matrix with the two values 5 and 7 is a Boolean function: its randomized bounds are those of the 0/1
    matrix with 5 -> 0, 7 -> 1, and the report says so in a note."""
    from ccbounds.bounds.randomized import check_randomized_bound

    two = bounds_report([[5, 7], [7, 5]], randomized=1 / 3)
    ref = bounds_report([[0, 1], [1, 0]], randomized=1 / 3)
    got = sorted((b.method, b.model, round(b.value, 9)) for b in two.bounds if b.eps is not None)
    want = sorted((b.method, b.model, round(b.value, 9)) for b in ref.bounds if b.eps is not None)
    assert got and got == want
    assert not any(m == "randomized bounds" for m, _ in two.skipped)
    assert any("5 -> 0, 7 -> 1" in n for n in two.notes) and "note: " in two.table()
    assert all(check_randomized_bound([[0, 1], [1, 0]], b) for b in two.bounds if b.eps is not None)
    three = bounds_report([[0, 1], [2, 0]], randomized=1 / 3)
    assert any(m == "randomized bounds" for m, _ in three.skipped) and not three.notes


def test_bad_entry_named_by_row_and_column() -> None:
    with pytest.raises(InvalidInputError, match=r"row 1, column 2 holds -1.*map -1 to 0"):
        bounds_report(np.array([[1, -1], [-1, 1]]))
    with pytest.raises(InvalidInputError, match=r"row 2, column 1 holds 1e\+23"):
        bounds_report(np.array([[0.0, 1.0], [1e23, 0.0]]))


def test_multivalued_matrices_get_the_per_value_leaf_count():
    """INDEX(3, q=3): each value's indicator has rank 3 (Bob's columns), so 9 leaves and D >= 4 (theory §3.4),
    which meets the protocol; each per-value rank certificate checks on the problem's matrix."""
    from fractions import Fraction

    from ccbounds.bounds.rank import check_rank_certificate

    P = INDEX(3, q=3)
    rep = bounds_report(P)
    leaf = [b for b in rep.bounds if b.method in ("leaf-rank", "leaf-rank GF(2)")]
    assert len(leaf) == 2 and all(b.model == "D" and b.is_lower and "§3.4" in b.source for b in leaf)
    assert math.ceil(rep.best_lower("D").value - 1e-9) == 4 == rep.best_upper("D").value
    M = P.matrix()
    for b in leaf:
        assert sorted(c.value for c in b.witness) == [0, 1, 2]
        assert all(check_rank_certificate(M, c) for c in b.witness)
    # the ranks, by Gauss-Jordan over Q on Fractions here (no library code)
    for v in range(3):
        A = [[Fraction(int(M[i, j] == v)) for j in range(M.shape[1])] for i in range(M.shape[0])]
        rank = 0
        for c in range(M.shape[1]):
            p = next((i for i in range(rank, len(A)) if A[i][c] != 0), None)
            if p is None:
                continue
            A[rank], A[p] = A[p], A[rank]
            A = [row if i == rank or row[c] == 0 else [a - row[c] / A[rank][c] * r for a, r in zip(row, A[rank])]
                 for i, row in enumerate(A)]
            rank += 1
        assert rank == next(c.rank for c in leaf[0].witness if c.value == v) == 3
    assert any(m.startswith("log-rank") for m, _ in rep.skipped)
