"""Bit budgets (theory §4, §6): message sizes per architecture, verdicts, largest n and smallest width
checked against a direct search over n and width."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccbounds.budgets import budget, message_scalars
from ccbounds.errors import TWO_LAYER_REASON, InvalidInputError, UnknownNameError


@pytest.mark.parametrize("arch,factor", [("rnn", 1), ("gru", 1), ("lstm", 2)])
def test_recurrent_message_sizes(arch: str, factor: int) -> None:
    r = budget(arch, width=7, layers=3, precision=16, problem="eq", n=10)
    assert r.scalars == factor * 7 * 3 and r.message_bits == factor * 7 * 3 * 16


def test_transformer_message_sizes_depend_on_the_query_token() -> None:
    assert budget("tf1", width=12, heads=3, precision=8, problem="eq", n=5).scalars == 3 * (4 + 1)
    assert budget("tf1", width=12, heads=3, precision=8, problem="index", n=5).scalars == 5 * 3 * (4 + 1)
    r = budget("tf2", width=12, heads=3, precision=8, problem="eq", n=5)
    assert r.scalars is None and r.verdict == "no bound" and "[BHBK]" in r.explanation
    assert TWO_LAYER_REASON in r.explanation and "no one-way reduction" not in r.explanation  # theory §4.2
    assert "no fixed size" in str(r) and "- scalars" not in str(r)


def _fits(arch: str, width: int, heads: int, layers: int, b: int, problem: str, n: int) -> bool:
    r = budget(arch, width=width, heads=heads, layers=layers, precision=b, problem=problem, n=n)
    return r.verdict != "below bound"


@settings(max_examples=60, deadline=None)
@given(arch=st.sampled_from(["rnn", "gru", "lstm"]), width=st.integers(1, 12), layers=st.integers(1, 3),
       b=st.integers(1, 16), problem=st.sampled_from(["index", "eq", "disj"]))
def test_largest_n_is_the_last_n_that_fits(arch: str, width: int, layers: int, b: int, problem: str) -> None:
    r = budget(arch, width=width, layers=layers, precision=b, problem=problem, n=4)
    N = r.largest_n
    assert _fits(arch, width, 1, layers, b, problem, N)
    assert not _fits(arch, width, 1, layers, b, problem, N + 1)


@settings(max_examples=60, deadline=None)
@given(arch=st.sampled_from(["rnn", "gru", "lstm", "tf1"]), n=st.integers(1, 300), b=st.integers(1, 12),
       heads=st.integers(1, 3), problem=st.sampled_from(["eq", "disj", "index"]))
def test_smallest_width_is_the_first_width_that_fits(arch: str, n: int, b: int, heads: int, problem: str) -> None:
    h = heads if arch == "tf1" else 1
    w = budget(arch, width=h, heads=h, precision=b, problem=problem, n=n).smallest_width
    assert w % h == 0 and _fits(arch, w, h, 1, b, problem, n)
    if w > h:
        assert not _fits(arch, w - h, h, 1, b, problem, n)


def test_errors_allowed_use_the_knr_bound() -> None:
    r = budget("gru", width=10, precision=1, problem="index", n=16, eps=0.1)
    assert math.isclose(r.required.value, 16 * (1 - (-(0.1 * math.log2(0.1)) - 0.9 * math.log2(0.9))))
    assert r.required.model == "D_mu_eps(A->B)" and r.verdict == "not ruled out"
    assert str(r).count("not ruled out") == 1 and "verdict         not ruled out: S*b = " in str(r)
    assert budget("gru", width=10, precision=1, problem="eq", n=16, eps=0.1).largest_n is None


def test_bad_input_is_refused() -> None:
    with pytest.raises(UnknownNameError, match="valid"):
        budget("mamba9", width=4, n=4)
    with pytest.raises(InvalidInputError, match="n must be"):
        budget("lstm", width=4, n=0)
    with pytest.raises(InvalidInputError, match="divisible"):
        budget("tf1", width=5, heads=2, n=4, problem="eq")
    assert message_scalars("tf2", 8) is None


def test_budget_tables_show_the_constructions_widths() -> None:
    from ccbounds.models.constructions import construction_width

    r = budget("tf1", width=8, heads=1, precision=8, problem="index", n=64)
    assert r.construction == ("one-layer index lookup", construction_width("index_lookup", 64))
    r = budget("tf2", width=8, precision=8, problem="disj", n=64)
    assert r.construction == ("two-layer DISJ", construction_width("two_layer_disj", 64)) and "width" in str(r)
    assert budget("lstm", width=8, problem="index", n=64).construction is None


def test_budget_frames_and_html() -> None:
    import pandas as pd

    rows = pd.concat([budget(a, width=8, heads=1, precision=4, problem="index", n=40).to_frame()
                      for a in ("gru", "lstm", "tf1")])
    assert list(rows["message_bits"]) == [8 * 4, 2 * 8 * 4, 40 * 1 * (8 + 1) * 4]  # GRU, LSTM, tf1 with Q = n
    assert list(rows["verdict"]) == ["below bound", "not ruled out", "not ruled out"]
    assert "<pre>" in budget("gru", width=8, n=4)._repr_html_()


def test_budget_refuses_inconsistent_requests_and_counts_q_ary_bits() -> None:
    from ccbounds.problems import INDEX

    with pytest.raises(InvalidInputError, match="depth is its arch"):
        budget("tf1", width=8, heads=2, layers=3, precision=4, problem="eq", n=100)
    with pytest.raises(InvalidInputError, match="n = 16 but n = 100"):
        budget("lstm", width=8, precision=4, problem=INDEX(16), n=100)
    r = budget("tf1", width=1, heads=1, precision=1, problem=INDEX(10, q=8), n=10)
    assert r.required.value == 30 and r.verdict == "below bound"
    w = r.smallest_width  # 10 * (w + 1) * 1 >= 30 -> w = 2
    assert w == 2
    assert budget("tf1", width=w, heads=1, precision=1, problem=INDEX(10, q=8), n=10).verdict != "below bound"
    r = budget("gru", width=2, precision=1, problem="disj", n=100, eps=0.1)
    assert r.verdict == "below bound" and "x uniform" in r.explanation


def test_attention_budget_without_heads_warns_and_says_so():
    with pytest.warns(UserWarning, match="heads not given, assuming 1 head"):
        r = budget("tf1", width=64, precision=8, problem="eq", n=1024)
    assert r.heads_assumed and r.scalars == 64 + 1 and "assumed: pass heads=H" in r.text(100)
    r4 = budget("tf1", width=64, heads=4, precision=8, problem="eq", n=1024)
    assert not r4.heads_assumed and r4.scalars == 4 * (16 + 1) and "assumed" not in r4.text(100)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        budget("lstm", width=8, precision=8, problem="eq", n=16)  # recurrent: heads do not enter, no warning


def test_budget_eps_validated_like_bounds() -> None:
    """eps >= 1/2 is refused as by `ccbounds bounds --eps` (1/2 is a coin flip), in the API and the CLI."""
    import pytest

    from ccbounds.budgets import budget
    from ccbounds.cli import main
    from ccbounds.errors import InvalidInputError

    for eps in (0.6, 0.5, -0.1, float("nan")):
        with pytest.raises(InvalidInputError, match=r"\[0, 1/2\)"):
            budget("lstm", width=8, n=16, eps=eps)
    assert main(["budget", "lstm", "--width", "8", "--n", "16", "--eps", "0.6"]) == 1
    assert main(["budget", "lstm", "--width", "8", "--n", "16", "--eps", "1/3"]) == 0
