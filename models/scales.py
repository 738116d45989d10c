"""Block scales: the per-block max |x| and the scale each block format derives from it
(UE8M0 floor / ceil exponents computed exactly from the float bits, NV's E4M3 block scale
under an FP32 tensor scale, FP32 scales). Shared by the reference path
(:mod:`intfp.models.blocks`) and the fast kernels (:mod:`intfp.models.qkernels`); the rules
and their sources are in ``docs/formats.md``."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .elements import encode, round_to_grid
from .formats import (ELEMENT_FORMATS, UE8M0_BIAS, UE8M0_EMAX, UE8M0_EMIN, UE8M0_NAN,
                      BlockFormat)

__all__ = ["ue8m0_exponent", "nv_tensor_scale"]

_E4M3 = ELEMENT_FORMATS["e4m3"]
_E4M3_NAN = 0x7F
_E4M3_MIN_NORMAL = 2.0 ** -6          # torchao E4M3_EPS = finfo(float8_e4m3fn).tiny
_NV_TENSOR_SCALE_MIN = np.float32(2.0 ** -120)
# torch reduces more than its grain size (32768 elements) with its own OpenMP threads, which,
# nested inside our pool threads, oversubscribe the cores: _block_amax hands torch slices below
# that size so every reduction runs in the calling thread.
_TORCH_GRAIN = 32768


def _block_amax(x2d: np.ndarray) -> np.ndarray:
    """max |x| per row, as float32; NaN if the row has a NaN, else Inf if it has an Inf.

    Reads bits: for non-negative floats the int32 order is the float order, and every NaN
    pattern (sign cleared) is above +Inf, so one integer max answers all three cases.
    """
    bits = x2d.view(np.int32) & np.int32(0x7FFFFFFF)
    # torch's row reduction is several times faster than numpy's for short rows (k = 16, 32).
    t = torch.from_numpy(bits)
    step = max(1, (_TORCH_GRAIN - 1) // max(bits.shape[1], 1))
    if bits.shape[0] <= step:
        return t.amax(dim=1).numpy().view(np.float32)
    out = torch.empty(bits.shape[0], dtype=torch.int32)
    for i in range(0, bits.shape[0], step):
        torch.amax(t[i:i + step], dim=1, out=out[i:i + step])
    return out.numpy().view(np.float32)


def ue8m0_exponent(amax: np.ndarray, elem, rule: str) -> np.ndarray:
    """Unbiased UE8M0 scale exponent per block, exact, clipped to [-127, 127].

    amax = m 2^e with m in [0.5, 1) (frexp, exact in float64 for any float32 incl. subnormals).
    floor: floor(log2 amax) - emax_elem = (e - 1) - emax_elem.
    ceil:  ceil(log2(amax / max_elem)) = (e - e_q) + (m > m_q) where max_elem = m_q 2^e_q.
    An all-zero block gets the smallest scale, 2^-127 (code 0x00), as torchao and gfloat do.
    Non-finite amax gives 0 here; the caller marks the block NaN.
    """
    bits = np.ascontiguousarray(amax, dtype=np.float32).view(np.int32)
    e_field = bits >> 23                        # sign is 0: amax >= 0 or NaN with sign cleared
    if rule == "floor":
        # A subnormal amax (e_field 0) has floor(log2) < -126 and always clips to -127.
        s = e_field - (127 + elem.emax)
    elif rule == "ceil":
        mq, eq = np.frexp(elem.max)            # max = mq 2^eq, mq in [0.5, 1)
        mq_bits = int(round((mq * 2 - 1) * (1 << 23)))   # max's float32 mantissa field
        s = (e_field - 126 - eq) + ((bits & 0x7FFFFF) > mq_bits)
        sub = (e_field == 0) & (bits != 0)
        if sub.any():                          # subnormal amax: no implicit bit, use frexp
            m, e = np.frexp(amax[sub].astype(np.float64))
            s[sub] = (e - eq) + (m > mq)
    else:  # pragma: no cover - resolve() validated the rule
        raise ValueError(f"unknown UE8M0 scale rule {rule!r}")
    s[(bits == 0) | (e_field >= 255)] = UE8M0_EMIN
    # np.minimum / np.maximum: np.clip's Python wrapper costs more than the work on ~1k blocks.
    return np.minimum(np.maximum(s, UE8M0_EMIN), UE8M0_EMAX).astype(np.int32, copy=False)


# 2^e as float32 for every UE8M0 exponent e in [-127, 127] (2^-127 is the subnormal 0x00400000).
_POW2_UE8M0 = np.ldexp(np.float32(1.0), np.arange(UE8M0_EMIN, UE8M0_EMAX + 1)).astype(np.float32)


def _pow2(exp: np.ndarray) -> np.ndarray:
    """2**exp as float32 for integer exponents in [-127, 127]: a table lookup."""
    return _POW2_UE8M0[np.asarray(exp, dtype=np.intp) - UE8M0_EMIN]


@dataclass
class _Scales:
    """Per-row scale: multiply by ``inv`` to get element-domain values, by ``mul`` to come back."""
    inv: np.ndarray                 # float32 (rows,)
    mul: np.ndarray                 # float32 (rows,)
    codes: np.ndarray | None        # stored scale per row: uint8 codes, or float32 for "fp32"
    nan_rows: np.ndarray            # bool (rows,)


def _scales_for(amax: np.ndarray, bf: BlockFormat, rule: str, tensor_scale,
                want_codes: bool = True) -> _Scales:
    """Per-row scales from the row amax (``codes`` is None unless ``want_codes``)."""
    elem = bf.element
    nan_rows = ~np.isfinite(amax)
    if bf.scale.name == "ue8m0":
        s = ue8m0_exponent(amax, elem, rule)
        codes = None
        if want_codes:
            codes = (s + UE8M0_BIAS).astype(np.uint8)
            codes[nan_rows] = UE8M0_NAN
        return _Scales(_pow2(-s), _pow2(s), codes, nan_rows)
    if bf.scale.name == "e4m3":
        t = np.float32(tensor_scale)
        block_scale = np.where(nan_rows, 0, amax).astype(np.float32) / np.float32(elem.max)
        s_b = np.clip(block_scale / t, _E4M3_MIN_NORMAL, _E4M3.max).astype(np.float32)
        s_b = round_to_grid(s_b, _E4M3)                       # cast to E4M3, nearest even
        codes = None
        if want_codes:
            codes = encode(s_b, _E4M3)
            codes[nan_rows] = _E4M3_NAN
        # torchao (matching the MSLK kernel): x * ((1 / t) / s_b); dequant: q * (s_b * t).
        inv = (np.float32(1.0) / t) / s_b
        return _Scales(inv.astype(np.float32), (s_b * t).astype(np.float32), codes, nan_rows)
    if bf.scale.name == "fp32":
        s = np.where(nan_rows, 0, amax).astype(np.float32) / np.float32(elem.max)
        s = np.where(s > 0, s, np.float32(1.0)).astype(np.float32)   # all-zero block: any scale
        stored = s.copy()
        stored[nan_rows] = np.nan                  # the stored scale marks a NaN block
        return _Scales(None, s, stored, nan_rows)
    raise AssertionError(bf.scale.name)  # "none" is handled by the caller


def nv_tensor_scale(amax_tensor: float, elem) -> np.float32:
    """FP32 per-tensor scale of NVFP4 / NVINT4: amax / (448 * max_elem), as torchao computes it.

    A zero or tiny tensor amax would give a zero or denormal scale, and 0/0 or an overflow of
    (1 / t) / s_b downstream (torchao returns NaN there). intfp clamps t to at least 2^-120,
    which keeps (1 / t) / s_b finite for every E4M3 block scale s_b >= 2^-6; only tensors with
    amax below 448 x 6 x 2^-120 (about 2e-33) are affected, and they still quantize sensibly.
    """
    t = np.float32(amax_tensor) / np.float32(_E4M3.max * elem.max)
    return np.float32(max(t, _NV_TENSOR_SCALE_MIN))


# --------------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------------
