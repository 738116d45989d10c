"""The study's analytical model (analysis/analytic.py), pinned term by term.

Each Table 6 row per format is computed by hand below from the study's formulas (arXiv
2510.25602, Table 6, Eq. 44), and the cell factors from a synthetic Liberty library whose tables
are constant, so every number in the expected values can be checked with a pencil. A one-line
change to a row formula, the aligner width, the dequantizer row or the cell-energy formula
fails here.
"""
import math

import pytest

from intfp.analysis.analytic import analytic_cost, cell_factors, table6_counts
from intfp.models.hwmodel import aligner_width

LOG24 = math.log2(24)
ACC = 24 + 8 + 8 + 24 * LOG24 + 24 * LOG24          # FP32 adder: tree n, exp sub x, cmp x, align, norm


@pytest.mark.parametrize("x,y,n", [(4, 3, 24), (5, 2, 24), (2, 3, 14), (3, 2, 20), (2, 1, 10),
                                   (8, 23, 24), (0, 7, 16), (0, 3, 8)])
def test_aligner_width_eq44(x, y, n):
    assert aligner_width(x, y) == n                  # min(2^(x+1) + 2y, 24)


# Hand-computed Table 6 gate counts (k lanes; INT: k(x+y+1)^2, 2k(x+y+1); FP: k(y+1)^2, k n,
# k x three times, k n log2 n, n log2 n), plus the project's accumulator and dequantizer rows.
HAND = {
    "mxint8": dict(multiplier=32 * 64, adder_tree=2 * 32 * 8, accumulator=ACC, dequantizer=16),
    "mxint6": dict(multiplier=32 * 36, adder_tree=2 * 32 * 6, accumulator=ACC, dequantizer=16),
    "mxint4": dict(multiplier=32 * 16, adder_tree=2 * 32 * 4, accumulator=ACC, dequantizer=16),
    "nvint4": dict(multiplier=16 * 16, adder_tree=2 * 16 * 4, accumulator=ACC, dequantizer=40),
    "mxfp8_e4m3": dict(multiplier=32 * 16, adder_tree=32 * 24, exp_adder=32 * 4, exp_subtractor=32 * 4,
                       comparator=32 * 4, aligner=32 * 24 * LOG24, normalizer=24 * LOG24,
                       accumulator=ACC, dequantizer=16),
    "mxfp8_e5m2": dict(multiplier=32 * 9, adder_tree=32 * 24, exp_adder=32 * 5, exp_subtractor=32 * 5,
                       comparator=32 * 5, aligner=32 * 24 * LOG24, normalizer=24 * LOG24,
                       accumulator=ACC, dequantizer=16),
    "mxfp6_e2m3": dict(multiplier=32 * 16, adder_tree=32 * 14, exp_adder=64, exp_subtractor=64,
                       comparator=64, aligner=32 * 14 * math.log2(14), normalizer=14 * math.log2(14),
                       accumulator=ACC, dequantizer=16),
    "mxfp4_e2m1": dict(multiplier=32 * 4, adder_tree=32 * 10, exp_adder=64, exp_subtractor=64,
                       comparator=64, aligner=32 * 10 * math.log2(10), normalizer=10 * math.log2(10),
                       accumulator=ACC, dequantizer=16),
    # NV: 16 lanes, E4M3 scales: dequantizer = two E4M3 multiplies = 2 * ((3+1)^2 + 4)
    "nvfp4": dict(multiplier=16 * 4, adder_tree=16 * 10, exp_adder=32, exp_subtractor=32,
                  comparator=32, aligner=16 * 10 * math.log2(10), normalizer=10 * math.log2(10),
                  accumulator=ACC, dequantizer=40),
}


@pytest.mark.parametrize("fmt", sorted(HAND))
def test_table6_rows_per_format(fmt):
    got = table6_counts(fmt)
    assert set(got) == set(HAND[fmt])
    for row, want in HAND[fmt].items():
        assert got[row] == pytest.approx(want, rel=1e-12), row


def test_table6_rows_scale_with_lanes():
    assert table6_counts("mxint8", lanes=4)["multiplier"] == 4 * 64
    assert table6_counts("mxfp8_e4m3", lanes=4)["aligner"] == pytest.approx(4 * 24 * LOG24)
    assert table6_counts("mxfp8_e4m3", lanes=4)["normalizer"] == pytest.approx(24 * LOG24)


# ---------------------------------------------------------------------------------------------
# Cell factors and energies from a library whose numbers are chosen by hand
# ---------------------------------------------------------------------------------------------
def _table(name, v):
    return f'{name} (t2) {{ values ("{v}, {v}", "{v}, {v}"); }}'


def _cell(name, area, inputs, outputs):
    """``outputs``: {pin: (function, rise_energy, fall_energy)}; every input 1 fF; timing on the
    first input with constant delay / transition tables."""
    pins = "".join(f"pin ({p}) {{ direction : input; capacitance : 1.0; }}\n" for p in inputs)
    for p, (fn, er, ef) in outputs.items():
        arcs = "".join(
            f'timing () {{ related_pin : "{i}"; {_table("cell_rise", 0.02)} {_table("cell_fall", 0.02)} '
            f'{_table("rise_transition", 0.01)} {_table("fall_transition", 0.01)} }}\n'
            f'internal_power () {{ related_pin : "{i}"; {_table("rise_power", er)} '
            f'{_table("fall_power", ef)} }}\n' for i in inputs)
        pins += f'pin ({p}) {{ direction : output; function : "{fn}";\n{arcs}}}\n'
    return f"cell ({name}) {{ area : {area}; cell_leakage_power : 1.0;\n{pins}}}\n"


