"""Block quantization: scale rules, edge cases, layout, torch/numpy, properties."""
import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import arrays

from intfp.models import PRESETS, block_format, quantize, quantize_codes
from intfp.models.scales import ue8m0_exponent

MX = [n for n, p in PRESETS.items() if p.scale.name == "ue8m0"]
ALL = list(PRESETS)


def rng(seed=0):
    return np.random.default_rng(seed)


def gaussian(shape, seed=0):
    return rng(seed).standard_normal(shape).astype(np.float32)


def test_every_preset_and_alias_resolves():
    for name in [*PRESETS, "mxfp8", "mxfp6", "mxfp4"]:
        bf = block_format(name)
        assert bf.block_size == (16 if name.startswith("nv") else 32)
    assert block_format("mxfp8") == PRESETS["mxfp8_e4m3"]
    assert block_format("mxfp6").element.name == "e2m3" and block_format("mxfp4").element.name == "e2m1"


@pytest.mark.parametrize("fmt", ALL)
def test_codes_dequantize_equals_quantize(fmt):
    x = gaussian((3, 5, 64)) * np.float32(3.0)
    for rule in block_format(fmt).scale.rules:
        q = quantize(x, fmt, scale_rule=rule)
        d = quantize_codes(x, fmt, scale_rule=rule).dequantize()
        assert q.shape == x.shape and q.dtype == np.float32
        assert np.array_equal(q.view(np.uint32), d.view(np.uint32))


# -- scale rules: the defining inequalities, checked exactly in float64 ------------------------
def _amax_samples():
    r = rng(1)
    base = np.ldexp(np.float32(1), r.integers(-100, 100, 4000)).astype(np.float32)
    jitter = r.uniform(0.5, 2, 4000).astype(np.float32)
    pow2 = np.ldexp(np.float32(1), np.arange(-120, 120)).astype(np.float32)
    return np.concatenate([base * jitter, pow2, np.nextafter(pow2, 0), np.nextafter(pow2, np.inf)])


@pytest.mark.parametrize("fmt", MX)
def test_floor_rule_exponent(fmt):
    elem = block_format(fmt).element
    a = _amax_samples()
    s = ue8m0_exponent(a, elem, "floor").astype(np.float64)
    lo, hi = np.ldexp(1.0, (s + elem.emax).astype(int)), np.ldexp(1.0, (s + elem.emax + 1).astype(int))
    inside = s > -127
    assert np.all((lo <= a)[inside]) and np.all((a < hi)[inside])    # 2^(s+emax) <= amax < 2^(s+emax+1)


@pytest.mark.parametrize("fmt", MX)
def test_ceil_rule_exponent(fmt):
    elem = block_format(fmt).element
    a = _amax_samples().astype(np.float64)
    s = ue8m0_exponent(a.astype(np.float32), elem, "ceil").astype(int)
    inside = (s > -127) & (s < 127)
    assert np.all((a <= elem.max * np.ldexp(1.0, s))[inside])          # the block max never clips
    assert np.all((a > elem.max * np.ldexp(1.0, s - 1))[inside])       # and s is the smallest such


def test_subnormal_amax_ceil_is_exact():
    int4 = block_format("mxint4").element                      # max 1.75: ceil can be -126
    a = np.array([1.9 * 2.0 ** -127, 2.0 ** -127, 2.0 ** -140], np.float32)
    assert ue8m0_exponent(a, int4, "ceil").tolist() == [-126, -127, -127]


def test_ceil_never_clips_and_floor_saturates():
    x = np.full((1, 32), 0.1, np.float32)
    x[0, 0] = 1.9                          # floor(log2 1.9) = 0 -> MXINT8 scale 2^0, 1.9 -> 121/64
    assert quantize(x, "mxint8")[0, 0] == np.float32(122 / 64)
    x[0, 0] = 255.9                        # E4M3 floor: scale 2^-1, 511.8 saturates to 448 -> 224
    assert quantize(x, "mxfp8")[0, 0] == 224
    assert quantize(x, "mxfp8", scale_rule="ceil")[0, 0] == 256     # ceil: 2^0, 255.9 -> 256


