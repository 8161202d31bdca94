"""Tests of ccbounds.quantize: fixed point, bit-exact float formats, transcripts (theory §9)."""

from __future__ import annotations

import numpy as np
import pytest

from ccbounds.errors import InvalidInputError, UnknownNameError
from ccbounds.quantize import (
    FLOAT_FORMATS,
    FixedPoint,
    FloatFormat,
    Scheme,
    calibrate,
    get_scheme,
    pack_bits,
    unpack_bits,
)


def _torch():
    import torch

    torch.set_num_threads(1)
    return torch


def _test_values(seed: int, size: int = 20000) -> np.ndarray:
    """float32 values over many binades (subnormal to overflow for the small formats), both signs."""
    rng = np.random.default_rng(seed)
    mags = np.exp2(rng.uniform(-30, 20, size)) * rng.choice([-1.0, 1.0], size)
    special = [0.0, -0.0, np.inf, -np.inf, 1e30, -1e30, 65504.0, 65520.0, 448.0, 464.0, 57344.0, 61440.0]
    return np.concatenate([mags, special]).astype(np.float32)


# --- fixed point ----------------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [1, 2, 3, 5, 8, 12])
def test_fixed_point_levels_codes_and_error(bits):
    s = FixedPoint(bits, -1.5, 2.5)
    levels = s.decode(np.arange(2**bits))
    assert s.levels == 2**bits and len(np.unique(levels)) == 2**bits
    assert levels[0] == -1.5 and levels[-1] == 2.5
    np.testing.assert_allclose(np.diff(levels), s.step, rtol=1e-9)
    x = np.random.default_rng(bits).uniform(-1.5, 2.5, 5000)
    codes = s.encode(x)
    ref_levels = -1.5 + np.arange(2**bits) * (4.0 / (2**bits - 1))  # independent: the nearest level by search
    nearest = np.abs(x[:400, None] - ref_levels[None, :]).argmin(axis=1)
    assert codes.dtype == np.uint32 and np.array_equal(codes[:400], nearest)
    assert np.all(np.abs(s.quantize(x) - x) <= s.step / 2 * (1 + 1e-9))
    grid = np.linspace(-1.5, 2.5, 2**bits * 8 + 1)
    assert len(np.unique(s.encode(grid))) == 2**bits  # every level is used
    np.testing.assert_array_equal(s.quantize(s.quantize(x)), s.quantize(x))  # idempotent
    np.testing.assert_array_equal(s.encode(x), FixedPoint(bits, -1.5, 2.5).encode(x))  # deterministic
    assert s.bits_per_scalar == bits and s.message_bits(7) == 7 * bits


def test_fixed_point_clipping_and_one_bit():
    s = FixedPoint(1, 0.0, 1.0)
    assert s.encode([-5.0, 0.49, 0.51, 7.0, -np.inf, np.inf]).tolist() == [0, 0, 1, 1, 0, 1]
    assert s.quantize([-5.0, 7.0]).tolist() == [0.0, 1.0]
    t = FixedPoint(4, -1.0, 1.0)
    assert t.encode([-3.0, 3.0]).tolist() == [0, 15]
    assert t.encode(np.array([[0.0, 1.0], [2.0, -1.0]])).shape == (2, 2)


def test_fixed_point_32_bits_and_degenerate_range():
    s = FixedPoint(32, -1.0, 1.0)
    codes = s.encode([-1.0, 1.0, 0.0, 2.0])
    assert codes.tolist() == [0, 2**32 - 1, 2**31, 2**32 - 1]
    x = np.random.default_rng(1).uniform(-1, 1, 1000)
    np.testing.assert_array_equal(s.encode(s.quantize(x)), s.encode(x))
    assert np.all(np.abs(s.quantize(x) - x) <= s.step / 2 * (1 + 1e-6))
    d = FixedPoint(4, 3.0, 3.0)
    assert d.step == 0.0 and d.encode([1.0, 3.0, 9.0]).tolist() == [0, 0, 0]
    assert d.decode([0, 15]).tolist() == [3.0, 3.0] and d.message_bits(2) == 8
    assert calibrate(np.full(10, 2.0), 3) == FixedPoint(3, 2.0, 2.0)


