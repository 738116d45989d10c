"""Every term of the energy model computed by hand on a four-cell netlist of the bundled library.

The netlist (built directly as Yosys ``write_json`` data, no Yosys needed)::

    a, b --NAND2 g1--> n1 --INV g2--> n2 --DFF ff.D   (ff.Q -> output q, ff.CK <- clk)
                        `--INV g3--> n3 (dangling)

All cells are in sub-block ``blk``. The numbers below were read by hand from
``analysis/data/intfp_generic45.lib`` (quoted in the comments) and are combined here with an
independent bilinear interpolation, so that a one-line change to any term of
:mod:`intfp.analysis.energy` (switching 1/2 C V^2 -> C V^2, internal energy at zero load instead
of the net's load, clock energy per cycle halved, leakage changed) fails a test.
"""
import numpy as np
import pytest

from intfp.analysis.energy import coefficients, estimate_energy
from intfp.analysis.liberty import read_liberty
from intfp.analysis.netlist import Netlist
from intfp.analysis.yosys import DEFAULT_LIBERTY

V = 1.1                      # nom_voltage : 1.1
# Pin capacitances [fF] (pin(...) { capacitance : ... }):
C_NAND2_A1 = 1.59903
C_NAND2_A2 = 1.6642
C_INV_A = 1.70023
C_DFF_D = 1.14029
C_DFF_CK = 0.949653
# cell_leakage_power [nW]:
LEAK = {"NAND2": 17.3934, "INV": 14.3532, "DFF": 79.1123}
# 2x2 tables: index_1 (slew) = (0.01, 0.1) ns, index_2 (load) = (2, 16) fF.
SLEWS, LOADS = (0.01, 0.1), (2.0, 16.0)
# INTFP_INV ZN transition tables (for the FO4 slew the energy look-ups use).
INV_RISE_TR = ((0.00797922, 0.0389464), (0.0228502, 0.0520103))
INV_FALL_TR = ((0.00455871, 0.0179653), (0.019702, 0.036648))
# Internal power [fJ], pin ZN / Q: (rise_power, fall_power) per related pin.
INV_POWER = [(((1.86949, 1.8826), (3.27388, 2.86694)),
              ((-0.000177059, -0.000318545), (1.21129, 0.428064)))]
NAND2_POWER = [  # related_pin A1, A2
    (((2.16462, 2.17882), (3.30588, 2.92461)), ((0.174884, 0.235423), (1.40044, 0.694682))),
    (((2.85822, 2.921), (4.02748, 3.76522)), ((0.151181, 0.232661), (0.92689, 0.445335))),
]
DFF_Q_POWER = [(((4.32421, 4.4019), (4.69142, 4.76315)), ((4.04044, 4.30715), (4.40005, 4.67156)))]
# Hidden (1-D over slew) power: DFF D rise / fall, CK rise / fall.
DFF_D_HIDDEN = ((1.23858, 1.3929), (2.45196, 2.62607))
DFF_CK_HIDDEN = ((1.25803, 1.60436), (5.94126, 6.75882))


def _interp(axis, x):
    """Position on a two-point axis; beyond the points it extrapolates linearly."""
    return 0, (x - axis[0]) / (axis[1] - axis[0])


def bilinear(tab, slew, load):
    """Bilinear interpolation with linear extrapolation on the 2x2 grid."""
    _, ts = _interp(SLEWS, slew)
    _, tl = _interp(LOADS, load)
    top = tab[0][0] * (1 - tl) + tab[0][1] * tl
    bot = tab[1][0] * (1 - tl) + tab[1][1] * tl
    return top * (1 - ts) + bot * ts


def linear(vals, slew):
    _, ts = _interp(SLEWS, slew)
    return vals[0] * (1 - ts) + vals[1] * ts


def fo4_slew():
    """The library's nominal slew: an X1 inverter driving 4 copies of itself, iterated."""
    s = 0.02
    for _ in range(8):
        s = 0.5 * (bilinear(INV_RISE_TR, s, 4 * C_INV_A) + bilinear(INV_FALL_TR, s, 4 * C_INV_A))
    return s


def e_int(power, slew, load):
    """Mean of rise and fall, averaged over arcs (the model's definition)."""
    return float(np.mean([0.5 * (bilinear(r, slew, load) + bilinear(f, slew, load))
                          for r, f in power]))


@pytest.fixture(scope="module")
def lib():
    return read_liberty(DEFAULT_LIBERTY)


def tiny_json():
    # nets: a=2, b=3, clk=4, q=5, n1=6, n2=7, n3=8
    cells = {
        "blk.g1": {"type": "INTFP_NAND2", "connections": {"A1": [2], "A2": [3], "ZN": [6]}},
        "blk.g2": {"type": "INTFP_INV", "connections": {"A": [6], "ZN": [7]}},
        "blk.g3": {"type": "INTFP_INV", "connections": {"A": [6], "ZN": [8]}},
        "blk.ff": {"type": "INTFP_DFF", "connections": {"D": [7], "CK": [4], "Q": [5]}},
    }
    ports = {"a": {"direction": "input", "bits": [2]}, "b": {"direction": "input", "bits": [3]},
             "clk": {"direction": "input", "bits": [4]}, "q": {"direction": "output", "bits": [5]}}
    names = {"a": {"bits": [2]}, "b": {"bits": [3]}, "clk": {"bits": [4]}, "q": {"bits": [5]},
             "n1": {"bits": [6]}, "n2": {"bits": [7]}, "n3": {"bits": [8]}}
    return {"modules": {"tiny": {"attributes": {"top": 1}, "ports": ports, "cells": cells,
                                 "netnames": names}}}


