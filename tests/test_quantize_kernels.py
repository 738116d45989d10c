"""The fast quantize kernels (models/qkernels.py) against the reference path, bit for bit.

``quantize`` runs qkernels for ``rounding="even"``; ``blocks._quantize(..., fast=False)`` runs
the reference path (elements.round_to_grid, blocks._run), which the golden and torchao-oracle
tests pin. Every preset, scale rule and granularity is compared here on adversarial inputs
(random bit patterns, i.e. NaN / Inf / float32 subnormals anywhere; grid values and ties under
random block scales; saturation; zeros of both signs; tiny and huge blocks), so a change to
either path that moves one bit fails.
"""
import re
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

import intfp.models.blocks as blocks
import intfp.models.qkernels as qk
from intfp.models import ELEMENT_FORMATS, PRESETS, block_format, quantize
from intfp.models.formats import ElementFormat

K = 32


@pytest.fixture(scope="session")
def c_lib_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("qkernel") / "qkernel.so"
    try:
        qk.build_c_library(path)
    except RuntimeError as e:
        pytest.skip(f"the C back end could not be built here: {e}")
    return path


@pytest.fixture(params=["torch", "c"], autouse=True)
def backend(request, monkeypatch):
    """Every test here runs on both back ends of qkernels: the torch ops and the C loops."""
    if request.param == "c":
        monkeypatch.setenv("INTFP_QKERNEL_LIB", str(request.getfixturevalue("c_lib_path")))
        monkeypatch.setattr(qk, "BACKEND", "auto")
    else:
        monkeypatch.setattr(qk, "BACKEND", "torch")
    qk.c_library.cache_clear()
    assert (qk.c_library() is not None) == (request.param == "c")
    yield request.param
    qk.c_library.cache_clear()


def _bits_equal(a, b):
    return a.shape == b.shape and np.array_equal(np.asarray(a).view(np.uint32),
                                                np.asarray(b).view(np.uint32))


def _explain(x, a, b):
    i = np.flatnonzero(a.view(np.uint32).ravel() != b.view(np.uint32).ravel())
    return f"{i.size} differ, e.g. x={x.ravel()[i[:3]]} fast={a.ravel()[i[:3]]} ref={b.ravel()[i[:3]]}"


def adversarial(elem, seed=0, finite=False) -> np.ndarray:
    """(n, 64) float32 rows mixing every hard case; NaN / Inf only where ``finite`` is False."""
    r = np.random.default_rng(seed)
    parts = []
    # random bit patterns: NaN, Inf, subnormals, huge and tiny values, both signs
    parts.append(r.integers(0, 1 << 32, (64, 64), dtype=np.uint64).astype(np.uint32).view(np.float32))
    # Gaussian and heavy-tailed blocks under scales from 2^-149 to 2^120
    g = r.standard_t(2, (256, 64)) * np.ldexp(1.0, r.integers(-150, 120, (256, 1)))
    parts.append(g.astype(np.float32))
    # grid values, midpoints (ties) and their float32 neighbours, block max pinned at max,
    # so the scale is 2^0 (floor and ceil), times a random power of two
    table = elem.decode_table()
    grid = np.unique(np.abs(table[np.isfinite(table)]))
    mids = (grid[:-1] + grid[1:]) / 2
    vals = np.concatenate([grid, mids]).astype(np.float32)
    vals = np.concatenate([vals, np.nextafter(vals, np.float32(0)), np.nextafter(vals, np.float32(np.inf))])
    b = r.choice(vals, (256, 64)) * r.choice([-1, 1], (256, 64))
    b[:, ::K] = elem.max
    parts.append((b * np.ldexp(1.0, r.integers(-100, 100, (256, 1)))).astype(np.float32))
    # saturation: values just below 2^(emax+1) (the floor rule's top binade) and above max
    s = r.uniform(elem.max, 2.0 ** (elem.emax + 1), (32, 64)) * r.choice([-1, 1], (32, 64))
    parts.append(s.astype(np.float32))
    # block amax at max x 2^k and 2^k and one ulp either side (where floor and ceil step)
    amax = np.concatenate([np.ldexp(np.float32(elem.max), r.integers(-150, 127 - elem.emax, 24)),
                           np.ldexp(np.float32(1), r.integers(-149, 127, 24))]).astype(np.float32)
    amax = np.concatenate([amax, np.nextafter(amax, np.float32(0)), np.nextafter(amax, np.float32(np.inf))])
    b = (r.uniform(-1, 1, (amax.size, 64)) * amax[:, None]).astype(np.float32)
    b[:, ::K] = amax[:, None]
    parts.append(b)
    # float32-subnormal and tiny blocks (scales at the UE8M0 floor 2^-127)
    parts.append((r.standard_normal((32, 64)) * 2.0 ** -130).astype(np.float32))
    parts.append((r.standard_normal((32, 64)) * 2.0 ** -118).astype(np.float32))
    # huge blocks (scale clipped at 2^127 under ceil), zeros of both signs, small negatives
    parts.append((r.uniform(-1, 1, (16, 64)) * 3.4e38).astype(np.float32))
    z = np.zeros((16, 64), np.float32)
    z[::2] = -0.0
    z[1::4, 5] = -1e-30                         # rounds to -0.0 in a block of scale 2^-127
    parts.append(z)
    x = np.concatenate(parts)
    x = x[r.permutation(x.shape[0])]
    if finite:
        x = np.where(np.isfinite(x), x, np.float32(0.5)).astype(np.float32)
    else:
        x[r.random(x.shape) < 0.002] = r.choice([np.nan, np.inf, -np.inf], 1)[0]
    return x


