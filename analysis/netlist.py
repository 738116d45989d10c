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
(docs/hardware-cost.md, "Limits"). :meth:`Netlist.simulate_timed` adds them: every transition
of a delay-annotated (``unit`` or ``liberty``) inertial-delay simulation of each cycle, with a
dense bit-packed engine (few distinct times) and a per-stream event engine (many distinct
times, e.g. Liberty delays at 1 ps steps); both are cross-checked against Icarus Verilog.

Static timing (:meth:`Netlist.critical_path`) uses the same levelization with the Liberty NLDM
tables: arrival and slew propagate forward (max over input arcs, max of rise / fall), the load of
a net is the sum of its fan-out pin capacitances (no wire load), flop outputs start at their
clock-to-Q delay and flop inputs end with their setup constraint.
"""
from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from intfp.models.clib import CSource

from .liberty import Cell, Library, Table, parse_function

__all__ = ["Netlist", "NetlistError", "pack_bits", "unpack_bits", "DELAY_MODELS",
           "DEFAULT_DELAY_MODEL", "DEFAULT_TIME_STEP_NS", "check_delay_model", "build_timed_library",
           "timed_library_path", "timed_c_library"]


class NetlistError(ValueError):
    pass


_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
#: Delay models of :meth:`Netlist.simulate_timed`.
DELAY_MODELS = ("zero", "unit", "liberty")
#: The delay model energy is counted with unless a caller asks for another (the flows, the CLI,
#: the main job): per-arc Liberty delays, every transition counted, as time-based sign-off
#: power analysis counts them. Cross-checked per net against Icarus (tests/test_timed_energy.py).
DEFAULT_DELAY_MODEL = "liberty"
#: Default quantum of the ``liberty`` delay model [ns] (see :meth:`Netlist.gate_delays`).
DEFAULT_TIME_STEP_NS = 0.001


# --------------------------------------------------------------------------------------------
# The optional C loop of the event engine (analysis/timed_events.c)
# --------------------------------------------------------------------------------------------
#: ``$INTFP_TIMED_ENGINE``: "auto" (default): ``engine="events"`` runs the C loop when its library
#: is built (:func:`build_timed_library`), else the numpy event engine; "numpy": always numpy
#: (tests compare the two); "c": the C loop, an error if it is not built. Read at each call.
_TIMED_BACKENDS = ("auto", "numpy", "c")
# code file: timed_events.c
_TIMED_SOURCE = Path(__file__).with_name("timed_events.c")   # its bytes are in every cache key
_TIMED_FLAGS = ("-O2", "-march=native", "-shared", "-fPIC")
_TIMED_PMAX = 6                     # truth tables in one uint64: cells of at most 6 pins


TIMED_LOOP = CSource(_TIMED_SOURCE, _TIMED_FLAGS, "timed-events", "INTFP_TIMED_LIB",
                     "the timed event loop", "use the numpy engine")


def timed_library_path() -> Path:
    """Where :func:`build_timed_library` puts the library (:meth:`intfp.models.clib.CSource.path`:
    ``$INTFP_TIMED_LIB``, else in the venv, named by a hash of the source and flags)."""
    return TIMED_LOOP.path()


def build_timed_library(path: Path | None = None) -> Path:
    """Compile analysis/timed_events.c into :func:`timed_library_path` (an error with the
    compiler's log tail if that fails) and drop the loaded copy."""
    path = TIMED_LOOP.build(path)
    _timed_cdll.cache_clear()
    return path


@lru_cache(maxsize=4)
def _timed_cdll(path: str):
    lib = ctypes.CDLL(path)
    P, I64 = ctypes.c_void_p, ctypes.c_int64
    lib.timed_events.argtypes = [I64, I64, P, P, P, I64, P, P, P, P, I64, P, P, P, P, P, I64, P,
                                 P]
    lib.timed_events.restype = I64
    return lib


def timed_c_library(backend: str | None = None):
    """The loaded C event loop, or None (backend "numpy", or "auto" and not built)."""
    backend = os.environ.get("INTFP_TIMED_ENGINE", "auto") if backend is None else backend
    if backend not in _TIMED_BACKENDS:
        raise NetlistError(f"INTFP_TIMED_ENGINE={backend!r} is not an event-engine back end; "
                           "allowed: auto (the C loop when built, else numpy), numpy, c")
    if backend == "numpy":
        return None
    path = timed_library_path()
    if not path.is_file():
        if backend == "c":
            raise NetlistError(f"the C event loop is required but not built at {path}; run "
                               "python -m intfp.analysis.timed_build (or use auto / numpy)")
        return None
    return _timed_cdll(str(path))




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

    def net_fanout(self) -> np.ndarray:
        """Fan-out per net: input pins it drives, plus one per top-level output port bit."""
        fo = np.array([len(sk) for sk in self.sinks], dtype=np.int64)
        for bits in self.outputs.values():
            for b in bits:
                if b >= 2:
                    fo[b] += 1
        return fo

    def wire_caps(self, wire_load: bool | str | None = None) -> np.ndarray:
        """Estimated wire capacitance per net [fF] from the library's wire-load model
        (:meth:`Library.wire_load`) and each net's fan-out.

        ``wire_load``: None / False -> zeros; True -> the library's default model (an error if
        it has none); ``"auto"`` -> the default model if the library has one, else zeros; any
        other string names a model. Constant nets and clock nets get none: the clock's wiring
        is a clock tree, which is not modelled.
        """
        caps = np.zeros(self.n_nets)
        if wire_load is None or wire_load is False:
            return caps
        if wire_load == "auto":
            wl = self.lib.wire_load() if (self.lib.default_wire_load or self.lib.wire_loads) else None
            if wl is None:
                return caps
        elif wire_load is True:
            wl = self.lib.wire_load()
            if wl is None:
                raise NetlistError(f"library {self.lib.name} defines no wire-load model "
                                   f"(wire_load=True); use wire_load='auto' or False")
        else:
            wl = self.lib.wire_load(str(wire_load))
        caps = wl.cap(self.net_fanout())
        caps[:2] = 0.0
        for n in self.clock_nets:
            caps[n] = 0.0
        return caps

    def net_loads(self, wire_load: bool | str | None = None) -> np.ndarray:
        """Load capacitance per net [fF]: sum of fan-out input-pin capacitances, plus the
        estimated wire capacitance when ``wire_load`` is set (see :meth:`wire_caps`)."""
        load = np.zeros(self.n_nets)
        for net, sk in enumerate(self.sinks):
            for _, cname, pin in sk:
                load[net] += self.lib.cells[cname].pins[pin].capacitance
        return load + self.wire_caps(wire_load)

    # ------------------------------------------------------------------ simulation
    def simulate(self, inputs: dict[str, np.ndarray], *, count_toggles: bool = True,
                 outputs: bool = True, warmup: int = 1, states: list | None = None):
        """Cycle-by-cycle bit-parallel simulation.

        ``inputs[port]``: integer array ``(cycles, streams)`` (two's complement bits are taken;
        ports up to 63 bits), or a bool array ``(cycles, streams, port_bits)`` (LSB first) for
        wide ports; ports not given are held at 0, the clock port is implicit. Returns ``(out, toggles)``:
        ``out[port]`` unsigned ints ``(cycles, streams)`` (int64; Python ints in an object
        array for ports wider than 63 bits) sampled after logic settles in each
        cycle, before the clock edge (registered outputs therefore lag their reference by one
        cycle); ``toggles`` int64 per net, summed over streams and over cycles
        ``warmup..cycles-1`` (each cycle's settled values against the previous cycle's).
        ``states``: if a list is given, each cycle's settled net values ``(n_nets, W)`` are
        appended to it (used by :meth:`simulate_timed`).
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
            if states is not None:
                states.append(vals.copy())
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
    def critical_path(self, input_slew: float | None = None,
                      wire_load: bool | str | None = None) -> dict:
        """Longest register-to-register / input-to-output path [ns] (see module docstring)."""
        lib = self.lib
        slew0 = lib.fo4_slew if input_slew is None else input_slew
        load = self.net_loads(wire_load)
        arr, slew = self._propagate(load, slew0)
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

    def gate_delays(self, delay_model: str = "unit", *, time_step_ns: float = DEFAULT_TIME_STEP_NS,
                    wire_load: bool | str | None = None, input_slew: float | None = None):
        """Integer rise / fall delays per gate output (``self.gates`` order), in time steps.

        ``unit``: 1 step for every cell. ``liberty``: for each cell instance, the mean over its
        timing arcs of ``cell_rise`` / ``cell_fall`` looked up at the net's actual load (pins,
        plus wire when ``wire_load``) and the input net's propagated slew (as
        :meth:`critical_path`), divided by ``time_step_ns`` and rounded, at least 1 step. One
        (rise, fall) pair per output, as a Verilog ``#(rise, fall)`` on the cell output.
        Returns ``(rise, fall)`` int64 arrays.
        """
        check_delay_model(delay_model)
        n = self.n_gates
        if delay_model == "zero":
            return np.zeros(n, np.int64), np.zeros(n, np.int64)
        if delay_model == "unit":
            return np.ones(n, np.int64), np.ones(n, np.int64)
        if not (isinstance(time_step_ns, (int, float)) and time_step_ns > 0):
            raise NetlistError(f"time_step_ns must be a positive number, got {time_step_ns!r}")
        lib = self.lib
        load = self.net_loads(wire_load)
        slew0 = lib.fo4_slew if input_slew is None else input_slew
        _, slew = self._propagate(load, slew0)
        rise = np.zeros(n)
        fall = np.zeros(n)
        for level in self.groups:
            for g in level:
                pin = lib.cells[g.cell].pins[g.pin]
                rs, fs = [], []
                for j, ip in enumerate(g.in_pins):
                    for a in pin.timing:
                        if a[0] != ip:
                            continue
                        if a[2] is not None:
                            rs.append(_vec(a[2], slew[g.ins[j]], load[g.out]))
                        if a[3] is not None:
                            fs.append(_vec(a[3], slew[g.ins[j]], load[g.out]))
                if not rs or not fs:
                    inst = self.gates[int(g.gate_ids[0])][0]
                    raise NetlistError(
                        f"library {lib.name} has no timing tables (cell_rise and cell_fall) for "
                        f"cell {g.cell} output {g.pin} (used by {inst}); the 'liberty' delay "
                        f"model needs them: use delay_model='unit' or 'zero', or another library")
                rise[g.gate_ids] = np.mean(rs, axis=0)
                fall[g.gate_ids] = np.mean(fs, axis=0)
        q = float(time_step_ns)
        return (np.maximum(1, np.rint(rise / q)).astype(np.int64),
                np.maximum(1, np.rint(fall / q)).astype(np.int64))

    def settle_bound(self, rise: np.ndarray, fall: np.ndarray) -> int:
        """Upper bound [steps] on when any net can change after a clock edge: the longest
        path with each cell at the larger of its rise and fall delays."""
        arr = np.zeros(self.n_nets, dtype=np.int64)
        dmax = np.maximum(np.asarray(rise), np.asarray(fall))
        for level in self.groups:
            for g in level:
                arr[g.out] = arr[g.ins].max(axis=0) + dmax[g.gate_ids]
        return int(arr.max()) if len(arr) else 0

    def simulate_timed(self, inputs: dict[str, np.ndarray], *, delay_model: str = "unit",
                       time_step_ns: float = DEFAULT_TIME_STEP_NS,
                       wire_load: bool | str | None = None, warmup: int = 1,
                       chunk_words: int | None = None, delays=None, trace=None,
                       engine: str = "auto") -> dict:
        """Glitch-accurate transition counts: every transition of every net within each clock
        cycle, with cell delays from ``delay_model`` (``zero`` | ``unit`` | ``liberty``, see
        :meth:`gate_delays`) and Verilog inertial-delay semantics (see :func:`_inertial`).

        Flops and primary inputs change once per cycle at the clock edge (time 0 of the cycle),
        to the values of the zero-delay simulation (:meth:`simulate`), which also gives each
        cycle's settled state; the cycle is assumed long enough for the logic to settle (the
        timed waveform must end at the zero-delay value, else :class:`NetlistError`). Since every
        cycle then starts from a known settled state, all (cycle, stream) pairs are simulated
        together: ``chunk_words`` 64-stream words at a time (memory ~ the live waveforms of
        one chunk; default 256 for the dense engine, 4 for the event engine, whose arrays stay
        in cache), cells in topological order. Two engines give identical counts (a test
        checks it): ``"dense"`` (:meth:`_timed_chunk`: a net's waveform is a list of change
        times shared by all streams and one bit-packed value row each; fast when few distinct
        times exist, as with ``unit`` delays) and ``"events"`` (:meth:`_timed_chunk_events`:
        per-stream event lists, work ~ transitions; fast with ``liberty`` delays at 1 ps steps,
        where streams rarely change at the same time). ``engine="auto"`` picks ``dense`` for
        ``unit`` and ``events`` for ``liberty``. ``"events"`` runs its loop in C
        (analysis/timed_events.c, :meth:`_timed_chunk_c`, ~5x faster) when that library is built
        (scripts/setup.sh; :func:`timed_c_library`, ``$INTFP_TIMED_ENGINE=numpy`` forces numpy),
        else in numpy; ``"events-c"`` / ``"events-numpy"`` force one (tests compare them).

        Returns ``{"toggles": per-net transitions (all), "functional": per-net zero-delay
        toggles, "settle_steps": latest transition time, "rise", "fall": delays per gate [steps],
        "time_step_ns"}`` (counts summed over streams and cycles ``warmup..cycles-1``);
        ``trace``: a set of net ids whose waveforms (change times, value rows) are returned
        under ``"trace"`` keyed by (cycles of the chunk, net), for debugging.
        """
        check_delay_model(delay_model)
        if engine not in ("auto", "events", "dense", "events-c", "events-numpy"):
            raise NetlistError(f"unknown timed-simulation engine {engine!r}; allowed: auto, "
                               f"events, dense, events-c, events-numpy")
        if engine == "auto":
            engine = "dense" if delay_model == "unit" else "events"
        clib = None
        if engine in ("events", "events-c") and trace is None:
            clib = timed_c_library("c" if engine == "events-c" else None)
            if clib is not None and self._c_plan() is None:
                if engine == "events-c":
                    raise NetlistError(f"the C event loop handles cells of at most {_TIMED_PMAX} "
                                       f"input pins; this netlist has more: use events-numpy")
                clib = None
        if engine != "dense":
            engine = "events"
        if delays is None:
            delays = self.gate_delays(delay_model, time_step_ns=time_step_ns, wire_load=wire_load)
        rise, fall = (np.asarray(d, dtype=np.int64) for d in delays)
        states: list = []
        _, functional = self.simulate(inputs, outputs=False, warmup=warmup,
                                      states=None if delay_model == "zero" else states)
        out = {"functional": functional, "rise": rise, "fall": fall,
               "time_step_ns": time_step_ns if delay_model == "liberty" else None}
        if delay_model == "zero":
            return dict(out, toggles=functional.copy(), settle_steps=0)
        if len(rise) and (rise.min() < 1 or fall.min() < 1):
            raise NetlistError("timed simulation needs delays of at least one time step")
        streams = next(iter(inputs.values())).shape[1]
        words = states[0].shape[1]
        mask_w = pack_bits(np.ones(streams, bool))
        counted = list(range(max(warmup, 1), len(states)))
        if chunk_words is None:        # measured on the MXFP8 block unit (benchmarks/timed_energy.py)
            chunk_words = (256 if engine == "dense" or trace is not None else
                           4 if clib is None else 16)
        per = max(1, int(chunk_words) // words)
        toggles = np.zeros(self.n_nets, dtype=np.int64)
        settle = 0
        traced = {} if trace is not None else None
        ctx: dict = {}                     # per-call constants of the event engine
        for i in range(0, len(counted), per):
            cs = counted[i:i + per]
            init = np.concatenate([states[c - 1] for c in cs], axis=1)
            fin = np.concatenate([states[c] for c in cs], axis=1)
            m = np.tile(mask_w, len(cs))
            if engine == "dense" or trace is not None:
                s = self._timed_chunk(init, fin, m, rise, fall, toggles, trace, traced, cs)
            elif clib is not None:
                s = self._timed_chunk_c(clib, init, fin, m, rise, fall, toggles)
            else:
                s = self._timed_chunk_events(init, fin, m, rise, fall, toggles, ctx)
            settle = max(settle, s)
        out = dict(out, toggles=toggles, settle_steps=int(settle))
        if trace is not None:
            out["trace"] = traced
        return out

    def _timed_chunk(self, init, fin, mask, rise, fall, toggles, trace=None, traced=None,
                     cycles=()) -> int:
        w = init.shape[1]
        one, zero = np.full(w, _ALL), np.zeros(w, dtype=np.uint64)
        waves: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        sources = [n for p, bits in self.inputs.items() for n in bits
                   if n >= 2 and n not in self.clock_nets]
        sources += [int(n) for n in np.concatenate([self.ff_q, self.ff_qn]) if n >= 2]
        t0 = np.zeros(1, dtype=np.int64)
        for n in set(sources):
            d = init[n] ^ fin[n]
            if d.any():
                waves[n] = (t0, fin[n][None])
                toggles[n] += _popcount(d, mask)
        refs = np.bincount(np.concatenate([lv.gather for lv in self.levels]) if self.levels
                           else np.zeros(0, np.int64), minlength=self.n_nets)
        settle = 0
        for level in self.groups:
            for g in level:
                fn = g.fn
                for k in range(len(g.out)):
                    ins = g.ins[:, k]
                    o = int(g.out[k])
                    present = [waves[n] for n in ins if n in waves]
                    if present:
                        if len(present) == 1:
                            times = present[0][0]
                        else:
                            times = np.unique(np.concatenate([p[0] for p in present]))
                        nt = len(times)
                        vals = []
                        for n in ins:
                            wv = waves.get(n)
                            if wv is None:
                                vals.append(np.broadcast_to(init[n], (nt, w)))
                            elif len(wv[0]) == nt:           # same grid (a subset of size nt)
                                vals.append(wv[1])
                            else:
                                idx = np.searchsorted(wv[0], times, "right")
                                vals.append(np.concatenate([init[n][None], wv[1]])[idx])
                        f = fn(vals, one, zero)
                        gid = int(g.gate_ids[k])
                        wave = _inertial(times, f, init[o], int(rise[gid]), int(fall[gid]))
                        if wave is not None:
                            last = wave[1][-1]
                            prev = np.concatenate([init[o][None], wave[1][:-1]])
                            toggles[o] += _popcount(wave[1] ^ prev, mask)
                            settle = max(settle, int(wave[0][-1]))
                            if refs[o] > 0:
                                waves[o] = wave
                            if trace is not None and o in trace:
                                traced[(tuple(cycles), o)] = wave
                        else:
                            last = init[o]
                        if not np.array_equal(last, fin[o]):
                            raise NetlistError(
                                f"timed simulation of {self.gates[gid][0]} ({g.cell}) did not "
                                f"settle to its zero-delay value: internal error")
                    for n in ins:
                        refs[n] -= 1
                        if refs[n] == 0:
                            waves.pop(int(n), None)
        return settle

    def _c_plan(self):
        """Arrays of the C event loop (analysis/timed_events.c), built once: the gates with input
        pins in topological order (levels, then groups), their output nets, pin counts, input
        nets ``(gates, _TIMED_PMAX)`` (-1 past a cell's pins), gate ids, and each cell function
        as a truth table (bit ``sum_j v_j << j`` of a uint64, from the compiled function itself
        on all input combinations); the source nets (primary inputs but the clock, flop
        outputs). None if a cell has more than ``_TIMED_PMAX`` input pins."""
        if getattr(self, "_cplan", False) is False:
            outs, nps, pins, tabs, gids = [], [], [], [], []
            ok = True
            for level in self.groups:
                for g in level:
                    p, n = len(g.in_pins), len(g.out)
                    if p == 0:
                        continue
                    if p > _TIMED_PMAX:
                        ok = False
                        break
                    combo = np.arange(1 << p)
                    v = [(((combo >> j) & 1) * 0xFF).astype(np.uint8) for j in range(p)]
                    f = np.asarray(g.fn(v, np.uint8(0xFF), np.uint8(0)))
                    f = np.broadcast_to(f, combo.shape) != 0
                    tab = int((f.astype(np.uint64) << combo.astype(np.uint64)).sum())
                    pm = np.full((n, _TIMED_PMAX), -1, dtype=np.int64)
                    pm[:, :p] = np.asarray(g.ins).T
                    outs.append(g.out)
                    nps.append(np.full(n, p, dtype=np.int64))
                    pins.append(pm)
                    tabs.append(np.full(n, tab, dtype=np.uint64))
                    gids.append(g.gate_ids)
            src = {n for p, bits in self.inputs.items() for n in bits
                   if n >= 2 and n not in self.clock_nets}
            src |= {int(n) for n in np.concatenate([self.ff_q, self.ff_qn]) if n >= 2}
            cat = (lambda a, dt: np.ascontiguousarray(np.concatenate(a) if a
                                                      else np.zeros(0, dt), dtype=dt))
            self._cplan = None if not ok else {
                "out": cat(outs, np.int64), "np": cat(nps, np.int64),
                "pins": np.ascontiguousarray(np.concatenate(pins) if pins else
                                             np.zeros((0, _TIMED_PMAX), np.int64)),
                "tab": cat(tabs, np.uint64), "gid": cat(gids, np.int64),
                "src": np.array(sorted(src), dtype=np.int64)}
            if ok:
                self._c_renumber(self._cplan)
                # fan-out lists (CSR): the loop visits only gates with an input event
                pm = self._cplan["pins"]
                gate, pin = np.nonzero(pm >= 0)
                net = pm[gate, pin]
                order = np.lexsort((gate, net))
                self._cplan["fo_gate"] = np.ascontiguousarray(gate[order], dtype=np.int64)
                self._cplan["fo_ptr"] = np.ascontiguousarray(np.concatenate(
                    [[0], np.cumsum(np.bincount(net, minlength=self.n_nets))]), dtype=np.int64)
        return self._cplan

    def _c_renumber(self, c: dict) -> None:
        """Renumber the nets of a C plan in evaluation order (sources, then each gate's output
        in gate order, then the rest): a gate's inputs are then mostly the outputs of gates just
        before it, so the loop's reads of net state are near each other in memory.
        ``c["perm"]``: the original net id of each new id."""
        order = np.concatenate([c["src"], c["out"], np.arange(self.n_nets, dtype=np.int64)])
        _, first = np.unique(order, return_index=True)
        perm = order[np.sort(first)]
        new = np.empty(self.n_nets, dtype=np.int64)
        new[perm] = np.arange(self.n_nets, dtype=np.int64)
        pins = c["pins"]
        c["pins"] = np.ascontiguousarray(np.where(pins >= 0, new[np.maximum(pins, 0)], -1))
        c["out"] = np.ascontiguousarray(new[c["out"]])
        c["src"] = np.ascontiguousarray(new[c["src"]])
        c["perm"] = perm

    def _timed_chunk_c(self, clib, init, fin, mask, rise, fall, toggles) -> int:
        """The event engine's loop in C (analysis/timed_events.c): one stream at a time, same
        semantics and counts as :meth:`_timed_chunk_events` (a test checks it)."""
        c = self._c_plan()
        ptr = lambda a: a.ctypes.data                               # noqa: E731
        W = init.shape[1]
        # word-major (W, n_nets): one stream's sweep over all nets reads contiguous memory
        perm = c["perm"]
        init = np.ascontiguousarray(init[perm].T, dtype=np.uint64)
        fin = np.ascontiguousarray(fin[perm].T, dtype=np.uint64)
        mask = np.ascontiguousarray(mask, dtype=np.uint64)
        gr = np.ascontiguousarray(rise[c["gid"]], dtype=np.int64)
        gf = np.ascontiguousarray(fall[c["gid"]], dtype=np.int64)
        tog = np.zeros(self.n_nets, dtype=np.int64)
        err = np.zeros(1, dtype=np.int64)
        r = clib.timed_events(self.n_nets, len(c["out"]), ptr(c["out"]), ptr(c["np"]),
                              ptr(c["pins"]), _TIMED_PMAX, ptr(c["tab"]), ptr(gr), ptr(gf),
                              ptr(c["src"]), len(c["src"]), ptr(c["fo_ptr"]),
                              ptr(c["fo_gate"]), ptr(init), ptr(fin), ptr(mask),
                              W, ptr(tog), ptr(err))
        if r == -1:
            k = int(c["gid"][err[0]])
            raise NetlistError(f"timed simulation of {self.gates[k][0]} ({self.gates[k][1]}) "
                               f"did not settle to its zero-delay value: internal error")
        if r < 0:
            raise NetlistError(f"the C event loop failed (code {r}: "
                               f"{'out of memory' if r == -2 else 'a cell with too many pins'})")
        toggles[perm] += tog
        return int(r)

    def _event_plan(self) -> list:
        """Per level, the gates in evaluation order (groups concatenated): output nets, gate
        ids, input nets per pin position ``(max pins, gates)`` (-1 where a cell has fewer pins),
        per group ``(fn, first gate, end gate, pins)`` and per pin position the number of leading
        gates that have it (groups are ordered by falling pin count, so the gates having pin j
        are a prefix: pin j is looked at on that prefix only). Built once."""
        if getattr(self, "_eplan", None) is None:
            plan = []
            for level in self.groups:
                level = sorted(level, key=lambda g: -len(g.in_pins))
                P = max(len(g.in_pins) for g in level)
                G = sum(len(g.out) for g in level)
                pins = np.full((P, G), -1, dtype=np.int64)
                evals, g0 = [], 0
                for g in level:
                    n, p = len(g.out), len(g.in_pins)
                    if p:
                        pins[:p, g0:g0 + n] = g.ins
                        evals.append((g.fn, g0, g0 + n, p))
                    g0 += n
                npin = [int((pins[j] >= 0).sum()) for j in range(P)]
                plan.append((np.concatenate([g.out for g in level]),
                             np.concatenate([g.gate_ids for g in level]), pins, (evals, npin)))
            self._eplan = plan
        return self._eplan

    def _timed_chunk_events(self, init, fin, mask, rise, fall, toggles, ctx=None) -> int:
        """Per-stream event engine of :meth:`simulate_timed` (used for ``liberty`` delays).

        With 1 ps steps the streams of a chunk rarely change at the same time (on the MXFP8
        block unit, a (net, 64-stream word, time) holds ~1.07 transitions on average), so
        bit-packing buys nothing and a dense time grid wastes work on empty rows. Here a net's
        waveform is a list of events ``(stream, time, value)``, sorted by stream then time,
        and the work follows the number of transitions. Each level is one vectorized pass over
        all of its gates: the input events of every gate are merged into segments keyed by
        (gate, stream) and sorted by time (a merge of one sorted run per pin); each pin's
        value at every event time is a forward fill within the segment; each cell type's
        function is evaluated on its rows (bytes 0 / 0xFF); the function's changes split it
        into runs, and a run reaches the output iff it lasts at least the cell's delay for its
        value (Verilog inertial delay, see :func:`_inertial`), at ``start + delay``; the output
        changes where a surviving run's value differs from the previous one. Waveforms of
        nets whose last reader has been evaluated are dropped (memory ~ the live waveforms).
        """
        W = init.shape[1]
        S = 1 << (64 * W - 1).bit_length()      # stream field of the keys (a power of two)
        plan = self._event_plan()
        ctx = {} if ctx is None else ctx
        if "big" not in ctx:
            dmax = int(max(rise.max(), fall.max())) if len(rise) else 1
            ctx["big"] = 1 << (int(self.settle_bound(rise, fall)) + dmax + 2).bit_length()
            refs = np.zeros(self.n_nets, dtype=np.int64)   # readers per net
            for _, _, pins, _ in plan:
                refs += np.bincount(pins[pins >= 0], minlength=self.n_nets)
            ctx["refs"] = refs
            src = {n for p, bits in self.inputs.items() for n in bits
                   if n >= 2 and n not in self.clock_nets}
            src |= {int(n) for n in np.concatenate([self.ff_q, self.ff_qn]) if n >= 2}
            ctx["src"] = np.array(sorted(src), dtype=np.int64)
        big, src = ctx["big"], ctx["src"]
        refs = ctx["refs"].copy()                          # readers left, to drop waveforms
        gmax = max((len(p[0]) for p in plan), default=1)
        if gmax * S * big >= 1 << 62:
            raise NetlistError(f"event keys would overflow int64 ({gmax} gates in a level x {S} "
                               f"streams x {big} time steps): use a smaller chunk_words")
        init_f, fin_f = init.ravel(), fin.ravel()          # index net * W + word
        store = _EventStore(self.n_nets)
        if len(src):
            ch = unpack_bits((init[src] ^ fin[src]) & mask, S)
            si, st = np.nonzero(ch)                         # sorted by net, then stream
            np.add.at(toggles, src, ch.sum(axis=1))
            store.append(src[si], st * big, _bit(fin_f, W, src[si], st))
        settle = 0
        for out_nets, gids, pins, evals in plan:
            P, G = pins.shape
            keys, vals, pin_of = [], [], []
            for j in range(P):
                nets = np.maximum(pins[j], 0)
                ln = np.where(pins[j] >= 0, store.length[nets], 0)
                tot = int(ln.sum())
                if tot == 0:
                    continue
                idx = store.ranges(nets, ln, tot)
                keys.append(np.repeat(np.arange(G, dtype=np.int64) * (S * big), ln)
                            + store.key[idx])
                vals.append(store.val[idx])
                pin_of.append(np.full(tot, j, dtype=np.int8))
            for j in range(P):                             # readers of this level are done
                np.subtract.at(refs, pins[j][pins[j] >= 0], 1)
            if keys:
                settle = max(settle, self._level_events(
                    keys, vals, pin_of, init_f, fin_f, W, S, big, out_nets, gids, pins,
                    evals, rise, fall, toggles, store))
            store.drop(np.flatnonzero(refs <= 0))
        return settle

    def _level_events(self, keys, vals, pin_of, init_f, fin_f, W, S, big, out_nets, gids,
                      pins, evals, rise, fall, toggles, store) -> int:
        # Keys are (gate * S + stream) * big + time with S, big powers of two: shifts, masks.
        sb, bb = S.bit_length() - 1, big.bit_length() - 1
        only = int(pin_of[0][0]) if len(keys) == 1 else None    # the one pin with events
        key = np.concatenate(keys)
        val = np.concatenate(vals)
        pin = None
        if only is None:                    # one sorted run per pin: timsort merges them
            pin = np.concatenate(pin_of)
            o = np.argsort(key, kind="stable")
            key, val, pin = key[o], val[o], pin[o]
        R = len(key)
        seg = key >> bb                                     # gate * S + stream
        ar = np.arange(R, dtype=np.int64)
        sstart = np.maximum.accumulate(np.where(_starts(seg), ar, 0))
        rows = np.flatnonzero(_ends(key))                   # the state after all events at t
        dup = len(rows) < R
        key_l, seg_l, ss_l = (key[rows], seg[rows], sstart[rows]) if dup else (key, seg, sstart)
        gl = seg_l >> sb
        st = seg_l & (S - 1)
        first = _starts(seg_l)
        sid = np.cumsum(first) - 1                          # segment of each row
        fs = np.flatnonzero(first)
        ins = []
        present = {int(p[0]) for p in pin_of}
        evals, npin = evals
        for j in range(pins.shape[0]):
            # rows (and raw rows) of the gates that have pin j: a prefix
            rj = int(np.searchsorted(gl, npin[j]))
            fj = int(np.searchsorted(fs, rj))
            base = _bit(init_f, W, pins[j][gl[fs[:fj]]], st[fs[:fj]])[sid[:rj]]
            if j not in present:
                ins.append(base)
            elif pin is None:
                ins.append((val[rows] if dup else val)[:rj])
            else:
                Rj = int(np.searchsorted(key, npin[j] << (sb + bb))) if rj < len(gl) else R
                # forward fill of (row << 1 | value bit): the last event of pin j so far
                acc = np.maximum.accumulate(np.where(pin[:Rj] == j, (ar[:Rj] << 1)
                                                     | (val[:Rj] & 1), -1))
                if dup:
                    acc = acc[rows[:rj]]
                ins.append(np.where((acc >> 1) >= ss_l[:rj],
                                    (acc & 1).astype(np.uint8) * np.uint8(0xFF), base))
        del key, val, pin, seg, sstart, ar
        f = np.empty(len(rows), dtype=np.uint8)
        for fn, g0, g1, p in evals:
            r0, r1 = np.searchsorted(gl, [g0, g1])
            if r1 > r0:
                f[r0:r1] = fn([x[r0:r1] for x in ins[:p]], np.uint8(0xFF), np.uint8(0))
        del ins
        on = out_nets[gl]
        y0 = _bit(init_f, W, on[fs], st[fs])[sid]
        prev = np.empty_like(f)
        prev[1:] = f[:-1]
        prev[first] = y0[first]
        # The last value of every (gate, stream) must be its zero-delay (settled) value.
        end = _ends(seg_l)
        if not np.array_equal(f[end], _bit(fin_f, W, on[end], st[end])):
            k = int(gids[gl[end][np.argmax(f[end] != _bit(fin_f, W, on[end], st[end]))]])
            raise NetlistError(f"timed simulation of {self.gates[k][0]} ({self.gates[k][1]}) "
                               f"did not settle to its zero-delay value: internal error")
        c = np.flatnonzero(f != prev)                       # run starts of the function
        f, t, sc, gc = f[c], key_l[c] & (big - 1), seg_l[c], gl[c]
        nxt = np.empty(len(c), dtype=np.int64)             # start of the next run (or never)
        nxt[:-1] = t[1:]
        nxt[_ends(sc)] = np.iinfo(np.int64).max
        g = gids[gc]
        d = np.where(f != 0, rise[g], fall[g])
        s = np.flatnonzero(nxt - t >= d)                    # inertial: long enough runs
        f, t, sc, gc, y0 = f[s], t[s] + d[s], sc[s], gc[s], y0[c][s]
        prev = np.empty_like(f)
        prev[1:] = f[:-1]
        first = _starts(sc)
        prev[first] = y0[first]
        o = np.flatnonzero(f != prev)                       # output changes
        if len(o) == 0:
            return 0
        onet = out_nets[gc[o]]
        toggles += np.bincount(onet, minlength=self.n_nets)
        store.append(onet, ((sc[o] & (S - 1)) << bb) + t[o], f[o])
        return int(t[o].max())

    def _propagate(self, load: np.ndarray, slew0: float):
        """Static arrival time and slew per net [ns] (max over arcs and rise / fall)."""
        lib = self.lib
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
        return arr, slew


def _bit(words_f: np.ndarray, W: int, net: np.ndarray, stream: np.ndarray) -> np.ndarray:
    """Bit ``stream`` of net ``net`` in packed values raveled from ``(n_nets, W)``, as a byte
    0 or 0xFF (the encoding the cell functions are evaluated on in the event engine)."""
    w = words_f[net * W + (stream >> 6)] >> (stream & 63).astype(np.uint64)
    return (w & np.uint64(1)).astype(np.uint8) * np.uint8(0xFF)


def _starts(s: np.ndarray) -> np.ndarray:
    """True where a sorted key array starts a new run of equal keys."""
    out = np.empty(len(s), dtype=bool)
    if len(s):
        out[0] = True
        np.not_equal(s[1:], s[:-1], out=out[1:])
    return out


def _ends(s: np.ndarray) -> np.ndarray:
    """True where a sorted key array ends a run of equal keys."""
    out = np.empty(len(s), dtype=bool)
    if len(s):
        out[-1] = True
        np.not_equal(s[1:], s[:-1], out=out[:-1])
    return out


class _EventStore:
    """Waveform events of the live nets of a chunk: per net a contiguous run of events
    ``(stream * big + time, value byte)`` sorted by stream then time (CSR by ``start`` /
    ``length``)."""

    def __init__(self, n_nets: int, cap: int = 1 << 16):
        self.start = np.zeros(n_nets, dtype=np.int64)
        self.length = np.zeros(n_nets, dtype=np.int64)
        self.key = np.empty(cap, dtype=np.int64)
        self.val = np.empty(cap, dtype=np.uint8)
        self.used = self.live = self.peak = 0

    def ranges(self, nets: np.ndarray, ln: np.ndarray, tot: int) -> np.ndarray:
        """Store indices of the events of ``nets`` (``ln`` = their lengths), concatenated."""
        offs = np.cumsum(ln) - ln
        return np.repeat(self.start[nets] - offs, ln) + np.arange(tot, dtype=np.int64)

    def append(self, nets, key, val) -> None:
        n = len(nets)
        if n == 0:
            return
        if self.used + n > len(self.val):
            self._compact(max(len(self.val), 2 * (self.live + n)))
        s = self.used
        self.key[s:s + n], self.val[s:s + n] = key, val
        b = np.flatnonzero(_starts(nets))
        self.start[nets[b]] = s + b
        self.length[nets[b]] = np.diff(np.r_[b, n])
        self.used += n
        self.live += n
        self.peak = max(self.peak, self.key.nbytes + self.val.nbytes)

    def drop(self, dead: np.ndarray) -> None:
        d = dead[self.length[dead] > 0]
        self.live -= int(self.length[d].sum())
        self.length[d] = 0

    def _compact(self, cap: int) -> None:
        nets = np.flatnonzero(self.length)
        ln = self.length[nets]
        idx = self.ranges(nets, ln, int(ln.sum()))
        key, val = np.empty(cap, dtype=np.int64), np.empty(cap, dtype=np.uint8)
        k = len(idx)
        key[:k], val[:k] = self.key[idx], self.val[idx]
        self.key, self.val = key, val
        self.start[nets] = np.cumsum(ln) - ln
        self.used = self.live = k


# ---------------------------------------------------------------------------------------------
# Timed (glitch-accurate) simulation
# ---------------------------------------------------------------------------------------------
def check_delay_model(delay_model) -> str:
    if delay_model not in DELAY_MODELS:
        raise NetlistError(f"unknown delay model {delay_model!r}; allowed: "
                           f"{', '.join(DELAY_MODELS)}")
    return delay_model


def _popcount(words: np.ndarray, mask: np.ndarray) -> int:
    return int(np.bitwise_count(words & mask).sum(dtype=np.int64))


def _range_and(x: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``out[j] = x[j] & x[j+1] & ... & x[hi[j]]`` for every row j (``hi >= j``), with a
    sparse table: log2(max window) vectorized steps instead of one per window position."""
    k = len(x)
    span = int((hi - np.arange(k)).max()) + 1
    if span == 1:
        return x
    if span == 2:
        return x & x[hi]
    levels = [x]
    step = 1
    while 2 * step <= span:
        prev = levels[-1]
        nxt = prev.copy()
        nxt[:k - step] &= prev[step:]
        levels.append(nxt)
        step *= 2
    table = np.stack(levels)                           # (levels, K, w)
    j = np.arange(k)
    length = hi - j + 1
    p = np.floor(np.log2(length)).astype(np.int64)
    return table[p, j] & table[p, hi - (np.int64(1) << p) + 1]


def _inertial(times: np.ndarray, f: np.ndarray, y0: np.ndarray, rise: int, fall: int):
    """Output waveform of a cell whose function value is ``f[j]`` from ``times[j]`` on (``y0``
    before), under Verilog inertial delay with transition-dependent delays (``#(rise, fall)``).

    Semantics (IEEE 1364-2005 6.1.3 / Icarus ``vvp_fun_delay``): a change of the function
    schedules the output change after the rise (to 1) or fall (to 0) delay and cancels any
    pending one; an event maturing at time t is applied before changes of the function at t
    are looked at. Equivalently, without per-stream state: the output takes the value of a
    function segment ``[times[j], next change)`` iff the function stays at that value for at
    least its delay, from ``times[j] + delay`` on; among such segments the latest one wins (for
    one stream, they mature in order). Each candidate (a segment start that is long enough, per
    stream as a bit mask) sets (rise) or clears (fall) its streams' bits; the settle-in-order
    over candidates is a prefix scan of the associative map ``y -> (y & ~A) | V``.

    Returns ``(change times, values after each)``, only at times where some stream changes.
    """
    k = len(times)
    hi_r = np.searchsorted(times, times + rise, "left") - 1
    hi_f = np.searchsorted(times, times + fall, "left") - 1
    a = np.concatenate([_range_and(f, hi_r), _range_and(~f, hi_f)])
    t = np.concatenate([times + rise, times + fall])
    is_rise = np.arange(2 * k) < k
    keep = a.any(axis=1)
    if not keep.any():
        return None
    a, t, is_rise = a[keep], t[keep], is_rise[keep]
    order = np.argsort(t, kind="stable")
    a, t, is_rise = a[order], t[order], is_rise[order]
    v = np.where(is_rise[:, None], a, np.uint64(0))
    m = len(t)
    shift = 1
    while shift < m:                                   # Hillis-Steele inclusive scan
        v2 = v.copy()
        v2[shift:] = (v[:-shift] & ~a[shift:]) | v[shift:]
        a2 = a.copy()
        a2[shift:] |= a[:-shift]
        a, v = a2, v2
        shift *= 2
    y = (y0 & ~a) | v
    last = np.r_[t[1:] != t[:-1], True]                # last candidate of each time
    t, y = t[last], y[last]
    prev = np.concatenate([y0[None], y[:-1]])
    changed = (y != prev).any(axis=1)
    if not changed.any():
        return None
    return t[changed], y[changed]


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
