"""Fixed point with one calibrated range per coordinate of the message (theory §9).

A message of S scalars is quantized coordinate by coordinate: coordinate j uses 2^b uniform levels on its
own range [lo_j, hi_j] (endpoints included, exactly the convention of :class:`~ccbounds.quantize.FixedPoint`),
so the message still costs exactly S*b bits. The S ranges are part of the protocol, fixed in advance (for an
audit: read off calibration messages drawn apart from the audited ones); they are not sent.

Examples
--------
>>> s = PerCoordinateFixedPoint(2, [0.0, -1.0], [3.0, 1.0])
>>> s.encode([[0.4, 0.9], [2.9, -1.0]]).tolist(), s.to_bits([0.4, 0.9])
([[0, 3], [3, 0]], '0011')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ccbounds.errors import InvalidInputError
from ccbounds.quantize.base import Scheme, _check_bits, as_codes, as_float_array

__all__ = ["PerCoordinateFixedPoint", "calibrate_per_coordinate"]


@dataclass(frozen=True, eq=False)
class PerCoordinateFixedPoint(Scheme):
    """Uniform b-bit fixed point with a range [lo_j, hi_j] for each of the S coordinates (theory §9).

    Column j behaves exactly as ``FixedPoint(bits, lo[j], hi[j])``: values are clipped to the range and
    sent to the nearest of the 2^b levels ``lo_j + k * step_j``, ``step_j = (hi_j - lo_j) / (2^b - 1)``
    (ties to the even code); a degenerate range lo_j == hi_j sends every value to code 0.

    Parameters
    ----------
    bits : int
        b in 1..32.
    lo, hi : array_like of float, shape (S,)
        Finite ranges with lo <= hi coordinatewise.
    calibration : str
        How the ranges were chosen (for reports).

    Raises
    ------
    InvalidInputError
        b outside 1..32; ranges of different or zero length, non-finite, or lo > hi; a message whose
        last axis is not S, or NaN in a message.

    Examples
    --------
    >>> s = PerCoordinateFixedPoint(1, [0.0, 0.0], [1.0, 2.0])
    >>> s.quantize([0.7, 0.7]).tolist(), s.message_bits(2), s.scalars
    ([1.0, 0.0], 2, 2)
    """

    bits: int
    lo: Any
    hi: Any
    calibration: str = field(default="explicit")

    def __post_init__(self) -> None:
        _check_bits(self.bits, 32)
        lo = np.array(as_float_array(self.lo), dtype=np.float64).ravel()
        hi = np.array(as_float_array(self.hi), dtype=np.float64).ravel()
        if lo.size == 0 or lo.shape != hi.shape:
            raise InvalidInputError(f"lo and hi must be two arrays of S >= 1 values, got {lo.size} and {hi.size}")
        if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)) and np.all(lo <= hi)
                and np.all(np.isfinite(hi - lo))):
            raise InvalidInputError("per-coordinate ranges need finite lo <= hi in every coordinate")
        lo.setflags(write=False)
        hi.setflags(write=False)
        object.__setattr__(self, "bits", int(self.bits))
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"fixed{self.bits}[per-coordinate, S={self.scalars}]"

    @property
    def bits_per_scalar(self) -> int:
        return self.bits

    @property
    def scalars(self) -> int:
        """S, the number of coordinates (ranges)."""
        return int(self.lo.size)

    @property
    def levels(self) -> int:
        """2^b codes per coordinate."""
        return 2**self.bits

    @property
    def step(self) -> np.ndarray:
        """Per-coordinate level spacing (hi - lo) / (2^b - 1), shape (S,)."""
        return (self.hi - self.lo) / (self.levels - 1)

    def _check_shape(self, a: np.ndarray) -> None:
        if a.ndim == 0 or a.shape[-1] != self.scalars:
            raise InvalidInputError(
                f"messages must have S = {self.scalars} scalars on their last axis, got shape {a.shape}")

    def encode(self, x: Any) -> np.ndarray:
        """Codes (uint32, ``x``'s shape) of messages whose last axis holds the S coordinates."""
        a = as_float_array(x)
        self._check_shape(a)
        if np.isnan(a).any():
            raise InvalidInputError("the message contains NaN; a fixed-point code cannot represent it")
        step = self.step
        flat = step == 0.0
        safe = np.where(flat, 1.0, step)
        k = np.rint((np.clip(a, self.lo, self.hi) - self.lo) / safe)
        k = np.where(flat, 0.0, k)
        return np.clip(k, 0, self.levels - 1).astype(np.uint32)

    def decode(self, codes: Any) -> np.ndarray:
        """The level ``lo_j + k * step_j`` of each code, float64, ``codes``' shape (last axis S)."""
        c = as_codes(codes, self.bits)
        self._check_shape(c)
        return np.minimum(self.lo + c.astype(np.float64) * self.step, self.hi)

    def column(self, j: int) -> Any:
        """Coordinate j's scheme as a scalar :class:`~ccbounds.quantize.FixedPoint`."""
        from ccbounds.quantize.fixed import FixedPoint

        return FixedPoint(self.bits, float(self.lo[j]), float(self.hi[j]), calibration=self.calibration)

    def to_dict(self) -> dict[str, Any]:
        """Plain data: b, S, the ranges (lists) and how they were calibrated."""
        return {**super().to_dict(), "scalars": self.scalars, "lo": self.lo.tolist(), "hi": self.hi.tolist(),
                "calibration": self.calibration}

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, PerCoordinateFixedPoint) and self.bits == other.bits
                and np.array_equal(self.lo, other.lo) and np.array_equal(self.hi, other.hi))

    __hash__ = None  # type: ignore[assignment]


def calibrate_per_coordinate(messages: Any, bits: int) -> PerCoordinateFixedPoint:
    """Per-coordinate minmax ranges read off a calibration batch of K messages (theory §9).

    Deterministic: lo_j = min_k m_kj, hi_j = max_k m_kj. Calibrate on messages drawn apart from the ones
    an audit measures; the ranges are then part of the protocol agreed in advance (not sent).

    Parameters
    ----------
    messages : array_like or torch.Tensor, shape (K, S)
        Finite calibration messages, K >= 1.
    bits : int
        b in 1..32.

    Returns
    -------
    PerCoordinateFixedPoint

    Raises
    ------
    InvalidInputError
        Not a non-empty finite (K, S) batch.

    Examples
    --------
    >>> s = calibrate_per_coordinate([[0.0, 5.0], [2.0, 1.0]], 3)
    >>> s.lo.tolist(), s.hi.tolist(), s.calibration
    ([0.0, 1.0], [2.0, 5.0], 'per-coordinate minmax over 2 messages')
    """
    a = as_float_array(messages)
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        raise InvalidInputError(f"calibration messages must be a (K, S) batch with K, S >= 1, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise InvalidInputError("the calibration messages must be finite; drop NaN/inf messages")
    return PerCoordinateFixedPoint(bits, a.min(axis=0), a.max(axis=0),
                                   calibration=f"per-coordinate minmax over {a.shape[0]} messages")
