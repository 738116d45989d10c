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

__all__ = ["cell_models", "run_icarus", "vcd_toggles", "IcarusError", "have_icarus"]


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
