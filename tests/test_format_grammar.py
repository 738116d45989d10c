"""The format grammar (issue 15): any ``e<X>m<Y>`` / ``int<N>`` element, block 8..256, scale
UE8M0 or E4M3, through formats, quantize, theory, the unit spec and the RTL.

The RTL checks here run in Amaranth's simulator (no external tools); the cocotb lane check of
non-preset formats is in tests/test_rtl_cocotb.py's grammar test."""
import numpy as np
import pytest
from test_rtl_units import _comb      # drives a combinational component row by row

from intfp.models import hwmodel as hw
from intfp.models import quantize, quantize_codes
from intfp.models.blocks import _quantize
from intfp.models.formats import (ELEMENT_FORMATS, PRESETS, block_format, element_format,
                                  parse_element)
from intfp.models.spec import resolve_unit
from intfp.models.theory import gaussian_qsnr, qsnr_theory
from intfp.rtl.components import LaneMultiplier
from intfp.rtl.units import BlockDotUnit, ScalarMAC
from intfp.sim import vectors as vec
from intfp.sim.pysim import simulate_pysim


# -- grammar ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, name, elem, block, scale", [
    ("mx:e2m2/b16/ue8m0", "mx:e2m2/b16/ue8m0", "e2m2", 16, "ue8m0"),
    ("MX:E2M2/B16", "mx:e2m2/b16/ue8m0", "e2m2", 16, "ue8m0"),      # case, optional scale
    ("mx:e3m3", "mx:e3m3/b32/ue8m0", "e3m3", 32, "ue8m0"),           # MX default block 32
    ("nv:int5", "nv:int5/b16/e4m3", "int5", 16, "e4m3"),             # NV default block 16
    ("nv:e1m2/b256/e4m3", "nv:e1m2/b256/e4m3", "e1m2", 256, "e4m3"),
    # points that presets name resolve to the preset (its special values included)
    ("mx:e4m3/b32/ue8m0", "mxfp8_e4m3", "e4m3", 32, "ue8m0"),
    ("mx:int8", "mxint8", "int8", 32, "ue8m0"),
    ("nv:e2m1", "nvfp4", "e2m1", 16, "e4m3"),
    ("nv:int4/b16", "nvint4", "int4", 16, "e4m3"),
])
def test_grammar_resolves(text, name, elem, block, scale):
    bf = block_format(text)
    assert (bf.name, bf.element.name, bf.block_size, bf.scale.name) == (name, elem, block, scale)
    assert block_format(bf.name) == bf                      # the canonical name round-trips


@pytest.mark.parametrize("text, match", [
    ("qq:e2m2/b16", r"family 'qq' is not mx or nv"),
    ("e2m2/b16", r"unknown format 'e2m2/b16'"),              # no family
    ("mx:e0m3", r"exponent bits X=0 outside 1\.\.5"),
    ("mx:e6m1", r"exponent bits X=6 outside 1\.\.5"),
    ("mx:e3m0", r"mantissa bits Y=0"),
    ("mx:e4m4", r"1 \+ X \+ Y = 9 bits is outside 3\.\.8"),
    ("mx:int9", r"INT width 9 is outside 3\.\.8"),
    ("mx:int2", r"INT width 2 is outside 3\.\.8"),
    ("mx:fp8", r"element 'fp8' is not e<X>m<Y>"),
    ("mx:e2m2/b12", r"block size 12 is not a power of two from 8 to 256"),
    ("mx:e2m2/b4", r"block size 4 is not a power of two"),
    ("mx:e2m2/b512", r"block size 512"),
    ("mx:e2m2/bx", r"block field 'bx' is not b<K>"),
    ("mx:e2m2/b16/e4m3", r"scale 'e4m3' does not belong to the mx family.*write nv:e2m2"),
    ("nv:e2m2/ue8m0", r"scale 'ue8m0' does not belong to the nv family.*write mx:e2m2"),
    ("mx:e2m2/b16/ue8m0/b8", r"field 'b8' is neither"),
    ("mx:e2m2/fp32", r"scale 'fp32' does not belong to the mx family, whose scale is ue8m0"),
])
def test_grammar_errors_name_the_bad_field(text, match):
    with pytest.raises(ValueError, match=match):
        block_format(text)


