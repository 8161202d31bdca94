"""Tests of ccbounds.information against closed forms and exact enumeration (theory §6)."""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest

from ccbounds.bound_record import Bound
from ccbounds.errors import InvalidInputError, UnknownNameError
from ccbounds.information import (
    H2,
    EntropyEstimate,
    FanoCertificate,
    H2_inv,
    clopper_pearson_upper,
    entropy_q_fano,
    fano_certificate,
    fano_term,
    hoeffding_upper,
    max_index_length,
    message_entropy,
    miller_madow_entropy,
    plugin_entropy,
)


def _entropy_bits(probs) -> float:
    return -sum(p * math.log2(p) for p in probs if p > 0)


# --- binary entropy -------------------------------------------------------------------------------


def test_H2_closed_forms():
    assert H2(0.5) == 1.0
    assert H2(0.25) == pytest.approx(0.8112781244591328, abs=1e-15)
    assert H2(0.0) == 0.0 and H2(1.0) == 0.0
    assert H2(0.125) == pytest.approx(-(1 / 8) * math.log2(1 / 8) - (7 / 8) * math.log2(7 / 8), abs=1e-15)
    p = np.linspace(0, 1, 101)
    h = H2(p)
    assert isinstance(h, np.ndarray) and h.shape == p.shape
    np.testing.assert_allclose(h, H2(1 - p), atol=1e-14)
    assert isinstance(H2(0.3), float)
    assert H2(np.zeros((2, 3))).shape == (2, 3)


@pytest.mark.parametrize("bad", [-0.1, 1.1, float("nan"), [0.2, 2.0]])
def test_H2_rejects_non_probabilities(bad):
    with pytest.raises(InvalidInputError):
        H2(bad)


def test_H2_inv_inverts_H2_on_lower_branch():
    p = np.linspace(0, 0.5, 501)
    np.testing.assert_allclose(H2_inv(H2(p)), p, atol=1e-11)
    h = np.linspace(0, 1, 401)
    np.testing.assert_allclose(H2(H2_inv(h)), h, atol=1e-10)
    assert H2_inv(0.0) == 0.0 and H2_inv(1.0) == 0.5
    assert H2_inv(H2(0.75)) == pytest.approx(0.25, abs=1e-12)  # the [0, 1/2] branch
    assert isinstance(H2_inv(0.5), float)
    with pytest.raises(InvalidInputError):
        H2_inv(1.5)


def test_entropy_q_fano_and_fano_term():
    assert entropy_q_fano(0.3, 2) == H2(0.3)
    assert entropy_q_fano(2 / 3, 3) == pytest.approx(math.log2(3), abs=1e-14)
    assert entropy_q_fano(0.2, 5) == pytest.approx(H2(0.2) + 0.2 * 2, abs=1e-15)
    for q in (2, 3, 4, 7):
        eps = np.linspace(0, 1, 301)
        t = fano_term(eps, q)
        assert fano_term(0.0, q) == pytest.approx(math.log2(q))
        assert np.all(np.diff(t) <= 1e-15)  # non-increasing
        assert np.all(t[eps >= (q - 1) / q] == 0.0)  # zero at and beyond the cap
        assert np.all(t >= 0)
    with pytest.raises(InvalidInputError):
        entropy_q_fano(0.1, 1)
    with pytest.raises(InvalidInputError):
        fano_term(0.1, 2.5)


# --- confidence bounds ----------------------------------------------------------------------------


def _cdf_fraction(k: int, m: int, p: Fraction) -> Fraction:
    return sum(math.comb(m, j) * p**j * (1 - p) ** (m - j) for j in range(k + 1))


def _cp_fraction(k: int, m: int, delta: Fraction) -> Fraction:
    """Brute force: bisection on the exact binomial CDF in rational arithmetic."""
    lo, hi = Fraction(0), Fraction(1)
    for _ in range(42):
        mid = (lo + hi) / 2
        if _cdf_fraction(k, m, mid) > delta:
            lo = mid
        else:
            hi = mid
    return hi


def test_clopper_pearson_zero_errors_closed_form():
    for m in (1, 2, 7, 30, 1000, 10**6):
        for delta in (0.5, 0.05, 1e-6):
            assert clopper_pearson_upper(0, m, delta) == pytest.approx(1 - delta ** (1 / m), rel=1e-14)
    assert clopper_pearson_upper(0, 30, 0.05) == pytest.approx(0.09503, abs=1e-5)  # "rule of three"
    assert clopper_pearson_upper(5, 5, 0.05) == 1.0


