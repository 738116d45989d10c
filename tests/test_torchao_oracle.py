"""Bit-exact agreement with torchao's MX and NVFP4 conversions (torchao as an oracle).

torchao 0.18 ``torchao.prototype.mx_formats``: ``to_mx`` (FLOOR = OCP rule, RCEIL = the study's
ceil rule) and ``nvfp4_quantize`` with ``per_tensor_amax_to_scale``. Known, documented
differences are asserted as such, not skipped:

* FLOOR: for a block whose scale code is 0x00 (2^-127) torchao divides by 2^-126 instead
  (``scale_fp32 = clamp(scale_fp32, min=F32_MIN_NORMAL)``); intfp uses the stored scale.
* RCEIL (eager fallback): ``ceil(log2(amax / max))`` in float32 rounds log2 of a quotient just
  above a power of two down to that power; intfp's ceil is exact.
"""
import warnings

import numpy as np
import pytest
import torch

from intfp.models import block_format, quantize, quantize_codes

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    mx_tensor = pytest.importorskip("torchao.prototype.mx_formats.mx_tensor")
    from torchao.prototype.mx_formats.config import ScaleCalculationMode
    from torchao.prototype.mx_formats.constants import DTYPE_FP6_E2M3, DTYPE_FP6_E3M2
    from torchao.prototype.mx_formats.kernels import unpack_uint4
    from torchao.prototype.mx_formats.nvfp4_tensor import NVFP4Tensor, nvfp4_quantize, per_tensor_amax_to_scale
    MXTensor = mx_tensor.MXTensor

TORCHAO_DTYPE = {
    "mxfp8_e4m3": torch.float8_e4m3fn, "mxfp8_e5m2": torch.float8_e5m2,
    "mxfp6_e2m3": DTYPE_FP6_E2M3, "mxfp6_e3m2": DTYPE_FP6_E3M2, "mxfp4_e2m1": torch.float4_e2m1fn_x2,
}


def adversarial_blocks(fmt: str, nblocks_random=3000, seed=0) -> np.ndarray:
    """(n, 32) float32 blocks: Gaussian, heavy-tailed, grid ties, values at and around powers of
    two, max-magnitude, element-subnormal ranges, huge and tiny (but normal-scale) blocks."""
    r = np.random.default_rng(seed)
    elem = block_format(fmt).element
    k = 32
    out = [r.standard_normal((nblocks_random, k)),
           r.standard_t(2, (nblocks_random, k)),
           r.standard_normal((500, k)) * np.ldexp(1.0, r.integers(-100, 100, (500, 1)))]
    # exact grid values and midpoints of neighbouring grid values, under a random block scale
    grid = np.unique(np.abs(elem.decode_table()[np.isfinite(elem.decode_table())]))
    mids = (grid[:-1] + grid[1:]) / 2
    for vals in (grid, mids, np.concatenate([grid, mids])):
        blocks = r.choice(vals, (400, k)) * r.choice([-1, 1], (400, k))
        blocks[:, 0] = elem.max                    # pin the block max so the scale is 2^0 ...
        out.append(blocks * np.ldexp(1.0, r.integers(-60, 60, (400, 1))))   # ... times 2^s
    # amax exactly at, just below and just above powers of two
    for nudge in (0, -1, 1):
        b = r.uniform(-1, 1, (300, k))
        a = np.ldexp(1.0, r.integers(-80, 80, 300)).astype(np.float32)
        if nudge:
            a = np.nextafter(a, np.float32(np.inf) if nudge > 0 else np.float32(0))
        b[:, 3] = a
        b[:, 4:] *= a[:, None]
        out.append(b)
    out.append(np.zeros((5, k)))
    out.append(np.full((5, k), elem.max) * np.ldexp(1.0, r.integers(-10, 10, (5, 1))))
    x = np.concatenate(out).astype(np.float32)
    return x


def torchao_mx(x: np.ndarray, fmt: str, mode):
    s, d = mx_tensor.to_mx(torch.from_numpy(x), TORCHAO_DTYPE[fmt], 32, scaling_mode=mode)
    if fmt == "mxfp4_e2m1":
        d = unpack_uint4(d)
    return s.view(torch.uint8).numpy().reshape(x.shape[0], -1), d.view(torch.uint8).numpy()


