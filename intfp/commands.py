"""Top-level `intfp` commands that belong to no single subpackage: formats, qsnr, run."""
from __future__ import annotations

import json

import click


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable rows.")
def formats(as_json):
    """List the formats and their parameters."""
    from intfp.models import ALIASES, PRESETS

    rows = []
    for name, bf in PRESETS.items():
        e = bf.element
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
    from intfp.qsnr_study import run_qsnr_study

    df = run_qsnr_study([f.strip() for f in fmt_list.split(",") if f.strip()],
                        n_blocks=blocks, seed=seed, out_dir=out_dir)
    if as_json:
        click.echo(df.to_json(orient="records", indent=1))
    else:
        click.echo(df.to_string(index=False, float_format=lambda v: f"{v:.2f}"))


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="out", show_default=True)
@click.option("--blocks", default=4096, show_default=True, help="Blocks per crest-factor point.")
@click.option("--seed", default=0, show_default=True)
def run(out_dir, blocks, seed):
    """The main job on its embedded defaults: writes out/ with tables and figures."""
    from intfp.main_job import run_main_job

    run_main_job(out_dir=out_dir, n_blocks=blocks, seed=seed)


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="out", show_default=True)
def report(out_dir):
    """Rebuild report.html from the results a run left in OUT (no recomputation)."""
    from intfp.report import build_report

    try:
        click.echo(f"wrote {build_report(out_dir)}")
    except FileNotFoundError as e:
        raise click.ClickException(str(e)) from e
