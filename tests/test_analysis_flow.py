"""Flow, cache, CLI, analytic model and reports; the project's RTL units when available."""
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from intfp.analysis import design, flow, operands
from intfp.analysis.analytic import (PUBLISHED_TABLE5, analytic_cost,
                                     cell_factors, table6_counts)
from intfp.analysis.reports import markdown_table, table5, write_reports
from intfp.cli import main

REQUIRED = {"format", "sub_block", "area_um2", "cells", "delay_ns", "energy_pj", "leakage_uw",
            "library"}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("INTFP_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_cli_synth_json_rows(cache):
    res = CliRunner().invoke(main, ["synth", "--formats", "mac8,tinydot", "--json", "-j", "1"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert all(REQUIRED <= set(r) for r in rows)
    tot = {r["format"]: r for r in rows if r["sub_block"] == "total"}
    assert set(tot) == {"mac8", "tinydot"}
    subs = [r for r in rows if r["format"] == "tinydot" and r["sub_block"] != "total"]
    assert {r["sub_block"] for r in subs} == {"multiplier_0", "multiplier_1", "adder_tree",
                                              "accumulator"}
    assert sum(r["area_um2"] for r in subs) == pytest.approx(tot["tinydot"]["area_um2"])
    assert sum(r["energy_pj"] for r in subs) == pytest.approx(tot["tinydot"]["energy_pj"])
    for r in tot.values():
        assert r["area_um2"] > 0 and r["delay_ns"] > 0 and r["energy_pj"] > 0 and r["leakage_uw"] > 0


def test_cache_hit_skips_synthesis(cache, monkeypatch):
    first = flow.unit_cost("mac8")
    assert any(cache.rglob("*.json"))

    def boom(*a, **k):
        raise AssertionError("synthesis ran despite a cache hit")

    monkeypatch.setattr(flow, "synthesize", boom)
    assert flow.unit_cost("mac8") == first
    with pytest.raises(AssertionError, match="cache hit"):
        flow.unit_cost("mac8", use_cache=False)


def test_cli_energy_and_errors(cache):
    r = CliRunner().invoke(main, ["energy", "--unit", "mac8", "--stream", "random"])
    assert r.exit_code == 0, r.output
    assert "pJ per MAC" in r.output
    bad = CliRunner().invoke(main, ["energy", "--unit", "mac8", "--stream", "nope.npz"])
    assert bad.exit_code != 0 and "neither one of gaussian, heavy, random" in bad.output
    bad = CliRunner().invoke(main, ["synth", "-f", "mac8", "-l", "/no/such.lib"])
    assert bad.exit_code != 0 and "liberty file not found" in bad.output


def test_table6_counts_follow_the_study():
    # Eq. 44 aligner width: E2M1 -> 10, E4M3 -> capped at 24.
    from intfp.models.hwmodel import aligner_width
    assert aligner_width(2, 1) == 10 and aligner_width(4, 3) == 24
    c = table6_counts("mxint8")
    assert c["multiplier"] == 32 * 8 ** 2 and c["adder_tree"] == 2 * 32 * 8
    c = table6_counts("mxfp8_e4m3")
    assert c["multiplier"] == 32 * 4 ** 2 and c["adder_tree"] == 32 * 24
    assert c["aligner"] == pytest.approx(32 * 24 * np.log2(24))
    assert c["normalizer"] == pytest.approx(24 * np.log2(24))
    c = table6_counts("nvfp4")
    assert c["multiplier"] == 16 * 2 ** 2 and c["aligner"] == pytest.approx(16 * 10 * np.log2(10))


def test_analytic_model_orders_formats_like_table5():
    f = cell_factors()
    assert f["FA"][0] == pytest.approx(4.256)     # the library's FA_X1-derived cell
    per = {}
    for fmt in ("mxfp8_e4m3", "mxint8", "nvfp4", "nvint4"):
        a = analytic_cost(fmt)
        per[fmt] = (a["total"]["area_um2"] / a["lanes"], a["total"]["energy_pj"] / a["lanes"])
    ref = per["mxfp8_e4m3"]
    ratios = {k: (v[0] / ref[0], v[1] / ref[1]) for k, v in per.items()}
    # Same ordering as the study's Table 5 (absolute cell factors are unpublished).
    order = sorted(ratios, key=lambda k: ratios[k][0])
    assert order == sorted(PUBLISHED_TABLE5["area"].keys() & ratios.keys(),
                           key=lambda k: PUBLISHED_TABLE5["area"][k])
    for k in ratios:
        assert abs(ratios[k][0] - PUBLISHED_TABLE5["area"][k]) < 0.2


def test_table5_and_reports(tmp_path):
    rows = []
    for fmt, lanes, area, e in (("mxfp8_e4m3", 32, 3200.0, 32.0), ("mxint8", 32, 1600.0, 16.0),
                                ("nvfp4", 16, 400.0, 4.0)):
        rows.append(dict(format=fmt, kind="block", lanes=lanes, library="L", sub_block="total",
                         area_um2=area, cells=10, delay_ns=1.0, energy_pj=e,
                         dynamic_per_mac_pj=e / lanes, leakage_uw=1.0))
        rows.append(dict(format=fmt, kind="block", lanes=lanes, library="L",
                         sub_block="multiplier_0", area_um2=area / 2, cells=5, delay_ns=1.0,
                         energy_pj=e / 2, leakage_uw=0.5))
    df = pd.DataFrame(rows)
    t5 = table5(df)
    r = t5.set_index("format")
    assert r.loc["mxint8", "area_x"] == pytest.approx(0.5)
    assert r.loc["nvfp4", "area_x"] == pytest.approx(0.25)          # per lane
    assert r.loc["nvfp4", "energy_x"] == pytest.approx(0.25)
    assert r.loc["mxint8", "study_energy_x"] == 0.63
    paths = write_reports(df, tmp_path)
    for p in paths.values():
        assert p.is_file() and p.stat().st_size > 0
    assert markdown_table(t5).count("\n") == len(t5) + 2


def test_synthetic_streams():
    for kind in operands.STREAM_KINDS:
        s = operands.synthetic_stream("nvint4", kind, 50, 16, seed=1)
        assert s["a_codes"].shape == (50, 16) and s["a_codes"].dtype == np.uint8
        assert s["a_scales"].shape == (50,)
        assert s["a_codes"].max() < 16
    with pytest.raises(ValueError, match="unknown stream kind"):
        operands.synthetic_stream("nvint4", "laplace", 4, 16)


def test_workload_stream_file_drives_a_unit(tmp_path):
    from intfp.models.workloads.streams import OperandStream, save_streams
    s = operands.synthetic_stream("nvint4", "heavy", 40, 16, seed=3)
    path = save_streams(tmp_path / "w.npz", [OperandStream("qk", "nvint4", s["a_codes"],
                                                           s["a_scales"], s["b_codes"],
                                                           s["b_scales"], 1.0, 1.0, 16)])
    got = operands.load_stream(path, "nvint4")
    d = design.design_for("nvint4")
    ins = operands.unit_inputs(d, got, cycles=5, streams=8)
    assert ins["a"].shape == (5, 8, 16 * 4) and ins["a_scale"].shape == (5, 8)
    # Stream 1 starts at block 5; lane 0's 4 code bits LSB first.
    code = s["a_codes"][5, 0]
    assert list(ins["a"][0, 1, :4]) == [bool((code >> i) & 1) for i in range(4)]
    with pytest.raises(ValueError, match="no operand stream in format 'mxint8'"):
        operands.load_stream(path, "mxint8")


def test_nvint4_unit_netlist_matches_the_bit_exact_model():
    """Post-synthesis equivalence of a real unit: the mapped NVINT4 block unit's ``dot``
    output equals :func:`intfp.models.hwmodel.block_dot` bit for bit on Gaussian blocks."""
    from intfp.analysis.liberty import read_liberty
    from intfp.analysis.netlist import Netlist
    from intfp.analysis.yosys import synthesize
    from intfp.models.hwmodel import block_dot
    d = design.design_for("nvint4")
    r = synthesize(d.rtlil, d.top)
    nl = Netlist.from_yosys_json(r.netlist, read_liberty(r.liberty_path), d.top)
    cycles, streams = 6, 64
    s = operands.synthetic_stream("nvint4", "gaussian", cycles * streams, 16, seed=7)
    ins = operands.unit_inputs(d, s, cycles=cycles, streams=streams)
    out, _ = nl.simulate(ins, count_toggles=False)
    want = block_dot("nvint4", s["a_codes"], s["b_codes"], s["a_scales"], s["b_scales"])
    # Simulation stream s replays blocks s*cycles ... (s+1)*cycles - 1: transpose to block order.
    assert np.array_equal(out["dot"].T.reshape(-1).astype(np.uint32), want.reshape(-1))


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["mxfp8_e4m3", "mxint8", "nvfp4"])
def test_units_netlist_matches_the_bit_exact_model(fmt):
    from intfp.analysis.liberty import read_liberty
    from intfp.analysis.netlist import Netlist
    from intfp.analysis.yosys import synthesize
    from intfp.models.hwmodel import block_dot
    d = design.design_for(fmt)
    r = synthesize(d.rtlil, d.top)
    nl = Netlist.from_yosys_json(r.netlist, read_liberty(r.liberty_path), d.top)
    s = operands.synthetic_stream(fmt, "heavy", 4 * 64, d.unit.block_size, seed=8)
    ins = operands.unit_inputs(d, s, cycles=4, streams=64)
    out, _ = nl.simulate(ins, count_toggles=False)
    want = block_dot(fmt, s["a_codes"], s["b_codes"], s["a_scales"], s["b_scales"])
    # Simulation stream s replays blocks s*cycles ... (s+1)*cycles - 1: transpose to block order.
    assert np.array_equal(out["dot"].T.reshape(-1).astype(np.uint32), want.reshape(-1))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mxint8+nvint4", "mxfp8+nvfp4"])
def test_mixed_units_netlist_matches_the_bit_exact_model(name):
    """Both modes of a mapped Table 7 unit: channel outputs equal hwmodel.block_dot of the
    MX block (8-bit mode, channel 0) or of each NV block (4-bit mode)."""
    from intfp.analysis.liberty import read_liberty
    from intfp.analysis.netlist import Netlist
    from intfp.analysis.yosys import synthesize
    from intfp.models.hwmodel import block_dot
    d = design.design_for(name, kind="mixed")
    r = synthesize(d.rtlil, d.top)
    nl = Netlist.from_yosys_json(r.netlist, read_liberty(r.liberty_path), d.top)
    comp = d.component
    cycles, streams, ch = 3, 64, comp.channels
    for mode in (0, 1):
        ins = operands.unit_inputs(d, "heavy", cycles=cycles, streams=streams, seed=9, mode=mode)
        out, _ = nl.simulate(ins, count_toggles=False)
        dot = out["dot"].T.reshape(-1)                  # block order, see unit_inputs
        lanes = np.array([[(int(v) >> (32 * g)) & 0xFFFFFFFF for g in range(ch)] for v in dot],
                         dtype=np.int64)
        fmt = comp.mx_spec.fmt.name if mode == 0 else comp.nv_spec.fmt.name
        s = operands.synthetic_stream(fmt, "heavy", cycles * streams * (1 if mode == 0 else ch),
                                  comp.lanes if mode == 0 else 16, seed=9)
        want = block_dot(fmt, s["a_codes"], s["b_codes"], s["a_scales"], s["b_scales"])
        if mode == 0:
            assert np.array_equal(lanes[:, 0].astype(np.uint32), want)
            assert not lanes[:, 1:].any()
        else:
            assert np.array_equal(lanes.reshape(-1).astype(np.uint32), want)


def test_sweep_over_windows_runs_on_dask_and_caches(tmp_path, monkeypatch):
    """The design-space sweep runs as Dask tasks (LocalCluster, 2 workers): a narrower
    alignment window gives a smaller aligner; a rerun comes from the cache."""
    from intfp.analysis.flow import sweep
    monkeypatch.setenv("INTFP_CACHE_DIR", str(tmp_path / "cache"))
    df = sweep(["mxfp8_e4m3", "mxint8"], lanes=(4,), windows=(16, 24), jobs=2, progress=False,
               stream=None)
    tot = df[df["sub_block"] == "total"]
    assert sorted(tot["window"].dropna().astype(int)) == [16, 24]   # FP only; INT has no window
    assert len(tot) == 3
    al = df[df["sub_block"] == "aligner"].set_index("window")["area_um2"]
    assert al.loc[16] < al.loc[24]
    again = sweep(["mxfp8_e4m3", "mxint8"], lanes=(4,), windows=(16, 24), jobs=2, progress=False,
                  stream=None)
    assert again.equals(df)


def test_at_common_clock_restates_leakage_by_hand():
    """One clock per library (the slowest unit's critical path): leakage energy = power x
    period is recomputed, dynamic energy kept; every unit meets the common clock."""
    import pandas as pd

    from intfp.analysis.flow import at_common_clock
    df = pd.DataFrame([
        # unit A: 2 ns, 10 uW leakage, 3 pJ dynamic per op, 4 MACs / op (energy at its own 2 ns)
        dict(format="A", library="L", lanes=4, sub_block="total", delay_ns=2.0, leakage_uw=10.0,
             dynamic_pj=3.0, energy_pj=3.0 + 10 * 2 * 1e-3, energy_per_mac_pj=(3.0 + 0.02) / 4,
             leakage_pj=0.02),
        dict(format="A", library="L", lanes=4, sub_block="adder_tree", delay_ns=2.0,
             leakage_uw=1.0, dynamic_pj=1.0, energy_pj=1.002, energy_per_mac_pj=1.002 / 4),
        dict(format="B", library="L", lanes=8, sub_block="total", delay_ns=5.0, leakage_uw=4.0,
             dynamic_pj=6.0, energy_pj=6.02, energy_per_mac_pj=6.02 / 8, leakage_pj=0.02),
        dict(format="C", library="M", lanes=1, sub_block="total", delay_ns=1.0, leakage_uw=2.0,
             dynamic_pj=1.0, energy_pj=1.002, energy_per_mac_pj=1.002, leakage_pj=0.002),
    ])
    out = at_common_clock(df).set_index(["format", "sub_block"])
    assert out.loc[("A", "total"), "clock_ns"] == 5.0 and out.loc[("C", "total"), "clock_ns"] == 1.0
    assert out.loc[("A", "total"), "leakage_pj"] == pytest.approx(10 * 5 * 1e-3)
    assert out.loc[("A", "total"), "energy_pj"] == pytest.approx(3.0 + 0.05)
    assert out.loc[("A", "total"), "energy_per_mac_pj"] == pytest.approx(3.05 / 4)
    assert out.loc[("A", "adder_tree"), "energy_pj"] == pytest.approx(1.0 + 1.0 * 5 * 1e-3)
    assert out.loc[("B", "total"), "energy_pj"] == pytest.approx(6.0 + 4 * 5 * 1e-3)
    assert out.loc[("A", "total"), "slack_ns"] == pytest.approx(3.0)
    assert out.loc[("A", "total"), "meets_clock"] and out.loc[("B", "total"), "meets_clock"]
    assert out.loc[("A", "total"), "dynamic_pj"] == 3.0


def test_a_unit_that_misses_the_clock_is_flagged(tmp_path, monkeypatch):
    from intfp.analysis.flow import unit_cost
    monkeypatch.setenv("INTFP_CACHE_DIR", str(tmp_path))
    fast = unit_cost("mac8", stream=None, clock_ns=0.05)[0]
    assert fast["meets_clock"] is False and fast["slack_ns"] < 0
    assert fast["clock_target_ns"] == 0.05
    slow = unit_cost("mac8", stream=None, clock_ns=50.0)[0]
    assert slow["meets_clock"] is True and slow["slack_ns"] == pytest.approx(50.0 - slow["delay_ns"])
    with pytest.raises(ValueError, match="clock_ns must be a positive period"):
        unit_cost("mac8", stream=None, clock_ns=-1.0)


def test_several_streams_from_one_synthesis_equal_single_stream_runs(tmp_path, monkeypatch):
    from intfp.analysis import flow
    monkeypatch.setenv("INTFP_CACHE_DIR", str(tmp_path))
    calls = []
    real = flow.synthesize
    monkeypatch.setattr(flow, "synthesize", lambda *a, **k: calls.append(1) or real(*a, **k))
    kw = dict(lanes=2, cycles=5, streams=16, use_cache=False)
    both = pd.DataFrame(flow.unit_cost("mxint4", stream=["gaussian", "heavy"], **kw))
    assert len(calls) == 1
    for s in ("gaussian", "heavy"):
        one = pd.DataFrame(flow.unit_cost("mxint4", stream=s, **kw))
        got = both[both["stream"] == s].reset_index(drop=True)
        pd.testing.assert_frame_equal(got[one.columns], one)


def test_sweep_points_cross_lane_architectures_stages_and_windows():
    from intfp.analysis.flow import sweep_points
    pts = sweep_points(["mxint8", "mxfp8"], None, lanes=(4,), windows=(16, None),
                       stages=(1, 3), lane_archs=("twos", "signmag"))
    pts += sweep_points(["mxfp8+nvfp4"], None, stages=(1, 3), lane_archs=("signmag",))
    labels = [p.label for p in pts]
    assert labels == ["mxint8 k4", "mxint8 k4 signmag", "mxint8 k4 p2", "mxint8 k4 signmag p2",
                      "mxfp8_e4m3 k4 w16", "mxfp8_e4m3 k4 w16 p2", "mxfp8_e4m3 k4",
                      "mxfp8_e4m3 k4 p2", "mxfp8+nvfp4 k32"]
    assert pts[1].lane_arch == "signmag" and pts[2].stages == 3
    with pytest.raises(ValueError, match="unknown lane architecture"):
        sweep_points(["mxint8"], None, lane_archs=("wallace",))
    with pytest.raises(ValueError, match="needs a symmetric INT format"):
        sweep_points(["mxint8_asym"], None, lane_archs=("signmag",))


def test_timed_energy_columns_through_unit_cost(tmp_path, monkeypatch):
    """--delay-model reaches the simulator: zero-delay has no glitch energy, unit delay does,
    and functional energy is the same transitions in both (identical settled states)."""
    from intfp.analysis.flow import unit_cost
    monkeypatch.setenv("INTFP_CACHE_DIR", str(tmp_path))
    kw = dict(lanes=2, cycles=5, streams=16)
    zero = unit_cost("mxint4", delay_model="zero", **kw)[0]
    unit = unit_cost("mxint4", delay_model="unit", **kw)[0]
    assert zero["delay_model"] == "zero" and unit["delay_model"] == "unit"
    assert zero["glitch_pj"] == 0 and unit["glitch_pj"] > 0
    assert unit["functional_pj"] == pytest.approx(zero["functional_pj"])
    with pytest.raises(ValueError, match="delay"):
        unit_cost("mxint4", delay_model="fast", **kw)


def test_defaults_liberty_delays_with_the_library_wire_load(tmp_path, monkeypatch):
    """Defaults: liberty cell delays (glitches counted) with the library's wire-load model
    where it has one (the bundled library has one: wire energy > 0 and a longer critical path
    than without it). The zero-delay result of the same unit is the timed one without its
    glitch energy, at every level the rows report."""
    from intfp.analysis.flow import unit_cost
    monkeypatch.setenv("INTFP_CACHE_DIR", str(tmp_path))
    kw = dict(lanes=2, cycles=5, streams=16)
    rows = unit_cost("mxint4", **kw)
    d = rows[0]
    off = unit_cost("mxint4", wire_load=None, **kw)[0]
    zero = unit_cost("mxint4", delay_model="zero", **kw)
    assert d["delay_model"] == "liberty" and d["glitch_pj"] > 0
    assert d["glitch_per_mac_pj"] == pytest.approx(d["glitch_pj"] / 2)      # 2 MACs a cycle
    assert zero[0]["glitch_pj"] == 0 and zero[0]["glitch_per_mac_pj"] == 0
    assert zero[0]["energy_per_mac_pj"] == pytest.approx(
        d["energy_per_mac_pj"] - d["glitch_per_mac_pj"], rel=1e-12)
    by = {r["sub_block"]: r for r in zero}
    for r in rows[1:]:
        assert by[r["sub_block"]]["functional_pj"] == pytest.approx(r["functional_pj"], rel=1e-12)
        assert by[r["sub_block"]]["dynamic_pj"] == pytest.approx(
            r["dynamic_pj"] - r["glitch_pj"], rel=1e-12, abs=1e-15)
    assert d["wire_pj"] > 0 and off["wire_pj"] == 0
    assert d["delay_ns"] > off["delay_ns"]
    # same functional transitions, each now also charging its wire (and a larger internal-energy
    # load); the zero-delay run's wire_pj is the wire energy of those transitions alone
    assert d["functional_pj"] > off["functional_pj"] + 0.9 * zero[0]["wire_pj"]
