"""Mapped gate-level netlists: compile once, then simulate bit-parallel in numpy and time them.

A Yosys ``write_json`` netlist of library cells is compiled into arrays: every net is an index
into a value matrix of shape ``(n_nets, W)`` of ``uint64`` words, so one row holds one net's
value in ``64 * W`` independent input streams (bit-parallel / packed-word simulation, as in
fault simulators and ``s-holst/kyupy``). Gates are levelized once (Kahn's algorithm) and each
(level, cell type, output pin) group is evaluated with one vectorized numpy expression compiled
from the Liberty ``function`` string, so the per-gate Python overhead disappears.

Sequential cells (Liberty ``ff`` groups) are stepped once per clock cycle: zero-delay semantics,
inputs change, combinational logic settles, then every flop loads ``next_state``. Toggles are
counted per net per cycle with ``popcount(new ^ old)``; being zero-delay, glitches are not seen
(``shared/notes/hardware-flow.md`` section 5, "Limits").

Static timing (:meth:`Netlist.critical_path`) uses the same levelization with the Liberty NLDM
tables: arrival and slew propagate forward (max over input arcs, max of rise / fall), the load of
a net is the sum of its fan-out pin capacitances (no wire load), flop outputs start at their
clock-to-Q delay and flop inputs end with their setup constraint.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .liberty import Cell, Library, Table, parse_function

__all__ = ["Netlist", "NetlistError", "pack_bits", "unpack_bits"]


class NetlistError(ValueError):
    pass


_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Bool array ``(..., streams)`` -> uint64 words ``(..., ceil(streams/64))``; stream ``s``
    is bit ``s % 64`` of word ``s // 64``."""
    bits = np.asarray(bits, dtype=bool)
    n = bits.shape[-1]
    pad = (-n) % 64
    if pad:
        bits = np.concatenate([bits, np.zeros(bits.shape[:-1] + (pad,), bool)], axis=-1)
    by = np.packbits(bits, axis=-1, bitorder="little")
    return np.ascontiguousarray(by).view("<u8").astype(np.uint64, copy=False)


