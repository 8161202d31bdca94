"""What a precision means: the one parser of "8", 32, "fp16", "fixed4" used everywhere (theory §9).

:func:`parse_precision` gives every input ONE meaning, whoever passes it (the CLI's ``--precision`` and
``--precisions``, :func:`ccbounds.audit`, :meth:`InducedProtocol.at_precision` / ``cost_bits`` / ``check``,
:func:`ccbounds.budget`, :func:`~ccbounds.quantize.get_scheme`):

==========================  ====================================================================
input                       meaning
==========================  ====================================================================
int b in 1..31, or "b"      b-bit fixed point (needs a calibrated range to quantize)
32, "32"                    fp32: the model's own float32 (never 32-bit fixed point)
"fixed<b>", b in 1..31      b-bit fixed point (the label an audit row carries)
"fp32", "fp16", "bf16",     IEEE-style float formats, emulated bit-exactly
"fp8e4m3", "fp8e5m2"        (aliases such as "float16", "bfloat16", "e4m3" are accepted)
a Precision                 itself
==========================  ====================================================================

(32-bit fixed point is still available as ``FixedPoint(32, lo, hi)``; it has no name here.)

Examples
--------
>>> [parse_precision(s).label for s in (4, "4", 32, "32", "fixed4", "float16", "FP8E5M2")]
['fixed4', 'fixed4', 'fp32', 'fp32', 'fixed4', 'fp16', 'fp8e5m2']
>>> parse_precision("bf16").bits, parse_precision(7).fixed
(16, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ccbounds.errors import InvalidInputError, UnknownNameError
from ccbounds.quantize.floats import FLOAT_FORMATS

__all__ = ["SCHEME_ALIASES", "Precision", "parse_precision", "parse_precisions"]

#: other spellings of the float formats (case-insensitive)
SCHEME_ALIASES = {
    "float16": "fp16",
    "half": "fp16",
    "bfloat16": "bf16",
    "float8_e4m3fn": "fp8e4m3",
    "e4m3": "fp8e4m3",
    "float8_e5m2": "fp8e5m2",
    "e5m2": "fp8e5m2",
    "float32": "fp32",
}

_VALID = (f"valid: an integer 1..32 (1..31: b-bit fixed point, 32: the model's float32), 'fixed<b>', "
          f"or {', '.join(FLOAT_FORMATS)}")


@dataclass(frozen=True)
class Precision:
    """One precision: its label ("fixed4", "fp16", "fp32"), bits per scalar b, and fixed point or float."""

    label: str
    bits: int
    fixed: bool

    def scheme(self, calibration: Any = None, *, per_coordinate: bool = False, **calibrate_kwargs: Any) -> Any:
        """The quantization :class:`~ccbounds.quantize.Scheme`; fixed point needs ``calibration`` messages.

        ``per_coordinate``: one calibrated range per message coordinate (what an audit uses), else one
        range for all scalars.

        >>> parse_precision("fixed2").scheme([0.0, 1.5]).quantize([0.33, 0.9]).tolist()
        [0.5, 1.0]
        """
        from ccbounds.quantize.fixed import calibrate
        from ccbounds.quantize.floats import FloatFormat
        from ccbounds.quantize.vector import calibrate_per_coordinate

        if not self.fixed:
            return FloatFormat(self.label)
        if calibration is None:
            raise InvalidInputError(f"{self.bits}-bit fixed point needs a range: pass calibration=<a batch of "
                                    f"messages>, or build FixedPoint({self.bits}, lo, hi)")
        if per_coordinate:
            return calibrate_per_coordinate(calibration, self.bits, **calibrate_kwargs)
        return calibrate(calibration, self.bits, **calibrate_kwargs)


def _fixed(b: int, spec: Any) -> Precision:
    if not 1 <= b <= 32:
        raise InvalidInputError(f"precision {spec!r}: bits per scalar must be 1..32 (32 = float32); {_VALID}")
    return Precision("fp32", 32, False) if b == 32 else Precision(f"fixed{b}", b, True)


def parse_precision(spec: Any) -> Precision:
    """The :class:`Precision` ``spec`` names, with the one meaning of the module's table.

    Raises
    ------
    InvalidInputError
        An integer outside 1..32 (or a bool).
    UnknownNameError
        Anything else that names no precision; the message lists the valid ones.
    """
    if isinstance(spec, Precision):
        return spec
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        return _fixed(int(spec), spec)
    if isinstance(spec, str):
        text = spec.strip().lower()
        if text.isdigit():
            return _fixed(int(text), spec)
        if text.startswith("fixed") and text[5:].isdigit():
            b = int(text[5:])
            if b == 32:
                raise InvalidInputError(f"precision {spec!r}: 32 bits means fp32 here, fixed point is 1..31 bits; "
                                        f"{_VALID}")
            return _fixed(b, spec)
        name = SCHEME_ALIASES.get(text, text)
        if name in FLOAT_FORMATS:
            return Precision(name, 1 + FLOAT_FORMATS[name][0] + FLOAT_FORMATS[name][1], False)
    if isinstance(spec, bool):
        raise InvalidInputError(f"precision {spec!r} is a bool; {_VALID}")
    raise UnknownNameError(f"unknown precision {spec!r}; {_VALID}")


def parse_precisions(precisions: Any) -> list[Precision]:
    """A non-empty list of precisions (or a comma-separated string), parsed, de-duplicated and ordered by b.

    Examples
    --------
    >>> [p.label for p in parse_precisions([32, "fp16", 4, "bf16", 1])]
    ['fixed1', 'fixed4', 'bf16', 'fp16', 'fp32']
    >>> [p.label for p in parse_precisions("1, 8,fp16")]
    ['fixed1', 'fixed8', 'fp16']
    """
    if isinstance(precisions, str):
        precisions = [t for t in precisions.split(",") if t.strip()]
    if isinstance(precisions, (int, np.integer)) or not isinstance(precisions, Sequence) or not len(precisions):
        raise InvalidInputError(f"precisions must be a non-empty list such as (1, 2, 4, 8, 16, 32) or "
                                f"'1,2,4,fp16', got {precisions!r}")
    out = {p.label: p for p in map(parse_precision, precisions)}
    return sorted(out.values(), key=lambda p: (p.bits, not p.fixed, p.label))
