"""Bundles (intfp.sim.bundle): several checks' units in one build, each compared on its own rows.

No external simulator here: the port layout and row packing are pinned by hand-computed cases,
the wiring runs in Amaranth's simulator, and the grouping of the verification stage's checks is
checked for completeness. The cocotb/Verilator path is in tests/test_rtl_cocotb.py.
"""
import numpy as np
import pytest
from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from intfp.sim import checks
from intfp.sim.bundle import Bundle, bundle_vectors, split_result
from intfp.sim.runner import SimResult
from intfp.sim.tb_stream import Scoreboard
from intfp.sim.vectors import Vectors


class _Comb(wiring.Component):
    a: In(3)
    y: Out(5)

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.y.eq(self.a + 1)
        return m


class _Reg(wiring.Component):
    x: In(9)
    z: Out(2)
    w: Out(4)

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.z.eq(self.x[:2])
        m.d.sync += self.w.eq(self.x[4:8])
        return m


def _pair():
    comb = Vectors("comb", False, {"a": np.array([[1], [6]], np.uint8)},
                   {"y": np.array([[2], [7]], np.uint8)}, {"y": np.array([True, True])}, count=2)
    reg = Vectors("reg", True, {"x": np.array([[0x13, 1], [0x22, 0], [0xF0, 0]], np.uint8)},
                  {"z": np.array([[3], [2], [0]], np.uint8), "w": np.array([[1], [2], [15]], np.uint8)},
                  {"z": np.array([True, True, True]), "w": np.array([True, False, True])},
                  count=3, early=("z",))
    bundle = Bundle([_Comb(), _Reg()], [(comb.early, comb.clocked), (reg.early, reg.clocked)])
    return comb, reg, bundle


def test_ports_sit_on_byte_boundaries():
    comb, reg, b = _pair()
    # a: 3 bits at byte 0 of i; x: 9 bits -> bytes 1-2; y (comb member) -> o byte 0;
    # z (clocked member, early) -> oe byte 0; w (registered) -> o byte 1
    assert b.layout == [{"a": ("i", 0, 3), "y": ("o", 0, 5)},
                        {"x": ("i", 1, 9), "z": ("oe", 0, 2), "w": ("o", 1, 4)}]
    assert b.nbytes == {"i": 3, "o": 2, "oe": 1}
    assert {n: len(p) for n, p in [("i", b.i), ("o", b.o), ("oe", b.oe)]} == {"i": 24, "o": 16, "oe": 8}


def test_bundle_rows_pad_the_shorter_member_and_mask_per_byte():
    comb, reg, b = _pair()
    v = bundle_vectors("t", [comb, reg], b)
    assert v.clocked and v.early == ("oe",) and v.rows == 3 and v.count == 5
    np.testing.assert_array_equal(v.inputs["i"], [[1, 0x13, 1], [6, 0x22, 0], [0, 0xF0, 0]])
    np.testing.assert_array_equal(v.expect["o"], [[2, 1], [7, 2], [0, 15]])
    np.testing.assert_array_equal(v.mask["o"], [[1, 1], [1, 0], [0, 1]])   # comb row 2: padding
    np.testing.assert_array_equal(v.expect["oe"], [[3], [2], [0]])
    np.testing.assert_array_equal(v.mask["oe"], [[1], [1], [1]])


def test_bad_row_width_is_an_error_naming_the_port():
    comb, reg, b = _pair()
    reg.inputs["x"] = np.zeros((3, 1), np.uint8)             # 9 bits need 2 bytes
    with pytest.raises(ValueError, match="reg input x: 1 bytes per row, but the port has 9 bits"):
        bundle_vectors("t", [comb, reg], b)


def test_per_byte_mask_in_the_scoreboard():
    exp = {"o": np.array([[1, 2], [3, 4]], np.uint8)}
    got = {"o": np.array([[1, 9], [9, 4]], np.uint8)}
    np.testing.assert_array_equal(Scoreboard(exp, {"o": np.array([[1, 0], [0, 1]], bool)})
                                  .mismatches(got)["o"], [])
    np.testing.assert_array_equal(Scoreboard(exp, {"o": np.array([[1, 1], [0, 1]], bool)})
                                  .mismatches(got)["o"], [0])
    np.testing.assert_array_equal(Scoreboard(exp, {"o": np.array([True, True])})
                                  .mismatches(got)["o"], [0, 1])