def test_unit_spec_errors_name_the_bad_field():
    with pytest.raises(ValueError, match=r"block size 12"):
        resolve_unit("mx:e2m2/b12")
    with pytest.raises(ValueError, match=r"X=7"):
        resolve_unit("e7m0")                                   # a scalar MAC's element
    with pytest.raises(ValueError, match=r"lanes must be a power of two"):
        resolve_unit("mx:e2m2/b16", lanes=3)


def test_non_preset_special_value_rule():
    """Non-preset FP elements: all codes finite, max = 2^(2^X - 1 - bias) (2 - 2^-Y): the OCP
    FP6 / FP4 rule, which reproduces those presets exactly; INT: symmetric codes."""
    assert parse_element("e3m2") is ELEMENT_FORMATS["e3m2"]    # a preset element is the preset
    assert element_format("e3m3").max == 2.0 ** 4 * 1.875         # bias 3: 2^(7 - 3) (2 - 1/8)
    e = element_format("e2m2")                # bias 1: 2^(3 - 1) * 1.75 = 7
    assert (e.max, e.bias, e.has_nan, e.has_inf) == (7.0, 1, False, False)
    t = e.decode_table()
    assert np.isfinite(t).all() and t[0b01111] == 7.0 and t[0b00001] == 0.25
    e = element_format("e1m2")                # bias 0: a uniform grid of step 0.5, max 3.5
    np.testing.assert_array_equal(e.decode_table()[:8], np.arange(8) * 0.5)
    e = element_format("e5m1")                # bias 15: 2^16 * 1.5
    assert e.max == 98304.0 and not e.has_inf
    i = element_format("int5")                # codes -15..15 times 2^-3
    assert (i.code_min, i.code_max, i.max) == (-15, 15, 15 / 8)
    assert element_format("int5_asym").code_min == -16
    # presets keep their own special values
    assert element_format("e4m3").has_nan and element_format("e5m2").has_inf


# -- quantize and theory --------------------------------------------------------------------------

GRAMMAR_FORMATS = ["mx:e2m2/b16", "nv:e2m2/b16", "mx:int5/b8", "nv:int3/b32", "mx:e1m2/b8",
                   "mx:e5m1/b16", "nv:e1m6/b256", "mx:e3m4/b32", "mx:int7/b64"]


@pytest.mark.parametrize("fmt", GRAMMAR_FORMATS)
def test_quantize_fast_path_equals_reference(fmt):
    x = (np.random.default_rng(0).standard_t(2, (32, 512)) * 3).astype(np.float32)
    x[0, :4] = [0.0, -0.0, 1e30, -1e30]                        # saturation at the format's max
    fast = np.asarray(quantize(x, fmt))
    ref = np.asarray(_quantize(x, fmt, block_size=None, scale_rule=None, rounding="even", axis=-1,
                               seed=None, pad=False, fast=False))
    np.testing.assert_array_equal(fast.view(np.uint32), ref.view(np.uint32))
    q = quantize_codes(x, fmt)
    np.testing.assert_array_equal(q.dequantize().view(np.uint32), fast.view(np.uint32))
    bf = block_format(fmt)
    assert np.abs(np.asarray(q.codes)).max() < bf.element.num_codes
    assert np.isfinite(fast).all()


def test_quantize_e2m2_by_hand():
    """One UE8M0 block of e2m2 (max 7, emax 2): amax 20 -> scale 2^(4 - 2) = 4; 20 / 4 = 5 is
    on the grid (step 1 in [4, 8)), 2.9 / 4 = 0.725 rounds to 0.75, 1.1 / 4 = 0.275 to 0.25."""
    x = np.zeros((1, 8), np.float32)
    x[0, :3] = [20.0, 2.9, -1.1]
    q = np.asarray(quantize(x, "mx:e2m2/b8"))
    np.testing.assert_array_equal(q[0, :3], [20.0, 3.0, -1.0])


@pytest.mark.parametrize("fmt", ["mx:e2m2/b16", "nv:int5/b32", "mx:e3m3/b32"])
def test_theory_tracks_measurement_on_gaussian_blocks(fmt):
    r = gaussian_qsnr(fmt, n_blocks=4096)
    assert abs(r["measured_db"] - r["theory_db"]) < 0.6, r
    # one more mantissa bit buys about 6 dB in theory
    bf = block_format(fmt)
    if bf.element.kind == "fp":
        wider = f"mx:e{bf.element.ebits}m{bf.element.mbits + 1}/b{bf.block_size}"
        assert 5.0 < qsnr_theory(wider, 2.4) - qsnr_theory(bf, 2.4) < 7.0


