"""Fixed-point quantization: 2^b uniform levels on a calibrated range [lo, hi] (theory §9).

Convention: the levels include both endpoints, ``lo + k * step`` for k = 0 .. 2^b - 1 with
``step = (hi - lo) / (2^b - 1)``; a value is clipped to [lo, hi] and sent to its nearest level (ties to the
even code, numpy's ``rint``), so inside the range the error is at most step / 2. b = 1 gives the two
levels lo and hi. A degenerate range lo == hi has step 0: every value gets code 0 and decodes to lo (the
message still costs b bits per scalar, since the format is fixed before the message is seen).

Examples
--------
>>> s = FixedPoint(2, 0.0, 3.0)
>>> s.encode([-1.0, 0.4, 1.6, 9.0]).tolist(), s.quantize([0.4, 1.6]).tolist()
([0, 0, 2, 3], [0.0, 2.0])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ccbounds.errors import InvalidInputError, UnknownNameError
from ccbounds.quantize.base import Scheme, _check_bits, as_codes, as_float_array

__all__ = ["FixedPoint", "calibrate", "CALIBRATION_RULES"]

#: how :func:`calibrate` chooses [lo, hi] from a calibration batch
CALIBRATION_RULES = {
    "minmax": "lo = min, hi = max over every scalar of the calibration batch",
    "percentile": "lo, hi = the (100 - p)-th and p-th percentiles (numpy linear interpolation)",
}


@dataclass(frozen=True)
class FixedPoint(Scheme):
    """Uniform fixed-point quantizer with ``bits`` bits per scalar on [lo, hi] (levels include both ends).

    Parameters
    ----------
    bits : int
        b in 1..32; codes are uint32 in [0, 2^b).
    lo, hi : float
        The finite range, lo <= hi; values outside are clipped.
    calibration : str
        How [lo, hi] was chosen (for reports), e.g. ``"minmax over 512 messages"``.

    Raises
    ------
    InvalidInputError
        b outside 1..32, a non-finite range or lo > hi, NaN in a message to encode.

    Examples
    --------
    >>> s = FixedPoint(1, -1.0, 1.0)
    >>> s.levels, s.step, s.quantize([-0.2, 0.3]).tolist(), s.message_bits(5)
    (2, 2.0, [-1.0, 1.0], 5)
    """

    bits: int
    lo: float
    hi: float
    calibration: str = field(default="explicit", compare=False)

    def __post_init__(self) -> None:
        _check_bits(self.bits, 32)
        lo, hi = float(self.lo), float(self.hi)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi and math.isfinite(hi - lo)):
            raise InvalidInputError(f"fixed-point range needs finite lo <= hi, got [{self.lo}, {self.hi}]")
        object.__setattr__(self, "bits", int(self.bits))
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"fixed{self.bits}[{self.lo:.6g}, {self.hi:.6g}]"

    @property
    def bits_per_scalar(self) -> int:
        return self.bits

    @property
    def levels(self) -> int:
        """2^b, the number of distinct codes."""
        return 2**self.bits

    @property
    def step(self) -> float:
        """Distance between adjacent levels, (hi - lo) / (2^b - 1); 0 for a degenerate range."""
        return (self.hi - self.lo) / (self.levels - 1)

    def to_dict(self) -> dict[str, Any]:
        """Plain data: the range, levels, step and how the range was calibrated."""
        return {**super().to_dict(), "lo": self.lo, "hi": self.hi, "levels": self.levels, "step": self.step,
                "calibration": self.calibration}

    def encode(self, x: Any) -> np.ndarray:
        """Clip to [lo, hi] and round to the nearest level: uint32 codes of ``x``'s shape."""
        a = as_float_array(x)
        if np.isnan(a).any():
            raise InvalidInputError("the message contains NaN; a fixed-point code cannot represent it")
        if self.step == 0.0:
            return np.zeros(a.shape, dtype=np.uint32)
        k = np.rint((np.clip(a, self.lo, self.hi) - self.lo) / self.step)
        return np.clip(k, 0, self.levels - 1).astype(np.uint32)

    def decode(self, codes: Any) -> np.ndarray:
        """The level ``lo + k * step`` of each code, as float64 (float32 would merge levels once b > 24)."""
        k = as_codes(codes, self.bits).astype(np.float64)
        return np.minimum(self.lo + k * self.step, self.hi)


def calibrate(
    values: Any,
    bits: int,
    rule: str = "minmax",
    percentile: float = 99.9,
    symmetric: bool = False,
) -> FixedPoint:
    """A :class:`FixedPoint` scheme whose range is read off a calibration batch of messages.

    Deterministic: the same batch gives the same scheme. Calibrate on messages kept apart from the ones
    the audit measures, and report the batch (the returned scheme's ``calibration`` says the rule).

    Parameters
    ----------
    values : array_like or torch.Tensor
        The calibration batch (any shape; every scalar counts), finite.
    bits : int
        b in 1..32.
    rule : {"minmax", "percentile"}
        ``"minmax"``: [min, max]; ``"percentile"``: [P_(100-p), P_p], values beyond are clipped later.
    percentile : float
        p in (50, 100] for ``rule="percentile"``.
    symmetric : bool
        Use [-a, a] with a = max(|lo|, |hi|) (zero is then the range's midpoint).

    Returns
    -------
    FixedPoint

    Raises
    ------
    InvalidInputError
        An empty or non-finite batch, a bad percentile; UnknownNameError for an unknown rule.

    Examples
    --------
    >>> s = calibrate([[-2.0, 0.5], [1.0, 3.0]], 8)
    >>> (s.lo, s.hi, s.levels), calibrate([-2.0, 1.0], 4, symmetric=True).lo
    ((-2.0, 3.0, 256), -2.0)
    """
    if rule not in CALIBRATION_RULES:
        raise UnknownNameError(f"unknown calibration rule {rule!r}; valid: {', '.join(CALIBRATION_RULES)}")
    a = as_float_array(values).ravel()
    if a.size == 0 or not np.all(np.isfinite(a)):
        raise InvalidInputError("the calibration batch must be non-empty and finite; drop NaN/inf messages")
    if rule == "minmax":
        lo, hi = float(a.min()), float(a.max())
        how = f"minmax over {a.size} scalars"
    else:
        if not 50.0 < percentile <= 100.0:
            raise InvalidInputError(f"percentile must lie in (50, 100], got {percentile!r}; e.g. 99.9")
        lo, hi = (float(v) for v in np.percentile(a, [100.0 - percentile, percentile]))
        how = f"percentile {percentile:g} over {a.size} scalars"
    if symmetric:
        top = max(abs(lo), abs(hi))
        lo, hi, how = -top, top, how + ", symmetric"
    return FixedPoint(bits, lo, hi, calibration=how)
