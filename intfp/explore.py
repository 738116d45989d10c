"""`intfp explore`: which format should my accelerator use for this workload?

A sweep over a set of formats of the grammar (:data:`intfp.models.formats.FORMAT_GRAMMAR`;
default :func:`intfp.analysis.explore.explore_formats`: every FP and INT element of 4..8 bits,
blocks 16 and 32, UE8M0 and E4M3 scales) on one workload's recorded operands:

1. the workload in every format (:func:`intfp.models.workloads.runner.run_workload`): its
   output QSNR, and each format's GEMM operand codes recorded;
2. QSNR theory and measurement on Gaussian blocks (:func:`intfp.models.theory.gaussian_qsnr`);
3. every unit verified as the main job does (cocotb: every lane exhaustively, blocks
   randomized with corners, against models/; :mod:`intfp.verify_task`);
4. every unit synthesized and its energy simulated on the recorded operands, in each lane
   architecture, all at one matched clock (:func:`intfp.analysis.flow.sweep`, ``clock_ns="auto"``);
5. per format its best lane architecture, the Pareto fronts of QSNR against energy per MAC and
   against area per lane (:func:`intfp.analysis.explore.explore_table`).

Stages 3 and 4 are Dask tasks, cached by content hash (a rerun is instant); writes
``OUT/explore.csv``, ``OUT/explore.png``, ``OUT/explore_hardware.csv``,
``OUT/explore_verification.csv`` and ``OUT/explore.json`` (plan, stage seconds, versions).
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import click
import pandas as pd

from intfp.analysis.netlist import DEFAULT_DELAY_MODEL
from intfp.cli_synth import delay_model_option

__all__ = ["ExplorePlan", "DEFAULT_EXPLORE", "QUICK_EXPLORE", "run_explore", "explore"]


@dataclass(frozen=True)
class ExplorePlan:
    """What one exploration covers (formats None: :func:`explore_formats` of the fields below)."""
    formats: tuple | None = None
    bits: tuple = (4, 8)
    blocks: tuple = (16, 32)
    scales: tuple = ("ue8m0", "e4m3")
    kinds: tuple = ("fp", "int")
    #: The tiny LM's GEMMs (forward, Linear layers): the LLM question users bring. Its first
    #: GEMM's recorded operands (``l0.qkv``) drive the energy runs.
    workload: str = "tiny_lm"
    workload_options: tuple = ()
    #: INT: two's complement (Yosys' array) and sign-magnitude products converted after the
    #: adder tree, the cheapest INT lanes in energy (docs/lane-architectures.md); FP: standard.
    lane_archs: tuple = ("twos", "signmag_tree", "standard")
    library: str | None = None
    verify_blocks: int = 1000
    units_per_build: int = 6
    energy_cycles: int = 33
    energy_streams: int = 512
    delay_model: str = DEFAULT_DELAY_MODEL      # as the main job's (intfp.main_job.Plan)
    gauss_blocks: int = 4096

    def format_names(self) -> list[str]:
        from intfp.analysis.explore import explore_formats
        from intfp.models.formats import block_format

        if self.formats:
            return list(dict.fromkeys(block_format(f).name for f in self.formats))
        return explore_formats(self.bits, self.blocks, self.scales, self.kinds)

    def units(self) -> list:
        """Every unit (format x lane architecture of its kind), resolved, so validated."""
        from intfp.analysis.flow import sweep_points

        return sweep_points(self.format_names(), "block", lane_archs=self.lane_archs)


DEFAULT_EXPLORE = ExplorePlan()
QUICK_EXPLORE = ExplorePlan(formats=("mx:e2m2/b8/ue8m0", "mx:int5/b8/ue8m0", "nv:e1m2/b8/e4m3"),
                            workload="hla", workload_options=(("n", 64), ("serial", False)),
                            lane_archs=("twos", "standard"), verify_blocks=100, energy_cycles=9,
                            energy_streams=64, gauss_blocks=512)


def run_explore(out_dir="out", *, plan: ExplorePlan = DEFAULT_EXPLORE, seed: int = 0,
                scheduler=None, n_workers=None, log=print) -> pd.DataFrame:
    """Run the exploration (see the module docstring); returns the ``explore.csv`` table."""
    from intfp.analysis.explore import explore_table, plot_explore
    from intfp.analysis.flow import sweep
    from intfp.analysis.yosys import resolve_liberty
    from intfp.main_job import cached_frame, git_commit, tool_versions, verify_sweep, workload_run
    from intfp.models.theory import gaussian_qsnr

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    seconds: dict[str, float] = {}
    formats = plan.format_names()
    units = plan.units()                 # every unit resolved (so validated) before any work starts
    lib = resolve_liberty(plan.library)

    log(f"[1/4] {plan.workload} in {len(formats)} formats, operands recorded")
    wl, _, record = workload_run(plan.workload, formats, seed, dict(plan.workload_options),
                                 record=True, out_dir=out)
    seconds["workload"] = time.perf_counter() - t0

    log(f"[2/4] QSNR theory and measurement on {plan.gauss_blocks} Gaussian blocks per format")
    t = time.perf_counter()

    def gauss():
        return pd.DataFrame([{"format": f, **gaussian_qsnr(f, plan.gauss_blocks, seed)}
                             for f in formats])

    g, _ = cached_frame("gauss_qsnr", "intfp.models.theory", gauss, formats=formats,
                        n_blocks=plan.gauss_blocks, seed=seed)
    qsnr = wl[["format", "qsnr_db"]].merge(
        g.rename(columns={"theory_db": "qsnr_theory_db", "measured_db": "qsnr_gauss_db"}),
        on="format", how="outer", validate="one_to_one")
    if qsnr[["qsnr_db", "qsnr_theory_db"]].isna().any().any():
        raise RuntimeError(f"QSNR missing for {qsnr[qsnr.isna().any(axis=1)]['format'].tolist()}")
    seconds["qsnr"] = time.perf_counter() - t

    log(f"[3/4] verification: {len(units)} units (lanes exhaustive, blocks randomized)")
    t = time.perf_counter()
    if scheduler is None and n_workers == 1:
        scheduler = "sync"                            # as flow.sweep: one worker, this process
    # about six units per simulator build: few builds, none too large to compile quickly
    groups = max(2, -(-len(units) // plan.units_per_build))
    ver = verify_sweep(units, plan.verify_blocks, seed, groups, scheduler, n_workers)
    ver.to_csv(out / "explore_verification.csv", index=False)
    passed = ver.groupby(["format", "lane_arch"])["passed"].all().to_dict()
    failed = sorted(f"{f} {a}" for (f, a), ok in passed.items() if not ok)
    if failed:
        raise RuntimeError(f"verification failed for {', '.join(failed)}; see "
                           f"{out / 'explore_verification.csv'}")
    seconds["verify"] = time.perf_counter() - t

    log(f"[4/4] synthesis and energy on the recorded operands, one matched clock ({lib.name})")
    t = time.perf_counter()
    hw = sweep(formats, kinds="block", lane_archs=plan.lane_archs, libraries=(plan.library,),
               stream=[str(record)], clock_ns="auto", cycles=plan.energy_cycles,
               streams=plan.energy_streams, delay_model=plan.delay_model, seed=seed, jobs=n_workers,
               scheduler=None if scheduler == "sync" else scheduler)
    hw.to_csv(out / "explore_hardware.csv", index=False)
    seconds["hardware"] = time.perf_counter() - t

    table = explore_table(hw, qsnr, passed)
    table.to_csv(out / "explore.csv", index=False)
    plot_explore(table, out / "explore.png",
                 f"{len(formats)} formats on {plan.workload}'s recorded operands, {lib.name}, "
                 f"clock {table['clock_ns'].iloc[0]:.2f} ns")
    seconds["total"] = time.perf_counter() - t0
    (out / "explore.json").write_text(json.dumps({
        "plan": asdict(plan), "formats": formats, "seed": seed, "library": str(lib),
        "stage_seconds": {k: round(v, 1) for k, v in seconds.items()},
        "git_commit": git_commit(), "versions": tool_versions()}, indent=1, default=str))
    log(f"wrote {out / 'explore.csv'} and explore.png ({seconds['total']:.0f} s)")
    return table


def summary(table: pd.DataFrame) -> str:
    """The front in a few lines: the Pareto formats by energy, and where the study's sit."""
    front = table[table["pareto"]].sort_values("energy_per_mac_pj")
    lines = [f"{len(table)} formats; Pareto front (QSNR vs energy per MAC), cheapest first:"]
    lines += [f"  {r.format:<22} {r.qsnr_db:6.2f} dB  {r.energy_per_mac_pj:7.4f} pJ/MAC  "
              f"{r.area_per_lane_um2:8.1f} um2/lane  ({r.lane_arch})" for r in front.itertuples()]
    study = table[table["study"] != ""]
    if len(study):
        lines.append("the study's formats: " + ", ".join(
            f"{r.format} {'on' if r.pareto else 'off'} the front" for r in study.itertuples()))
    return "\n".join(lines)