# -- unit spec and RTL --------------------------------------------------------------------------

def test_unit_spec_of_a_grammar_format():
    s = resolve_unit("mx:e2m2/b16/ue8m0")
    assert (s.kind, s.name, s.lanes, s.window, s.top) == \
        ("block", "mx:e2m2/b16/ue8m0", 16, hw.aligner_width(2, 2), "mx_e2m2_b16_ue8m0_k16")
    assert [p.bits for p in s.ports] == [5, 5, 8, 8]
    assert resolve_unit(**s.key()) == s
    assert resolve_unit("mx:e4m3/b32").name == "mxfp8_e4m3"     # a preset point stays the preset
    sc = resolve_unit("e3m3")
    assert (sc.kind, sc.top, sc.elem.bits) == ("scalar", "mac_e3m3", 7)
    assert resolve_unit("int5", kind="scalar").acc_bits == 32


@pytest.mark.parametrize("elem", ["e1m2", "e2m2", "e3m1", "e1m3", "int3", "int5"])
def test_lane_multiplier_exhaustive_non_preset(elem):
    """Every code pair of non-preset elements through the lane multiplier, against the model."""
    e = element_format(elem)
    c = np.arange(e.num_codes)
    a, b = np.repeat(c, e.num_codes), np.tile(c, e.num_codes)
    lp = hw.lane_product(e, a, b)
    fields = ["product"] if e.kind == "int" else ["sign", "exp", "sig", "nan", "inf"]
    got = _comb(LaneMultiplier(e), {"a": a, "b": b}, fields, len(a))
    for f in fields:
        np.testing.assert_array_equal(got[f], getattr(lp, f).astype(np.int64), err_msg=f)


@pytest.mark.parametrize("fmt, arch", [
    ("mx:e2m2/b16", None), ("nv:e2m2/b16", None), ("mx:e1m2/b8", None), ("mx:e5m1/b16", None),
    ("nv:e1m6/b8", None), ("mx:e3m4/b32", None),
    ("mx:int3/b8", "twos"), ("mx:int5/b16", "booth"), ("nv:int5/b16", "signmag_tree"),
    ("mx:int7/b32", "baugh_wooley"), ("mx:int7/b32", "signmag"),
])
def test_block_unit_of_a_grammar_format(fmt, arch):
    spec = hw.dot_spec(fmt, 4, lane_arch=arch)
    v = vec.block_vectors(spec, vec.block_stimulus(spec, 100, seed=1))
    _, bad = simulate_pysim(BlockDotUnit(spec), v)
    assert {k: len(x) for k, x in bad.items()} == {k: 0 for k in bad}


@pytest.mark.parametrize("elem", ["e2m2", "int5"])
def test_scalar_mac_of_a_grammar_element(elem):
    _, bad = simulate_pysim(ScalarMAC(elem), vec.scalar_vectors(element_format(elem), seed=5))
    assert {k: len(x) for k, x in bad.items()} == {k: 0 for k in bad}


def test_preset_names_are_points_of_the_grammar():
    for p in PRESETS.values():
        fam = "mx" if p.scale.name == "ue8m0" else "nv"
        assert block_format(f"{fam}:{p.element.name}/b{p.block_size}") is p


@pytest.mark.parametrize("elem, arch", [("e2m2", None), ("e1m3", None), ("e3m3", None),
                                        ("int5", None), ("int3", "booth"), ("int7", "signmag")])
def test_cocotb_lane_check_of_non_preset_elements(elem, arch):
    """The verification as today (cocotb on the exported Verilog): every code pair of each
    non-preset element through its lane multiplier, against models/."""
    from intfp.sim.checks import check_lanes

    res = check_lanes(elem, lane_arch=arch)
    e = element_format(elem)
    assert res.passed and res.vectors == e.num_codes ** 2          # every pair was driven
    assert sum(len(v) for v in res.mismatches.values()) == 0


def test_rtl_verify_command_takes_a_grammar_format():
    from click.testing import CliRunner

    from intfp.cli import main
    r = CliRunner().invoke(main, ["rtl", "verify", "mx:e1m2/b8", "--lanes", "4"])
    assert r.exit_code == 0, r.output
    assert "PASS lanes_e1m2: 256 vectors" in r.output
    assert "PASS block_mx:e1m2/b8/ue8m0_k4" in r.output