def _both(x, fmt, **kw):
    kw = {"block_size": None, "scale_rule": None, "rounding": "even", "axis": -1, "seed": None,
          "pad": True, **kw}
    with np.errstate(all="ignore"):
        fast = blocks._quantize(x, fmt, fast=True, **kw)
        ref = blocks._quantize(x, fmt, fast=False, **kw)
    return fast, ref


def _cases():
    for name, bf in [*PRESETS.items(), ("mxint8_asym", None), ("mxint4_asym", None)]:
        bf = block_format(name)
        for rule in bf.scale.rules:
            for bs in (None, 7, "channel", "tensor"):
                yield pytest.param(name, rule, bs, id=f"{name}-{rule}-{bs}")


@pytest.mark.parametrize("fmt,rule,bs", list(_cases()))
def test_fast_equals_reference_every_preset(fmt, rule, bs):
    elem = block_format(fmt).element
    for finite in (False, True):
        x = adversarial(elem, seed=zlib.crc32(f'{fmt}{rule}{bs}'.encode()), finite=finite)
        fast, ref = _both(x, fmt, scale_rule=rule, block_size=bs)
        assert _bits_equal(fast, ref), _explain(x, fast, ref)


@pytest.mark.parametrize("elem", [*ELEMENT_FORMATS, "int8_asym"])
@pytest.mark.parametrize("bs", ["channel", K])
def test_fast_equals_reference_fp32_scales(elem, bs):
    bf = block_format(elem, block_size=bs, scale="fp32")
    x = adversarial(bf.element, seed=3)
    fast, ref = _both(x, bf, block_size=bs)
    assert _bits_equal(fast, ref), _explain(x, fast, ref)


@pytest.mark.parametrize("elem", [*ELEMENT_FORMATS, "int4_asym"])
def test_fast_equals_reference_direct_cast(elem):
    e = block_format(elem).element
    x = adversarial(e, seed=4, finite=True)
    x[:, :8] = np.clip(x[:, :8], -4 * e.max, 4 * e.max)   # many values on the element's grid range
    x[:, 8:16] *= np.float32(2.0 ** -100)                 # and many far below it
    fast, ref = _both(x, elem)
    assert _bits_equal(fast, ref), _explain(x, fast, ref)
    # NaN / Inf in a direct cast: the reference path keeps or rejects them (same behaviour)
    if e.has_nan:
        x[0, 0] = np.nan
        fast, ref = _both(x, elem)
        assert _bits_equal(fast, ref) and np.isnan(fast[0, 0])