def unpack_bits(words: np.ndarray, n: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`: ``(..., W)`` uint64 -> bool ``(..., n)``."""
    by = np.ascontiguousarray(words.astype("<u8")).view(np.uint8)
    return np.unpackbits(by, axis=-1, bitorder="little")[..., :n].astype(bool)


@dataclass
class _Group:
    """Gates of one level, one cell type and one output pin, evaluated together."""

    cell: str
    pin: str
    fn: object                    # compiled BoolExpr: f(v, ONE, ZERO)
    ins: np.ndarray               # (n_inputs, n_gates) net indices, in function-input order
    in_pins: tuple[str, ...]
    out: np.ndarray               # (n_gates,) net indices
    gate_ids: np.ndarray          # (n_gates,) indices into Netlist.gates


@dataclass
class _Level:
    """One level compiled for simulation: a single gather of every input of every gate of the
    level, per-group evaluation on views (slices) of it, a single scatter of the outputs. This
    keeps the numpy calls per level at 2 + (ufuncs of each cell type's function)."""

    gather: np.ndarray            # net indices of all gate inputs of the level
    scatter: np.ndarray           # net indices of all gate outputs of the level
    evals: list                   # (fn, [input slices into gather], output slice into scatter)


def _compile_level(groups: list[_Group]) -> _Level:
    gather, scatter, evals = [], [], []
    gpos = opos = 0
    for g in groups:
        n = len(g.out)
        sl = []
        for row in g.ins:
            gather.append(row)
            sl.append(slice(gpos, gpos + n))
            gpos += n
        scatter.append(g.out)
        evals.append((g.fn, sl, slice(opos, opos + n)))
        opos += n
    cat = (lambda xs: np.concatenate(xs).astype(np.int64)) if groups else None
    return _Level(cat(gather) if gather else np.zeros(0, np.int64), cat(scatter), evals)


@dataclass
class Netlist:
    """A flattened mapped netlist compiled for simulation, timing and energy."""

    lib: Library
    top: str
    n_nets: int
    inputs: dict[str, list[int]]          # port -> net ids, LSB first
    outputs: dict[str, list[int]]
    clock_nets: set[int]
    gates: list[tuple[str, str, str]]     # (instance, cell, output pin) for each gate output
    groups: list[list[_Group]]            # per level
    flops: list[dict] = field(default_factory=list)
    # flop arrays (vectorized state update)
    ff_q: np.ndarray = None               # net of IQ (or -1)
    ff_qn: np.ndarray = None              # net of IQN (or -1)
    ff_next: list = None                  # per flop: (fn, [input nets])
    net_names: dict[int, list[str]] = field(default_factory=dict)
    sinks: list[list[tuple[str, str, str]]] = None   # per net: (instance, cell, pin)
    driver: np.ndarray = None             # per net: gate index driving it, -1 for none
    gate_out: np.ndarray = None           # per gate: its output net
    levels: list = None                   # _Level per level (simulation plan)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_yosys_json(cls, netlist: dict, lib: Library, top: str | None = None,
                        clock: str = "clk") -> "Netlist":
        mods = netlist["modules"]
        if top is None:
            tops = [m for m, d in mods.items() if int(d.get("attributes", {}).get("top", 0) or 0)]
            top = tops[0] if len(tops) == 1 else next(iter(mods))
        mod = mods[top]

        def nid(b):
            if isinstance(b, int):
                return b
            return 1 if b == "1" else 0       # "0", "x", "z" -> constant 0

        max_id = 1
        for c in mod["cells"].values():
            for bits in c["connections"].values():
                max_id = max([max_id, *[b for b in bits if isinstance(b, int)]])
        for p in mod["ports"].values():
            max_id = max([max_id, *[b for b in p["bits"] if isinstance(b, int)]])
        for d in mod.get("netnames", {}).values():       # dangling named wires count too
            max_id = max([max_id, *[b for b in d["bits"] if isinstance(b, int)]])
        n_nets = max_id + 1
        inputs = {n: [nid(b) for b in p["bits"]] for n, p in mod["ports"].items()
                  if p["direction"] == "input"}
        outputs = {n: [nid(b) for b in p["bits"]] for n, p in mod["ports"].items()
                   if p["direction"] == "output"}
        clock_nets = set(inputs.get(clock, []))
        names: dict[int, list[str]] = {}
        for nm, d in mod.get("netnames", {}).items():
            for i, b in enumerate(d["bits"]):
                if isinstance(b, int):
                    names.setdefault(b, []).append(nm if len(d["bits"]) == 1 else f"{nm}[{i}]")

        gates: list[tuple[str, str, str]] = []
        gate_fn: list = []
        gate_in: list[list[int]] = []
        gate_in_pins: list[tuple[str, ...]] = []
        gate_out: list[int] = []
        flops: list[dict] = []
        sinks: list[list] = [[] for _ in range(n_nets)]
        driver = np.full(n_nets, -1, dtype=np.int64)
        fn_cache: dict[tuple[str, str], object] = {}
        for inst, c in mod["cells"].items():
            cell: Cell = lib.cell(c["type"])
            conn = {p: [nid(b) for b in bits] for p, bits in c["connections"].items()}
            for p, bits in conn.items():
                if p in cell.pins and cell.pins[p].direction == "input":
                    sinks[bits[0]].append((inst, cell.name, p))
            if cell.ff is not None:
                ff = cell.ff
                nxt = ff.get("next_state")
                if nxt is None:
                    raise NetlistError(f"flop cell {cell.name} has no next_state")
                f_next = parse_function(nxt)
                extra = {k: parse_function(ff[k]) for k in ("clear", "preset") if k in ff}
                clk_expr = parse_function(ff["clocked_on"])
                if len(clk_expr.inputs) != 1 or clk_expr.py.startswith("(~"):
                    raise NetlistError(f"{cell.name}: only rising-edge flops on one clock pin are "
                                       f"supported (clocked_on {ff['clocked_on']!r})")
                ck = conn.get(clk_expr.inputs[0], [None])[0]
                if ck not in clock_nets:
                    raise NetlistError(f"flop {inst} ({cell.name}) is clocked by net {ck}, not by "
                                       f"the clock port {clock!r}; gated / derived clocks are not "
                                       f"supported")
                q_net = qn_net = -1
                out_pins = {}
                for p in cell.outputs:
                    f = cell.pins[p].function
                    if f is None or p not in conn:
                        continue
                    if f.inputs not in ((ff["q"],), (ff.get("qn"),)) or f.py not in ("v[0]", "(~v[0])"):
                        raise NetlistError(f"{cell.name} pin {p}: unsupported flop output "
                                           f"function {f.text!r}")
                    out_pins[p] = conn[p][0]
                    inverted = (f.inputs == (ff.get("qn"),)) != (f.py == "(~v[0])")
                    if inverted:
                        qn_net = conn[p][0]
                    else:
                        q_net = conn[p][0]
                flops.append({"inst": inst, "cell": cell.name, "q": q_net, "qn": qn_net,
                              "out_pins": out_pins,
                              "next": (f_next, [conn[p][0] for p in f_next.inputs]),
                              "async": {k: (e, [conn[p][0] for p in e.inputs])
                                        for k, e in extra.items()}})
                for net in (q_net, qn_net):
                    if net >= 0:
                        driver[net] = -2 - (len(flops) - 1)     # marks flop-driven nets
                continue
            if cell.is_sequential:
                raise NetlistError(f"cell {cell.name} ({inst}) is a latch / statetable cell; "
                                   f"only combinational cells and ff flops are supported")
            for p in cell.outputs:
                if p not in conn:
                    continue
                f = cell.pins[p].function
                if f is None:
                    raise NetlistError(f"cell {cell.name} output {p} has no function")
                key = (cell.name, p)
                if key not in fn_cache:
                    fn_cache[key] = f.compile()
                missing = [q for q in f.inputs if q not in conn]
                if missing:
                    raise NetlistError(f"{inst} ({cell.name}) leaves input(s) {missing} unconnected")
                out = conn[p][0]
                if out < 2:
                    continue
                driver[out] = len(gates)
                gates.append((inst, cell.name, p))
                gate_fn.append(fn_cache[key])
                gate_in.append([conn[q][0] for q in f.inputs])
                gate_in_pins.append(f.inputs)
                gate_out.append(out)

        # Levelize: level(gate) = 1 + max level of the gates driving its inputs.
        n = len(gates)
        level = np.zeros(n, dtype=np.int64)
        state = np.zeros(n, dtype=np.int8)       # 0 new, 1 visiting, 2 done
        for g0 in range(n):
            if state[g0]:
                continue
            stack = [g0]
            while stack:
                g = stack[-1]
                if state[g] == 0:
                    state[g] = 1
                    for net in gate_in[g]:
                        d = driver[net]
                        if d >= 0:
                            if state[d] == 1:
                                raise NetlistError(f"combinational loop through {gates[d][0]} "
                                                   f"and {gates[g][0]}")
                            if state[d] == 0:
                                stack.append(d)
                else:
                    stack.pop()
                    if state[g] == 1:
                        lv = 0
                        for net in gate_in[g]:
                            d = driver[net]
                            if d >= 0:
                                lv = max(lv, level[d] + 1)
                        level[g] = lv
                        state[g] = 2
        groups: list[list[_Group]] = []
        if n:
            order = np.lexsort((np.arange(n), level))
            by_key: dict[tuple[int, str, str], list[int]] = {}
            for g in order:
                by_key.setdefault((int(level[g]), gates[g][1], gates[g][2]), []).append(int(g))
            nlev = int(level.max()) + 1
            groups = [[] for _ in range(nlev)]
            for (lv, cname, pin), ids in by_key.items():
                ids_a = np.array(ids)
                groups[lv].append(_Group(
                    cname, pin, gate_fn[ids[0]],
                    np.array([gate_in[g] for g in ids], dtype=np.int64).T.reshape(-1, len(ids)),
                    gate_in_pins[ids[0]], np.array([gate_out[g] for g in ids], dtype=np.int64), ids_a))
        nl = cls(lib, top, n_nets, inputs, outputs, clock_nets, gates, groups, flops,
                 np.array([f["q"] for f in flops], dtype=np.int64),
                 np.array([f["qn"] for f in flops], dtype=np.int64), None, names, sinks, driver,
                 np.array(gate_out, dtype=np.int64))
        nl.levels = [_compile_level(lv) for lv in groups]
        return nl

    # ------------------------------------------------------------------ properties
    @property
    def n_gates(self) -> int:
        return len(self.gates)

    @property
    def n_levels(self) -> int:
        return len(self.groups)

    def driver_net(self, gate: int) -> int:
        return int(self.gate_out[gate])

    def net_loads(self) -> np.ndarray:
        """Load capacitance per net [fF]: sum of fan-out input-pin capacitances (no wire load)."""
        load = np.zeros(self.n_nets)
        for net, sk in enumerate(self.sinks):
            for _, cname, pin in sk:
                load[net] += self.lib.cells[cname].pins[pin].capacitance
        return load

    # ------------------------------------------------------------------ simulation
    def simulate(self, inputs: dict[str, np.ndarray], *, count_toggles: bool = True,
                 outputs: bool = True, warmup: int = 1):
        """Cycle-by-cycle bit-parallel simulation.

        ``inputs[port]``: integer array ``(cycles, streams)`` (two's complement bits are taken;
        ports up to 63 bits), or a bool array ``(cycles, streams, port_bits)`` (LSB first) for
        wide ports; ports not given are held at 0, the clock port is implicit. Returns ``(out, toggles)``:
        ``out[port]`` unsigned ints ``(cycles, streams)`` (int64; Python ints in an object
        array for ports wider than 63 bits) sampled after logic settles in each
        cycle, before the clock edge (registered outputs therefore lag their reference by one
        cycle); ``toggles`` int64 per net, summed over streams and over cycles
        ``warmup..cycles-1`` (each cycle's settled values against the previous cycle's).
        """
        if not inputs:
            raise NetlistError("no input vectors given")
        unknown = set(inputs) - set(self.inputs)
        if unknown:
            raise NetlistError(f"unknown input port(s) {sorted(unknown)}; ports: {sorted(self.inputs)}")
        shapes = {np.shape(v)[:2] for v in inputs.values()}
        if len(shapes) != 1 or any(np.ndim(v) not in (2, 3) for v in inputs.values()):
            raise NetlistError(f"inputs must all be (cycles, streams[, bits]) arrays with the same "
                               f"cycles and streams; got shapes "
                               f"{ {k: np.shape(v) for k, v in inputs.items()} }")
        cycles, streams = next(iter(shapes))
        W = (streams + 63) // 64
        # Packed input words per port bit: (cycles, W).
        drive: list[tuple[int, np.ndarray]] = []
        for port, arr in inputs.items():
            nets = self.inputs[port]
            if np.ndim(arr) == 3:
                bits = np.asarray(arr, dtype=bool)
                if bits.shape[2] != len(nets):
                    raise NetlistError(f"port {port!r} has {len(nets)} bits, got {bits.shape[2]}")
                packed = pack_bits(np.moveaxis(bits, 2, 0))          # (bits, cycles, W)
                drive += [(net, packed[i]) for i, net in enumerate(nets) if net >= 2]
                continue
            if len(nets) > 63:
                raise NetlistError(f"port {port!r} has {len(nets)} bits: pass a bool "
                                   f"(cycles, streams, {len(nets)}) array")
            a = np.asarray(arr).astype(np.int64)
            for i, net in enumerate(nets):
                if net >= 2:
                    drive.append((net, pack_bits(((a >> i) & 1).astype(bool))))
        vals = np.zeros((self.n_nets, W), dtype=np.uint64)
        vals[1] = _ALL
        prev = None
        toggles = np.zeros(self.n_nets, dtype=np.int64)
        outs = {p: np.zeros((cycles, len(b), W), dtype=np.uint64) for p, b in self.outputs.items()} \
            if outputs else {}
        ONE, ZERO = np.full(W, _ALL), np.zeros(W, dtype=np.uint64)
        # Streams beyond `streams` in the last word are padding: mask them out of the counts.
        mask = pack_bits(np.ones(streams, bool))
        flop_q = self.ff_q
        flop_qn = self.ff_qn
        state = np.zeros((len(self.flops), W), dtype=np.uint64)     # flops start at 0 (init)
        for t in range(cycles):
            for net, words in drive:
                vals[net] = words[t]
            if len(self.flops):
                qm = flop_q >= 0
                vals[flop_q[qm]] = state[qm]
                qnm = flop_qn >= 0
                vals[flop_qn[qnm]] = ~state[qnm]
            for lv in self.levels:
                G = vals.take(lv.gather, axis=0)
                O = np.empty((len(lv.scatter), W), dtype=np.uint64)
                for fn, ins, osl in lv.evals:
                    O[osl] = fn([G[sl] for sl in ins], ONE, ZERO)
                vals[lv.scatter] = O
            if outputs:
                for p, bits in self.outputs.items():
                    outs[p][t] = vals[bits]
            if count_toggles:
                if prev is not None and t >= warmup:
                    toggles += np.bitwise_count((vals ^ prev) & mask).sum(axis=1, dtype=np.int64)
                prev = vals.copy()
            # Clock edge: every flop loads next_state (then clear / preset override; they
            # are sampled at the edge, which is exact for synchronous use of async pins).
            for idx, fn, ins, clr, pre in self._ff_groups():
                nxt = fn([vals[i] for i in ins], ONE, ZERO)
                if clr is not None:
                    nxt = nxt & ~clr[0]([vals[i] for i in clr[1]], ONE, ZERO)
                if pre is not None:
                    nxt = nxt | pre[0]([vals[i] for i in pre[1]], ONE, ZERO)
                state[idx] = nxt
        result = {}
        for p, words in outs.items():
            bits = unpack_bits(words, streams)                     # (cycles, nbits, streams)
            nbits = bits.shape[1]
            if nbits <= 63:
                weights = (np.int64(1) << np.arange(nbits, dtype=np.int64))[None, :, None]
                result[p] = (bits.astype(np.int64) * weights).sum(axis=1)
            else:                                                  # wide port: Python ints
                by = np.packbits(np.moveaxis(bits, 1, 2), axis=-1, bitorder="little")
                result[p] = np.array([[int.from_bytes(b.tobytes(), "little") for b in row]
                                      for row in by], dtype=object)
        return result, toggles

    def _ff_groups(self):
        """Flops grouped by cell type: ``(flop indices, next fn, input nets (n_in, n), clear,
        preset)``, built once."""
        if self.ff_next is None:
            by: dict[str, list[int]] = {}
            for k, f in enumerate(self.flops):
                by.setdefault(f["cell"], []).append(k)
            out = []
            for cname, ks in by.items():
                f0 = self.flops[ks[0]]
                fn = f0["next"][0].compile()
                ins = np.array([self.flops[k]["next"][1] for k in ks], dtype=np.int64).T
                extra = []
                for key in ("clear", "preset"):
                    if key in f0["async"]:
                        e = f0["async"][key][0].compile()
                        extra.append((e, np.array([self.flops[k]["async"][key][1] for k in ks],
                                                  dtype=np.int64).T))
                    else:
                        extra.append(None)
                out.append((np.array(ks), fn, ins, *extra))
            self.ff_next = out
        return self.ff_next

    # ------------------------------------------------------------------ timing
    def critical_path(self, input_slew: float | None = None) -> dict:
        """Longest register-to-register / input-to-output path [ns] (see module docstring)."""
        lib = self.lib
        slew0 = lib.fo4_slew if input_slew is None else input_slew
        load = self.net_loads()
        arr = np.zeros(self.n_nets)
        slew = np.full(self.n_nets, slew0)
        for k, f in enumerate(self.flops):
            cell = lib.cells[f["cell"]]
            for net in (f["q"], f["qn"]):
                if net < 0:
                    continue
                d, s = _arc_delay(cell, None, slew0, load[net], edge=True)
                arr[net], slew[net] = d, s
        for level in self.groups:
            for g in level:
                cell = lib.cells[g.cell]
                pin = cell.pins[g.pin]
                out_load = load[g.out]
                best_a = np.zeros(len(g.out))
                best_s = np.full(len(g.out), slew0)
                for j, ip in enumerate(g.in_pins):
                    arcs = [a for a in pin.timing if a[0] == ip]
                    if not arcs:
                        continue
                    nets = g.ins[j]
                    d = np.zeros(len(nets))
                    s = np.zeros(len(nets))
                    for a in arcs:
                        d = np.maximum(d, np.maximum(_vec(a[2], slew[nets], out_load),
                                                     _vec(a[3], slew[nets], out_load)))
                        s = np.maximum(s, np.maximum(_vec(a[4], slew[nets], out_load),
                                                     _vec(a[5], slew[nets], out_load)))
                    a_in = arr[nets] + d
                    upd = a_in > best_a
                    best_a = np.where(upd, a_in, best_a)
                    best_s = np.where(upd, s, best_s)
                arr[g.out] = best_a
                slew[g.out] = best_s
        worst, where = 0.0, None
        for p, bits in self.outputs.items():
            for i, net in enumerate(bits):
                if arr[net] > worst:
                    worst, where = float(arr[net]), f"output {p}[{i}]"
        for f in self.flops:
            cell = lib.cells[f["cell"]]
            expr, nets = f["next"]
            for net, dpin in zip(nets, expr.inputs):
                setup = 0.0
                p = cell.pins.get(dpin)
                if p is not None and p.setup:
                    setup = max([0.0, *(t(slew0, slew[net]) for s in p.setup for t in s[1:]
                                        if t is not None)])
                if arr[net] + setup > worst:
                    worst, where = float(arr[net] + setup), f"flop {f['inst']} {dpin}"
        return {"delay_ns": worst, "endpoint": where,
                "fmax_mhz": (1e3 / worst) if worst > 0 else float("inf")}


def _vec(t: Table | None, slew: np.ndarray, load: np.ndarray) -> np.ndarray:
    """Vectorized bilinear table look-up (linear extrapolation), as :meth:`Table.__call__`."""
    if t is None:
        return np.zeros(np.broadcast(slew, load).shape)
    v = t.values

    def idx(axis, x):
        if axis is None or len(axis) < 2:
            return np.zeros(np.shape(x), dtype=np.int64), np.zeros(np.shape(x))
        k = np.clip(np.searchsorted(axis, x) - 1, 0, len(axis) - 2)
        return k, (x - axis[k]) / (axis[k + 1] - axis[k])

    slew, load = np.broadcast_arrays(np.asarray(slew, float), np.asarray(load, float))
    i0, ti = idx(t.slew, slew)
    j0, tj = idx(t.load, load)
    i1 = np.minimum(i0 + 1, v.shape[0] - 1)
    j1 = np.minimum(j0 + 1, v.shape[1] - 1)
    top = v[i0, j0] * (1 - tj) + v[i0, j1] * tj
    bot = v[i1, j0] * (1 - tj) + v[i1, j1] * tj
    return top * (1 - ti) + bot * ti


def _arc_delay(cell: Cell, related: str | None, slew: float, load: float, edge=False):
    """Clock-to-output delay and slew of a flop output (max over its edge arcs and rise/fall)."""
    d = s = 0.0
    for p in cell.outputs:
        for a in cell.pins[p].timing:
            if edge and not a[1].startswith(("rising_edge", "falling_edge")):
                continue
            d = max([d, *(t(slew, load) for t in a[2:4] if t is not None)])
            s = max([s, *(t(slew, load) for t in a[4:6] if t is not None)])
    return d, s
