"""The per-format cost flow: RTL unit -> Yosys mapping -> area, delay, activity energy -> rows.

:func:`unit_cost` runs one (format, kind, lanes, library, stream) point and returns report rows
(one per sub-block plus ``total``), cached by content hash of everything that determines them
(RTLIL text, parameters, library file hash, Yosys version, stream and simulation settings) in
``.cache/intfp/``; the key (:func:`intfp.cache.result_key`) includes the source of every module
this one can import, so any change to the flow, the models or the RTL recomputes.
:func:`sweep` runs many points as Dask tasks with a progress bar and returns a
:class:`pandas.DataFrame`; :func:`at_common_clock` restates rows at one matched clock.

Units are elaborated by :func:`intfp.analysis.design.design_for` (from their
:class:`~intfp.models.spec.UnitSpec`) and driven by :mod:`intfp.analysis.operands`.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from intfp.cache import cache_dir, cache_get, cache_put, result_key
from intfp.models.spec import LANE_ARCHS, UnitSpec, resolve_unit

from .design import BUILTIN_DESIGNS, Design, design_for
from .liberty import read_liberty
from .netlist import DEFAULT_DELAY_MODEL, DEFAULT_TIME_STEP_NS
from .operands import STREAM_KINDS, load_stream, unit_inputs
from .yosys import resolve_liberty, synthesize, yosys_version

__all__ = ["unit_cost", "unit_cost_key", "sweep", "sweep_points", "at_common_clock"]


# ---------------------------------------------------------------------------------------------
# One point
# ---------------------------------------------------------------------------------------------
def _stream_id(stream) -> str | None:
    if stream is None:
        return None
    if isinstance(stream, str):
        if stream in STREAM_KINDS:
            return stream
        p = Path(stream)
        if not p.is_file():
            raise ValueError(f"stream {stream!r} is neither one of {', '.join(STREAM_KINDS)} nor "
                             f"a file")
        return "file:" + hashlib.sha256(p.read_bytes()).hexdigest()
    return "none"


def unit_cost_key(design: Design, library_sha256: str, *, stream, cycles: int, streams: int,
                  seed: int, clock_ns: float | None, booth: bool, analytic: bool,
                  delay_model: str = DEFAULT_DELAY_MODEL, wire_load=None,
                  time_step_ns: float = DEFAULT_TIME_STEP_NS) -> str:
    """Cache key of :func:`unit_cost`: the elaborated design (RTLIL text and top name), the
    library file's hash, the Yosys version, the stream (name or file hash) and the simulation
    settings, and (through :func:`intfp.cache.result_key`) the source of every module this one can
    import. A missing part would let one result answer for another; tests change each part."""
    return result_key("unit_cost", __name__,
                      unit=design.unit.key() if design.unit is not None else design.name,
                      rtlil=hashlib.sha256(design.rtlil.encode()).hexdigest(), top=design.top,
                      library=library_sha256, yosys=yosys_version(),
                      stream=[_stream_id(x) for x in stream] if isinstance(stream, (list, tuple))
                      else _stream_id(stream), cycles=cycles,
                      streams=streams, seed=seed, clock_ns=clock_ns, booth=booth,
                      analytic=analytic, delay_model=delay_model, wire_load=wire_load,
                      time_step_ns=time_step_ns)


def unit_cost(fmt: str | UnitSpec, *, kind: str | None = None, lanes: int | None = None,
              liberty: str | os.PathLike | None = None, stream: str | None = "gaussian",
              cycles: int = 33, streams: int = 512, seed: int = 0, clock_ns: float | None = None,
              booth: bool = False, use_cache: bool = True, analytic: bool = True,
              delay_model: str = DEFAULT_DELAY_MODEL, wire_load: bool | str | None = "auto",
              time_step_ns: float = DEFAULT_TIME_STEP_NS, **params) -> list[dict]:
    """Synthesize one unit and return its report rows (``sub_block`` = ``total`` first).

    ``stream=None`` skips the energy simulation (area / delay only); a list of streams gives one
    set of rows per stream from one synthesis (the ``stream`` column tells them apart). Energy is per block op
    (one cycle of the unit) in ``energy_pj`` and per MAC in ``energy_per_mac_pj``, both with
    leakage at the clock period; ``dynamic_pj`` / ``dynamic_per_mac_pj`` leave leakage out (the
    study counts no leakage). Flops and their clock pins are counted in both.

    ``clock_ns``: the target period. ABC maps for it (``abc -D``), energy is per cycle at it, and
    the rows say whether the mapped unit meets it (``meets_clock``, ``slack_ns``): a unit that
    misses it is reported as such, never silently compared. None: area-oriented mapping, the
    unit running at its own critical path.

    ``delay_model`` (``zero``, ``unit``, ``liberty``) and ``wire_load`` choose how the netlist
    simulator counts transitions (:func:`intfp.analysis.energy.estimate_energy`): zero-delay
    counts functional transitions only; the timed models add glitches; ``wire_load`` adds the
    library's wire-load capacitance per net (``wire_pj``; also in the critical path). Defaults:
    ``"auto"`` (the library's default wire-load model where it has one, none otherwise) and
    ``liberty`` delays (:data:`~intfp.analysis.netlist.DEFAULT_DELAY_MODEL`; glitches counted
    as time-based sign-off power analysis counts them; ~100x the simulation time of ``zero``,
    4.5x the main job's synthesis-and-energy stage; the rows keep the zero-delay answer as
    ``energy_per_mac_pj - glitch_per_mac_pj``). A library without timing tables for a used
    cell is an error under ``liberty``, never a silent zero-delay result.
    """
    from .netlist import check_delay_model
    check_delay_model(delay_model)
    design = design_for(fmt, kind=kind, lanes=lanes, **params)
    lib_path = resolve_liberty(liberty)
    lib = read_liberty(lib_path, use_cache=use_cache)
    key = unit_cost_key(design, lib.sha256, stream=stream, cycles=cycles, streams=streams,
                        seed=seed, clock_ns=clock_ns, booth=booth, analytic=analytic,
                        delay_model=delay_model, wire_load=wire_load, time_step_ns=time_step_ns)
    if use_cache:
        hit = cache_get("unit_cost", key)
        if hit is not None:
            return hit
    if clock_ns is not None and not (isinstance(clock_ns, (int, float)) and 0 < clock_ns < 1e6):
        raise ValueError(f"clock_ns must be a positive period in ns, got {clock_ns!r}")
    res = synthesize(design.rtlil, design.top, lib_path, booth=booth,
                     abc_delay_ps=None if clock_ns is None else 1000.0 * clock_ns)
    from .netlist import Netlist
    nl = Netlist.from_yosys_json(res.netlist, lib, design.top)
    sta = nl.critical_path(wire_load=wire_load)
    timing = dict(delay_model=delay_model, wire_load=wire_load, time_step_ns=time_step_ns)
    an = None
    if analytic and design.kind == "block":
        from .analytic import analytic_cost
        try:
            an = analytic_cost(design.fmt, lanes=design.lanes, liberty=lib_path)
        except ValueError:
            an = None
    rows = []
    for one in (stream if isinstance(stream, (list, tuple)) else [stream]):
        rows += _stream_rows(design, lib, res, nl, sta, an, one, cycles=cycles, streams=streams,
                             seed=seed, clock_ns=clock_ns, booth=booth, timing=timing)
    rows = [{k: (float(v) if isinstance(v, (np.floating,)) else v) for k, v in r.items()}
            for r in rows]
    if use_cache:
        cache_put("unit_cost", key, rows)
    return rows


def _stream_rows(design: Design, lib, res, nl, sta: dict, an: dict | None, stream, *,
                 cycles: int, streams: int, seed: int, clock_ns, booth: bool,
                 timing: dict) -> list[dict]:
    """Report rows of one synthesized unit driven by one operand stream (None: area only)."""
    energy = None
    if stream is not None:
        from .energy import estimate_energy
        tclk = clock_ns if clock_ns else sta["delay_ns"]
        if design.kind == "mixed":
            runs = []
            for mode, macs in enumerate(design.unit.macs_per_cycle):
                ins = unit_inputs(design, stream, cycles=cycles, streams=streams, seed=seed,
                                  mode=mode)
                runs.append((estimate_energy(nl, ins, clock_ns=tclk, **timing), macs))
            energy = _merge_modes(runs)
        else:
            src = stream if stream in STREAM_KINDS else load_stream(stream, design.fmt)
            ins = unit_inputs(design, src, cycles=cycles, streams=streams, seed=seed)
            energy = estimate_energy(nl, ins, ops_per_cycle=1.0, clock_ns=tclk, **timing)
            energy["macs_per_cycle"] = design.unit.macs_per_cycle[0] if design.unit else design.lanes
    base = {"format": design.fmt, "kind": design.kind, "lanes": design.lanes,
            "stages": design.unit.stages if design.unit else 1,
            "lane_arch": design.unit.lane_arch if design.unit else None,
            "library": lib.name, "booth": booth, "delay_model": timing["delay_model"],
            "stream": stream if stream in (None, *STREAM_KINDS) else str(stream),
            "delay_ns": sta["delay_ns"], "fmax_mhz": sta["fmax_mhz"]}
    total = dict(base, sub_block="total", area_um2=res.area_um2, cells=res.cells,
                 sequential_area_um2=res.sequential_area_um2, clock_target_ns=clock_ns,
                 meets_clock=None if clock_ns is None else bool(sta["delay_ns"] <= clock_ns),
                 slack_ns=None if clock_ns is None else clock_ns - sta["delay_ns"])
    leak_total = sum(lib.cells[t].leakage * n for t, n in res.cell_counts.items()) * 1e-3
    total["leakage_uw"] = leak_total
    if energy:
        mpc = energy["macs_per_cycle"]
        total.update(energy_pj=energy["energy_pj"], energy_per_mac_pj=energy["energy_pj"] / mpc,
                     dynamic_pj=energy["dynamic_pj"],
                     dynamic_per_mac_pj=energy["dynamic_pj"] / mpc,
                     toggles_per_op=energy["toggles_per_cycle"], clock_ns=energy["clock_ns"],
                     switching_pj=energy["switching_pj"], internal_pj=energy["internal_pj"],
                     clock_pj=energy["clock_pj"], leakage_pj=energy["leakage_pj"],
                     **{k: energy[k] for k in ("functional_pj", "glitch_pj", "wire_pj",
                                               "glitch_share") if k in energy})
    if energy:
        # Glitch energy per MAC, independent of the clock: energy_per_mac_pj minus it is the
        # zero-delay result of the same run (functional transitions are the zero-delay ones).
        total["glitch_per_mac_pj"] = energy["glitch_pj"] / mpc
    if energy and "modes" in energy:
        for tag, e in zip(("8bit", "4bit"), energy["modes"]):
            total[f"energy_per_mac_{tag}_pj"] = e["energy_pj"] / e["macs"]
            total[f"dynamic_per_mac_{tag}_pj"] = e["dynamic_pj"] / e["macs"]
        total["dynamic_per_mac_pj"] = float(np.mean([e["dynamic_pj"] / e["macs"]
                                                     for e in energy["modes"]]))
        total["glitch_per_mac_pj"] = float(np.mean([e["glitch_pj"] / e["macs"]
                                                    for e in energy["modes"]]))
    rows = [total]
    for name, d in res.sub_blocks.items():
        row = dict(base, sub_block=name, area_um2=d["area_um2"], cells=d["cells"],
                   leakage_uw=d["leakage_nw"] * 1e-3)
        if energy and name in energy["sub_blocks"]:
            e = energy["sub_blocks"][name]
            row.update(energy_pj=e["energy_pj"], energy_per_mac_pj=e["energy_pj"] / mpc,
                       dynamic_pj=e["dynamic_pj"], dynamic_per_mac_pj=e["dynamic_pj"] / mpc,
                       leakage_uw=e["leakage_uw"], toggles_per_op=e["toggles_per_cycle"],
                       **{k: e[k] for k in ("functional_pj", "glitch_pj", "wire_pj") if k in e})
        rows.append(row)
    if an is not None:
        total["analytic_area_um2"] = an["total"]["area_um2"]
        total["analytic_energy_pj"] = an["total"]["energy_pj"]
        # Side by side per sub-block: Table 6 rows carry the RTL's names; the multiplier
        # row covers all lanes, so each multiplier_<i> gets 1/lanes of it.
        for row in rows[1:]:
            name = row["sub_block"]
            table6_row = "multiplier" if name.startswith("multiplier_") else name
            a = an["sub_blocks"].get(table6_row)
            if a is not None:
                share = 1.0 / design.lanes if table6_row == "multiplier" else 1.0
                row["analytic_area_um2"] = a["area_um2"] * share
                row["analytic_energy_pj"] = a["energy_pj"] * share
    return rows


def _merge_modes(runs: list[tuple[dict, int]]) -> dict:
    """Combine per-mode energy results of a mixed unit: per-cycle quantities are averaged
    (equal time in each mode) and ``macs_per_cycle`` is set so that energy / macs_per_cycle is
    the mean of the modes' energies per MAC (equal weight to 8-bit and 4-bit work)."""
    e0 = runs[0][0]
    keys = [k for k, v in e0.items() if isinstance(v, (int, float)) and k not in ("cycles", "streams")]
    out = {k: float(np.mean([e[k] for e, _ in runs])) for k in keys}
    per_mac = np.mean([e["energy_pj"] / m for e, m in runs])
    out["macs_per_cycle"] = out["energy_pj"] / per_mac
    out["sub_blocks"] = {}
    for name in e0["sub_blocks"]:
        out["sub_blocks"][name] = {k: float(np.mean([e["sub_blocks"][name][k] for e, _ in runs]))
                                   for k in e0["sub_blocks"][name]}
    out["modes"] = [dict(energy_pj=e["energy_pj"], dynamic_pj=e["dynamic_pj"],
                         glitch_pj=e["glitch_pj"], macs=m) for e, m in runs]
    return out


def _stream_ids(stream):
    """Content ids of a sweep's stream argument (one or several), for the task key."""
    if isinstance(stream, (list, tuple)):
        return [_content_id(x) for x in stream]
    return _content_id(stream)


def _content_id(path_or_name) -> str | None:
    """Hash of a file argument (liberty or stream), so a changed file is a new cache key."""
    if path_or_name is None:
        return None
    p = Path(str(path_or_name))
    return hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else str(path_or_name)


def sweep_points(formats, kinds, lanes=(None,), windows=(None,), stages=(1,),
                 lane_archs=(None,)) -> list[UnitSpec | str]:
    """The units of a sweep: formats x lanes x alignment windows (FP block units only) x
    pipeline stages x lane architectures (block units only; each unit takes the names in
    ``lane_archs`` that exist for its element kind, its default if none does), each resolved
    (and so validated, with a message naming the bad value) before any work starts. Built-in
    calibration designs stay names."""
    if isinstance(kinds, str) or kinds is None:
        kinds = [kinds] * len(formats)
    known = {a for archs in LANE_ARCHS.values() for a in archs}
    bad = [a for a in lane_archs if a is not None and a not in known]
    if bad:
        raise ValueError(f"unknown lane architecture(s) {', '.join(map(repr, bad))}; allowed: "
                         + "; ".join(f"{k.upper()}: {', '.join(v)}" for k, v in LANE_ARCHS.items()))
    out: list[UnitSpec | str] = []
    for f, k in zip(formats, kinds):
        for n in lanes:
            if str(f).lower() in BUILTIN_DESIGNS:
                out.append(str(f).lower())
                continue
            base = resolve_unit(f, k, n)
            block = base.kind == "block"
            fp_block = block and base.elem.kind == "fp"
            archs = [a for a in lane_archs if a in LANE_ARCHS[base.elem.kind]] if block else []
            for w in (windows if fp_block else (None,)):
                for st in (stages if block else (1,)):
                    if isinstance(st, bool) or not isinstance(st, int) or st < 1:
                        raise ValueError(f"stages must be a whole number >= 1, got {st!r}")
                    for arch in (archs or [None]):
                        if w is None and st == 1 and arch is None:
                            out.append(base)
                        else:
                            out.append(resolve_unit(base, window=w, pipeline=st - 1, lane_arch=arch))
    return list(dict.fromkeys(out))          # e.g. a window equal to the default is one point


def sweep(formats, *, kinds: str | list[str] | None = None, lanes=(None,), libraries=(None,),
          windows=(None,), stages=(1,), lane_archs=(None,), clock_ns: float | str | None = None,
          jobs: int | None = None, scheduler: str | None = None,
          progress: bool = True, use_cache: bool = True, **kw):
    """Run :func:`unit_cost` over formats x lanes x alignment windows x pipeline stages x lane
    architectures x libraries as tasks on Dask (:func:`intfp.sweep.run_sweep`: a LocalCluster of ``jobs``
    workers, or the cluster at ``scheduler``; in this process for a single point or ``jobs=1``)
    and return a DataFrame with one row per (unit, library, sub_block). ``windows`` applies to
    FP block units only (None: the study's default). Results are cached by content hash.

    ``clock_ns``: None, each unit at its own critical path; a number, every unit mapped for that
    period (``abc -D``) and flagged where it misses it; ``"auto"``, one matched clock per
    library: the slowest unit's critical path, which every unit of the sweep meets (see
    :func:`at_common_clock`)."""
    import pandas as pd

    from intfp.sweep import check_scheduler_args, make_task, run_sweep
    check_scheduler_args(scheduler, jobs)
    if use_cache:
        cache_dir()                            # a cache path that is a file fails here, not late
    auto = clock_ns == "auto"
    if not auto and clock_ns is not None and not (isinstance(clock_ns, (int, float))
                                                  and 0 < clock_ns < 1e6):
        raise ValueError(f"clock_ns must be a positive period in ns or 'auto', got {clock_ns!r}")
    kw["clock_ns"] = None if auto else clock_ns
    points = sweep_points(formats, kinds, lanes, windows, stages, lane_archs)
    libs = [(None if lib is None else str(lib), resolve_liberty(lib)) for lib in libraries]
    tasks = []
    for unit in points:
        what = {"fmt": unit, "lanes": None} if isinstance(unit, str) else unit.key()
        for lib, lib_path in libs:
            params = {**what, "liberty": lib, **kw, "use_cache": use_cache}
            tasks.append(make_task("intfp.analysis.flow:unit_cost", params, kind="synth",
                                   extra=[_content_id(lib_path), _stream_ids(kw.get("stream")),
                                          yosys_version()]))
    if scheduler is None and (len(tasks) <= 1 or jobs == 1):
        scheduler = "sync"
    rows = run_sweep(tasks, scheduler=scheduler, n_workers=jobs, progress=progress,
                     desc="intfp synth", use_cache=use_cache)
    df = pd.DataFrame([dict(r, window=t.params.get("window"), _o=i)
                       for i, (t, rs) in enumerate(zip(tasks, rows)) for r in rs])
    df["_t"] = (df["sub_block"] != "total").astype(int)
    df = df.sort_values(["_o", "lanes", "window", "library", "_t", "sub_block"], kind="stable",
                        na_position="first").drop(columns=["_o", "_t"]).reset_index(drop=True)
    if auto:
        df = at_common_clock(df)
    # A fixed column order (cached rows come back with sorted keys).
    first = [c for c in _LEADING_COLUMNS if c in df]
    return df[first + sorted(c for c in df.columns if c not in first)]


def at_common_clock(df, clock_ns: dict | None = None):
    """Rows re-stated at one clock per library (default: the slowest unit's critical path in
    that library, which every unit meets): ``clock_ns`` and ``clock_target_ns`` set to it,
    ``meets_clock`` / ``slack_ns`` recomputed, and the only clock-dependent energy term, leakage
    (power x period), recomputed; dynamic energy (switching, internal and flop clock pins per
    cycle) does not depend on the period. Units were mapped for area (no ``abc -D``): they
    already run at the common clock, so nothing is re-synthesized."""
    df = df.copy()
    tot = df["sub_block"] == "total"
    periods = clock_ns or {lib: float(df.loc[tot & (df["library"] == lib), "delay_ns"].max())
                           for lib in df["library"].unique()}
    t = df["library"].map(periods).astype(float)
    df["clock_ns"] = t
    df["clock_target_ns"] = t.where(tot)
    df["meets_clock"] = (df["delay_ns"] <= t).where(tot)
    df["slack_ns"] = (t - df["delay_ns"]).where(tot)
    if "dynamic_pj" in df and "leakage_uw" in df:
        leak = df["leakage_uw"] * t * 1e-3                  # uW x ns = fJ; -> pJ
        has = df["dynamic_pj"].notna()
        macs = (df["energy_pj"] / df["energy_per_mac_pj"]).where(has)
        df.loc[has, "energy_pj"] = df["dynamic_pj"] + leak
        df.loc[has, "energy_per_mac_pj"] = df["energy_pj"] / macs
        if "leakage_pj" in df:
            df.loc[tot & has, "leakage_pj"] = leak
        for tag, n in (("8bit", 1), ("4bit", 2)):            # mixed units, per mode
            col = f"energy_per_mac_{tag}_pj"
            if col in df:
                m = df[col].notna()
                df.loc[m, col] = df[f"dynamic_per_mac_{tag}_pj"] + leak / (n * df["lanes"])
        if "energy_per_mac_8bit_pj" in df:               # a mixed unit: the mean of its modes
            m = df["energy_per_mac_8bit_pj"].notna() & df["energy_per_mac_4bit_pj"].notna()
            df.loc[m, "energy_per_mac_pj"] = (df["energy_per_mac_8bit_pj"]
                                              + df["energy_per_mac_4bit_pj"]) / 2
    return df


_LEADING_COLUMNS = ("format", "kind", "lanes", "window", "lane_arch", "stages", "library", "booth", "stream",
                    "sub_block", "area_um2", "cells", "delay_ns", "clock_ns", "meets_clock", "fmax_mhz", "energy_pj", "energy_per_mac_pj",
                    "dynamic_pj", "dynamic_per_mac_pj", "leakage_uw")
