"""Randomized lower bounds (theory §10) against an independent exact R^pub_eps (tests/oracles), their
certificates re-checked, corrupted certificates rejected, and IP's discrepancy against Lindsey's lemma."""

from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from oracles.rpub_oracle import all_matrices, rpub, rpub_oneway  # noqa: E402
from oracles.symmetry import canonical_classes  # noqa: E402

from ccbounds.bounds.discrepancy import check_discrepancy, discrepancy, discrepancy_bound, discrepancy_upper  # noqa: E402
from ccbounds.bounds.gamma2 import check_gamma2, gamma2_bounds  # noqa: E402
from ccbounds.bounds.oneway_dist import check_one_way_protocol, check_vc, one_way_distributional, vc_bound  # noqa: E402
from ccbounds.bounds.partition import check_corruption, check_partition, corruption_bound, partition_bound  # noqa: E402
from ccbounds.bounds.randomized import check_randomized_bound, randomized_bounds  # noqa: E402
from ccbounds.problems import IP  # noqa: E402

EPSILONS = (0.0, 0.1, 0.25, 1 / 3)
TOL = 1e-7


pytestmark = pytest.mark.slow  # SDPs and LPs (cvxpy takes seconds to import), brute-force oracles


def _check_against_oracle(M: np.ndarray, eps: float) -> None:
    bounds, skipped = randomized_bounds(M, eps)
    assert not skipped, skipped
    two_way, one_way = rpub(M, eps), rpub_oneway(M, eps)
    for b in bounds:
        assert check_randomized_bound(M, b), b
        if b.model in ("R_eps(pub)", "Q_eps"):  # Q*_eps <= R^pub_eps, so a bound on Q is one on R too
            assert b.value <= two_way + TOL, (M.tolist(), eps, str(b), two_way)
        else:  # D_mu_eps(A->B) and R1way_eps(A->B): at most the public-coin one-way complexity
            assert b.value <= one_way + TOL, (M.tolist(), eps, str(b), one_way)


@pytest.mark.parametrize("eps", EPSILONS)
@pytest.mark.slow
def test_every_2x2(eps: float) -> None:
    for M in all_matrices(2, 2):  # all 16, not only one per symmetry class
        _check_against_oracle(M, eps)


@pytest.mark.slow
@pytest.mark.parametrize("eps", EPSILONS)
def test_every_2x3_and_3x2(eps: float) -> None:
    for shape in ((2, 3), (3, 2)):
        for M in canonical_classes(*shape):
            _check_against_oracle(M, eps)


@pytest.mark.slow
@pytest.mark.parametrize("eps", EPSILONS)
def test_every_3x3(eps: float) -> None:
    """One matrix of each class under row/column permutations and complement (R_eps, disc, gamma2, prt and the
    one-way complexities are invariant under them; tests/oracles/symmetry.py): the 18 classes cover all 512."""
    for M in canonical_classes(3, 3):
        _check_against_oracle(M, eps)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.slow
def test_random_4x4(seed: int) -> None:
    M = np.random.default_rng(100 + seed).integers(0, 2, (4, 4)).astype(np.int8)
    for eps in EPSILONS:
        _check_against_oracle(M, eps)


def test_bounds_are_not_all_trivial() -> None:
    """The comparison has teeth: on EQ_1 and IP_2 some bounds are positive and one meets R^pub exactly."""
    eq1 = np.eye(2, dtype=np.int8)
    bs, _ = randomized_bounds(eq1, 0.0)
    assert max(b.value for b in bs if b.model == "R_eps(pub)") == pytest.approx(rpub(eq1, 0.0), abs=1e-6)
    ip2 = IP(2).matrix()
    bs, _ = randomized_bounds(ip2, 0.1)
    assert max(b.value for b in bs if b.model == "R_eps(pub)") > 2


def _corrupt(bound, **changes):
    return dataclasses.replace(bound, witness=dataclasses.replace(bound.witness, **changes))


def test_corrupted_certificates_are_rejected() -> None:
    M = IP(2).matrix()
    d = discrepancy_bound(M, 0.1)
    assert check_discrepancy(M, d)
    assert not check_discrepancy(M, dataclasses.replace(d, value=d.value + 0.5))
    assert not check_discrepancy(M, _corrupt(d, mu=np.full((4, 4), 1 / 8)))  # not a distribution
    assert not check_discrepancy(M, dataclasses.replace(d, witness=None))
    c = corruption_bound(M, 0.1)
    assert check_corruption(M, c) and not check_corruption(M, dataclasses.replace(c, value=c.value + 0.5))
    assert not check_corruption(M, _corrupt(c, lam=0.5))
    p = partition_bound(M, 0.1)
    assert check_partition(M, p)
    assert not check_partition(M, _corrupt(p, phi=p.witness.phi + 0.1))
    assert not check_partition(M, _corrupt(p, mu=-p.witness.mu))
    assert not check_partition(M, dataclasses.replace(p, value=p.value + 0.1))
    for g in gamma2_bounds(M, 0.1):
        assert check_gamma2(M, g)
        assert not check_gamma2(M, _corrupt(g, b=g.witness.b * 0.5))
        assert not check_gamma2(M, _corrupt(g, alpha=1.0))
        assert not check_gamma2(M, dataclasses.replace(g, value=g.value + 0.1))
    o = one_way_distributional(M, 0.1)
    assert check_one_way_protocol(M, o)
    assert not check_one_way_protocol(M, dataclasses.replace(o, value=o.value - 1))
    assert not check_one_way_protocol(M, _corrupt(o, classes=((0, 1, 2, 3),)))
    # an inflated value is rejected by the independent lower-half re-check (with its witness or a single class)
    E = np.eye(4, dtype=int)
    (ex,) = [b for b in randomized_bounds(E, 1 / 3)[0] if b.method == "exhaustive"]
    assert ex.value == 0 and check_randomized_bound(E, ex)
    assert not check_randomized_bound(E, dataclasses.replace(ex, value=3))
    assert not check_randomized_bound(E, _corrupt(dataclasses.replace(ex, value=3), classes=((0, 1, 2, 3),)))
    assert not check_one_way_protocol(M, dataclasses.replace(o, value=o.value + 1))
    assert not check_one_way_protocol(M, dataclasses.replace(o, value=o.value + 0.5))
    v = vc_bound(M, 0.1)
    assert check_vc(M, v) and not check_vc(M, _corrupt(v, rows=tuple(reversed(v.witness.rows))))
    assert not check_vc(M, dataclasses.replace(v, value=v.value + 1))


