"""Element-level arithmetic: round onto a format's grid, encode to codes, decode codes.

One vectorized path serves every element format; the format enters only as numbers
(:class:`~intfp.models.formats.ElementFormat`). Rounding is done on float32 bit patterns so it
is exact: for a value ``v`` whose float32 exponent is ``E``, the grid step of an FP ExMy format
is ``2^(max(E, emin) - M)``; ``v * 2^-(that)`` is an exact power-of-two scaling, the rounding to
an integer is the only inexact step, and scaling back is exact again. This is the approach of
microxcaling's ``mx/elemwise_ops.py::_quantize_elemwise_core`` (private exponent, shift, round,
shift back, clamp) with the exponent read from the float's bits instead of a float ``log2``
(a float ``log2`` of a value just below 2^k can round up to k).

Saturation: values beyond the format's max clamp to +-max. This is the OCP MX conversion rule
(``saturate_normals=True`` in microxcaling's ``_quantize_mx``; torchao clamps before casting).
"""
from __future__ import annotations

import numpy as np

from .formats import ElementFormat

__all__ = ["ROUNDING_MODES", "round_to_grid", "encode", "decode", "check_rounding"]

ROUNDING_MODES = ("even", "away", "stochastic")

_F32_EXP_SHIFT = 23
_F32_BIAS = 127


def check_rounding(rounding: str, seed) -> None:
    if rounding not in ROUNDING_MODES:
        raise ValueError(f"unknown rounding {rounding!r}; allowed: {', '.join(ROUNDING_MODES)} "
                         "(even = ties to even, away = ties away from zero, stochastic needs a seed)")
    if rounding == "stochastic" and seed is None:
        raise ValueError("rounding='stochastic' needs an explicit seed (an int) so that runs repeat")


def _pow2_f32(exp: np.ndarray) -> np.ndarray:
    """2.0**exp as float32 for int32 exponents in the normal range [-126, 127]."""
    return ((exp + _F32_BIAS).astype(np.int32) << _F32_EXP_SHIFT).view(np.float32)


def _round_int(t: np.ndarray, rounding: str, rng) -> np.ndarray:
    """Round float32 ``t`` to integers in place (t is exact; only this step is inexact)."""
    if rounding == "even":
        np.rint(t, out=t)                       # IEEE round-half-even
    elif rounding == "away":
        # trunc(t + 0.5 sign(t)) is exact here: |t| < 2^(M+2) has at most 24 significant bits.
        t += np.copysign(np.float32(0.5), t)
        np.trunc(t, out=t)
    else:
        # stochastic: up with probability frac(t), u ~ U[0, 1) given by the caller (``rng`` is
        # an array of uniforms shaped like t). floor(t) + (u < frac(t)) is exact; the shortcut
        # floor(t + u) is not: in float32, t + u can round up to the next integer even when t is
        # already one, moving exact values and biasing the rest.
        f = np.floor(t)
        frac = t - f                               # exact: t has at most 24 significant bits
        np.add(f, rng < frac, out=t, casting="unsafe")
    return t


def round_to_grid(v: np.ndarray, elem: ElementFormat, rounding: str = "even", rng=None,
                  out: np.ndarray | None = None) -> np.ndarray:
    """Round finite float32 values ``v`` onto ``elem``'s grid, saturating at +-max.

    Non-finite inputs give unspecified (but finite or NaN) results: callers mask them.
    ``v`` is not modified unless ``out is v``. For ``rounding="stochastic"``, ``rng`` is either
    a numpy Generator or an array of U[0, 1) float32 numbers shaped like ``v``.
    """
    v = np.asarray(v, dtype=np.float32)
    if v.ndim == 0:                                # ufuncs return scalars for 0-d: round a 1-vector
        return round_to_grid(v.reshape(1), elem, rounding, rng)[0]
    if rounding == "stochastic" and isinstance(rng, np.random.Generator):
        rng = rng.random(v.shape, dtype=np.float32)
    if elem.kind == "int":
        # Fixed step 2^-(bits-2); saturate on the codes, whose range may be asymmetric.
        step_inv = np.float32(2.0 ** (elem.bits - 2))
        out = np.multiply(v, step_inv, out=out)
        _round_int(out, rounding, rng)
        np.minimum(out, np.float32(elem.code_max), out=out)
        np.maximum(out, np.float32(elem.code_min), out=out)
        out += np.float32(0.0)           # -0.0 -> +0.0: INT has no negative zero code
        out *= np.float32(1.0 / step_inv)
        return out
    # Saturate first (max is on the grid). min/max ufuncs: np.clip's wrapper is slower.
    out = np.minimum(v, np.float32(elem.max), out=out)
    np.maximum(out, np.float32(-elem.max), out=out)
    # FP: per-element step 2^(max(E, emin) - M), with E the float32 exponent of v. Work on the
    # exponent field in place (bits 23..30): 2^-(E' - M) and 2^(E' - M) are then one integer
    # subtraction each. Both stay in float32's normal range because |v| <= max < 2^(emax+1)
    # and emin - M >= -16 for every format here.
    e_bits = out.view(np.uint32) & np.uint32(0x7F800000)
    np.maximum(e_bits, np.uint32((elem.emin + _F32_BIAS) << _F32_EXP_SHIFT), out=e_bits)
    out *= (np.uint32((2 * _F32_BIAS + elem.mbits) << _F32_EXP_SHIFT) - e_bits).view(np.float32)
    _round_int(out, rounding, rng)
    e_bits -= np.uint32(elem.mbits << _F32_EXP_SHIFT)
    out *= e_bits.view(np.float32)
    return out


