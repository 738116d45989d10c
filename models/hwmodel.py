"""Bit-accurate model of the intfp MAC and block dot-product hardware (``intfp.rtl``).

The arithmetic is specified once, in ``docs/arithmetic.md``; this module implements that text
as vectorized numpy over many blocks at once, and the Amaranth units in :mod:`intfp.rtl` must
equal it bit for bit (their tests compare against nothing else). Results are FP32 bit patterns
(``uint32``) so that NaN, Inf, signed zero and subnormals compare exactly.

Structure of one block dot product (``k`` lanes, element codes ``a``, ``b``, scale codes):

* lane multipliers: INT codes multiply exactly; FP lanes give (sign, exponent sum, significand
  product, NaN, Inf) per lane (:func:`lane_product`);
* FP only: the maximum product exponent over the lanes (comparator tree), and every product
  significand shifted right by its distance to that maximum into an ``n``-bit window;
  bits shifted below the window are dropped (truncation of the magnitude);
* an exact adder tree over the k signed lane values;
* the dequantizer: UE8M0 scales add to the exponent; E4M3 scales multiply their significands
  into the sum (exact) and add their exponents;
* one rounding, in the normalizer: integer sum x 2^exponent -> FP32, round to nearest even,
  gradual underflow, overflow to Inf;
* the FP32 accumulator: IEEE-754 binary32 addition, round to nearest even.

Every rounding the hardware does is one of those two: the normalizer is modelled by exact
integer rounding of the exact integer significand (:func:`to_fp32`, any width), the
accumulator by one IEEE float32 addition (round to nearest even).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .fp32 import (FP32_INF, FP32_NAN, _fp32_bits_exact, bits_to_f32, f32_to_bits,  # noqa: F401
                   fp32_add, to_fp32)
from .formats import (E4M3_BIAS, PRESETS, ALIASES, UE8M0_BIAS, BlockFormat, ElementFormat,
                      ELEMENT_FORMATS, FORMAT_GRAMMAR, _is_element_name, block_format,
                      element_format, is_grammar_name)

__all__ = [
    "DotSpec", "dot_spec", "aligner_width", "default_window", "block_format_names", "FP32_NAN", "FP32_INF",
    "LaneProduct", "lane_fields", "lane_product", "block_dot", "block_dot_exact",
    "exact_to_fp32",
    "block_scale", "to_fp32", "fp32_add", "accumulate", "int_accumulate", "scalar_mac",
    "scalar_mac_product", "bits_to_f32", "f32_to_bits", "dot_error", "default_windows",
    "exact_window", "MAX_WINDOW",
    "accuracy_table",
]

MAX_WINDOW = 48                 # widest aligner window dot_spec accepts
MAX_LANES = 256                 # widest block unit: the largest block size the formats define

_U8 = np.uint8


def block_format_names() -> list[str]:
    """Names the block units accept: the presets and the MX aliases."""
    return [*PRESETS, *ALIASES]


def aligner_width(x: int, y: int) -> int:
    """The study's aligner width n = min(2^(x+1) + 2y, 24) for x exponent and y mantissa bits
    (arXiv 2510.25602, Eq. 44; x = 0 for INT)."""
    return min(2 ** (x + 1) + 2 * y, 24)


def default_window(elem: ElementFormat) -> int:
    """The study's aligner width (:func:`aligner_width`) for an FP element format."""
    if elem.kind != "fp":
        raise ValueError(f"the alignment window applies to FP elements only, not {elem.name!r}")
    return aligner_width(elem.ebits, elem.mbits)


#: Lane architectures of the block units, per element kind (the first is the default):
#: INT ``twos`` (two's complement product, Yosys' array), ``booth`` (radix-4 Booth),
#: ``baugh_wooley``, ``signmag`` (sign-magnitude product converted in the lane) and
#: ``signmag_tree`` (sign-magnitude products, converted once after the adder tree); FP
#: ``standard``. See docs/lane-architectures.md. The sign-magnitude lanes serve the symmetric
#: INT formats: the code -2^(b-1), which those formats never produce, reads as 0 in them.
LANE_ARCHS = {"int": ("twos", "booth", "baugh_wooley", "signmag", "signmag_tree"),
              "fp": ("standard",)}
