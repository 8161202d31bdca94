"""The quantization-scheme interface, and packing integer codes into exact transcript bits (theory §9).

A scheme maps each scalar of a message to one of 2^b codes (``encode``) and back (``decode``), so a
message of S scalars costs exactly S*b bits: :func:`pack_bits` writes those bits as a '0'/'1' string
(most significant bit of each code first) and :func:`unpack_bits` reads them back.

Examples
--------
>>> pack_bits([5, 0, 3], 3)
'101000011'
>>> unpack_bits('101000011', 3).tolist()
[5, 0, 3]
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from ccbounds.errors import InvalidInputError

__all__ = ["Scheme", "pack_bits", "unpack_bits", "as_float_array", "as_codes"]


def as_float_array(x: Any) -> np.ndarray:
    """``x`` as a float64 numpy array (exact for float16/32 and bf16/fp8 tensors); torch is not imported.

    A torch tensor is converted lazily with ``.detach().cpu().numpy()`` (through ``.float()`` for
    dtypes numpy lacks, such as bfloat16 and float8, which is exact).

    Examples
    --------
    >>> as_float_array([1, 2]).dtype
    dtype('float64')
    """
    if hasattr(x, "detach"):
        t = x.detach().cpu()
        try:
            x = t.numpy()
        except TypeError:
            x = t.float().numpy()
    try:
        with np.errstate(invalid="ignore"):  # a signalling float32 NaN becomes a quiet float64 NaN
            return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InvalidInputError(f"cannot read the message as numbers ({err}); pass floats") from None


def as_codes(codes: Any, bits: int) -> np.ndarray:
    """Validated integer codes in [0, 2^bits) as a uint64 array (the input's shape kept).

    Examples
    --------
    >>> as_codes([0, 3], 2).tolist()
    [0, 3]
    """
    if hasattr(codes, "detach"):
        codes = codes.detach().cpu().numpy()
    arr = np.asarray(codes)
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind not in "fb" or not np.all(np.isfinite(arr)) or not np.all(arr == np.floor(arr)):
            raise InvalidInputError(f"codes must be integers, got dtype {arr.dtype}; pass encode()'s output")
        arr = arr.astype(np.int64)
    if arr.size and (int(arr.min()) < 0 or int(arr.max()) >= 2**bits):
        raise InvalidInputError(f"codes must lie in [0, 2^{bits}), got range [{arr.min()}, {arr.max()}]")
    return arr.astype(np.uint64)


def _check_bits(bits: Any, top: int) -> int:
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= top:
        raise InvalidInputError(f"bits must be an integer in 1..{top}, got {bits!r}")
    return int(bits)


def pack_bits(codes: Any, bits: int) -> str:
    """The exact transcript of ``codes``: each code as ``bits`` binary digits, most significant first.

    Parameters
    ----------
    codes : array_like of int
        Codes in [0, 2^bits), flattened in C order.
    bits : int
        Bits per code, 1..64.

    Returns
    -------
    str
        A '0'/'1' string of exactly ``len(codes) * bits`` characters.

    Raises
    ------
    InvalidInputError
        A code out of range, or non-integer codes.

    Examples
    --------
    >>> pack_bits([1, 2], 2), len(pack_bits(range(10), 4))
    ('0110', 40)
    """
    bits = _check_bits(bits, 64)
    c = as_codes(codes, bits).ravel()
    shifts = np.arange(bits - 1, -1, -1, dtype=np.uint64)
    digits = ((c[:, None] >> shifts) & np.uint64(1)).astype(np.uint8) + ord("0")
    return digits.tobytes().decode("ascii")


def unpack_bits(transcript: str | bytes, bits: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`: the codes (uint64) written in a '0'/'1' string.

    Parameters
    ----------
    transcript : str or bytes
        '0'/'1' characters; the length must be a multiple of ``bits``.
    bits : int
        Bits per code, 1..64.

    Returns
    -------
    numpy.ndarray
        1-D uint64 array of ``len(transcript) // bits`` codes.

    Raises
    ------
    InvalidInputError
        Other characters, or a length that is not a multiple of ``bits``.

    Examples
    --------
    >>> unpack_bits('0110', 2).tolist()
    [1, 2]
    """
    bits = _check_bits(bits, 64)
    raw = transcript.encode("ascii", "replace") if isinstance(transcript, str) else bytes(transcript)
    arr = np.frombuffer(raw, dtype=np.uint8)
    if len(arr) % bits or not np.all((arr == ord("0")) | (arr == ord("1"))):
        raise InvalidInputError(f"transcripts are '0'/'1' strings, a multiple of {bits} long; got {len(arr)}")
    shifts = np.arange(bits - 1, -1, -1, dtype=np.uint64)
    digits = (arr - ord("0")).astype(np.uint64).reshape(-1, bits)
    return np.bitwise_or.reduce(digits << shifts, axis=1)


class Scheme(ABC):
    """A way to store each scalar of a message in ``bits_per_scalar`` bits (theory §9).

    ``encode`` maps floats (numpy arrays, lists or torch tensors) to unsigned integer codes of the same
    shape, ``decode`` maps codes back to floats, ``quantize = decode . encode``; ``message_bits(S)`` is the
    exact cost S*b of a message of S scalars, which :meth:`to_bits` writes out.
    """

    name: str = "scheme"

    @property
    @abstractmethod
    def bits_per_scalar(self) -> int:
        """b: bits per stored scalar."""

    @abstractmethod
    def encode(self, x: Any) -> np.ndarray:
        """Codes in [0, 2^b) as an unsigned integer array of ``x``'s shape."""

    @abstractmethod
    def decode(self, codes: Any) -> np.ndarray:
        """The float value of each code."""

    def quantize(self, x: Any) -> np.ndarray:
        """``decode(encode(x))``: the value Bob continues from."""
        return self.decode(self.encode(x))

    def message_bits(self, n_scalars: int) -> int:
        """Exact cost in bits of a message of ``n_scalars`` scalars: n_scalars * b."""
        if isinstance(n_scalars, bool) or not isinstance(n_scalars, (int, np.integer)) or n_scalars < 0:
            raise InvalidInputError(f"the number of scalars must be an integer >= 0, got {n_scalars!r}")
        return int(n_scalars) * self.bits_per_scalar

    def to_bits(self, x: Any) -> str:
        """The exact transcript of the message ``x`` (flattened in C order): S*b '0'/'1' characters."""
        return pack_bits(self.encode(x), self.bits_per_scalar)

    def from_bits(self, transcript: str | bytes) -> np.ndarray:
        """The 1-D de-quantized message written in ``transcript``."""
        return self.decode(unpack_bits(transcript, self.bits_per_scalar))

    def to_dict(self) -> dict[str, Any]:
        """Plain data describing the scheme (for reports)."""
        return {"scheme": self.name, "bits_per_scalar": self.bits_per_scalar}

    def __str__(self) -> str:
        return f"{self.name} ({self.bits_per_scalar} bits per scalar)"
