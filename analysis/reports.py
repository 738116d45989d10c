"""Reports from a sweep DataFrame (:func:`intfp.analysis.flow.sweep`): the study's Table 5 view,
CSV / Markdown / HTML files and matplotlib figures."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .analytic import PUBLISHED_TABLE5
from intfp.cache import atomic_write_text

__all__ = ["table5", "timing_summary", "write_reports", "plot_normalized", "plot_stacked",
           "markdown_table", "REFERENCE"]

#: Table 5 normalizes single formats to MXFP8 and mixed units to MXFP8+NVFP4.
REFERENCE = {"block": "mxfp8_e4m3", "mixed": "mxfp8+nvfp4"}


def timing_summary(df: pd.DataFrame) -> pd.DataFrame:
    """What timing did to each unit (timed sweep rows, ``glitch_per_mac_pj`` set): energy per
    MAC as counted (``energy_per_mac_pj``, glitches included) and zero-delay (the same run
    without its glitch energy: functional transitions are the zero-delay ones), their ratio
    ``timed_over_zero_delay``, and ``glitch_share`` (of the transition energy, clock pins
    left out, :func:`intfp.analysis.energy.estimate_energy`). One row per
    unit, lane architecture, library and stream; empty for zero-delay rows."""
    cols = ["format", "kind", "lane_arch", "library", "stream", "delay_model"]
    tot = df[df["sub_block"] == "total"]
    if "glitch_per_mac_pj" not in tot:
        return pd.DataFrame(columns=cols + ["energy_per_mac_pj", "zero_delay_energy_per_mac_pj",
                                           "timed_over_zero_delay", "glitch_share"])
    tot = tot[tot["glitch_per_mac_pj"].notna() & (tot["delay_model"] != "zero")]
    out = tot[[c for c in cols if c in tot]].copy()
    e, g = tot["energy_per_mac_pj"], tot["glitch_per_mac_pj"]
    out["energy_per_mac_pj"] = e
    out["zero_delay_energy_per_mac_pj"] = e - g
    out["timed_over_zero_delay"] = e / (e - g)
    out["glitch_share"] = tot["glitch_share"]        # glitch / (functional + glitch), no clock
    return out.reset_index(drop=True)


def table5(df: pd.DataFrame) -> pd.DataFrame:
    """Per (library, format): area per lane and energy per MAC, normalized to MXFP8 (single
    formats) or MXFP8+NVFP4 (mixed units) of the same library, beside the study's Table 5 and
    this project's analytic model. Matched throughput = per lane / per MAC, as the study's
    Table 6 divides shared blocks by k."""
    tot = df[df["sub_block"] == "total"].copy()
    tot["area_per_lane_um2"] = tot["area_um2"] / tot["lanes"]
    # The study's energy counts switching only (Eqs. 45-48): compare dynamic energy per MAC.
    emac = "dynamic_per_mac_pj" if "dynamic_per_mac_pj" in tot else "energy_per_mac_pj"
    if emac not in tot:
        tot[emac] = np.nan
    has_an = "analytic_area_um2" in tot
    if has_an:
        tot["analytic_area_per_lane"] = tot["analytic_area_um2"] / tot["lanes"]
        tot["analytic_energy_per_mac"] = tot["analytic_energy_pj"] / tot["lanes"]
    out = []
    if "booth" not in tot:
        tot["booth"] = False
    for (lib, kind, booth), g in tot.groupby(["library", "kind", "booth"], sort=False):
        ref_name = REFERENCE.get(kind)
        ref = g[g["format"] == ref_name]
        for _, r in g.iterrows():
            row = {"library": lib, "booth": bool(booth), "format": r["format"], "lanes": r["lanes"],
                   "area_per_lane_um2": r["area_per_lane_um2"],
                   "dynamic_per_mac_pj": r[emac], "delay_ns": r["delay_ns"]}
            if len(ref):
                rr = ref.iloc[0]
                row["area_x"] = r["area_per_lane_um2"] / rr["area_per_lane_um2"]
                row["energy_x"] = r[emac] / rr[emac]
                if has_an:
                    row["analytic_area_x"] = r["analytic_area_per_lane"] / rr["analytic_area_per_lane"]
                    row["analytic_energy_x"] = r["analytic_energy_per_mac"] / rr["analytic_energy_per_mac"]
            row["study_area_x"] = PUBLISHED_TABLE5["area"].get(r["format"], np.nan)
            row["study_energy_x"] = PUBLISHED_TABLE5["energy"].get(r["format"], np.nan)
            out.append(row)
    return pd.DataFrame(out)


def plot_normalized(t5: pd.DataFrame, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    if "area_x" in t5:
        t5 = t5[t5["area_x"].notna()]       # units without a reference (scalar MACs) have no bar
    libs = list(dict.fromkeys(t5["library"]))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric in zip(axes, ("area", "energy")):
        for li, lib in enumerate(libs):
            g = t5[t5["library"] == lib]
            x = np.arange(len(g))
            ax.bar(x + li * 0.8 / (len(libs) + 2), g.get(f"{metric}_x", np.nan),
                   width=0.8 / (len(libs) + 2), label=f"synthesized ({lib})")
        g = t5[t5["library"] == libs[0]]
        x = np.arange(len(g))
        off = len(libs) * 0.8 / (len(libs) + 2)
        if f"analytic_{metric}_x" in g:
            ax.bar(x + off, g[f"analytic_{metric}_x"], width=0.8 / (len(libs) + 2),
                   label="analytic (Table 6)", hatch="//", alpha=0.7)
        ax.bar(x + off + 0.8 / (len(libs) + 2), g[f"study_{metric}_x"],
               width=0.8 / (len(libs) + 2), label="study Table 5", color="k", alpha=0.6)
        ax.set_xticks(x + off / 2, g["format"], rotation=30, ha="right")
        ax.set_ylabel(f"{metric} per lane / MAC, normalized")
        ax.axhline(1.0, color="grey", lw=0.5)
        ax.set_title(f"{metric} vs MXFP8 (matched throughput)")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_stacked(df: pd.DataFrame, path: Path, metric: str = "area_um2") -> None:
    """Stacked per-sub-block bars per lane (lanes / channels of one kind merged)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    sub = df[df["sub_block"] != "total"].copy()
    if metric not in sub or sub[metric].isna().all():
        return
    # One colour per Table 6 row: lanes and channels merged (multiplier_3 -> multipliers,
    # accumulator_2 / dequantizer_mx / adder_tree_merge -> accumulator / dequantizer / adder_tree).
    base = sub["sub_block"].str.replace(r"_(\d+|mx|merge)$", "", regex=True)
    sub["block"] = base.where(base != "multiplier", "multipliers")
    sub["per_lane"] = sub[metric] / sub["lanes"]
    piv = sub.pivot_table(index=["library", "format"], columns="block", values="per_lane",
                          aggfunc="sum", sort=False).fillna(0.0)
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(piv)) + 2, 4))
    bottom = np.zeros(len(piv))
    for col in piv.columns:
        ax.bar(range(len(piv)), piv[col], bottom=bottom, label=col)
        bottom += piv[col].to_numpy()
    ax.set_xticks(range(len(piv)), [f"{f}\n{lib}" for lib, f in piv.index], fontsize=7)
    ax.set_ylabel(f"{metric} per lane")
    ax.legend(fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_reports(df: pd.DataFrame, out_dir: str | Path, stem: str = "hardware_cost") -> dict:
    """Write ``<stem>.csv/.md/.html``, ``<stem>_table5.csv/.md`` and the figures; return paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t5 = table5(df)
    paths = {}
    for name, frame in ((stem, df), (f"{stem}_table5", t5)):
        p = out / f"{name}.csv"
        atomic_write_text(p, frame.to_csv(index=False))
        paths[f"{name}.csv"] = p
        p = out / f"{name}.md"
        atomic_write_text(p, markdown_table(frame))
        paths[f"{name}.md"] = p
        p = out / f"{name}.html"
        atomic_write_text(p, frame.to_html(index=False, float_format=lambda v: f"{v:.4g}"))
        paths[f"{name}.html"] = p
    if len(t5):
        plot_normalized(t5, out / f"{stem}_normalized.png")
        paths["normalized.png"] = out / f"{stem}_normalized.png"
    plot_stacked(df, out / f"{stem}_area_stacked.png", "area_um2")
    paths["area_stacked.png"] = out / f"{stem}_area_stacked.png"
    if "energy_pj" in df:
        plot_stacked(df, out / f"{stem}_energy_stacked.png", "energy_pj")
        paths["energy_stacked.png"] = out / f"{stem}_energy_stacked.png"
    return paths


def markdown_table(frame: pd.DataFrame, digits: int = 4) -> str:
    """A GitHub-flavoured Markdown table (no ``tabulate`` dependency); floats to ``digits``
    significant digits, NaN as empty."""
    def cell(v):
        if isinstance(v, (float, np.floating)):
            return "" if np.isnan(v) else f"{v:.{digits}g}"
        return str(v)
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"