def _lindsey_oracle(n: int) -> float:
    """disc of IP_n under uniform, by brute force over every pair of row and column subsets (n <= 2)."""
    N = 2**n
    H = np.array([[(-1) ** bin(x & y).count("1") for y in range(N)] for x in range(N)]) / N**2
    best = 0.0
    for S in range(1 << N):
        for T in range(1 << N):
            s = np.array([S >> i & 1 for i in range(N)])
            t = np.array([T >> j & 1 for j in range(N)])
            best = max(best, abs(float(s @ H @ t)))
    return best


@pytest.mark.parametrize("n", [1, 2, 3, pytest.param(4, marks=pytest.mark.slow)])
def test_ip_discrepancy_below_lindsey(n: int, capsys: pytest.CaptureFixture[str]) -> None:
    d = float(discrepancy(IP(n), "uniform")[0])
    if n <= 2:
        assert d == pytest.approx(_lindsey_oracle(n), abs=1e-15)
    lindsey = 2 ** (-n / 2)
    assert d <= lindsey + 1e-15
    up = discrepancy_upper(IP(n), "uniform")[0]
    assert d <= up + 1e-9 and up <= lindsey * 1.000001  # the SDP relaxation is at most the spectral bound
    for eps in EPSILONS:
        b = discrepancy_bound(IP(n), eps, mu="uniform")
        assert b.value == pytest.approx(max(0.0, math.log2((1 - 2 * eps) / d)))
        assert check_discrepancy(IP(n), b)
        print(f"IP_{n}: disc_uniform = {d:.6g} <= Lindsey 2^(-n/2) = {lindsey:.6g}; eps={eps:.3g}: "
              f"R_eps(pub) >= {b.value:.4g} bits")


@pytest.mark.slow
def test_report_and_cli_show_randomized_rows(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import json
    import subprocess

    from ccbounds.bounds import bounds_report
    from ccbounds.cli import main

    r = bounds_report(IP(2), randomized=1 / 3)
    methods = {b.method for b in r.bounds if b.eps is not None}
    assert {"discrepancy", "corruption", "partition-lp", "gamma2-sdp", "exhaustive", "vc-dimension"} <= methods
    assert all(check_randomized_bound(IP(2), b) for b in r.bounds if b.method in methods - {"known"})
    path = tmp_path / "r.json"
    assert main(["bounds", "ip", "--n", "2", "--eps", "1/3", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "partition-lp" in out and "(eps=1/3)" in out and max(len(line) for line in out.splitlines()) <= 100
    data = json.loads(path.read_text())
    part = next(b for b in data["bounds"] if b["method"] == "partition-lp")
    assert part["eps"] == pytest.approx(1 / 3) and len(part["witness"]["mu"]) == 4
    res = subprocess.run([sys.executable, "-m", "ccbounds", "bounds", "ip", "--n", "2", "--eps", "3/4"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode != 0 and "Traceback" not in res.stderr and "--eps must be in [0, 1/2)" in res.stderr


def test_theory_table_of_ip_discrepancy() -> None:
    """The numbers of theory §10.2's table."""
    from fractions import Fraction

    assert [discrepancy(IP(n), "uniform")[0] for n in range(1, 5)] == [Fraction(1, 2), Fraction(5, 16),
                                                                       Fraction(11, 64), Fraction(7, 64)]
    table = {0.0: [1, 1.678, 2.541, 3.193], 1 / 3: [0, 0.093, 0.956, 1.608]}
    for eps, row in table.items():
        assert [round(discrepancy_bound(IP(n), eps, mu="uniform").value, 3) for n in range(1, 5)] == row


def test_wide_matrix_answers_or_skips_quickly() -> None:
    """16 x 2000: exact discrepancy (2^16 x 2000), the SDP, corruption and the one-way search are skipped as too
    large, with the reason, instead of running for minutes."""
    M = np.random.default_rng(0).integers(0, 2, (16, 2000))
    bounds, skipped = randomized_bounds(M, 1 / 3)
    reasons = dict(skipped)
    for label in ("discrepancy", "corruption", "one-way distributional"):
        assert label in reasons and "16x2000" in reasons[label], reasons
    assert all(check_randomized_bound(M, b) for b in bounds)