def test_hand_computed_ties_and_signed_zero():
    """Pins the magic-number rounding on cases computed by hand (MXFP8 E4M3, MXINT8)."""
    x = np.zeros((1, 32), np.float32)
    x[0, :6] = [448.0, 9.5, 10.5, -11.0, -0.0004, 2.0 ** -10 * 3]     # scale 2^0 (amax 448)
    q = quantize(x, "mxfp8")
    # 9.5 and 10.5 are ties on the step-1 binade [8, 16): to even -> 10 and 10; -11 is on the
    # grid (step 1); -0.0004 (below half the least subnormal, 2^-10) rounds to -0.0; 3 * 2^-10 is a tie between the E4M3 subnormals
    # 2^-9 and 2^-8 (step 2^-9): to even -> 2^-8.
    assert q[0, :6].tolist() == [448.0, 10.0, 10.0, -11.0, 0.0, 2.0 ** -8]
    assert np.signbit(q[0, 4]) and not np.signbit(q[0, 6])
    y = np.zeros((1, 32), np.float32)
    y[0, :4] = [1.0, 1.5 / 64, 2.5 / 64, -0.4 / 64]       # MXINT8, scale 2^0, step 1/64
    qi = quantize(y, "mxint8")
    assert qi[0, :4].tolist() == [1.0, 2 / 64, 2 / 64, 0.0] and not np.signbit(qi[0, 3])


def test_chunking_and_threads_do_not_change_results(monkeypatch):
    """Many chunks with a partial last one, and the worker-thread path (above torch's grain),
    give the same bits as one chunk, for a block-scaled and an NV format."""
    x = adversarial(ELEMENT_FORMATS["e4m3"], seed=5)
    x = np.concatenate([x] * 4)                          # > 32768 elements: the worker path
    assert x.size > qk._TORCH_GRAIN
    for fmt in ("mxfp8", "nvfp4", "mxint4"):
        one = quantize(x, fmt)
        monkeypatch.setattr(qk, "CHUNK_ELEMS", 1000)    # 31-row chunks of 32, 15 of 64
        many = quantize(x, fmt)
        monkeypatch.undo()
        ref = _both(x, fmt)[1]
        assert _bits_equal(one, ref) and _bits_equal(many, ref), fmt


def test_torch_input_and_read_only_input():
    x = adversarial(ELEMENT_FORMATS["e2m1"], seed=6, finite=True)
    x.setflags(write=False)
    q = quantize(x, "mxfp4")                             # read-only arrays are never written
    assert _bits_equal(q, _both(x, "mxfp4")[1])
    qt = quantize(torch.from_numpy(x.copy()), "mxfp4")
    assert isinstance(qt, torch.Tensor) and _bits_equal(qt.numpy(), q)


def test_only_even_rounding_takes_the_fast_path(monkeypatch):
    """away / stochastic rounding and codes never reach qkernels (they would be wrong there)."""
    def boom(*a, **k):
        raise AssertionError("qkernels used")
    monkeypatch.setattr(qk, "quantize_values", boom)
    x = adversarial(ELEMENT_FORMATS["e4m3"], seed=7, finite=True)
    quantize(x, "mxfp8", rounding="away")
    quantize(x, "mxfp8", rounding="stochastic", seed=1)
    blocks.quantize_codes(x, "mxfp8")
    with pytest.raises(AssertionError, match="qkernels used"):
        quantize(x, "mxfp8")


# --------------------------------------------------------------------------------------------
# The fused power-of-two-scale kernel (qkernels._Job._fused) and its exact range
# --------------------------------------------------------------------------------------------
# Formats built from numbers only (not presets): the kernels must not depend on preset names.
CUSTOM = [
    ElementFormat(name="e3m3", kind="fp", bits=7, ebits=3, mbits=3, max=30.0),
    ElementFormat(name="e2m2", kind="fp", bits=5, ebits=2, mbits=2, max=7.0),
    ElementFormat(name="e5m4", kind="fp", bits=10, ebits=5, mbits=4, max=2.0 ** 15 * 1.9375),
    ElementFormat(name="int5", kind="int", bits=5, mbits=3, max=15 / 8, code_min=-15, code_max=15),
]


def _path_counts(monkeypatch):
    """Count chunks that ran the fused and the scaled kernel."""
    counts = {"fused": 0, "scaled": 0}
    for name in counts:
        orig = getattr(qk._Job, f"_{name}")

        def wrapped(self, *a, _orig=orig, _name=name):
            counts[_name] += 1
            return _orig(self, *a)
        monkeypatch.setattr(qk._Job, f"_{name}", wrapped)
    return counts


