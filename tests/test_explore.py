"""`intfp explore` (issue 15): the format set, the Pareto front, the per-format table, the
command's errors, and one end-to-end run from a clean cache."""
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from intfp.analysis.explore import (EXPLORE_COLUMNS, explore_formats, explore_table,
                                    pareto_front)
from intfp.cli import main


def test_default_format_set_by_hand():
    # 4 bits: e1m2, e2m1, int4; 5 bits: e1m3, e2m2, e3m1, int5 (Y >= 1, X <= 5)
    names = explore_formats(bits=(4, 5), blocks=(16,), scales=("ue8m0",))
    assert names == ["mx:e1m2/b16/ue8m0", "mx:e2m1/b16/ue8m0", "mx:int4/b16/ue8m0",
                     "mx:e1m3/b16/ue8m0", "mx:e2m2/b16/ue8m0", "mx:e3m1/b16/ue8m0",
                     "mx:int5/b16/ue8m0"]
    # presets keep their names: E2M1 / INT4 with block 16 and an E4M3 scale are NVFP4 / NVINT4
    nv = explore_formats(bits=(4, 4), blocks=(16,), scales=("e4m3",))
    assert nv == ["nv:e1m2/b16/e4m3", "nvfp4", "nvint4"]
    # the default: per width b, FP elements X = 1 .. min(5, b - 2), plus int<b>:
    # 2 + 3 + 4 + 5 + 5 = 19 FP and 5 INT elements, x 2 blocks x 2 scales
    full = explore_formats()
    assert len(full) == (19 + 5) * 4 and len(set(full)) == len(full)
    assert {"mxfp8_e4m3", "mxint8", "mxfp6_e2m3", "mxint6", "mxfp4_e2m1", "mxint4", "nvfp4",
            "nvint4", "mxfp8_e5m2", "mxfp6_e3m2"} <= set(full)


@pytest.mark.parametrize("kw, match", [
    (dict(bits=(2, 8)), r"bits must be a range within 3\.\.8, got 2\.\.8"),
    (dict(bits=(6, 4)), r"got 6\.\.4"),
    (dict(blocks=(12,)), r"block size 12 is not a power of two"),
    (dict(scales=("fp32",)), r"scales must be among ue8m0, e4m3; got 'fp32'"),
    (dict(kinds=("bf",)), r"kinds must be among fp, int; got 'bf'"),
])
def test_format_set_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        explore_formats(**kw)


def test_pareto_front_by_hand():
    cost = [1.0, 2.0, 2.0, 3.0, 0.5, np.nan]
    qsnr = [10.0, 20.0, 15.0, 20.0, 5.0, 99.0]
    # (1, 10), (2, 20) and (0.5, 5) are undominated; (2, 15) loses to (2, 20); (3, 20) to
    # (2, 20) (same quality, dearer); NaN points are never on the front
    np.testing.assert_array_equal(pareto_front(cost, qsnr), [True, True, False, False, True, False])
    assert pareto_front([1.0, 1.0], [3.0, 3.0]).tolist() == [True, True]     # ties both stay


def _hw(rows):
    base = {"sub_block": "total", "lanes": 16, "clock_ns": 5.0, "meets_clock": True,
            "dynamic_per_mac_pj": 0.1}
    return pd.DataFrame([{**base, **r} for r in rows])


def test_table_keeps_each_formats_cheapest_architecture_that_meets_the_clock():
    hw = _hw([
        {"format": "mx:int5/b16/ue8m0", "lane_arch": "twos", "area_um2": 1600.0, "energy_per_mac_pj": 0.30},
        {"format": "mx:int5/b16/ue8m0", "lane_arch": "signmag_tree", "area_um2": 1760.0, "energy_per_mac_pj": 0.25},
        {"format": "mx:int5/b16/ue8m0", "lane_arch": "booth", "area_um2": 1000.0, "energy_per_mac_pj": 0.10,
         "meets_clock": False},                       # cheapest, but misses the clock: not chosen
        {"format": "mx:e2m2/b16/ue8m0", "lane_arch": "standard", "area_um2": 2400.0, "energy_per_mac_pj": 0.40},
        {"format": "mx:e2m2/b16/ue8m0", "lane_arch": "standard", "area_um2": 1.0, "energy_per_mac_pj": 0.01,
         "sub_block": "multiplier_0"},                # a sub-block row is not a unit
    ])
    q = pd.DataFrame({"format": ["mx:int5/b16/ue8m0", "mx:e2m2/b16/ue8m0"], "qsnr_db": [18.0, 17.0],
                      "qsnr_theory_db": [25.0, 25.0], "qsnr_gauss_db": [25.1, 24.9]})
    t = explore_table(hw, q, {("mx:int5/b16/ue8m0", "signmag_tree"): True,
                              ("mx:e2m2/b16/ue8m0", "standard"): True})
    assert list(t.columns) == list(EXPLORE_COLUMNS)
    r = t.set_index("format")
    assert r.loc["mx:int5/b16/ue8m0", "lane_arch"] == "signmag_tree"
    assert r.loc["mx:int5/b16/ue8m0", "area_per_lane_um2"] == 1760.0 / 16
    assert r.loc["mx:e2m2/b16/ue8m0", "area_per_lane_um2"] == 2400.0 / 16
    # INT5 is cheaper and more accurate here: it alone is on both fronts
    assert r["pareto"].tolist() == [True, False] and r["pareto_area"].tolist() == [True, False]
    assert r["verified"].all() and (r["bits"].tolist() == [5, 5])
    assert r["scale"].tolist() == ["ue8m0", "ue8m0"] and r["block"].tolist() == [16, 16]


