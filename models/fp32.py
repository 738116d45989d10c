"""FP32 bit-level arithmetic of the hardware model (:mod:`intfp.models.hwmodel`): conversions
between float32 values and bit patterns, exact rounding of an integer times a power of two to
FP32 (round to nearest even, gradual underflow, overflow to Inf) and IEEE float32 addition.
Results are ``uint32`` bit patterns so NaN, Inf, signed zero and subnormals compare exactly."""
from __future__ import annotations

import numpy as np

__all__ = ["FP32_NAN", "FP32_INF", "bits_to_f32", "f32_to_bits", "to_fp32", "fp32_add"]

FP32_NAN = 0x7FC00000          # the one NaN the hardware produces (quiet, positive, no payload)
FP32_INF = 0x7F800000


def bits_to_f32(bits) -> np.ndarray:
    return np.asarray(bits, dtype=np.uint32).view(np.float32)


def f32_to_bits(x) -> np.ndarray:
    """float32 bit patterns, every NaN replaced by the canonical :data:`FP32_NAN`."""
    x = np.asarray(x, dtype=np.float32)
    return np.where(np.isnan(x), np.uint32(FP32_NAN), x.view(np.uint32)).astype(np.uint32)


def _fp32_bits_exact(s: int, x: int) -> int:
    """FP32 bits of the exact value s * 2^x for one Python integer ``s`` (any size): the
    rounding of :func:`to_fp32`, in Python integer arithmetic."""
    s, x = int(s), int(x)
    if s == 0:
        return 0
    sign, m = (1 << 31) if s < 0 else 0, abs(s)
    q = max(x + m.bit_length() - 24, -149)          # exponent of the result's last bit
    r = q - x                                       # bits below that last bit
    if r <= 0:
        mant = m << -r
    else:
        mant, rem, half = m >> r, m & ((1 << r) - 1), 1 << (r - 1)
        if rem > half or (rem == half and mant & 1):
            mant += 1                               # round to nearest, ties to even
    if q + 149 >= 255:
        return sign | FP32_INF
    return sign | min(((q + 149) << 23) + mant, FP32_INF)


def _bit_length(m: np.ndarray) -> np.ndarray:
    """Exact bit length of uint64 values (0 for 0)."""
    n = np.zeros(m.shape, np.int64)
    v = m.copy()
    for sh in (32, 16, 8, 4, 2, 1):
        big = (v >> np.uint64(sh)) != 0
        v = np.where(big, v >> np.uint64(sh), v)
        n += np.where(big, sh, 0)
    return n + (v != 0)


_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1


def to_fp32(s, x) -> np.ndarray:
    """The normalizer: FP32 bits of the exact value s * 2^x (RNE, gradual underflow, Inf on
    overflow, +0 for s = 0, a value that underflows to zero keeps its sign).

    ``s`` are integers of any size, ``x`` integer exponents. Exact integer rounding: vectorized
    on int64 where every ``s`` fits, Python integers (object arrays) otherwise.
    """
    s = np.asarray(s)
    x = np.broadcast_to(np.asarray(x), s.shape) if s.shape else np.asarray(x)
    if s.dtype.kind not in "iub" or (s.dtype == np.uint64 and s.size and s.max() > _I64_MAX):
        flat = s.reshape(-1)
        if all(_I64_MIN <= int(v) <= _I64_MAX for v in flat):
            s = np.array([int(v) for v in flat], np.int64).reshape(s.shape)
        else:
            xs = np.broadcast_to(x, s.shape).reshape(-1)
            out = [_fp32_bits_exact(v, e) for v, e in zip(flat, xs)]
            return np.array(out, np.uint32).reshape(s.shape)
    s = s.astype(np.int64)
    s, x = np.broadcast_arrays(s, np.asarray(x).astype(np.int64))
    neg = s < 0
    m = s.astype(np.uint64)
    m = np.where(neg, np.uint64(0) - m, m)            # |s|, exact also for -2^63
    q = np.maximum(x + _bit_length(m) - 24, -149)     # exponent of the result's last bit
    r = q - x                                         # bits below it (<= 0: exact)
    left = np.clip(-r, 0, 63).astype(np.uint64)
    rr = np.clip(r, 1, 64).astype(np.uint64)          # 1 .. 64 bits to drop
    head = m >> (rr - np.uint64(1))                   # keeps the round bit
    mant = head >> np.uint64(1)
    rnd = head & np.uint64(1)
    sticky = (m & ((np.uint64(1) << (rr - np.uint64(1))) - np.uint64(1))) != 0
    up = (rnd == 1) & (sticky | ((mant & np.uint64(1)) == 1))     # nearest, ties to even
    mant = mant + up.astype(np.uint64)
    mant = np.where(r <= 0, m << left, np.where(r > 64, np.uint64(0), mant))
    qc = np.clip(q, -149, 200)
    bits = ((qc + 149) << 23) + mant.astype(np.int64)
    bits = np.where((q + 149 >= 255) | (bits >= FP32_INF), FP32_INF, bits)
    bits = np.where(m == 0, 0, bits | (neg.astype(np.int64) << 31))
    return bits.astype(np.uint32)


def fp32_add(x_bits, y_bits) -> np.ndarray:
    """IEEE-754 binary32 addition, round to nearest even, canonical NaN."""
    with np.errstate(over="ignore", invalid="ignore"):
        return f32_to_bits(bits_to_f32(x_bits) + bits_to_f32(y_bits))
