"""Block quantization: MX (UE8M0 power-of-two scales), NV (E4M3 x FP32 two-level scales),
per-channel / per-tensor FP32 scales and direct casts, as one vectorized path.

Public API (stable; see ``docs/formats.md`` for every rule and edge case):

* :func:`quantize` returns fake-quantized values (dequantized, float32, same shape).
* :func:`quantize_codes` returns the element codes and block scales the hardware consumes,
  as a :class:`BlockCodes`; ``BlockCodes.dequantize()`` equals :func:`quantize` bit for bit.

Scale rules (a block's scale exponent for UE8M0):

* ``floor``: OCP MX v1.0 / Rouhani et al. 2023 (arXiv 2310.10537) Alg. 1 / microxcaling /
  torchao ``ScaleCalculationMode.FLOOR``: 2^(floor(log2 amax) - emax_elem); elements saturate.
* ``ceil``: the study (arXiv 2510.25602, Eq. 7 and 9), cuBLAS / torchao ``RCEIL``:
  2^ceil(log2(amax / max_elem)), so the block max never clips.
* ``nv``: NVFP4 as torchao ``nvfp4_quantize`` (two-level scaling): tensor scale
  t = amax_tensor / (448 * max_elem) in FP32; block scale E4M3(clamp(amax_b / max_elem / t,
  2^-6, 448)); elements x * ((1 / t) / s_b), clamped and rounded to nearest even.

Both exponents are computed exactly from the float's bits (``frexp``), never from a float log2.

:func:`quantize` with ``rounding="even"`` (the default) runs the kernels of
:mod:`intfp.models.qkernels` (one C loop per block when built with ``python -m
intfp.models.qkernel_build``, else torch in-place ops; cache-sized chunks on one worker per
torch thread),
which give the same bits as the reference path here with fewer memory passes
(``tests/test_quantize_kernels.py`` compares them). The reference path runs everything else
(codes, ``away`` / ``stochastic`` rounding) in cache-sized chunks of rows on a small thread
pool (numpy releases the GIL in its ufuncs).
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import qkernels
from .elements import check_rounding, decode, encode, round_to_grid
from .formats import PER_CHANNEL, PER_TENSOR, UE8M0_BIAS, UE8M0_NAN, BlockFormat, block_format
from .scales import _E4M3, _block_amax, _pow2, _scales_for, nv_tensor_scale

__all__ = ["quantize", "quantize_codes", "BlockCodes", "resolve"]

# Elements per pool task (2 MiB of float32). Large enough that the GIL-holding Python between
# numpy calls is a small share of the work: with small chunks the two pool threads convoy on
# the GIL and run slower than one thread (measured: 32k elements 55 M/s pooled vs 92 M/s serial).
_CHUNK_ELEMS = 1 << 19

# --------------------------------------------------------------------------------------------
# Resolving and validating arguments
# --------------------------------------------------------------------------------------------
def resolve(fmt, block_size=None, scale_rule=None) -> tuple[BlockFormat, str]:
    """The :class:`BlockFormat` and scale rule that a (fmt, block_size, scale_rule) call means."""
    bf = block_format(fmt, block_size=block_size)
    rule = bf.default_rule if scale_rule is None else str(scale_rule).lower()
    if rule not in bf.scale.rules:
        raise ValueError(f"scale_rule {scale_rule!r} does not apply to {bf.name} "
                         f"({bf.scale.name} scales); allowed: {', '.join(bf.scale.rules)}")
    return bf, rule


_ALLOWED_DTYPES = "float16, bfloat16, float32 or float64"
_F32_MAX = float(np.finfo(np.float32).max)


def _to_numpy(x):
    """float32 numpy copy/view of ``x`` (shape kept, 0-d included) and a function that converts
    a result back to ``x``'s kind.

    float64 values beyond float32's range saturate to +-FLT_MAX (they are finite; casting would
    make them Inf and poison their block). Every block format saturates them anyway: no
    element max times a UE8M0 / E4M3 x FP32 scale exceeds FLT_MAX.
    """
    import torch

    if isinstance(x, torch.Tensor):
        if not x.is_floating_point():
            raise ValueError(f"quantize needs a floating-point tensor, got dtype {x.dtype}; "
                             f"allowed: {_ALLOWED_DTYPES}")
        device, t = x.device, x.detach()
        if t.dtype == torch.float64:
            t = t.clamp(-_F32_MAX, _F32_MAX)       # clamp keeps NaN
        arr = t.to(device="cpu", dtype=torch.float32).contiguous().numpy()
        return arr, lambda a: torch.from_numpy(a).to(device)
    arr = np.asarray(x)
    if arr.dtype.kind != "f":
        raise ValueError(f"quantize needs floating-point input, got dtype {arr.dtype}; allowed: "
                         f"{_ALLOWED_DTYPES} (cast integers explicitly)")
    if arr.dtype == np.float64:
        arr = np.clip(arr, -_F32_MAX, _F32_MAX)     # np.clip keeps NaN
    return np.require(arr, dtype=np.float32, requirements="C"), lambda a: a


@dataclass
class _Layout:
    """The input as a 2-D (rows, k) array of blocks, and how to undo that."""
    x2d: np.ndarray
    shape: tuple            # original shape
    axis: int
    lead: tuple             # shape of all axes but `axis`, in moved order
    length: int             # length of `axis`
    k: int
    nblocks: int            # blocks per row of the original axis

    def restore(self, a2d: np.ndarray) -> np.ndarray:
        a = a2d.reshape(*self.lead, self.nblocks * self.k)[..., :self.length]
        return np.ascontiguousarray(np.moveaxis(a, -1, self.axis))


def _layout(arr: np.ndarray, bf: BlockFormat, axis: int, pad: bool) -> _Layout:
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if not -arr.ndim <= axis < arr.ndim:
        raise ValueError(f"axis {axis} is out of range for an input of shape {arr.shape}")
    axis %= arr.ndim
    moved = np.moveaxis(arr, axis, -1)
    length = moved.shape[-1]
    if bf.block_size in (PER_CHANNEL, PER_TENSOR):
        k = max(length, 1)
    else:
        k = bf.block_size
    nblocks = -(-length // k) if length else 0
    if length % k:
        if not pad:
            raise ValueError(f"axis {axis} has length {length}, not a multiple of block size {k} "
                             f"of {bf.name}; pass pad=True to zero-pad the last block")
        padded = np.zeros((*moved.shape[:-1], nblocks * k), dtype=np.float32)
        padded[..., :length] = moved
        moved = padded
    x2d = np.ascontiguousarray(moved).reshape(-1, k)
    return _Layout(x2d, arr.shape, axis, moved.shape[:-1], length, k, nblocks)


# --------------------------------------------------------------------------------------------
# Scales
# --------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)),
                              thread_name_prefix="intfp-quantize")


# A forked child inherits the executor object but none of its threads: start a new one there.
os.register_at_fork(after_in_child=_pool.cache_clear)


def _chunks(rows: int, k: int):
    step = max(1, _CHUNK_ELEMS // max(k, 1))
    return [(i, min(i + step, rows)) for i in range(0, rows, step)]


def _map_chunks(fn, rows, k):
    spans = _chunks(rows, k)
    if len(spans) <= 1:
        return [fn(i, *span) for i, span in enumerate(spans)]
    return list(_pool().map(lambda a: fn(a[0], *a[1]), enumerate(spans)))


def _run(lay: _Layout, bf: BlockFormat, rule: str, rounding: str, seed,
         want_codes: bool, fast: bool = False
         ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, float | None]:
    """Quantize every row of ``lay.x2d``; return (values2d, codes2d, scale_codes, tensor_scale).

    ``fast``: values only (codes, scale codes and tensor scale None) from
    :mod:`~intfp.models.qkernels` where it applies; the same bits as the reference path.
    """
    elem, x2d = bf.element, lay.x2d
    if fast and not want_codes and qkernels.applies(bf, rounding) and (
            bf.scale.name != "none" or np.isfinite(x2d).all()):   # direct-cast specials: below
        return qkernels.quantize_values(x2d, bf, rule), None, None, None
    rows, k = x2d.shape
    out = np.empty_like(x2d)
    codes = np.empty(x2d.shape, dtype=np.uint8) if want_codes else None
    # Stochastic rounding: one U[0, 1) number per element of the (padded) layout, drawn at once,
    # so the result depends on (x, fmt, seed) only, not on how the work is chunked.
    uniforms = (np.random.default_rng(seed).random(x2d.shape, dtype=np.float32)
                if rounding == "stochastic" else None)

    if bf.scale.name == "none":
        return _direct_cast(x2d, elem, rounding, uniforms, out, codes)

    # Scales that need the whole tensor first (NV, per-tensor) take one extra read pass.
    global_amax = None
    tensor_scale = None
    if bf.scale.name == "e4m3" or bf.block_size == PER_TENSOR:
        block_amax = np.concatenate(_map_chunks(lambda i, a, b: _block_amax(x2d[a:b]), rows, k)) \
            if rows else np.zeros(0, np.float32)
        finite = block_amax[np.isfinite(block_amax)]
        amax_t = np.float32(finite.max()) if finite.size else np.float32(0)
        if bf.scale.name == "e4m3":
            tensor_scale = nv_tensor_scale(amax_t, elem)
        if bf.block_size == PER_TENSOR:
            # One scale for everything; a NaN anywhere makes the (single) block NaN.
            any_nan = finite.size != block_amax.size
            global_amax = np.float32(np.nan) if any_nan else amax_t

    scale_codes = np.empty(rows, dtype=np.float32 if bf.scale.name == "fp32" else np.uint8)

    def work(i, a, b):
        xc, oc = x2d[a:b], out[a:b]
        amax = _block_amax(xc) if global_amax is None else np.full(b - a, global_amax, np.float32)
        sc = _scales_for(amax, bf, rule, tensor_scale)
        if sc.inv is not None:
            np.multiply(xc, sc.inv[:, None], out=oc)
        else:
            np.divide(xc, sc.mul[:, None], out=oc)      # FP32 scale: x / s, as the study's Eq. 1
        u = None if uniforms is None else uniforms[a:b]
        round_to_grid(oc, elem, rounding, u, out=oc)
        if codes is not None:
            oc_clean = np.where(sc.nan_rows[:, None], 0, oc) if sc.nan_rows.any() else oc
            codes[a:b] = encode(oc_clean, elem)
            if sc.nan_rows.any():
                codes[a:b][sc.nan_rows] = elem.nan_codes[0] if elem.has_nan else 0
        oc *= sc.mul[:, None]
        if sc.nan_rows.any():
            oc[sc.nan_rows] = np.nan
        scale_codes[a:b] = sc.codes

    def work_quietly(i, a, b):
        # np.errstate is per thread: set it where the work runs. Overflow and invalid values
        # only arise in NaN/Inf blocks, whose results are then overwritten with NaN.
        with np.errstate(invalid="ignore", over="ignore"):
            work(i, a, b)

    _map_chunks(work_quietly, rows, k)
    if bf.block_size == PER_TENSOR:
        scale_codes = scale_codes[:1]
    return out, codes, scale_codes, (None if tensor_scale is None else float(tensor_scale))


def _direct_cast(x2d, elem, rounding, uniforms, out, codes):
    """No scale: round each value onto the element grid; specials only where encodable."""
    finite = np.isfinite(x2d)
    if not finite.all():
        bad = x2d[~finite]
        nan, inf = np.isnan(bad), np.isinf(bad)
        if nan.any() and not elem.has_nan:
            raise ValueError(f"input has NaN, which {elem.name} cannot encode "
                             f"(formats with NaN: e4m3, e5m2); use a block format, whose scale marks NaN blocks")
        if inf.any() and not elem.has_inf:
            raise ValueError(f"input has {bad[inf][0]}, which {elem.name} cannot encode "
                             "(only e5m2 has Inf); clip the input or use a block format")
    src = np.where(finite, x2d, 0) if not finite.all() else x2d
    with np.errstate(over="ignore"):               # huge values saturate
        round_to_grid(src, elem, rounding, uniforms, out=out)
    if not finite.all():
        out[~finite] = x2d[~finite]
    if codes is not None:
        codes[...] = encode(out, elem)
    return out, codes, None, None


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------
def quantize(x, fmt, *, block_size=None, scale_rule=None, rounding="even", axis=-1, seed=None,
             pad=True):
    """Fake-quantize ``x`` to a block format: the values a consumer of the codes would see.

    Args:
        x: numpy array or torch tensor of floats (cast to float32 first). numpy in -> numpy out,
            torch in -> torch out (same device; no autograd: use a straight-through estimator).
        fmt: a preset (``mxfp8_e4m3``, ``mxint8``, ``nvfp4``, ...; aliases ``mxfp8``, ``mxfp6``,
            ``mxfp4``; an ``_asym`` suffix on INT formats allows code -2^(b-1)), an element
            format name (``e4m3``, ``int8``, ...: a direct cast unless ``block_size`` is given),
            or a :class:`~intfp.models.formats.BlockFormat`.
        block_size: override the format's block size: a positive int, ``-1`` / ``"channel"``
            (one scale per row along ``axis``) or ``"tensor"`` (one scale for all).
        scale_rule: ``None`` for the format's own rule (``floor`` for UE8M0 scales, ``nv`` for
            E4M3 scales, ``exact`` for FP32 scales), or ``"ceil"`` (the study's rule).
        rounding: ``"even"`` (ties to even), ``"away"`` (ties away from zero, microxcaling's
            "nearest") or ``"stochastic"`` (needs ``seed``).
        axis: the axis blocks run along (the GEMM reduction axis).
        seed: seed of stochastic rounding.
        pad: zero-pad a last partial block (default); ``False`` makes it an error.

    Returns:
        float32 values, same shape as ``x``. A block holding NaN or Inf is all NaN.
    """
    return _quantize(x, fmt, block_size=block_size, scale_rule=scale_rule, rounding=rounding,
                     axis=axis, seed=seed, pad=pad, fast=True)


def _quantize(x, fmt, *, block_size, scale_rule, rounding, axis, seed, pad, fast):
    """:func:`quantize`; ``fast=False`` forces the reference path (tests compare the two)."""
    bf, rule = resolve(fmt, block_size, scale_rule)
    check_rounding(rounding, seed)
    arr, back = _to_numpy(x)
    lay = _layout(arr, bf, axis, pad)
    vals, _, _, _ = _run(lay, bf, rule, rounding, seed, want_codes=False, fast=fast)
    return back(lay.restore(vals).reshape(arr.shape))


@dataclass
class BlockCodes:
    """What the hardware consumes: element codes and block scales.

    ``codes``: uint8, shape ``(*lead, nblocks, k)``: the quantized axis moved last, padded to a
    multiple of ``k`` and split into blocks. ``scale_codes``: per block, shape
    ``(*lead, nblocks)``: UE8M0 codes (value 2^(c-127), 0xFF NaN) or E4M3 codes (NV; value
    times ``tensor_scale``); float32 scale values for FP32 scales; shape ``(1,)`` for a
    per-tensor scale; ``None`` for a direct cast.
    """

    fmt: BlockFormat
    scale_rule: str
    codes: np.ndarray
    scale_codes: np.ndarray | None
    tensor_scale: float | None
    shape: tuple
    axis: int

    @property
    def block_scales(self) -> np.ndarray:
        """float32 value of each block's scale (the factor that multiplies decoded elements)."""
        sc = self.fmt.scale.name
        if sc == "ue8m0":
            s = self.scale_codes.astype(np.int32) - UE8M0_BIAS
            return np.where(self.scale_codes == UE8M0_NAN, np.float32(np.nan), _pow2(s))
        if sc == "e4m3":
            return (decode(self.scale_codes, _E4M3) * np.float32(self.tensor_scale)).astype(np.float32)
        if sc == "fp32":
            return self.scale_codes
        return np.ones(self.codes.shape[:-1], dtype=np.float32)

    def dequantize(self) -> np.ndarray:
        """float32 values in the original shape; equal to :func:`quantize` bit for bit."""
        vals = decode(self.codes, self.fmt.element)
        scales = self.block_scales
        if self.fmt.scale.name != "none":
            if scales.shape == (1,) and self.codes.ndim > 1:        # per-tensor
                scales = scales.reshape((1,) * (self.codes.ndim - 1))
            vals = vals * scales[..., None]
        moved_len = self.shape[self.axis] if self.shape else 1
        lead = vals.shape[:-2]
        flat = vals.reshape(*lead, vals.shape[-2] * vals.shape[-1])[..., :moved_len]
        if not self.shape:                         # 0-d input
            return flat.reshape(())
        return np.ascontiguousarray(np.moveaxis(flat, -1, self.axis)).reshape(self.shape)


def quantize_codes(x, fmt, *, block_size=None, scale_rule=None, rounding="even", axis=-1,
                   seed=None, pad=True) -> BlockCodes:
    """Like :func:`quantize`, but return the element codes and block scales (numpy)."""
    bf, rule = resolve(fmt, block_size, scale_rule)
    check_rounding(rounding, seed)
    arr, _ = _to_numpy(x)
    lay = _layout(arr, bf, axis, pad)
    _, codes, scale_codes, tensor_scale = _run(lay, bf, rule, rounding, seed, want_codes=True)
    lead = lay.lead
    codes = codes.reshape(*lead, lay.nblocks, lay.k)
    if scale_codes is not None and bf.block_size != PER_TENSOR:
        scale_codes = scale_codes.reshape(*lead, lay.nblocks)
    return BlockCodes(bf, rule, codes, scale_codes, tensor_scale, tuple(arr.shape), lay.axis)
