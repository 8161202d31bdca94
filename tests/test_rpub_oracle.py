"""The independent R^pub_eps oracle (tests/oracles/rpub_oracle.py) against facts it must reproduce."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from oracles.rpub_oracle import all_matrices, rpub, rpub_oneway, tables  # noqa: E402
from oracles.symmetry import canonical_classes  # noqa: E402


def test_table_counts_small() -> None:
    # depth 0: the two constants; depth 1 on 2x2: constants, 2 row patterns x ... (14 = 2 + 6 + 6)
    assert len(tables(2, 2, 0)) == 2 and len(tables(2, 2, 1)) == 6 and len(tables(2, 2, 2)) == 16


@pytest.mark.parametrize("m,n", [(2, 2), (2, 3), pytest.param(3, 3, marks=pytest.mark.slow)])
def test_eps_zero_is_deterministic_D(m: int, n: int) -> None:
    from ccbounds.bounds import exact_D, one_way

    for M in canonical_classes(m, n):
        assert rpub(M, 0.0) == exact_D(M).value
        assert rpub_oneway(M, 0.0) == one_way(M).value


@pytest.mark.slow
def test_monotone_in_eps_and_known_values() -> None:
    eq1 = np.eye(2, dtype=np.int8)
    assert [rpub(eq1, e) for e in (0, 0.1, 1 / 3, 0.49, 0.5)] == [2, 2, 2, 2, 0]
    rng = np.random.default_rng(3)
    for _ in range(4):
        M = rng.integers(0, 2, (4, 4))
        vals = [rpub(M, e) for e in (0, 0.1, 0.25, 1 / 3)]
        assert vals == sorted(vals, reverse=True) and vals[0] <= 3
        assert all(rpub_oneway(M, e) >= 0 for e in (0, 0.25))


@pytest.mark.slow
def test_canonical_classes_cover_everything() -> None:
    classes = canonical_classes(3, 3)
    from oracles.symmetry import canonical

    assert len(classes) < 60
    assert {canonical(M) for M in all_matrices(3, 3)} == {canonical(M) for M in classes}
