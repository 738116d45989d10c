"""``intfp synth`` and ``intfp energy``: synthesized area / delay / energy of the units."""
from __future__ import annotations

import json
import math
import sys

import click

from intfp.analysis.netlist import DEFAULT_DELAY_MODEL, DELAY_MODELS
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


# ---------------------------------------------------------------------------------------------
# Terminal output: one summary line per unit, then a sub-block table that fits 80 columns
# ---------------------------------------------------------------------------------------------
#: Columns that tell one synthesized unit from another in a sweep's rows.
_UNIT_COLUMNS = ("format", "kind", "lanes", "window", "lane_arch", "stages", "library", "booth",
                 "stream", "clock_target_ns")
#: Columns that add up over sub-blocks (summed when lanes of one kind are merged).
_ADDITIVE = ("area_um2", "analytic_area_um2", "cells", "sequential_area_um2", "energy_pj",
             "energy_per_mac_pj", "dynamic_pj", "dynamic_per_mac_pj", "functional_pj",
             "glitch_pj", "wire_pj", "switching_pj", "internal_pj", "clock_pj", "leakage_pj",
             "leakage_uw", "analytic_energy_pj", "toggles_per_op")
#: Displayed sub-block columns: (header with unit, source, decimals). The per-lane columns divide
#: every row, shared blocks included, by the lanes (the study's Table 6 convention), so they add
#: up to the unit's cost per lane / per MAC.
#: Decimals: a number, or (significant digits of the column's largest value, fewest, most), so
#: a column keeps one fixed-point format whether a unit is 900 or 377,000 um2.
_SUB_COLUMNS = (("area um2", "area_um2", (6, 0, 1)), ("area %", "_area_share", 1),
                ("um2/lane", "_area_lane", (5, 0, 1)), ("pJ/op", "energy_pj", (5, 1, 3)),
                ("energy %", "_energy_share", 1), ("pJ/MAC", "_energy_mac", (4, 2, 4)))


def _decimals(values, spec) -> int:
    """Decimals of a column (see :data:`_SUB_COLUMNS`)."""
    import numpy as np
    if isinstance(spec, int):
        return spec
    sig, lo, hi = spec
    v = np.abs(np.asarray(values, dtype=float))
    big = np.nanmax(v) if np.isfinite(v).any() else 0.0
    if not big > 0:
        return hi
    return int(np.clip(sig - 1 - np.floor(np.log10(big)), lo, hi))
_FORMATS = ("table", "md", "csv", "json")


def natural_key(name: str) -> tuple:
    """Sort key that orders embedded numbers by value: ``multiplier_2`` before ``multiplier_10``."""
    import re
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(name)))


def _block_order(names):
    """``total`` first, named sub-blocks in natural order, the top-level glue ``(top)`` last."""
    return sorted(names, key=lambda n: (0 if n == "total" else 2 if n == "(top)" else 1,
                                        natural_key(n)))


def merge_lanes(df):
    """Rows of one sub-block kind per unit merged into one: ``multiplier_0`` ... ``multiplier_31``
    become ``multiplier x32`` with summed :data:`_ADDITIVE` columns (other columns from the first
    instance); ``n`` counts the instances. ``total`` and unnumbered blocks keep their row (n = 1)."""
    import pandas as pd
    ident = [c for c in _UNIT_COLUMNS if c in df]
    kind = df["sub_block"].str.replace(r"_\d+$", "", regex=True)
    key = kind if not ident else df[ident].map(str).agg("|".join, axis=1) + "|" + kind
    gid = pd.Series(pd.factorize(key)[0], index=df.index)
    g = df.groupby(gid, sort=False)
    head = g.head(1).index                      # the first row of each group, in sweep order
    out = df.loc[head].set_axis(gid[head].to_numpy())
    add = [c for c in _ADDITIVE if c in df]
    out[add] = g[add].sum(min_count=1)
    out["n"] = g.size()
    numbered = (kind != df["sub_block"]).groupby(gid).any()
    k = kind.groupby(gid).first()
    out["sub_block"] = k.where(~numbered, k + " x" + out["n"].astype(str))
    return out.reset_index(drop=True)