HAND_LIB = """library (handlib) {
  delay_model : table_lookup; time_unit : "1ns"; voltage_unit : "1V"; current_unit : "1mA";
  leakage_power_unit : "1nW"; capacitive_load_unit (1, ff); nom_voltage : 1.0;
  lu_table_template (t2) { variable_1 : input_net_transition;
    variable_2 : total_output_net_capacitance; index_1 ("0.01, 0.1"); index_2 ("2, 16"); }
""" + "".join([
    _cell("INV", 1.0, ["A"], {"ZN": ("!A", 1.0, 1.0)}),
    _cell("AND2", 2.0, ["A", "B"], {"Z": ("(A & B)", 3.0, 5.0)}),           # E = 4 + 2 = 6 fJ
    _cell("OR2", 3.0, ["A", "B"], {"Z": ("(A | B)", 5.0, 7.0)}),            # 6 + 2 = 8
    _cell("XOR2", 4.0, ["A", "B"], {"Z": ("(A ^ B)", 10.0, 10.0)}),         # 10 + 2 = 12
    _cell("MUX2", 5.0, ["A", "B", "S"], {"Z": ("((S & B) | (!S & A))", 14.0, 14.0)}),  # 16
    _cell("NAND2", 1.5, ["A", "B"], {"ZN": ("!(A & B)", 1.0, 1.0)}),        # 3
    _cell("FA", 10.0, ["A", "B", "CI"], {"S": ("((A ^ B) ^ CI)", 20.0, 20.0),
                                         "CO": ("((A & B) | (A & CI) | (B & CI))", 20.0, 20.0)}),
    _cell("HA", 6.0, ["A", "B"], {"S": ("(A ^ B)", 8.0, 8.0), "CO": ("(A & B)", 8.0, 8.0)}),
]) + "}\n"


@pytest.fixture
def hand_lib(tmp_path, monkeypatch):
    monkeypatch.setenv("INTFP_CACHE_DIR", str(tmp_path / "cache"))
    p = tmp_path / "hand.lib"
    p.write_text(HAND_LIB)
    return p


def test_cell_factors_by_hand(hand_lib):
    # energy per output toggle = mean internal (rise, fall) + 1/2 C V^2 with C = 4 input loads
    # (4 x 1 fF, V = 1 V: 2 fJ); a two-output cell counts both outputs.
    f = cell_factors(hand_lib)
    assert f["AND"] == pytest.approx((2.0, 6.0))
    assert f["OR"] == pytest.approx((3.0, 8.0))
    assert f["XOR"] == pytest.approx((4.0, 12.0))
    assert f["MUX"] == pytest.approx((5.0, 16.0))
    assert f["NAND"] == pytest.approx((1.5, 3.0))
    assert f["FA"] == pytest.approx((10.0, 2 * 22.0))
    assert f["HA"] == pytest.approx((6.0, 2 * 10.0))


def test_analytic_cost_by_hand(hand_lib):
    r = analytic_cost("nvint4", liberty=hand_lib, tau=0.5)["sub_blocks"]
    # multiplier (AND, FA, HA): area mean 6, energy mean 70/3 fJ; 256 gates, tau 0.5
    assert r["multiplier"]["area_um2"] == pytest.approx(256 * 6.0)
    assert r["multiplier"]["energy_pj"] == pytest.approx(256 * 70 / 3 * 0.5e-3)
    # adder tree (FA, HA): area 8, energy 32; 128 gates
    assert r["adder_tree"]["area_um2"] == pytest.approx(128 * 8.0)
    assert r["adder_tree"]["energy_pj"] == pytest.approx(128 * 32 * 0.5e-3)
    # dequantizer of E4M3 scales: 40 gates of (FA, HA)
    assert r["dequantizer"]["energy_pj"] == pytest.approx(40 * 32 * 0.5e-3)
    # accumulator (FA, HA, XOR, MUX, OR): area 5.6, energy 20
    assert r["accumulator"]["area_um2"] == pytest.approx(ACC * 5.6)
    assert r["accumulator"]["energy_pj"] == pytest.approx(ACC * 20 * 0.5e-3)


def test_analytic_fp_folds_exponent_rows_into_the_comparator(hand_lib):
    r = analytic_cost("mxfp8_e4m3", liberty=hand_lib, tau=1.0)["sub_blocks"]
    # comparator (XOR, AND, OR) + exp adder (FA, HA) + exp subtractor (XOR, FA, HA), 128 each
    want_area = 128 * (4 + 2 + 3) / 3 + 128 * (10 + 6) / 2 + 128 * (4 + 10 + 6) / 3
    assert r["comparator"]["area_um2"] == pytest.approx(want_area)
    assert r["aligner"]["energy_pj"] == pytest.approx(32 * 24 * LOG24 * 16 * 1e-3)
    assert r["normalizer"]["energy_pj"] == pytest.approx(24 * LOG24 * (16 + 8) / 2 * 1e-3)
    assert "exp_adder" not in r and "exp_subtractor" not in r
