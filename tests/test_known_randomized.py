"""Known randomized values of the built-in problems (theory §2, §10.7), typed with sources, and the
eps-error "largest n" never borrowing a bound that does not hold for the problem (checked by brute force)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from oracles.oneway_mu import d_mu_uniform  # noqa: E402
from oracles.rpub_oracle import rpub_oneway  # noqa: E402

from ccbounds.bound_record import MODELS  # noqa: E402
from ccbounds.problems import DISJ, EQ, GT, INDEX, IP  # noqa: E402


def _find(bounds, model, direction=None):
    return [b for b in bounds if b.model == model and (direction is None or b.direction == direction)]


@pytest.mark.parametrize("eps", [0.1, 0.25, 1 / 3])
def test_known_values_are_typed_with_sources(eps: float) -> None:
    n = 6
    for p in (INDEX(n), EQ(n), DISJ(n), GT(n), IP(n)):
        for b in p.known_bounds(eps):
            assert b.method == "known" and b.source and b.model in MODELS, (p.name, b)
    eq = EQ(n).known_bounds(eps)
    assert _find(eq, "R_eps(pub)", "upper")[0].value == math.ceil(math.log2(1 / eps) - 1e-12) + 1
    assert _find(eq, "R_eps(priv)")[0].expression == "Theta(log n)" and "Newman" in _find(eq, "R_eps(priv)")[0].source
    gt = GT(n).known_bounds(eps)
    assert _find(gt, "R_eps(pub)")[0].expression == "Theta(log n)" and "Viola" in _find(gt, "R_eps(pub)")[0].source
    for p in (DISJ(n), IP(n)):
        bs = p.known_bounds(eps)
        assert {b.expression for b in _find(bs, "R_eps(pub)") + _find(bs, "R_eps(priv)")} == {"Theta(n)"}
        assert _find(bs, "R1way_eps(A->B)", "lower")[0].value == pytest.approx(n * (1 - _h2(eps)))
    assert "[KS]" in _find(DISJ(n).known_bounds(eps), "R_eps(pub)")[0].source
    assert "discrepancy" in _find(IP(n).known_bounds(eps), "R_eps(pub)")[0].source
    ix = INDEX(n).known_bounds(eps)
    assert _find(ix, "R1way_eps(A->B)", "lower")[0].value == pytest.approx(n * (1 - _h2(eps)))
    assert _find(ix, "D", "upper")[0].value == math.ceil(math.log2(n)) + 1
    assert _find(ix, "R_eps(pub)", "upper")[0].value == math.ceil(math.log2(n)) + 1


def _h2(p: float) -> float:
    return 0.0 if p in (0, 1) else -p * math.log2(p) - (1 - p) * math.log2(1 - p)


@pytest.mark.parametrize("eps", [0.1, 0.25])
@pytest.mark.slow
def test_known_one_way_bounds_hold_on_small_instances(eps: float) -> None:
    """The [KNR] values are at most the exact public-coin one-way complexity (independent LP oracle)."""
    for p in (INDEX(2), DISJ(2), IP(2)):
        b = _find(p.known_bounds(eps), "R1way_eps(A->B)", "lower")[0]
        assert b.value <= rpub_oneway(p.matrix(), eps) + 1e-9, (p.name, eps)


@pytest.mark.parametrize("eps", [0.05, 0.1, 0.2, 0.3])
@pytest.mark.slow
def test_distributional_bound_used_by_largest_n_holds_under_its_mu(eps: float) -> None:
    """largest_n(eps) reads problem.resized(n).one_way_bound(eps): each problem's own bound, which must hold for
    the exact D^{A->B,mu}_eps under the mu its note names (brute force, n <= 3)."""
    for n in (1, 2, 3):
        for p in (INDEX(n), DISJ(n), IP(n), EQ(n)):
            b = p.one_way_bound(eps)
            assert b.problem == p.name and b.model == "D_mu_eps(A->B)"
            M = p.matrix()
            if isinstance(p, (DISJ, IP)):  # mu: x uniform, y = {i} with i uniform
                cols = [p.y_index(tuple(int(j == i) for j in range(n))) for i in range(n)]
                M = M[:, cols]
            if isinstance(p, EQ):
                assert b.value == 0  # no bound with errors, for every mu
                continue
            assert b.value <= d_mu_uniform(M, eps) + 1e-9, (p.name, eps, b.value)
        assert GT(n).distributional_bound(eps) is None and GT(n).largest_n(100, eps) is None


def test_largest_n_uses_no_borrowed_bound() -> None:
    assert EQ(4).largest_n(8, eps=0.1) is None  # EQ with errors: hashing, no length ruled out
    assert DISJ(4).largest_n(8, eps=0.1) == INDEX(4).largest_n(8, eps=0.1)  # the embedding, same mu
    for bits in (4, 16, 64):
        n = IP(4).largest_n(bits, eps=0.1)
        assert IP(n).one_way_bound(0.1).value <= bits < IP(n + 1).one_way_bound(0.1).value


@pytest.mark.slow
def test_randomized_bounds_never_exceed_known_upper_bounds() -> None:
    from ccbounds.bounds import randomized_bounds

    for eps in (0.1, 0.25):
        upper = _find(EQ(2).known_bounds(eps), "R_eps(pub)", "upper")[0].value
        bs, _ = randomized_bounds(EQ(2), eps)
        assert all(b.value <= upper + 1e-9 for b in bs if b.model == "R_eps(pub)")
        ix = np.asarray(INDEX(3).matrix())
        bs, _ = randomized_bounds(ix, eps)
        up = _find(INDEX(3).known_bounds(eps), "R_eps(pub)", "upper")[0].value
        assert all(b.value <= up + 1e-9 for b in bs if b.model == "R_eps(pub)")
