"""Activity-based energy of a mapped netlist: toggle counts x Liberty energies.

Model (per clock cycle, zero-delay; ``shared/notes/hardware-flow.md`` section 5)::

    E = sum_nets    N_tog * 1/2 * C_load * V^2                       switching
      + sum_gates   N_tog(out) * E_int(out; slew, C_load)              internal
      + sum_flops   E_CK(rise) + E_CK(fall) + C_CK * V^2               clock pin + clock net
                    + N_tog(Q) * E_int(Q) + N_tog(D) * E_hidden(D)
      + sum_cells   P_leak * T_clk                                    leakage

* ``C_load`` = sum of the fan-out input-pin capacitances. **No wire capacitance** (no wire-load
  model, no placement), no clock tree, no glitches (zero-delay simulation), typical corner.
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
from .netlist import Netlist

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


def coefficients(nl: Netlist) -> EnergyCoefficients:
    lib = nl.lib
    v2 = lib.voltage ** 2
    slew = lib.fo4_slew
    load = nl.net_loads()
    switch = 0.5 * load * v2                                   # fF * V^2 = fJ
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
    return EnergyCoefficients(
        switch, internal, hidden, clock, float(sum(leak_by_block.values())), net_block, names,
        np.array([clock_by_block.get(i, 0.0) for i in range(nb)]),
        np.array([leak_by_block.get(i, 0.0) for i in range(nb)]))


def parse_clock_pin(cell) -> str:
    """The clock pin of a flop cell (its ``ff`` group's ``clocked_on`` variable)."""
    return parse_function(cell.ff["clocked_on"]).inputs[0]


def estimate_energy(nl: Netlist, inputs: dict[str, np.ndarray], *, ops_per_cycle: float = 1.0,
                    clock_ns: float | None = None, warmup: int = 1,
                    coeffs: EnergyCoefficients | None = None) -> dict:
    """Simulate ``inputs`` (``(cycles, streams)`` per port, see :meth:`Netlist.simulate`) and
    return energy per cycle and per op, with a per-sub-block breakdown.

    Keys: ``energy_pj`` (per op, incl. leakage), ``dynamic_pj`` (per op, without leakage),
    ``energy_per_cycle_pj``, ``switching_pj``,
    ``internal_pj``, ``clock_pj``, ``leakage_pj`` (per cycle), ``leakage_uw``,
    ``toggles_per_cycle``, ``clock_ns``, ``cycles`` (counted), ``streams``, ``sub_blocks``
    (name -> {energy_pj per op, leakage_uw, toggles_per_cycle}).
    """
    c = coeffs or coefficients(nl)
    _, tog = nl.simulate(inputs, outputs=False, warmup=warmup)
    cycles, streams = next(iter(inputs.values())).shape[:2]
    n = (cycles - max(warmup, 1)) * streams          # counted cycle-streams
    if n <= 0:
        raise ValueError(f"need more than {max(warmup, 1)} cycles to count toggles, got {cycles}")
    if clock_ns is None:
        clock_ns = nl.critical_path()["delay_ns"]
    rate = tog / n                                    # toggles per net per cycle
    sw = rate * c.switch_fj
    it = rate * (c.internal_fj + c.hidden_fj)
    leak_fj = c.leakage_nw * clock_ns * 1e-3          # nW * ns = 1e-18 J = 1e-3 fJ
    per_cycle = sw.sum() + it.sum() + c.clock_fj_per_cycle + leak_fj
    nb = len(c.blocks)
    mask = c.net_block >= 0
    blk_dyn = np.bincount(c.net_block[mask], weights=(sw + it)[mask], minlength=nb)
    blk_tog = np.bincount(c.net_block[mask], weights=rate[mask], minlength=nb)
    blk_e = blk_dyn + c.block_clock_fj + c.block_leakage_nw * clock_ns * 1e-3
    subs = {name: {"energy_pj": float(blk_e[i]) * 1e-3 / ops_per_cycle,
                   "dynamic_pj": float(blk_dyn[i] + c.block_clock_fj[i]) * 1e-3 / ops_per_cycle,
                   "leakage_uw": float(c.block_leakage_nw[i]) * 1e-3,
                   "toggles_per_cycle": float(blk_tog[i])}
            for i, name in enumerate(c.blocks)}
    return {
        "energy_pj": float(per_cycle) * 1e-3 / ops_per_cycle,
        "energy_per_cycle_pj": per_cycle * 1e-3,
        "dynamic_pj": (per_cycle - leak_fj) * 1e-3 / ops_per_cycle,
        "switching_pj": float(sw.sum()) * 1e-3,
        "internal_pj": float(it.sum()) * 1e-3,
        "clock_pj": c.clock_fj_per_cycle * 1e-3,
        "leakage_pj": leak_fj * 1e-3,
        "leakage_uw": c.leakage_nw * 1e-3,
        "toggles_per_cycle": float(rate.sum()),
        "clock_ns": float(clock_ns),
        "cycles": int(cycles - max(warmup, 1)),
        "streams": int(streams),
        "ops_per_cycle": float(ops_per_cycle),
        "sub_blocks": subs,
    }
