"""RTL units and components in Amaranth's simulator, bit for bit against models/hwmodel.py.

Fast unit tests (no external tools). Volume checks of the exported Verilog on Icarus are in
tests/test_rtl_cocotb.py.
"""
import numpy as np
import pytest
from amaranth.sim import Simulator

from intfp.models import hwmodel as hw
from intfp.models.formats import ELEMENT_FORMATS, PRESETS
from intfp.rtl.components import (AdderTree, Aligner, ComparatorTree, FP32Adder, LaneMultiplier,
                                  Normalizer)
from intfp.rtl.units import BlockDotUnit, ScalarMAC, make_unit, unit_names
from intfp.sim import vectors as vec
from intfp.sim.pysim import simulate_pysim


def _comb(dut, inputs: dict, outputs: list, n: int):
    """Drive ``n`` rows of plain-int inputs through a combinational component; collect outputs."""
    got = {name: [] for name in outputs}

    async def tb(ctx):
        for j in range(n):
            for name, values in inputs.items():
                ctx.set(getattr(dut, name), int(values[j]))
            for name in outputs:
                got[name].append(ctx.get(getattr(dut, name)))

    sim = Simulator(dut)
    sim.add_testbench(tb)
    sim.run()
    return {k: np.array(v, dtype=np.int64) for k, v in got.items()}


def _assert_clean(bad: dict):
    assert {k: len(v) for k, v in bad.items()} == {k: 0 for k in bad}, \
        {k: v[:5].tolist() for k, v in bad.items()}


# -- construction -------------------------------------------------------------------------------

def test_unit_names_cover_the_presets():
    assert unit_names() == list(PRESETS)
    assert unit_names("scalar") == list(ELEMENT_FORMATS)


