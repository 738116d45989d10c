"""``intfp synth`` and ``intfp energy``: synthesized area / delay / energy of the units."""
from __future__ import annotations

import json
import math
import sys

import click

from intfp.analysis.operands import STREAM_KINDS

_LIB_HELP = ("Liberty file (.lib / .lib.gz) or alias (generic45 = the bundled default, nangate45, "
             "sky130hd, sg13g2, asap7, gf180 from $INTFP_LIBERTY_DIR, default ../shared/liberty); "
             "repeat or comma-separate for several")


def _libs(values) -> list:
    out = []
    for v in values or ():
        out += [x for x in v.split(",") if x]
    return out or [None]


def _clean(rows):
    """JSON-safe rows: NaN -> null."""
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
            for r in rows]


def _fail(e: Exception):
    raise click.ClickException(str(e)) from e


def _ints(option: str, text: str) -> tuple[int, ...]:
    try:
        return tuple(int(w) for w in text.split(",") if w.strip())
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of whole numbers",
                                 param_hint=option) from None


def _clock(text):
    if text is None or text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < 1e6:
        raise click.BadParameter(f"{text!r} is not allowed: a period in ns > 0, or 'auto'",
                                 param_hint="--clock-ns")
    return value


def check_out_dir(out_dir) -> None:
    """Fail now, with a clear message, if reports cannot be written to ``out_dir``."""
    import os
    from pathlib import Path
    p = Path(out_dir)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise click.BadParameter(f"{str(out_dir)!r} exists and is not a directory",
                                 param_hint="--out") from None
    except OSError as e:
        raise click.BadParameter(f"cannot create {str(out_dir)!r}: {e.strerror}",
                                 param_hint="--out") from None
    if not os.access(p, os.W_OK):
        raise click.BadParameter(f"{str(out_dir)!r} is not writable", param_hint="--out")


@click.command()
@click.option("--formats", "-f", required=True,
              help="Comma-separated unit formats, e.g. mxfp8_e4m3,mxint8,nvfp4,nvint4 "
                   "(mixed kind: mxfp8+nvfp4; built-in calibration designs: mac8, tinydot)")
@click.option("--kind", type=click.Choice(["block", "scalar", "mixed"]), default=None,
              help="Unit kind (default: from the name: mxfp8+nvfp4 mixed, e4m3 scalar, else block)")
@click.option("--lanes", type=int, default=None, help="Lanes per unit (default: 32 MX, 16 NV)")
@click.option("--liberty", "-l", multiple=True, help=_LIB_HELP)
@click.option("--stream", default="gaussian", show_default=True,
              help=f"Operand stream for energy: {'|'.join(STREAM_KINDS)} or a workload .npz")
@click.option("--no-energy", is_flag=True, help="Area and delay only (skip the simulation)")
@click.option("--cycles", type=int, default=33, show_default=True)
@click.option("--streams", type=int, default=512, show_default=True,
              help="Independent operand streams simulated in parallel (bit-parallel lanes)")
@click.option("--clock-ns", default=None,
              help="Clock period in ns every unit is mapped for (abc -D) and costed at; units that "
                   "miss it are flagged. 'auto': one matched clock per library, the slowest "
                   "unit's critical path. Default: each unit at its own critical path")
@click.option("--lane-arch", "lane_arch", default=None,
              help="Comma-separated lane architectures of the block units (INT: twos, booth, "
                   "baugh_wooley, signmag, signmag_tree; FP: standard); each unit takes those of "
                   "its element kind. Default: twos / standard")
@click.option("--stages", default="1", show_default=True,
              help="Comma-separated pipeline depths of the block units (1 = single cycle; up to 4: "
                   "registers after the tree, the lanes, the normalizer)")
@click.option("--booth", is_flag=True,
              help="Radix-4 Booth multipliers (Yosys `synth -booth`) instead of Yosys' array")
@click.option("--jobs", "-j", type=int, default=None,
              help="Dask LocalCluster worker processes (default: cores; 1 = in this process)")
@click.option("--scheduler", default=None, help="Run the sweep on an existing Dask cluster (tcp://HOST:PORT)")
@click.option("--windows", default=None,
              help="Comma-separated alignment-window widths to sweep for FP block units (default: the study's)")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Write CSV / Markdown / HTML reports and figures to this directory")
@click.option("--delay-model", type=click.Choice(["zero", "unit", "liberty"]), default="zero",
              show_default=True,
              help="Netlist simulation for energy: zero-delay (functional transitions), or timed "
                   "with unit / liberty cell delays (glitches counted; liberty is ~70x slower)")
@click.option("--wire-load/--no-wire-load", default=False, show_default=True,
              help="Add the library's wire-load capacitance per net (wire_pj)")
