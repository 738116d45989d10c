"""The verdict: each INT / FP pair at its best lane architecture, pipelined alike, at one
matched clock, for several operand streams, beside the study's Table 5.

For every pair (MXINT8 / MXFP8, MXINT6 / MXFP6, MXINT4 / MXFP4, NVINT4 / NVFP4, and the Table 7
mixed units MXINT8+NVINT4 / MXFP8+NVFP4), library and stream, each side takes the lane
architecture with the lowest energy per MAC at the library's matched clock (the slowest unit's
critical path, :func:`intfp.analysis.flow.at_common_clock`, so every unit runs at the same
clock and one block per cycle); ``area_x`` is INT area per lane over FP area per lane and ``energy_x`` INT energy per MAC over FP energy per MAC, leakage and flops
included. A unit that misses the clock cannot be picked: if no architecture of a side meets
it, the row says so (``met = False``) instead of comparing.

Energy is what the sweep's delay model counted (the default, ``liberty``, includes glitches).
``zero_delay_energy_x`` is the same verdict on functional transitions only (each side's
``energy_per_mac_pj - glitch_per_mac_pj``, its best architecture picked again by that
measure): what a zero-delay simulation or a gate count would say, from the same run.

The study's ratios (arXiv 2510.25602, Table 5, analytic gate counts, normalized to MXFP8 or
MXFP8+NVFP4) are beside each pair where the study gives both sides: NVINT4 / NVFP4 is the
ratio of its two published entries; MXINT6 / MXFP6 and MXINT4 / MXFP4 are not in it.
"""
from __future__ import annotations

import math

import pandas as pd

from .analytic import PUBLISHED_TABLE5

__all__ = ["PAIRS", "VERDICT_COLUMNS", "study_ratio", "verdict_table", "verdict_units",
           "plot_verdict", "verdict_summary"]

#: Short names of the libraries (by the prefix of their ``library (...)`` name).
LIBRARY_SHORT = {"intfp_generic45": "generic45", "NangateOpenCellLibrary": "nangate45",
                 "sky130_fd_sc_hd": "sky130hd", "sg13g2_stdcell": "sg13g2", "asap7sc7p5t": "asap7",
                 "gf180mcu": "gf180"}

#: (INT unit, FP unit): the study's four format pairs and its Table 7 mixed pair.
PAIRS = (("mxint8", "mxfp8_e4m3"), ("mxint6", "mxfp6_e2m3"), ("mxint4", "mxfp4_e2m1"),
         ("nvint4", "nvfp4"), ("mxint8+nvint4", "mxfp8+nvfp4"))

VERDICT_COLUMNS = ("pair", "library", "stream", "int_arch", "fp_arch", "area_x", "energy_x",
                   "clock_ns", "study_area_x", "study_energy_x", "int_energy_per_mac_pj",
                   "fp_energy_per_mac_pj", "int_area_per_lane_um2", "fp_area_per_lane_um2",
                   "stages", "met", "zero_delay_energy_x", "zero_delay_int_arch")


def study_ratio(int_unit: str, fp_unit: str, what: str) -> float:
    """The study's INT / FP ratio of ``what`` ("area" or "energy"), NaN where it gives none."""
    t = PUBLISHED_TABLE5[what]
    if int_unit in t and fp_unit in t:
        return t[int_unit] / t[fp_unit]
    return math.nan


def verdict_units() -> list[str]:
    return [u for pair in PAIRS for u in pair]


def _best(rows: pd.DataFrame, col: str = "energy_per_mac_pj") -> pd.Series | None:
    """The row with the lowest ``col`` (energy per MAC) among those meeting the clock."""
    ok = rows[rows["meets_clock"].astype(bool)]
    if ok.empty or ok[col].isna().all():
        return None
    return ok.loc[ok[col].idxmin()]


def verdict_table(hw: pd.DataFrame, pairs=PAIRS) -> pd.DataFrame:
    """The verdict from sweep rows (``sub_block == "total"`` rows with ``lane_arch``,
    ``stream``, ``library``, ``meets_clock``, ``energy_per_mac_pj``, ``area_um2``, ``lanes``,
    ``clock_ns``): one row per pair x library x stream, columns :data:`VERDICT_COLUMNS`."""
    tot = hw[hw["sub_block"] == "total"].copy()
    if "lane_arch" not in tot:
        tot["lane_arch"] = "default"
    tot["area_per_lane"] = tot["area_um2"] / tot["lanes"]
    timed = ("glitch_per_mac_pj" in tot and tot["glitch_per_mac_pj"].notna().any()
             and not ("delay_model" in tot and (tot["delay_model"] == "zero").all()))
    if timed:
        tot["zero_delay_per_mac"] = tot["energy_per_mac_pj"] - tot["glitch_per_mac_pj"]
    out = []
    for iu, fu in pairs:
        for (lib, stream), g in tot[tot["format"].isin((iu, fu))].groupby(["library", "stream"]):
            bi, bf = _best(g[g["format"] == iu]), _best(g[g["format"] == fu])
            row = {"pair": f"{iu} / {fu}", "library": lib, "stream": stream,
                   "study_area_x": study_ratio(iu, fu, "area"),
                   "study_energy_x": study_ratio(iu, fu, "energy"),
                   "clock_ns": float(g["clock_ns"].iloc[0]), "met": bi is not None and bf is not None}
            if row["met"]:
                row.update(int_arch=bi["lane_arch"], fp_arch=bf["lane_arch"],
                           area_x=bi["area_per_lane"] / bf["area_per_lane"],
                           energy_x=bi["energy_per_mac_pj"] / bf["energy_per_mac_pj"],
                           int_energy_per_mac_pj=bi["energy_per_mac_pj"],
                           fp_energy_per_mac_pj=bf["energy_per_mac_pj"],
                           int_area_per_lane_um2=bi["area_per_lane"],
                           fp_area_per_lane_um2=bf["area_per_lane"],
                           stages=int(bi["stages"]))
                zi = _best(g[g["format"] == iu], "zero_delay_per_mac") if timed else None
                zf = _best(g[g["format"] == fu], "zero_delay_per_mac") if timed else None
                if zi is not None and zf is not None:
                    row.update(zero_delay_energy_x=(zi["zero_delay_per_mac"]
                                                    / zf["zero_delay_per_mac"]),
                               zero_delay_int_arch=zi["lane_arch"])
            out.append(row)
    df = pd.DataFrame(out)
    return df.reindex(columns=list(VERDICT_COLUMNS))