@pytest.mark.parametrize("fmt, kwargs, match", [
    ("mxfp9", {}, "unknown fmt"),
    ("e4m3", {"kind": "block"}, "element format without a block scale"),
    ("mxfp8", {"lanes": 12}, "lanes must be a power of two"),
    ("mxfp8", {"window": 6}, "window must be an int >= 8"),
    ("mxint8", {"window": 20}, "window applies to FP elements only"),
    ("mxfp8", {"pipeline": 4}, "pipeline must be an int from 0 to 3"),
    ("mxfp8", {"depth": 2}, "unknown parameter"),
    ("mxfp8", {"kind": "systolic"}, "kind must be one of"),
    ("fp7", {"kind": "scalar"}, "unknown fmt"),
    ("int8", {"kind": "scalar", "acc_bits": 8}, "unknown parameter"),
    ("mxint4", {"lanes": 512}, "lanes must be a power of two from 1 to 256"),
    ("mxfp8+nvint4", {}, "unknown mixed unit"),
    ("e4m3", {"kind": "scalar", "window": 16}, "window applies to FP block units only"),
])
def test_bad_parameters_raise_value_error_naming_them(fmt, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_unit(fmt, **kwargs)


def test_kind_is_inferred_from_the_name():
    assert make_unit("e4m3").unit.kind == "scalar"
    assert make_unit("mxint8+nvint4").unit.kind == "mixed"
    assert make_unit("mxfp8", lanes=4).unit.kind == "block"


def test_component_parameter_checks():
    with pytest.raises(ValueError, match="acc_bits must be an int >= 16"):
        ScalarMAC("int8", acc_bits=8)
    with pytest.raises(ValueError, match="acc_bits must be 32"):
        ScalarMAC("e4m3", acc_bits=16)
    with pytest.raises(ValueError, match="unknown element format"):
        LaneMultiplier("fp7")
    with pytest.raises(ValueError, match="lanes must be a power of two"):
        AdderTree(8, 6)
    with pytest.raises(ValueError, match="window must be an int >= 8"):
        Aligner(8, 5, 4, 7)


def test_sub_blocks_are_named_after_table6():
    from amaranth.hdl import Fragment
    frag = Fragment.get(make_unit("mxfp8", lanes=4), None)
    names = {name for _, name, _ in frag.subfragments}
    assert names == {"multiplier_0", "multiplier_1", "multiplier_2", "multiplier_3", "comparator",
                     "aligner", "adder_tree", "dequantizer", "normalizer", "accumulator"}
    frag = Fragment.get(make_unit("mxint8", lanes=2), None)
    assert {name for _, name, _ in frag.subfragments} == {
        "multiplier_0", "multiplier_1", "adder_tree", "dequantizer", "normalizer", "accumulator"}


# -- components ---------------------------------------------------------------------------------

@pytest.mark.parametrize("elem", ["int4", "int6", "e2m1", "e2m3", "e3m2"])
def test_lane_multiplier_exhaustive_small_formats(elem):
    e = ELEMENT_FORMATS[elem]
    c = np.arange(e.num_codes)
    a, b = np.repeat(c, e.num_codes), np.tile(c, e.num_codes)
    lp = hw.lane_product(e, a, b)
    if e.kind == "int":
        got = _comb(LaneMultiplier(e), {"a": a, "b": b}, ["product"], len(a))
        np.testing.assert_array_equal(got["product"], lp.product)
    else:
        got = _comb(LaneMultiplier(e), {"a": a, "b": b}, ["sign", "exp", "sig", "nan", "inf"], len(a))
        for f in ("sign", "exp", "sig", "nan", "inf"):
            np.testing.assert_array_equal(got[f], getattr(lp, f).astype(np.int64), err_msg=f)


@pytest.mark.parametrize("elem", ["e4m3", "e5m2"])
def test_lane_multiplier_fp8_specials_and_sample(elem):
    e = ELEMENT_FORMATS[elem]
    rng = np.random.default_rng(0)
    specials = [c for c in (*e.nan_codes, e.inf_code) if c is not None]
    a = np.concatenate([rng.integers(0, 256, 600), specials, [s | 0x80 for s in specials], [0, 0x80]])
    b = np.concatenate([rng.integers(0, 256, 600), [0] * len(specials), [0x38] * len(specials),
                        (specials * 2)[:2]])
    lp = hw.lane_product(e, a, b)
    got = _comb(LaneMultiplier(e), {"a": a, "b": b}, ["sign", "exp", "sig", "nan", "inf"], len(a))
    for f in ("sign", "exp", "sig", "nan", "inf"):
        np.testing.assert_array_equal(got[f], getattr(lp, f).astype(np.int64), err_msg=f)


def test_normalizer_matches_to_fp32():
    rng = np.random.default_rng(3)
    n = 1500
    mag = rng.integers(0, 1 << 30, n) >> rng.integers(0, 30, n)
    exp = rng.integers(-330, 230, n)
    sign = rng.integers(0, 2, n)
    want = hw.to_fp32(np.where(sign == 1, -mag, mag), exp)
    want = np.where(mag == 0, sign.astype(np.uint32) << np.uint32(31), want)   # signed zero in
    got = _comb(Normalizer(30), {"sign": sign, "mag": mag, "exp": exp}, ["result"], n)
    np.testing.assert_array_equal(got["result"], want.astype(np.int64))


def test_fp32_adder_matches_ieee():
    rng = np.random.default_rng(4)
    n = 1500
    a = rng.integers(0, 1 << 32, n, dtype=np.uint64).astype(np.uint32)
    b = rng.integers(0, 1 << 32, n, dtype=np.uint64).astype(np.uint32)
    small = rng.random(n) < 0.3
    near = (a[small] & 0x7FFFFFFF) + rng.integers(-4, 5, small.sum()).astype(np.uint32)
    b[small] = (a[small] & 0x80000000) ^ 0x80000000 | near          # near-cancellation
    tiny = rng.random(n) < 0.2
    a[tiny] &= 0x80FFFFFF                 # subnormals and exponent 1
    got = _comb(FP32Adder(), {"a": a, "b": b}, ["sum"], n)
    np.testing.assert_array_equal(got["sum"], hw.fp32_add(a, b).astype(np.int64))


def test_comparator_and_adder_trees():
    rng = np.random.default_rng(5)
    exps = rng.integers(0, 32, (200, 8))
    cmp = ComparatorTree(5, 8)
    got = []

    async def tb(ctx):
        for row in exps:
            for i, e in enumerate(row):
                ctx.set(cmp.exp[i], int(e))
            got.append(ctx.get(cmp.max))

    sim = Simulator(cmp)
    sim.add_testbench(tb)
    sim.run()
    np.testing.assert_array_equal(got, exps.max(1))

    terms = rng.integers(-128, 128, (200, 8))
    tree = AdderTree(8, 8)
    sums = []

    async def tb2(ctx):
        for row in terms:
            for i, t in enumerate(row):
                ctx.set(tree.terms[i], int(t))
            sums.append(ctx.get(tree.sum))

    sim = Simulator(tree)
    sim.add_testbench(tb2)
    sim.run()
    np.testing.assert_array_equal(sums, terms.sum(1))


# -- units --------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", list(PRESETS))
def test_block_unit_small_lanes(fmt):
    spec = hw.dot_spec(fmt, 4)
    v = vec.block_vectors(spec, vec.block_stimulus(spec, 150, seed=1))
    _, bad = simulate_pysim(BlockDotUnit(spec), v)
    _assert_clean(bad)


@pytest.mark.parametrize("fmt", ["mxfp8_e4m3", "mxint8", "nvfp4"])
def test_block_unit_full_width(fmt):
    spec = hw.dot_spec(fmt)
    v = vec.block_vectors(spec, vec.block_stimulus(spec, 30, seed=2))
    _, bad = simulate_pysim(BlockDotUnit(spec), v)
    _assert_clean(bad)


@pytest.mark.parametrize("fmt, window", [("mxfp8_e4m3", 8), ("mxfp8_e4m3", 36), ("mxfp8_e5m2", 12)])
def test_block_unit_window_parameter(fmt, window):
    spec = hw.dot_spec(fmt, 4, window)
    v = vec.block_vectors(spec, vec.block_stimulus(spec, 100, seed=3))
    _, bad = simulate_pysim(BlockDotUnit(spec), v)
    _assert_clean(bad)


@pytest.mark.parametrize("pipeline", [1, 2, 3])
@pytest.mark.parametrize("fmt", ["mxfp8_e5m2", "nvint4", "mxint8"])
def test_block_unit_pipelined(fmt, pipeline):
    """A pipelined unit's outputs equal the combinational unit's shifted by its latency: the
    expected rows are the model's, delayed by ``pipeline`` cycles (``dot``) and one more (``acc``)."""
    spec = hw.dot_spec(fmt, 4)
    v = vec.block_vectors(spec, vec.block_stimulus(spec, 100, seed=4), pipeline=pipeline)
    dut = BlockDotUnit(spec, pipeline=pipeline)
    assert dut.latency == pipeline + 1
    _, bad = simulate_pysim(dut, v)
    _assert_clean(bad)


def test_pipeline_levels_are_their_own_sub_blocks():
    from amaranth.hdl import Fragment
    spec = hw.dot_spec("mxint4", 2)
    names = [n for _, n, _ in Fragment.get(BlockDotUnit(spec, pipeline=3), None).subfragments]
    assert {"pipe_lanes", "pipe_tree", "pipe_norm"} <= set(names)
    names = [n for _, n, _ in Fragment.get(BlockDotUnit(spec, pipeline=1), None).subfragments]
    assert "pipe_tree" in names and "pipe_lanes" not in names


@pytest.mark.parametrize("elem", ["int4", "e2m1"])
def test_scalar_mac_every_pair(elem):
    v = vec.scalar_vectors(elem, seed=5)
    _, bad = simulate_pysim(ScalarMAC(elem), v)
    _assert_clean(bad)


def test_scalar_int_mac_wraps():
    v = vec.scalar_vectors("int6", seed=6, acc_bits=12)
    _, bad = simulate_pysim(ScalarMAC("int6", acc_bits=12), v)
    _assert_clean(bad)


@pytest.mark.parametrize("name", ["mxint8+nvint4", "mxfp8+nvfp4"])
def test_mixed_unit_both_modes(name):
    from intfp.sim.mixed_vectors import mixed_vectors
    v = mixed_vectors(name, 100, seed=7, lanes=16)
    _, bad = simulate_pysim(make_unit(name, kind="mixed", lanes=16), v)
    _assert_clean(bad)


def test_mixed_unit_parameters():
    assert unit_names("mixed") == ["mxfp8+nvfp4", "mxint8+nvint4"]
    with pytest.raises(ValueError, match="unknown mixed unit"):
        make_unit("mxfp8+nvint4", kind="mixed")
    with pytest.raises(ValueError, match="lanes must be a power of two >= 16"):
        make_unit("mxint8+nvint4", kind="mixed", lanes=8)
    unit = make_unit("mxint8+nvint4", kind="mixed")
    unit._MustUse__silence = True            # constructed to read its parameters only
    assert unit.channels == 4 and unit.lanes == 32


def test_block_unit_directed_corners():
    """Zero x max next to a tiny product, exact cancellation, a NaN scale, overflow to Inf."""
    spec = hw.dot_spec("mxfp8_e4m3", 4)
    a = np.array([[0x7E, 0x01, 0, 0], [0x38, 0x38, 0, 0], [0x38, 0, 0, 0], [0x7E] * 4])
    b = np.array([[0x00, 0x01, 0, 0], [0x38, 0xB8, 0, 0], [0x38, 0, 0, 0], [0x7E] * 4])
    stim = vec.BlockStimulus(a, b, np.array([127, 127, 0xFF, 254]), np.array([127, 127, 127, 254]),
                             np.array([True, False, True, True]), np.array(["directed"] * 4))
    v = vec.block_vectors(spec, stim)
    samples, bad = simulate_pysim(BlockDotUnit(spec), v)
    _assert_clean(bad)
    dot = v.decode("dot", samples["dot"][v.mask["dot"]]).astype(np.uint32)   # the valid rows
    np.testing.assert_array_equal(dot, [hw.f32_to_bits(np.float32(2.0 ** -18)), 0, hw.FP32_NAN,
                                        hw.FP32_INF])


# -- the checks catch a unit that breaks the port timing (mutation tests) -----------------------

class _Mutant:
    """Wrap a unit with one deliberate defect, same ports: ``ignore_valid`` (the unit sees
    valid = 1 on every edge, acc_valid / dot_valid stuck at 1) or ``late`` (the named outputs
    come one clock late)."""

    @staticmethod
    def make(inner, defect, late=("dot", "dot_valid")):
        from amaranth import Module, Value
        from amaranth.lib import wiring

        class M(wiring.Component):
            def __init__(self):
                super().__init__(dict(inner.signature.members.items()))

            def elaborate(self, platform):
                m = Module()
                m.submodules.inner = inner
                for name, member in inner.signature.members.items():
                    mine, theirs = getattr(self, name), getattr(inner, name)
                    if member.flow == wiring.In:
                        all_ones = (1 << len(Value.cast(mine))) - 1
                        value = all_ones if (defect == "ignore_valid" and name == "valid") else mine
                        m.d.comb += theirs.eq(value)
                    elif defect == "late" and name in late:
                        m.d.sync += mine.eq(theirs)
                    elif defect == "ignore_valid" and name in ("acc_valid", "dot_valid"):
                        m.d.comb += mine.eq((1 << len(Value.cast(mine))) - 1)
                    else:
                        m.d.comb += mine.eq(theirs)
                return m

        return M()


def _caught(dut, v):
    _, bad = simulate_pysim(dut, v)
    return sum(len(x) for x in bad.values()) > 0


@pytest.mark.parametrize("defect", ["ignore_valid", "late"])
def test_scalar_vectors_catch_a_wrong_mac(defect):
    v = vec.scalar_vectors("int4", seed=1, limit=120)
    assert _caught(_Mutant.make(ScalarMAC("int4"), defect, late=("product",)), v)


def test_pipelined_vectors_catch_a_late_dot():
    spec = hw.dot_spec("nvint4", 4)
    v = vec.block_vectors(spec, vec.block_stimulus(spec, 44, seed=2), pipeline=1)
    assert _caught(_Mutant.make(BlockDotUnit(spec, pipeline=1), "late"), v)
    assert _caught(_Mutant.make(BlockDotUnit(spec, pipeline=1), "ignore_valid"), v)


@pytest.mark.parametrize("defect", ["ignore_valid", "late"])
def test_mixed_vectors_catch_a_wrong_unit(defect):
    from intfp.sim.mixed_vectors import mixed_vectors
    v = mixed_vectors("mxint8+nvint4", 24, seed=3, lanes=16)
    assert _caught(_Mutant.make(make_unit("mxint8+nvint4", kind="mixed", lanes=16), defect), v)


@pytest.mark.parametrize("arch", hw.LANE_ARCHS["int"])
@pytest.mark.parametrize("fmt", ["mxint8", "nvint4", "mxint6"])
def test_block_unit_lane_architectures_equal_the_model(fmt, arch):
    """Every INT lane architecture in a block unit (4 lanes, a pipelined variant too) against
    the model on random and corner blocks (uniform codes include -2^(b-1), which the
    sign-magnitude lanes read as 0 by contract, and the model with them)."""
    spec = hw.dot_spec(fmt, 4, lane_arch=arch)
    for p in (0, 2):
        v = vec.block_vectors(spec, vec.block_stimulus(spec, 60, seed=3), pipeline=p)
        _, bad = simulate_pysim(BlockDotUnit(spec, pipeline=p), v)
        _assert_clean(bad)


def test_signmag_contract_in_the_model():
    import numpy as np
    a = np.array([[0x80, 1, 2, 3]])            # -128 in the first lane
    b = np.array([[0x7F, 1, 1, 1]])
    twos = hw.bits_to_f32(hw.block_dot("mxint8", a, b, 127, 127, lane_arch="twos"))
    sm = hw.bits_to_f32(hw.block_dot("mxint8", a, b, 127, 127, lane_arch="signmag"))
    assert twos[0] == (-128 * 127 + 6) * 2.0 ** -12 and sm[0] == 6 * 2.0 ** -12
    with pytest.raises(ValueError, match="needs a symmetric INT format"):
        hw.dot_spec("mxint8_asym", 4, lane_arch="signmag")
    with pytest.raises(ValueError, match="allowed: standard"):
        hw.dot_spec("mxfp8", 4, lane_arch="booth")


@pytest.mark.parametrize("words", [dict(unit="mxint8", lane_arch="booth"), dict(unit="e4m3"),
                                   dict(unit="int4"), dict(unit="mxint8+nvint4"),
                                   dict(unit="mxfp8", lanes=4, window=16, pipeline=2)])
def test_spec_key_rebuilds_the_same_spec(words):
    from intfp.models.spec import resolve_unit
    unit = words.pop("unit")
    spec = resolve_unit(unit, **words)
    again = resolve_unit(**spec.key())
    assert again == spec and again.top == spec.top and again.key() == spec.key()
