"""Review of models/formats.py, models/elements.py, models/blocks.py (failing tests = defects).

Each test asserts the behaviour that the issue, docs/formats.md or the reference libraries
(torchao 0.18, microxcaling) call correct; its docstring says why.
"""
import multiprocessing as mp
import warnings

import numpy as np
import pytest

import intfp.models.blocks as blocks
from intfp.models import ELEMENT_FORMATS, block_format, quantize, quantize_codes, round_to_grid


# -- stochastic rounding -------------------------------------------------------------------------
def test_stochastic_rounding_keeps_representable_values():
    """Stochastic rounding picks one of the two grid neighbours of a value with probability
    equal to its distance to them, so a value that is already on the grid never changes
    (blocks.py docstring: "floor(t + u), u ~ U[0, 1): unbiased, E[round(t)] = t"; every
    hardware SR adds random bits below the kept LSB, which leaves exact values exact).
    elements.py computes floor(t + u) in float32: for t = 100 (int8 code) and u >= 1 - 2^-18
    the sum rounds up to 101.0, so about 2^-18 of the exact codes move one step up (and every
    other value is biased by ~2^-18 of a step). floor(t) + (u < t - floor(t)) is exact."""
    x = np.full(1 << 21, 100 / 64, np.float32)          # exactly int8 code 100 (direct cast)
    q = quantize(x, "int8", rounding="stochastic", seed=0)
    assert np.count_nonzero(q != x) == 0
    blk = np.full((1 << 16, 32), 100 / 64, np.float32)  # same inside MXINT8 blocks (scale 2^0)
    blk[:, 0] = 1.0
    qb = quantize(blk, "mxint8", rounding="stochastic", seed=0)
    assert np.count_nonzero(qb != blk) == 0


def test_stochastic_rounding_does_not_depend_on_chunk_size(monkeypatch):
    """A seeded stochastic run must be reproducible from (x, fmt, seed) alone: the issue asks
    for "stochastic with explicit seed" and check_rounding says the seed is there "so that
    runs repeat". blocks._run spawns one random stream per thread-pool chunk, and the chunk
    length comes from the cache-tuning constant _CHUNK_ELEMS (just changed from 2^16 to
    32000 in the working tree), so the same call gives different values when that constant
    changes. Derive the random numbers from the element / block index instead."""
    x = np.random.default_rng(0).standard_normal((4096, 32)).astype(np.float32)
    a = quantize(x, "mxfp4", rounding="stochastic", seed=5)
    monkeypatch.setattr(blocks, "_CHUNK_ELEMS", 1 << 16)
    b = quantize(x, "mxfp4", rounding="stochastic", seed=5)
    assert np.array_equal(a, b)


# -- codes must dequantize to quantize() ---------------------------------------------------------
def test_fp32_scale_nan_block_dequantizes_to_nan():
    """BlockCodes.dequantize() "equals quantize() bit for bit" (blocks.py, docs/formats.md) and
    a block holding NaN/Inf is all NaN (issue). For FP32 scales a NaN block stores scale 1.0
    and element codes 0 (INT has no NaN code), so the codes dequantize to zeros: the NaN is
    lost on the RTL side. The stored FP32 scale should be NaN (as UE8M0 stores 0xFF and E4M3
    0x7F)."""
    x = np.random.default_rng(0).standard_normal((2, 32)).astype(np.float32)
    x[1, 3] = np.nan
    for bs in (-1, "tensor"):
        bf = block_format("int8", block_size=bs, scale="fp32")
        c = quantize_codes(x, bf)
        assert np.isnan(quantize(x, bf)[1]).all()
        assert np.isnan(c.dequantize()[1]).all(), bs
        assert np.isnan(c.block_scales.reshape(-1)[-1]), bs


# -- shapes: 0-d and empty -----------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["mxfp4", "e4m3", "nvint4"])
def test_zero_dim_numpy_keeps_its_shape(fmt):
    """The issue: "same shape ... numpy in -> numpy out". _to_numpy uses np.ascontiguousarray,
    which returns at least 1-d, so a 0-d array (or numpy scalar) comes back with shape (1,)
    (torch 0-d tensors keep their shape, so the two paths disagree)."""
    x = np.array(1.3, np.float32)
    assert quantize(x, fmt).shape == ()
    assert quantize(np.float32(1.3), fmt).shape == ()
    assert quantize_codes(x, fmt).dequantize().shape == ()