def test_fused_range_hand_computed():
    """The scale exponents s where the fused kernel is exact, derived by hand:
    FP: emin + s >= -126 and emax + s - M + 23 <= 127; INT: -126 <= s - (bits - 2) + 23 <= 127."""
    def rng(elem, rule="floor"):
        t = qk._ue8m0_tables(elem, rule)
        return t.vlo - 127, t.vhi - 127
    assert rng(ELEMENT_FORMATS["e4m3"]) == (-120, 99)        # emin -6, emax 8, M 3
    assert rng(ELEMENT_FORMATS["e5m2"]) == (-112, 91)        # emin -14, emax 15, M 2
    assert rng(ELEMENT_FORMATS["e2m1"]) == (-126, 103)       # emin 0, emax 2, M 1
    assert rng(ELEMENT_FORMATS["int8"]) == (-127, 110)       # q = 2^-6
    assert rng(CUSTOM[0]) == (-124, 103)                     # e3m3: emin -2, emax 4, M 3
    t = qk._ue8m0_tables(ELEMENT_FORMATS["e4m3"], "floor")
    assert t.hi[127] == 448.0 and t.hi[127 + 3] == 448.0 * 8
    assert t.eminb[127] == np.float32(2.0 ** -6).view(np.int32)
    ti = qk._ue8m0_tables(ELEMENT_FORMATS["int8"], "floor")
    assert ti.magic[127] == 1.5 * 2.0 ** 17 and ti.lo[127] == -127 / 64 and ti.hi[127 + 1] == 127 / 32


@pytest.mark.parametrize("elem", [ELEMENT_FORMATS["e4m3"], ELEMENT_FORMATS["e5m2"],
                                  ELEMENT_FORMATS["e2m1"], ELEMENT_FORMATS["int8"],
                                  ELEMENT_FORMATS["int4"], *CUSTOM], ids=lambda e: e.name)
@pytest.mark.parametrize("rule", ["floor", "ceil"])
def test_fused_every_scale_exponent(elem, rule, monkeypatch):
    """One block per UE8M0 scale exponent s = -127 .. 127 (block max max * 2^s, its float32
    neighbours and 2^s), grid values, ties and their neighbours inside, one block per chunk: the
    fused kernel runs where s is in its range, the scaled kernel elsewhere, both bit-exact."""
    bf = block_format(elem, block_size=K)
    r = np.random.default_rng(11)
    table = elem.decode_table()
    grid = np.unique(np.abs(table[np.isfinite(table)]))
    vals = np.concatenate([grid, (grid[:-1] + grid[1:]) / 2]).astype(np.float32)
    vals = np.concatenate([vals, np.nextafter(vals, np.float32(0)), np.nextafter(vals, np.float32(9))])
    rows = []
    for s in range(-127, 128):
        for top in (np.float32(elem.max), np.nextafter(np.float32(elem.max), np.float32(0)),
                    np.nextafter(np.float32(elem.max), np.float32(9)), np.float32(1.0)):
            b = r.choice(vals, K) * r.choice([-1, 1], K)
            b[0] = top
            rows.append(np.ldexp(b.astype(np.float64), s))
    x = np.clip(np.array(rows), -3.4e38, 3.4e38).astype(np.float32)
    counts = _path_counts(monkeypatch)
    monkeypatch.setattr(qk, "CHUNK_ELEMS", K)
    fast, ref = _both(x, bf, scale_rule=rule)
    assert _bits_equal(fast, ref), _explain(x, fast, ref)
    t = qk._ue8m0_tables(elem, rule)
    assert counts["fused"] >= 4 * (t.vhi - t.vlo - 4) and counts["scaled"] > 0, counts


@pytest.mark.parametrize("fmt", ["mxfp8", "mxfp8_e5m2", "mxfp6_e3m2", "mxfp4", "mxint8", "mxint4_asym"])
def test_fused_path_on_adversarial_rows(fmt, monkeypatch):
    """Adversarial rows (NaN / Inf / zero / subnormal blocks included) in 8-row chunks: most
    chunks take the fused kernel, the rest the scaled one; every bit equals the reference."""
    elem = block_format(fmt).element
    counts = _path_counts(monkeypatch)
    monkeypatch.setattr(qk, "CHUNK_ELEMS", 8 * K)
    for rule in ("floor", "ceil"):
        x = adversarial(elem, seed=zlib.crc32(f"fused{fmt}{rule}".encode()))
        fast, ref = _both(x, fmt, scale_rule=rule)
        assert _bits_equal(fast, ref), _explain(x, fast, ref)
    assert counts["fused"] > 0 and counts["scaled"] > 0, counts