def test_clopper_pearson_matches_exact_rational_bisection():
    for m in range(1, 9):
        for k in range(m):
            for delta in (Fraction(1, 20), Fraction(1, 3)):
                exact = float(_cp_fraction(k, m, delta))
                assert clopper_pearson_upper(k, m, float(delta)) == pytest.approx(exact, abs=1e-10)
    assert clopper_pearson_upper(1, 10, 0.05) == pytest.approx(0.3941633, abs=1e-7)  # Beta(2,9) 95% point


def test_clopper_pearson_large_m_solves_the_cdf_equation():
    k, m, delta = 517, 100_000, 1e-4
    u = clopper_pearson_upper(k, m, delta)
    terms = [math.lgamma(m + 1) - math.lgamma(j + 1) - math.lgamma(m - j + 1)
             + j * math.log(u) + (m - j) * math.log1p(-u) for j in range(k + 1)]
    top = max(terms)
    cdf = math.exp(top) * math.fsum(math.exp(t - top) for t in terms)
    assert cdf == pytest.approx(delta, rel=1e-7)
    assert k / m < u < 0.01


@pytest.mark.parametrize("upper", [clopper_pearson_upper, hoeffding_upper])
def test_coverage_by_exact_enumeration(upper):
    delta = 0.05
    for m in (1, 2, 3, 5, 8, 13):
        bounds = [upper(k, m, delta) for k in range(m + 1)]
        for p in [0.0, 1e-3, 0.01, 0.05, 0.1, 0.2, 1 / 3, 0.5, 0.7, 0.9, 0.99, 1.0]:
            coverage = sum(math.comb(m, k) * p**k * (1 - p) ** (m - k)
                           for k in range(m + 1) if p <= bounds[k])
            assert coverage >= 1 - delta - 1e-12, (m, p, coverage)


def test_clopper_pearson_coverage_is_tight_somewhere():
    # the exact bound is not loose: just above some p_U(k) the coverage drops below 1 - delta
    m, delta = 10, 0.05
    u = clopper_pearson_upper(3, m, delta)
    p = u + 1e-9
    coverage = sum(math.comb(m, k) * p**k * (1 - p) ** (m - k)
                   for k in range(m + 1) if p <= clopper_pearson_upper(k, m, delta))
    assert coverage < 1 - delta + 1e-6


def test_hoeffding_formula():
    for k, m, delta in [(0, 10, 0.05), (3, 100, 0.01), (50, 60, 0.2)]:
        assert hoeffding_upper(k, m, delta) == min(1.0, k / m + math.sqrt(math.log(1 / delta) / (2 * m)))
    assert hoeffding_upper(9, 10, 0.05) == 1.0


@pytest.mark.parametrize("args", [(3, 2, 0.05), (-1, 2, 0.05), (1, 0, 0.05), (1, 2, 0.0), (1, 2, 1.0),
                                  (1.5, 2, 0.1)])
def test_bounds_reject_bad_counts(args):
    for upper in (clopper_pearson_upper, hoeffding_upper):
        with pytest.raises(InvalidInputError):
            upper(*args)


# --- the Fano certificate -------------------------------------------------------------------------


def test_certificate_union_bound_and_formula():
    errors, m, conf = [0, 3, 10, 60, 100], 100, 0.9
    c = fano_certificate(errors, m, confidence=conf)
    assert isinstance(c, FanoCertificate) and c.n == 5 and c.q == 2
    assert c.delta_per_coordinate == pytest.approx(0.1 / 5)
    for i, k in enumerate(errors):
        assert c.eps_upper[i] == min(0.5, clopper_pearson_upper(k, m, (1 - conf) / 5))
        assert c.eps_hat[i] == k / m
    assert c.eps_upper[3] == 0.5 and c.eps_upper[4] == 0.5  # capped: contribute 0
    assert c.L_certified == pytest.approx(sum(1 - H2(e) for e in c.eps_upper), abs=1e-12)
    assert c.L_plugin == pytest.approx(sum(1 - H2(min(e, 0.5)) for e in c.eps_hat), abs=1e-12)
    assert 0 < c.L_certified < c.L_plugin < 5
    h = fano_certificate(errors, m, confidence=conf, method="hoeffding")
    assert h.eps_upper[0] == pytest.approx(min(0.5, math.sqrt(math.log(5 / 0.1) / 200)))
    assert h.L_certified < c.L_certified  # Hoeffding is the looser of the two here