@pytest.fixture(scope="module")
def tiny(lib):
    return Netlist.from_yosys_json(tiny_json(), lib, "tiny")


# One stream, 5 cycles; cycle 0 is the warm-up, cycles 1..4 are counted (n = 4).
A = np.array([0, 1, 1, 0, 1])
B = np.array([1, 1, 0, 0, 1])
#   cycle:   0  1  2  3  4
#   n1=!ab:  1  0  1  1  0      -> 3 toggles; n2 = n3 = !n1: 3 toggles each
#   q (=n2 one cycle late): 0 0 1 0 0 -> 2 toggles; a: 3 toggles; b: 2 toggles
TOG = {"a": 3, "b": 2, "n1": 3, "n2": 3, "n3": 3, "q": 2}
N = 4


def test_toggle_counts_by_hand(tiny):
    _, tog = tiny.simulate({"a": A[:, None], "b": B[:, None]}, outputs=False)
    ids = {"a": 2, "b": 3, "n1": 6, "n2": 7, "n3": 8, "q": 5}
    assert {k: int(tog[i]) for k, i in ids.items()} == TOG
    assert tog.sum() == sum(TOG.values())


def test_each_energy_term_by_hand(tiny):
    s = fo4_slew()
    assert s == pytest.approx(0.01467, abs=1e-5)         # 14.7 ps on the 2x2 tables
    load = {"a": C_NAND2_A1, "b": C_NAND2_A2, "n1": 2 * C_INV_A, "n2": C_DFF_D, "n3": 0.0,
            "q": 0.0}
    # Switching: 1/2 C V^2 per toggle [fJ].
    sw = sum(TOG[k] * 0.5 * load[k] * V ** 2 for k in TOG) / N
    # Internal: per output toggle, looked up at the FO4 slew and the net's own load.
    it = (TOG["n1"] * e_int(NAND2_POWER, s, load["n1"])
          + TOG["n2"] * e_int(INV_POWER, s, load["n2"])
          + TOG["n3"] * e_int(INV_POWER, s, load["n3"])
          + TOG["q"] * e_int(DFF_Q_POWER, s, load["q"])
          # hidden D-pin power per toggle of D (n2): mean of its rise and fall tables
          + TOG["n2"] * 0.5 * (linear(DFF_D_HIDDEN[0], s) + linear(DFF_D_HIDDEN[1], s))) / N
    # Clock, every cycle: CK hidden rise + fall energy and the clock pin's C V^2.
    ck = linear(DFF_CK_HIDDEN[0], s) + linear(DFF_CK_HIDDEN[1], s) + C_DFF_CK * V ** 2
    # Leakage: sum of cell leakage [nW] x T_clk [ns] = 1e-3 fJ.
    leak_nw = LEAK["NAND2"] + 2 * LEAK["INV"] + LEAK["DFF"]
    e = estimate_energy(tiny, {"a": A[:, None], "b": B[:, None]}, clock_ns=2.0)
    assert e["cycles"] == N and e["streams"] == 1
    assert e["switching_pj"] == pytest.approx(sw * 1e-3, rel=1e-9)
    assert e["internal_pj"] == pytest.approx(it * 1e-3, rel=1e-9)
    assert e["clock_pj"] == pytest.approx(ck * 1e-3, rel=1e-9)
    assert e["leakage_uw"] == pytest.approx(leak_nw * 1e-3, rel=1e-9)
    assert e["leakage_pj"] == pytest.approx(leak_nw * 2.0 * 1e-6, rel=1e-9)
    total = (sw + it + ck) * 1e-3 + leak_nw * 2.0 * 1e-6
    assert e["energy_per_cycle_pj"] == pytest.approx(total, rel=1e-9)
    assert e["sub_blocks"]["blk"]["energy_pj"] == pytest.approx(total, rel=1e-9)


def test_internal_energy_depends_on_the_load(tiny):
    """The internal-energy look-up is at each net's load: n1 (two INV inputs) differs from
    the same cell's energy at zero load by more than the test's tolerance."""
    s = fo4_slew()
    c = coefficients(tiny)
    assert c.internal_fj[6] == pytest.approx(e_int(NAND2_POWER, s, 2 * C_INV_A), rel=1e-9)
    assert abs(e_int(NAND2_POWER, s, 2 * C_INV_A) - e_int(NAND2_POWER, s, 0.0)) > 1e-3
    assert c.internal_fj[7] == pytest.approx(e_int(INV_POWER, s, C_DFF_D), rel=1e-9)
    assert c.switch_fj[6] == pytest.approx(0.5 * 2 * C_INV_A * V ** 2, rel=1e-12)


def test_constant_inputs_leave_clock_and_leakage(tiny):
    z = np.ones((6, 3), dtype=np.int64)
    # The flop loads n2 = 1 at the first edge (q: 0 -> 1 in cycle 1), so count from cycle 2.
    e = estimate_energy(tiny, {"a": z, "b": z}, clock_ns=1.0, warmup=2)
    s = fo4_slew()
    ck = linear(DFF_CK_HIDDEN[0], s) + linear(DFF_CK_HIDDEN[1], s) + C_DFF_CK * V ** 2
    leak_nw = LEAK["NAND2"] + 2 * LEAK["INV"] + LEAK["DFF"]
    assert e["switching_pj"] == 0 and e["internal_pj"] == 0
    assert e["energy_per_cycle_pj"] == pytest.approx(ck * 1e-3 + leak_nw * 1e-6, rel=1e-9)
