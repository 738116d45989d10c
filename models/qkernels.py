"""Fast fake-quantization kernels: :func:`intfp.models.quantize` values in few memory passes.

The reference path (``blocks._run``, ``elements.round_to_grid``) spends about a dozen numpy
passes per element. This module computes the same float32 results bit for bit (checked against
the reference on adversarial inputs for every preset in ``tests/test_quantize_kernels.py``)
with fewer, cheaper passes, all torch in-place ops on cache-resident chunks:

* Round half to even by the "magic number" addition: for ``|v| < 2^(k-1)`` the float32 sum
  ``v + 1.5 * 2^k`` has ulp ``2^(k-23)``, so the FPU's own round-to-nearest-even puts it on
  the grid of step ``2^(k-23)``, and subtracting the constant again is exact. The constant is a
  multiple of twice the step, so ties go to even multiples of the step for both signs (this is
  the classic ``x + 1.5 * 2^52 - 1.5 * 2^52`` rint of doubles, scaled). For an FP element
  format the step is ``2^(max(E, emin) - M)`` with ``E`` the exponent of the (saturated) value,
  so the constant is built per element from the float's exponent bits with one integer AND
  and one integer MAX; an INT element format has one step, so one constant. Both are exact
  by construction, branch-free, and need no float ``rint`` or per-element scaling by
  2^(M - E) (three passes in the reference). The sum loses the sign of a result that rounds to
  zero; FP results take the input's sign back with ``copysign`` (the reference keeps -0.0),
  INT results are +0.0 as in the reference.
* Per chunk of rows (default 2^20 elements, 4 MiB: the block amax, the scales and all
  element passes run while the chunk is in L2/L3), so the input is read from DRAM once and the
  output written once; NV formats need one more read for the tensor amax, as every
  implementation does.
* torch's intra-op threads (OpenMP; ``torch.get_num_threads()``) split every op of a chunk.
  The chunk loop runs in one persistent worker thread, never in the caller's thread:
  GNU OpenMP teams do not survive ``fork``, and a forked child (analysis sweeps use
  process pools) would hang in its first parallel op if the parent's main thread had one.
  The worker is replaced after fork; inputs below torch's grain size run inline (serial).

Covered: ``rounding="even"`` (the default) for every block format and scale (UE8M0 floor /
ceil, NV, FP32) and direct casts of finite values. ``away`` / ``stochastic`` rounding, codes
(:func:`~intfp.models.blocks.quantize_codes`) and direct casts of NaN / Inf use the reference
path. Sources as in ``blocks.py``; the magic-number rounding is e.g. Hacker's Delight /
Muller et al., *Handbook of Floating-Point Arithmetic* (2nd ed., 2018), section 5.6.
"""
from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
import torch

from . import scales
from .formats import PER_TENSOR, BlockFormat, ElementFormat

__all__ = ["applies", "quantize_values", "round_even_"]

#: Elements per chunk. Each chunk costs ~15 torch calls (a few microseconds each, plus an
#: OpenMP fork/join), so chunks must be large; 2^20 float32 (4 MiB, three arrays ~12 MiB)
#: still sits in the 32 MiB L3 (see benchmarks/quantize_throughput.py --chunk).
CHUNK_ELEMS = 1 << 20
#: torch's at::internal::GRAIN_SIZE: smaller ops run serially in the calling thread.
_TORCH_GRAIN = 32768

#: Element passes per chunk (torch ops touching every element), for the benchmark's report.
#: FP: |x| bits and row amax, x * 2^-s, clamp, exponent AND, MAX, add, subtract, x 2^s, copysign.
#: INT: |x| bits and row amax, x * 2^-s, add, subtract, clamp, x 2^s.
PASSES = {"fp": 10, "int": 7}

_F32_EXP = 0x7F800000
_F32_ABS = 0x7FFFFFFF


def applies(bf: BlockFormat, rounding: str) -> bool:
    """Whether :func:`quantize_values` computes ``quantize(x, bf, rounding=rounding)``."""
    return rounding == "even"