def test_certificate_per_coordinate_trials_q_ary_and_records():
    c = fano_certificate(np.array([0, 5]), [10, 1000], q=3, confidence=0.95)
    assert c.trials == (10, 1000) and c.errors == (0, 5)
    assert c.eps_upper[0] == pytest.approx(1 - (0.05 / 2) ** (1 / 10), rel=1e-13)
    expected = sum(math.log2(3) - H2(e) - e for e in c.eps_upper)
    assert c.L_certified == pytest.approx(expected, abs=1e-12)
    text = str(c)
    assert "confidence >= 0.95" in text and "uniform on [3]^2" in text and "independent samples" in text
    d = c.to_dict()
    assert d["L_certified_bits"] == c.L_certified and d["eps_upper"] == list(c.eps_upper)
    frame = c.to_frame()
    assert list(frame["term_bits"].round(12)) == [round(math.log2(3) - H2(e) - e, 12) for e in c.eps_upper]
    b = c.to_bound("INDEX_2")
    assert isinstance(b, Bound) and b.is_lower and b.value == c.L_certified and b.model == "message"
    assert c.violates(c.L_certified - 0.01) and not c.violates(64)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.n = 3  # frozen


@pytest.mark.parametrize("kwargs", [
    dict(errors=[1, 2], trials=[10]), dict(errors=[11], trials=10), dict(errors=[], trials=10),
    dict(errors=[1], trials=10, confidence=1.0), dict(errors=[1], trials=10, q=1),
    dict(errors=[[1, 2]], trials=10),
])
def test_certificate_rejects_bad_input(kwargs):
    with pytest.raises(InvalidInputError):
        fano_certificate(**kwargs)


def test_certificate_unknown_method():
    with pytest.raises(UnknownNameError, match="clopper-pearson"):
        fano_certificate([1], 10, method="wilson")


@pytest.mark.slow
def test_certificate_is_sound_on_simulated_channels():
    # Bob's answer on coordinate i is x_i flipped with prob p_i: I(M;X) = sum (1 - H2(p_i)) exactly.
    p = np.array([0.0, 0.05, 0.2, 0.4, 0.6])
    truth = float(np.sum([1 - H2(min(pi, 1 - pi)) for pi in p]))
    failures, reps = 0, 200
    for seed in range(reps):
        errs = np.random.default_rng(seed).binomial(300, p)
        failures += fano_certificate(errs, 300, confidence=0.9).L_certified > truth
    assert failures <= 0.1 * reps


def _optimal_errors(points, message, n, q):
    """Exact per-coordinate error counts of Bob's MAP decoder x_i = argmax_a #{x in M^-1(m): x_i = a}."""
    groups: dict = {}
    for x in points:
        groups.setdefault(message(x), []).append(x)
    errors = [0] * n
    for xs in groups.values():
        for i in range(n):
            errors[i] += len(xs) - max(Counter(x[i] for x in xs).values())
    h = _entropy_bits([len(xs) / len(points) for xs in groups.values()])
    return errors, h


@pytest.mark.parametrize("q,n_max", [(2, 4), (3, 3)])
def test_fano_bound_by_exact_enumeration(q, n_max):
    rng = np.random.default_rng(7)
    for n in range(1, n_max + 1):
        points = list(itertools.product(range(q), repeat=n))
        maps = [lambda x: x, lambda x: sum(x) % q, lambda x: x[0], lambda x: max(x), lambda x: 0]
        for r in (2, 3, 5, 9):
            table = {x: int(rng.integers(r)) for x in points}
            maps.append(table.__getitem__)
        for message in maps:
            errors, h_m = _optimal_errors(points, message, n, q)
            eps = np.array(errors) / len(points)
            L = float(np.sum(fano_term(eps, q)))
            assert L <= h_m + 1e-12  # I(M;X) = H(M) for a deterministic M
            cert = fano_certificate(errors, len(points), q=q)
            assert cert.L_plugin == pytest.approx(L, abs=1e-12)
            assert cert.L_certified <= cert.L_plugin + 1e-12
        identity_errors, h = _optimal_errors(points, lambda x: x, n, q)
        assert identity_errors == [0] * n and h == pytest.approx(n * math.log2(q))


# --- message entropy ------------------------------------------------------------------------------


def test_plugin_entropy_equals_empirical_entropy():
    rng = np.random.default_rng(0)
    for _ in range(20):
        counts = rng.integers(0, 20, size=int(rng.integers(1, 12)))
        counts[0] += 1
        e = plugin_entropy(counts)
        K = int(counts.sum())
        exact = _entropy_bits([c / K for c in counts])
        assert e.value_bits == pytest.approx(min(exact, math.log2(K)), abs=1e-12)
        assert e.K == K and e.distinct == int(np.count_nonzero(counts)) and e.cap_bits == math.log2(K)
    assert plugin_entropy([2, 1, 1]).value_bits == 1.5
    assert plugin_entropy([5]).value_bits == 0.0


