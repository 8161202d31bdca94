"""The accuracy ceiling of theory §6: what S·b bits allow on INDEX_n, and which audited points break it.

Any one-way protocol whose message takes at most 2^c values (c = S·b bits) on INDEX_n, with x uniform
on {0,1}^n and Bob's index i uniform, errs with probability eps_i on index i and on average eps. Fano
per coordinate, subadditivity and the concavity of H2 give

    n (1 - H2(eps))  <=  sum_i (1 - H2(eps_i))  <=  I(M; X)  <=  H(M)  <=  c,

so for c < n the accuracy 1 - eps is at most ``1 - H2^{-1}(1 - c/n)`` (H2^{-1} onto [0, 1/2]); for
c >= n there is no limit (ceiling 1). The same holds for DISJ_n audited on y = {i} (DISJ(x, {i}) = 1 - x_i
is INDEX up to relabelling Bob's answer). One curve in c/n serves every model, width, precision and n.

An audited accuracy is an estimate from K Alice inputs (each asked every index): the per-input accuracies
are i.i.d. in [0, 1], so by Hoeffding's inequality the true accuracy is at least
``acc - sqrt(ln(1/delta) / (2K))`` with probability >= 1 - delta. A point is *above the ceiling* when its
measured accuracy is; it is a *certified violation* when even that lower confidence bound is.

Examples
--------
>>> accuracy_ceiling(8, 16) == 1 - float(H2_inv(0.5)), accuracy_ceiling(16, 16), accuracy_ceiling(0, 16)
(True, 1.0, 0.5)
>>> round(accuracy_ceiling(1, 3), 4)
0.826

References
----------
I. Kremer, N. Nisan, D. Ron, On randomized one-round communication complexity, Computational Complexity
8(1), 1999 (the INDEX bound by Fano's inequality). W. Hoeffding, Probability inequalities for sums of
bounded random variables, JASA 58, 1963.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ccbounds.errors import InvalidInputError
from ccbounds.information import H2_inv

__all__ = ["CEILING_PROBLEMS", "CeilingPoint", "accuracy_ceiling", "accuracy_lower_confidence", "ceiling_point"]

#: problem families whose audited accuracy the ceiling bounds (binary alphabet only)
CEILING_PROBLEMS = ("INDEX", "DISJ")


def accuracy_ceiling(message_bits: float, n: int) -> float:
    """The largest accuracy on INDEX_n (x, i uniform) of any protocol of ``message_bits`` bits (theory §6).

    Parameters
    ----------
    message_bits : float
        c = S·b >= 0.
    n : int
        The problem size, >= 1.

    Returns
    -------
    float
        ``1 - H2^{-1}(1 - c/n)`` for c < n, else 1.

    Raises
    ------
    InvalidInputError
        Negative bits or n < 1.
    """
    if not (isinstance(n, int) and n >= 1) or not message_bits >= 0:
        raise InvalidInputError("the ceiling needs message_bits >= 0 and an integer n >= 1, "
                                f"got {message_bits!r}, {n!r}")
    if message_bits >= n:
        return 1.0
    return 1.0 - float(H2_inv(1.0 - message_bits / n))


def accuracy_lower_confidence(accuracy: float, samples: int, delta: float = 0.05) -> float:
    """Hoeffding's lower confidence bound on the true accuracy from K i.i.d. per-input accuracies in [0, 1].

    Examples
    --------
    >>> round(accuracy_lower_confidence(0.9, 200), 4)
    0.8135
    """
    if samples < 1 or not 0 < delta < 1:
        raise InvalidInputError(f"need samples >= 1 and 0 < delta < 1, got {samples!r}, {delta!r}")
    return max(0.0, accuracy - math.sqrt(math.log(1.0 / delta) / (2.0 * samples)))


@dataclass(frozen=True)
class CeilingPoint:
    """One (model, precision) of a sweep on the ceiling figure: x = S·b / n, y = audited accuracy."""

    key: str
    arch: str
    width: int
    layers: int
    task: str
    n: int
    steps: int
    seed: int
    precision: str
    message_bits: int
    accuracy: float
    samples: int
    ceiling: float
    accuracy_lower: float

    @property
    def ratio(self) -> float:
        """S·b / n."""
        return self.message_bits / self.n

    @property
    def above(self) -> bool:
        """The measured accuracy lies above the ceiling (by more than 1e-9)."""
        return self.accuracy > self.ceiling + 1e-9

    @property
    def violation(self) -> bool:
        """Even the 95 % lower confidence bound on the accuracy lies above the ceiling: a contradiction."""
        return self.accuracy_lower > self.ceiling + 1e-9

    def to_dict(self) -> dict[str, Any]:
        """Plain data, with ratio, above and violation."""
        from dataclasses import asdict

        return {**asdict(self), "ratio": self.ratio, "above": self.above, "violation": self.violation}


def ceiling_point(row: dict[str, Any], record: dict[str, Any], per: dict[str, Any],
                  delta: float = 0.05) -> CeilingPoint:
    """The :class:`CeilingPoint` of one precision ``per`` of a results row (see :mod:`ccbounds.sweeps.worker`)."""
    n, K = int(row["n"]), int(record["audit"]["samples"])
    return CeilingPoint(key=str(row["key"]), arch=str(row["arch"]), width=int(row["width"]),
                        layers=int(row.get("layers") or 1), task=str(row["task"]), n=n, steps=int(row["steps"]),
                        seed=int(row["seed"]), precision=str(per["precision"]), message_bits=int(per["message_bits"]),
                        accuracy=float(per["accuracy"]), samples=K,
                        ceiling=accuracy_ceiling(int(per["message_bits"]), n),
                        accuracy_lower=accuracy_lower_confidence(float(per["accuracy"]), K, delta))