@click.option("--no-cache", is_flag=True, help="Ignore and do not write .cache/intfp")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON")
def synth(formats, kind, lanes, liberty, stream, no_energy, cycles, streams, clock_ns, lane_arch,
          stages, booth, jobs, scheduler, windows, out_dir, delay_model, wire_load, no_cache,
          as_json):
    """Synthesize units with Yosys and report area, cells, delay, energy and leakage per
    sub-block (``total`` = the whole unit), beside the study's Table 5 ratios."""
    from intfp.analysis.flow import sweep
    from intfp.analysis.reports import markdown_table, table5, write_reports
    fmts = [f.strip() for f in formats.split(",") if f.strip()]
    if out_dir:
        check_out_dir(out_dir)                 # before the sweep, not after it
    try:
        wins = _ints("--windows", windows) if windows else (None,)
        depth = _ints("--stages", stages)
        df = sweep(fmts, kinds=kind, lanes=(lanes,), libraries=_libs(liberty), windows=wins,
                   stages=depth, jobs=jobs, scheduler=scheduler,
                   lane_archs=tuple(a.strip() for a in lane_arch.split(",") if a.strip())
                   if lane_arch else (None,),
                   progress=not as_json and sys.stderr.isatty(),
                   stream=None if no_energy else stream, cycles=cycles, streams=streams,
                   clock_ns=_clock(clock_ns), booth=booth, use_cache=not no_cache,
                   delay_model=delay_model, wire_load="auto" if wire_load else None)
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        _fail(e)
    if out_dir:
        paths = write_reports(df, out_dir)
        click.echo(f"wrote {', '.join(str(p) for p in paths.values())}", err=True)
    if as_json:
        click.echo(json.dumps(_clean(df.to_dict(orient="records")), indent=1))
        return
    cols = [c for c in ("format", "lanes", "lane_arch", "stages", "library", "sub_block", "area_um2",
                        "analytic_area_um2", "cells", "delay_ns", "clock_ns", "meets_clock", "energy_pj",
                        "analytic_energy_pj", "dynamic_per_mac_pj", "leakage_uw",
                        "toggles_per_op") if c in df]
    click.echo(markdown_table(df[cols]))
    t5 = table5(df)
    if "area_x" in t5:
        click.echo(markdown_table(t5))


@click.command()
@click.option("--unit", "-u", "fmt", required=True, help="Unit format, e.g. mxint8")
@click.option("--stream", "-s", default="gaussian", show_default=True,
              help=f"{'|'.join(STREAM_KINDS)} or a workload .npz (intfp workload output)")
@click.option("--kind", type=click.Choice(["block", "scalar", "mixed"]), default=None,
              help="Unit kind (default: from the name: mxfp8+nvfp4 mixed, e4m3 scalar, else block)")
@click.option("--lanes", type=int, default=None)
@click.option("--liberty", "-l", default=None, help=_LIB_HELP.split("; repeat")[0])
@click.option("--cycles", type=int, default=33, show_default=True)
@click.option("--streams", type=int, default=512, show_default=True)
@click.option("--clock-ns", type=float, default=None)
@click.option("--delay-model", type=click.Choice(["zero", "unit", "liberty"]), default="zero",
              show_default=True,
              help="Netlist simulation for energy: zero-delay (functional transitions), or timed "
                   "with unit / liberty cell delays (glitches counted; liberty is ~70x slower)")
@click.option("--wire-load/--no-wire-load", default=False, show_default=True,
              help="Add the library's wire-load capacitance per net (wire_pj)")
@click.option("--no-cache", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
def energy(fmt, stream, kind, lanes, liberty, cycles, streams, clock_ns, delay_model, wire_load,
           no_cache, as_json):
    """Energy per block op and per MAC of one unit on one operand stream (activity-based:
    bit-parallel gate-level simulation of the mapped netlist x Liberty energies)."""
    from intfp.analysis.flow import unit_cost
    from intfp.analysis.reports import markdown_table
    try:
        rows = unit_cost(fmt, kind=kind, lanes=lanes, liberty=liberty, stream=stream,
                         cycles=cycles, streams=streams, clock_ns=clock_ns,
                         delay_model=delay_model, wire_load="auto" if wire_load else None,
                         use_cache=not no_cache)
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        _fail(e)
    if as_json:
        click.echo(json.dumps(_clean(rows), indent=1))
        return
    import pandas as pd
    df = pd.DataFrame(rows)
    cols = [c for c in ("sub_block", "area_um2", "cells", "energy_pj", "dynamic_pj",
                        "functional_pj", "glitch_pj", "wire_pj",
                        "energy_per_mac_pj", "leakage_uw", "toggles_per_op") if c in df]
    t = rows[0]
    click.echo(f"{t['format']} ({t['lanes']} lanes, {t['library']}, stream {t['stream']}): "
               f"{t.get('energy_pj', float('nan')):.4g} pJ per block op, "
               f"{t.get('energy_per_mac_pj', float('nan')):.4g} pJ per MAC at "
               f"{t.get('clock_ns', float('nan')):.4g} ns")
    click.echo(markdown_table(df[cols]))