SIGNMAG_ARCHS = ("signmag", "signmag_tree")


@dataclass(frozen=True)
class DotSpec:
    """Every number that fixes a block unit's arithmetic (shared by the model and the RTL)."""

    fmt: BlockFormat
    lanes: int
    window: int | None        # FP: aligned magnitude width n; INT: None (exact products)
    lane_arch: str = "twos"   # one of LANE_ARCHS[elem.kind]

    @property
    def elem(self) -> ElementFormat:
        return self.fmt.element

    @property
    def is_fp(self) -> bool:
        return self.elem.kind == "fp"

    @property
    def scale(self) -> str:
        return self.fmt.scale.name          # "ue8m0" or "e4m3"

    @property
    def sig_bits(self) -> int:
        """FP: significand width y + 1 (hidden bit included)."""
        return self.elem.mbits + 1

    @property
    def product_bits(self) -> int:
        """Magnitude width of one lane product: 2(y+1) for FP, 2b (signed) for INT."""
        return 2 * self.sig_bits if self.is_fp else 2 * self.elem.bits

    @property
    def guard(self) -> int:
        """FP: window bits below the least significant bit of the largest product."""
        return self.window - self.product_bits

    @property
    def exp_bits(self) -> int:
        """FP: width of the biased exponent sum Ea + Eb (unsigned)."""
        return self.elem.ebits + 1

    @property
    def lane_bits(self) -> int:
        """Signed width of one adder-tree input."""
        return self.window + 1 if self.is_fp else self.product_bits

    @property
    def sum_bits(self) -> int:
        """Signed width of the adder-tree output (exact for every input)."""
        return self.lane_bits + int(math.log2(self.lanes))

    @property
    def scaled_bits(self) -> int:
        """Signed width after the dequantizer (E4M3 scales multiply an 8-bit significand in)."""
        return self.sum_bits + (8 if self.scale == "e4m3" else 0)

    @property
    def exp_offset(self) -> int:
        """Constant added to the data-dependent exponent terms (see docs/arithmetic.md)."""
        if self.is_fp:
            off = -2 * self.elem.bias - 2 * self.elem.mbits - self.guard
        else:
            off = -2 * (self.elem.bits - 2)
        if self.scale == "ue8m0":
            off -= 2 * UE8M0_BIAS
        else:
            off -= 2 * (E4M3_BIAS + 3)
        return off


def dot_spec(fmt, lanes: int | None = None, window: int | None = None,
             lane_arch: str | None = None) -> DotSpec:
    """Validate a block unit's parameters; ValueError names the bad parameter and the choices."""
    if isinstance(fmt, str) and _is_element_name(fmt):
        raise ValueError(f"fmt={fmt!r} is an element format without a block scale; the block units "
                         f"take a block format: {', '.join(block_format_names())}, or "
                         f"{FORMAT_GRAMMAR}")
    if is_grammar_name(fmt):
        bf = block_format(fmt)        # its own errors name the bad field
    else:
        try:
            bf = block_format(fmt)
        except ValueError:
            raise ValueError(f"unknown fmt {fmt!r}; allowed: {', '.join(block_format_names())}, "
                             f"or {FORMAT_GRAMMAR}") from None
    if bf.scale.name not in ("ue8m0", "e4m3") or not isinstance(bf.block_size, int):
        raise ValueError(f"unsupported fmt {fmt!r} (scale {bf.scale.name!r}); allowed: "
                         f"{', '.join(block_format_names())}")
    if lanes is None:
        lanes = bf.block_size
    if isinstance(lanes, bool) or not isinstance(lanes, (int, np.integer)) or lanes < 1 \
            or lanes & (lanes - 1) or lanes > MAX_LANES:
        raise ValueError(f"lanes must be a power of two from 1 to {MAX_LANES}, got {lanes!r}")
    elem = bf.element
    if elem.kind == "int":
        if window is not None:
            raise ValueError(f"window applies to FP elements only; INT element {elem.name!r} sums "
                             f"exact products (pass window=None)")
    else:
        if window is None:
            window = default_window(elem)
        min_w = 2 * (elem.mbits + 1)
        if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < min_w:
            raise ValueError(f"window must be an int >= {min_w} (one {elem.name} x {elem.name} "
                             f"significand product), got {window!r}")
        if window > MAX_WINDOW:
            raise ValueError(f"window must be <= {MAX_WINDOW} bits, got {window!r}")
        window = int(window)
    archs = LANE_ARCHS[elem.kind]
    lane_arch = archs[0] if lane_arch is None else lane_arch
    if lane_arch not in archs:
        raise ValueError(f"lane_arch {lane_arch!r} is not allowed for {elem.kind.upper()} "
                         f"element {elem.name!r}; allowed: {', '.join(archs)}")
    if lane_arch in SIGNMAG_ARCHS and elem.code_min < -((1 << (elem.bits - 1)) - 1):
        raise ValueError(f"lane_arch {lane_arch!r} needs a symmetric INT format (codes "
                         f"+-{(1 << (elem.bits - 1)) - 1}); {bf.name!r} has the code "
                         f"{elem.code_min}")
    return DotSpec(bf, int(lanes), window, lane_arch)


