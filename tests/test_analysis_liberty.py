"""Liberty reader, unit normalization, function parsing and the bundled default library."""
import gzip
from pathlib import Path

import numpy as np
import pytest

from intfp.analysis.liberty import LibertyError, parse_function, parse_liberty, read_liberty
from intfp.analysis.make_generic_lib import CELLS, generate
from intfp.analysis.yosys import DEFAULT_LIBERTY

SHARED = Path(__file__).resolve().parents[2] / "shared" / "liberty"
REAL = {
    "nangate45": ("nangate45_typ.lib.gz", 1.1, "NAND2_X1", 0.798),
    "sky130hd": ("sky130hd_tt.lib.gz", 1.8, "sky130_fd_sc_hd__nand2_1", 3.7536),
    "sg13g2": ("sg13g2_stdcell_typ_1p20V_25C.lib.gz", 1.2, "sg13g2_nand2_1", 7.2576),
    "asap7": ("asap7sc7p5t_rvt_tt_merged.lib.gz", 0.7, "NAND2x1_ASAP7_75t_R", 0.08748),
    "gf180": ("gf180mcu_fd_sc_mcu7t5v0__tt_025C_3v30.lib.gz", 3.3,
              "gf180mcu_fd_sc_mcu7t5v0__nand2_1", 10.976),
}

TINY = r"""
/* a tiny library in pF / ps / pW, with the syntax corners real files use */
library (tiny) {
  time_unit : "1ps" ;
  leakage_power_unit : "1pW";
  voltage_unit : "1V";
  capacitive_load_unit (1, pf);
  nom_voltage : 0.8 ;
  lu_table_template (t2) { variable_1 : input_net_transition ;
    variable_2 : total_output_net_capacitance ; index_1 ("10, 100"); index_2 ("0.001, 0.01"); }
  power_lut_template (p2) { variable_1 : total_output_net_capacitance ;
    variable_2 : input_transition_time ; index_1 ("0.001, 0.01"); index_2 ("10, 100"); }
  cell (NAND2) {
    area : 1.5
    cell_leakage_power : 2000 ;
    pin (A) { direction : input ; capacitance : 0.002 ; }
    pin (B) { direction : input ; rise_capacitance : 0.001 ; fall_capacitance : 0.003 ; }
    pin (Y) { direction : output ; function : "(A B)'" ;
      timing () { related_pin : "A" ;
        cell_rise (t2) { values ("10, 20", \
                                 "30, 40"); } }
      internal_power () { related_pin : "A" ;
        rise_power (p2) { values ("0.001, 0.002", "0.003, 0.004"); }
        fall_power (p2) { values ("-0.001, -0.002", "-0.003, -0.004"); } }
    }
  }
}
"""


def test_tiny_library_units_and_tables(tmp_path):
    p = tmp_path / "tiny.lib.gz"
    with gzip.open(p, "wt") as f:
        f.write(TINY)
    lib = read_liberty(p, use_cache=False)
    assert lib.voltage == 0.8 and lib.name == "tiny"
    c = lib.cell("NAND2")
    assert c.area == 1.5
    assert c.leakage == pytest.approx(2.0)                    # 2000 pW = 2 nW
    assert c.pins["A"].capacitance == pytest.approx(2.0)      # 0.002 pF = 2 fF
    assert c.pins["B"].capacitance == pytest.approx(2.0)      # mean of rise / fall
    arc = c.pins["Y"].timing[0]
    assert arc[0] == "A"
    # 10 ps x 1 fF corner -> 0.010 ns; centre of the grid -> mean of the four values.
    assert arc[2](0.010, 1.0) == pytest.approx(0.010)
    assert arc[2](0.055, 5.5) == pytest.approx(0.025)
    # Signed split-model tables average to zero; the template's transposed axes are honoured:
    rise = c.pins["Y"].power[0][1]
    assert rise(0.010, 10.0) == pytest.approx(0.003 * 1e3)   # pF*V^2 -> fJ, load on index_1
    assert c.pins["Y"].internal_energy(0.05, 5.0) == pytest.approx(0.0)
    f = c.pins["Y"].function
    assert [f(A=a, B=b) for a in (0, 1) for b in (0, 1)] == [1, 1, 1, 0]


