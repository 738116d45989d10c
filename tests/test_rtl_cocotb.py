"""The exported Verilog of every unit through cocotb, bit for bit against the model.

The default simulator (:func:`intfp.sim.runner.default_simulator`: Verilator when installed)
runs the bulk; Icarus runs a block unit, a lane check, a scalar MAC, the negative control and a
cross-check that both simulators sample identical outputs. Builds are cached under build/sim
(keyed by the RTL, model and runner sources), so reruns skip the export and compile. Default
tests: exhaustive lane multipliers for all 8 element formats, 1000 random + corner-case blocks
per preset, scalar MACs. ``-m slow``: more blocks, every pair through the FP8 scalar MACs,
window sweeps.
"""
import shutil

import numpy as np
import pytest

from intfp.models import hwmodel as hw
from intfp.models.formats import ELEMENT_FORMATS, PRESETS
from intfp.sim import checks
from intfp.sim import vectors as vec
from intfp.sim.runner import default_simulator

HAS_ICARUS = shutil.which("iverilog") is not None
pytestmark = pytest.mark.skipif(default_simulator() == "icarus" and not HAS_ICARUS,
                                reason="needs Verilator >= 5.036 or Icarus Verilog")
needs_icarus = pytest.mark.skipif(not HAS_ICARUS, reason="needs Icarus Verilog")
SIMULATORS = [default_simulator()] + (["icarus"] if default_simulator() != "icarus" else [])


def _ok(res):
    assert res.passed, res.summary() + f" (log: {res.log})"
    assert res.vectors > 0


@pytest.mark.parametrize("elem", list(ELEMENT_FORMATS))
def test_lane_multiplier_every_pair(elem):
    res = checks.check_lanes(elem)
    _ok(res)
    assert res.vectors == ELEMENT_FORMATS[elem].num_codes ** 2


@pytest.mark.parametrize("fmt", list(PRESETS))
def test_block_unit_random_and_corner_blocks(fmt):
    _ok(checks.check_block(fmt, n=1000, seed=0))


def test_block_unit_hierarchical_export_matches():
    """The Verilog that `intfp rtl export` writes (not only the flat simulation netlist)."""
    _ok(checks.check_block("nvfp4", n=300, seed=1, flat=False))


def test_block_unit_pipelined():
    _ok(checks.check_block("mxfp8_e4m3", n=300, seed=2, pipeline=1))


@pytest.mark.parametrize("elem", ["int4", "int6", "int8", "e2m1", "e2m3", "e3m2"])
def test_scalar_mac_every_pair(elem):
    res = checks.check_scalar(elem)
    _ok(res)
    assert res.vectors == ELEMENT_FORMATS[elem].num_codes ** 2


@pytest.mark.parametrize("elem", ["e4m3", "e5m2"])
def test_scalar_mac_fp8_sample(elem):
    _ok(checks.check_scalar(elem, limit=4096))


@pytest.mark.parametrize("name", ["mxint8+nvint4", "mxfp8+nvfp4"])
def test_mixed_unit_both_modes(name):
    _ok(checks.check_mixed(name, n=300, seed=0))


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_scoreboard_catches_a_wrong_bit(simulator):
    """Negative control: one corrupted expected value must be reported, and only that row."""
    from intfp.rtl.units import BlockDotUnit
    from intfp.sim.runner import build, simulate

    if simulator == "icarus" and not HAS_ICARUS:
        pytest.skip("needs Icarus Verilog")
    spec = hw.dot_spec("nvint4")
    v = vec.block_vectors(spec, vec.block_stimulus(spec, 40, seed=3))
    v.expect["dot"][17, 0] ^= 1
    top = "block_nvint4_k16_w0_p0"
    d, _ = build(lambda: BlockDotUnit(spec), top, top, simulator=simulator)
    res = simulate(v, d, top)
    assert not res.passed and res.cocotb_failed == 1 and res.simulator == simulator
    np.testing.assert_array_equal(res.mismatches["dot"], [17])
    assert len(res.mismatches["acc"]) == 0


