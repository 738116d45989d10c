"""INT lane architectures (rtl/lanes.py) against the reference model, bit for bit.

* every architecture, every pair of codes: widths 2..6 in Amaranth's simulator (the RTL's own
  semantics), widths 7 and 8 on the netlist Yosys maps onto the bundled library, simulated
  bit-parallel (``Netlist.simulate``: all 65,536 pairs in one step; this also proves the
  mapped netlist); widths 7 and 8 in Amaranth's simulator under ``-m slow`` (~3 min);
* the sign-magnitude adder tree: random and corner rows (all max, all min, alternating signs,
  zeros, negative zeros) against numpy's exact sum, both schemes;
* lane arrays (lanes + tree), small in Amaranth's simulator, 32 x int8 on the mapped netlist
  (``-m slow``; the default run covers the same trees at 1..16 lanes and every lane pair);
* hand-computed products pin the contracts (-128 x -128 = 16384; the sign-magnitude lane reads
  the code -2^(b-1) as 0);
* FP lane arrays (lanes, comparator, aligner, tree) with the sign applied in the aligner
  (today), after alignment in a sign-magnitude tree, or as a ones' complement before the
  shift: every variant equal to ``hwmodel.block_sum`` on random and corner blocks;
* bad parameters raise ValueError naming them.

The reference is ``intfp.models.hwmodel.lane_product`` (exact integer code products).
"""
from dataclasses import replace

import numpy as np
import pytest
from amaranth import Fragment, Value, signed
from amaranth.back import rtlil
from amaranth.sim import Simulator

from intfp.models import hwmodel as hw
from intfp.models.formats import ELEMENT_FORMATS
from intfp.rtl.lanes import (INT_LANE_ARCHS, FPLaneArray, IntLaneArray, IntLaneMultiplier,
                             MagnitudeAligner, OnesAligner, SignMagAdderTree, check_lane_arch)

#: (arch, output) pairs: every lane variant.
VARIANTS = [(a, "product") for a in INT_LANE_ARCHS] + [("signmag", "signmag")]


def _int_format(bits: int):
    """The symmetric INT element format of ``bits`` bits (int4/6/8 are presets; the others are
    the same rule at another width, for the reference model)."""
    name = f"int{bits}"
    if name in ELEMENT_FORMATS:
        return ELEMENT_FORMATS[name]
    qmax = (1 << (bits - 1)) - 1
    return replace(ELEMENT_FORMATS["int8"], name=name, bits=bits, mbits=bits - 2,
                   max=qmax * 2.0 ** -(bits - 2), code_min=-qmax, code_max=qmax)


def _all_pairs(bits: int):
    c = np.arange(1 << bits)
    return np.repeat(c, c.size), np.tile(c, c.size)


def _expected(bits: int, arch: str, a, b) -> np.ndarray:
    """Exact product from the model; the signmag lane reads the code -2^(b-1) as 0."""
    if arch == "signmag":
        low = 1 << (bits - 1)
        a, b = np.where(a == low, 0, a), np.where(b == low, 0, b)
    return hw.lane_product(_int_format(bits), a, b).product


def _signed(u, bits: int) -> np.ndarray:
    """Two's complement reading of the low ``bits`` bits (Amaranth gives signed ints, the
    netlist unsigned ones)."""
    u = np.asarray(u, dtype=np.int64) & ((1 << bits) - 1)
    return np.where(u >> (bits - 1) & 1, u - (1 << bits), u)


def _check(bits, arch, output, a, b, got: dict):
    exp = _expected(bits, arch, a, b)
    if output == "product":
        np.testing.assert_array_equal(_signed(got["product"], 2 * bits), exp)
    else:
        np.testing.assert_array_equal(got["mag"], np.abs(exp))
        np.testing.assert_array_equal(got["sign"], (a >> (bits - 1)) ^ (b >> (bits - 1)))


def _comb(dut, inputs: dict, outputs: list, n: int) -> dict:
    """Rows of plain-int inputs through a combinational component in Amaranth's simulator."""
    got = {name: [] for name in outputs}

    async def tb(ctx):
        for j in range(n):
            for name, values in inputs.items():
                port = getattr(dut, name)
                if np.ndim(values) == 2:
                    for i, v in enumerate(values[j]):
                        ctx.set(port[i], int(v))
                else:                        # a whole port, also an array one, as one integer
                    ctx.set(Value.cast(port), int(values[j]))
            for name in outputs:
                port = getattr(dut, name)
                got[name].append(ctx.get(port if isinstance(port, Value) else Value.cast(port)))

    sim = Simulator(dut)
    sim.add_testbench(tb)
    sim.run()
    return {k: np.array(v, dtype=np.int64) for k, v in got.items()}