# -- lane level ---------------------------------------------------------------------------------

@dataclass
class LaneFields:
    sign: np.ndarray   # 0 / 1
    exp: np.ndarray    # biased exponent with the subnormal fix: max(e, 1)
    sig: np.ndarray    # significand with the hidden bit: (e > 0) << M | m
    zero: np.ndarray
    nan: np.ndarray
    inf: np.ndarray


def lane_fields(elem: ElementFormat, codes) -> LaneFields:
    """Split FP element codes into the fields the lane multiplier uses (int64 arrays)."""
    c = np.asarray(codes).astype(np.int64) & (elem.num_codes - 1)
    mag = c & (elem.sign_bit - 1)
    e = mag >> elem.mbits
    m = mag & ((1 << elem.mbits) - 1)
    nan = np.isin(mag, elem.nan_codes) if elem.nan_codes else np.zeros(c.shape, bool)
    inf = (mag == elem.inf_code) if elem.inf_code is not None else np.zeros(c.shape, bool)
    return LaneFields(sign=c >> (elem.bits - 1), exp=np.maximum(e, 1),
                      sig=np.where(e > 0, (1 << elem.mbits) | m, m), zero=mag == 0, nan=nan, inf=inf)


def _int_codes(elem: ElementFormat, codes) -> np.ndarray:
    c = np.asarray(codes).astype(np.int64) & (elem.num_codes - 1)
    return np.where(c >= elem.sign_bit, c - elem.num_codes, c)


@dataclass
class LaneProduct:
    """One lane multiplier's outputs. INT: ``product`` only. FP: the other fields."""

    product: np.ndarray | None = None   # INT: signed code product
    sign: np.ndarray | None = None
    exp: np.ndarray | None = None       # Ea + Eb (biased, subnormal-fixed exponents)
    sig: np.ndarray | None = None       # siga * sigb
    nan: np.ndarray | None = None       # NaN operand, or Inf x 0
    inf: np.ndarray | None = None       # Inf operand and not NaN


def lane_product(elem, a, b, lane_arch: str | None = None) -> LaneProduct:
    """The lane multiplier, element-wise over arrays of codes. ``lane_arch`` in
    :data:`SIGNMAG_ARCHS`: the sign-magnitude lanes' contract, the code -2^(b-1) (outside a
    symmetric INT format) has magnitude 0, so its products are 0."""
    elem = element_format(elem)
    if elem.kind == "int":
        prod = _int_codes(elem, a) * _int_codes(elem, b)
        if lane_arch in SIGNMAG_ARCHS:
            low, mod = 1 << (elem.bits - 1), 1 << elem.bits
            prod = np.where((np.asarray(a) % mod == low) | (np.asarray(b) % mod == low), 0, prod)
        return LaneProduct(product=prod)
    fa, fb = lane_fields(elem, a), lane_fields(elem, b)
    nan = fa.nan | fb.nan | (fa.inf & fb.zero) | (fb.inf & fa.zero)
    return LaneProduct(sign=fa.sign ^ fb.sign, exp=fa.exp + fb.exp, sig=fa.sig * fb.sig,
                       nan=nan, inf=(fa.inf | fb.inf) & ~nan)


# -- block dot product --------------------------------------------------------------------------

