"""`intfp synth` / `intfp energy` terminal output (issue 16): a one-line summary first, lanes of
one kind merged (`multiplier x32`), natural order, fixed-point numbers with units in the
headers, an 80-column table; --per-lane, --format table|md|csv|json, --json as before."""
import io
import json

import pandas as pd
import pytest
from click.testing import CliRunner

from intfp.cli import main
from intfp.cli_synth import emit, merge_lanes, natural_key, subblock_table


def unit_rows(lanes=12, fmt="mxint8", **extra):
    """A hand-made unit: multiplier_i of area i + 1 (so lanes 0..11 sum to 78), an adder tree of
    22, a normalizer of 100 ((top) glue 0); total 200. Energy: multiplier_i (i + 1) / 10 pJ."""
    base = dict(format=fmt, kind="block", lanes=lanes, lane_arch="twos", stages=1,
                library="lib45", stream="gaussian", **extra)
    mult = [dict(base, sub_block=f"multiplier_{i}", area_um2=float(i + 1), cells=2 * (i + 1),
                 energy_pj=(i + 1) / 10) for i in range(lanes)]
    m_area = lanes * (lanes + 1) / 2
    rows = [dict(base, sub_block="total", area_um2=m_area + 122.0, cells=999, delay_ns=2.5,
                 energy_pj=m_area / 10 + 3.0, energy_per_mac_pj=(m_area / 10 + 3.0) / lanes)]
    rows += [dict(base, sub_block="normalizer", area_um2=100.0, cells=50, energy_pj=1.0),
             dict(base, sub_block="adder_tree", area_um2=22.0, cells=11, energy_pj=2.0)]
    return pd.DataFrame(rows + mult)


def test_natural_key_orders_numbers_by_value():
    names = ["multiplier_10", "multiplier_2", "adder_tree", "multiplier_1"]
    assert sorted(names, key=natural_key) == ["adder_tree", "multiplier_1", "multiplier_2",
                                              "multiplier_10"]


def test_merge_lanes_sums_one_kind_into_one_row():
    m = merge_lanes(unit_rows()).set_index("sub_block")
    assert list(m.index) == ["total", "normalizer", "adder_tree", "multiplier x12"]
    assert m.loc["multiplier x12", "area_um2"] == 78.0          # 1 + 2 + ... + 12
    assert m.loc["multiplier x12", "cells"] == 156
    assert m.loc["multiplier x12", "energy_pj"] == pytest.approx(7.8)
    assert m.loc["multiplier x12", "n"] == 12 and m.loc["adder_tree", "n"] == 1
    assert m.loc["total", "area_um2"] == 200.0                    # totals are not summed again
    # two units of one sweep stay apart
    two = merge_lanes(pd.concat([unit_rows(), unit_rows(fmt="mxfp8_e4m3")], ignore_index=True))
    assert list(two.groupby("format")["area_um2"].sum()) == [400.0, 400.0]


def test_subblock_table_fixed_point_units_and_order():
    headers, body = subblock_table(unit_rows())
    assert headers == ["sub-block", "area um2", "area %", "um2/lane", "pJ/op", "energy %",
                       "pJ/MAC"]
    rows = {r[0]: r for r in body}
    assert [r[0] for r in body] == ["total", "adder_tree", "multiplier x12", "normalizer"]
    # multipliers: 78 um2 of 200 = 39.0 %, 78 / 12 lanes = 6.5 um2/lane; 7.8 pJ of 10.8 = 72.2 %,
    # 7.8 / 12 = 0.65 pJ per MAC
    assert rows["multiplier x12"] == ["multiplier x12", "78.0", "39.0", "6.5", "7.800", "72.2",
                                      "0.6500"]
    assert rows["total"][1:4] == ["200.0", "100.0", "16.7"]
    per = [r[0] for r in subblock_table(unit_rows(), per_lane=True)[1]]
    assert per[:4] == ["total", "adder_tree", "multiplier_0", "multiplier_1"]
    assert per.index("multiplier_2") < per.index("multiplier_10")   # natural, not text, order
    assert len(per) == 3 + 12


def test_area_only_table_shows_cells_instead_of_energy():
    df = unit_rows().drop(columns=["energy_pj", "energy_per_mac_pj"])
    headers, body = subblock_table(df)
    assert headers == ["sub-block", "area um2", "area %", "um2/lane", "cells"]
    assert dict((r[0], r[4]) for r in body)["multiplier x12"] == "156"