def _netlist(comp, top: str):
    """Map ``comp`` onto the bundled library; the compiled gate-level netlist."""
    from intfp.analysis.liberty import read_liberty
    from intfp.analysis.netlist import Netlist
    from intfp.analysis.yosys import default_liberty, synthesize
    res = synthesize(rtlil.convert(comp, name=top, emit_src=False), top)
    return Netlist.from_yosys_json(res.netlist, read_liberty(default_liberty()), top)


# -- every pair of codes ----------------------------------------------------------------------------

@pytest.mark.parametrize("arch,output", VARIANTS)
@pytest.mark.parametrize("bits", [2, 3, 4, 5, 6])
def test_lane_exhaustive_in_amaranth_sim(bits, arch, output):
    a, b = _all_pairs(bits)
    dut = IntLaneMultiplier(bits, arch, output=output)
    outs = ["product"] if output == "product" else ["sign", "mag"]
    _check(bits, arch, output, a, b, _comb(dut, {"a": a, "b": b}, outs, len(a)))


@pytest.mark.parametrize("arch,output", VARIANTS)
@pytest.mark.parametrize("bits", [7, 8])
def test_lane_exhaustive_on_mapped_netlist(bits, arch, output):
    a, b = _all_pairs(bits)
    nl = _netlist(IntLaneMultiplier(bits, arch, output=output), "lane")
    out, _ = nl.simulate({"a": a[None], "b": b[None]}, count_toggles=False)
    _check(bits, arch, output, a, b, {k: v[0] for k, v in out.items()})


@pytest.mark.slow
@pytest.mark.parametrize("arch,output", VARIANTS)
@pytest.mark.parametrize("bits", [7, 8])
def test_lane_exhaustive_in_amaranth_sim_wide(bits, arch, output):
    a, b = _all_pairs(bits)
    dut = IntLaneMultiplier(bits, arch, output=output)
    outs = ["product"] if output == "product" else ["sign", "mag"]
    _check(bits, arch, output, a, b, _comb(dut, {"a": a, "b": b}, outs, len(a)))


def test_hand_computed_products():
    # int8 codes: 0x80 = -128, 0x7F = 127, 0x81 = -127, 0xFF = -1, 0x05 = 5
    a = np.array([0x80, 0x7F, 0x81, 0xFF, 0x80, 0x05])
    b = np.array([0x80, 0x81, 0x81, 0x7F, 0x05, 0xFD])
    full = [16384, -16129, 16129, -127, -640, -15]
    for arch in ("twos", "booth", "baugh_wooley"):
        got = _comb(IntLaneMultiplier("int8", arch), {"a": a, "b": b}, ["product"], len(a))
        assert _signed(got["product"], 16).tolist() == full, arch
    got = _comb(IntLaneMultiplier("int8", "signmag"), {"a": a, "b": b}, ["product"], len(a))
    assert _signed(got["product"], 16).tolist() == [0, -16129, 16129, -127, 0, -15]
    got = _comb(IntLaneMultiplier(4, "signmag", output="signmag"),
                {"a": [0x9, 0x7, 0x8, 0x0], "b": [0x7, 0x7, 0x3, 0xF]}, ["sign", "mag"], 4)
    # -7 x 7 = -49; 7 x 7 = 49; -8 (reads as 0) x 3 -> sign 1, mag 0; 0 x -1 -> sign 1, mag 0
    assert got["sign"].tolist() == [1, 0, 1, 1] and got["mag"].tolist() == [49, 49, 0, 0]


def _members(comp):
    Fragment.get(comp, None)                 # elaborated: used, so no UnusedElaboratable warning
    return comp.signature.members


def test_port_shapes_are_drop_in():
    from intfp.rtl.components import LaneMultiplier
    ref = _members(LaneMultiplier("int8"))
    for arch in INT_LANE_ARCHS:
        assert _members(IntLaneMultiplier("int8", arch)) == ref, arch
    sm = _members(IntLaneMultiplier(6, "signmag", output="signmag"))
    assert {n: (sm[n].flow.name, sm[n].shape) for n in sm} == {
        "a": ("In", 6), "b": ("In", 6), "sign": ("Out", 1), "mag": ("Out", 10)}


# -- sign-magnitude adder tree --------------------------------------------------------------------

def _tree_rows(k: int, mb: int, n: int, seed: int):
    rng = np.random.default_rng(seed)
    top = (1 << mb) - 1
    sign = [rng.integers(0, 2, (n, k)), np.zeros((1, k)), np.ones((1, k)),
            np.arange(k)[None] % 2, np.zeros((1, k)), np.ones((1, k)), np.ones((1, k)),
            (np.arange(k)[None] + 1) % 2]
    mag = [rng.integers(0, top + 1, (n, k)), np.full((1, k), top), np.full((1, k), top),
           np.full((1, k), top), np.zeros((1, k)), np.zeros((1, k)),
           np.where(np.arange(k)[None] == 0, top, 0), np.full((1, k), top)]
    # rows: random; all +max; all -max; alternating; zeros; negative zeros; one -max; alternating
    return np.concatenate(sign).astype(np.int64), np.concatenate(mag).astype(np.int64)


