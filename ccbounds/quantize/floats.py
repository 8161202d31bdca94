"""Floating-point storage formats emulated exactly in numpy: fp16, bf16, fp8 (e4m3, e5m2), fp32 (theory §9).

Rounding is IEEE round-to-nearest-even, subnormals included, computed on float64 (exact for every
float32 input): a value's quantum is 2^(e - m), e = max(floor(log2 |x|), 1 - bias), and
``rint(x / quantum) * quantum`` is exact in float64. Overflow:

* fp16, bf16, fp8e5m2 (IEEE-like, with inf): a value that rounds above the largest finite number becomes
  +-inf.
* fp8e4m3 (OCP "FN" variant: bias 7, max 448, no inf, NaN = S.1111.111): saturating -- values (and
  infinities) beyond +-448 encode to +-448. torch 2.x's ``float8_e4m3fn`` cast agrees.
* fp32: numpy's float64 -> float32 cast (the identity on float32, NaN payloads kept).

NaN encodes as torch's ``Tensor.to(dtype)`` of a float32 CPU tensor does (tested bit for bit against it):
fp16 keeps the sign and the top 10 payload bits and sets the quiet bit (S.11111.1pp..., 0x7E00 for
``np.nan``); fp8e4m3 and fp8e5m2 give S.1111.111 / S.11111.11 (0x7F, 0xFF for -NaN); bf16 gives 0xFFFF
for every NaN, as torch's vectorized CPU kernel writes it (torch's scalar ``c10::BFloat16`` conversion,
used e.g. for 0-d tensors, writes 0x7FC0 instead, and CUDA 0x7FFF: all decode to NaN).

``encode`` returns the raw bit patterns (uint8 / uint16 / uint32); ``decode`` returns float32 (every
value of these formats is a float32).

References
----------
P. Micikevicius et al., FP8 Formats for Deep Learning, arXiv 2209.05433 (2022); OCP 8-bit Floating Point
Specification (OFP8), rev. 1.0, 2023. IEEE 754-2019.

Examples
--------
>>> f = FloatFormat("fp8e4m3")
>>> f.encode([1.0, -2.0, 1000.0]).tolist(), f.quantize([0.3, 500.0]).tolist()
([56, 192, 126], [0.3125, 448.0])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ccbounds.errors import UnknownNameError
from ccbounds.quantize.base import Scheme, as_codes, as_float_array

__all__ = ["FloatFormat", "FLOAT_FORMATS"]

#: name -> (exponent bits, mantissa bits, bias, has inf); fp8e4m3 is the OCP "FN" variant (no inf)
FLOAT_FORMATS = {
    "fp16": (5, 10, 15, True),
    "bf16": (8, 7, 127, True),
    "fp8e4m3": (4, 3, 7, False),
    "fp8e5m2": (5, 2, 15, True),
    "fp32": (8, 23, 127, True),
}

_UINT = {8: np.uint8, 16: np.uint16, 32: np.uint32}


@dataclass(frozen=True)
class FloatFormat(Scheme):
    """A floating-point format of :data:`FLOAT_FORMATS`, emulated bit-exactly.

    Parameters
    ----------
    name : {"fp16", "bf16", "fp8e4m3", "fp8e5m2", "fp32"}

    Raises
    ------
    UnknownNameError
        Another name; the message lists the valid ones.

    Examples
    --------
    >>> FloatFormat("bf16").encode([1.0, 1.00390625, 1.01171875]).tolist()  # ties to even
    [16256, 16256, 16258]
    >>> [FloatFormat(n).bits_per_scalar for n in FLOAT_FORMATS]
    [16, 16, 8, 8, 32]
    """

    name: str

    def __post_init__(self) -> None:
        if self.name not in FLOAT_FORMATS:
            raise UnknownNameError(f"unknown float format {self.name!r}; valid: {', '.join(FLOAT_FORMATS)}")

    @property
    def exponent_bits(self) -> int:
        return FLOAT_FORMATS[self.name][0]

    @property
    def mantissa_bits(self) -> int:
        return FLOAT_FORMATS[self.name][1]

    @property
    def bias(self) -> int:
        return FLOAT_FORMATS[self.name][2]

    @property
    def has_inf(self) -> bool:
        return FLOAT_FORMATS[self.name][3]

    @property
    def bits_per_scalar(self) -> int:
        return 1 + self.exponent_bits + self.mantissa_bits

    @property
    def max_finite(self) -> float:
        """The largest finite value: 65504, 3.39e38, 448, 57344, 3.40e38."""
        top_exp = 2**self.exponent_bits - 1 - self.bias  # exponent of the all-ones field
        if self.has_inf:  # the all-ones field is inf/NaN; the largest finite has a full mantissa
            return float(np.ldexp(2.0 - 2.0**-self.mantissa_bits, top_exp - 1))
        return float(np.ldexp(2.0 - 2.0 ** (1 - self.mantissa_bits), top_exp))  # S.1111.111 is NaN

    @property
    def nan_code(self) -> int:
        """The pattern ``np.nan`` encodes to (torch's cast): 0x7E00 (fp16), 0xFFFF (bf16), 0x7F (fp8), fp32's own.

        >>> [hex(FloatFormat(n).nan_code) for n in FLOAT_FORMATS]
        ['0x7e00', '0xffff', '0x7f', '0x7f', '0x7fc00000']
        """
        return int(self.encode([np.nan])[0])

    def _nan_codes(self, a: np.ndarray) -> np.ndarray:
        """The pattern of each NaN of float64 ``a`` (module docstring: as torch's float32 cast writes it)."""
        e, m = self.exponent_bits, self.mantissa_bits
        sign = np.signbit(a).astype(np.int64) << (e + m)
        ones = ((2**e - 1) << m)
        if self.name == "bf16":
            return np.full(a.shape, 0xFFFF, dtype=np.int64)
        if self.name == "fp16":  # quiet bit + the top m payload bits of the float64 mantissa
            payload = (np.ascontiguousarray(a).view(np.uint64) & np.uint64(2**52 - 1)) >> np.uint64(52 - m)
            return sign | ones | (1 << (m - 1)) | payload.astype(np.int64)
        return sign | ones | (2**m - 1)  # fp8: all ones below the sign

    def to_dict(self) -> dict[str, Any]:
        """Plain data: the format's fields and overflow convention."""
        overflow = "inf" if self.has_inf else "saturate"
        return {**super().to_dict(), "exponent_bits": self.exponent_bits, "mantissa_bits": self.mantissa_bits,
                "bias": self.bias, "max_finite": self.max_finite, "overflow": overflow}

    def encode(self, x: Any) -> np.ndarray:
        """The bit pattern of each value after round-to-nearest-even (unsigned ints of ``x``'s shape)."""
        a = as_float_array(x)
        if self.name == "fp32":
            with np.errstate(over="ignore"):
                return a.astype(np.float32).view(np.uint32)
        e_bits, m, bias = self.exponent_bits, self.mantissa_bits, self.bias
        emin = 1 - bias
        mag = np.abs(a)
        finite = np.isfinite(mag)
        mag = np.where(finite, mag, 0.0)
        expo = np.maximum(np.frexp(mag)[1] - 1, emin) - m  # exponent of the quantum
        r = np.ldexp(np.rint(np.ldexp(mag, -expo)), expo)  # exact: scaling by powers of two
        top = self.max_finite
        overflow = (r > top) | (~finite & ~np.isnan(a))
        r = np.where(overflow, top, r)  # the finite magnitude to write (saturated if overflowed)
        exp_field = np.frexp(r)[1] - 1 + bias
        normal = r >= 2.0**emin
        mant = np.where(normal, np.ldexp(r, m - (exp_field - bias)) - 2**m, np.ldexp(r, m - emin))
        code = (np.where(normal, exp_field, 0).astype(np.int64) << m) | mant.astype(np.int64)
        if self.has_inf:
            code = np.where(overflow, (2**e_bits - 1) << m, code)
        code = code | (np.signbit(a).astype(np.int64) << (e_bits + m))
        nan = np.isnan(a)
        if nan.any():
            code = np.where(nan, self._nan_codes(a), code)
        return code.astype(_UINT[self.bits_per_scalar])

    def decode(self, codes: Any) -> np.ndarray:
        """The float32 value of each bit pattern (NaN patterns decode to NaN)."""
        c = as_codes(codes, self.bits_per_scalar)
        if self.name == "fp32":
            return c.astype(np.uint32).view(np.float32)
        e_bits, m, bias = self.exponent_bits, self.mantissa_bits, self.bias
        c = c.astype(np.int64)
        sign, exp_field, mant = (c >> (e_bits + m)) & 1, (c >> m) & (2**e_bits - 1), c & (2**m - 1)
        value = np.where(
            exp_field == 0,
            np.ldexp(mant.astype(np.float64), 1 - bias - m),
            np.ldexp((mant + 2**m).astype(np.float64), exp_field - bias - m),
        )
        special = exp_field == 2**e_bits - 1
        if self.has_inf:
            value = np.where(special, np.where(mant == 0, np.inf, np.nan), value)
        else:
            value = np.where(special & (mant == 2**m - 1), np.nan, value)
        return np.where(sign == 1, -value, value).astype(np.float32)
