"""Test-wide settings: hypothesis runs derandomized (same examples every run, as everything else in
ccbounds takes explicit seeds) and without wall-clock deadlines or slowness health checks, which a
busy 2-core CI machine would trip at random."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ccbounds", derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("ccbounds")


@pytest.fixture
def hard_9x9() -> np.ndarray:
    """The union of 4 rectangles (benchmarks/hard_instances.py, family "or") with duplicate rows and
    columns merged: 9 x 9, cheap lower bounds 4, D = 5 (refuting depth 4 takes glucose about a second)."""
    rows = ("000000000", "101000000", "100011111", "101011111", "101010101", "101111011", "101100011",
            "001100011", "101011010")
    return np.array([[int(c) for c in row] for row in rows], dtype=np.int8)


@pytest.fixture
def sat_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """exact_D without the exhaustive split search (theory §8.5), which decides ``hard_9x9`` in milliseconds:
    for tests of what an interrupted SAT search reports."""
    from ccbounds.bounds import exact

    monkeypatch.setattr(exact, "SPLIT_MAX_SIDE", 0)
