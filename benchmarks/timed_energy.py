"""Throughput of the timed (glitch-counting) bit-parallel simulation vs Icarus Verilog with the
same delays, on one mapped netlist, measured in the same run.

Usage (from the repository root)::

    .venv/bin/python benchmarks/timed_energy.py [--unit mxfp8_e4m3] [--lanes 32]
        [--streams 512] [--cycles 33] [--models unit,liberty] [--time-step-ps 1]
        [--icarus-cycles 33]

numpy: :meth:`Netlist.simulate_timed` on ``streams`` x ``cycles`` random operand vectors (one
block per cycle; cycle 0 is the warm-up), rate = counted cycle-streams per second, including its
zero-delay pass. Icarus: :func:`intfp.analysis.icarus.run_icarus_timed` on the first stream's
``icarus-cycles`` cycles with the same integer delays, rate = counted cycles per second of
the ``vvp`` run alone (compile time and VCD parsing excluded, which favours Icarus; Icarus
simulates one stream at a time). The
per-net transition counts of the Icarus stream are compared with a numpy run of that stream.
Memory: the peak resident set of this process (``ru_maxrss``) after each numpy run. The load
average (1 min) at the end of each row is printed because the machine may be shared.
``simulate_timed`` picks its engine by delay model (dense bit-packed grid for ``unit``,
per-stream events for ``liberty``, in C when ``python -m intfp.analysis.timed_build`` has built
it, as scripts/setup.sh does; ``INTFP_TIMED_ENGINE=numpy`` measures the numpy event engine).
"""
from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np

from intfp.analysis.icarus import have_icarus, run_icarus_timed
from intfp.analysis.liberty import read_liberty
from intfp.analysis.netlist import Netlist
from intfp.analysis.yosys import synthesize


def random_inputs(nl: Netlist, cycles: int, streams: int, seed: int = 0) -> dict:
    """Random bits on every data port (maximal activity); rst low, valid high, first every 8."""
    rng = np.random.default_rng(seed)
    out = {}
    for p, bits in nl.inputs.items():
        if p == "clk":
            continue
        if p == "rst":
            out[p] = np.zeros((cycles, streams), np.int64)
        elif p == "valid":
            out[p] = np.ones((cycles, streams), np.int64)
        elif p == "first":
            out[p] = np.broadcast_to((np.arange(cycles) % 8 == 0)[:, None],
                                     (cycles, streams)).astype(np.int64)
        else:
            out[p] = rng.random((cycles, streams, len(bits))) < 0.5
    return out


def _as_ints(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v)
    if v.ndim == 3:
        return (v[:, 0, :].astype(object)
                * np.array([1 << i for i in range(v.shape[2])], dtype=object)).sum(axis=1)
    return v[:, 0]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--unit", default="mxfp8_e4m3")
    ap.add_argument("--kind", default="block")
    ap.add_argument("--lanes", type=int, default=32)
    ap.add_argument("--streams", type=int, default=512)
    ap.add_argument("--cycles", type=int, default=33)
    ap.add_argument("--icarus-cycles", type=int, default=33)
    ap.add_argument("--models", default="unit,liberty")
    ap.add_argument("--time-step-ps", type=float, default=1.0)
    ap.add_argument("--chunk-words", type=int, default=None,
                    help="default: simulate_timed's per engine")
    args = ap.parse_args(argv)
    from amaranth.back import rtlil
    from intfp.rtl.units import make_unit
    top = "u_bench"
    t0 = time.perf_counter()
    res = synthesize(rtlil.convert(make_unit(args.unit, kind=args.kind, lanes=args.lanes),
                                   name=top, emit_src=False), top, None)
    nl = Netlist.from_yosys_json(res.netlist, read_liberty(res.liberty_path), top)
    print(f"{args.unit} {args.kind} k={args.lanes}: {nl.n_gates} gates, {len(nl.flops)} flops, "
          f"{nl.n_levels} levels; synthesis + compile {time.perf_counter() - t0:.1f} s",
          flush=True)
    ins = random_inputs(nl, args.cycles, args.streams)
    q = args.time_step_ps * 1e-3
    rows = []
    for model in [m for m in args.models.split(",") if m]:
        t0 = time.perf_counter()
        r = nl.simulate_timed(ins, delay_model=model, time_step_ns=q,
                              chunk_words=args.chunk_words)
        dt = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        n = (args.cycles - 1) * args.streams
        glitch = 1 - r["functional"].sum() / max(1, r["toggles"].sum())
        row = {"model": model, "numpy_s": dt, "numpy_rate": n / dt, "rss_mb": rss,
               "load": open("/proc/loadavg").read().split()[0],
               "glitch_share": glitch, "settle": r["settle_steps"]}
        if have_icarus():
            one = {p: v[:args.icarus_cycles, :1] for p, v in ins.items()}
            r1 = nl.simulate_timed(one, delay_model=model, time_step_ns=q,
                                   delays=(r["rise"], r["fall"]))
            delays = {}
            for g, (inst, _, pin) in enumerate(nl.gates):
                delays.setdefault(inst, {})[pin] = (int(r["rise"][g]), int(r["fall"][g]))
            period = 2 * ((nl.settle_bound(r["rise"], r["fall"]) + 2) // 2 + 1)
            ports = {p: len(b) for p, b in nl.inputs.items()}
            ic = run_icarus_timed(res.netlist, top, nl.lib,
                                  {p: _as_ints(v) for p, v in one.items()}, ports, delays, period)
            row["icarus_rate"] = (args.icarus_cycles - 1) / ic["seconds"]
            row["equal"] = all(ic["toggles"][k] == r1["toggles"][k] for k in ic["toggles"]
                               if k not in nl.clock_nets)
            row["speedup"] = row["numpy_rate"] / row["icarus_rate"]
        rows.append(row)
        print(row, flush=True)
    print()
    print("| delay model | numpy cycles/s | Icarus cycles/s | speed-up | counts equal | "
          "peak RSS MB | glitch share of transitions | settle [steps] | load avg |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['numpy_rate']:.0f} | {r.get('icarus_rate', float('nan')):.1f} | "
              f"{r.get('speedup', float('nan')):.1f}x | {r.get('equal', '-')} | {r['rss_mb']:.0f} | "
              f"{r['glitch_share']:.3f} | {r['settle']} | {r['load']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
