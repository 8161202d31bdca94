"""An interactive bit-budget explorer for notebooks (theory §4, §6): sliders for n, b, width, heads and layers.

:func:`budget_explorer` shows :func:`ccbounds.budgets.budget`'s report and updates it as the sliders move: the
message S·b, the bits the problem needs, the verdict, the largest n and the smallest width. It needs
``ipywidgets`` (``pip install 'ccbounds[notebooks]'``); without it the same call returns the static
:class:`~ccbounds.budgets.BudgetReport` for the starting values and says how to get the sliders, so a notebook that
uses it runs everywhere.

Examples
--------
>>> text = budget_text("tf1", width=64, heads=4, precision=8, problem="eq", n=1024)
>>> "S*b = 68 scalars x 8 = 544 bits" in text and "below bound" in text
True
"""

from __future__ import annotations

import html
import warnings
from typing import Any

__all__ = ["budget_explorer", "budget_text", "HAVE_WIDGETS_HINT"]

#: what to install for the sliders
HAVE_WIDGETS_HINT = "install ipywidgets (pip install 'ccbounds[notebooks]') for sliders"

_ARCHS = ("lstm", "gru", "rnn", "tf1", "tf2")


def budget_text(arch: str, *, width: int, heads: int, precision: int, problem: str, n: int,
                layers: int = 1) -> str:
    """The budget report as text; heads are passed only to attention architectures, layers only to recurrent ones.

    A bad combination (a width not divisible by the heads) gives the library's one-line error instead of a report.
    """
    from ccbounds.architectures import get_architecture
    from ccbounds.budgets import budget
    from ccbounds.errors import CCBoundsError

    a = get_architecture(arch)
    kw: dict[str, Any] = {"layers": layers} if a.recurrent else {"heads": heads}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return budget(arch, width=width, precision=precision, problem=problem, n=n, **kw).text(100)
    except CCBoundsError as e:
        return f"error: {e}"


def budget_explorer(*, arch: str = "lstm", width: int = 64, heads: int = 4, layers: int = 1, precision: int = 8,
                    problem: str = "index", n: int = 1024) -> Any:
    """Sliders over :func:`~ccbounds.budgets.budget`: architecture, problem, n, b, width, heads, layers.

    Parameters
    ----------
    arch, width, heads, layers, precision, problem, n
        Starting values (as for :func:`~ccbounds.budgets.budget`; ``precision`` in bits per scalar, 1..32).

    Returns
    -------
    ipywidgets.VBox or BudgetReport
        The widget (display it as a cell's last expression); without ipywidgets, the static report for the
        starting values (with a ``UserWarning`` naming what to install).
    """
    try:
        import ipywidgets as w
    except ImportError:
        from ccbounds.architectures import get_architecture
        from ccbounds.budgets import budget

        warnings.warn(f"budget_explorer: {HAVE_WIDGETS_HINT}; showing the report for the starting values",
                      UserWarning, stacklevel=2)
        kw: dict[str, Any] = {"layers": layers} if get_architecture(arch).recurrent else {"heads": heads}
        return budget(arch, width=width, precision=precision, problem=problem, n=n, **kw)

    style = {"description_width": "initial"}
    arch_w = w.Dropdown(options=list(_ARCHS), value=arch, description="architecture", style=style)
    prob_w = w.Dropdown(options=["index", "eq", "disj"], value=problem, description="problem", style=style)
    n_w = w.IntSlider(value=n, min=1, max=max(4096, n), description="n (input bits)", style=style)
    b_w = w.IntSlider(value=precision, min=1, max=32, description="b (bits per scalar)", style=style)
    width_w = w.IntSlider(value=width, min=1, max=max(512, width), description="width", style=style)
    heads_w = w.IntSlider(value=heads, min=1, max=16, description="heads (attention)", style=style)
    layers_w = w.IntSlider(value=layers, min=1, max=8, description="layers (recurrent)", style=style)
    out = w.HTML()

    def refresh(*_: Any) -> None:
        from ccbounds.architectures import get_architecture

        recurrent = get_architecture(arch_w.value).recurrent
        heads_w.disabled, layers_w.disabled = recurrent, not recurrent
        text = budget_text(arch_w.value, width=width_w.value, heads=heads_w.value, precision=b_w.value,
                           problem=prob_w.value, n=n_w.value, layers=layers_w.value)
        out.value = f"<pre>{html.escape(text)}</pre>"

    for c in (arch_w, prob_w, n_w, b_w, width_w, heads_w, layers_w):
        c.observe(refresh, names="value")
    refresh()
    box = w.VBox([w.HBox([arch_w, prob_w]), n_w, b_w, width_w, heads_w, layers_w, out])
    box.report = out  # the HTML the sliders update (for tests and for reading the text)
    return box