def _units(df):
    """``[(label, rows)]`` per unit, in sweep order; the label names the format and whatever
    else differs between the units of this sweep."""
    ident = [c for c in _UNIT_COLUMNS if c in df]
    key = df[ident].map(str).agg("|".join, axis=1)
    varying = [c for c in ident if c != "format" and df[c].map(str).nunique() > 1]
    out = []
    for k in dict.fromkeys(key):
        g = df[key == k]
        r = g.iloc[0]
        label = " ".join([str(r["format"])] + [_describe(c, r[c]) for c in varying])
        out.append((label, g))
    return out


def _describe(col, v) -> str:
    if col == "lanes":
        return f"{v} lane{'s' if v != 1 else ''}"
    if col == "stages":
        return f"{v} stage{'s' if v != 1 else ''}"
    if col == "window":
        return "default window" if v is None or v != v else f"window {int(v)}"
    if col == "booth":
        return "booth" if v else "array"
    if col == "stream":
        return f"stream {_stream_name(v)}"
    return str(v)


def _stream_name(v) -> str:
    from pathlib import Path
    return Path(str(v)).name if "/" in str(v) else str(v)


def _num(v, digits: int) -> str:
    """Fixed-point text; NaN / None as ``-``."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if f != f:
        return "-"
    return f"{f:,.{digits}f}" if digits else f"{f:,.0f}"


def unit_summary(rows) -> str:
    """One line: ``mxint8: 16,008.1 um2 = 500.3 um2/lane, 27.100 pJ/op = 0.8469 pJ/MAC, 13.75 ns``
    (each number with the decimals its table column would give it)."""
    t = rows[rows["sub_block"] == "total"].iloc[0]
    lanes = t.get("lanes") or 1
    def n(v, spec):
        return _num(v, _decimals([v], spec))
    spec = {src: d for _, src, d in _SUB_COLUMNS}
    parts = [f"{n(t['area_um2'], spec['area_um2'])} um2 = "
             f"{n(t['area_um2'] / lanes, spec['_area_lane'])} um2/lane"]
    if "energy_pj" in t and t["energy_pj"] == t["energy_pj"]:
        parts.append(f"{n(t['energy_pj'], spec['energy_pj'])} pJ/op = "
                     f"{n(t['energy_per_mac_pj'], spec['_energy_mac'])} pJ/MAC")
    if "delay_ns" in t:
        parts.append(f"{_num(t['delay_ns'], 2)} ns")
    if "meets_clock" in t and t["meets_clock"] is False:
        parts.append(f"MISSES the {_num(t['clock_ns'], 2)} ns clock")
    return ", ".join(parts)


def unit_context(rows) -> str:
    """The second line of a unit: what it is (kind, lanes and their architecture, stages,
    library, stream) and its cell count."""
    t = rows[rows["sub_block"] == "total"].iloc[0]
    lanes = f"{t['lanes']} lane{'s' if t['lanes'] != 1 else ''}" if "lanes" in t else ""
    if lanes and t.get("lane_arch"):
        lanes += f" ({t['lane_arch']})"
    bits = [str(t.get("kind", "")), lanes]
    if "stages" in t and t["stages"] != 1:
        bits.append(f"{t['stages']} stages")
    if "library" in t:
        bits.append(str(t["library"]))
    if "stream" in t and t["stream"] is not None and t["stream"] == t["stream"]:
        bits.append(f"stream {_stream_name(t['stream'])}")
    if "cells" in t:
        bits.append(f"{_num(t['cells'], 0)} cells")
    return ", ".join(b for b in bits if b)


def subblock_table(rows, per_lane: bool = False):
    """The displayed sub-block table of one unit: ``(headers, [[cell text], ...])``.
    ``per_lane=False`` merges lanes of one kind (:func:`merge_lanes`)."""
    rows = rows if per_lane else merge_lanes(rows)
    order = {n: i for i, n in enumerate(_block_order(rows["sub_block"].unique()))}
    rows = rows.assign(_o=rows["sub_block"].map(order)).sort_values("_o", kind="stable")
    tot = rows[rows["sub_block"] == "total"].iloc[0]
    lanes = tot.get("lanes") or 1
    rows = rows.assign(_area_share=100 * rows["area_um2"] / tot["area_um2"],
                       _area_lane=rows["area_um2"] / lanes)
    has_energy = "energy_pj" in rows and rows["energy_pj"].notna().any()
    if has_energy:
        rows = rows.assign(_energy_share=100 * rows["energy_pj"] / tot["energy_pj"],
                           _energy_mac=rows["energy_pj"] / lanes)
    cols = [c for c in _SUB_COLUMNS if c[1] in rows]
    if not has_energy:                           # room for the cell count
        cols.append(("cells", "cells", 0))
    headers = ["sub-block"] + [h for h, _, _ in cols]
    digits = [_decimals(rows[src], spec) for _, src, spec in cols]
    body = [[str(r["sub_block"])] + [_num(r[src], d) for (_, src, _), d in zip(cols, digits)]
            for _, r in rows.iterrows()]
    return headers, body


def table5_view(t5):
    """The Table 5 comparison, fixed-point, for the terminal: ``(headers, body)``."""
    cols = [("format", "format", None), ("library", "library", None), ("um2/lane", "area_per_lane_um2", 1),
            ("pJ/MAC", "dynamic_per_mac_pj", 4), ("area x", "area_x", 2), ("energy x", "energy_x", 2),
            ("study area x", "study_area_x", 2), ("study energy x", "study_energy_x", 2)]
    if t5["library"].nunique() <= 1:
        cols = [c for c in cols if c[1] != "library"]
    cols = [c for c in cols if c[1] in t5]
    body = [[str(r[src]) if d is None else _num(r[src], d) for _, src, d in cols]
            for _, r in t5.iterrows()]
    return [h for h, _, _ in cols], body


def _markdown(headers, body) -> str:
    """Plain Markdown with padded columns (readable as text too); first column left-aligned."""
    w = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headers)]
    def line(cells):
        return "| " + " | ".join(c.ljust(w[i]) if i == 0 else c.rjust(w[i])
                                 for i, c in enumerate(cells)) + " |"
    rule = "|" + "|".join(("-" * (w[i] + 1) + ":") if i else ":" + "-" * (w[i] + 1)
                          for i in range(len(w))) + "|"
    return "\n".join([line(headers), rule] + [line(r) for r in body])


def _rich_table(headers, body, title=None):
    from rich import box
    from rich.table import Table
    t = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left", pad_edge=False,
              show_edge=False, padding=(0, 1))
    for i, h in enumerate(headers):
        t.add_column(h, justify="left" if i == 0 else "right", no_wrap=True)
    for r in body:
        t.add_row(*r)
    return t


def _pick_format(fmt, as_json) -> str:
    if as_json:
        if fmt not in (None, "json"):
            raise click.BadParameter(f"--json is --format json; it contradicts --format {fmt}",
                                     param_hint="--json")
        return "json"
    if fmt is not None:
        return fmt
    return "table" if sys.stdout.isatty() else "md"


def emit(df, fmt: str, per_lane: bool = False, t5=None, headline: str | None = None) -> None:
    """Print a sweep's rows in ``fmt``: ``table`` (rich, aligned), ``md`` (plain Markdown),
    ``csv`` / ``json`` (every row and column at full precision, one row per instance, as
    ``--json`` always printed). ``headline`` replaces a single unit's summary line."""
    if fmt == "json":
        click.echo(json.dumps(_clean(df.to_dict(orient="records")), indent=1))
        return
    if fmt == "csv":
        click.echo(df.to_csv(index=False), nl=False)
        return
    units = _units(df)
    lines = []
    if len(units) > 1:
        lines.append(_sweep_summary(units))
    blocks = []
    for label, rows in units:
        head = [headline if headline and len(units) == 1 else f"{label}: {unit_summary(rows)}",
                unit_context(rows)]
        blocks.append((head, subblock_table(rows, per_lane=per_lane)))
    t5v = (table5_view(t5) if t5 is not None and "area_x" in t5 and t5["area_x"].notna().any()
           else None)
    if fmt == "md":
        out = list(lines)
        for head, (h, b) in blocks:
            out += [head[0], "", head[1], "", _markdown(h, b), ""]
        if t5v:
            out += ["Normalized to MXFP8 (mixed units: MXFP8+NVFP4), dynamic energy, beside the "
                    "study's Table 5:", "", _markdown(*t5v), ""]
        click.echo("\n".join(out).rstrip("\n"))
        return
    from rich.console import Console
    con = Console(highlight=False, soft_wrap=False, emoji=False, markup=False)
    for ln in lines:
        con.print(ln)
    for head, (h, b) in blocks:
        con.print(head[0])
        con.print(head[1], style="dim")
        con.print(_rich_table(h, b))
    if t5v:
        con.print("Normalized to MXFP8 (mixed: MXFP8+NVFP4), dynamic energy, vs the study's Table 5:")
        con.print(_rich_table(*t5v))