def _check_block_inputs(spec: DotSpec, a_codes, b_codes, a_scale, b_scale):
    a = np.asarray(a_codes)
    b = np.asarray(b_codes)
    if a.shape != b.shape or a.shape[-1:] != (spec.lanes,):
        raise ValueError(f"a_codes and b_codes must have the same shape (..., {spec.lanes}); "
                         f"got {a.shape} and {b.shape}")
    sa = np.broadcast_to(np.asarray(a_scale, dtype=np.int64), a.shape[:-1]) & 0xFF
    sb = np.broadcast_to(np.asarray(b_scale, dtype=np.int64), a.shape[:-1]) & 0xFF
    return a, b, sa, sb


def _scale_terms(spec: DotSpec, sa, sb):
    """(exponent term, significand product, sign, NaN) of the two block scales."""
    if spec.scale == "ue8m0":
        one = np.ones(sa.shape, np.int64)
        return sa + sb, one, np.zeros(sa.shape, np.int64), (sa == 0xFF) | (sb == 0xFF)
    e4m3 = ELEMENT_FORMATS["e4m3"]
    fa, fb = lane_fields(e4m3, sa), lane_fields(e4m3, sb)
    return fa.exp + fb.exp, fa.sig * fb.sig, fa.sign ^ fb.sign, fa.nan | fb.nan


def block_sum(spec: DotSpec, a_codes, b_codes):
    """Adder-tree output and block exponent: (S, e_blk, nan, inf, inf_sign) per block.

    The block value before scaling is S * 2^(e_blk + offset) with offset from the spec.
    """
    a, b = np.asarray(a_codes), np.asarray(b_codes)
    lp = lane_product(spec.elem, a, b, spec.lane_arch)
    if not spec.is_fp:
        s = lp.product.sum(-1)
        z = np.zeros(s.shape, bool)
        return s, np.zeros(s.shape, np.int64), z, z, np.zeros(s.shape, np.int64)
    emax = np.where(lp.sig == 0, 0, lp.exp).max(-1)      # zero products do not count
    d = np.clip(emax[..., None] - lp.exp, 0, 63)
    aligned = (lp.sig << spec.guard) >> d                  # truncation of the magnitude
    signed_lanes = np.where(lp.sign == 1, -aligned, aligned)
    if spec.sum_bits > 63:                                 # beyond int64: Python integers
        signed_lanes = signed_lanes.astype(object)
    s = signed_lanes.sum(-1)
    pos_inf = np.any(lp.inf & (lp.sign == 0), -1)
    neg_inf = np.any(lp.inf & (lp.sign == 1), -1)
    nan = np.any(lp.nan, -1) | (pos_inf & neg_inf)
    return s, emax, nan, (pos_inf | neg_inf) & ~nan, neg_inf.astype(np.int64)


def block_dot(fmt, a_codes, b_codes, a_scale, b_scale, window=None, *, lanes=None,
              lane_arch=None) -> np.ndarray:
    """FP32 bits of one block dot product per block, exactly as the RTL computes it.

    ``a_codes``, ``b_codes``: element codes, shape (..., k); ``a_scale``, ``b_scale``: scale
    codes, shape (...) (UE8M0 for MX, E4M3 for NV; the NV per-tensor FP32 scales are not part of
    the unit, see docs/arithmetic.md). ``window``: FP aligner width (default the study's rule).
    """
    a = np.asarray(a_codes)
    spec = dot_spec(fmt, a.shape[-1] if lanes is None else lanes, window, lane_arch)
    a, b, sa, sb = _check_block_inputs(spec, a, b_codes, a_scale, b_scale)
    s, e_blk, nan, inf, inf_sign = block_sum(spec, a, b)
    e_sc, p_sc, sign_sc, nan_sc = _scale_terms(spec, sa, sb)
    if spec.scaled_bits > 63:                              # beyond int64: Python integers
        s = np.asarray(s).astype(object)
    scaled = s * p_sc * np.where(sign_sc == 1, -1, 1)
    out = to_fp32(scaled, e_blk + e_sc + spec.exp_offset)
    inf_out = inf & (p_sc != 0)
    nan_out = nan | nan_sc | (inf & (p_sc == 0))
    inf_bits = np.uint32(FP32_INF) | ((inf_sign ^ sign_sc).astype(np.uint32) << np.uint32(31))
    out = np.where(inf_out, inf_bits, out)
    return np.where(nan_out, np.uint32(FP32_NAN), out).astype(np.uint32)


