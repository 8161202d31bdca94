"""Shared pieces of the plots: the Okabe–Ito palette, Axes creation, input labels, array coercion.

matplotlib is imported inside the functions only, so importing :mod:`ccbounds.plotting` costs nothing.

Examples
--------
>>> PALETTE[:3]
('#000000', '#E69F00', '#56B4E9')
>>> input_text((0, 1, 1)), input_text(2), input_text("a")
('011', '2', 'a')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ccbounds.errors import InvalidInputError

__all__ = ["PALETTE", "COLOURS", "OWNER_COLOURS", "new_axes", "add_caption", "input_text", "input_axis_label",
           "as_matrix_and_inputs", "as_float_array", "MAX_TICK_LABELS"]

#: the Okabe–Ito colour-blind-safe palette (Okabe & Ito, "Color Universal Design", 2008), in its usual order
PALETTE: tuple[str, ...] = (
    "#000000",  # black
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#F0E442",  # yellow
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
)

#: the palette by name
COLOURS: dict[str, str] = dict(zip(
    ("black", "orange", "sky blue", "bluish green", "yellow", "blue", "vermillion", "reddish purple"), PALETTE))

#: who sends at a protocol-tree node, by colour (leaves use the output colours)
OWNER_COLOURS: dict[str, str] = {"Alice": COLOURS["orange"], "Bob": COLOURS["sky blue"]}

#: a matrix side with more inputs than this gets index ticks instead of one label per input
MAX_TICK_LABELS = 16


def new_axes(ax: Any = None, figsize: tuple[float, float] = (4.5, 4.0)) -> Any:
    """``ax`` itself, or the Axes of a new figure of ``figsize`` inches (through pyplot, so notebooks show it)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def add_caption(fig: Any, text: str, width: int = 110) -> Any:
    """Write ``text`` (what to see in the figure) under ``fig``, wrapped at ``width`` characters.

    Saved with ``bbox_inches="tight"`` the caption is part of the image; ``fig.caption`` keeps the text.

    >>> import matplotlib.figure
    >>> fig = add_caption(matplotlib.figure.Figure(), "Blue cells are f = 1.")
    >>> fig.caption, fig.texts[-1].get_text()
    ('Blue cells are f = 1.', 'Blue cells are f = 1.')
    """
    import textwrap

    fig.caption = text
    fig.text(0.01, -0.01, textwrap.fill(text, width), ha="left", va="top", fontsize=8.5, color="0.15")
    return fig


def input_text(v: Any) -> str:
    """An input as short text: tuples of ints as digit strings (bit strings for 0/1), others with ``str``."""
    if isinstance(v, tuple) and all(isinstance(t, (int, np.integer)) and 0 <= t <= 9 for t in v):
        return "".join(str(int(t)) for t in v)
    return str(v)


def input_axis_label(who: str, inputs: Sequence[Any] | None, problem: Any = None) -> str:
    """The label of a matrix axis: whose input, what kind, and its size in bits where that makes sense.

    >>> input_axis_label("Bob", [(0, 0), (0, 1)])
    "Bob's input y ∈ {0,1}^2 (n = 2 bits)"
    """
    sym = "x" if who == "Alice" else "y"
    own = problem.axis_label(who) if problem is not None else None
    if own:
        return own
    if inputs is None or not len(inputs):
        return f"{who}'s input {sym} ({'row' if who == 'Alice' else 'column'} index)"
    v = inputs[0]
    if isinstance(v, tuple):
        n = len(v)
        q = max(2, 1 + max(max(t) for t in inputs))
        if q == 2:
            return f"{who}'s input {sym} ∈ {{0,1}}^{n} (n = {n} bits)"
        return f"{who}'s input {sym} ∈ {{0..{q - 1}}}^{n} (n = {n} symbols)"
    return f"{who}'s input {sym} ({'row' if who == 'Alice' else 'column'} index)"


def as_matrix_and_inputs(problem_or_matrix: Any) -> tuple[np.ndarray, Any, list | None, list | None, str]:
    """(matrix, problem or None, Alice's inputs, Bob's inputs, name) for a Problem or an array_like.

    A Problem gives its inputs in the documented order; a bare matrix gives ``None`` inputs (indices).
    """
    if hasattr(problem_or_matrix, "matrix") and hasattr(problem_or_matrix, "alice_inputs"):
        p = problem_or_matrix
        return np.asarray(p.matrix()), p, p.alice_inputs(), p.bob_inputs(), p.name
    M = np.asarray(problem_or_matrix)
    if M.ndim != 2 or M.size == 0:
        raise InvalidInputError(f"expected a Problem or a non-empty 2-D matrix, got shape {M.shape}; "
                                "pass e.g. ccbounds.EQ(2) or [[1, 0], [0, 1]]")
    if not np.issubdtype(M.dtype, np.integer):
        if not np.all(np.isfinite(M)) or not np.all(M == np.round(M)):
            raise InvalidInputError("a communication matrix holds integer outputs; round it or pass a Problem")
        M = M.astype(np.int64)
    return M, None, None, None, f"matrix {M.shape[0]}x{M.shape[1]}"


def as_float_array(values: Any, what: str = "message") -> np.ndarray:
    """A float64 numpy copy of a numpy array, list or torch tensor (detached, on the CPU)."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        raise InvalidInputError(f"the {what} is empty; pass at least one scalar")
    return arr