def test_calibrate_rules():
    v = np.random.default_rng(0).normal(size=(64, 8))
    s = calibrate(v, 8)
    assert (s.lo, s.hi) == (v.min(), v.max()) and "minmax over 512" in s.calibration
    p = calibrate(v, 6, rule="percentile", percentile=99.0)
    assert (p.lo, p.hi) == tuple(np.percentile(v.ravel(), [1.0, 99.0]))
    sym = calibrate(v, 8, symmetric=True)
    top = max(abs(v.min()), abs(v.max()))
    assert (sym.lo, sym.hi) == (-top, top)
    assert calibrate(v, 8) == calibrate(v.copy(), 8)  # deterministic
    with pytest.raises(UnknownNameError, match="minmax"):
        calibrate(v, 8, rule="mse")
    for bad in ([], [1.0, np.nan]):
        with pytest.raises(InvalidInputError):
            calibrate(bad, 8)
    with pytest.raises(InvalidInputError):
        calibrate(v, 8, rule="percentile", percentile=30)


@pytest.mark.parametrize("bits", [0, 33, True, 2.0])
def test_fixed_point_rejects_bad_bits(bits):
    with pytest.raises(InvalidInputError):
        FixedPoint(bits, 0.0, 1.0)


def test_fixed_point_rejects_bad_ranges_and_codes():
    for lo, hi in [(1.0, 0.0), (0.0, np.inf), (-1e308, 1e308), (np.nan, 1.0)]:
        with pytest.raises(InvalidInputError):
            FixedPoint(4, lo, hi)
    s = FixedPoint(3, 0.0, 1.0)
    with pytest.raises(InvalidInputError):
        s.encode([0.5, np.nan])
    for codes in ([8], [-1], [0.5]):
        with pytest.raises(InvalidInputError):
            s.decode(codes)
    assert s.decode(np.array([7.0])).tolist() == [1.0]  # integral floats are accepted


# --- float formats --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["fp8e4m3", "fp8e5m2", "fp16", "bf16"])
def test_exhaustive_round_trip_of_all_bit_patterns(name):
    f = FloatFormat(name)
    codes = np.arange(2**f.bits_per_scalar)
    values = f.decode(codes)
    nan = np.isnan(values)
    np.testing.assert_array_equal(f.encode(values[~nan]), codes[~nan])
    assert np.all(np.isnan(f.decode(f.encode([np.nan]))))
    expected_nans = {"fp8e4m3": 2, "fp8e5m2": 6, "fp16": 2046, "bf16": 254}[name]
    assert nan.sum() == expected_nans
    assert np.nanmax(values[np.isfinite(values)]) == f.max_finite


def test_format_constants():
    assert [FloatFormat(n).bits_per_scalar for n in FLOAT_FORMATS] == [16, 16, 8, 8, 32]
    assert FloatFormat("fp8e4m3").max_finite == 448.0 and FloatFormat("fp8e5m2").max_finite == 57344.0
    assert FloatFormat("fp16").max_finite == 65504.0
    assert FloatFormat("bf16").max_finite == float(np.float32(3.3895313892515355e38))
    assert FloatFormat("fp8e4m3").decode([1]).tolist() == [2.0**-9]  # smallest subnormal
    assert FloatFormat("fp8e5m2").decode([1]).tolist() == [2.0**-16]


def test_fp16_matches_numpy_float16():
    f = FloatFormat("fp16")
    for x in (_test_values(0), _test_values(1).astype(np.float64) * 1.0000001):
        with np.errstate(over="ignore"):
            ref = x.astype(np.float16).view(np.uint16)
        np.testing.assert_array_equal(f.encode(x), ref)
    ties = (np.arange(1, 2000, dtype=np.float64) + 0.5) * 2.0**-24  # subnormal midpoints
    np.testing.assert_array_equal(f.encode(ties), ties.astype(np.float16).view(np.uint16))


def test_bf16_matches_torch():
    torch = _torch()
    f = FloatFormat("bf16")
    x = _test_values(2)
    bits = np.random.default_rng(5).integers(0, 2**32, 5000, dtype=np.uint64).astype(np.uint32)
    ties = ((bits & np.uint32(0xFFFF0000)) | np.uint32(0x8000)).view(np.float32)  # exact midpoints
    for values in (x, bits.view(np.float32), ties):
        values = values[~np.isnan(values)]
        ref = torch.from_numpy(values).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
        np.testing.assert_array_equal(f.encode(values), ref)
        np.testing.assert_array_equal(f.encode(torch.from_numpy(values)), ref)  # tensors accepted


