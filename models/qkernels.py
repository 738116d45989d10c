"""Fast fake-quantization kernels: :func:`intfp.models.quantize` values in few memory passes.

The reference path (``blocks._run``, ``elements.round_to_grid``) spends about a dozen numpy
passes per element. This module computes the same float32 results bit for bit (checked against
the reference on adversarial inputs for every preset in ``tests/test_quantize_kernels.py``)
with fewer, cheaper passes over cache-resident chunks: torch in-place ops, or one C loop.

* Round half to even by the "magic number" addition: for ``|v| < 2^22 q`` (``q`` a power of
  two) the float32 sum ``v + 1.5 * 2^23 q`` has ulp ``q``, so the FPU's own
  round-to-nearest-even puts it on the grid of step ``q``, and subtracting the constant again
  is exact. The constant is an even multiple of ``q``, so ties go to even multiples of ``q`` for
  both signs (the classic ``x + 1.5 * 2^52 - 1.5 * 2^52`` rint of doubles, scaled). For an FP
  element format the step is ``2^(max(E, emin) - M)`` with ``E`` the exponent of the
  (saturated) value, so the constant is built per element from the float's exponent bits with
  one integer AND and one integer MAX; an INT element format has one step, so one constant.
  The sum loses the sign of a result that rounds to zero: FP results take the input's sign bit
  back (the reference keeps -0.0); INT results are +0.0 as in the reference.
* MX (UE8M0) scales are powers of two, so rounding ``x / 2^s`` on the element grid and
  multiplying by ``2^s`` is rounding ``x`` on the grid scaled by ``2^s``: the kernel works on
  ``x`` itself, with per-row bounds and constants looked up from tables indexed by the scale
  exponent. That drops the two scaling passes, and the clamp where the scale rule makes it a
  no-op (``ceil``: the block max never exceeds ``max * 2^s``). It is exact only where every
  constant is a normal float32 and ``2^(emin + s)`` is normal (:func:`_ue8m0_tables` derives
  the valid range of ``s`` from the format's numbers); a chunk with a row outside it (blocks
  below about 2^-118 or above 2^100) runs the scaled path, as NV and FP32 scales always do.
* Work is split into chunks of ``CHUNK_ELEMS`` elements (1 MiB of float32; with the output and
  scratch arrays ~4 MiB per worker, in L2 and the shared L3), so the input is read from DRAM
  once and the output written once; NV formats and per-tensor scales read the input once more
  for the tensor amax (and keep every block's amax from that pass).
* Threads: ``torch.get_num_threads()`` (the caller's setting) workers each take whole chunks
  from a shared counter and run every op of a chunk with one torch thread. Splitting each op
  over OpenMP threads instead (one fork/join barrier per op, ~10 per chunk) waits for the
  slowest thread at every op, which on a busy shared machine cost more than the second thread
  gave. The workers are persistent threads, never the caller's: GNU OpenMP teams do not
  survive ``fork``, and analysis sweeps fork process pools. The pool is replaced after fork;
  inputs below torch's grain size (whose ops never go parallel) run inline, serially.

Two back ends compute the same bits (every test of ``tests/test_quantize_kernels.py`` runs on
both): the torch ops above, always available, and the same arithmetic as one C loop per block
(``models/qkernel.c``: one pass over each element, instead of 6-11 torch passes), used when its
library has been built into the Python environment with ``python -m
intfp.models.qkernel_build`` (the system C compiler; no Python build dependencies).
``INTFP_QKERNEL=torch`` forces the torch ops. The scale logic is shared (numpy; NV block scales
also as a C loop of the same float32 steps), so only the element loops differ.

Covered: ``rounding="even"`` (the default) for every block format and scale (UE8M0 floor /
ceil, NV, FP32) and direct casts of finite values, for element formats with at most 21
mantissa bits (FP) or 23 bits (INT) (:func:`applies`). ``away`` / ``stochastic`` rounding, codes
(:func:`~intfp.models.blocks.quantize_codes`) and direct casts of NaN / Inf use the reference
path. Sources as in ``blocks.py``; the magic-number rounding is e.g. Hacker's Delight /
Muller et al., *Handbook of Floating-Point Arithmetic* (2nd ed., 2018), section 5.6.
"""
from __future__ import annotations

