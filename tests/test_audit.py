"""ccbounds.audit (theory §6): determinism, the reduction check, certificates, verdicts, witnesses, plots,
and the per-coordinate fixed-point quantizer."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ccbounds  # noqa: E402
from ccbounds.auditing import AuditReport, CollisionWitness, QueryPlan, parse_precisions, row_verdict  # noqa: E402
from ccbounds.auditing.sampling import CALIBRATION, hash_rows  # noqa: E402
from ccbounds.auditing.witnesses import collision_pairs  # noqa: E402
from ccbounds.errors import InvalidInputError, UnknownNameError  # noqa: E402
from ccbounds.information import H2, max_index_length  # noqa: E402
from ccbounds.models import RecurrentConfig, TransformerConfig, build_model  # noqa: E402
from ccbounds.problems import DISJ, EQ, INDEX  # noqa: E402
from ccbounds.quantize import FixedPoint, PerCoordinateFixedPoint, calibrate_per_coordinate  # noqa: E402
from ccbounds.reduction import reduce  # noqa: E402

torch.set_num_threads(1)
SMALL = dict(samples=192, calibration_samples=64, batch=64)


pytestmark = pytest.mark.slow  # audits of compiled models


def _rec(cell: str, vocab: int, width: int, seed: int = 0, layers: int = 1) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(RecurrentConfig(cell, vocab_size=vocab, num_classes=2, width=width, layers=layers)).eval()


# -- the per-coordinate quantizer ---------------------------------------------------------------------
@pytest.mark.parametrize("bits", [1, 2, 3, 8, 13, 31])
def test_per_coordinate_equals_scalar_fixed_point_column_by_column(bits: int) -> None:
    rng = np.random.default_rng(bits)
    cal = rng.normal(size=(50, 5)) * np.array([1.0, 10.0, 0.01, 3.0, 1.0])
    cal[:, 4] = 0.25  # a constant coordinate: degenerate range
    s = calibrate_per_coordinate(cal, bits)
    assert np.array_equal(s.lo, cal.min(axis=0)) and np.array_equal(s.hi, cal.max(axis=0))
    msgs = rng.normal(size=(40, 5)) * 4  # some outside the calibrated ranges
    codes = s.encode(msgs)
    assert codes.shape == msgs.shape and codes.max() < 2**bits
    for j in range(4):  # outside the calibrated range a code clips to the end levels (column 4 is constant)
        assert (codes[msgs[:, j] <= cal[:, j].min(), j] == 0).all()
        assert (codes[msgs[:, j] >= cal[:, j].max(), j] == 2**bits - 1).all()
    assert (codes[:, 4] == 0).all() and (msgs[:, :4] < cal.min(axis=0)[:4]).any()  # the clipping was exercised
    for j in range(5):
        col = FixedPoint(bits, float(s.lo[j]), float(s.hi[j]))
        assert np.array_equal(codes[:, j], col.encode(msgs[:, j]))
        assert np.array_equal(s.decode(codes)[:, j], col.decode(codes[:, j]))
        assert s.column(j) == col
    bitstring = s.to_bits(msgs[0])
    assert len(bitstring) == 5 * bits == s.message_bits(5)
    assert np.array_equal(s.from_bits(bitstring), s.quantize(msgs[0]))


def test_per_coordinate_rejects_bad_input() -> None:
    with pytest.raises(InvalidInputError):
        PerCoordinateFixedPoint(2, [0.0, 1.0], [1.0, 0.0])  # lo > hi
    with pytest.raises(InvalidInputError):
        PerCoordinateFixedPoint(0, [0.0], [1.0])
    s = PerCoordinateFixedPoint(2, [0.0, 0.0], [1.0, 1.0])
    with pytest.raises(InvalidInputError):
        s.encode([[0.1, 0.2, 0.3]])  # 3 scalars, not S = 2
    with pytest.raises(InvalidInputError):
        s.encode([0.1, float("nan")])
    with pytest.raises(InvalidInputError):
        calibrate_per_coordinate([[0.0, float("inf")]], 4)


# -- sampling, hashing, precisions ----------------------------------------------------------------------
def test_alice_draws_do_not_depend_on_batching_and_calibration_is_a_separate_stream() -> None:
    plan = QueryPlan.for_problem(INDEX(6), seed=3)
    whole = plan.alice_rows(0, 700)
    parts = np.concatenate([plan.alice_rows(0, 100), plan.alice_rows(100, 513), plan.alice_rows(513, 700)])
    assert np.array_equal(whole, parts)
    assert not np.array_equal(plan.alice_rows(0, 50, CALIBRATION), whole[:50])
    eq = QueryPlan.for_problem(EQ(3), seed=0)
    rows = eq.alice_rows(0, 2)
    qs = eq.queries(rows)
    assert len(qs) == 2 * 4 and qs[0] == tuple(rows[0]) and sum(a != b for a, b in zip(qs[1], qs[0])) == 1
    disj = QueryPlan.for_problem(DISJ(3), seed=0)
    r = disj.alice_rows(0, 5)
    brute = [[DISJ(3).f(tuple(x), y) for y in disj.fixed_queries] for x in r.tolist()]
    assert disj.truth(r).tolist() == brute


def test_hashes_and_collision_pairs_match_brute_force() -> None:
    rng = np.random.default_rng(0)
    msgs = rng.integers(0, 3, size=(60, 2)).astype(np.uint32)
    xs = rng.integers(0, 4, size=(60, 2))
    mh, xh = hash_rows(msgs), hash_rows(xs)
    pairs, groups = collision_pairs(mh, xh, limit=10**6)
    for k, kp in pairs:
        assert np.array_equal(msgs[k], msgs[kp]) and not np.array_equal(xs[k], xs[kp])
    by_msg: dict = {}
    for m, x in zip(map(tuple, msgs.tolist()), map(tuple, xs.tolist())):
        by_msg.setdefault(m, set()).add(x)
    assert groups == sum(len(v) > 1 for v in by_msg.values())
    assert len(pairs) == sum(len(v) - 1 for v in by_msg.values())


def test_precisions_are_parsed_and_bad_ones_refused() -> None:
    assert [p.label for p in parse_precisions(["fp8e4m3", 32, 2, "bfloat16"])] == ["fixed2", "fp8e4m3", "bf16", "fp32"]
    with pytest.raises(InvalidInputError):
        parse_precisions([0])
    with pytest.raises(UnknownNameError, match="fp16"):
        parse_precisions(["fp12"])
    with pytest.raises(InvalidInputError):
        parse_precisions([])


# -- verdicts -------------------------------------------------------------------------------------------
def test_verdict_function() -> None:
    assert row_verdict(8, 4, L_certified=8.5)[0] == "violation"
    assert row_verdict(8, 4, L_certified=8.0)[0] == "consistent"
    assert row_verdict(3, 4, L_certified=None)[0] == "below bound"
    assert row_verdict(64, 4, L_certified=1.0, mismatches=1)[0] == "violation"
    assert "not ruled out" in row_verdict(4, 4)[1]


def test_largest_n_of_an_audit_row_brute_force() -> None:
    for bits in (1, 5, 16):
        for eps in (0.0, 0.05, 0.2):
            brute = max(n for n in range(0, 10 * bits + 2) if n * (1 - H2(eps)) <= bits + 1e-12)
            assert (INDEX(3).largest_n(bits, eps), INDEX(3).largest_n(bits)) == (brute, bits)
            assert DISJ(3).largest_n(bits, eps) == brute
    assert (EQ(2).largest_n(7), EQ(2).largest_n(7, 0.1)) == (7, None)


# -- audits ---------------------------------------------------------------------------------------------
def test_same_seed_gives_byte_identical_json_and_a_readable_report() -> None:
    model = _rec("gru", 6, width=3)
    a = ccbounds.audit(model, INDEX(4), precisions=(1, 4, "fp16", 32), witnesses=2, **SMALL)
    b = ccbounds.audit(model, INDEX(4), precisions=(1, 4, "fp16", 32), witnesses=2, **SMALL)
    assert a.to_json() == b.to_json()
    assert json.loads(a.to_json())["samples"] == 192
    c = ccbounds.audit(model, INDEX(4), precisions=(1, 4, "fp16", 32), witnesses=2, seed=1, **SMALL)
    assert c.to_json() != a.to_json()
    text = str(a)
    assert "S*b, L_cert" in text and "in bits" in text and "not ruled out" in text and "does NOT prove" in text
    assert a.to_frame().shape[0] == 4 and "<table" in a._repr_html_() and "<th>verdict</th>" in a._repr_html_()
    # the library's text does not talk about the CLI's exit status (``ccbounds audit`` prints that itself)
    assert "exit status" not in text and "exit status" not in a._repr_html_() and "no violation" in a._repr_html_()


def test_fp32_row_equals_the_model_on_the_same_inputs() -> None:
    model = _rec("lstm", 8, width=4, layers=2, seed=1)
    done = []
    r = ccbounds.audit(model, INDEX(6), precisions=(2, 32), progress=lambda d, t: done.append((d, t)), **SMALL)
    assert done[-1] == (192, 192) and done[0] == (0, 192)
    assert r.protocol_mismatches == 0 and r.model_accuracy == r.row(32).accuracy
    # recompute the model's accuracy directly on the full sequences of the same inputs
    p = reduce(model, INDEX(6))
    plan = QueryPlan.for_problem(INDEX(6), seed=0)
    xs = plan.inputs(plan.alice_rows(0, 192))
    pairs = [(x, i) for x in xs for i in range(6)]
    ans = p.model_answers(pairs)
    assert r.model_accuracy == pytest.approx(np.mean([a == x[i] for a, (x, i) in zip(ans, pairs)]), abs=1e-12)
    errs = np.array([[a != x[i] for a, (x, i) in zip(ans, pairs)]]).reshape(192, 6).sum(axis=0)
    assert r.row(32).errors == tuple(errs.tolist())
    assert r.exit_status == 0


def _cp_upper_by_bisection(k: int, m: int, delta: float) -> float:
    """Independent Clopper-Pearson upper bound: P(Bin(m, p) <= k) = delta by bisection on the exact CDF."""
    if k == m:
        return 1.0
    lo, hi = 0.0, 1.0
    for _ in range(80):
        p = (lo + hi) / 2
        cdf = math.fsum(math.comb(m, j) * p**j * (1 - p) ** (m - j) for j in range(k + 1))
        lo, hi = (p, hi) if cdf > delta else (lo, p)
    return hi


def _h2(p: float) -> float:
    return 0.0 if p in (0.0, 1.0) else -p * math.log2(p) - (1 - p) * math.log2(1 - p)


def test_certificate_never_exceeds_message_bits_and_matches_fano() -> None:
    model = _rec("lstm", 10, width=2, seed=2)  # S = 4
    r = ccbounds.audit(model, INDEX(8), precisions=(1, 2, 8, 32), **SMALL)
    delta = 0.05 / 8  # confidence 0.95, union bound over the 8 coordinates
    for row in r.rows:
        assert row.L_certified is not None and row.L_certified <= row.message_bits
        ups = [min(0.5, _cp_upper_by_bisection(k, row.trials, delta)) for k in row.errors]
        assert row.L_certified == pytest.approx(sum(1 - _h2(u) for u in ups), abs=1e-9)
        assert row.L_plugin == pytest.approx(sum(1 - _h2(min(0.5, k / row.trials)) for k in row.errors), abs=1e-12)
        assert row.largest_n == max_index_length(row.message_bits, 1 - row.accuracy)
        # cap log2 min(K, |X|, 2^{S*b}): K = 192 samples, |X| = 2^8, S*b = 4b bits (b = 1: 4 bits, not log2 192)
        assert row.entropy_bits <= row.entropy_cap_bits == min(math.log2(192), 8, row.message_bits)
    assert r.lower_bound.value == 8 and r.row(1).verdict == "below bound" and r.row(2).verdict == "consistent"


def test_a_leak_around_the_cut_is_reported_as_a_violation(monkeypatch: pytest.MonkeyPatch) -> None:
    import ccbounds.reduction as red

    real_reduce = red.reduce

    def leaky_reduce(*args, **kwargs):
        p = real_reduce(*args, **kwargs)
        seen: list = []
        alice, n = p.alice_messages, p.problem.n

        def alice_messages(xs):  # Alice also leaks x itself, outside the counted message
            seen[:] = list(xs)
            return alice(xs)

        def bob_logits_from_tokens(messages, tokens):  # Bob reads x_i from the side channel
            idx = tokens[:, -1] - 2  # index token of position i is 2 + i
            rows = torch.arange(len(tokens)) // n
            bits = torch.tensor([seen[int(r)][int(i)] for r, i in zip(rows, idx)])
            return torch.nn.functional.one_hot(bits, 2).float() * 5.0

        p.alice_messages, p.bob_logits_from_tokens = alice_messages, bob_logits_from_tokens
        return p

    monkeypatch.setattr(red, "reduce", leaky_reduce)
    r = ccbounds.audit(_rec("gru", 10, width=1), INDEX(8), precisions=(1, 32), witnesses=0, **SMALL)
    assert r.row(1).accuracy == 1.0 and r.row(1).L_certified > r.row(1).message_bits
    assert r.row(1).verdict == "violation" and "impossible" in r.row(1).reason
    assert r.row(32).verdict == "violation" and r.protocol_mismatches > 0  # the protocol is not the model
    assert r.exit_status == 3 and "MISMATCH" in str(r) and "violation at fixed1, fp32" in r._repr_html_()


def test_too_narrow_model_is_below_bound_with_confirmed_witnesses() -> None:
    model = _rec("gru", 10, width=1, seed=4)
    r = ccbounds.audit(model, INDEX(8), precisions=(1, 2, 32), witnesses=3, **SMALL)
    assert r.row(1).verdict == r.row(2).verdict == "below bound"
    assert r.row(1).distinct_messages <= 2 and r.row(2).distinct_messages <= 4
    assert 1 <= len(r.witnesses) <= 3 and r.collisions_examined >= len(r.witnesses)
    p = reduce(model, INDEX(8))
    for w in r.witnesses:
        assert isinstance(w, CollisionWitness) and w.confirmed and w.x != w.x_prime
        i = w.query
        assert w.x[i] != w.x_prime[i] and w.expected == (w.x[i], w.x_prime[i])
        for k, x in enumerate((w.x, w.x_prime)):
            assert list(w.tokens[k]) == p.gadget.encode(x, i).tolist()
            with torch.no_grad():
                out = int(model(torch.as_tensor([w.tokens[k]])).argmax(-1))
            assert out == w.model_answers[k]
        assert any(w.model_answers[k] != w.expected[k] for k in range(2))
        assert "WRONG" in str(w) and "confirmed" in str(w)


def test_random_model_on_eq_gives_x_x_witnesses() -> None:
    r = ccbounds.audit(_rec("gru", 4, width=2, seed=5), EQ(5), precisions=(1, 2, 32), witnesses=3, **SMALL)
    assert r.query_labels[0] == "equal" and len(r.rows[0].per_query_accuracy) == 6
    assert all(row.L_certified is None for row in r.rows) and "no Fano certificate" in " ".join(r.notes)
    assert r.witnesses
    for w in r.witnesses:
        assert w.query == w.x and w.expected == (1, 0) and w.confirmed


def test_disj_and_one_layer_transformer() -> None:
    r = ccbounds.audit(_rec("lstm", 4, width=3, seed=6), DISJ(4), precisions=(4, 32), **SMALL)
    assert r.row(4).L_certified is not None and r.model_accuracy == r.row(32).accuracy
    torch.manual_seed(7)
    tf = build_model(TransformerConfig(vocab_size=6, num_classes=2, max_len=5, d_model=8, heads=2)).eval()
    t = ccbounds.audit(tf, INDEX(4), precisions=(2, "bf16", 32), **SMALL)
    # INDEX: Lemma T's 4 * 2 * (4 + 1) partial sums exceed Alice's 4 embeddings of width 8, the compiled cut
    assert t.protocol_mismatches == 0 and t.model_accuracy == t.row(32).accuracy and t.scalars == 4 * 8


def test_one_layer_transformer_on_index_has_no_largest_n() -> None:
    # the query token (Bob's index) names a position: S grows with n, so no row may print a finite limit
    torch.manual_seed(7)
    tf = build_model(TransformerConfig(vocab_size=6, num_classes=2, max_len=5, d_model=8, heads=2)).eval()
    p = reduce(tf, INDEX(4))
    assert p.message_grows_with_n and p.largest_n(32) is None
    t = ccbounds.audit(tf, INDEX(4), precisions=(2, 32), witnesses=0, **SMALL)
    assert all(r.largest_n is None and r.largest_n_exact is None for r in t.rows)
    assert "'-' in n (eps) and n (0) at fixed2, fp32: no n is ruled out, since the message grows with n" in \
        " ".join(str(t).split())


def test_a_dash_for_n_at_the_measured_error_says_why() -> None:
    # an untrained width-1 GRU answers no better than chance: at eps = 1 - accuracy >= 1/2 guessing does as well
    # at every length, so n (eps) is '-' while n (0) is a number; the legend names the rows and the reason
    r = ccbounds.audit(_rec("gru", 6, width=1), INDEX(4), precisions=(1, 32), witnesses=0, **SMALL)
    assert all(row.accuracy <= 0.5 for row in r.rows)
    for row in r.rows:
        assert row.largest_n is None and row.largest_n_exact == max_index_length(row.message_bits, 0.0)
        assert INDEX(4).distributional_bound(1 - row.accuracy).value == 0 and ">= 1/2" in row.largest_n_note
    legend = " ".join(str(r).split())
    assert (f"'-' in n (eps) at fixed1, fp32: no n is ruled out, since the measured error "
            f"{1 - r.rows[0].accuracy:.4g} >= 1/2: guessing does as well at every n") in legend
    assert "no limit from this argument (e.g." not in legend
    solved = ccbounds.audit(_rec("gru", 6, width=1, seed=3), INDEX(4), precisions=(32,), witnesses=0, **SMALL)
    row = solved.rows[0]
    assert row.accuracy > 0.5 and row.largest_n is not None and row.largest_n_note == ""
    assert "'-' in n" not in str(solved) and "'-' in n (eps) at fixed1, fp32" in r._repr_html_()


def test_plot_has_labelled_axes() -> None:
    import matplotlib
    import matplotlib.figure

    matplotlib.use("Agg")
    r = ccbounds.audit(_rec("gru", 6, width=2), INDEX(4), precisions=(1, 8, 32), witnesses=0, **SMALL)
    fig = r.plot(label="narrow GRU")
    assert len(fig.axes) == 2  # two panels, one quantity per axis: no twin axes
    ax, ax2 = fig.axes
    assert "accuracy" in ax.get_ylabel() and "precision" in ax.get_xlabel() and "bits" in ax2.get_ylabel()
    assert ax.get_yscale() == "linear" and ax2.get_yscale() == "log"
    assert ax.get_title() and ax.get_legend() is not None and "narrow GRU" in fig._suptitle.get_text()
    below = [row.precision for row in r.rows if row.verdict == "below bound"]
    assert below and all(p in fig.caption for p in below)  # S = 2: 1 and 8 bits per scalar are below 4 bits
    hollow = [line for line in ax.lines if line.get_markerfacecolor() == "white"]
    assert len(hollow) == 1 and len(hollow[0].get_xdata()) == len(below)
    one = r.plot(ax=matplotlib.figure.Figure().add_subplot(), panel="bits")
    assert len(one.axes) == 1 and one.axes[0].get_yscale() == "log"
    with pytest.raises(InvalidInputError):
        r.plot(ax=one.axes[0], panel="entropy")


def test_bad_arguments_and_devices() -> None:
    model = _rec("gru", 6, width=2)
    with pytest.raises(InvalidInputError):
        ccbounds.audit(model, INDEX(4), samples=0)
    with pytest.raises(InvalidInputError):
        ccbounds.audit(model, INDEX(4), confidence=1.5)
    if not torch.cuda.is_available():
        with pytest.raises(InvalidInputError, match="CUDA is not available"):
            ccbounds.audit(model, INDEX(4), device="cuda", **SMALL)
    else:
        r = ccbounds.audit(model, INDEX(4), device="cuda", precisions=(2, 32), **SMALL)
        assert r.protocol_mismatches == 0
    assert next(model.parameters()).device.type == "cpu" and isinstance(
        ccbounds.audit(model, INDEX(4), precisions=(32,), **SMALL), AuditReport)