def _split(text: str | None) -> tuple:
    return tuple(x.strip() for x in (text or "").split(",") if x.strip())


@click.command()
@click.option("--formats", "-f", default=None,
              help="Comma-separated formats (presets or the grammar, e.g. mx:e2m2/b16/ue8m0); "
                   "default: every element of --bits, --blocks, --scales, --kinds.")
@click.option("--bits", default="4-8", show_default=True, help="Element widths, LO-HI (3..8).")
@click.option("--blocks", default="16,32", show_default=True, help="Block sizes (8..256).")
@click.option("--scales", default="ue8m0,e4m3", show_default=True)
@click.option("--kinds", default="fp,int", show_default=True)
@click.option("--workload", "-w", default=None,
              help="The workload whose recorded operands drive QSNR and energy (default: tiny_lm; "
                   "--quick: a small hla).")
@click.option("--lane-arch", "lane_arch", default=None,
              help="Comma-separated lane architectures synthesized (default: twos, signmag_tree, "
                   "standard); per format the cheapest in energy at the clock is kept.")
@click.option("--library", "-l", default=None, help="Liberty alias or path (default: bundled).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="out", show_default=True)
@click.option("--quick", is_flag=True, help="Smoke-sized: three formats of block 8, small runs.")
@click.option("--scheduler", default=None, help="Dask scheduler address (tcp://HOST:PORT).")
@click.option("--workers", type=int, default=None, help="LocalCluster worker processes.")
@click.option("--seed", default=0, show_default=True)
@delay_model_option
def explore(formats, bits, blocks, scales, kinds, workload, lane_arch, library, out_dir, quick,
            scheduler, workers, seed, delay_model):
    """Design-space explorer: QSNR against area and energy per MAC for any formats, at one
    matched clock, every unit verified; writes OUT/explore.csv and OUT/explore.png."""
    from intfp.analysis.yosys import resolve_liberty
    from intfp.cli_synth import check_out_dir
    from intfp.models.workloads.runner import workload_names
    from intfp.sweep import check_scheduler_args

    try:
        lo, _, hi = bits.partition("-")
        bit_range = (int(lo), int(hi or lo))
    except ValueError:
        raise click.BadParameter(f"--bits must be LO-HI (e.g. 4-8), got {bits!r}") from None
    try:
        block_list = tuple(int(b) for b in _split(blocks))
    except ValueError:
        raise click.BadParameter(f"--blocks must be comma-separated integers, got {blocks!r}") from None
    plan = QUICK_EXPLORE if quick else DEFAULT_EXPLORE
    workload = workload or plan.workload
    if workload not in workload_names():
        raise click.BadParameter(f"unknown workload {workload!r}; allowed: "
                                 f"{', '.join(workload_names())}")
    if workload != plan.workload:
        plan = replace(plan, workload=workload, workload_options=())   # options are per workload
    plan = replace(plan, formats=_split(formats) or plan.formats,
                   lane_archs=_split(lane_arch) or plan.lane_archs, library=library,
                   delay_model=delay_model,
                   **({} if quick and not formats else
                      dict(bits=bit_range, blocks=block_list, scales=_split(scales),
                           kinds=_split(kinds))))
    try:
        n = len(plan.format_names())
        plan.units()
        resolve_liberty(library)
        check_scheduler_args(scheduler, workers)
    except (ValueError, FileNotFoundError) as e:
        raise click.BadParameter(str(e)) from None
    check_out_dir(out_dir)
    click.echo(f"exploring {n} formats on {workload}'s operands")
    try:
        table = run_explore(out_dir, plan=plan, seed=seed, scheduler=scheduler, n_workers=workers)
    except (RuntimeError, ValueError, OSError) as e:
        raise click.ClickException(str(e)) from e
    click.echo(summary(table))