# -- edge cases ----------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ALL)
def test_all_zero_block(fmt):
    x = np.zeros((2, 64), np.float32)
    x[1] = gaussian(64)
    c = quantize_codes(x, fmt)
    assert np.all(quantize(x, fmt)[0] == 0)
    if c.fmt.scale.name == "ue8m0":
        assert np.all(c.scale_codes[0] == 0x00)        # 2^-127, as torchao / gfloat
    else:
        assert np.all(c.scale_codes[0] == 0x08)        # E4M3 2^-6: torchao's clamp (E4M3_EPS)


@pytest.mark.parametrize("fmt", ALL)
@pytest.mark.parametrize("special", [np.nan, np.inf, -np.inf])
def test_non_finite_poisons_only_its_block(fmt, special):
    bs = block_format(fmt).block_size
    x = gaussian((2, 4 * bs))
    x[1, bs + 3] = special
    q = quantize(x, fmt)
    assert np.isnan(q[1, bs:2 * bs]).all()
    assert np.isfinite(np.delete(q[1], np.s_[bs:2 * bs])).all() and np.isfinite(q[0]).all()
    c = quantize_codes(x, fmt)
    assert c.scale_codes[1, 1] == (0xFF if c.fmt.scale.name == "ue8m0" else 0x7F)
    if fmt.startswith("nv"):   # the tensor scale ignores the poisoned block
        assert c.tensor_scale == quantize_codes(np.where(np.isfinite(x), x, 0), fmt).tensor_scale


def test_scale_overflow_clips_and_saturates():
    x = np.full((1, 32), 3.0e38, np.float32)
    c = quantize_codes(x, "mxint4", scale_rule="ceil")     # needs 2^128: clipped to 2^127
    assert c.scale_codes[0, 0] == 0xFE
    assert np.all(quantize(x, "mxint4", scale_rule="ceil") == np.float32(7 / 4 * 2.0 ** 127))


def test_tiny_blocks_keep_precision():
    """INT formats (emax 0) give a block whose amax is a float32 subnormal in [2^-127, 2^-126)
    its exact scale 2^-127, so quantization commutes with scaling by a power of two
    (torchao clamps that scale to 2^-126 instead)."""
    for fmt in ["mxint8", "mxint6", "mxint4"]:
        x = gaussian(64)
        x = (x / np.abs(x).max() * np.float32(1.5 * 2.0 ** -127)).astype(np.float32)
        assert np.abs(x).max() < 2.0 ** -126
        big = quantize(x * np.float32(2.0 ** 100), fmt)
        assert quantize_codes(x, fmt).scale_codes[0] == 0
        assert np.array_equal(quantize(x, fmt), big * np.float32(2.0 ** -100)), fmt


def test_padding_and_no_padding():
    x = gaussian((4, 70))
    q = quantize(x, "mxfp8")
    padded = np.zeros((4, 96), np.float32)
    padded[:, :70] = x
    assert np.array_equal(q, quantize(padded, "mxfp8")[:, :70])     # zero padding is inert
    with pytest.raises(ValueError, match="length 70, not a multiple of block size 32 of mxfp8_e4m3"):
        quantize(x, "mxfp8", pad=False)
    c = quantize_codes(x, "mxfp8")
    assert c.codes.shape == (4, 3, 32) and c.scale_codes.shape == (4, 3)


def test_axis():
    x = gaussian((64, 3, 5))
    q0 = quantize(x, "mxint8", axis=0)
    assert np.array_equal(q0, np.moveaxis(quantize(np.moveaxis(x, 0, -1), "mxint8"), -1, 0))
    assert not np.array_equal(q0, quantize(x, "mxint8", axis=-1))
    with pytest.raises(ValueError, match="axis 3 is out of range"):
        quantize(x, "mxint8", axis=3)


def test_block_size_override_and_granularities():
    x = gaussian((8, 256)) * np.linspace(0.1, 10, 8, dtype=np.float32)[:, None]
    per_ch = quantize(x, "mxint8", block_size=-1)
    assert np.array_equal(per_ch, quantize(x, "mxint8", block_size="channel"))
    assert np.array_equal(per_ch, quantize(x, "mxint8", block_size=256))
    per_t = quantize_codes(x, "mxint8", block_size="tensor")
    assert per_t.scale_codes.shape == (1,)
    assert np.array_equal(per_t.dequantize(), quantize(x, "mxint8", block_size="tensor"))
    err = [np.mean((quantize(x, "mxint8", block_size=b) - x) ** 2) for b in (16, 64, "channel", "tensor")]
    assert err == sorted(err)            # finer blocks, smaller error (on this data)
    with pytest.raises(ValueError, match="block_size must be a positive int"):
        quantize(x, "mxint8", block_size=0)