def _sweep_summary(units) -> str:
    """One line for a sweep of several units: how many, and the cheapest in area and energy."""
    tots = [(label, rows[rows["sub_block"] == "total"].iloc[0]) for label, rows in units]
    per_lane = [(t["area_um2"] / (t.get("lanes") or 1), label) for label, t in tots]
    a = min(per_lane, key=lambda x: x[0])            # ties: the first in sweep order
    text = f"{len(units)} units; smallest: {a[1]} ({_num(a[0], 1)} um2/lane)"
    e = [(t["energy_per_mac_pj"], label) for label, t in tots
         if "energy_per_mac_pj" in t and t["energy_per_mac_pj"] == t["energy_per_mac_pj"]]
    if e:
        m = min(e, key=lambda x: x[0])
        text += f"; lowest energy: {m[1]} ({_num(m[0], 4)} pJ/MAC)"
    return text


def _no_cache_option(ctx, param, value):
    """``--no-cache``: besides ``use_cache=False`` (results), turn every cache off for the
    command (``INTFP_CACHE_DIR=off``: the liberty parse cache too, and the Dask workers it
    starts inherit it), so the command writes nothing to any cache folder. The variable is
    restored when the command ends (tests invoke commands in-process)."""
    import os
    if value:
        old = os.environ.get("INTFP_CACHE_DIR")
        os.environ["INTFP_CACHE_DIR"] = "off"

        def restore():
            if old is None:
                os.environ.pop("INTFP_CACHE_DIR", None)
            else:
                os.environ["INTFP_CACHE_DIR"] = old
        ctx.call_on_close(restore)
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