@pytest.mark.parametrize("fmt", list(TORCHAO_DTYPE))
def test_mx_floor_matches_torchao(fmt):
    x = adversarial_blocks(fmt)
    ts, td = torchao_mx(x, fmt, ScaleCalculationMode.FLOOR)
    c = quantize_codes(x, fmt)
    ours_s, ours_d = c.scale_codes.reshape(ts.shape), c.codes.reshape(td.shape)
    assert np.array_equal(ours_s, ts)
    quirk = (ours_s == 0)[:, 0]                   # torchao divides these by 2^-126, not 2^-127
    assert np.array_equal(ours_d[~quirk], td[~quirk])
    assert quirk.sum() <= 5                       # only the all-zero blocks here, whose codes agree
    assert np.array_equal(ours_d[quirk], td[quirk])


@pytest.mark.parametrize("fmt", list(TORCHAO_DTYPE))
def test_mx_ceil_matches_torchao_rceil(fmt):
    x = adversarial_blocks(fmt, seed=1)
    ts, td = torchao_mx(x, fmt, ScaleCalculationMode.RCEIL)
    c = quantize_codes(x, fmt, scale_rule="ceil")
    ours_s, ours_d = c.scale_codes.reshape(ts.shape), c.codes.reshape(td.shape)
    differ = (ours_s != ts)[:, 0]
    # Every scale difference is torchao's float log2 rounding a quotient just above 2^j down:
    # there torchao's scale is one binade lower and amax / scale exceeds max (it clips).
    amax = np.abs(x).max(axis=1).astype(np.float64)
    e = ts[differ, 0].astype(int) - 127
    assert np.all(ours_s[differ, 0].astype(int) == e + 1)
    assert np.all(amax[differ] > block_format(fmt).element.max * np.ldexp(1.0, e))
    assert differ.mean() < 0.01
    zero = (ts == 0)[:, 0]                         # RCEIL's exponent-0 quirk (rcp = 1.0)
    same = ~differ & ~zero
    assert np.array_equal(ours_d[same], td[same])


def test_nvfp4_matches_torchao():
    x = adversarial_blocks("nvfp4")
    for rows in (x[:2000], x, x[-3000:]):
        xt = torch.from_numpy(np.ascontiguousarray(rows))
        t = per_tensor_amax_to_scale(xt.abs().max())
        ts, td = nvfp4_quantize(xt, 16, per_tensor_scale=t)
        c = quantize_codes(rows, "nvfp4")
        assert np.float32(c.tensor_scale) == t.item()
        assert np.array_equal(c.scale_codes.reshape(-1), ts.view(torch.uint8).numpy().reshape(-1))
        assert np.array_equal(c.codes.reshape(-1), unpack_uint4(td).numpy().reshape(-1))


def test_nvfp4_fake_quant_matches_torchao_dequantize():
    """Fake-quant = E2M1 value x (E4M3 scale x tensor scale), as NVFP4Tensor.dequantize."""
    x = adversarial_blocks("nvfp4")[:2000]
    xt = torch.from_numpy(x)
    t = per_tensor_amax_to_scale(xt.abs().max())
    ref = NVFP4Tensor.to_nvfp4(xt, 16, per_tensor_scale=t).dequantize(torch.float32).numpy()
    assert np.array_equal(quantize(x, "nvfp4").view(np.uint32), ref.view(np.uint32))


def test_mx_fake_quant_matches_torchao_dequantize():
    x = adversarial_blocks("mxfp8_e4m3")[:2000]
    x = x[np.abs(x).max(axis=1) > 2.0 ** -100]        # away from the 2^-127 quirk
    for fmt in ("mxfp8_e4m3", "mxfp4_e2m1"):
        mx = MXTensor.to_mx(torch.from_numpy(x), TORCHAO_DTYPE[fmt], 32)
        ref = mx.dequantize(torch.float32).numpy()
        assert np.array_equal(quantize(x, fmt), ref), fmt
