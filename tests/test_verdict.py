"""The verdict table: best architecture per side at the matched clock, ratios by hand."""
import math

import pandas as pd
import pytest

from intfp.analysis.verdict import (PAIRS, VERDICT_COLUMNS, study_ratio, verdict_summary,
                                   verdict_table)


def _row(fmt, arch, e_mac, area, lanes=32, meets=True, stream="gaussian", lib="L", clock=10.0):
    return dict(format=fmt, lane_arch=arch, sub_block="total", library=lib, stream=stream,
                lanes=lanes, area_um2=area, energy_per_mac_pj=e_mac, meets_clock=meets,
                clock_ns=clock, stages=1)


def test_each_side_takes_its_lowest_energy_architecture_that_meets_the_clock():
    hw = pd.DataFrame([
        _row("mxint8", "twos", 0.80, 3200.0),
        _row("mxint8", "booth", 0.70, 2900.0),
        _row("mxint8", "signmag", 0.50, 2800.0, meets=False),     # fastest loser: not eligible
        _row("mxfp8_e4m3", "standard", 0.60, 3000.0),
        _row("mxint8", "twos", 0.90, 3200.0, stream="heavy"),
        _row("mxfp8_e4m3", "standard", 0.45, 3000.0, stream="heavy"),
        _row("mxint8", "booth", 0.60, 2900.0, stream="heavy"),
        _row("mxint8", "signmag", 0.40, 2800.0, stream="heavy", meets=False),
    ])
    full = verdict_table(hw, pairs=[("mxint8", "mxfp8_e4m3")])
    assert list(full.columns) == list(VERDICT_COLUMNS)
    v = full.set_index("stream")
    g = v.loc["gaussian"]
    assert g["int_arch"] == "booth" and g["fp_arch"] == "standard"
    assert g["energy_x"] == pytest.approx(0.70 / 0.60)
    assert g["area_x"] == pytest.approx((2900 / 32) / (3000 / 32))
    assert g["clock_ns"] == 10.0 and g["met"]
    assert v.loc["heavy", "energy_x"] == pytest.approx(0.60 / 0.45)
    assert g["study_area_x"] == pytest.approx(0.79) and g["study_energy_x"] == pytest.approx(0.63)


def test_a_side_with_no_architecture_meeting_the_clock_is_not_compared():
    hw = pd.DataFrame([_row("nvint4", "twos", 0.3, 900.0, lanes=16, meets=False),
                       _row("nvfp4", "standard", 0.4, 1000.0, lanes=16)])
    v = verdict_table(hw, pairs=[("nvint4", "nvfp4")]).iloc[0]
    assert not v["met"] and math.isnan(v["energy_x"]) and pd.isna(v["int_arch"])


def test_study_ratios():
    assert study_ratio("nvint4", "nvfp4", "area") == pytest.approx(0.38 / 0.54)
    assert study_ratio("nvint4", "nvfp4", "energy") == pytest.approx(0.34 / 0.55)
    assert study_ratio("mxint8+nvint4", "mxfp8+nvfp4", "area") == pytest.approx(0.66)
    assert math.isnan(study_ratio("mxint6", "mxfp6_e2m3", "area"))
    assert len(PAIRS) == 5


def test_zero_delay_ratio_repicks_each_side_without_its_glitch_energy():
    # Timed: booth 0.70 beats twos 0.80. Without glitches: twos 0.80 - 0.40 = 0.40 beats
    # booth 0.70 - 0.20 = 0.50; FP 0.60 - 0.25 = 0.35. So zero-delay INT / FP = 0.40 / 0.35.
    rows = [dict(_row("mxint8", "twos", 0.80, 3200.0), glitch_per_mac_pj=0.40),
            dict(_row("mxint8", "booth", 0.70, 2900.0), glitch_per_mac_pj=0.20),
            dict(_row("mxfp8_e4m3", "standard", 0.60, 3000.0), glitch_per_mac_pj=0.25)]
    v = verdict_table(pd.DataFrame(rows), pairs=[("mxint8", "mxfp8_e4m3")]).iloc[0]
    assert v["int_arch"] == "booth" and v["energy_x"] == pytest.approx(0.70 / 0.60)
    assert v["zero_delay_int_arch"] == "twos"
    assert v["zero_delay_energy_x"] == pytest.approx(0.40 / 0.35)
    text = verdict_summary(verdict_table(pd.DataFrame(rows), pairs=[("mxint8", "mxfp8_e4m3")]))
    assert "zero-delay (functional transitions only), stream gaussian" in text
    assert "| mxint8 / mxfp8_e4m3 | 1.14 | 0.63 |" in text        # 0.40 / 0.35 = 1.143


def test_zero_delay_runs_have_no_zero_delay_ratio():
    v = verdict_table(pd.DataFrame([_row("mxint8", "twos", 0.8, 3200.0),
                                    _row("mxfp8_e4m3", "standard", 0.6, 3000.0)]),
                      pairs=[("mxint8", "mxfp8_e4m3")])
    assert v["zero_delay_energy_x"].isna().all()
    assert "zero-delay" not in verdict_summary(v)


def test_timing_summary_by_hand():
    from intfp.analysis.reports import timing_summary
    rows = [dict(_row("mxint8", "twos", 0.80, 3200.0), kind="block", delay_model="liberty",
                 glitch_per_mac_pj=0.30, glitch_share=0.4),
            dict(_row("mxint8", "twos", 0.50, 3200.0), kind="block", delay_model="zero",
                 glitch_per_mac_pj=0.0, glitch_share=0.0),
            dict(_row("mxint8", "twos", 0.1, 3200.0), kind="block", delay_model="liberty",
                 glitch_per_mac_pj=0.05, glitch_share=0.5, sub_block="multiplier_0")]
    t = timing_summary(pd.DataFrame(rows))
    assert len(t) == 1                                   # totals of timed runs only
    r = t.iloc[0]
    assert r["energy_per_mac_pj"] == 0.80
    assert r["zero_delay_energy_per_mac_pj"] == pytest.approx(0.50)
    assert r["timed_over_zero_delay"] == pytest.approx(1.6)
    assert r["glitch_share"] == 0.4 and r["lane_arch"] == "twos"
    assert timing_summary(pd.DataFrame(rows[1:2])).empty


def test_a_zero_delay_sweep_has_no_second_ratio():
    rows = [dict(_row("mxint8", "twos", 0.8, 3200.0), glitch_per_mac_pj=0.0, delay_model="zero"),
            dict(_row("mxfp8_e4m3", "standard", 0.6, 3000.0), glitch_per_mac_pj=0.0,
                 delay_model="zero")]
    v = verdict_table(pd.DataFrame(rows), pairs=[("mxint8", "mxfp8_e4m3")])
    assert v["zero_delay_energy_x"].isna().all()