@pytest.mark.parametrize("name,dtype", [("fp8e4m3", "float8_e4m3fn"), ("fp8e5m2", "float8_e5m2")])
def test_fp8_matches_torch(name, dtype):
    torch = _torch()
    f = FloatFormat(name)
    grid = f.decode(np.arange(256))
    grid = np.sort(grid[np.isfinite(grid)].astype(np.float64))
    mids = (grid[1:] + grid[:-1]) / 2  # ties between neighbours, subnormals included
    beyond = np.array([f.max_finite * 1.03, f.max_finite * 1.2, 1e6, -1e6])
    x = np.concatenate([_test_values(3), mids, np.nextafter(mids, np.inf), beyond]).astype(np.float32)
    ref = torch.from_numpy(x).to(getattr(torch, dtype)).view(torch.uint8).numpy()
    np.testing.assert_array_equal(f.encode(x), ref)
    decoded = torch.from_numpy(f.encode(x)).view(getattr(torch, dtype)).float().numpy()
    np.testing.assert_array_equal(f.decode(f.encode(x)), decoded)


_TORCH_DTYPES = {"fp16": ("float16", "int16"), "bf16": ("bfloat16", "int16"),
                 "fp8e4m3": ("float8_e4m3fn", "uint8"), "fp8e5m2": ("float8_e5m2", "uint8")}


@pytest.mark.parametrize("name", list(_TORCH_DTYPES))
def test_nan_inf_zero_and_subnormals_match_torch_bit_for_bit(name):
    torch = _torch()
    f = FloatFormat(name)
    nans = [0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF800001, 0x7FFFFFFF, 0xFFFFFFFF, 0x7FA00000, 0x7F802000]
    specials = [0x7F800000, 0xFF800000, 0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007FFFFF, 0x00400000]
    grid = f.decode(np.arange(2**f.bits_per_scalar)).astype(np.float64)
    grid = grid[np.isfinite(grid)]
    sub = np.abs(grid[(grid != 0) & (np.abs(grid) < 2.0 ** (1 - f.bias))])  # the format's subnormals
    bits = np.random.default_rng(11).integers(0, 2**32, 4000, dtype=np.uint64).astype(np.uint32)
    x = np.concatenate([np.array(nans + specials, dtype=np.uint32).view(np.float32),
                        np.concatenate([sub, -sub, sub * 1.5, -sub * 0.75]).astype(np.float32), bits.view(np.float32)])
    dtype, view = (getattr(torch, t) for t in _TORCH_DTYPES[name])
    ref = torch.from_numpy(x.copy()).to(dtype).view(view).numpy().view(f.encode([0.0]).dtype)
    np.testing.assert_array_equal(f.encode(x), ref)
    assert f.encode([np.nan])[0] == f.nan_code == ref[0]


def test_fp8_overflow_and_nan_conventions():
    e4 = FloatFormat("fp8e4m3")
    assert e4.quantize([1e9, -np.inf, np.inf, 449.0]).tolist() == [448.0, -448.0, 448.0, 448.0]
    assert e4.encode([np.nan]).tolist() == [0x7F]
    e5 = FloatFormat("fp8e5m2")
    assert e5.quantize([61439.0, 61440.0, -1e9]).tolist() == [57344.0, np.inf, -np.inf]
    assert e5.encode([-0.0, 0.0]).tolist() == [0x80, 0x00]
    assert np.signbit(e5.decode([0x80]))[0]


def test_fp32_is_the_identity_on_float32():
    f = FloatFormat("fp32")
    bits = np.random.default_rng(9).integers(0, 2**32, 20000, dtype=np.uint64).astype(np.uint32)
    values = bits.view(np.float32)
    keep = ~np.isnan(values)
    np.testing.assert_array_equal(f.encode(values[keep]), bits[keep])
    np.testing.assert_array_equal(f.decode(bits[keep]).view(np.uint32), bits[keep])
    assert f.encode([0.1]).tolist() == [np.float32(0.1).view(np.uint32)]  # float64 rounds to nearest


