"""The budget explorer: its text follows the sliders; without ipywidgets it degrades to the static report."""

from __future__ import annotations

import builtins
import html

import pytest

from ccbounds.budgets import BudgetReport, budget
from ccbounds.widgets import budget_explorer, budget_text


def test_budget_text_passes_heads_only_to_attention_and_reports_errors():
    assert budget_text("tf1", width=64, heads=4, precision=8, problem="eq", n=1024) == budget(
        "tf1", width=64, heads=4, precision=8, problem="eq", n=1024).text(100)
    assert budget_text("lstm", width=8, heads=4, precision=8, problem="eq", n=16, layers=2) == budget(
        "lstm", width=8, layers=2, precision=8, problem="eq", n=16).text(100)
    assert budget_text("tf1", width=10, heads=4, precision=8, problem="eq", n=16).startswith("error: width 10")


def test_sliders_update_the_report():
    pytest.importorskip("ipywidgets")
    box = budget_explorer(arch="tf1", width=64, heads=4, precision=8, problem="eq", n=1024)
    text = html.unescape(box.report.value)
    assert "S*b = 68 scalars x 8 = 544 bits" in text and "4 heads" in text
    _, n_w, b_w, width_w, heads_w, layers_w, _ = box.children
    assert layers_w.disabled and not heads_w.disabled
    b_w.value = 16  # 68 x 16 = 1088 >= 1024
    assert "1088 bits" in html.unescape(box.report.value) and "not ruled out" in box.report.value
    heads_w.value = 1
    assert "65 scalars" in html.unescape(box.report.value)
    box.children[0].children[0].value = "lstm"
    assert heads_w.disabled and not layers_w.disabled and "lstm" in box.report.value


def test_without_ipywidgets_it_returns_the_static_report(monkeypatch):
    real = builtins.__import__

    def no_widgets(name, *a, **k):
        if name == "ipywidgets":
            raise ImportError("no ipywidgets")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_widgets)
    with pytest.warns(UserWarning, match="install ipywidgets"):
        r = budget_explorer(arch="gru", width=16, precision=4, problem="index", n=100)
    assert isinstance(r, BudgetReport) and r.message_bits == 64 and r.verdict == "below bound"
