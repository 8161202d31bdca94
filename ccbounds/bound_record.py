"""Typed bound records: no bare numbers for bounds.

A :class:`Bound` is one inequality about one complexity measure of one problem, e.g.
``D(EQ_3) >= 4``. It carries its direction, the model of communication it is about, how it was
obtained (``method``), a checkable witness where there is one, and its source.

Models of communication (theory §1) are named by the strings in :data:`MODELS`.

Examples
--------
>>> b = Bound(4, "lower", "D", "EQ_3", method="fooling-set", source="[KN] Ex. 1.20")
>>> str(b)
'D(EQ_3) >= 4 bits  [fooling-set; [KN] Ex. 1.20]'
>>> b.is_lower, b.is_upper
(True, False)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ccbounds.errors import InvalidInputError

__all__ = ["Bound", "MODELS", "DIRECTIONS", "SOURCES"]

#: direction of an inequality; "exact" means the value is both a lower and an upper bound
DIRECTIONS = ("lower", "upper", "exact")

#: models of communication (theory §1); keys are what ``Bound.model`` holds
MODELS = {
    "D": "deterministic, two-way; the last speaker's bit may be the answer",
    "D1way(A->B)": "deterministic one-way: Alice sends one message, Bob outputs",
    "D1way(B->A)": "deterministic one-way: Bob sends one message, Alice outputs",
    "R_eps(pub)": "randomized, public coin, error <= eps on every input",
    "R_eps(priv)": "randomized, private coin, error <= eps on every input",
    "R1way_eps(A->B)": "randomized one-way A->B, error <= eps on every input",
    "D_mu_eps(A->B)": "distributional one-way A->B: average error <= eps under mu",
    "Q_eps": "quantum, shared entanglement allowed, error <= eps on every input (Q*_eps)",
    "N1": "nondeterministic (certificates for output 1) = log2 C^1 ([KN] §2.1)",
    "N0": "nondeterministic (certificates for output 0) = log2 C^0 ([KN] §2.1)",
    "log2 C^D": "log2 of the monochromatic rectangle partition number (a lower bound on D)",
    "message": "size of the one message of an induced one-way protocol",
}

#: the references of docs/theory.md, by tag
SOURCES = {
    "[KN]": "E. Kushilevitz and N. Nisan, Communication Complexity, Cambridge University Press, 1997",
    "[RY]": "A. Rao and A. Yehudayoff, Communication Complexity and Applications, Cambridge University Press, 2020",
    "[KNR]": "I. Kremer, N. Nisan, D. Ron, On randomized one-round communication complexity, "
    "Computational Complexity 8(1), 1999",
    "[KS]": "B. Kalyanasundaram and G. Schnitger, The probabilistic communication complexity of set "
    "intersection, SIAM J. Discrete Math. 5(4), 1992",
    "[Raz]": "A. A. Razborov, On the distributional complexity of disjointness, Theoretical Computer "
    "Science 106(2), 1992",
    "[BHBK]": "S. Bhattamishra, M. Hahn, P. Blunsom, V. Kanade, Separations in the Representational "
    "Capabilities of Transformers and Recurrent Architectures, NeurIPS 2024 (arXiv 2406.09347)",
    "[SHT]": "C. Sanford, D. Hsu, M. Telgarsky, Representational Strengths and Limitations of "
    "Transformers, NeurIPS 2023",
    "[AUY]": "A. V. Aho, J. D. Ullman, M. Yannakakis, On notions of information transfer in VLSI "
    "circuits, STOC 1983",
}


@dataclass(frozen=True)
class Bound:
    """One inequality about a communication-complexity measure, in bits.

    Parameters
    ----------
    value : float or None
        The bound in bits. ``None`` only for purely asymptotic statements (then ``expression``
        holds them, e.g. ``"Theta(n)"``).
    direction : {"lower", "upper", "exact"}
        ``"lower"``: measure >= value; ``"upper"``: measure <= value; ``"exact"``: both.
    model : str
        The model of communication, a key of :data:`MODELS`.
    problem : str
        The problem it is about, e.g. ``"EQ_3"`` or ``"matrix 4x4"``.
    eps : float, optional
        The error parameter, for randomized and distributional models.
    method : str
        How it was obtained: ``"known"`` (a textbook value, not computed here), or the computation
        (``"log-rank"``, ``"fooling-set"``, ``"sat"``, ``"distinct-rows"``, ``"protocol"``, ...).
    witness : object, optional
        A checkable certificate (a fooling set, a rectangle partition, a protocol tree, an UNSAT proof).
    source : str
        Where the fact comes from (a tag of :data:`SOURCES` plus a locator), or the function that
        computed it.
    expression : str, optional
        The closed form the value instantiates, e.g. ``"n+1"``.
    note : str, optional
        Anything a reader must know (conventions, conditions).
    """

    value: float | None
    direction: str
    model: str
    problem: str
    eps: float | None = None
    method: str = "known"
    witness: Any = field(default=None, compare=False, repr=False)
    source: str = ""
    expression: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise InvalidInputError(
                f"Bound direction must be one of {DIRECTIONS}, got {self.direction!r}"
            )
        if self.value is None and not self.expression:
            raise InvalidInputError("a Bound without a value needs an expression such as 'Theta(n)'")
        if self.value is not None and (not isinstance(self.value, (int, float)) or math.isnan(self.value)):
            raise InvalidInputError(f"Bound value must be a number of bits, got {self.value!r}")

    @property
    def is_lower(self) -> bool:
        """True if the measure is at least ``value``."""
        return self.direction in ("lower", "exact")

    @property
    def is_upper(self) -> bool:
        """True if the measure is at most ``value``."""
        return self.direction in ("upper", "exact")

    @property
    def measure(self) -> str:
        """The measure as written in the text, e.g. ``D(EQ_3)`` or ``R_eps(pub)(EQ_8), eps=0.1``."""
        return f"{self.model}({self.problem})"

    @property
    def eps_text(self) -> str:
        """The error as people write it: a fraction where it is one (``1/3``), else a decimal (``0.1``).

        >>> Bound(3, "upper", "R_eps(pub)", "EQ_2", eps=1 / 3).eps_text
        '1/3'
        >>> Bound(5, "upper", "R_eps(pub)", "EQ_8", eps=0.1).eps_text
        '0.1'
        """
        if self.eps is None:
            return ""
        from fractions import Fraction

        f = Fraction(self.eps).limit_denominator(64)
        exact = abs(float(f) - self.eps) < 1e-12 and f.denominator > 1
        return f"{f.numerator}/{f.denominator}" if exact and float(f) != round(self.eps, 3) else f"{self.eps:g}"

    def _value_text(self) -> str:
        if self.value is None:
            return self.expression
        v = self.value
        return str(int(v)) if float(v).is_integer() else f"{v:.4g}"

    def __str__(self) -> str:
        rel = {"lower": ">=", "upper": "<=", "exact": "="}[self.direction]
        eps = f" (eps={self.eps_text})" if self.eps is not None else ""
        tail = "; ".join(t for t in (self.method, self.source) if t)
        return f"{self.measure}{eps} {rel} {self._value_text()} bits  [{tail}]"

    def to_dict(self) -> dict[str, Any]:
        """The record as plain data (the witness as its ``repr`` or ``to_dict()``)."""
        w = self.witness
        if w is not None and hasattr(w, "to_dict"):
            w = w.to_dict()
        elif w is not None and not isinstance(w, (int, float, str, list, tuple, dict)):
            w = repr(w)
        return {
            "measure": self.measure,
            "model": self.model,
            "problem": self.problem,
            "direction": self.direction,
            "value_bits": self.value,
            "expression": self.expression,
            "eps": self.eps,
            "method": self.method,
            "source": self.source,
            "note": self.note,
            "witness": w,
        }