def delay_model_option(f):
    """``--delay-model``, the same on every command that estimates energy."""
    return click.option(
        "--delay-model", type=click.Choice(DELAY_MODELS), default=DEFAULT_DELAY_MODEL,
        show_default=True,
        help="Netlist simulation for energy: liberty: per-arc library delays, every transition "
             "counted (glitches in glitch_pj), as time-based sign-off power analysis counts "
             "them; unit: one time step per cell; zero: settled values only (no glitches, "
             "faster, lower energy)")(f)


def _output_options(f):
    """The options ``intfp synth`` and ``intfp energy`` share: timing model, caching, output."""
    options = [
        delay_model_option,
        click.option("--wire-load/--no-wire-load", default=True, show_default=True,
                     help="Add the library's wire-load capacitance per net (wire_pj, and in the "
                          "critical path) where the library defines a wire-load model"),
        click.option("--no-cache", is_flag=True, callback=_no_cache_option,
                     help="Neither read nor write any cache (results, liberty parses): nothing is written"),
        click.option("--format", "out_fmt", type=click.Choice(_FORMATS), default=None,
                     help="table: aligned terminal table; md: Markdown; csv / json: every row and column "
                          "at full precision. Default: table on a terminal, md otherwise"),
        click.option("--per-lane", is_flag=True,
                     help="One row per lane instance (multiplier_0 ...) instead of one per kind (multiplier x32)"),
        click.option("--json", "as_json", is_flag=True, help="Same as --format json"),
    ]
    for opt in reversed(options):
        f = opt(f)
    return f


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
@click.option("--verify/--no-verify", "verify", default=None,
              help="Verify each unit in cocotb against models/ first (lanes exhaustive, 1000 "
                   "blocks with corners; cached) and report it in a 'verified' column. Default: "
                   "the formats no preset names (the grammar's, e.g. mx:e2m2/b16/ue8m0); presets "
                   "are verified by the main job and the test suite")