@needs_icarus
def test_icarus_stays_available():
    """Icarus (``--simulator icarus``) on a lane check, a block unit and a scalar MAC."""
    res = checks.check_lanes("e2m1", simulator="icarus")
    _ok(res)
    assert res.simulator == "icarus" and res.vectors == 256
    res = checks.check_block("nvfp4", n=300, seed=1, simulator="icarus")
    _ok(res)
    assert res.simulator == "icarus"
    _ok(checks.check_scalar("int4", simulator="icarus"))


@needs_icarus
@pytest.mark.skipif(default_simulator() == "icarus", reason="needs Verilator >= 5.036")
def test_verilator_and_icarus_sample_identical_outputs():
    """The same vectors (blocks with idle rows, pipelined unit) on both simulators: every
    sampled output row equal, not only the compared ones."""
    a = checks.check_block("mxfp8_e5m2", 4, n=120, seed=9, pipeline=1, simulator="verilator")
    b = checks.check_block("mxfp8_e5m2", 4, n=120, seed=9, pipeline=1, simulator="icarus")
    _ok(a)
    _ok(b)
    assert (a.simulator, b.simulator) == ("verilator", "icarus")
    assert a.outputs.keys() == b.outputs.keys()
    for port in a.outputs:
        np.testing.assert_array_equal(a.outputs[port], b.outputs[port], err_msg=port)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", list(PRESETS))
@pytest.mark.parametrize("seed", [11, 12])
def test_block_unit_many_blocks(fmt, seed):
    _ok(checks.check_block(fmt, n=5000, seed=seed))


@pytest.mark.slow
@pytest.mark.parametrize("elem", ["e4m3", "e5m2"])
def test_scalar_mac_fp8_every_pair(elem):
    res = checks.check_scalar(elem)
    _ok(res)
    assert res.vectors == 65536


@pytest.mark.slow
@pytest.mark.parametrize("fmt, window", [("mxfp8_e4m3", 8), ("mxfp8_e4m3", 16), ("mxfp8_e4m3", 36),
                                         ("mxfp8_e5m2", 12), ("mxfp6_e3m2", 18)])
def test_block_unit_window_sweep(fmt, window):
    _ok(checks.check_block(fmt, n=1000, seed=5, window=window))


@pytest.mark.parametrize("defect", ["ignore_valid", "late_dot"])
def test_testbench_catches_a_wrong_port_timing(defect):
    """Negative control on the default simulator: a unit that ignores `valid` (acc_valid stuck at 1), or whose
    `dot` / `dot_valid` are registered one cycle late, fails the block checks."""
    from amaranth import Module
    from amaranth.lib import wiring

    from intfp.rtl.units import BlockDotUnit
    from intfp.sim.runner import build, simulate

    spec = hw.dot_spec("nvint4", 4)

    class Mutant(wiring.Component):
        def __init__(self):
            self._inner = BlockDotUnit(spec)
            super().__init__(dict(self._inner.signature.members.items()))

        def elaborate(self, platform):
            m = Module()
            m.submodules.inner = inner = self._inner
            for name, member in inner.signature.members.items():
                mine, theirs = getattr(self, name), getattr(inner, name)
                if member.flow == wiring.In:
                    m.d.comb += theirs.eq(1 if defect == "ignore_valid" and name == "valid" else mine)
                elif defect == "late_dot" and name in ("dot", "dot_valid"):
                    m.d.sync += mine.eq(theirs)
                elif defect == "ignore_valid" and name == "acc_valid":
                    m.d.comb += mine.eq(1)
                else:
                    m.d.comb += mine.eq(theirs)
            return m

    top = f"mutant_{defect}_nvint4_k4"
    d, _ = build(Mutant, top, top)
    res = simulate(vec.block_vectors(spec, vec.block_stimulus(spec, 60, seed=4)), d, top)
    assert not res.passed and res.cocotb_failed == 1
    port = "dot" if defect == "late_dot" else "acc_valid"
    assert len(res.mismatches[port]) > 0


