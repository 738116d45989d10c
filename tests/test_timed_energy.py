"""Timed energy: glitches (unit / liberty delays, inertial semantics) and wire load.

* hand-computed glitch and wire energies on tiny netlists of the bundled library;
* the bit-parallel timed simulation against Icarus Verilog with the same integer delays
  (per-net transition counts equal, every net), on an 8x8 INT lane, an E4M3 lane and a 4-lane
  MXFP8 block unit, for the ``unit`` and ``liberty`` delay models;
* clear errors for an unknown delay model, a cell without timing tables, a combinational loop,
  and a wire load asked of a library that has none.
"""
import copy
import os

import numpy as np
import pytest

from intfp.analysis.energy import estimate_energy
from intfp.analysis.icarus import have_icarus, run_icarus_timed
from intfp.analysis.liberty import read_liberty
from intfp.analysis.netlist import (Netlist, NetlistError, build_timed_library,
                                    timed_c_library)
from intfp.analysis.yosys import DEFAULT_LIBERTY, synthesize

from test_energy_terms import (C_DFF_D, C_INV_A, C_NAND2_A1, C_NAND2_A2, DFF_Q_POWER, INV_POWER,
                               NAND2_POWER, TOG, A, B, N, V, e_int, fo4_slew, tiny_json)


@pytest.fixture(scope="module")
def lib():
    return read_liberty(DEFAULT_LIBERTY)


def _module(cells, ports):
    return {"modules": {"t": {"attributes": {"top": 1}, "ports": ports, "cells": cells,
                              "netnames": {}}}}


def hazard_json():
    """y = NAND2(a, INV(a)) = 1 always, z = INV(y): a static-1 hazard on every rising a."""
    cells = {"h.i": {"type": "INTFP_INV", "connections": {"A": [2], "ZN": [3]}},
             "h.n": {"type": "INTFP_NAND2", "connections": {"A1": [2], "A2": [3], "ZN": [4]}},
             "h.z": {"type": "INTFP_INV", "connections": {"A": [4], "ZN": [5]}}}
    return _module(cells, {"a": {"direction": "input", "bits": [2]},
                           "z": {"direction": "output", "bits": [5]}})


A_SEQ = np.array([0, 1, 0, 1, 1, 0, 1])[:, None]       # counted cycles 1..6: 3 rising edges


def test_unit_delay_glitch_by_hand(lib):
    nl = Netlist.from_yosys_json(hazard_json(), lib, "t")
    r = nl.simulate_timed({"a": A_SEQ}, delay_model="unit")
    # a and INV(a) toggle 5 times (functional). On a rising a, at t=0 both NAND inputs are 1
    # (INV(a) falls only at t=1), so y falls at t=1 and rises at t=2: a one-step pulse, as long
    # as the NAND's delay, passes (inertial delay filters only shorter ones); z follows at 2, 3.
    assert r["functional"][[2, 3, 4, 5]].tolist() == [5, 5, 0, 0]
    assert r["toggles"][[2, 3, 4, 5]].tolist() == [5, 5, 6, 6]
    assert r["settle_steps"] == 3
    e = estimate_energy(nl, {"a": A_SEQ}, delay_model="unit", clock_ns=1.0)
    s, n = fo4_slew(), 6
    per_y = 0.5 * C_INV_A * V ** 2 + e_int(NAND2_POWER, s, C_INV_A)
    per_z = e_int(INV_POWER, s, 0.0)                     # z drives nothing: no switching
    assert e["glitch_pj"] == pytest.approx(6 * (per_y + per_z) / n * 1e-3, rel=1e-9)
    per_a = 0.5 * (C_INV_A + C_NAND2_A1) * V ** 2
    per_i = 0.5 * C_NAND2_A2 * V ** 2 + e_int(INV_POWER, s, C_NAND2_A2)
    assert e["functional_pj"] == pytest.approx(5 * (per_a + per_i) / n * 1e-3, rel=1e-9)
    assert e["functional_pj"] + e["glitch_pj"] == pytest.approx(
        e["switching_pj"] + e["internal_pj"] + e["wire_pj"], rel=1e-12)
    assert e["glitch_share"] == pytest.approx(e["glitch_pj"] / (e["glitch_pj"] + e["functional_pj"]))
    sub = e["sub_blocks"]["h"]
    assert sub["glitch_pj"] == pytest.approx(e["glitch_pj"]) and sub["wire_pj"] == 0
    # Zero delay sees no glitch at all.
    z = estimate_energy(nl, {"a": A_SEQ}, clock_ns=1.0)
    assert z["glitch_pj"] == 0 and z["functional_pj"] == pytest.approx(e["functional_pj"])