def test_split_result_blames_one_member_and_row():
    comb, reg, b = _pair()
    v = bundle_vectors("t", [comb, reg], b)
    out = {k: e.copy() for k, e in v.expect.items()}
    out["o"][1, 1] ^= 4          # reg's w on row 1: not compared (mask False)
    ok = split_result(SimResult("t", 5, 3, outputs=out, simulator="x"), [comb, reg], b, 1.0)
    assert [r.passed for r in ok] == [True, True] and [r.rows for r in ok] == [2, 3]
    out["o"][2, 1] ^= 4          # reg's w on row 2: compared
    bad = split_result(SimResult("t", 5, 3, outputs=out, simulator="x"), [comb, reg], b, 1.0)
    assert bad[0].passed and not bad[1].passed and bad[1].cocotb_failed == 1
    np.testing.assert_array_equal(bad[1].mismatches["w"], [2])
    assert bad[1].coverage == reg.coverage and bad[1].build_seconds == 1.0


def test_bundle_of_real_units_in_amaranth_simulator():
    """A combinational lane harness beside a clocked block unit (its `dot` sampled before the
    edge) in Amaranth's simulator: the wiring passes every row, and a corrupted expectation
    of one member fails only that member at that row."""
    from intfp.sim.pysim import simulate_pysim

    specs = [{"check": "lanes", "elem": "int4", "lane_arch": None, "copies": 4},
             {"check": "block", "fmt": "nvint4", "lanes": 4, "window": None, "pipeline": 0,
              "lane_arch": "twos", "n": 20, "seed": 3}]
    members = [checks.make_member(s) for s in specs]
    parts = [m.vectors() for m in members]
    bundle = Bundle([m.factory() for m in members], [(p.early, p.clocked) for p in parts])
    v = bundle_vectors("t", parts, bundle)
    assert v.rows == max(p.rows for p in parts) == 64
    samples, bad = simulate_pysim(bundle, v)
    assert not any(len(x) for x in bad.values())
    parts[1].expect["dot"][5, 0] ^= 1
    res = split_result(SimResult("t", v.count, v.rows, outputs=samples), parts, bundle, 0.0)
    assert res[0].passed and not res[1].passed
    np.testing.assert_array_equal(res[1].mismatches["dot"], [5] if parts[1].mask["dot"][5] else [])


def _stage_checks():
    from intfp.analysis.flow import sweep_points
    from intfp.main_job import DEFAULT_PLAN as plan

    units = sweep_points(plan.block_formats, "block", (plan.lanes,), lane_archs=plan.lane_archs) + \
        sweep_points(plan.mixed_units, "mixed") + sweep_points(plan.scalar_formats, "scalar")
    return units, [c for u in units for c in checks.unit_checks(u, 2000, 0)]


@pytest.mark.parametrize("groups", [1, 2, 4, 7])
def test_grouping_covers_every_check_once(groups):
    units, specs = _stage_checks()
    assert len(units) == 24 and len(specs) == 40          # today's variant set
    bundles = checks.group_checks(specs, groups)
    keys = [checks.check_key(c) for b in bundles for c in b]
    assert sorted(keys) == sorted({checks.check_key(c) for c in specs})   # each distinct once
    assert len(keys) == 36            # 4 lane spaces shared (int4 x 3 archs, e2m1: MX and NV)
    assert len(bundles) == min(groups, len(bundles)) and len(bundles) <= groups
    if groups > 1:                    # the exhaustive checks (long, cheap rows) share one bundle
        ex = [b for b in bundles if any(c["check"] in ("lanes", "scalar") for c in b)]
        assert len(ex) == 1 and all(c["check"] in ("lanes", "scalar") for c in ex[0])
    assert checks.group_checks(specs, groups) == bundles                 # deterministic


def test_grouping_rejects_a_bad_count():
    with pytest.raises(ValueError, match="groups must be a whole number >= 1, got 0"):
        checks.group_checks([], 0)


def test_exhaustive_copies_keep_the_spaces():
    units, specs = _stage_checks()
    for c in specs:
        if c["check"] in ("lanes", "scalar"):
            pairs = checks.element_format(c["elem"]).num_codes ** 2
            # 8-bit spaces: 4 replicas (16,384 rows); 4- and 6-bit: 1
            assert c["copies"] == (4 if pairs == 65536 else 1)
            assert checks.make_member(c).vectors().count == pairs