def encode(r: np.ndarray, elem: ElementFormat) -> np.ndarray:
    """Integer codes (uint8) of values already on ``elem``'s grid (as :func:`round_to_grid` gives).

    NaN encodes to the format's NaN code (0x7F magnitude for E4M3 / E5M2), +-Inf to E5M2's Inf;
    for formats without them a ValueError is raised (callers never pass them).
    """
    r = np.asarray(r, dtype=np.float32)
    codes = _encode_unchecked(r, elem)
    # Guard against misuse (e.g. a test bench encoding unrounded values): every finite value
    # must decode back from its code exactly.
    finite = np.isfinite(r)
    back = decode(codes, elem)
    if not np.array_equal(back[finite], r[finite]):
        bad = r[finite][back[finite] != r[finite]].flat[0]
        raise ValueError(f"value {bad!r} is not on the {elem.name} grid (max {elem.max}); "
                         "round it first with round_to_grid")
    return codes


def _encode_unchecked(r: np.ndarray, elem: ElementFormat) -> np.ndarray:
    if elem.kind == "int":
        codes = np.rint(r * np.float32(2.0 ** (elem.bits - 2))).astype(np.int32)
        return (codes & (elem.num_codes - 1)).astype(np.uint8)
    bits = r.view(np.uint32)
    sign = (bits >> np.uint32(31)).astype(np.uint8)
    mag = np.abs(r)
    e = ((bits >> np.uint32(_F32_EXP_SHIFT)) & np.uint32(0xFF)).astype(np.int32) - _F32_BIAS
    normal = e >= elem.emin
    e_field = np.where(normal, e + elem.bias, 0)
    m_normal = (bits >> np.uint32(_F32_EXP_SHIFT - elem.mbits)) & np.uint32((1 << elem.mbits) - 1)
    m_sub = np.rint(mag * np.float32(2.0 ** (elem.mbits - elem.emin))).astype(np.uint32)
    m_field = np.where(normal, m_normal, m_sub)
    codes = ((e_field.astype(np.uint32) << np.uint32(elem.mbits)) | m_field).astype(np.uint8)
    special = ~np.isfinite(mag)
    if special.any():
        nan = np.isnan(mag)
        if nan.any():
            if not elem.has_nan:
                raise ValueError(f"{elem.name} has no NaN encoding")
            codes[nan] = elem.nan_codes[0]
        inf = special & ~nan
        if inf.any():
            if not elem.has_inf:
                raise ValueError(f"{elem.name} has no Inf encoding")
            codes[inf] = elem.inf_code
    return codes | (sign << np.uint8(elem.bits - 1))


_DECODE_CACHE: dict[ElementFormat, np.ndarray] = {}


def decode(codes: np.ndarray, elem: ElementFormat) -> np.ndarray:
    """float32 values of integer codes (a table lookup: every format here has <= 256 codes)."""
    table = _DECODE_CACHE.get(elem)
    if table is None:
        table = _DECODE_CACHE.setdefault(elem, elem.decode_table().astype(np.float32))
    codes = np.asarray(codes)
    if codes.size and (codes.min() < 0 or codes.max() >= elem.num_codes):
        bad = codes[(codes < 0) | (codes >= elem.num_codes)].flat[0]
        raise ValueError(f"code {int(bad)} is out of range for {elem.name} "
                         f"({elem.bits} bits: 0..{elem.num_codes - 1})")
    return table[codes.astype(np.intp)]
