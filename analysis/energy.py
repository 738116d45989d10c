"""Activity-based energy of a mapped netlist: toggle counts x Liberty energies.

Model (per clock cycle; the Liberty power model, Liberty Reference Manual, "Power"; docs/hardware-cost.md)::

    E = sum_nets    N_tog * 1/2 * C_load * V^2                       switching
      + sum_gates   N_tog(out) * E_int(out; slew, C_load)              internal
      + sum_flops   E_CK(rise) + E_CK(fall) + C_CK * V^2               clock pin + clock net
                    + N_tog(Q) * E_int(Q) + N_tog(D) * E_hidden(D)
      + sum_cells   P_leak * T_clk                                    leakage

* ``C_load`` = sum of the fan-out input-pin capacitances, plus (``wire_load``) the library's
  wire-load estimate by fan-out (:meth:`Netlist.wire_caps`), booked as ``wire_pj``; no
  placement, no clock tree, typical corner.
* ``N_tog``: with ``delay_model="zero"`` the settled value changes once per cycle at most (no
  glitches); with ``"unit"`` / ``"liberty"`` (the default) every transition of a delay-annotated,
  inertial-delay simulation (:meth:`Netlist.simulate_timed`), split into ``functional_pj``
  (the zero-delay toggles) and ``glitch_pj`` (the rest), each at the same per-toggle energy.
* ``E_int`` is the mean of the rise and fall internal-energy tables of the output pin, averaged
  over its arcs, looked up at the library's fan-out-of-4 slew and the net's actual load. The
  average is the only meaningful quantity for split-model libraries (sky130), see
  :mod:`intfp.analysis.liberty`.
* ``T_clk`` defaults to the netlist's critical path (the unit runs at its own fmax).

Energies are in fJ internally and reported in pJ.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .liberty import parse_function
from .netlist import DEFAULT_DELAY_MODEL, DEFAULT_TIME_STEP_NS, Netlist, check_delay_model

__all__ = ["EnergyCoefficients", "coefficients", "estimate_energy", "sub_block_of"]


def sub_block_of(instance: str) -> str:
    """The top-level sub-block of a flattened instance name (``multiplier_3._12_`` ->
    ``multiplier_3``); cells of the top module itself are ``(top)``."""
    return instance.split(".", 1)[0] if "." in instance else "(top)"


@dataclass
class EnergyCoefficients:
    """Per-net energies [fJ per toggle] and per-cycle constants of one netlist."""

    switch_fj: np.ndarray        # per net: 1/2 C V^2
    internal_fj: np.ndarray      # per net: internal energy of its driver per toggle (gate or Q)
    hidden_fj: np.ndarray        # per net: hidden (D-pin) energy of the flops it feeds per toggle
    clock_fj_per_cycle: float    # clock pins (rise + fall) + clock net C V^2
    leakage_nw: float
    net_block: np.ndarray        # per net: index into ``blocks`` for attribution
    blocks: list[str]
    block_clock_fj: np.ndarray   # per block: clock energy per cycle
    block_leakage_nw: np.ndarray
    wire_fj: np.ndarray = None   # per net: 1/2 C_wire V^2 (zeros without a wire load)
    wire_load: str | None = None  # name of the wire-load model used


def coefficients(nl: Netlist, wire_load: bool | str | None = None) -> EnergyCoefficients:
    """Per-toggle and per-cycle energies of ``nl``; ``wire_load`` as in
    :meth:`Netlist.wire_caps` (the wire capacitance also enters the internal-energy look-up)."""
    lib = nl.lib
    v2 = lib.voltage ** 2
    slew = lib.fo4_slew
    wire = nl.wire_caps(wire_load)
    pins = nl.net_loads()
    load = pins + wire
    switch = 0.5 * pins * v2                                   # fF * V^2 = fJ
    internal = np.zeros(nl.n_nets)
    hidden = np.zeros(nl.n_nets)
    blocks: dict[str, int] = {}
    net_block = np.full(nl.n_nets, -1, dtype=np.int64)

    def bid(inst):
        return blocks.setdefault(sub_block_of(inst), len(blocks))

    for g, (inst, cname, pin) in enumerate(nl.gates):
        out = nl.driver_net(g)
        internal[out] = lib.cells[cname].pins[pin].internal_energy(slew, load[out])
        net_block[out] = bid(inst)
    leak_by_block: dict[int, float] = {}
    clock_by_block: dict[int, float] = {}
    seen = set()
    for inst, cname, _ in nl.gates:
        if inst in seen:
            continue
        seen.add(inst)
        b = bid(inst)
        leak_by_block[b] = leak_by_block.get(b, 0.0) + lib.cells[cname].leakage
    clock = 0.0
    for f in nl.flops:
        cell = lib.cells[f["cell"]]
        b = bid(f["inst"])
        leak_by_block[b] = leak_by_block.get(b, 0.0) + cell.leakage
        ck = parse_clock_pin(cell)
        ckp = cell.pins[ck]
        # Both clock edges every cycle: hidden rise + fall energy = 2 x their mean.
        e_ck = 2.0 * ckp.internal_energy(slew, 0.0) + ckp.capacitance * v2
        clock += e_ck
        clock_by_block[b] = clock_by_block.get(b, 0.0) + e_ck
        for pin, net in f["out_pins"].items():
            # Each output pin's own clock-to-output arcs, per transition of that output.
            internal[net] += cell.pins[pin].internal_energy(slew, load[net])
            net_block[net] = b
        expr, nets = f["next"]
        for net, dpin in zip(nets, expr.inputs):
            p = cell.pins.get(dpin)
            if p is None or net < 2:
                continue
            # Hidden power of the data pin (internal_power without related_pin), per toggle.
            # It is booked on the D net, i.e. in the sub-block that drives the flop.
            hid = []
            for rel, rise, fall in p.power:
                vals = [t(slew, 0.0) for t in (rise, fall) if t is not None]
                if rel is None and vals:
                    hid.append(float(np.mean(vals)))
            if hid:
                hidden[net] += float(np.mean(hid))
    # Nets without a driving cell (primary inputs): attribute to their first sink's block.
    for net in np.nonzero(net_block < 0)[0]:
        sk = nl.sinks[net]
        if sk:
            net_block[net] = bid(sk[0][0])
    names = list(blocks)
    nb = len(names)
    wl_name = None
    if wire.any():
        wl_name = (lib.wire_load(None if wire_load in (True, "auto") else str(wire_load)).name)
    return EnergyCoefficients(
        switch, internal, hidden, clock, float(sum(leak_by_block.values())), net_block, names,
        np.array([clock_by_block.get(i, 0.0) for i in range(nb)]),
        np.array([leak_by_block.get(i, 0.0) for i in range(nb)]), 0.5 * wire * v2, wl_name)


def parse_clock_pin(cell) -> str:
    """The clock pin of a flop cell (its ``ff`` group's ``clocked_on`` variable)."""
    return parse_function(cell.ff["clocked_on"]).inputs[0]


def estimate_energy(nl: Netlist, inputs: dict[str, np.ndarray], *, ops_per_cycle: float = 1.0,
                    clock_ns: float | None = None, warmup: int = 1,
                    coeffs: EnergyCoefficients | None = None,
                    delay_model: str = DEFAULT_DELAY_MODEL,
                    wire_load: bool | str | None = None,
                    time_step_ns: float = DEFAULT_TIME_STEP_NS,
                    chunk_words: int | None = None) -> dict:
    """Simulate ``inputs`` (``(cycles, streams)`` per port, see :meth:`Netlist.simulate`) and
    return energy per cycle and per op, with a per-sub-block breakdown.

    ``delay_model``: ``zero`` (settled values only, no glitches), ``unit`` or ``liberty``
    (every transition of an inertial-delay simulation, :meth:`Netlist.simulate_timed`; liberty
    delays quantized to ``time_step_ns``). ``wire_load``: None / False (pin capacitance only),
    True (the library's default wire-load model; an error if it has none), ``"auto"`` (the
    default model where the library has one) or a model name.

    Keys: ``energy_pj`` (per op, incl. leakage), ``dynamic_pj`` (per op, without leakage),
    ``energy_per_cycle_pj``, ``switching_pj`` (pin capacitance), ``wire_pj`` (wire capacitance),
    ``internal_pj``, ``clock_pj``, ``leakage_pj`` (per cycle), ``functional_pj`` and
    ``glitch_pj`` (per cycle; their sum is switching + wire + internal), ``glitch_share``
    (glitch / (functional + glitch)), ``leakage_uw``, ``toggles_per_cycle`` (all transitions),
    ``glitch_toggles_per_cycle``, ``clock_ns``, ``cycles`` (counted), ``streams``,
    ``delay_model``, ``wire_load`` (model name or None), ``time_step_ns`` (liberty only),
    ``sub_blocks`` (name -> {energy_pj, dynamic_pj, functional_pj, glitch_pj, wire_pj per op,
    leakage_uw, toggles_per_cycle}).
    """
    check_delay_model(delay_model)
    c = coeffs or coefficients(nl, wire_load)
    cycles, streams = next(iter(inputs.values())).shape[:2] if inputs else (0, 0)
    if delay_model == "zero":
        _, tog = nl.simulate(inputs, outputs=False, warmup=warmup)
        fun = tog
    else:
        if cycles <= max(warmup, 1):
            raise ValueError(f"need more than {max(warmup, 1)} cycles to count toggles, got {cycles}")
        res = nl.simulate_timed(inputs, delay_model=delay_model, time_step_ns=time_step_ns,
                                wire_load=wire_load, warmup=warmup, chunk_words=chunk_words)
        tog, fun = res["toggles"], res["functional"]
    n = (cycles - max(warmup, 1)) * streams          # counted cycle-streams
    if n <= 0:
        raise ValueError(f"need more than {max(warmup, 1)} cycles to count toggles, got {cycles}")
    if clock_ns is None:
        clock_ns = nl.critical_path(wire_load=wire_load)["delay_ns"]
    rate = tog / n                                    # toggles per net per cycle
    rate_f = fun / n
    wire_fj = c.wire_fj if c.wire_fj is not None else np.zeros(nl.n_nets)
    per_tog = c.switch_fj + wire_fj + c.internal_fj + c.hidden_fj
    sw = rate * c.switch_fj
    wr = rate * wire_fj
    it = rate * (c.internal_fj + c.hidden_fj)
    fe = rate_f * per_tog
    ge = (rate - rate_f) * per_tog
    leak_fj = c.leakage_nw * clock_ns * 1e-3          # nW * ns = 1e-18 J = 1e-3 fJ
    per_cycle = sw.sum() + wr.sum() + it.sum() + c.clock_fj_per_cycle + leak_fj
    nb = len(c.blocks)
    mask = c.net_block >= 0
    nbk = c.net_block[mask]

    def by_block(x):
        return np.bincount(nbk, weights=x[mask], minlength=nb)

    blk_dyn = by_block(sw + wr + it)
    blk_tog = by_block(rate)
    blk_fun, blk_gl, blk_wire = by_block(fe), by_block(ge), by_block(wr)
    blk_e = blk_dyn + c.block_clock_fj + c.block_leakage_nw * clock_ns * 1e-3
    k = 1e-3 / ops_per_cycle
    subs = {name: {"energy_pj": float(blk_e[i]) * k,
                   "dynamic_pj": float(blk_dyn[i] + c.block_clock_fj[i]) * k,
                   "functional_pj": float(blk_fun[i]) * k,
                   "glitch_pj": float(blk_gl[i]) * k,
                   "wire_pj": float(blk_wire[i]) * k,
                   "leakage_uw": float(c.block_leakage_nw[i]) * 1e-3,
                   "toggles_per_cycle": float(blk_tog[i])}
            for i, name in enumerate(c.blocks)}
    f_tot, g_tot = float(fe.sum()), float(ge.sum())
    return {
        "energy_pj": float(per_cycle) * k,
        "energy_per_cycle_pj": per_cycle * 1e-3,
        "dynamic_pj": (per_cycle - leak_fj) * k,
        "switching_pj": float(sw.sum()) * 1e-3,
        "wire_pj": float(wr.sum()) * 1e-3,
        "internal_pj": float(it.sum()) * 1e-3,
        "clock_pj": c.clock_fj_per_cycle * 1e-3,
        "leakage_pj": leak_fj * 1e-3,
        "functional_pj": f_tot * 1e-3,
        "glitch_pj": g_tot * 1e-3,
        "glitch_share": g_tot / (f_tot + g_tot) if f_tot + g_tot > 0 else 0.0,
        "leakage_uw": c.leakage_nw * 1e-3,
        "toggles_per_cycle": float(rate.sum()),
        "glitch_toggles_per_cycle": float((rate - rate_f).sum()),
        "clock_ns": float(clock_ns),
        "cycles": int(cycles - max(warmup, 1)),
        "streams": int(streams),
        "ops_per_cycle": float(ops_per_cycle),
        "delay_model": delay_model,
        "wire_load": c.wire_load,
        "time_step_ns": float(time_step_ns) if delay_model == "liberty" else None,
        "sub_blocks": subs,
    }