def test_miller_madow_hand_example_and_cap():
    e = miller_madow_entropy([3, 1, 0])
    assert e.value_bits == pytest.approx(H2(0.25) + 1 / (2 * 4 * math.log(2)), abs=1e-15)
    assert e.estimator == "miller-madow" and e.distinct == 2 and not e.at_cap
    capped = miller_madow_entropy([1, 1, 1, 1])  # 2 + 3/(8 ln 2) > log2 4
    assert capped.value_bits == 2.0 and capped.cap_bits == 2.0 and capped.at_cap
    assert "cap log2 K = 2.0000 bits" in str(capped) and "at the cap" in str(capped)
    single = plugin_entropy([1])
    assert (single.value_bits, single.cap_bits) == (0.0, 0.0)
    assert "cap log2 K" in str(e) and e.to_dict()["cap_bits"] == 2.0
    assert isinstance(e, EntropyEstimate)
    for bad in ([], [0, 0], [-1, 2], [1.5], [[1, 2]]):
        with pytest.raises(InvalidInputError):
            plugin_entropy(bad)


def test_message_entropy_counts_distinct_rows():
    rng = np.random.default_rng(3)
    msgs = rng.integers(0, 3, size=(200, 3))
    counts = Counter(map(tuple, msgs.tolist()))
    expected = miller_madow_entropy(list(counts.values()))
    assert message_entropy(msgs) == expected
    assert message_entropy(msgs, "plugin") == plugin_entropy(list(counts.values()))
    rows = [bytes(r.astype(np.uint8)) for r in msgs]
    assert message_entropy(rows) == expected
    assert message_entropy(["01", "01", "10", "11"], "plug-in").value_bits == 1.5
    assert message_entropy(np.array([4, 4, 7, 9]), "plug-in").value_bits == 1.5
    import torch
    assert message_entropy(torch.tensor(msgs)) == expected
    with pytest.raises(UnknownNameError):
        message_entropy(msgs, "nsb")
    with pytest.raises(InvalidInputError):
        message_entropy(np.zeros((0, 3)))


# --- predicted limit ------------------------------------------------------------------------------


def test_max_index_length_closed_forms_and_boundaries():
    assert max_index_length(64, 0.0) == 64
    assert max_index_length(64.5, 0.0) == 64
    assert max_index_length(0, 0.1) == 0
    assert max_index_length(7, 0.0, q=4) == 3
    assert max_index_length(10, 0.5) is None and max_index_length(10, 0.7) is None
    assert max_index_length(10, 2 / 3, q=3) is None
    for q in (2, 3, 5):
        for eps in (0.0, 0.01, 0.1, 0.3):
            c = float(fano_term(eps, q))
            for k in range(1, 300):
                bits = k * c  # the boundary itself: n = k must be allowed
                n = max_index_length(bits, eps, q)
                assert n * c <= bits < (n + 1) * c and n >= k
    with pytest.raises(InvalidInputError):
        max_index_length(-1, 0.1)
    with pytest.raises(InvalidInputError):
        max_index_length(10, [0.1, 0.2])
    with pytest.raises(InvalidInputError):
        max_index_length(10, 1.2)


def test_entropy_cap_is_log2_of_the_smaller_of_samples_and_support():
    from ccbounds.information import miller_madow_entropy, plugin_entropy

    counts = [32] * 16  # K = 512 samples of a message that can take only 16 values
    assert plugin_entropy(counts).cap_bits == 9.0
    e = plugin_entropy(counts, log2_support=4.0)
    assert e.cap_bits == 4.0 and e.value_bits == 4.0 and e.at_cap
    assert miller_madow_entropy(counts, log2_support=4.0).value_bits == 4.0  # the correction cannot pass the cap
    assert plugin_entropy([1] * 8, log2_support=20.0).cap_bits == 3.0


@pytest.mark.slow
def test_audit_entropy_cap_counts_alice_inputs():
    import torch

    import ccbounds
    from ccbounds.models import RecurrentConfig, build_model

    torch.manual_seed(0)
    model = build_model(RecurrentConfig("gru", vocab_size=6, num_classes=2, width=4))
    report = ccbounds.audit(model, ccbounds.INDEX(4), precisions=(2, 32), samples=256, seed=0, witnesses=0)
    assert all(r.entropy_cap_bits == 4.0 for r in report.rows)  # |X| = 2^4 < K = 256
    assert all(r.entropy_bits <= 4.0 for r in report.rows)