import ctypes
import itertools
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from . import scales
from .clib import CSource
from .formats import PER_TENSOR, BlockFormat, ElementFormat

__all__ = ["applies", "quantize_values", "round_even_", "passes", "build_c_library",
           "c_library", "c_library_path"]

#: Elements per chunk. Each chunk costs ~15 torch calls and ~10 numpy calls on its rows (a few
#: us each, holding the GIL for the numpy ones), so small chunks pay in overhead; 2^18 had the
#: least CPU time per element here (2^16: +15-25%, 2^20: +5-25%; AMD EPYC, 1 MiB L2 per core,
#: 32 MiB L3; benchmarks/quantize_throughput.py --chunk).
CHUNK_ELEMS = 1 << 18
#: torch's at::internal::GRAIN_SIZE: smaller ops run serially in the calling thread.
_TORCH_GRAIN = 32768

_F32_EXP = 0x7F800000
_F32_ABS = 0x7FFFFFFF
_F32_SIGN = -0x80000000               # 0x80000000 as an int32


def applies(bf: BlockFormat, rounding: str) -> bool:
    """Whether :func:`quantize_values` computes ``quantize(x, bf, rounding=rounding)``."""
    return rounding == "even" and _element_ok(bf.element)


def _element_ok(elem: ElementFormat) -> bool:
    # The magic-number window needs |v| < 2^22 q: M + 1 <= 22 (FP), bits - 1 <= 22 (INT); the
    # scaled path builds 2^emin and 2^(emax - M + 23) as normal floats.
    if elem.kind == "fp":
        return elem.mbits <= 21 and -126 <= elem.emin and elem.emax - elem.mbits + 23 <= 127
    return 2 <= elem.bits <= 23


def passes(bf: BlockFormat, rule: str, backend: str | None = None) -> dict:
    """Memory passes per element of :func:`quantize_values` for ``bf`` (typical input: every
    block in the fused range), for the benchmark's report. ``dram_reads`` / ``dram_writes``
    count reads of the input and writes of the output; ``cache`` counts passes over a chunk
    while it sits in cache: torch ops touching every element (``tests/test_quantize_kernels.py``
    counts them in the kernel), or C loops. ``backend``: "torch", "c", or None for the one
    :func:`quantize_values` uses now."""
    if backend is None:
        backend = "c" if c_library() is not None else "torch"
    fp = bf.element.kind == "fp"
    reads = 2 if (bf.scale.name == "e4m3" or bf.block_size == PER_TENSOR) else 1
    if bf.scale.name == "none":
        path = "direct"
        # copy, clamp, (and, max: FP), add, sub, (and, or: FP) / one C loop
        cache = 1 if backend == "c" else (8 if fp else 4)
    elif bf.scale.name == "ue8m0" and bf.block_size != PER_TENSOR:
        path = "fused"
        # row amax, then one C loop; torch: abs + row amax, then FP: [min], and, max, add, sub,
        # sign and, sign or; INT: add, sub, [min, max]
        clamp = rule == "floor"
        cache = 2 if backend == "c" else (2 + ((1 + 6) if clamp else 6) if fp else
                                          2 + (4 if clamp else 2))
    else:
        path = "scaled"
        # row amax (in the pre-pass for NV / per-tensor), then one C loop; torch: abs + row
        # amax, x * inv, clamp, (and, max: FP), add, sub, [clamp: INT], x * scale, (sign and,
        # sign or: FP)
        cache = 2 if backend == "c" else 2 + (9 if fp else 5)
    return {"dram_reads": reads, "dram_writes": 1, "cache": cache, "path": path,
            "backend": backend}


# --------------------------------------------------------------------------------------------
# Element rounding in the scaled domain (values already divided by their block scale)
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
    restore the sign. Equals ``elements.round_to_grid(v, elem, "even")`` for finite ``v``
    (except that sign of zero); non-finite ``v`` give unspecified values.
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


def _restore_sign(oc: torch.Tensor, xc: torch.Tensor, tmp: torch.Tensor) -> None:
    """Give ``oc`` (>= 0, or already carrying the sign) the sign bit of ``xc``: -0.0 where a
    negative input rounded to zero. Two integer ops: torch.copysign is not vectorized here
    and costs more than both (measured)."""
    torch.bitwise_and(xc.view(torch.int32), _F32_SIGN, out=tmp)
    ob = oc.view(torch.int32)
    ob.bitwise_or_(tmp)


