"""bounds_report: contents, known bounds of Problems, output formats, skips."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ccbounds.bounds import BoundsReport, bounds_report
from ccbounds.errors import InvalidInputError
from ccbounds.problems import EQ, INDEX


def test_report_of_problem_includes_known_and_exact():
    rep = bounds_report(EQ(2), exact=True)
    assert isinstance(rep, BoundsReport) and rep.problem == "EQ_2"
    methods = {b.method for b in rep.bounds}
    assert {"log-rank", "fooling-set", "distinct-rows", "partition-number", "cover-number", "sat", "known"} <= methods
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


def test_matrix_name_and_skips():
    rep = bounds_report(np.eye(3, dtype=int))
    assert rep.problem == "matrix 3x3" and rep.exact is None and rep.skipped == ()
    big = bounds_report(np.eye(40, dtype=int), exact=True, time_limit=5)  # too large for rectangles
    assert any(m == "partition number" for m, _ in big.skipped)
    assert big.exact is not None and big.exact.value == 7  # EQ-like: ceil(log2 40) + 1


def test_problem_too_large_for_matrix_still_reports_known():
    rep = bounds_report(INDEX(40))
    assert rep.bounds and all(b.method == "known" for b in rep.bounds)
    assert rep.skipped and "computed" in rep.skipped[0][0]


def test_bad_input():
    with pytest.raises(InvalidInputError):
        bounds_report([[0, 3]])