def test_table_refuses_a_format_with_no_unit_meeting_the_clock():
    hw = _hw([{"format": "mx:int5/b16/ue8m0", "lane_arch": "twos", "area_um2": 1.0,
               "energy_per_mac_pj": 0.3, "meets_clock": False}])
    q = pd.DataFrame({"format": ["mx:int5/b16/ue8m0"], "qsnr_db": [1.0], "qsnr_theory_db": [1.0],
                      "qsnr_gauss_db": [1.0]})
    with pytest.raises(ValueError, match=r"no lane architecture of mx:int5/b16/ue8m0 meets"):
        explore_table(hw, q)


@pytest.mark.parametrize("args, match", [
    (["--bits", "2-8"], r"bits must be a range within 3\.\.8"),
    (["--bits", "x"], r"--bits must be LO-HI"),
    (["--blocks", "12"], r"block size 12"),
    (["--blocks", "a"], r"--blocks must be comma-separated integers"),
    (["--scales", "fp32"], r"scales must be among"),
    (["--formats", "mx:e2m2/b12"], r"block size 12"),
    (["--formats", "mx:e9m1"], r"X=9"),
    (["--workload", "nope"], r"unknown workload 'nope'"),
    (["--lane-arch", "wallace"], r"unknown lane architecture"),
    (["--library", "/nonexistent.lib"], r"liberty file not found"),
])
def test_explore_command_rejects_bad_input_before_work(args, match, monkeypatch):
    import intfp.explore as ex

    def no_work(*a, **k):
        raise AssertionError("the exploration started")
    monkeypatch.setattr(ex, "run_explore", no_work)
    r = CliRunner().invoke(main, ["explore", *args])
    assert r.exit_code == 2, r.output
    assert __import__("re").search(match, r.output), r.output


def test_explore_quick_end_to_end(tmp_path, monkeypatch):
    """Three non-preset formats from a clean cache: workload, QSNR, cocotb verification,
    synthesis and energy; the CSV has the issue's columns and the figure exists; a rerun is
    served from the cache."""
    monkeypatch.setenv("INTFP_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["explore", "--quick", "--out", str(out), "--workers", "1"])
    assert r.exit_code == 0, r.output
    t = pd.read_csv(out / "explore.csv")
    for col in ("format", "bits", "block", "scale", "qsnr_db", "area_per_lane_um2",
                "energy_per_mac_pj", "pareto"):
        assert col in t.columns
    assert sorted(t["format"]) == ["mx:e2m2/b8/ue8m0", "mx:int5/b8/ue8m0", "nv:e1m2/b8/e4m3"]
    assert t["verified"].all() and t["meets_clock"].all() and t["pareto"].any()
    assert (t["energy_per_mac_pj"] > 0).all() and (t["area_per_lane_um2"] > 0).all()
    assert (out / "explore.png").stat().st_size > 10_000
    ver = pd.read_csv(out / "explore_verification.csv")
    assert ver["passed"].all() and (ver["mismatched_rows"] == 0).all()
    assert any("lane" in c for c in ver["check"])                 # the exhaustive lane check ran
    meta = json.loads((out / "explore.json").read_text())
    assert set(meta["stage_seconds"]) >= {"workload", "qsnr", "verify", "hardware", "total"}
    # the rerun computes nothing: every task comes from the cache
    import intfp.analysis.flow
    import intfp.verify_task

    def recomputed(*a, **k):
        raise AssertionError("a cached task was recomputed")
    monkeypatch.setattr(intfp.analysis.flow, "unit_cost", recomputed)
    monkeypatch.setattr(intfp.verify_task, "verify_group", recomputed)
    r2 = CliRunner().invoke(main, ["explore", "--quick", "--out", str(out), "--workers", "1"])
    assert r2.exit_code == 0, r2.output
    pd.testing.assert_frame_equal(pd.read_csv(out / "explore.csv"), t)


def test_synth_of_a_grammar_format_prints_a_verified_units_rows(tmp_path, monkeypatch):
    """`intfp synth -f <grammar format> --json`: the unit is verified in cocotb first (its rows
    say so); a preset is not re-verified unless asked; a failed check is an error, not rows."""
    monkeypatch.setenv("INTFP_CACHE_DIR", str(tmp_path / "cache"))
    small = ["--json", "-j", "1", "--cycles", "3", "--streams", "8"]
    r = CliRunner().invoke(main, ["synth", "-f", "mx:e2m2/b8/ue8m0", *small])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert {x["format"] for x in rows} == {"mx:e2m2/b8/ue8m0"}
    assert all(x["verified"] is True for x in rows) and any(x["sub_block"] == "total" for x in rows)
    r = CliRunner().invoke(main, ["synth", "-f", "mx:e2m2/b8/ue8m0", "--no-verify", *small])
    assert all(x["verified"] is None for x in json.loads(r.stdout))

    import intfp.main_job

    def failing(units, *a, **k):
        return pd.DataFrame([{"unit": f"block:{u.label}", "check": "block_x", "passed": False,
                              "mismatched_rows": 3} for u in units])
    monkeypatch.setattr(intfp.main_job, "verify_sweep", failing)
    r = CliRunner().invoke(main, ["synth", "-f", "nv:int3/b8", *small])
    assert r.exit_code != 0 and "verification failed: block:nv:int3/b8/e4m3 k8 block_x (3 rows)" \
        in r.output, r.output
    r = CliRunner().invoke(main, ["synth", "-f", "nvint4", "--lanes", "8", *small])
    assert r.exit_code == 0 and all(x["verified"] is None for x in json.loads(r.stdout))
    r = CliRunner().invoke(main, ["synth", "-f", "nvint4", "--lanes", "8", "--verify", *small])
    assert r.exit_code != 0 and "verification failed" in r.output