def _emit_text(df, fmt, monkeypatch, **kw):
    """What emit prints: CliRunner gives click.echo and rich the same captured stdout."""
    monkeypatch.setenv("COLUMNS", "200")            # a wide terminal: the table's own width shows
    import click

    @click.command()
    def cmd():
        emit(df, fmt, **kw)
    r = CliRunner().invoke(cmd, [], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.stdout


def test_column_decimals_follow_the_largest_value():
    big = unit_rows()
    big.loc[big["sub_block"] == "total", ["area_um2", "energy_pj"]] = [377168.34, 1007.416]
    rows = {r[0]: r for r in subblock_table(big)[1]}
    # area: 6 significant digits of the largest value, at most 1 decimal -> 0 here
    assert rows["total"][1] == "377,168" and rows["normalizer"][1] == "100"
    assert rows["total"][4] == "1,007.4" and rows["normalizer"][4] == "1.0"   # pJ: 1 decimal
    assert rows["total"][6] == "83.95"                       # 1007.416 / 12 lanes, 2 decimals


@pytest.mark.parametrize("fmt", ["md", "table"])
@pytest.mark.parametrize("area, energy, summary", [
    (16008.1, 27.1, "mxint8: 16,008.1 um2 = 500.3 um2/lane, 27.100 pJ/op = 0.8469 pJ/MAC, 2.50 ns"),
    (377168.3, 1007.4, "mxint8: 377,168 um2 = 11,787 um2/lane, 1,007.4 pJ/op = 31.48 pJ/MAC, 2.50 ns")])
def test_32_lane_unit_fits_80_columns_in_one_screen(fmt, area, energy, summary, monkeypatch):
    df = unit_rows(lanes=32)        # widths of mxint8 in the bundled 45 nm and in gf180 libraries
    df.loc[df["sub_block"] == "total", ["area_um2", "energy_pj"]] = [area, energy]
    df.loc[df["sub_block"] == "total", "energy_per_mac_pj"] = energy / 32
    text = _emit_text(df, fmt, monkeypatch)
    lines = text.rstrip("\n").splitlines()
    first = lines[0]
    assert first == summary
    assert max(len(ln) for ln in lines) <= 80, max(lines, key=len)
    assert len(lines) <= 24
    assert "multiplier x32" in text and "multiplier_1" not in text
    assert "…" not in text                                          # rich truncated nothing
    per = _emit_text(df, fmt, monkeypatch, per_lane=True)
    assert "multiplier_31" in per and "multiplier x32" not in per


def test_md_is_a_markdown_table():
    buf = io.StringIO()
    import contextlib
    with contextlib.redirect_stdout(buf):
        emit(unit_rows(), "md")
    lines = buf.getvalue().splitlines()
    table = [ln for ln in lines if ln.startswith("|")]
    assert table[0].split("|")[1].strip() == "sub-block"
    assert set(table[1]) <= set("|:-") and table[1].endswith(":|")   # numbers right-aligned
    assert all(ln.count("|") == table[0].count("|") for ln in table)


def test_several_units_get_a_sweep_summary_line(monkeypatch):
    df = pd.concat([unit_rows(), unit_rows(fmt="mxfp8_e4m3", )], ignore_index=True)
    fp_total = (df["format"] == "mxfp8_e4m3") & (df["sub_block"] == "total")
    df.loc[fp_total, ["area_um2", "energy_per_mac_pj"]] = [120.0, 1.2]
    text = _emit_text(df, "md", monkeypatch)
    assert text.splitlines()[0] == ("2 units; smallest: mxfp8_e4m3 (10.0 um2/lane); lowest "
                                    "energy: mxint8 (0.9000 pJ/MAC)")


# ---- the commands themselves (a tiny area-only unit: seconds of Yosys) -------------------------
def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def cache_env(tmp_path_factory):
    import os
    old = os.environ.get("INTFP_CACHE_DIR")
    os.environ["INTFP_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("INTFP_CACHE_DIR")
    else:
        os.environ["INTFP_CACHE_DIR"] = old


def test_synth_formats_end_to_end(cache_env):
    base = ("synth", "-f", "mxint4", "--lanes", "4", "--no-energy")
    md = run(*base)                                   # not a terminal: Markdown by default
    assert md.exit_code == 0, md.output
    lines = md.stdout.splitlines()
    assert lines[0].startswith("mxint4: ") and " um2/lane, " in lines[0]
    assert "| multiplier x4 " in md.stdout and "multiplier_0" not in md.stdout
    assert max(map(len, lines)) <= 80
    per = run(*base, "--per-lane", "--format", "md").stdout
    assert [ln.split("|")[1].strip() for ln in per.splitlines() if "| multiplier_" in ln] == \
        ["multiplier_0", "multiplier_1", "multiplier_2", "multiplier_3"]
    js = json.loads(run(*base, "--json").stdout)       # --json: today's rows, one per instance
    assert js == json.loads(run(*base, "--format", "json").stdout)
    assert {r["sub_block"] for r in js} >= {"total", "multiplier_0", "multiplier_3"}
    csv = pd.read_csv(io.StringIO(run(*base, "--format", "csv").stdout))
    assert len(csv) == len(js) and set(csv["sub_block"]) == {r["sub_block"] for r in js}
    tot = csv[csv["sub_block"] == "total"].iloc[0]
    mult = csv[csv["sub_block"].str.startswith("multiplier_")]["area_um2"].sum()
    row = next(ln for ln in lines if "| multiplier x4 " in ln)
    assert row.split("|")[2].strip() == f"{mult:,.1f}"          # the sum of the four lanes
    assert f"{tot['area_um2']:,.1f} um2" in lines[0]
    table = run(*base, "--format", "table").stdout
    assert "multiplier x4" in table and "|" not in table and table.splitlines()[0] == lines[0]


def test_json_and_another_format_conflict():
    r = CliRunner().invoke(main, ["synth", "-f", "mac8", "--json", "--format", "md"])
    assert r.exit_code != 0 and "--json is --format json" in r.output
    r = CliRunner().invoke(main, ["synth", "-f", "mac8", "--format", "xml"])
    assert r.exit_code != 0 and "xml" in r.output and "table" in r.output
