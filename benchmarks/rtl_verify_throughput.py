"""Throughput of the RTL verification: model-checked vectors per second.

    .venv/bin/python benchmarks/rtl_verify_throughput.py [--blocks N] [--no-hierarchical]

Rows: the exhaustive E4M3 lane-multiplier check (65,536 pairs, 64 multipliers per Icarus
step), the k = 32 MXFP8 block unit on Icarus (flat simulation netlist, and the hierarchical
export for comparison) and in Amaranth's simulator, and the bit-accurate numpy model itself.
Simulation time includes starting the simulator (about 2-3 s per run); builds are cached
(first run: add the export + compile time, printed separately).
"""
from __future__ import annotations

import argparse
import platform
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=2000, help="blocks for the MXFP8 unit (Icarus, flat)")
    ap.add_argument("--no-hierarchical", action="store_true", help="skip the slow hierarchical run")
    args = ap.parse_args()

    from intfp.models import hwmodel as hw
    from intfp.rtl.units import BlockDotUnit
    from intfp.sim import checks
    from intfp.sim import vectors as vec
    from intfp.sim.pysim import simulate_pysim

    rows = []

    def add(name, vectors, seconds, build, passed):
        rows.append((name, vectors, seconds, vectors / seconds, build, "PASS" if passed else "FAIL"))

    r = checks.check_lanes("e4m3")
    add("E4M3 lane multiplier, every pair (Icarus, 64 lanes/step)", r.vectors, r.sim_seconds,
        r.build_seconds, r.passed)
    r = checks.check_block("mxfp8_e4m3", n=args.blocks, seed=0)
    add("MXFP8 k=32 block unit (Icarus, flat netlist)", r.vectors, r.sim_seconds, r.build_seconds,
        r.passed)
    if not args.no_hierarchical:
        n = max(50, args.blocks // 20)
        r = checks.check_block("mxfp8_e4m3", n=n, seed=0, flat=False)
        add("MXFP8 k=32 block unit (Icarus, hierarchical export)", r.vectors, r.sim_seconds,
            r.build_seconds, r.passed)
    spec = hw.dot_spec("mxfp8_e4m3")
    n = max(50, args.blocks // 20)
    v = vec.block_vectors(spec, vec.block_stimulus(spec, n, seed=0))
    t = time.perf_counter()
    _, bad = simulate_pysim(BlockDotUnit(spec), v)
    add("MXFP8 k=32 block unit (Amaranth simulator)", n, time.perf_counter() - t, 0.0,
        not any(len(x) for x in bad.values()))
    stim = vec.block_stimulus(spec, 100_000, seed=0)
    t = time.perf_counter()
    hw.block_dot(spec.fmt, stim.a, stim.b, stim.a_scale, stim.b_scale)
    add("MXFP8 k=32 bit-accurate model (numpy)", len(stim), time.perf_counter() - t, 0.0, True)

    print(f"# {platform.node()}: {platform.processor() or platform.machine()}, "
          f"python {platform.python_version()}, numpy {np.__version__}")
    print("| check | vectors | sim s | vectors/s | build s | result |")
    print("|---|---|---|---|---|---|")
    for name, n, s, rate, b, ok in rows:
        print(f"| {name} | {n:,} | {s:.1f} | {rate:,.0f} | {b:.1f} | {ok} |")


if __name__ == "__main__":
    main()