def _exact_parts(fmt, a_codes, b_codes, a_scale, b_scale, tensor_scale_a=1.0,
                 tensor_scale_b=1.0):
    """Exact block dot products as ``S * 2^X`` (``S`` integers: int64, or Python integers in
    an object array when they may not fit), plus ``special``: True where an element, block
    scale or tensor scale is NaN / Inf, whose IEEE float64 result is ``value``."""
    bf = block_format(fmt)
    elem = bf.element
    a, b = np.asarray(a_codes), np.asarray(b_codes)
    lp = lane_product(elem, a, b)
    if elem.kind == "int":
        sig, exp = lp.product, np.zeros(lp.product.shape, np.int64)
        exp0, span, pbits = -2 * (elem.bits - 2), 0, 2 * elem.bits
    else:
        sig = np.where(lp.sign == 1, -lp.sig, lp.sig)
        exp = lp.exp
        exp0 = -2 * elem.bias - 2 * elem.mbits
        span = 1 << (elem.ebits + 1)              # > the exponent-sum range 2^(x+1) - 4
        pbits = 2 * (elem.mbits + 1)
    k = max(a.shape[-1], 1)
    emin = np.where(sig == 0, np.iinfo(np.int64).max, exp).min(-1) if a.shape[-1] else \
        np.zeros(a.shape[:-1], np.int64)
    emin = np.where(emin == np.iinfo(np.int64).max, 0, emin)
    shift = np.where(sig == 0, 0, exp - emin[..., None])
    if span + pbits + k.bit_length() + 1 > 62:                 # e.g. E5M2: Python integers
        terms = sig.astype(object) * (2 ** shift.astype(object))
    else:
        terms = sig << shift
    s = terms.sum(-1)
    x = emin + exp0
    # block scales
    sa = np.broadcast_to(np.asarray(a_scale, dtype=np.int64), a.shape[:-1]) & 0xFF
    sb = np.broadcast_to(np.asarray(b_scale, dtype=np.int64), a.shape[:-1]) & 0xFF
    if bf.scale.name == "ue8m0":
        x = x + sa + sb - 2 * UE8M0_BIAS
        scale_nan = (sa == 0xFF) | (sb == 0xFF)
    else:
        e4m3 = ELEMENT_FORMATS["e4m3"]
        fa, fb = lane_fields(e4m3, sa), lane_fields(e4m3, sb)
        p = fa.sig * fb.sig * np.where(fa.sign ^ fb.sign, -1, 1)
        s = s * p
        x = x + fa.exp + fb.exp - 2 * (E4M3_BIAS + 3)
        scale_nan = fa.nan | fb.nan
    for t in (tensor_scale_a, tensor_scale_b):
        t = float(t)
        if math.isfinite(t) and t != 1.0:
            num, den = t.as_integer_ratio()                   # den is a power of two
            s = np.asarray(s).astype(object) * num
            x = x - (den.bit_length() - 1)
    table = elem.decode_table()
    with np.errstate(invalid="ignore", over="ignore"):
        prods = table[a.astype(np.int64) & (elem.num_codes - 1)] * \
            table[b.astype(np.int64) & (elem.num_codes - 1)]
        value = prods.sum(-1) * block_scale(bf, sa, sb) * tensor_scale_a * tensor_scale_b
    special = ~np.isfinite(prods).all(-1) | scale_nan | \
        (not math.isfinite(tensor_scale_a)) | (not math.isfinite(tensor_scale_b))
    return np.asarray(s), np.asarray(x), np.asarray(special), np.asarray(value)