def test_liberty_delay_filters_the_short_pulse(lib):
    """With library delays the NAND2's fall delay (at its load) exceeds the INV's fall delay,
    so the hazard pulse is shorter than the NAND's delay and never reaches y."""
    nl = Netlist.from_yosys_json(hazard_json(), lib, "t")
    rise, fall = nl.gate_delays("liberty")
    gi = {g[0]: k for k, g in enumerate(nl.gates)}
    assert fall[gi["h.i"]] < fall[gi["h.n"]]
    r = nl.simulate_timed({"a": A_SEQ}, delay_model="liberty")
    assert r["toggles"][4] == 0 and r["toggles"][5] == 0
    # Slow the inverter down (3x its delay): the pulse now outlasts the NAND's delay.
    rise2, fall2 = rise.copy(), fall.copy()
    fall2[gi["h.i"]] = 3 * fall[gi["h.n"]]
    r2 = nl.simulate_timed({"a": A_SEQ}, delay_model="liberty", delays=(rise2, fall2))
    assert r2["toggles"][4] == 6


def test_wire_load_by_hand(lib):
    """Nangate45 5K_hvratio_1_1 (copied into the bundled library): capacitance 0.1774 fF per
    unit length, fanout_length (1, 1.746) (2, 3.9394) ... (11, 27.032), slope 5."""
    wl = lib.wire_load()
    assert wl.name == "5K_hvratio_1_1" and lib.default_wire_load == "5K_hvratio_1_1"
    assert wl.cap([0, 1, 2, 11, 13]).tolist() == pytest.approx(
        [0.0, 1.746 * 0.1774, 3.9394 * 0.1774, 27.032 * 0.1774, (27.032 + 2 * 5) * 0.1774])
    nl = Netlist.from_yosys_json(tiny_json(), lib, "tiny")
    # fan-out: a, b -> 1 pin; n1 -> 2 (two INVs); n2 -> 1 (D); n3 -> 0; q -> 1 (output port)
    fo = {"a": 1, "b": 1, "n1": 2, "n2": 1, "n3": 0, "q": 1}
    assert nl.net_fanout()[[2, 3, 6, 7, 8, 5]].tolist() == [1, 1, 2, 1, 0, 1]
    e = estimate_energy(nl, {"a": A[:, None], "b": B[:, None]}, clock_ns=2.0, wire_load=True)
    wire = sum(TOG[k] * 0.5 * float(wl.cap(fo[k])) * V ** 2 for k in TOG) / N
    assert e["wire_pj"] == pytest.approx(wire * 1e-3, rel=1e-9)
    assert e["wire_load"] == "5K_hvratio_1_1"
    # The internal energy is looked up at pin + wire load.
    s = fo4_slew()
    base = estimate_energy(nl, {"a": A[:, None], "b": B[:, None]}, clock_ns=2.0)
    d_int = TOG["n2"] * (e_int(INV_POWER, s, C_DFF_D + float(wl.cap(1)))
                         - e_int(INV_POWER, s, C_DFF_D)) / N
    d_int += TOG["n1"] * (e_int(NAND2_POWER, s, 2 * C_INV_A + float(wl.cap(2)))
                          - e_int(NAND2_POWER, s, 2 * C_INV_A)) / N
    # q drives only the output port: Q's energy moves from zero load to one fan-out of wire
    d_int += TOG["q"] * (e_int(DFF_Q_POWER, s, float(wl.cap(1))) - e_int(DFF_Q_POWER, s, 0.0)) / N
    assert e["internal_pj"] - base["internal_pj"] == pytest.approx(d_int * 1e-3, rel=1e-6)
    assert e["switching_pj"] == pytest.approx(base["switching_pj"], rel=1e-12)
    assert base["wire_pj"] == 0 and base["wire_load"] is None


# --------------------------------------------------------------------------------- bad input
def test_unknown_delay_model_is_an_error(lib):
    nl = Netlist.from_yosys_json(tiny_json(), lib, "tiny")
    with pytest.raises(NetlistError, match=r"unknown delay model 'elmore'.*zero, unit, liberty"):
        estimate_energy(nl, {"a": A[:, None]}, delay_model="elmore")


def test_cell_without_timing_tables_is_an_error(lib):
    bare = copy.deepcopy(lib)
    bare.cells["INTFP_INV"].pins["ZN"].timing = []
    nl = Netlist.from_yosys_json(tiny_json(), bare, "tiny")
    with pytest.raises(NetlistError, match=r"no timing tables .* cell INTFP_INV output ZN"):
        estimate_energy(nl, {"a": A[:, None], "b": B[:, None]}, delay_model="liberty")
    # unit delays need no tables
    estimate_energy(nl, {"a": A[:, None], "b": B[:, None]}, delay_model="unit", clock_ns=1.0)


