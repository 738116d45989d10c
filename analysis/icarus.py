"""Reference gate-level simulation with Icarus Verilog, for cross-checking the bit-parallel
toggle counts of :mod:`intfp.analysis.netlist`.

The Yosys-written netlist (``write_verilog -noattr``) instantiates library cells; their
Verilog models are generated from the Liberty ``function`` / ``ff`` attributes
(:func:`cell_models`). A testbench applies one input vector per clock cycle *with nonblocking
assignments at the rising edge*, so flops sample the previous cycle's values and the inputs
change in the same time step as the state (zero-delay cycle semantics, like the numpy
simulator), and dumps the top module's nets to a VCD file; :func:`vcd_toggles` counts value
changes per net bit. Icarus writes the values at the end of each time step, so delta-cycle
glitches do not appear in either count.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from .liberty import Library, parse_function

__all__ = ["cell_models", "timed_cell_models", "run_icarus", "run_icarus_timed", "vcd_toggles",
           "IcarusError", "have_icarus"]


class IcarusError(RuntimeError):
    pass


def have_icarus() -> bool:
    return shutil.which("iverilog") is not None and shutil.which("vvp") is not None


def _vexpr(py: str, inputs) -> str:
    """BoolExpr.py (``v[i]``, ``ONE``, ``ZERO``, ``~&|^``) -> Verilog expression."""
    s = re.sub(r"v\[(\d+)\]", lambda m: inputs[int(m.group(1))], py)
    return s.replace("ONE", "1'b1").replace("ZERO", "1'b0")


def cell_models(lib: Library, cells) -> str:
    """Verilog modules for ``cells`` from their Liberty functions (flops start at 0)."""
    out = []
    for name in sorted(set(cells)):
        c = lib.cell(name)
        ports = c.inputs + c.outputs
        body = [f"module {name}({', '.join(ports)});"]
        body += [f"  input {p};" for p in c.inputs] + [f"  output {p};" for p in c.outputs]
        if c.ff is not None:
            ff = c.ff
            q, qn = ff["q"], ff.get("qn") or (ff["q"] + "_n")
            nxt = parse_function(ff["next_state"])
            ck = parse_function(ff["clocked_on"]).inputs[0]
            body += [f"  reg {q} = 1'b0;", f"  wire {qn} = ~{q};"]
            upd = _vexpr(nxt.py, nxt.inputs)
            if "clear" in ff:
                e = parse_function(ff["clear"])
                upd = f"({upd}) & ~({_vexpr(e.py, e.inputs)})"
            if "preset" in ff:
                e = parse_function(ff["preset"])
                upd = f"({upd}) | ({_vexpr(e.py, e.inputs)})"
            body.append(f"  always @(posedge {ck}) {q} <= {upd};")
        for p in c.outputs:
            f = c.pins[p].function
            if f is None:
                raise IcarusError(f"cell {name} output {p} has no function")
            body.append(f"  assign {p} = {_vexpr(f.py, f.inputs)};")
        body.append("endmodule")
        out.append("\n".join(body))
    return "\n\n".join(out) + "\n"


def _truth_rows(f) -> list[int]:
    """Minterms (input index i = bit i) where the Liberty function is 1."""
    fn = f.compile()
    n = len(f.inputs)
    return [m for m in range(1 << n) if fn([(m >> i) & 1 for i in range(n)], 1, 0) & 1]


def _tree(kind: str, items: list[str], prefix: str, body: list[str], final: str | None = None,
          delay: str = "", invert: bool = False) -> str:
    """Gate-primitive tree of ``kind`` (``and`` / ``or``) over ``items`` in which every item
    passes through the same number of gates (at most 4 inputs per gate; a lone item still gets
    a gate), so no gate sees its inputs change in two delta rounds of one time step. The last
    gate drives ``final`` (inverted when ``invert``) and carries ``delay``."""
    level = 0
    while True:
        groups = [items[i:i + 4] for i in range(0, len(items), 4)]
        last = len(groups) == 1
        outs = []
        for j, grp in enumerate(groups):
            grp = grp * 2 if len(grp) == 1 else grp
            if last and final:
                name, gate = final, ("n" + kind if invert else kind) + " " + delay
            else:
                name, gate = f"{prefix}{level}_{j}", kind + " "
                body.append(f"  wire {name};")
            body.append(f"  {gate}({name}, {', '.join(grp)});")
            outs.append(name)
        if last:
            return outs[0]
        items = outs
        level += 1


def timed_cell_models(lib: Library, cells) -> str:
    """Verilog models for the timed cross-check: each combinational output is an equal-depth
    two-level gate network (a literal layer of ``buf`` / ``not``, one ``and`` per minterm of
    the smaller of the on- and off-set, then an ``or`` / ``nor`` tree) whose last gate carries
    ``#(R_<pin>, F_<pin>)``, parameters set per instance.

    Why this shape: Icarus evaluates a gate (``vvp_fun_boolean_``) in a later delta round of the
    same time step than the change of its inputs. With every path through the cell the same
    number of gates long, all of a cell's input changes of one time step reach its delayed
    output gate in one delta round, so the delay element sees only the final function value of
    each time step, after that step's matured output events. That is the two-phase semantics
    :func:`intfp.analysis.netlist._inertial` implements; a plain ``assign #(r, f) Y = expr;``
    can glitch in zero time inside the expression and re-time a pending event.
    """
    out = []
    for name in sorted(set(cells)):
        c = lib.cell(name)
        ports = c.inputs + c.outputs
        params = [p for p in c.outputs if c.ff is None]
        body = [f"module {name}({', '.join(ports)});"]
        body += [f"  parameter R_{p} = 1, F_{p} = 1;" for p in params]
        body += [f"  input {p};" for p in c.inputs] + [f"  output {p};" for p in c.outputs]
        if c.ff is not None:
            ff = c.ff
            q, qn = ff["q"], ff.get("qn") or (ff["q"] + "_n")
            nxt = parse_function(ff["next_state"])
            ck = parse_function(ff["clocked_on"]).inputs[0]
            body += [f"  reg {q} = 1'b0;", f"  wire {qn} = ~{q};"]
            upd = _vexpr(nxt.py, nxt.inputs)
            for key, op in (("clear", "&~"), ("preset", "|")):
                if key in ff:
                    e = parse_function(ff[key])
                    upd = f"({upd}) {op[0]} {op[1:]}({_vexpr(e.py, e.inputs)})"
            body.append(f"  always @(posedge {ck}) {q} <= {upd};")
            for p in c.outputs:
                f = c.pins[p].function
                body.append(f"  assign {p} = {_vexpr(f.py, f.inputs)};")
            body.append("endmodule")
            out.append("\n".join(body))
            continue
        for p in c.outputs:
            f = c.pins[p].function
            if f is None:
                raise IcarusError(f"cell {name} output {p} has no function")
            n = len(f.inputs)
            on = _truth_rows(f)
            off = [m for m in range(1 << n) if m not in on]
            delay = f"#(R_{p}, F_{p}) "
            if not on or not off:                       # constant output (tie cells)
                body.append(f"  assign #(R_{p}, F_{p}) {p} = 1'b{1 if on else 0};")
                continue
            terms, inv = (on, False) if len(on) <= len(off) else (off, True)
            lits = {}
            for i, v in enumerate(f.inputs):
                body += [f"  wire {p}_p{i}, {p}_n{i};", f"  buf ({p}_p{i}, {v});",
                         f"  not ({p}_n{i}, {v});"]
                lits[i] = (f"{p}_n{i}", f"{p}_p{i}")
            prods = [_tree("and", [lits[i][(m >> i) & 1] for i in range(n)], f"{p}_m{j}_", body)
                     for j, m in enumerate(terms)]
            _tree("or", prods, f"{p}_s", body, final=p, delay=delay, invert=inv)
        body.append("endmodule")
        out.append("\n".join(body))
    return "\n\n".join(out) + "\n"


def vcd_toggles(path: Path, t_start: int, scope: str | None = None) -> dict[str, np.ndarray]:
    """Per-bit value-change counts of the VCD variables of ``scope`` (a dotted scope path such
    as ``tb.dut``; every scope if None), for changes at times >= t_start.

    Returns ``{name: counts (LSB first)}``; x / z values are treated as 0. One identifier code
    may be shared by several variables (aliases across scopes): each gets the counts.
    """
    ids: dict[str, list[tuple[str, int]]] = {}
    counts: dict[str, np.ndarray] = {}
    last: dict[str, str] = {}
    width_of: dict[str, int] = {}
    path_stack: list[str] = []
    t = 0
    with open(path) as f:
        header = True
        for line in f:
            if header:
                tok = line.split()
                if not tok:
                    continue
                if tok[0] == "$scope":
                    path_stack.append(tok[2])
                elif tok[0] == "$upscope":
                    path_stack.pop()
                elif tok[0] == "$var":
                    width, code, name = int(tok[2]), tok[3], tok[4].lstrip("\\")
                    if scope is None or ".".join(path_stack) == scope:
                        ids.setdefault(code, []).append((name, width))
                        counts.setdefault(name, np.zeros(width, dtype=np.int64))
                        width_of[code] = width
                elif tok[0] == "$enddefinitions":
                    header = False
                continue
            if not line.strip():
                continue
            ch = line[0]
            if ch == "#":
                t = int(line[1:])
                continue
            if ch in "01xzXZ":
                val, code = ch, line[1:].strip()
            elif ch in "bB":
                val, code = line[1:].split()
            else:
                continue
            if code not in ids:
                continue
            width = width_of[code]
            val = val.replace("x", "0").replace("z", "0").replace("X", "0").replace("Z", "0")
            val = val.rjust(width, "0")[-width:]
            prev = last.get(code)
            if prev is not None and t >= t_start and prev != val:
                if width == 1:
                    diff = 1
                else:
                    diff = (np.frombuffer(val[::-1].encode(), np.uint8)
                            != np.frombuffer(prev[::-1].encode(), np.uint8))
                for name, _ in ids[code]:
                    counts[name] += diff
            last[code] = val
    return counts


def run_icarus(verilog_netlist: str, top: str, lib: Library, inputs: dict[str, np.ndarray],
               ports: dict[str, int], *, clock: str = "clk", warmup: int = 1,
               workdir: str | Path | None = None, vcd: bool = True) -> dict:
    """Simulate one stream: ``inputs[port]`` int arrays ``(cycles,)``; ``ports`` maps every
    input port to its width. Returns ``{"toggles": {net: counts}, "seconds": run time}``.

    Cycle ``t``'s settled values are at time ``10 t``; toggles are counted from cycle
    ``warmup`` on, as :meth:`Netlist.simulate` does.
    """
    if not have_icarus():
        raise IcarusError("Icarus Verilog (iverilog, vvp) not found; install it (Debian: "
                          "`apt-get install iverilog`)")
    cells = set(re.findall(r"^\s*(\w+)\s+\\?[\w.$\\]+\s*\(", verilog_netlist, re.M)) & set(lib.cells)
    cycles = len(next(iter(inputs.values())))
    own = workdir is None
    work = Path(tempfile.mkdtemp(prefix="intfp-iverilog-")) if own else Path(workdir)
    try:
        work.mkdir(parents=True, exist_ok=True)
        data_ports = [p for p in ports if p != clock]
        for p in data_ports:
            w = ports[p]
            vals = np.asarray(inputs.get(p, np.zeros(cycles, dtype=np.int64))).astype(object)
            mask = (1 << w) - 1
            (work / f"{p}.hex").write_text("\n".join(f"{int(v) & mask:x}" for v in vals) + "\n")
        tb = ["`timescale 1ns/1ps", "module tb;", f"  reg {clock} = 0;"]
        for p in data_ports:
            tb += [f"  reg [{ports[p] - 1}:0] {p};", f"  reg [{ports[p] - 1}:0] mem_{p} [0:{cycles - 1}];"]
        conns = ", ".join(f".{p}({p})" for p in ports)
        tb += [f"  {top} dut({conns});", "  integer t;", "  initial begin"]
        tb += [f'    $readmemh("{p}.hex", mem_{p});' for p in data_ports]
        if vcd:
            tb += ['    $dumpfile("dump.vcd");', "    $dumpvars(1, dut);"]
        tb += [f"    {p} = mem_{p}[0];" for p in data_ports]
        tb += ["    for (t = 1; t < %d; t = t + 1) begin" % cycles,
               f"      #5 {clock} = 0; #5 {clock} = 1;"]
        tb += [f"      {p} <= mem_{p}[t];" for p in data_ports]
        tb += ["    end", "    #1 $finish;", "  end", "endmodule"]
        (work / "tb.v").write_text("\n".join(tb) + "\n")
        (work / "netlist.v").write_text(verilog_netlist)
        (work / "cells.v").write_text(cell_models(lib, cells))
        comp = subprocess.run(["iverilog", "-g2005", "-o", "sim.vvp", "tb.v", "netlist.v", "cells.v"],
                              cwd=work, capture_output=True, text=True)
        if comp.returncode != 0:
            raise IcarusError(f"iverilog failed:\n{comp.stderr[-3000:]}")
        t0 = time.perf_counter()
        run = subprocess.run(["vvp", "-n", "sim.vvp"], cwd=work, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        if run.returncode != 0:
            raise IcarusError(f"vvp failed:\n{run.stderr[-3000:]}")
        tog = vcd_toggles(work / "dump.vcd", t_start=10 * warmup, scope="tb.dut") if vcd else {}
        return {"toggles": tog, "seconds": seconds}
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)


def scalar_netlist(netlist: dict, top: str, lib: Library,
                   delays: dict[str, dict[str, tuple[int, int]]] | None = None) -> str:
    """A Verilog netlist of the Yosys JSON module ``top`` with one scalar wire ``n<id>`` per net
    bit and ``#(.R_<pin>(r), .F_<pin>(f))`` on every instance listed in ``delays``.

    Why not Yosys' own ``write_verilog``: it connects cells to bits of vector wires and writes
    ``assign`` concatenations, which Icarus implements with part-select functors that pass a
    change on one delta round later than a scalar net; a cell fed by both kinds then sees its
    inputs change in two delta rounds of one time step, which re-times pending inertial events.
    With scalar nets every cell input changes in the round its driver's event matures in.
    Ports stay vectors; their bits are assigned to / from the scalar nets (changes there happen
    only at clock edges, when nothing is pending).
    """
    mod = netlist["modules"][top]

    def ref(b):
        if isinstance(b, int):
            return f"n{b}"
        return "1'b1" if b == "1" else "1'b0"

    lines = []
    ports = mod["ports"]
    lines.append(f"module {top}({', '.join(ports)});")
    nets = set()
    for c in mod["cells"].values():
        nets.update(b for bits in c["connections"].values() for b in bits if isinstance(b, int))
    for pd in ports.values():
        nets.update(b for b in pd["bits"] if isinstance(b, int))
    for pn, pd in ports.items():
        w = len(pd["bits"])
        lines.append(f"  {pd['direction']} [{w - 1}:0] {pn};")
    lines += [f"  wire n{b};" for b in sorted(nets)]
    for pn, pd in ports.items():
        for i, b in enumerate(pd["bits"]):
            if pd["direction"] == "input" and isinstance(b, int):
                lines.append(f"  assign n{b} = {pn}[{i}];")
            elif pd["direction"] == "output":
                lines.append(f"  assign {pn}[{i}] = {ref(b)};")
    delays = delays or {}
    for k, (inst, c) in enumerate(mod["cells"].items()):
        if c["type"] not in lib.cells:
            raise IcarusError(f"cell {inst} has type {c['type']!r}, not in library {lib.name}")
        d = delays.get(inst)
        par = (" #(" + ", ".join(f".R_{p}({r}), .F_{p}({f})" for p, (r, f) in sorted(d.items()))
               + ")") if d else ""
        conns = ", ".join(f".{p}({ref(bits[0])})" for p, bits in c["connections"].items())
        lines.append(f"  {c['type']}{par} c{k} ({conns});")
    lines.append("endmodule")
    return "\n".join(lines) + "\n"


def run_icarus_timed(netlist: dict, top: str, lib: Library, inputs: dict[str, np.ndarray],
                     ports: dict[str, int], delays: dict[str, dict[str, tuple[int, int]]],
                     period: int, *, clock: str = "clk", warmup: int = 1,
                     workdir: str | Path | None = None) -> dict:
    """Event-driven reference for :meth:`intfp.analysis.netlist.Netlist.simulate_timed`: one
    stream through the Yosys JSON netlist ``netlist`` (written out by :func:`scalar_netlist`),
    cell outputs delayed by ``#(rise, fall)`` integer time steps (``delays``: instance ->
    {pin: (rise, fall)}), models from :func:`timed_cell_models`, ``timescale 1ps/1ps`` (one
    step = one Verilog time unit), a clock period of ``period`` steps (even, and longer than the
    logic's settling time, see :meth:`Netlist.settle_bound`). Every transition of every net is
    counted from the VCD (Icarus dumps each net's value once per time step), from the clock edge
    of cycle ``warmup`` on. Returns ``{"toggles": {net id: count}, "seconds": vvp run time}``.
    """
    if not have_icarus():
        raise IcarusError("Icarus Verilog (iverilog, vvp) not found; install it (Debian: "
                          "`apt-get install iverilog`)")
    if period < 2 or period % 2:
        raise IcarusError(f"period must be an even number of steps >= 2, got {period}")
    cells = {c["type"] for c in netlist["modules"][top]["cells"].values()}
    verilog = scalar_netlist(netlist, top, lib, delays)
    cycles = len(next(iter(inputs.values())))
    own = workdir is None
    work = Path(tempfile.mkdtemp(prefix="intfp-iverilog-")) if own else Path(workdir)
    half = period // 2
    try:
        work.mkdir(parents=True, exist_ok=True)
        data_ports = [p for p in ports if p != clock]
        for p in data_ports:
            w = ports[p]
            vals = np.asarray(inputs.get(p, np.zeros(cycles, dtype=np.int64))).astype(object)
            mask = (1 << w) - 1
            (work / f"{p}.hex").write_text("\n".join(f"{int(v) & mask:x}" for v in vals) + "\n")
        tb = ["`timescale 1ps/1ps", "module tb;", f"  reg {clock} = 0;"]
        for p in data_ports:
            tb += [f"  reg [{ports[p] - 1}:0] {p};",
                   f"  reg [{ports[p] - 1}:0] mem_{p} [0:{cycles - 1}];"]
        conns = ", ".join(f".{p}({p})" for p in ports)
        tb += [f"  {top} dut({conns});", "  integer t;", "  initial begin"]
        tb += [f'    $readmemh("{p}.hex", mem_{p});' for p in data_ports]
        tb += ['    $dumpfile("dump.vcd");', "    $dumpvars(1, dut);"]
        tb += [f"    {p} = mem_{p}[0];" for p in data_ports]
        tb += ["    for (t = 1; t < %d; t = t + 1) begin" % cycles,
               f"      #{half} {clock} = 0; #{half} {clock} = 1;"]
        tb += [f"      {p} <= mem_{p}[t];" for p in data_ports]
        tb += ["    end", f"    #{period} $finish;", "  end", "endmodule"]
        (work / "tb.v").write_text("\n".join(tb) + "\n")
        (work / "netlist.v").write_text(verilog)
        (work / "cells.v").write_text(timed_cell_models(lib, cells))
        comp = subprocess.run(["iverilog", "-g2005", "-o", "sim.vvp", "tb.v", "netlist.v",
                               "cells.v"], cwd=work, capture_output=True, text=True)
        if comp.returncode != 0:
            raise IcarusError(f"iverilog failed:\n{comp.stderr[-3000:]}")
        t0 = time.perf_counter()
        run = subprocess.run(["vvp", "-n", "sim.vvp"], cwd=work, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        if run.returncode != 0:
            raise IcarusError(f"vvp failed:\n{(run.stderr or run.stdout)[-3000:]}")
        raw = vcd_toggles(work / "dump.vcd", t_start=period * warmup, scope="tb.dut")
        tog = {int(k[1:]): int(v[0]) for k, v in raw.items() if re.fullmatch(r"n\d+", k)}
        return {"toggles": tog, "seconds": seconds}
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)