def plot_verdict(v: pd.DataFrame, path) -> None:
    """Energy and area ratio (INT / FP) per pair: one bar per stream (library by library), the
    study's ratio as a black tick, 1.0 (parity) as a dashed line."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    libs = list(dict.fromkeys(v["library"]))
    fig, axes = plt.subplots(len(libs), 2, figsize=(11, 3.2 * len(libs)), squeeze=False)
    for row, lib in zip(axes, libs):
        d = v[v["library"] == lib]
        pairs, streams = list(dict.fromkeys(d["pair"])), list(dict.fromkeys(d["stream"]))
        x = np.arange(len(pairs))
        w = 0.8 / max(1, len(streams))
        for ax, col, study in ((row[0], "energy_x", "study_energy_x"), (row[1], "area_x", "study_area_x")):
            for j, st in enumerate(streams):
                g = d[d["stream"] == st].set_index("pair").reindex(pairs)
                ax.bar(x + (j - (len(streams) - 1) / 2) * w, g[col], w, label=st)
            g = d.drop_duplicates("pair").set_index("pair").reindex(pairs)
            ax.scatter(x, g[study], marker="_", s=400, color="k", zorder=3, label="study")
            ax.axhline(1.0, ls="--", lw=0.8, color="gray")
            ax.set_xticks(x, [p.replace(" / ", "\n/ ") for p in pairs], fontsize=7)
            ax.set_ylabel(f"{col.split('_')[0]} INT / FP")
            ax.set_title(f"{lib}: {'energy per MAC' if col == 'energy_x' else 'area per lane'}, "
                         f"best lane architectures, matched clock", fontsize=9)
        row[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def verdict_summary(v: pd.DataFrame | str) -> str:
    """Markdown tables of a verdict (a frame or its CSV): per pair and library, INT / FP energy
    per MAC on each stream, area per lane, the INT architecture picked and the study's ratios."""
    if isinstance(v, str):
        v = pd.read_csv(v)
    v = v.copy()
    v["lib"] = v["library"].map(lambda x: next((b for a, b in LIBRARY_SHORT.items()
                                                if str(x).startswith(a)), x))
    libs = [b for b in LIBRARY_SHORT.values() if b in set(v["lib"])] + \
        sorted(set(v["lib"]) - set(LIBRARY_SHORT.values()))
    pairs = [p for p in (f"{i} / {f}" for i, f in PAIRS) if p in set(v["pair"])]
    out = []
    streams = list(dict.fromkeys(v["stream"]))
    zero = [] if "zero_delay_energy_x" not in v or v["zero_delay_energy_x"].isna().all() else \
        [(f"energy per MAC, INT / FP, zero-delay (functional transitions only), stream {s}",
          "zero_delay_energy_x", s) for s in streams]
    for title, col, stream in [*((f"energy per MAC, INT / FP, stream {s}", "energy_x", s)
                                 for s in streams), *zero,
                               ("area per lane, INT / FP", "area_x", None)]:
        d = v if stream is None else v[v["stream"] == stream]
        t = d.pivot_table(index="pair", columns="lib", values=col, aggfunc="first")
        t = t.reindex(index=pairs, columns=libs)
        study = d.drop_duplicates("pair").set_index("pair")[
            "study_area_x" if col == "area_x" else "study_energy_x"]
        lines = [f"{title}:", "", "| pair | " + " | ".join(libs) + " | study |",
                 "|---|" + "---:|" * (len(libs) + 1)]
        for p in pairs:
            cells = [f"{x:.2f}" if x == x else "-" for x in t.loc[p]]
            st = study.get(p, float("nan"))
            lines.append(f"| {p} | " + " | ".join(cells) + f" | {st:.2f} |" if st == st
                         else f"| {p} | " + " | ".join(cells) + " | - |")
        out.append("\n".join(lines))
    arch = v.groupby("pair")["int_arch"].agg(lambda s: ", ".join(sorted(set(s))))
    out.append("INT lane architecture picked: " + "; ".join(f"{p}: {arch[p]}" for p in pairs))
    clocks = v.groupby("lib")["clock_ns"].first().reindex(libs)
    out.append("matched clock (ns): " + ", ".join(f"{k} {c:.1f}" for k, c in clocks.items()))
    return "\n\n".join(out)