@_output_options
def synth(formats, kind, lanes, liberty, stream, no_energy, cycles, streams, clock_ns, lane_arch,
          stages, booth, jobs, scheduler, windows, out_dir, verify, delay_model, wire_load, no_cache,
          out_fmt, per_lane, as_json):
    """Synthesize units with Yosys and report area, cells, delay, energy and leakage per
    sub-block (``total`` = the whole unit), beside the study's Table 5 ratios."""
    from intfp.analysis.flow import sweep
    from intfp.analysis.reports import table5, write_reports
    fmts = [f.strip() for f in formats.split(",") if f.strip()]
    fmt = _pick_format(out_fmt, as_json)
    as_json = fmt == "json"
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
        df = _verified(df, fmts, kind, lanes, wins, depth, lane_arch, verify, jobs, scheduler,
                       progress=not as_json and sys.stderr.isatty())
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        _fail(e)
    if out_dir:
        paths = write_reports(df, out_dir)
        click.echo(f"wrote {', '.join(str(p) for p in paths.values())}", err=True)
    emit(df, fmt, per_lane=per_lane, t5=None if fmt in ("json", "csv") else table5(df))


def _verified(df, fmts, kind, lanes, wins, depth, lane_arch, verify, jobs, scheduler, progress):
    """``df`` with a ``verified`` column: True for units whose cocotb checks
    (:func:`intfp.main_job.verify_sweep`, cached) all passed here, None where none ran; a
    failed check is an error, never a row. ``verify`` None: the units of non-preset formats."""
    from intfp.analysis.flow import sweep_points
    from intfp.models.formats import ALIASES, ELEMENT_FORMATS, PRESETS

    df = df.assign(verified=None)
    if verify is False:
        return df
    units = [u for u in sweep_points(fmts, kind, (lanes,), wins, depth,
                                     tuple(a.strip() for a in lane_arch.split(",") if a.strip())
                                     if lane_arch else (None,))
             if not isinstance(u, str)]                       # built-in calibration designs: no model
    if verify is None:
        named = {*PRESETS, *ALIASES, *ELEMENT_FORMATS}
        units = [u for u in units if u.kind != "mixed" and u.name not in named]
    if not units:
        return df
    from intfp.main_job import verify_sweep

    if progress:
        click.echo(f"verifying {len(units)} unit(s) in cocotb against models/", err=True)
    ver = verify_sweep(units, 1000, 0, max(1, -(-len(units) // 6)),
                       scheduler or ("sync" if jobs == 1 else None), jobs)
    bad = ver[~ver["passed"]]
    if len(bad):
        raise RuntimeError("verification failed: " + "; ".join(
            f"{r.unit} {r.check} ({r.mismatched_rows} rows)" for r in bad.itertuples()))
    done = {(u.name, u.kind, u.lanes, u.window, u.lane_arch, u.stages) for u in units}
    key = zip(df["format"], df["kind"], df["lanes"], df["window"], df["lane_arch"], df["stages"])
    df["verified"] = [True if (f, k, n, None if w != w else w, a, st) in done else None
                      for f, k, n, w, a, st in key]
    return df


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
@_output_options
def energy(fmt, stream, kind, lanes, liberty, cycles, streams, clock_ns, delay_model, wire_load,
           no_cache, out_fmt, per_lane, as_json):
    """Energy per block op and per MAC of one unit on one operand stream (activity-based:
    bit-parallel gate-level simulation of the mapped netlist x Liberty energies)."""
    from intfp.analysis.flow import unit_cost
    out_fmt = _pick_format(out_fmt, as_json)
    try:
        rows = unit_cost(fmt, kind=kind, lanes=lanes, liberty=liberty, stream=stream,
                         cycles=cycles, streams=streams, clock_ns=clock_ns,
                         delay_model=delay_model, wire_load="auto" if wire_load else None,
                         use_cache=not no_cache)
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        _fail(e)
    if out_fmt == "json":
        click.echo(json.dumps(_clean(rows), indent=1))
        return
    import pandas as pd
    t = rows[0]
    nan = float("nan")
    emit(pd.DataFrame(rows), out_fmt, per_lane=per_lane,
         headline=f"{t['format']}: {_num(t.get('energy_pj', nan), 3)} pJ per block op, "
                  f"{_num(t.get('energy_per_mac_pj', nan), 4)} pJ per MAC at "
                  f"{_num(t.get('clock_ns', nan), 2)} ns")