@pytest.mark.parametrize("elem", CUSTOM, ids=lambda e: e.name)
@pytest.mark.parametrize("scale", ["ue8m0", "e4m3", "fp32", "none"])
def test_custom_element_formats(elem, scale):
    """Element formats given as numbers only, under every scale kind (direct cast included)."""
    bs = None if scale == "none" else (16 if scale == "e4m3" else K)
    bf = block_format(elem, block_size=bs, scale=scale)
    x = adversarial(elem, seed=8, finite=scale == "none")
    fast, ref = _both(x, bf)
    assert _bits_equal(fast, ref), _explain(x, fast, ref)


def _count_chunk_passes(x, fmt, rule=None):
    """torch ops touching every element of the (single) chunk, counted at torch's dispatcher."""
    from torch.utils._python_dispatch import TorchDispatchMode
    n = x.size

    class Count(TorchDispatchMode):
        ops = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            flat = [*args, *kwargs.values(), *(out if isinstance(out, (tuple, list)) else [out])]
            name = str(func.overloadpacket.__name__)
            if (not func.is_view and not name.startswith("empty")            # allocations
                    and any(isinstance(t, torch.Tensor) and t.numel() == n for t in flat)):
                self.ops.append(name)
            return out

    with Count() as c:
        quantize(x, fmt, scale_rule=rule)
    return c.ops


@pytest.mark.parametrize("fmt,rule", [("mxfp8", "floor"), ("mxfp8", "ceil"), ("mxint8", "floor"),
                                      ("mxint8", "ceil"), ("nvfp4", None), ("nvint4", None),
                                      ("e4m3", None), ("int8", None)])
def test_reported_passes_match_the_kernel(fmt, rule, backend):
    """benchmarks/quantize_throughput.py reports qkernels.passes(); count them in the kernel
    (the C back end: no torch op touches the elements)."""
    x = np.random.default_rng(9).standard_normal((64, 256)).astype(np.float32)  # one chunk, inline
    assert x.size <= qk._TORCH_GRAIN and x.size <= qk.CHUNK_ELEMS
    bf, rule = blocks.resolve(fmt, None, rule)
    p = qk.passes(bf, rule)
    assert p["backend"] == backend
    ops = _count_chunk_passes(x, fmt, rule)
    assert len(ops) == (p["cache"] if backend == "torch" else 0), ops
    assert p["path"] == ("fused" if bf.scale.name == "ue8m0" else
                         "direct" if bf.scale.name == "none" else "scaled")


def test_nv_scales_equal_reference_at_e4m3_ties(backend):
    """qkernels._nv_scales (bit-trick E4M3 rounding) against scales._scales_for on block amax
    values whose s_b = amax / max / t lands on every E4M3 value, midpoint (tie) and neighbour,
    plus random bit patterns (NaN rows are masked by the caller, so compared on finite rows)."""
    from intfp.models import scales
    e4m3 = ELEMENT_FORMATS["e4m3"]
    grid = np.unique(np.abs(e4m3.decode_table()[np.isfinite(e4m3.decode_table())]))
    grid = grid[grid >= 2.0 ** -6]
    vals = np.concatenate([grid, (grid[:-1] + grid[1:]) / 2]).astype(np.float32)
    vals = np.concatenate([vals, np.nextafter(vals, np.float32(0)), np.nextafter(vals, np.float32(1e9))])
    r = np.random.default_rng(12)
    for fmt in ("nvfp4", "nvint4"):
        bf = block_format(fmt)
        for t in (np.float32(1.0), np.float32(2.0 ** -20), scales.nv_tensor_scale(np.float32(7.3), bf.element)):
            # amax such that amax / max / t == v exactly (powers of two t) or nearly
            amax = (vals.astype(np.float64) * bf.element.max * np.float64(t)).astype(np.float32)
            rand = r.integers(0, 0x7F800000, 4096, dtype=np.int64).astype(np.int32).view(np.float32)
            amax = np.concatenate([amax, rand, [0.0, 2.0 ** -149, 3.4e38]]).astype(np.float32)
            with np.errstate(all="ignore"):                  # huge amax / tiny t overflow
                inv, mul, nan = qk._nv_scales(amax, t, bf.element)
                ref = scales._scales_for(amax, bf, "nv", t, want_codes=False)
            if backend == "c":                                # the C loop of the same
                inv, mul = np.empty_like(amax), np.empty_like(amax)
                qk.c_library().nv_scales(amax.ctypes.data, amax.size, float(bf.element.max),
                                         float(t), inv.ctypes.data, mul.ctypes.data)
            assert nan is None and not ref.nan_rows.any()
            assert _bits_equal(inv, ref.inv) and _bits_equal(mul, ref.mul), t