def _bundle_members():
    """A combinational lane harness, a clocked block unit (its `dot` sampled before the edge)
    and a scalar MAC with fewer rows than the block's: three kinds of member."""
    return [checks.make_member(c) for c in (
        {"check": "lanes", "elem": "int4", "lane_arch": None, "copies": 2},
        {"check": "block", "fmt": "nvint4", "lanes": 4, "window": None, "pipeline": 0,
         "lane_arch": "twos", "n": 60, "seed": 4},
        {"check": "scalar", "elem": "int4", "seed": 1, "copies": 16})]


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_bundle_runs_each_member_on_its_own_rows(simulator):
    """Units bundled in one build (the verification stage's way) give each member's result:
    the same spaces, rows and sampled outputs as the member alone would have."""
    from intfp.sim.bundle import run_bundle

    if simulator == "icarus" and not HAS_ICARUS:
        pytest.skip("needs Icarus Verilog")
    members = _bundle_members()
    res = run_bundle(members, "test_bundle_three", simulator=simulator)
    assert [r.name for r in res] == ["lanes_int4", "block_nvint4_k4", "scalar_int4"]
    assert {r.simulator for r in res} == {simulator}
    for m, r in zip(members, res):
        _ok(r)
        v = m.vectors()
        assert (r.vectors, r.rows) == (v.count, v.rows)
        for port, exp in v.expect.items():      # every compared row was sampled and equal
            np.testing.assert_array_equal(r.outputs[port][v.mask[port]], exp[v.mask[port]])
    assert res[0].vectors == 256 and res[2].vectors == 256 and res[1].vectors == 60
    assert res[2].rows != res[1].rows           # the shorter member is padded, not compared


def test_bundle_scoreboard_blames_only_the_wrong_member_and_row():
    """Negative control in a bundle: one corrupted expected bit in one member fails that
    member at that row only; the others pass."""
    from intfp.sim import bundle as bd

    members = _bundle_members()
    real = members[2].vectors

    def corrupted():
        v = real()
        v.expect["acc"][5, 0] ^= 1
        return v
    members[2] = bd.Member(members[2].key, members[2].factory, corrupted)
    res = bd.run_bundle(members, "test_bundle_three")
    assert res[0].passed and res[1].passed
    assert not res[2].passed and res[2].cocotb_failed == 1
    np.testing.assert_array_equal(res[2].mismatches["acc"], [5])
    assert len(res[2].mismatches["product"]) == 0


def test_verify_units_shares_one_lane_space_between_units():
    """`verify_units` (one build for several units): a lane space two units share is run once
    and reported for both; each unit keeps verify()'s checks in order."""
    from intfp.models.spec import resolve_unit

    units = [resolve_unit("nvint4", "block", 4), resolve_unit("mxint4", "block", 4),
             resolve_unit("int4", "scalar")]
    out = checks.verify_units(units, n=50, seed=2)
    assert [[r.name for r in rs] for rs in out] == [
        ["lanes_int4", "block_nvint4_k4"], ["lanes_int4", "block_mxint4_k4"], ["scalar_int4"]]
    assert out[0][0] is out[1][0]
    for rs in out:
        for r in rs:
            _ok(r)


@pytest.mark.skipif(default_simulator() != "verilator", reason="needs Verilator >= 5.036")
def test_prepare_runtime_builds_the_probe_and_the_runtime():
    """The verification stage warms the Verilator runtime in a thread that swallows errors
    (the builds would report them): so prove here that it really builds."""
    from intfp.sim.runner import build_root, prepare_runtime

    prepare_runtime()
    assert any((d / "built.ok").exists() for d in build_root().glob("runtime_probe-verilator-*"))
    assert any((d / "built.ok").exists() for d in build_root().glob("verilator-runtime-*"))
    assert prepare_runtime() == 0.0                  # cached: nothing rebuilt
    assert prepare_runtime("icarus") == 0.0
