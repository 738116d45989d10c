"""Top-level `intfp` commands that belong to no single subpackage: formats, qsnr, run."""
from __future__ import annotations

import json

import click

from intfp.cli_synth import delay_model_option


@click.command()
@click.argument("names", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable rows.")
def formats(names, as_json):
    """List the preset formats and their parameters, or those of NAMES (presets or the grammar,
    e.g. ``intfp formats mx:e2m2/b16/ue8m0 nv:int5/b32``)."""
    from intfp.models import ALIASES, PRESETS
    from intfp.models.formats import FORMAT_GRAMMAR, block_format

    try:
        chosen = [block_format(n) for n in names] if names else list(PRESETS.values())
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="NAMES") from None
    rows = []
    for bf in chosen:
        e, name = bf.element, bf.name
        rows.append({
            "format": name, "element": e.name, "kind": e.kind, "bits": e.bits, "ebits": e.ebits,
            "mbits": e.mbits, "bias": e.bias, "max": e.max, "emax": e.emax,
            "block_size": bf.block_size, "scale": bf.scale.name,
            "scale_rules": list(bf.scale.rules),
            "aliases": [a for a, t in ALIASES.items() if t == name],
            "description": bf.description,
        })
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    import pandas as pd

    df = pd.DataFrame(rows).drop(columns=["description", "scale_rules"])
    df["aliases"] = df["aliases"].map(lambda a: ",".join(a))
    click.echo(df.to_string(index=False))
    if not names:
        click.echo(f"\nAny other point of the grammar works everywhere a preset does: {FORMAT_GRAMMAR}.")


@click.command()
@click.option("--formats", "fmt_list", default="mxfp8,mxint8,mxfp6,mxint6,mxfp4,mxint4,nvfp4,nvint4",
              show_default=True, help="Comma-separated format names.")
@click.option("--blocks", default=4096, show_default=True, help="Blocks per crest-factor point.")
@click.option("--seed", default=0, show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Also write qsnr.csv and qsnr.png here.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable rows.")
def qsnr(fmt_list, blocks, seed, out_dir, as_json):
    """QSNR theory and measurement over crest factors, with and without Hadamard rotation."""
    from intfp.cli_synth import check_out_dir
    from intfp.qsnr_study import run_qsnr_study

    if blocks < 1:
        raise click.BadParameter(f"{blocks} is not allowed: use a whole number >= 1",
                                 param_hint="--blocks")
    if out_dir:
        check_out_dir(out_dir)
    try:
        df = run_qsnr_study([f.strip() for f in fmt_list.split(",") if f.strip()],
                            n_blocks=blocks, seed=seed, out_dir=out_dir)
    except ValueError as e:
        raise click.ClickException(str(e)) from e
    if as_json:
        click.echo(df.to_json(orient="records", indent=1))
    else:
        click.echo(df.to_string(index=False, float_format=lambda v: f"{v:.2f}"))


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="out", show_default=True)
@click.option("--quick", is_flag=True, help="Smoke-sized run: two formats, 4 lanes, one small workload.")
@click.option("--stages", default="qsnr,workloads,verify,hardware", show_default=True,
              help="Comma-separated subset of the stages to run.")
@click.option("--scheduler", default=None,
              help="Dask scheduler address (tcp://HOST:PORT) for the sweeps; default: a LocalCluster.")
@click.option("--workers", type=int, default=None, help="LocalCluster worker processes (default: cores).")
@click.option("--seed", default=0, show_default=True)
@delay_model_option
def run(out_dir, quick, stages, scheduler, workers, seed, delay_model):
    """The main job on its embedded defaults: verify, synthesize and cost every MAC variant,
    run the workloads and the QSNR study, and write OUT/report.html with CSVs and figures."""
    from intfp.main_job import DEFAULT_PLAN, QUICK_PLAN, run_main_job

    allowed = ("qsnr", "workloads", "verify", "hardware")
    chosen = tuple(s.strip() for s in stages.split(",") if s.strip())
    bad = [s for s in chosen if s not in allowed]
    if bad:
        raise click.BadParameter(f"unknown stage(s) {', '.join(bad)}; allowed: {', '.join(allowed)}",
                                 param_hint="--stages")
    from intfp.cli_synth import check_out_dir
    from intfp.sweep import check_scheduler_args

    check_out_dir(out_dir)
    try:
        check_scheduler_args(scheduler, workers)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--workers/--scheduler") from None
    from dataclasses import replace
    plan = replace(QUICK_PLAN if quick else DEFAULT_PLAN, delay_model=delay_model)
    try:
        run_main_job(out_dir=out_dir, plan=plan, seed=seed,
                     scheduler=scheduler, n_workers=workers, stages=chosen)
    except (RuntimeError, ValueError, OSError) as e:
        raise click.ClickException(str(e)) from e


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="out", show_default=True)
def report(out_dir):
    """Rebuild report.html from the results a run left in OUT (no recomputation)."""
    from intfp.report import build_report

    try:
        click.echo(f"wrote {build_report(out_dir)}")
    except FileNotFoundError as e:
        raise click.ClickException(str(e)) from e


#: Every open library of ../shared/liberty (``--libraries all``), by alias.
ALL_LIBRARIES = ("generic45", "nangate45", "sky130hd", "sg13g2", "asap7", "gf180")


@click.command()
@click.option("--libraries", "-l", default="generic45", show_default=True,
              help="Comma-separated liberty aliases or paths; 'all' = " + ",".join(ALL_LIBRARIES))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="out/verdict",
              show_default=True)
@click.option("--quick", is_flag=True, help="Smoke-sized: every pair with 4 lanes, fewer cycles.")
@click.option("--scheduler", default=None, help="Dask scheduler address (tcp://HOST:PORT).")
@click.option("--workers", type=int, default=None, help="LocalCluster worker processes.")
@click.option("--lane-arch", "lane_arch", default=None,
              help="Comma-separated lane architectures to choose from (default: the main job's: "
                   "twos, booth, signmag_tree, standard; signmag in-lane is dominated, see "
                   "docs/lane-architectures.md)")
@click.option("--seed", default=0, show_default=True)
@delay_model_option
def verdict(libraries, out_dir, quick, scheduler, workers, lane_arch, seed, delay_model):
    """INT vs FP at each side's best lane architecture and one matched clock, per library and
    operand stream, beside the study's Table 5 (writes OUT/verdict.csv and verdict.png)."""
    from intfp.cli_synth import check_out_dir
    from intfp.analysis.yosys import resolve_liberty
    from intfp.main_job import DEFAULT_PLAN, QUICK_PLAN, run_verdict
    from intfp.sweep import check_scheduler_args

    libs = list(ALL_LIBRARIES) if libraries.strip() == "all" else \
        [x.strip() for x in libraries.split(",") if x.strip()]
    try:
        for lib in libs:
            resolve_liberty(lib)
        check_scheduler_args(scheduler, workers)
    except (ValueError, FileNotFoundError) as e:
        raise click.BadParameter(str(e)) from None
    check_out_dir(out_dir)
    from dataclasses import replace
    plan = replace(QUICK_PLAN if quick else DEFAULT_PLAN, delay_model=delay_model)
    if lane_arch:
        plan = replace(plan, lane_archs=tuple(a.strip() for a in lane_arch.split(",") if a.strip()))
    try:
        v = run_verdict(out_dir, libraries=libs, plan=plan,
                        seed=seed, scheduler=scheduler, n_workers=workers)
    except (RuntimeError, ValueError, OSError) as e:
        raise click.ClickException(str(e)) from e
    from intfp.analysis.verdict import verdict_summary
    click.echo(verdict_summary(v))