# --- get_scheme -----------------------------------------------------------------------------------


def test_get_scheme_parsing():
    batch = np.linspace(-1, 1, 11)
    for spec in ("8", 8, " 8 "):
        s = get_scheme(spec, calibration=batch)
        assert isinstance(s, FixedPoint) and s.bits == 8 and (s.lo, s.hi) == (-1.0, 1.0)
    assert get_scheme(32, calibration=batch).bits_per_scalar == 32
    assert get_scheme(4, calibration=batch, symmetric=True, rule="percentile", percentile=90).hi == 0.8
    for name in FLOAT_FORMATS:
        assert get_scheme(name) == FloatFormat(name)
    assert get_scheme("bfloat16") == FloatFormat("bf16") and get_scheme("E4M3") == FloatFormat("fp8e4m3")
    s = FixedPoint(3, 0.0, 1.0)
    assert get_scheme(s) is s and isinstance(s, Scheme)
    with pytest.raises(InvalidInputError, match="calibration"):
        get_scheme(8)
    with pytest.raises(InvalidInputError):
        get_scheme(0, calibration=batch)
    with pytest.raises(UnknownNameError, match="fp8e4m3") as info:
        get_scheme("int4")
    assert "fp16" in str(info.value) and "1..32" in str(info.value)
    with pytest.raises(UnknownNameError):
        get_scheme(8.5)
    with pytest.raises(UnknownNameError):
        FloatFormat("fp64")


# --- transcripts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [1, 2, 3, 7, 8, 13, 16, 31, 32, 64])
def test_pack_unpack_round_trip(bits):
    rng = np.random.default_rng(bits)
    top = 2**bits
    codes = rng.integers(0, min(top, 2**63), 300, dtype=np.uint64)
    if bits == 64:
        codes[0] = np.uint64(2**64 - 1)
    s = pack_bits(codes, bits)
    assert len(s) == 300 * bits and set(s) <= {"0", "1"}
    np.testing.assert_array_equal(unpack_bits(s, bits), codes)
    np.testing.assert_array_equal(unpack_bits(s.encode(), bits), codes)
    assert s[:bits] == format(int(codes[0]), f"0{bits}b")  # most significant bit first


def test_pack_bits_edges_and_errors():
    assert pack_bits([], 4) == "" and unpack_bits("", 4).tolist() == []
    assert pack_bits(np.array([[1, 0], [1, 1]]), 1) == "1011"
    with pytest.raises(InvalidInputError):
        pack_bits([4], 2)
    with pytest.raises(InvalidInputError):
        pack_bits([1], 0)
    for bad in ("0101", "01x", "012"):
        with pytest.raises(InvalidInputError):
            unpack_bits(bad, 3)


@pytest.mark.parametrize("spec", ["fp16", "bf16", "fp8e4m3", "fp8e5m2", "fp32", 5])
def test_transcript_of_a_quantized_message(spec):
    x = np.random.default_rng(4).normal(size=(3, 4)).astype(np.float32)
    s = get_scheme(spec, calibration=x)
    bits = s.to_bits(x)
    assert len(bits) == s.message_bits(x.size) == x.size * s.bits_per_scalar
    np.testing.assert_array_equal(s.from_bits(bits), s.quantize(x).ravel())
    assert str(s).endswith(f"({s.bits_per_scalar} bits per scalar)")
    assert s.to_dict()["bits_per_scalar"] == s.bits_per_scalar
    assert s.to_dict().get("overflow", "saturate") == ("saturate" if spec in (5, "fp8e4m3") else "inf")


def test_torch_tensors_are_accepted():
    torch = _torch()
    t = torch.linspace(-1, 1, 9, dtype=torch.float32)
    s = FixedPoint(3, -1.0, 1.0)
    np.testing.assert_array_equal(s.encode(t), s.encode(t.numpy()))
    np.testing.assert_array_equal(s.decode(torch.tensor([0, 7])), [-1.0, 1.0])
    bf = t.to(torch.bfloat16).requires_grad_(False)
    np.testing.assert_array_equal(FloatFormat("bf16").encode(bf), FloatFormat("bf16").encode(t))
    assert calibrate(t.requires_grad_(True), 4).hi == 1.0
