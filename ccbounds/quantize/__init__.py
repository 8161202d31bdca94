"""Quantizing messages to b bits per scalar, so an induced protocol costs exactly S*b bits (theory §9).

* :mod:`~ccbounds.quantize.fixed` -- :class:`FixedPoint` (2^b uniform levels on a calibrated range,
  endpoints included) and :func:`calibrate`;
* :mod:`~ccbounds.quantize.vector` -- :class:`PerCoordinateFixedPoint` (one calibrated range per message
  coordinate) and :func:`calibrate_per_coordinate`;
* :mod:`~ccbounds.quantize.floats` -- :class:`FloatFormat`: fp16, bf16, fp8e4m3, fp8e5m2, fp32, emulated
  bit-exactly with round-to-nearest-even;
* :mod:`~ccbounds.quantize.precision` -- :func:`parse_precision`: what 8, 32, "fp16", "fixed4" mean
  (one meaning everywhere: ints 1..31 are fixed point, 32 is fp32);
* :mod:`~ccbounds.quantize.base` -- the :class:`Scheme` interface and :func:`pack_bits` /
  :func:`unpack_bits`, which turn codes into the exact transcript bits.

:func:`get_scheme` picks one by name. numpy only; torch tensors are accepted and converted lazily.

Examples
--------
>>> s = get_scheme("fp8e5m2")
>>> s.to_bits([1.0, -0.5]), s.message_bits(3)
('0011110010111000', 24)
>>> get_scheme(2, calibration=[0.0, 1.5]).quantize([0.33, 0.9]).tolist()
[0.5, 1.0]
"""

from __future__ import annotations

from typing import Any

from ccbounds.quantize.base import Scheme, pack_bits, unpack_bits
from ccbounds.quantize.fixed import CALIBRATION_RULES, FixedPoint, calibrate
from ccbounds.quantize.floats import FLOAT_FORMATS, FloatFormat
from ccbounds.quantize.precision import SCHEME_ALIASES, Precision, parse_precision, parse_precisions
from ccbounds.quantize.vector import PerCoordinateFixedPoint, calibrate_per_coordinate

__all__ = [
    "Scheme",
    "FixedPoint",
    "calibrate",
    "PerCoordinateFixedPoint",
    "calibrate_per_coordinate",
    "CALIBRATION_RULES",
    "FloatFormat",
    "FLOAT_FORMATS",
    "SCHEME_ALIASES",
    "Precision",
    "parse_precision",
    "parse_precisions",
    "get_scheme",
    "pack_bits",
    "unpack_bits",
]


def get_scheme(spec: Any, calibration: Any = None, **calibrate_kwargs: Any) -> Scheme:
    """The quantization scheme named by ``spec``.

    Parameters
    ----------
    spec : int, str or Scheme
        A precision as :func:`parse_precision` reads it: an integer b in 1..31 (or its string, "8",
        or "fixed8") for b-bit fixed point, which needs ``calibration``; 32 or a float format "fp32",
        "fp16", "bf16", "fp8e4m3", "fp8e5m2" (or an alias of :data:`SCHEME_ALIASES`); a
        :class:`Scheme` is returned as is.
    calibration : array_like, optional
        The calibration batch of messages for fixed point (see :func:`calibrate`).
    **calibrate_kwargs
        ``rule``, ``percentile``, ``symmetric`` for :func:`calibrate`.

    Returns
    -------
    Scheme

    Raises
    ------
    UnknownNameError
        An unknown name; the message lists the valid ones.
    InvalidInputError
        Fixed point without a calibration batch, or b outside 1..32.

    Examples
    --------
    >>> get_scheme("BF16").bits_per_scalar, get_scheme("8", calibration=[0, 1]).levels
    (16, 256)
    """
    if isinstance(spec, Scheme):
        return spec
    return parse_precision(spec).scheme(calibration, **calibrate_kwargs)