# --------------------------------------------------------------------------------------------
# Element rounding (scaled domain: values already divided by their block scale)
# --------------------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def _consts(elem: ElementFormat) -> tuple:
    if elem.kind == "fp":
        # per-element constant 1.5 * 2^(E' - M + 23): E' from the bits, times alpha
        return (float(elem.max), (elem.emin + 127) << 23, 1.5 * 2.0 ** (23 - elem.mbits))
    step = 2.0 ** -(elem.bits - 2)
    return (elem.code_min * step, elem.code_max * step, 1.5 * 2.0 ** 23 * step)


def round_even_(v: torch.Tensor, tmp: torch.Tensor, elem: ElementFormat) -> torch.Tensor:
    """Round float32 ``v`` in place onto ``elem``'s grid, ties to even, saturating at +-max.

    ``tmp`` is an int32 scratch tensor shaped like ``v``. FP results of 0 are +0.0: callers
    restore the sign (``copysign``). Equals ``elements.round_to_grid(v, elem, "even")`` for
    finite ``v`` (except that sign of zero); non-finite ``v`` give unspecified values.
    """
    if elem.kind == "fp":
        vmax, emin_bits, alpha = _consts(elem)
        v.clamp_(-vmax, vmax)                     # max is on the grid: saturate first
        torch.bitwise_and(v.view(torch.int32), _F32_EXP, out=tmp)     # 2^E, E = exponent of v
        tmp.clamp_min_(emin_bits)                 # 2^max(E, emin)
        c = tmp.view(torch.float32)
        v.add_(c, alpha=alpha)                    # alpha * c = 1.5 * 2^(E' - M + 23), exact
        v.sub_(c, alpha=alpha)
        return v
    lo, hi, magic = _consts(elem)
    v.add_(magic)
    v.sub_(magic)
    v.clamp_(lo, hi)                              # codes [code_min, code_max] x step
    return v


# --------------------------------------------------------------------------------------------
# The driver
# --------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _worker() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="intfp-qkernel")


os.register_at_fork(after_in_child=_worker.cache_clear)


def _tensor(a: np.ndarray) -> torch.Tensor:
    if a.flags.writeable:
        return torch.from_numpy(a)
    with warnings.catch_warnings():               # read-only input: we never write to it
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(a)


def quantize_values(x2d: np.ndarray, bf: BlockFormat, rule: str) -> np.ndarray:
    """Fake-quantized values of the rows of ``x2d`` (float32, C-contiguous, one block per row),
    rounding half to even: bit for bit what ``blocks._run(..., want_codes=False)`` returns."""
    out = np.empty_like(x2d)
    if x2d.size == 0:
        return out
    if x2d.size <= _TORCH_GRAIN:
        _quantize_into(x2d, out, bf, rule, None)
        return out
    nthreads = torch.get_num_threads()            # the caller's setting, applied in the worker
    _worker().submit(_quantize_into, x2d, out, bf, rule, nthreads).result()
    return out