@pytest.mark.parametrize("scheme", ["ones", "ones_z", "split"])
@pytest.mark.parametrize("width,lanes,mag_bits", [
    (16, 8, None), (8, 16, None), (6, 2, None), (6, 1, None), (25, 4, 24), (9, 4, 8),
    pytest.param(16, 32, None, marks=pytest.mark.slow),      # 32 lanes: ~10 s each in the sim
    pytest.param(25, 32, 24, marks=pytest.mark.slow)])
def test_sign_magnitude_tree(scheme, width, lanes, mag_bits):
    tree = SignMagAdderTree(width, lanes, scheme=scheme, mag_bits=mag_bits)
    mb = width - 2 if mag_bits is None else mag_bits
    sign, mag = _tree_rows(lanes, mb, 150, seed=width + lanes)
    bits = width + (lanes - 1).bit_length()
    assert tree.sum.shape() == signed(bits)
    got = _comb(tree, {"sign": (sign << np.arange(lanes)).sum(1), "mag": mag}, ["sum"], len(sign))
    exact = np.where(sign == 1, -mag, mag).sum(1)
    np.testing.assert_array_equal(got["sum"], exact)
    assert exact.min() == -lanes * ((1 << mb) - 1)          # the all-min corner was driven


# -- lanes + tree ---------------------------------------------------------------------------------

ARRAYS = [("twos", "twos"), ("booth", "twos"), ("baugh_wooley", "twos"), ("signmag", "twos"),
          ("signmag", "ones"), ("signmag", "ones_z"), ("signmag", "split")]


def _array_rows(bits: int, k: int, n: int, seed: int):
    rng = np.random.default_rng(seed)
    q = (1 << (bits - 1)) - 1
    code = lambda v: np.asarray(v) & ((1 << bits) - 1)          # noqa: E731
    alt = np.where(np.arange(k) % 2, q, -q)
    a = np.concatenate([rng.integers(-q, q + 1, (n, k)), np.full((3, k), q), np.full((1, k), -q),
                        np.zeros((1, k), int), alt[None]])
    b = np.concatenate([rng.integers(-q, q + 1, (n, k)), np.full((1, k), q), np.full((2, k), -q),
                        np.full((1, k), -q), np.full((1, k), q), np.full((1, k), q)])
    # rows: random; all max (+); all -max (-); max x -max; -max x -max; zeros; alternating signs
    return code(a), code(b)


@pytest.mark.parametrize("arch,tree", ARRAYS)
def test_lane_array_small(arch, tree):
    a, b = _array_rows(4, 4, 120, seed=1)
    got = _comb(IntLaneArray("int4", 4, arch, tree=tree), {"a": a, "b": b}, ["sum"], len(a))
    np.testing.assert_array_equal(got["sum"], hw.lane_product(_int_format(4), a, b).product.sum(1))


@pytest.mark.slow                     # 20-40 s of synthesis each; benchmarks/lane_arch.py also checks
@pytest.mark.parametrize("arch,tree", ARRAYS)
def test_lane_array_int8_k32_on_mapped_netlist(arch, tree):
    a, b = _array_rows(8, 32, 2000, seed=2)
    nl = _netlist(IntLaneArray("int8", 32, arch, tree=tree), "arr")
    bitsof = lambda c: np.unpackbits(c.astype(np.uint8)[..., None], axis=-1,   # noqa: E731
                                     bitorder="little").reshape(1, len(c), -1).astype(bool)
    out, _ = nl.simulate({"a": bitsof(a), "b": bitsof(b)}, count_toggles=False)
    np.testing.assert_array_equal(_signed(out["sum"][0], 21),
                                  hw.lane_product(ELEMENT_FORMATS["int8"], a, b).product.sum(1))


# -- parameters -----------------------------------------------------------------------------------