@pytest.mark.parametrize("backend", ["torch"], indirect=True)   # about the build, not a back end
def test_c_build_errors_are_clear(tmp_path, monkeypatch, backend):
    """A compiler that fails or cannot run gives an error naming it, with its log tail; no
    library is left behind."""
    bad = tmp_path / "badcc"
    bad.write_text("#!/bin/sh\necho 'qkernel.c:1: error: something broke' >&2\nexit 3\n")
    bad.chmod(0o755)
    monkeypatch.setenv("CC", str(bad))
    with pytest.raises(RuntimeError, match=r"(?s)exit 3.*something broke"):
        qk.build_c_library(tmp_path / "k.so")
    monkeypatch.setenv("CC", str(tmp_path / "missing-cc"))
    with pytest.raises(RuntimeError, match="cannot run the C compiler"):
        qk.build_c_library(tmp_path / "k.so")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["badcc"]
    monkeypatch.delenv("INTFP_QKERNEL_LIB", raising=False)
    p = qk.c_library_path()                            # named by the source hash, in the env
    assert p.parent.parent.parent == Path(sys.prefix) and re.fullmatch(r"qkernel-[0-9a-f]{16}\.so", p.name)


@pytest.mark.parametrize("backend", ["torch"], indirect=True)   # about the build, not a back end
def test_backend_setting_errors(tmp_path, monkeypatch, backend):
    """A bad INTFP_QKERNEL value, or "c" without a built library, is a clear error."""
    x = np.ones((4, 32), np.float32)
    monkeypatch.setattr(qk, "BACKEND", "fast")
    qk.c_library.cache_clear()
    with pytest.raises(ValueError, match="'fast' is not a qkernels back end; allowed: auto"):
        quantize(x, "mxfp8")
    monkeypatch.setattr(qk, "BACKEND", "c")
    monkeypatch.setenv("INTFP_QKERNEL_LIB", str(tmp_path / "none.so"))
    qk.c_library.cache_clear()
    with pytest.raises(RuntimeError, match="not built at .*none.so; run python -m"):
        quantize(x, "mxfp8")
    monkeypatch.setattr(qk, "BACKEND", "auto")                 # auto: torch when not built
    qk.c_library.cache_clear()
    assert qk.c_library() is None and quantize(x, "mxfp8")[0, 0] == 1.0


@pytest.mark.parametrize("backend", ["torch"], indirect=True)   # about the build, not a back end
def test_build_module_reports_errors(tmp_path, monkeypatch, capsys, backend):
    """python -m intfp.models.qkernel_build: the library path, or the build error and exit 1."""
    from intfp.models import qkernel_build
    monkeypatch.setenv("INTFP_QKERNEL_LIB", str(tmp_path / "k.so"))
    monkeypatch.setenv("CC", str(tmp_path / "missing-cc"))
    assert qkernel_build.main([]) == 1
    assert "cannot run the C compiler" in capsys.readouterr().err
    assert qkernel_build.main(["extra"]) == 2
    (tmp_path / "k.so").write_bytes(b"")                   # present: kept, not rebuilt
    assert qkernel_build.main([]) == 0 and capsys.readouterr().out.strip() == str(tmp_path / "k.so")
    assert qkernel_build.main(["--force"]) == 1             # --force rebuilds (and fails here)