def _quantize_into(x2d, out, bf, rule, nthreads):
    if nthreads is not None and torch.get_num_threads() != nthreads:
        torch.set_num_threads(nthreads)
    elem = bf.element
    rows, k = x2d.shape
    xt, ot = _tensor(x2d), torch.from_numpy(out)
    step = max(1, CHUNK_ELEMS // k)
    tmp = torch.empty((min(step, rows), k), dtype=torch.int32)

    if bf.scale.name == "none":
        for a in range(0, rows, step):
            b = min(a + step, rows)
            xc, oc = xt[a:b], ot[a:b]
            oc.copy_(xc)
            round_even_(oc, tmp[:b - a], elem)
            if elem.kind == "fp":
                torch.copysign(oc, xc, out=oc)
        return

    # Scales that need the whole tensor first (NV, per-tensor): one extra read pass.
    all_amax = None
    tensor_scale = None
    if bf.scale.name == "e4m3" or bf.block_size == PER_TENSOR:
        all_amax = np.empty(rows, dtype=np.float32)
        for a in range(0, rows, step):
            b = min(a + step, rows)
            all_amax[a:b] = _amax(xt[a:b], tmp[:b - a]).numpy().view(np.float32)
        finite = all_amax[np.isfinite(all_amax)]
        amax_t = np.float32(finite.max()) if finite.size else np.float32(0)
        if bf.scale.name == "e4m3":
            tensor_scale = scales.nv_tensor_scale(amax_t, elem)
        if bf.block_size == PER_TENSOR:
            any_nan = finite.size != all_amax.size
            all_amax = np.full(rows, np.nan if any_nan else amax_t, np.float32)
        sc_all = scales._scales_for(all_amax, bf, rule, tensor_scale, want_codes=False)

    ue8m0 = bf.scale.name == "ue8m0" and all_amax is None
    for a in range(0, rows, step):
        b = min(a + step, rows)
        xc, oc, tc = xt[a:b], ot[a:b], tmp[:b - a]
        if ue8m0:                                 # the default MX case: scales in torch
            inv_t, mul_t, nan_t = _ue8m0_scales(_amax(xc, tc), elem, rule)
        else:
            if all_amax is None:
                amax = _amax(xc, tc).numpy().view(np.float32)
                sc = scales._scales_for(amax, bf, rule, tensor_scale, want_codes=False)
                inv, mul, nan_rows = sc.inv, sc.mul, sc.nan_rows
            else:
                inv = None if sc_all.inv is None else sc_all.inv[a:b]
                mul, nan_rows = sc_all.mul[a:b], sc_all.nan_rows[a:b]
            inv_t = None if inv is None else torch.from_numpy(inv)[:, None]
            mul_t = torch.from_numpy(mul)[:, None]
            nan_t = torch.from_numpy(nan_rows)[:, None] if nan_rows.any() else None
        if inv_t is not None:
            torch.mul(xc, inv_t, out=oc)
        else:
            torch.div(xc, mul_t, out=oc)          # FP32 scale: x / s, as the reference
        round_even_(oc, tc, elem)
        oc.mul_(mul_t)
        if elem.kind == "fp":
            torch.copysign(oc, xc, out=oc)        # -0.0 for negative inputs rounding to 0
        if nan_t is not None:
            oc.masked_fill_(nan_t, float("nan"))


# 2^-s and 2^s for s = idx - 127, idx = 0 .. 254 (UE8M0 exponents -127 .. 127; 2^-127 is the
# float32 subnormal 0x00400000), as float32.
_POW2 = torch.from_numpy(np.ldexp(np.float32(1.0), np.arange(-127, 128)).astype(np.float32))
_INV_POW2 = _POW2.flip(0).contiguous()


def _ue8m0_scales(a: torch.Tensor, elem: ElementFormat, rule: str):
    """(2^-s, 2^s, NaN-row mask or None) per row, shaped (rows, 1), from int32 amax bits ``a``:
    ``scales.ue8m0_exponent`` computed with torch ops (the same exact bit arithmetic).

    floor: s = floor(log2 amax) - emax = (exponent field - 127) - emax. A zero or subnormal
    amax gives s <= -127 - emax, clipped to -127. ceil: amax = m 2^e, max = m_q 2^e_q
    (m, m_q in [0.5, 1)): s = e - e_q + (m > m_q), from the exponent and mantissa fields; a
    subnormal amax (no implicit bit) goes to the numpy reference, which uses frexp.
    Rows with a NaN or Inf (exponent field 255) get any scale: the caller overwrites them.
    """
    e = a >> 23
    if rule == "floor":
        idx = e - elem.emax                                   # s + 127
    else:
        mq, eq = np.frexp(elem.max)
        mq_bits = int(round((mq * 2 - 1) * (1 << 23)))        # max's float32 mantissa field
        idx = (e + (1 - eq)).add_((a & 0x007FFFFF) > mq_bits)   # e - 126 - e_q + (m > m_q) + 127
        sub = (a > 0) & (a < 0x00800000)
        if bool(sub.any()):                                   # subnormal amax (rare): frexp
            amax_sub = a[sub].numpy().view(np.float32)
            idx[sub] = torch.from_numpy(scales.ue8m0_exponent(amax_sub, elem, rule) + 127)
    idx = idx.clamp_(0, 254)
    nan = a >= _F32_EXP
    nan_t = nan[:, None] if bool(nan.any()) else None
    return _INV_POW2[idx][:, None], _POW2[idx][:, None], nan_t


def _amax(xc: torch.Tensor, tc: torch.Tensor) -> torch.Tensor:
    """Per-row max |x| as int32 bits (NaN above Inf above finite, as in scales._block_amax)."""
    torch.bitwise_and(xc.view(torch.int32), _F32_ABS, out=tc)
    return tc.amax(dim=1)