def block_dot_exact(fmt, a_codes, b_codes, a_scale, b_scale, tensor_scale_a=1.0,
                    tensor_scale_b=1.0) -> np.ndarray:
    """Exact reference: the dot product of the decoded, scaled values, with no rounding at all.

    Returns an object array (one entry per block) of :class:`fractions.Fraction` (every value
    here is a dyadic rational: integer arithmetic on a common exponent per block), or of float
    NaN / +-Inf where an element, block scale or tensor scale is NaN / Inf (IEEE float64 rules
    for those). :func:`exact_to_fp32` rounds the result to FP32 correctly (once).
    """
    s, x, special, value = _exact_parts(fmt, a_codes, b_codes, a_scale, b_scale,
                                        tensor_scale_a, tensor_scale_b)
    out = np.empty(s.shape, object)
    flat = out.reshape(-1)
    for i, (si, xi, sp, v) in enumerate(zip(s.reshape(-1), x.reshape(-1), special.reshape(-1),
                                            value.reshape(-1))):
        if sp:
            flat[i] = float(v)
        else:
            si, xi = int(si), int(xi)
            flat[i] = Fraction(si << xi) if xi >= 0 else Fraction(si, 1 << -xi)
    return out


def exact_to_fp32(values) -> np.ndarray:
    """FP32 bits of exact values (e.g. :func:`block_dot_exact`), correctly rounded once (RNE,
    gradual underflow, Inf on overflow; an exact zero is +0; NaN canonical). Entries are
    dyadic rationals (``Fraction``, ``int``) or floats."""
    v = np.asarray(values, dtype=object)
    out = np.empty(v.shape, np.uint32)
    flat = out.reshape(-1)
    for i, e in enumerate(v.reshape(-1)):
        if isinstance(e, (float, np.floating)):
            flat[i] = f32_to_bits(np.float32(e)) if not math.isfinite(e) else \
                _fp32_bits_exact(*_dyadic(Fraction(float(e))))
        else:
            flat[i] = _fp32_bits_exact(*_dyadic(Fraction(e)))
    return out


def _dyadic(q: Fraction) -> tuple[int, int]:
    """(s, x) with q = s * 2^x, for a rational whose denominator is a power of two."""
    den = q.denominator
    if den & (den - 1):
        raise ValueError(f"{q} is not a dyadic rational")
    return q.numerator, -(den.bit_length() - 1)


def block_scale(fmt, a_scale, b_scale) -> np.ndarray:
    """float64 product of the two block scales (NaN for a NaN scale code)."""
    bf = block_format(fmt)
    sa = np.asarray(a_scale).astype(np.int64) & 0xFF
    sb = np.asarray(b_scale).astype(np.int64) & 0xFF
    if bf.scale.name == "ue8m0":
        return np.where((sa == 0xFF) | (sb == 0xFF), np.nan, np.ldexp(1.0, sa + sb - 2 * UE8M0_BIAS))
    t = ELEMENT_FORMATS["e4m3"].decode_table()
    return t[sa] * t[sb]


def accumulate(block_bits, init=None, axis: int = -1, first=None, valid=None) -> np.ndarray:
    """The FP32 accumulator: sequential RNE sums of block results along ``axis``.

    Returns the accumulator after every step (same shape as ``block_bits``): ``acc[j] =
    fp32_add(acc[j-1], r[j])`` with ``acc[-1] = init`` (default +0.0); where ``first[j]`` is
    true the sum restarts: ``acc[j] = fp32_add(+0.0, r[j])``; where ``valid[j]`` is false the
    accumulator holds. The last entry is the final sum.
    """
    r = np.moveaxis(np.asarray(block_bits, dtype=np.uint32), axis, -1)
    f = None if first is None else np.moveaxis(np.broadcast_to(np.asarray(first, bool),
                                                                 np.shape(block_bits)), axis, -1)
    v = None if valid is None else np.moveaxis(np.broadcast_to(np.asarray(valid, bool),
                                                                 np.shape(block_bits)), axis, -1)
    acc = np.zeros(r.shape[:-1], np.uint32) if init is None else \
        np.broadcast_to(np.asarray(init, np.uint32), r.shape[:-1]).copy()
    out = np.empty(r.shape, np.uint32)
    for j in range(r.shape[-1]):
        nxt = fp32_add(acc if f is None else np.where(f[..., j], np.uint32(0), acc), r[..., j])
        acc = nxt if v is None else np.where(v[..., j], nxt, acc)
        out[..., j] = acc
    return np.moveaxis(out, -1, axis)