def test_wire_load_on_a_library_without_one_is_an_error(lib):
    bare = copy.deepcopy(lib)
    bare.wire_loads, bare.default_wire_load = {}, None
    nl = Netlist.from_yosys_json(tiny_json(), bare, "tiny")
    with pytest.raises(NetlistError, match="defines no wire-load model"):
        estimate_energy(nl, {"a": A[:, None], "b": B[:, None]}, wire_load=True, clock_ns=1.0)
    e = estimate_energy(nl, {"a": A[:, None], "b": B[:, None]}, wire_load="auto", clock_ns=1.0)
    assert e["wire_pj"] == 0 and e["wire_load"] is None


def test_combinational_loop_is_an_error(lib):
    cells = {"l.x": {"type": "INTFP_NAND2", "connections": {"A1": [2], "A2": [4], "ZN": [3]}},
             "l.y": {"type": "INTFP_NAND2", "connections": {"A1": [3], "A2": [2], "ZN": [4]}}}
    js = _module(cells, {"a": {"direction": "input", "bits": [2]}})
    with pytest.raises(NetlistError, match=r"combinational loop through l\.[xy]"):
        Netlist.from_yosys_json(js, lib, "t")


# --------------------------------------------------------------------- Icarus cross-check
def random_inputs(nl, cycles, seed):
    """One stream of random bits on every data port; rst low, valid high, first every 8."""
    rng = np.random.default_rng(seed)
    out = {}
    for p, bits in nl.inputs.items():
        if p == "clk":
            continue
        if p == "rst":
            out[p] = np.zeros((cycles, 1), np.int64)
        elif p == "valid":
            out[p] = np.ones((cycles, 1), np.int64)
        elif p == "first":
            out[p] = (np.arange(cycles) % 8 == 0)[:, None].astype(np.int64)
        else:
            out[p] = rng.random((cycles, 1, len(bits))) < 0.5
    return out


def _as_ints(v):
    v = np.asarray(v)
    if v.ndim == 3:
        return (v[:, 0, :].astype(object)
                * np.array([1 << i for i in range(v.shape[2])], dtype=object)).sum(axis=1)
    return v[:, 0]


_BUILT = {}


def _unit(fmt, kind, lanes):
    key = (fmt, kind, lanes)
    if key not in _BUILT:
        from amaranth.back import rtlil
        from intfp.rtl.units import make_unit
        top = "u_" + fmt
        r = synthesize(rtlil.convert(make_unit(fmt, kind=kind, lanes=lanes), name=top,
                                     emit_src=False), top, None)
        _BUILT[key] = (r, Netlist.from_yosys_json(r.netlist, read_liberty(r.liberty_path), top),
                       top)
    return _BUILT[key]