def test_fp32_scale_per_channel_int8():
    """The study's high-precision-scale baseline: s = amax / 127, elements round(x / s)."""
    x = gaussian((4, 128))
    bf = block_format("int8", block_size=-1, scale="fp32")
    q = quantize(x, bf)
    codes = quantize_codes(x, bf)
    amax_codes = np.abs(codes.codes.view(np.int8)).max(axis=-1)
    assert np.all(amax_codes == 127)                    # the row max maps to the largest code
    assert np.array_equal(codes.dequantize(), q)


def test_torch_in_torch_out():
    x = torch.randn(4, 64, dtype=torch.bfloat16)
    q = quantize(x, "nvfp4")
    assert isinstance(q, torch.Tensor) and q.dtype == torch.float32 and q.shape == x.shape
    assert np.array_equal(q.numpy(), quantize(x.float().numpy(), "nvfp4"))


@pytest.mark.parametrize("bad", [np.arange(8), np.array([True]), "x"])
def test_non_float_input(bad):
    with pytest.raises(ValueError, match="floating-point"):
        quantize(bad, "mxfp8")


def test_bad_rounding_and_rule():
    x = gaussian(32)
    with pytest.raises(ValueError, match="unknown rounding 'nearest'; allowed: even, away, stochastic"):
        quantize(x, "mxfp8", rounding="nearest")
    with pytest.raises(ValueError, match="needs an explicit seed"):
        quantize(x, "mxfp8", rounding="stochastic")
    with pytest.raises(ValueError, match="scale_rule 'floor' does not apply to nvfp4.*allowed: nv"):
        quantize(x, "nvfp4", scale_rule="floor")
    with pytest.raises(ValueError, match="scale_rule 'round'.*allowed: floor, ceil"):
        quantize(x, "mxfp8", scale_rule="round")


def test_stochastic_rounding_is_seeded_and_unbiased():
    x = np.full((2000, 32), 0.3, np.float32)
    x[:, 0] = 1.0                                   # fixes the scale: 0.3 sits between grid points
    a = quantize(x, "mxint4", rounding="stochastic", seed=7)
    assert np.array_equal(a, quantize(x, "mxint4", rounding="stochastic", seed=7))
    assert not np.array_equal(a, quantize(x, "mxint4", rounding="stochastic", seed=8))
    vals = a[:, 1:]
    assert set(np.unique(vals).tolist()) == {0.25, 0.5}
    assert abs(vals.mean() - 0.3) < 0.005           # E[q] = x: 0.25 w.p. 0.8, 0.5 w.p. 0.2


# -- properties -----------------------------------------------------------------------------------
floats = st.floats(-2.0 ** 100, 2.0 ** 100, allow_nan=False, allow_infinity=False, width=32)


@given(arrays(np.float32, (2, 64), elements=floats), st.sampled_from(MX), st.sampled_from(["floor", "ceil"]))
def test_idempotent(x, fmt, rule):
    """Quantizing quantized values changes nothing (MX; NV is not idempotent: the tensor scale
    is recomputed from the quantized tensor's amax)."""
    q = quantize(x, fmt, scale_rule=rule)
    assert np.array_equal(quantize(q, fmt, scale_rule=rule), q)


@given(arrays(np.float32, (2, 64), elements=floats), st.sampled_from(ALL))
def test_never_exceeds_block_max(x, fmt):
    """|q| <= max_elem x block scale, and a block's max magnitude grows by at most one step."""
    c = quantize_codes(x, fmt)
    q = c.dequantize().reshape(c.codes.shape)
    limit = np.float32(c.fmt.element.max) * c.block_scales[..., None]
    assert np.all(np.abs(q) <= limit)
    if c.fmt.scale.name == "ue8m0":
        xb = np.abs(x).reshape(c.codes.shape).max(-1)
        assert np.all(np.abs(q).max(-1) <= np.maximum(xb * (1 + 2.0 ** -c.fmt.element.mbits), 0)
                      + c.fmt.element.quantum_min * c.block_scales)