@pytest.mark.parametrize("shape", [(0,), (4, 0), (0, 32)])
def test_empty_direct_cast_with_stochastic_rounding(shape):
    """An empty array quantizes to an empty array. With no rows, _run spawns no seeds, so
    _direct_cast calls round_to_grid with rng=None and stochastic rounding raises
    AttributeError ('NoneType' object has no attribute 'random')."""
    x = np.zeros(shape, np.float32)
    assert quantize(x, "e4m3", rounding="stochastic", seed=0).shape == shape
    assert quantize(x, "int8", rounding="stochastic", seed=0).shape == shape


@pytest.mark.parametrize("fmt", ["mxfp8", "nvfp4", "e4m3"])
def test_empty_rows_codes_dequantize(fmt):
    """quantize() of a (0, 32) array works; the codes of the same array must dequantize to the
    same (0, 32) result, but BlockCodes.dequantize reshapes (0, 1, 32) with -1 and raises
    'cannot reshape array of size 0 into shape (0,newaxis)'."""
    x = np.zeros((0, 32), np.float32)
    assert quantize(x, fmt).shape == (0, 32)
    assert quantize_codes(x, fmt).dequantize().shape == (0, 32)


# -- float64 input -------------------------------------------------------------------------------
def test_float64_input_beyond_float32_range_saturates():
    """A finite float64 input is not NaN/Inf, so its block must not become NaN. The ceil rule
    is 2^ceil(log2(amax/Qmax)) "clipped to the UE8M0 range" (issue; the study's Eq. 9 clips
    to [-127, 127]), so the scale is 2^127 and the large element saturates to
    127/64 x 2^127; the 1.0s are below half a step and give 0. intfp casts to float32 first,
    1e39 becomes Inf and the whole block is NaN (with a RuntimeWarning from the cast)."""
    x = np.array([1e39] + [1.0] * 31, np.float64)
    q = quantize(x, "mxint8", scale_rule="ceil")
    assert np.isfinite(q).all()
    assert q[0] == np.float32(127 / 64 * 2.0 ** 127) and np.all(q[1:] == 0)


# -- public element API --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["e4m3", "int8"])
def test_round_to_grid_accepts_scalars(name):
    """round_to_grid is public (intfp.models.__all__) and documented for "float32 values v";
    a 0-d array or a scalar must round like a 1-element array. np.clip / np.multiply return
    a numpy scalar for 0-d input, and the in-place np.rint(out=t) then raises
    TypeError: return arrays must be of ArrayType."""
    elem = ELEMENT_FORMATS[name]
    want = round_to_grid(np.array([1.3], np.float32), elem)[0]
    assert round_to_grid(np.float32(1.3), elem) == want
    assert round_to_grid(np.array(1.3, np.float32), elem) == want


# -- thread pool ---------------------------------------------------------------------------------
def test_nan_block_gives_no_runtime_warning_in_pool():
    """A NaN/Inf block is a documented, handled case (whole block NaN). Its scale is set to
    2^-127, so the finite values of that block overflow in x * 2^127; quantize wraps that in
    np.errstate, but errstate is thread-local and the work runs on pool threads for inputs
    of more than one chunk, so a RuntimeWarning escapes (and becomes an exception under
    -W error). Single-chunk inputs are silent, so the behaviour depends on the input size."""
    x = np.random.default_rng(0).standard_normal((4000, 32)).astype(np.float32)
    x[5, 3] = np.nan
    x[5, 4] = 3.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        q = quantize(x, "mxfp8")
    assert np.isnan(q[5]).all()


_X_FORK = np.ones((4000, 32), np.float32)


def _child(queue):
    queue.put(float(quantize(_X_FORK, "mxfp8").sum()))


def test_quantize_works_in_a_forked_child():
    """blocks._pool() caches one ThreadPoolExecutor per process (lru_cache). After os.fork (the
    default start method of multiprocessing / ProcessPoolExecutor on Linux, used by
    analysis/flow.py's sweep) the child inherits the executor object but not its threads,
    so its first multi-chunk quantize waits forever. Recreate the pool after fork
    (os.register_at_fork(after_in_child=_pool.cache_clear)) or check os.getpid()."""
    quantize(_X_FORK, "mxfp8")                 # the parent's pool now exists
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    p = ctx.Process(target=_child, args=(queue,))
    p.start()
    p.join(20)
    hung = p.is_alive()
    if hung:
        p.kill()
        p.join()
    assert not hung, "quantize hung in a forked child"
    assert queue.get(timeout=5) == float(_X_FORK.size)