@pytest.mark.parametrize("call,match", [
    (lambda: IntLaneMultiplier("int8", "wallace"), "unknown INT lane architecture 'wallace'"),
    (lambda: IntLaneMultiplier("int8", "booth", output="signmag"), "needs arch='signmag'"),
    (lambda: IntLaneMultiplier("int8", "twos", output="sm"), "output must be one of"),
    (lambda: IntLaneMultiplier("int8_asym", "signmag"), "symmetric INT format.*-128"),
    (lambda: IntLaneMultiplier("e4m3", "twos"), "FP element format"),
    (lambda: IntLaneMultiplier(9, "booth"), "2..8, got 9"),
    (lambda: IntLaneMultiplier(True, "booth"), "got True"),
    (lambda: IntLaneMultiplier("int9", "booth"), "unknown INT element format 'int9'"),
    (lambda: SignMagAdderTree(16, 24), "lanes must be a power of two"),
    (lambda: SignMagAdderTree(16, 32, scheme="wallace"), "scheme must be one of ones, ones_z, split"),
    (lambda: SignMagAdderTree(16, 32, mag_bits=16), r"mag_bits must be an int in 1\.\.15"),
    (lambda: IntLaneArray("int8", 32, "booth", tree="ones"), "needs arch='signmag'"),
    (lambda: IntLaneArray("int8", 32, "twos", tree="carry"), "tree must be one of"),
])
def test_bad_parameters_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_asym_formats_keep_every_other_architecture():
    for arch in ("twos", "booth", "baugh_wooley"):
        check_lane_arch("int8_asym", arch)
    a, b = _all_pairs(4)                      # -8 x -8 = 64 is exact outside signmag
    got = _comb(IntLaneMultiplier("int4_asym", "booth"), {"a": a, "b": b}, ["product"], len(a))
    assert _signed(got["product"], 8)[(a == 8) & (b == 8)].tolist() == [64]


# -- FP: where the product's sign is applied --------------------------------------------------------

def _fp_rows(elem, k: int, n: int, seed: int):
    """Random codes (NaN / Inf codes included: their fields still reach the tree) and corners:
    all max, all -max, max x -max alternating, zeros, one max beside tiny products."""
    rng = np.random.default_rng(seed)
    bits = elem.bits
    top = max(c for c in range(1 << (bits - 1)) if c not in elem.nan_codes and c != elem.inf_code)
    neg = 1 << (bits - 1)
    alt = np.where(np.arange(k) % 2, top, top | neg)
    a = np.concatenate([rng.integers(0, 1 << bits, (n, k)), np.full((2, k), top),
                        alt[None], np.zeros((1, k), int), np.full((1, k), 1)])
    b = np.concatenate([rng.integers(0, 1 << bits, (n, k)), np.full((1, k), top),
                        np.full((1, k), top | neg), np.full((1, k), top), np.full((1, k), top),
                        np.where(np.arange(k) == 0, top, 1)[None]])
    return a, b


@pytest.mark.parametrize("tree", ["twos", "ones", "ones_z", "split", "ones_pre"])
@pytest.mark.parametrize("fmt,lanes", [
    ("mxfp4_e2m1", 4), ("mxfp8_e4m3", 4),
    # the same datapath code at other widths: under -m slow to keep the default run short
    pytest.param("mxfp6_e2m3", 4, marks=pytest.mark.slow),
    pytest.param("mxfp6_e3m2", 2, marks=pytest.mark.slow),
    pytest.param("mxfp8_e5m2", 2, marks=pytest.mark.slow)])
def test_fp_lane_array_matches_block_sum(fmt, lanes, tree):
    spec = hw.dot_spec(fmt, lanes=lanes)
    a, b = _fp_rows(spec.elem, lanes, 150, seed=lanes)
    got = _comb(FPLaneArray(spec, tree=tree), {"a": a, "b": b}, ["sum", "max"], len(a))
    s, emax, *_ = hw.block_sum(spec, a, b)
    np.testing.assert_array_equal(got["sum"], s)
    np.testing.assert_array_equal(got["max"], emax)
    assert (s < 0).any() and (s > 0).any() and (s == 0).any()


def test_ones_aligner_pinned_by_hand():
    # e2m1 window 10, guard 6, product 4 bits: sig 9 (1.1 x 1.1 -> 1001b), exp 4 vs max 5:
    # A = floor(9 * 2^6 / 2) = 288; negative lane: ones' complement term -289 (+1 in the tree)
    aln = OnesAligner(4, 3, 2, 10)
    got = _comb(aln, {"sig": [9 | (9 << 4)], "exp": [4 | (5 << 3)], "sign": [0b01], "max": [5]},
                ["terms"], 1)
    t = int(got["terms"][0]) & ((1 << 22) - 1)
    assert (_signed(t & 0x7FF, 11), _signed(t >> 11, 11)) == (-289, 9 * 64)


@pytest.mark.parametrize("call,match", [
    (lambda: FPLaneArray(hw.dot_spec("mxint8")), "FP DotSpec"),
    (lambda: FPLaneArray(hw.dot_spec("mxfp8_e4m3"), tree="carry"), "tree must be one of"),
    (lambda: SignMagAdderTree(16, 4, scheme="split", ones_terms=True), "needs scheme='ones'"),
    (lambda: MagnitudeAligner(8, 5, 4, 6), "window must be an int >= 8"),
    (lambda: OnesAligner(8, 5, 3, 24), "lanes must be a power of two"),
])
def test_fp_bad_parameters_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()
