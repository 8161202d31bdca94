"""Bit budgets without weights: how long an input an architecture can possibly handle (theory §4, §6).

For an architecture, width and precision, the one-way message of Lemma R / Lemma T has S scalars:

=========  ===============================  =============================================
arch       S (scalars Alice sends)          note
=========  ===============================  =============================================
rnn, gru   width·layers                     Lemma R: the state of every layer
lstm       2·width·layers                   Lemma R: h and c of every layer
tf1        Q·H·(d_v + 1), d_v = width/H     Lemma T; Q = values of the query token
                                            (index lookup: Bob's index token, Q = n;
                                            x SEP y END: the END token, Q = 1)
tf2, ...   no size bound                    one-way protocols exist but grow with Bob's
                                            positions; two layers solve EQ/DISJ in width
                                            O(log n) [BHBK]: no bound applies
=========  ===============================  =============================================

At b bits per scalar the message has S·b bits; a model exact on every input needs S·b >=
D^{A->B}(f) (= n for INDEX, EQ, DISJ), and one with average error eps on INDEX/DISJ needs
S·b >= n·(1 - H2(eps)) under the INDEX distribution (x uniform, Bob's index i, resp. y = {i}, uniform): each
problem's own ``distributional_bound`` (EQ's is 0, GT states none; theory §10.7).

Examples
--------
>>> r = budget("lstm", width=8, precision=4, problem="index", n=100)
>>> r.message_bits, r.required.value, r.verdict
(64, 100, 'below bound')
>>> r.largest_n, r.smallest_width
(64, 13)
>>> r = budget("tf1", width=16, heads=2, precision=8, problem="index", n=1000)
>>> r.largest_n is None, r.construction
(True, ('one-layer index lookup', 272))

For an attention architecture S depends on the number of heads, so ``heads`` must be given: without it
the budget assumes one head, says so in its text (``heads_assumed``) and warns.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

from ccbounds._required_bits import required_bits
from ccbounds.architectures import ARCHITECTURES, get_architecture
from ccbounds.bound_record import Bound
from ccbounds.errors import TWO_LAYER_REASON, InvalidInputError

__all__ = ["budget", "BudgetReport", "ARCHS", "message_scalars"]

#: architectures the budget knows, with the lemma that applies (from :data:`ccbounds.architectures.ARCHITECTURES`)
ARCHS = {a.name: a.description for a in ARCHITECTURES.values()}


def message_scalars(arch: str, width: int, heads: int = 1, layers: int = 1, problem: Any = None) -> int | None:
    """S for ``arch`` (None for architectures no reduction applies to); Q from the problem's default layout.

    >>> message_scalars("lstm", 10, layers=2), message_scalars("tf1", 8, heads=2), message_scalars("tf2", 8)
    (40, 10, None)
    """
    q = problem.query_token_values if problem is not None else 1
    return get_architecture(arch).message_scalars(width, heads=heads, layers=layers, query_values=q)


def _smallest_width(arch: Any, heads: int, layers: int, precision: int, problem: Any, need: int) -> int:
    """The smallest width (a multiple of ``heads`` for attention) whose S*b meets ``need`` bits."""
    step = 1 if arch.recurrent else heads

    def ok(k: int) -> bool:
        s = arch.message_scalars(k * step, heads=heads, layers=layers, query_values=problem.query_token_values)
        return s * precision >= need

    hi = 1
    while not ok(hi):
        hi *= 2
    lo = hi // 2  # not ok(lo) (or lo = 0), ok(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi * step


def _problem(problem: Any, n: int) -> Any:
    if hasattr(problem, "alice_inputs"):
        if problem.n != n:
            raise InvalidInputError(f"the problem {problem.name} has n = {problem.n} but n = {n} was passed; "
                                    "pass the matching n or the problem's name")
        return problem
    from ccbounds.problems import get_problem

    return get_problem(str(problem), n)


@dataclass(frozen=True)
class BudgetReport:
    """The budget of one architecture at one width and precision for one problem size."""

    arch: str
    width: int
    heads: int
    layers: int
    bits_per_scalar: int
    problem: str
    n: int
    eps: float
    scalars: int | None
    required: Bound
    largest_n: int | None
    smallest_width: int | None
    construction: tuple[str, int] | None = None
    heads_assumed: bool = False  # True: an attention budget called without heads (one head assumed)

    @property
    def message_bits(self) -> int | None:
        """S·b, the exact message size (None when no reduction applies)."""
        return None if self.scalars is None else self.scalars * self.bits_per_scalar

    @property
    def verdict(self) -> str:
        if self.scalars is None:
            return "no bound"
        return "not ruled out" if self.message_bits >= math.ceil(self.required.value - 1e-9) else "below bound"

    @property
    def explanation(self) -> str:
        if self.scalars is None:
            return f"{TWO_LAYER_REASON}, so no width bound follows"
        if self.verdict == "below bound":
            goal = ("exact on every input of" if self.eps == 0 else
                    f"reach average error <= {self.eps:g} ({self.required.note}) on")
            return (f"S*b = {self.message_bits} bits < {self.required._value_text()} bits: no weights make this model "
                    f"{goal} {self.problem}")
        return (f"S*b = {self.message_bits} bits >= {self.required._value_text()} bits (the bound does not say "
                "the model can learn it)")

    def to_dict(self) -> dict[str, Any]:
        return {"arch": self.arch, "width": self.width, "heads": self.heads, "layers": self.layers,
                "heads_assumed": self.heads_assumed, "bits_per_scalar": self.bits_per_scalar,
                "problem": self.problem, "n": self.n, "eps": self.eps,
                "scalars": self.scalars, "message_bits": self.message_bits, "required": self.required.to_dict(),
                "verdict": self.verdict, "largest_n": self.largest_n, "smallest_width": self.smallest_width,
                "explanation": self.explanation,
                "construction": None if self.construction is None else
                {"name": self.construction[0], "width": self.construction[1]}}

    def to_frame(self) -> Any:
        """A one-row pandas DataFrame (concatenate several to compare architectures)."""
        import pandas as pd

        d = self.to_dict()
        d["required_bits"] = self.required.value
        d.pop("required")
        if d["construction"] is not None:
            d["construction"] = f"{d['construction']['name']} (width {d['construction']['width']})"
        return pd.DataFrame([d])

    def _repr_html_(self) -> str:
        import html

        return f"<pre>{html.escape(str(self))}</pre>"

    def __str__(self) -> str:
        return self.text()

    def text(self, width: int | None = None) -> str:
        """The report as an indented key/value table fitting ``width`` columns (default: the terminal's)."""
        heads = (f"{self.heads} head{'s' if self.heads > 1 else ''}"
                 + (" (assumed: pass heads=H, or --heads H, for an H-head model)" if self.heads_assumed else ""))
        shape = f"width {self.width}" + (f", {heads}" if not get_architecture(self.arch).recurrent else
                                        f", {self.layers} layer{'s' if self.layers > 1 else ''}")
        message = (f"S*b = {self.scalars} scalars x {self.bits_per_scalar} = {self.message_bits} bits"
                   if self.scalars is not None else
                   "no fixed size: a one-way message of two attention layers grows with Bob's positions")
        rows = [
            ["message", message],
            ["required", str(self.required)],
            ["verdict", f"{self.verdict}: {self.explanation}"],
            ["largest n", str(self.largest_n) if self.largest_n is not None else "unbounded by this argument"],
            ["smallest width", f"{self.smallest_width if self.smallest_width is not None else '-'} (for n = {self.n})"],
        ]
        if self.construction is not None:
            name, w = self.construction
            rows.append(["construction", f"{name} (theory §7): width {w}, exact on {self.problem} given "
                         "Theta(log n) bits per scalar (built and verified in float32 for small n)"])
        title = (f"{self.arch} ({shape}) at b = {self.bits_per_scalar} bits/scalar on {self.problem}"
                 + (f", error <= {self.eps}" if self.eps else ", exact"))
        from ccbounds._text import fit_text, render_table, terminal_width

        body = render_table(None, rows, width=terminal_width(width) - 2, no_wrap=(0,))
        return fit_text(title, width) + "\n" + "\n".join("  " + line for line in body.splitlines())


def budget(arch: str, *, width: int, heads: int | None = None, layers: int = 1, precision: int | str = 32,
           problem: Any = "index", n: int, eps: float = 0.0) -> BudgetReport:
    """The bit budget of ``arch`` at ``width`` and ``precision`` bits per scalar for ``problem`` of size n.

    Parameters
    ----------
    arch : {"rnn", "gru", "lstm", "tf1", "tf2"}
    width : int
        Hidden size (recurrent) or d_model (Transformer).
    heads : int, optional
        Attention heads (tf1: d_v = width/heads, S = Q·heads·(d_v + 1)). Give it for attention
        architectures: when omitted one head is assumed, the report says so (``heads_assumed``) and a
        ``UserWarning`` is raised (a 4-head checkpoint beside a 1-head budget would compare different S).
        Ignored by recurrent architectures.
    layers : int
        Recurrent layers.
    precision : int or str
        b, bits per scalar, as :func:`ccbounds.quantize.parse_precision` reads it: 1..32 (32 = fp32) or a
        float format such as "fp16" or "bf16".
    problem : str or Problem
        "index", "eq", "disj" (or a Problem instance).
    n : int
        Input length.
    eps : float
        0: exact on every input; > 0: average error under the INDEX distribution (INDEX, DISJ).

    Returns
    -------
    BudgetReport
        message bits, the required bits (a :class:`~ccbounds.bound_record.Bound`), the verdict, the largest n
        this model size can handle, and the smallest width for this n.
    """
    from ccbounds.quantize.precision import parse_precision

    a = get_architecture(arch)
    arch = a.name
    heads_assumed = heads is None and not a.recurrent and a.scalars is not None
    if heads_assumed:
        warnings.warn(f"budget({arch!r}, width={width}): heads not given, assuming 1 head (S = Q·(width + 1)); "
                      "pass heads=H to match an H-head model", UserWarning, stacklevel=2)
    if heads is None:
        heads = 1
    for name, v in (("width", width), ("heads", heads), ("layers", layers), ("n", n)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise InvalidInputError(f"{name} must be a positive integer, got {v!r}")
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 <= eps < 0.5:
        raise InvalidInputError(f"eps must be a number in [0, 1/2), got {eps!r} (as for `ccbounds bounds --eps`; "
                                "1/2 is a coin flip)")
    precision = parse_precision(precision).bits
    if a.scalars is not None and not a.recurrent and width % heads:
        raise InvalidInputError(f"width {width} is not divisible by heads {heads}; d_v = width/heads must be whole")
    if a.recurrent and heads != 1:
        raise InvalidInputError(f"heads counts attention heads; {arch} has none, its message is its state: drop "
                                "--heads (heads=) or pick tf1/tf2")
    if not a.recurrent and layers != 1:
        raise InvalidInputError(f"layers counts recurrent layers; a Transformer's depth is its arch ({arch!r}): "
                                "use tf1 for one attention layer, tf2 for two or more")
    prob = _problem(problem, n)
    req = required_bits(prob, eps)
    S = message_scalars(arch, width, heads, layers, prob)
    largest = smallest = None
    if S is not None:
        query_grows = not a.recurrent and prob.query_token_values > 1
        largest = None if query_grows else prob.largest_n(S * precision, eps)
        smallest = _smallest_width(a, heads, layers, precision, prob, math.ceil(req.value - 1e-9))
    return BudgetReport(arch, width, heads, layers, precision, prob.name, n, eps, S, req, largest, smallest,
                        _construction(arch, prob), heads_assumed)


def _construction(arch: str, problem: Any) -> tuple[str, int] | None:
    """The theory §7 construction of this architecture family for this problem, with its width."""
    from ccbounds.models.constructions import construction_width

    if arch not in problem.constructions:
        return None
    name, key = problem.constructions[arch]
    return name, construction_width(key, problem.n, q=problem.alphabet or 2)