@pytest.mark.parametrize("text,table", [
    ("!(A1 & A2)", [1, 1, 1, 0]),
    ("A B", [0, 0, 0, 1]),
    ("A' + B'", [1, 1, 1, 0]),
    ("A ^ B", [0, 1, 1, 0]),
    ("(A * !B) | (!A * B)", [0, 1, 1, 0]),
    ("!A ^ B", [1, 0, 0, 1]),
])
def test_function_parser(text, table):
    f = parse_function(text)
    names = f.inputs
    got = [f(**{names[0]: a, names[1]: b}) for a in (0, 1) for b in (0, 1)]
    assert got == table


def test_function_precedence_xor_binds_tighter_than_and():
    f = parse_function("A & B ^ C")                 # = A & (B ^ C)
    assert f(A=1, B=1, C=1) == 0 and f(A=1, B=0, C=1) == 1


def test_bad_inputs_raise_clear_errors(tmp_path):
    with pytest.raises(LibertyError, match="not found"):
        read_liberty(tmp_path / "missing.lib")
    bad = tmp_path / "bad.lib"
    bad.write_text("library (x) { cell (A) { area : 1; }")
    with pytest.raises(LibertyError, match="unterminated"):
        read_liberty(bad, use_cache=False)
    noarea = tmp_path / "noarea.lib"
    noarea.write_text('library (x) { nom_voltage : 1; cell (A) { pin (Y) { direction : output; '
                      'function : "1"; } } }')
    with pytest.raises(LibertyError, match="no cell areas"):
        read_liberty(noarea, use_cache=False)
    with pytest.raises(LibertyError, match="unknown cell 'NOPE'"):
        read_liberty(DEFAULT_LIBERTY).cell("NOPE")
    with pytest.raises(LibertyError, match="unexpected"):
        parse_function("A & & B")


def test_default_library_contents():
    lib = read_liberty(DEFAULT_LIBERTY)
    assert lib.name == "intfp_generic45" and lib.voltage == pytest.approx(1.1)
    assert sorted(lib.cells) == sorted(f"INTFP_{c}" for c in CELLS)
    for c in lib.cells.values():
        assert c.area > 0 and c.leakage > 0
        assert all(lib.cells[c.name].pins[p].capacitance > 0 for p in c.inputs)
    assert lib.cell("INTFP_DFF").ff["next_state"] == "D"
    assert lib.smallest("!A", 1) == "INTFP_INV"
    assert 0.005 < lib.fo4_slew < 0.05


@pytest.mark.skipif(not (SHARED / "nangate45_typ.lib.gz").is_file(), reason="no shared Nangate45")
def test_default_library_regenerates_byte_for_byte():
    src = read_liberty(SHARED / "nangate45_typ.lib.gz")
    assert generate(src) == DEFAULT_LIBERTY.read_text()
    # Spot check the documented derivation: areas and caps copied, tables resampled.
    n = src.cell("NAND2_X1")
    g = read_liberty(DEFAULT_LIBERTY).cell("INTFP_NAND2")
    assert g.area == n.area
    assert g.pins["A1"].capacitance == pytest.approx(n.pins["A1"].capacitance, rel=1e-5)
    t_src = max(t(0.01, 2.0) for a in n.pins["ZN"].timing if a[0] == "A1" for t in [a[2]])
    assert g.pins["ZN"].timing[0][2](0.01, 2.0) == pytest.approx(t_src, rel=1e-5)


@pytest.mark.parametrize("key", list(REAL))
def test_real_libraries_parse_with_normalized_units(key):
    fname, volt, nand, area = REAL[key]
    path = SHARED / fname
    if not path.is_file():
        pytest.skip(f"{path} not available")
    lib = read_liberty(path)
    assert lib.voltage == pytest.approx(volt)
    c = lib.cell(nand)
    assert c.area == pytest.approx(area)
    caps = [c.pins[p].capacitance for p in c.inputs]
    # Every library's NAND2 input is 0.5-10 fF once normalized (pF libraries included).
    assert all(0.5 < x < 10 for x in caps), caps
    e = c.pins[c.outputs[0]].internal_energy(lib.fo4_slew, 4 * np.mean(caps))
    assert 0.01 < e < 100                                      # fJ
    assert 0.001 < lib.fo4_slew < 1.0                          # ns (ASAP7 is in ps)
    assert 0 <= c.leakage < 1e3                                # nW
