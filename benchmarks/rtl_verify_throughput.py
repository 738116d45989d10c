"""RTL verification speed: per-unit build + run of the main job's verification, per simulator.

    .venv/bin/python benchmarks/rtl_verify_throughput.py [--simulators verilator,icarus]
        [--blocks N] [--no-stage] [--no-units] [--no-throughput] [--no-hierarchical]

0. Stage (``--no-stage`` skips it; Verilator): every check of the main job's verification
   stage (``DEFAULT_PLAN``: 16 block unit variants, 2 mixed units, 6 scalar MACs; 36
   distinct checks), **cold**, in this one process: bundled as the stage runs them
   (:func:`intfp.sim.checks.group_checks`, ``plan.verify_groups`` builds) against the
   reference of the same checks one build each, measured in the same run; the ratio is the
   reference's CPU seconds over the bundles'. The stage runs the bundles on 2 Dask workers,
   so its wall time is about the bundles' CPU seconds / 2 on an idle 2-core machine.
1. Per unit: every unit of the main job's default plan (``intfp.main_job.DEFAULT_PLAN``:
   8 block presets at 32 / 16 lanes, 2 mixed units, 6 scalar MACs) verified as
   ``intfp rtl verify`` does (:func:`intfp.sim.checks.verify`: exhaustive lane space +
   ``--blocks`` blocks, or every scalar pair, one build per check), once per simulator,
   **cold**: each simulator starts from an
   empty build directory, so build seconds include the Verilog export and the compile (for
   Verilator also the one-time runtime objects and precompiled header, shown as their own
   row). Wall seconds depend on the machine's load (printed); CPU seconds (this process plus
   its children: Yosys, the C++ compiler, the simulator) much less. The ratio column is
   Icarus' total over Verilator's, measured in the same run.
2. Throughput (``--no-throughput`` skips it): the exhaustive E4M3 lane check and the k = 32
   MXFP8 block unit per simulator (cached builds), the hierarchical export on Icarus, the
   Amaranth simulator and the numpy model.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def _cpu() -> float:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def _load() -> str:
    try:
        return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "load average unknown"


def per_unit(simulators, blocks: int, seed: int = 0):
    from intfp.main_job import DEFAULT_PLAN as plan
    from intfp.sim.checks import verify

    units = ([(f, "block") for f in plan.block_formats] + [(m, "mixed") for m in plan.mixed_units]
             + [(s, "scalar") for s in plan.scalar_formats])
    table = {}          # (unit, sim) -> dict
    extra = {}
    for sim in simulators:
        root = Path(tempfile.mkdtemp(prefix=f"intfp-bench-{sim}-"))
        old = os.environ.get("INTFP_BUILD_DIR")
        os.environ["INTFP_BUILD_DIR"] = str(root)
        try:
            for fmt, kind in units:
                c0, t0 = _cpu(), time.perf_counter()
                res = verify(fmt, kind=kind, lanes=plan.lanes if kind == "block" else None, n=blocks,
                             seed=seed, simulator=sim)
                table[(f"{kind}:{fmt}", sim)] = {
                    "checks": ", ".join(f"{r.name} ({r.vectors:,})" for r in res),
                    "build": sum(r.build_seconds for r in res), "run": sum(r.sim_seconds for r in res),
                    "wall": time.perf_counter() - t0, "cpu": _cpu() - c0,
                    "passed": all(r.passed for r in res), "simulator": {r.simulator for r in res}}
            rt = [json.loads(p.read_text()).get("runtime", 0.0) for p in root.glob("*/build_seconds.json")]
            extra[sim] = max(rt, default=0.0)           # the one-time Verilator runtime (in a build)
        finally:
            if old is None:
                os.environ.pop("INTFP_BUILD_DIR", None)
            else:
                os.environ["INTFP_BUILD_DIR"] = old
            shutil.rmtree(root, ignore_errors=True)
    print("| unit | checks (vectors) | " + " | ".join(
        f"{s} build s | {s} run s | {s} wall s | {s} CPU s" for s in simulators)
        + (" | wall ratio icarus / verilator |" if len(simulators) == 2 else " |"))
    print("|---|---|" + "---|" * (4 * len(simulators)) + ("---|" if len(simulators) == 2 else ""))
    tot = {s: {"build": 0.0, "run": 0.0, "wall": 0.0, "cpu": 0.0} for s in simulators}
    for fmt, kind in units:
        u = f"{kind}:{fmt}"
        cells = []
        for s in simulators:
            r = table[(u, s)]
            for k in tot[s]:
                tot[s][k] += r[k]
            flag = "" if r["passed"] else " FAIL"
            cells.append(f"{r['build']:.1f} | {r['run']:.1f} | {r['wall']:.1f}{flag} | {r['cpu']:.1f}")
        ratio = (f" | {table[(u, 'icarus')]['wall'] / table[(u, 'verilator')]['wall']:.1f}x"
                 if set(simulators) == {"icarus", "verilator"} else "")
        print(f"| {u} | {table[(u, simulators[0])]['checks']} | " + " | ".join(cells) + ratio + " |")
    cells = [f"{t['build']:.1f} | {t['run']:.1f} | {t['wall']:.1f} | {t['cpu']:.1f}" for t in tot.values()]
    ratio = (f" | {tot['icarus']['wall'] / tot['verilator']['wall']:.1f}x"
             if set(simulators) == {"icarus", "verilator"} else "")
    print("| **total, one process** | | " + " | ".join(cells) + ratio + " |")
    for s in simulators:
        if extra.get(s):
            print(f"\n{s}: the one-time runtime objects + precompiled header took {extra[s]:.1f} s "
                  "(inside the first build above).")
        print(f"{s}: {tot[s]['cpu']:.0f} CPU s in total; on 2 cores with perfect packing >= "
              f"{tot[s]['cpu'] / 2:.0f} s wall.")
    return table


def _cold(fn):
    """``fn()`` with an empty build directory of its own: (result, wall s, CPU s)."""
    root = Path(tempfile.mkdtemp(prefix="intfp-bench-stage-"))
    old = os.environ.get("INTFP_BUILD_DIR")
    os.environ["INTFP_BUILD_DIR"] = str(root)
    try:
        c0, t0 = _cpu(), time.perf_counter()
        out = fn()
        return out, time.perf_counter() - t0, _cpu() - c0
    finally:
        if old is None:
            os.environ.pop("INTFP_BUILD_DIR", None)
        else:
            os.environ["INTFP_BUILD_DIR"] = old
        shutil.rmtree(root, ignore_errors=True)


def stage(blocks: int, seed: int = 0):
    """The verification stage's checks, cold: bundled vs one build per check."""
    from intfp.analysis.flow import sweep_points
    from intfp.main_job import DEFAULT_PLAN as plan
    from intfp.sim.checks import check_key, check_weight, verify_checks
    from intfp.sim.runner import prepare_runtime
    from intfp.verify_task import plan_checks

    units = sweep_points(plan.block_formats, "block", (plan.lanes,), lane_archs=plan.lane_archs) + \
        sweep_points(plan.mixed_units, "mixed") + sweep_points(plan.scalar_formats, "scalar")
    bundles, _ = plan_checks(units, blocks, seed, plan.verify_groups)
    checks = [c for b in bundles for c in b]

    def run(groups):
        rows, ok = [], True
        t = time.perf_counter()
        c = _cpu()
        prepare_runtime("verilator")                  # the one-time runtime, its own row
        rows.append(("runtime objects + precompiled header", 0, time.perf_counter() - t, _cpu() - c))
        for g in groups:
            t, c = time.perf_counter(), _cpu()
            res = verify_checks(g, simulator="verilator")
            ok &= all(r.passed for r in res)
            rows.append((", ".join(r.name for r in res) if len(g) < 3 else f"{len(g)} checks",
                         round(sum(map(check_weight, g))), time.perf_counter() - t, _cpu() - c))
        return rows, ok

    (ref, ok_ref), ref_wall, ref_cpu = _cold(lambda: run([[c] for c in checks]))
    (bun, ok_bun), bun_wall, bun_cpu = _cold(lambda: run(bundles))
    print(f"{len(units)} units, {len(checks)} distinct checks, {blocks} blocks per block / mixed unit")
    print("\n| bundle | size (~kB RTLIL) | wall s | CPU s |\n|---|---|---|---|")
    for name, size, wall, cpu in bun:
        print(f"| {name} | {size:,} | {wall:.1f} | {cpu:.1f} |")
    print("\n| way | builds | wall s | CPU s | CPU ratio reference / bundled | all passed |")
    print("|---|---|---|---|---|---|")
    print(f"| one build per check (reference) | {len(checks)} | {ref_wall:.1f} | {ref_cpu:.1f} | 1.0x | {ok_ref} |")
    print(f"| bundled, as the stage | {len(bundles)} | {bun_wall:.1f} | {bun_cpu:.1f} | "
          f"{ref_cpu / bun_cpu:.1f}x | {ok_bun} |")
    print(f"\nbundled: {bun_cpu:.0f} CPU s; on 2 idle cores with perfect packing >= {bun_cpu / 2:.0f} s "
          f"wall (the largest bundle alone: {max(r[3] for r in bun[1:]):.0f} CPU s).")


