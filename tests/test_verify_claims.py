"""verify() says what it established (issue 17, item 7): 'certified' only when an upper confidence bound on the
error is below the claim; exact coins compared in rationals."""

from __future__ import annotations

from fractions import Fraction

import pytest

from ccbounds.problems import Problem
from ccbounds.protocols import PublicCoinProtocol, verify
from ccbounds.protocols.verify import binomial_upper, claimed_fraction

XOR = Problem.from_matrix([[0, 1], [1, 0]], name="XOR")


def _noisy(true_error_per_mille: int, claim: float | Fraction) -> PublicCoinProtocol:
    """Bob answers f wrongly exactly when the shared coin r in range(1000) is < the given count."""
    return PublicCoinProtocol(lambda x, r: str(x), lambda m, y, r: (int(m) ^ y) ^ int(r < true_error_per_mille), 1,
                              error_bound=claim, name=f"noisy {true_error_per_mille}/1000",
                              draw_coins=lambda rng: int(rng.integers(0, 1000)),
                              support=lambda: range(1000), support_size=1000)


@pytest.mark.parametrize("true,claim", [(130, 0.10), (110, 0.10)])
@pytest.mark.slow
def test_sampled_coins_never_certify_a_false_claim(true: int, claim: float) -> None:
    statuses = [verify(_noisy(true, claim), XOR, seed=s, exact_coins=False).status for s in range(30)]
    assert "certified" not in statuses
    assert set(statuses) <= {"not rejected", "rejected"}


@pytest.mark.slow
def test_sampled_coins_certify_a_true_claim_with_enough_draws() -> None:
    v = verify(_noisy(10, 0.10), XOR, seed=0, exact_coins=False, coin_samples=2000)
    assert v.status == "certified" and v.certified and v.error_upper <= 0.10 and v.ok
    assert "CERTIFIED" in str(v) and f"{v.error_upper:.4g}" in str(v)
    few = verify(_noisy(10, 0.10), XOR, seed=0, exact_coins=False, coin_samples=20)
    assert few.ok and few.status == "not rejected" and few.error_upper > 0.10


@pytest.mark.slow
def test_upper_confidence_bound_covers_the_true_error() -> None:
    for s in range(20):
        v = verify(_noisy(130, 0.5), XOR, seed=s, exact_coins=False)
        assert v.error_upper >= 0.13
    assert binomial_upper(0, 100, 0.05) == pytest.approx(1 - 0.05 ** (1 / 100), rel=1e-9)


def test_exact_coins_compare_in_rationals() -> None:
    v = verify(_noisy(570, 0.57), XOR)  # 570 of 1000 coin values err: exactly 0.57
    assert v.exact_coins and v.ok and v.status == "certified"
    assert verify(_noisy(571, 0.57), XOR).status == "rejected"
    assert verify(_noisy(333, Fraction(333, 1000)), XOR).status == "certified"
    assert claimed_fraction(0.57) == Fraction(57, 100)


def test_sampled_pairs_are_not_certified() -> None:
    from ccbounds.problems import EQ
    from ccbounds.protocols.library import trivial_protocol

    v = verify(trivial_protocol(EQ(3)), EQ(3), samples=10)
    assert v.ok and v.status == "not rejected" and any("sampled pairs" in n for n in v.notes)