def int_accumulate(values, first=None, acc_bits: int = 32, valid=None) -> np.ndarray:
    """The INT accumulator along the last axis: running sums of ``values`` (restarting where
    ``first``), wrapped to signed ``acc_bits`` two's complement after every step; where
    ``valid[j]`` is false the accumulator holds (``first`` is ignored there)."""
    v = np.asarray(values, dtype=np.int64)
    if valid is not None:
        ok = np.broadcast_to(np.asarray(valid, bool), v.shape)
        v = np.where(ok, v, 0)
        if first is not None:
            first = np.broadcast_to(np.asarray(first, bool), v.shape) & ok
    if v.shape[-1] and np.abs(v).max(initial=0) * v.shape[-1] >= 1 << 62:
        raise ValueError("int_accumulate: running sums must stay below 2^62")
    total = np.cumsum(v, axis=-1)
    if first is not None:
        f = np.broadcast_to(np.asarray(first, bool), v.shape)
        idx = np.arange(v.shape[-1])
        start = np.maximum.accumulate(np.where(f, idx, 0), axis=-1)   # last restart position
        before = np.take_along_axis(total - v, start, axis=-1)       # sum before that restart
        total = total - before
    mod = 1 << acc_bits
    r = total % mod
    return np.where(r >= mod >> 1, r - mod, r)


# -- scalar MAC ---------------------------------------------------------------------------------

def scalar_mac_product(elem, a, b) -> np.ndarray:
    """The scalar MAC's product path. INT: the signed code product (int64). FP: the exact product
    a * b as FP32 bits (every E4M3 / E5M2 / FP6 / FP4 product is exact in FP32; a zero product
    has the sign sa ^ sb, as in IEEE multiplication)."""
    elem = element_format(elem)
    lp = lane_product(elem, a, b)
    if elem.kind == "int":
        return lp.product
    val = np.where(lp.sign == 1, -lp.sig, lp.sig)
    out = to_fp32(val, lp.exp - 2 * elem.bias - 2 * elem.mbits)
    out = np.where(lp.sig == 0, lp.sign.astype(np.uint32) << np.uint32(31), out)   # IEEE: -0 * x = -0
    out = np.where(lp.inf, np.uint32(FP32_INF) | (lp.sign.astype(np.uint32) << np.uint32(31)), out)
    return np.where(lp.nan, np.uint32(FP32_NAN), out).astype(np.uint32)


def scalar_mac(elem, a, b, acc, acc_bits: int = 32) -> np.ndarray:
    """One MAC step ``acc + a * b``. INT: ``acc`` is a signed ``acc_bits`` integer and the sum
    wraps modulo 2^acc_bits (two's complement). FP: ``acc`` is FP32 bits and the result is the
    FP32 sum of the exact product and acc, rounded once (RNE)."""
    elem = element_format(elem)
    p = scalar_mac_product(elem, a, b)
    if elem.kind == "int":
        mod = 1 << acc_bits
        r = (np.asarray(acc, dtype=np.int64) + p) % mod
        return np.where(r >= mod >> 1, r - mod, r)
    return fp32_add(acc, p)


# -- accuracy of the hardware arithmetic --------------------------------------------------------

def _test_values(dist: str, shape, rng) -> np.ndarray:
    if dist == "gaussian":
        return rng.standard_normal(shape)
    if dist == "heavy":       # Student-t(1.5) with a random magnitude per block: outliers
        return rng.standard_t(1.5, shape) * 10.0 ** rng.uniform(-2, 2, shape[:-1] + (1,))
    raise ValueError(f"dist must be 'gaussian' or 'heavy', got {dist!r}")