def cross_check(fmt, kind, lanes, model, cycles, seed=3):
    r, nl, top = _unit(fmt, kind, lanes)
    ins = random_inputs(nl, cycles, seed)
    res = nl.simulate_timed(ins, delay_model=model)
    delays = {}
    for g, (inst, _, pin) in enumerate(nl.gates):
        delays.setdefault(inst, {})[pin] = (int(res["rise"][g]), int(res["fall"][g]))
    # A period longer than any path (from all-X at time 0 too), so every cycle settles.
    period = 2 * ((nl.settle_bound(res["rise"], res["fall"]) + 2) // 2 + 1)
    ports = {p: len(b) for p, b in nl.inputs.items()}
    ic = run_icarus_timed(r.netlist, top, nl.lib, {p: _as_ints(v) for p, v in ins.items()},
                          ports, delays, period)["toggles"]
    tog = res["toggles"]
    nets = [k for k in ic if k not in nl.clock_nets]
    driven = {int(n) for n in nl.gate_out} | {n for b in nl.inputs.values() for n in b if n >= 2}
    assert driven - nl.clock_nets <= set(nets)             # every driven net is compared
    bad = [(k, ic[k], int(tog[k])) for k in nets if ic[k] != tog[k]]
    assert not bad, f"{len(bad)} of {len(nets)} nets differ, e.g. {bad[:5]}"
    glitches = int(tog.sum() - res["functional"].sum())
    assert glitches > 0.1 * tog.sum()                      # the check exercises glitches
    return res


CASES = [("mxint8", "scalar", None, 120), ("mxfp8_e4m3", "scalar", None, 60),
         ("mxfp8_e4m3", "block", 4, 30)]


@pytest.mark.skipif(not have_icarus(), reason="Icarus Verilog not installed")
@pytest.mark.parametrize("model", ["unit", "liberty"])
@pytest.mark.parametrize("fmt,kind,lanes,cycles", CASES,
                         ids=["int8-lane", "e4m3-lane", "mxfp8-block4"])
def test_transitions_equal_icarus(fmt, kind, lanes, cycles, model):
    cross_check(fmt, kind, lanes, model, cycles)


@pytest.mark.slow
@pytest.mark.skipif(not have_icarus(), reason="Icarus Verilog not installed")
@pytest.mark.parametrize("model", ["unit", "liberty"])
@pytest.mark.parametrize("fmt,kind,lanes", [("mxint8", "block", 4), ("mxfp8_e4m3", "block", 8),
                                            ("mxint8", "scalar", None)])
def test_transitions_equal_icarus_long(fmt, kind, lanes, model):
    cross_check(fmt, kind, lanes, model, 400, seed=11)


def _random_drive(nl, cycles: int, streams: int, seed: int) -> dict:
    """Random data bits and random rst / valid / first on every input port but the clock."""
    rng = np.random.default_rng(seed)
    ins = {}
    for p, bits in nl.inputs.items():
        if p == "clk":
            continue
        if p in ("rst", "valid", "first"):
            ins[p] = (rng.random((cycles, streams)) < (0.1 if p == "rst" else 0.7)).astype(np.int64)
        else:
            ins[p] = rng.random((cycles, streams, len(bits))) < 0.5
    return ins


@pytest.mark.parametrize("model", ["unit", "liberty"])
def test_engines_agree_on_many_streams(model):
    """The per-stream event engine and the dense (bit-packed time grid) engine count the same
    transitions on every net with many streams (70: a padded second word) and several chunks,
    so streams cannot leak into each other; the Icarus cross-checks above are single-stream."""
    r, nl, top = _unit("mxfp8_e4m3", "block", 4)
    ins = _random_drive(nl, 4, 70, seed=7)
    ev = nl.simulate_timed(ins, delay_model=model, engine="events-numpy", chunk_words=2)
    de = nl.simulate_timed(ins, delay_model=model, engine="dense", chunk_words=4)
    assert ev["toggles"].sum() > 1.1 * ev["functional"].sum()         # glitches exercised
    np.testing.assert_array_equal(ev["toggles"], de["toggles"])
    assert ev["settle_steps"] == de["settle_steps"]
    with pytest.raises(NetlistError, match="unknown timed-simulation engine 'fast'"):
        nl.simulate_timed(ins, delay_model=model, engine="fast")


@pytest.fixture(scope="module")
def c_loop():
    """The C event loop (analysis/timed_events.c), built into a temporary place if setup has not
    built it; skipped only when there is no C compiler (then the numpy engine is the one used)."""
    import shutil
    if timed_c_library("auto") is not None:
        yield timed_c_library("auto")
        return
    if not (os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")):
        pytest.skip("no C compiler: the C event loop cannot be built (numpy engine in use)")
    import tempfile
    d = tempfile.mkdtemp()
    old = os.environ.get("INTFP_TIMED_LIB")
    os.environ["INTFP_TIMED_LIB"] = os.path.join(d, "timed-events.so")
    try:
        build_timed_library()
        yield timed_c_library("c")
    finally:
        if old is None:
            os.environ.pop("INTFP_TIMED_LIB", None)
        else:
            os.environ["INTFP_TIMED_LIB"] = old


@pytest.mark.parametrize("model", ["unit", "liberty"])
def test_c_and_numpy_event_engines_agree(model, c_loop):
    """The C event loop and the numpy event engine count the same transitions on every net, with
    the same settle time, on many streams (130: a padded third word), uneven chunks and random
    rst / valid / first (so streams cannot leak into each other or across chunks); the C loop is
    also cross-checked against Icarus by the tests above when it is built."""
    r, nl, top = _unit("mxfp8_e4m3", "block", 4)
    ins = _random_drive(nl, 5, 130, seed=19)
    c = nl.simulate_timed(ins, delay_model=model, engine="events-c", chunk_words=5)
    n = nl.simulate_timed(ins, delay_model=model, engine="events-numpy", chunk_words=3)
    assert c["toggles"].sum() > 1.1 * c["functional"].sum()           # glitches exercised
    np.testing.assert_array_equal(c["toggles"], n["toggles"])
    assert c["settle_steps"] == n["settle_steps"]
    # "events" picks the C loop when it is built; INTFP_TIMED_ENGINE=numpy forces numpy
    assert timed_c_library("auto") is not None
    with pytest.raises(NetlistError, match="INTFP_TIMED_ENGINE='fortran'"):
        timed_c_library("fortran")


def test_c_loop_required_but_missing_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv("INTFP_TIMED_LIB", str(tmp_path / "absent.so"))
    assert timed_c_library("auto") is None                 # auto: the numpy engine instead
    r, nl, top = _unit("mxint8", "scalar", None)
    ins = random_inputs(nl, 3, 0)
    with pytest.raises(NetlistError, match="C event loop is required but not built"):
        nl.simulate_timed(ins, delay_model="liberty", engine="events-c")