# --------------------------------------------------------------------------------------------
# UE8M0 scales: per scale exponent s (index s + 127) the constants of the fused kernel
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Tables:
    hi: np.ndarray          # float32: max * 2^s (FP), code_max * q * 2^s (INT)
    lo: np.ndarray          # float32: code_min * q * 2^s (INT)
    eminb: np.ndarray       # int32: bits of 2^(emin + s) (FP)
    magic: np.ndarray       # float32: 1.5 * 2^23 * q * 2^s (INT)
    vlo: int                # indices vlo .. vhi are exact in the fused kernel
    vhi: int
    safe: int               # a valid index for rows whose scale does not matter (zero, NaN)
    # index = exponent field + off (+ 1 where ceil and the amax mantissa field > mq_bits)
    off: int
    ceil: bool
    mq_bits: int


@lru_cache(maxsize=None)
def _ue8m0_tables(elem: ElementFormat, rule: str) -> _Tables:
    """The fused kernel's per-scale constants and the scale exponents where it is exact.

    For scale 2^s the element grid scaled by 2^s has steps 2^(max(E, emin + s) - M) (FP) or
    q 2^s with q = 2^-(bits-2) (INT). The fused kernel is exact when (FP) 2^(emin + s) is a
    normal float32 (so the exponent field of every value at or above it is its exponent) and
    the largest constant 1.5 * 2^(emax + s - M + 23) is finite; (INT) the constant
    1.5 * 2^(23 + log2(q 2^s)) is normal and finite. Then every constant, bound and result is
    exact, and the reference's x * 2^-s, rounding, * 2^s gives the same bits: its products are
    exact except where a value is far below the grid step, which rounds to zero either way.
    """
    s = np.arange(-127, 128)
    if elem.kind == "fp":
        ok = (elem.emin + s >= -126) & (elem.emax + s - elem.mbits + 23 <= 127)
        hi = np.ldexp(np.float64(elem.max), s)
        lo = -hi
        with np.errstate(over="ignore"):    # overflows only outside the fused range (not ok)
            eminb = np.ldexp(np.float32(1), np.maximum(elem.emin + s, -126)).astype(np.float32)
        magic = np.zeros(s.size)
    else:
        lq = s - (elem.bits - 2)
        ok = (lq + 23 >= -126) & (lq + 23 <= 127)
        hi = np.ldexp(np.float64(elem.code_max), lq)
        lo = np.ldexp(np.float64(elem.code_min), lq)
        eminb = np.ones(s.size, np.float32)
        magic = np.ldexp(1.5, np.clip(lq + 23, -126, 127))
    idx = np.flatnonzero(ok)
    if idx.size == 0 or not np.all(np.diff(idx) == 1):      # contiguous by construction
        raise AssertionError(f"no contiguous fused scale range for {elem}")
    # scales.ue8m0_exponent for a normal amax = m 2^e (m in [0.5, 1), e = field - 126):
    # floor: s = e - 1 - emax; ceil: s = e - e_q + (m > m_q), max = m_q 2^e_q
    mq, eq = np.frexp(elem.max)
    off = -elem.emax if rule == "floor" else 1 - int(eq)
    mq_bits = int(round((mq * 2 - 1) * (1 << 23)))          # max's float32 mantissa field
    with np.errstate(over="ignore"):
        f32 = lambda a: np.asarray(a, np.float64).astype(np.float32)  # noqa: E731
        return _Tables(f32(hi), f32(lo), eminb.view(np.int32), f32(magic),
                       int(idx[0]), int(idx[-1]), int(idx[idx.size // 2]),
                       off, rule == "ceil", mq_bits)


def _ue8m0_index(bits: np.ndarray, elem: ElementFormat, rule: str):
    """(s + 127 per row, NaN-row mask or None) from int32 amax bits: the exponent of
    ``scales.ue8m0_exponent`` (same bit arithmetic; zero, subnormal and NaN / Inf amax go to
    that reference function itself)."""
    e = bits >> 23
    nan = None
    if e.min() == 0 or e.max() == 255:
        idx = scales.ue8m0_exponent(bits.view(np.float32), elem, rule) + 127
        if e.max() == 255:
            nan = e == 255
        return idx, nan
    if rule == "floor":
        idx = e - elem.emax                                   # floor(log2 amax) - emax + 127
    else:
        mq, eq = np.frexp(elem.max)
        mq_bits = int(round((mq * 2 - 1) * (1 << 23)))        # max's float32 mantissa field
        idx = e + (1 - eq) + ((bits & 0x007FFFFF) > mq_bits)   # e - 126 - e_q + (m > m_q) + 127
    return np.minimum(np.maximum(idx, 0), 254), nan


def _nv_scales(amax: np.ndarray, t: np.float32, elem: ElementFormat):
    """(x multiplier, scale, NaN-row mask or None) per row of NV scales: the same float32
    operations as ``scales._scales_for`` (s_b = E4M3(clip(amax / max / t, 2^-6, 448)),
    x * ((1 / t) / s_b), q * (s_b * t)) in fewer passes. s_b is normal in E4M3 and float32 here,
    so its rounding to E4M3 (3 mantissa bits, nearest even) is integer arithmetic on its bits.
    Rows with NaN / Inf get unspecified scales: the caller overwrites them."""
    bits = amax.view(np.int32)
    nan = bits >= _F32_EXP
    sb = amax / np.float32(elem.max)
    sb /= t
    np.maximum(sb, np.float32(2.0 ** -6), out=sb)
    np.minimum(sb, np.float32(448.0), out=sb)
    b = sb.view(np.int32)
    b += 0x7FFFF + ((b >> 20) & 1)                # round the 20 dropped bits, ties to even
    b &= ~0xFFFFF
    inv = (np.float32(1.0) / t) / sb
    return inv, sb * t, (nan if nan.any() else None)


# 2^-s and 2^s for s = idx - 127, idx = 0 .. 254 (2^-127 is the float32 subnormal 0x00400000).
_POW2 = np.ldexp(np.float32(1.0), np.arange(-127, 128)).astype(np.float32)
_INV_POW2 = _POW2[::-1].copy()


# --------------------------------------------------------------------------------------------
# The optional one-pass C loops (models/qkernel.c)
# --------------------------------------------------------------------------------------------
#: "auto": use the C loops when their library is built (:func:`build_c_library`), else torch;
#: "torch": always the torch kernels (tests and the benchmark compare the two); "c": the C
#: loops, an error if they are not built.
BACKEND = os.environ.get("INTFP_QKERNEL", "auto")
# code file: qkernel.c
_C_SOURCE = Path(__file__).with_name("qkernel.c")   # its bytes are part of every cache key here
_C_FLAGS = ("-O3", "-march=native", "-ffp-contract=off", "-fno-fast-math", "-shared", "-fPIC")
C_LOOPS = CSource(_C_SOURCE, _C_FLAGS, "qkernel", "INTFP_QKERNEL_LIB", "the qkernel library",
                  "use the torch kernels")


def c_library_path() -> Path:
    """Where :func:`build_c_library` puts the library (:meth:`intfp.models.clib.CSource.path`:
    ``$INTFP_QKERNEL_LIB``, else in the venv, named by a hash of the source and flags)."""
    return C_LOOPS.path()


def build_c_library(path: Path | None = None) -> Path:
    """Compile models/qkernel.c into :func:`c_library_path` (an error with the compiler's log
    tail if that fails) and drop the loaded copy."""
    path = C_LOOPS.build(path)
    c_library.cache_clear()
    return path


@lru_cache(maxsize=1)
def c_library():
    """The loaded C library, or None (``BACKEND`` "torch", or "auto" and not built)."""
    if BACKEND not in ("auto", "torch", "c"):
        raise ValueError(f"INTFP_QKERNEL={BACKEND!r} is not a qkernels back end; allowed: auto "
                         "(the C loops when built, else torch), torch, c (the C loops, required)")
    if BACKEND == "torch":
        return None
    path = c_library_path()
    if not path.is_file():
        if BACKEND == "c":
            raise RuntimeError(f"INTFP_QKERNEL=c but the C loops are not built at {path}; run "
                               "python -m intfp.models.qkernel_build (or use auto / torch)")
        return None
    lib = ctypes.CDLL(str(path))
    P, I64, F, I32 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_float, ctypes.c_int32
    lib.row_amax.argtypes = [P, I64, I64, P]
    lib.fused_fp.argtypes = [P, P, I64, I64, P, P, F, ctypes.c_int]
    lib.fused_int.argtypes = [P, P, I64, I64, P, P, P, ctypes.c_int]
    lib.scaled_fp.argtypes = [P, P, I64, I64, P, P, F, I32, F]
    lib.scaled_int.argtypes = [P, P, I64, I64, P, P, F, F, F]
    lib.nv_scales.argtypes = [P, I64, F, F, P, P]
    for f in (lib.row_amax, lib.fused_fp, lib.fused_int, lib.scaled_fp, lib.scaled_int,
              lib.nv_scales):
        f.restype = None
    return lib


def _ptr(a: np.ndarray) -> int:
    """Address of a per-row array (float32 / int32, contiguous: made so by the callers). The
    caller keeps ``a`` referenced until the C call returns."""
    assert a.flags.c_contiguous and a.dtype.itemsize == 4, (a.dtype, a.flags)
    return a.__array_interface__["data"][0]


# --------------------------------------------------------------------------------------------
# The driver
# --------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1),
                              thread_name_prefix="intfp-qkernel")


# A forked child inherits the executor object but none of its threads: start a new one there.
os.register_at_fork(after_in_child=_pool.cache_clear)


def _tensor(a: np.ndarray) -> torch.Tensor:
    if a.flags.writeable:
        return torch.from_numpy(a)
    with warnings.catch_warnings():               # read-only input: we never write to it
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(a)


def _col(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a.reshape(-1, 1))


def quantize_values(x2d: np.ndarray, bf: BlockFormat, rule: str) -> np.ndarray:
    """Fake-quantized values of the rows of ``x2d`` (float32, C-contiguous, one block per row),
    rounding half to even: bit for bit what ``blocks._run(..., want_codes=False)`` returns."""
    out = np.empty_like(x2d)
    if x2d.size == 0:
        return out
    _Job(x2d, out, bf, rule).run()
    return out


class _Job:
    """One call: the input split into chunks of rows, and what to do with a chunk."""

    def __init__(self, x2d, out, bf, rule):
        self.bf, self.rule, self.elem = bf, rule, bf.element
        self.rows, self.k = x2d.shape
        self.xt, self.ot = _tensor(x2d), torch.from_numpy(out)
        self.step = max(1, CHUNK_ELEMS // self.k)
        self.nchunks = -(-self.rows // self.step)
        self.inline = x2d.size <= _TORCH_GRAIN
        self.threads = torch.get_num_threads()     # the caller's setting
        self.amax_rows = None                      # every row's amax, from the pre-pass
        self.tensor_scale = None
        self.fused = (bf.scale.name == "ue8m0" and bf.block_size != PER_TENSOR)
        self.tables = _ue8m0_tables(self.elem, rule) if self.fused else None
        self.c = c_library()                       # None: the torch kernels

    # -- chunk iteration ---------------------------------------------------------------------
    def _span(self, c):
        a = c * self.step
        return a, min(a + self.step, self.rows)

    def _scratch(self):
        shape = (min(self.step, self.rows), self.k)
        return torch.empty(shape, dtype=torch.float32), torch.empty(shape, dtype=torch.int32)

    def _each_chunk(self, fn):
        if self.inline:
            scratch = self._scratch()
            with np.errstate(all="ignore"):
                for c in range(self.nchunks):
                    fn(c, scratch)
            return
        counter = itertools.count()                # next() is atomic under the GIL
        n = max(1, min(self.threads, self.nchunks, os.cpu_count() or 1))
        futures = [_pool().submit(self._worker, fn, counter) for _ in range(n)]
        for f in futures:
            f.result()

    def _worker(self, fn, counter):
        # One torch thread in this worker (the setting is per thread under OpenMP); reading it
        # first runs torch's lazy per-thread init now, not in the first op (it would reset it).
        torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            scratch = self._scratch()
            with np.errstate(all="ignore"):        # per thread; NaN / Inf blocks are masked
                while (c := next(counter)) < self.nchunks:
                    fn(c, scratch)
        finally:
            torch.set_num_threads(self.threads)    # torch also keeps a process-wide copy

    def _views(self, c, scratch):
        a, b = self._span(c)
        f, i = scratch
        if b - a < f.shape[0]:                             # the last, partial chunk
            f, i = f[:b - a], i[:b - a]
        return a, b, self.xt.narrow(0, a, b - a), self.ot.narrow(0, a, b - a), f, i

    # -- the whole call ----------------------------------------------------------------------
    def run(self):
        bf = self.bf
        if bf.scale.name == "none":
            self._each_chunk(self._direct_chunk)
            return
        if bf.scale.name == "e4m3" or bf.block_size == PER_TENSOR:
            # Scales that need the tensor amax first (NV, per-tensor): one extra read pass,
            # which keeps every row's amax for the main pass.
            bits = np.empty(self.rows, dtype=np.int32)

            def amax_chunk(c, scratch):
                a, b, xc, _, tf, _ = self._views(c, scratch)
                bits[a:b] = self._row_amax(xc, tf)
            self._each_chunk(amax_chunk)
            finite = bits < _F32_EXP                       # NaN and Inf sort above
            amax_t = np.array(np.max(bits, where=finite, initial=0)).view(np.float32)[()]
            if bf.scale.name == "e4m3":
                self.tensor_scale = scales.nv_tensor_scale(amax_t, self.elem)
            self.amax_rows = bits.view(np.float32)
            if bf.block_size == PER_TENSOR:
                any_nan = not finite.all()
                self.amax_rows = np.full(self.rows, np.nan if any_nan else amax_t, np.float32)
        self._each_chunk(self._chunk)

    # -- chunk kernels -----------------------------------------------------------------------
    def _chunk(self, c, scratch):
        a, b, xc, oc, tf, ti = self._views(c, scratch)
        bf, elem = self.bf, self.elem
        nan = None
        if self.fused:
            bits = self._row_amax(xc, tf)
            T = self.tables
            # The common case in four numpy ops on the row amax: every exponent field normal
            # (no zero, subnormal, NaN or Inf block) and every scale in the fused range. The
            # index is then the reference's exponent (scales.ue8m0_exponent) unclipped.
            e = bits >> 23
            emn, emx = int(e.min()), int(e.max())
            if emn > 0 and emx < 255 and T.vlo <= emn + T.off and emx + T.off + T.ceil <= T.vhi:
                idx = e + T.off
                if T.ceil:
                    idx += (bits & 0x007FFFFF) > T.mq_bits
                self._fused(xc, oc, tf, idx, T)
            else:
                idx, nan = _ue8m0_index(bits, elem, self.rule)
                fidx = idx
                if nan is not None or bits.min() == 0:         # scale irrelevant: any valid one
                    fidx = np.where((bits == 0) | (bits >= _F32_EXP), T.safe, idx)
                if T.vlo <= fidx.min() and fidx.max() <= T.vhi:
                    self._fused(xc, oc, tf, fidx, T)
                else:                                          # tiny or huge blocks
                    self._scaled(xc, oc, ti, _INV_POW2[idx], _POW2[idx])
        else:
            if self.amax_rows is None:                         # FP32 scales per block
                amax = self._row_amax(xc, tf).view(np.float32)
            else:
                amax = self.amax_rows[a:b]
            if bf.scale.name == "e4m3" and bf.block_size != PER_TENSOR:
                if self.c is not None:
                    inv, mul = np.empty_like(amax), np.empty_like(amax)
                    self.c.nv_scales(_ptr(amax), amax.size, float(elem.max),
                                     float(self.tensor_scale), _ptr(inv), _ptr(mul))
                    nan = amax.view(np.int32) >= _F32_EXP
                    nan = nan if nan.any() else None
                else:
                    inv, mul, nan = _nv_scales(amax, self.tensor_scale, elem)
            else:
                sc = scales._scales_for(amax, bf, self.rule, self.tensor_scale, want_codes=False)
                inv, mul, nan = sc.inv, sc.mul, (sc.nan_rows if sc.nan_rows.any() else None)
            self._scaled(xc, oc, ti, inv, mul)
        if nan is not None:
            oc.masked_fill_(_col(nan), float("nan"))

    def _row_amax(self, xc, tf) -> np.ndarray:
        """int32 bits of every row's max |x| (leaves |x| in ``tf`` on the torch path)."""
        if self.c is None:
            return _amax(xc, tf).numpy()
        bits = np.empty(xc.shape[0], dtype=np.int32)
        self.c.row_amax(xc.data_ptr(), xc.shape[0], self.k, bits.ctypes.data)
        return bits

    def _fused(self, xc, oc, tf, idx, T):
        """Round x on the grid scaled by 2^s, row by row (see the module docstring)."""
        elem, clamp = self.elem, self.rule == "floor"
        if self.c is not None:
            rows, hi = xc.shape[0], T.hi[idx]          # named: alive during the C call
            if elem.kind == "fp":
                eminb = T.eminb[idx]
                self.c.fused_fp(xc.data_ptr(), oc.data_ptr(), rows, self.k, _ptr(hi),
                                _ptr(eminb), _consts(elem)[2], clamp)
            else:
                magic, lo = T.magic[idx], T.lo[idx]
                self.c.fused_int(xc.data_ptr(), oc.data_ptr(), rows, self.k, _ptr(magic),
                                 _ptr(hi), _ptr(lo), clamp)
            return
        if elem.kind == "fp":
            # tf holds |x| (from the amax); work on it and put the sign back at the end
            tb = tf.view(torch.int32)
            if clamp:
                torch.minimum(tf, _col(T.hi[idx]), out=tf)
            e = oc.view(torch.int32)                           # oc as scratch for 2^E'
            torch.bitwise_and(tb, _F32_EXP, out=e)
            torch.maximum(e, _col(T.eminb[idx]), out=e)
            alpha = _consts(elem)[2]
            ef = e.view(torch.float32)
            tf.add_(ef, alpha=alpha)
            tf.sub_(ef, alpha=alpha)
            torch.bitwise_and(xc.view(torch.int32), _F32_SIGN, out=e)
            torch.bitwise_or(e, tb, out=e)                     # oc = sign(x) | r
            return
        m = _col(T.magic[idx])
        torch.add(xc, m, out=oc)
        oc.sub_(m)
        if clamp:
            torch.minimum(oc, _col(T.hi[idx]), out=oc)
            torch.maximum(oc, _col(T.lo[idx]), out=oc)

    def _scaled(self, xc, oc, ti, inv, mul):
        """x / s, round on the element grid, * s, for any per-row scale s."""
        if self.c is not None:
            rows, elem = xc.shape[0], self.elem
            a, b, c = _consts(elem)
            inv_p = None if inv is None else _ptr(inv)
            if elem.kind == "fp":                              # (vmax, emin bits, alpha)
                self.c.scaled_fp(xc.data_ptr(), oc.data_ptr(), rows, self.k, inv_p, _ptr(mul),
                                 a, b, c)
            else:                                              # (lo, hi, magic)
                self.c.scaled_int(xc.data_ptr(), oc.data_ptr(), rows, self.k, inv_p, _ptr(mul),
                                  a, b, c)
            return
        if inv is not None:
            torch.mul(xc, _col(inv), out=oc)
        else:
            torch.div(xc, _col(mul), out=oc)                   # FP32 scale: x / s, as the reference
        round_even_(oc, ti, self.elem)
        oc.mul_(_col(mul))
        if self.elem.kind == "fp":
            _restore_sign(oc, xc, ti)                          # -0.0 for negatives rounding to 0

    def _direct_chunk(self, c, scratch):
        _, _, xc, oc, _, ti = self._views(c, scratch)
        if self.c is not None:                                 # scale 1: x * 1 and r * 1 exact
            one = np.ones(xc.shape[0], np.float32)
            self._scaled(xc, oc, ti, one, one)
            return
        oc.copy_(xc)
        round_even_(oc, ti, self.elem)
        if self.elem.kind == "fp":
            _restore_sign(oc, xc, ti)


def _amax(xc: torch.Tensor, tf: torch.Tensor) -> torch.Tensor:
    """Per-row max |x| as int32 bits (NaN above Inf above finite, as in scales._block_amax);
    leaves |x| in ``tf``."""
    torch.abs(xc, out=tf)
    return tf.view(torch.int32).amax(dim=1)