def throughput(simulators, blocks: int, hierarchical: bool):
    from intfp.models import hwmodel as hw
    from intfp.rtl.units import BlockDotUnit
    from intfp.sim import checks
    from intfp.sim import vectors as vec
    from intfp.sim.pysim import simulate_pysim

    rows = []

    def add(name, vectors, seconds, build, passed):
        rows.append((name, vectors, seconds, vectors / seconds, build, "PASS" if passed else "FAIL"))

    for sim in simulators:
        r = checks.check_lanes("e4m3", simulator=sim)
        add(f"E4M3 lane multiplier, every pair ({sim}, {r.rows:,} rows)", r.vectors, r.sim_seconds,
            r.build_seconds, r.passed)
        r = checks.check_block("mxfp8_e4m3", n=blocks, seed=0, simulator=sim)
        add(f"MXFP8 k=32 block unit ({sim}, flat netlist)", r.vectors, r.sim_seconds,
            r.build_seconds, r.passed)
    if hierarchical and "icarus" in simulators:
        n = max(50, blocks // 20)
        r = checks.check_block("mxfp8_e4m3", n=n, seed=0, flat=False, simulator="icarus")
        add("MXFP8 k=32 block unit (icarus, hierarchical export)", r.vectors, r.sim_seconds,
            r.build_seconds, r.passed)
    spec = hw.dot_spec("mxfp8_e4m3")
    n = max(50, blocks // 20)
    v = vec.block_vectors(spec, vec.block_stimulus(spec, n, seed=0))
    t = time.perf_counter()
    _, bad = simulate_pysim(BlockDotUnit(spec), v)
    add("MXFP8 k=32 block unit (Amaranth simulator)", n, time.perf_counter() - t, 0.0,
        not any(len(x) for x in bad.values()))
    stim = vec.block_stimulus(spec, 100_000, seed=0)
    t = time.perf_counter()
    hw.block_dot(spec.fmt, stim.a, stim.b, stim.a_scale, stim.b_scale)
    add("MXFP8 k=32 bit-accurate model (numpy)", len(stim), time.perf_counter() - t, 0.0, True)

    print("| check | vectors | sim s | vectors/s | build s | result |")
    print("|---|---|---|---|---|---|")
    for name, n, s, rate, b, ok in rows:
        print(f"| {name} | {n:,} | {s:.1f} | {rate:,.0f} | {b:.1f} | {ok} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--simulators", default="verilator,icarus",
                    help="comma-separated: verilator, icarus (default both)")
    ap.add_argument("--blocks", type=int, default=2000, help="blocks per block / mixed unit")
    ap.add_argument("--no-stage", action="store_true",
                    help="skip the verification stage's bundled vs per-check table")
    ap.add_argument("--no-units", action="store_true", help="skip the per-unit cold table")
    ap.add_argument("--no-throughput", action="store_true", help="skip the throughput table")
    ap.add_argument("--no-hierarchical", action="store_true", help="skip the slow hierarchical run")
    args = ap.parse_args()

    from intfp.sim.runner import check_simulator

    sims = [check_simulator(s.strip()) for s in args.simulators.split(",") if s.strip()]
    if not sims:
        ap.error("--simulators: give at least one of verilator, icarus")
    print(f"# {platform.node()}: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"python {platform.python_version()}, numpy {np.__version__}; {_load()} at start")
    if not args.no_stage and "verilator" in sims:
        print("\n## The verification stage's checks, cold, Verilator: bundled vs one build per check\n")
        stage(args.blocks)
    if not args.no_units:
        print(f"\n## Per unit, cold builds ({args.blocks} blocks per block / mixed unit)\n")
        per_unit(sims, args.blocks)
    if not args.no_throughput:
        print("\n## Throughput (cached builds)\n")
        throughput(sims, args.blocks, not args.no_hierarchical)
    print(f"\n# {_load()} at the end")


if __name__ == "__main__":
    main()