def dot_error(fmt, window=None, n: int = 4096, seed: int = 0, dist: str = "gaussian") -> dict:
    """Error of :func:`block_dot` against exact arithmetic on ``n`` quantized random blocks.

    Values are drawn from ``dist`` and quantized with :func:`intfp.models.quantize_codes`; the
    reference is the exact dot product of the decoded, scaled elements (:func:`block_dot_exact`,
    integer arithmetic, no rounding). Returns ``correctly_rounded`` (share of blocks where the
    hardware result equals the correctly rounded FP32 of the exact value, :func:`exact_to_fp32`),
    ``mean_rel`` / ``max_rel`` (|hw - exact| / |exact| over blocks with exact != 0, computed
    exactly, then rounded to float) and ``max_norm`` (max |hw - exact| / sum_i |a_i b_i|, the
    error relative to the block's magnitude, immune to cancellation).
    """
    from .blocks import quantize_codes

    spec = dot_spec(fmt, None, window)
    rng = np.random.default_rng(seed)
    k = spec.lanes
    qa = quantize_codes(_test_values(dist, (n, k), rng).astype(np.float32), spec.fmt, block_size=k)
    qb = quantize_codes(_test_values(dist, (n, k), rng).astype(np.float32), spec.fmt, block_size=k)
    a, b = qa.codes.reshape(n, k), qb.codes.reshape(n, k)
    sa, sb = qa.scale_codes.reshape(n), qb.scale_codes.reshape(n)
    got_bits = block_dot(spec.fmt, a, b, sa, sb, spec.window)
    got = bits_to_f32(got_bits).astype(np.float64)
    exact = block_dot_exact(spec.fmt, a, b, sa, sb)
    rne = bits_to_f32(exact_to_fp32(exact)).astype(np.float64)
    table = spec.elem.decode_table()
    mag = (np.abs(table[a.astype(np.int64)] * table[b.astype(np.int64)]).sum(-1)
           * np.abs(block_scale(spec.fmt, sa, sb)))
    err = np.empty(n, np.float64)          # |hw - exact|, exact then rounded
    rel = np.zeros(n, np.float64)          # |hw - exact| / |exact|
    nz = np.zeros(n, bool)
    for i, (g, e) in enumerate(zip(got, exact)):
        if isinstance(e, Fraction) and math.isfinite(g):
            d = abs(Fraction(float(g)) - e)
            err[i] = float(d)
            if e != 0:
                nz[i], rel[i] = True, float(d / abs(e))
        else:
            err[i] = abs(g - float(e))
            if float(e) != 0:
                nz[i], rel[i] = True, err[i] / abs(float(e))
    return {
        "fmt": spec.fmt.name, "window": spec.window, "blocks": n, "dist": dist,
        "correctly_rounded": float(np.mean(got == rne)),
        "mean_rel": float(np.mean(rel[nz])) if nz.any() else 0.0,
        "max_rel": float(np.max(rel[nz])) if nz.any() else 0.0,
        "max_norm": float(np.max(np.where(mag > 0, err / np.where(mag > 0, mag, 1), 0))),
    }


def exact_window(elem) -> int:
    """Aligner width that holds every aligned product exactly: 2^(x+1) + 2y - 2 bits (the
    exponent sum spans 2^(x+1) - 4 binades, plus one 2(y+1)-bit significand product). Only the
    widths up to :data:`MAX_WINDOW` can be built: E4M3 36, E3M2 18, E2M3 12, E2M1 8; E5M2 would
    need 66."""
    elem = element_format(elem)
    if elem.kind != "fp":
        raise ValueError(f"the alignment window applies to FP elements only, not {elem.name!r}")
    return 2 ** (elem.ebits + 1) + 2 * elem.mbits - 2


def default_windows(fmt) -> list[int | None]:
    """Aligner widths :func:`accuracy_table` sweeps: one product, 12 .. 32 bits, the study's
    default and the widest useful window: :func:`exact_window` where it can be built, else
    :data:`MAX_WINDOW` (E5M2: 48 bits, which still truncates products more than 42 binades
    below the block's largest one)."""
    spec = dot_spec(fmt)
    if not spec.is_fp:
        return [None]
    top = min(exact_window(spec.elem), MAX_WINDOW)
    ws = {spec.product_bits, 12, 16, 20, 24, 32, spec.window, top}
    return sorted(w for w in ws if spec.product_bits <= w <= max(top, spec.window))


def accuracy_table(formats=None, n: int = 4096, seed: int = 0) -> list[dict]:
    """:func:`dot_error` for every format and window of :func:`default_windows`, Gaussian and
    heavy-tailed data (``intfp rtl accuracy`` prints it)."""
    rows = []
    for fmt in formats or list(PRESETS):
        for w in default_windows(fmt):
            g = dot_error(fmt, w, n, seed, "gaussian")
            h = dot_error(fmt, w, n, seed, "heavy")
            rows.append({"fmt": g["fmt"], "window": w, "default": w == dot_spec(fmt).window,
                         "gaussian": g, "heavy": h})
    return rows
