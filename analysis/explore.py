"""The design-space explorer's tables: which formats, and which of them are worth building.

:func:`explore_formats` names the default format set (every FP and INT element of 4..8 bits,
blocks 16 and 32, UE8M0 and E4M3 scales, in the grammar of :mod:`intfp.models.formats`);
:func:`explore_table` joins a sweep's hardware rows (:func:`intfp.analysis.flow.sweep`) with
the formats' QSNR; :func:`pareto_front` marks the points no other point beats on both axes;
:func:`plot_explore` draws QSNR against energy per MAC and area per lane. The job that runs
the sweep (workload recording, verification, synthesis) is :mod:`intfp.explore` at the top.

Layer: analysis. Imports models only.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from intfp.models.formats import BLOCK_SIZES, ELEMENT_BITS, FAMILIES, FP_EBITS, block_format

__all__ = ["explore_formats", "pareto_front", "explore_table", "plot_explore", "EXPLORE_COLUMNS",
           "STUDY_FORMATS"]

#: The study's formats (arXiv 2510.25602): where they sit on the front is part of the answer.
STUDY_FORMATS = ("mxfp8_e4m3", "mxint8", "mxfp6_e2m3", "mxint6", "mxfp4_e2m1", "mxint4", "nvfp4",
                 "nvint4")

#: ``out/explore.csv``: one row per format (its best lane architecture at the matched clock).
EXPLORE_COLUMNS = ("format", "kind", "element", "bits", "block", "scale", "lane_arch",
                   "qsnr_db", "qsnr_theory_db", "qsnr_gauss_db", "area_per_lane_um2",
                   "energy_per_mac_pj", "dynamic_per_mac_pj", "clock_ns", "meets_clock",
                   "verified", "pareto", "pareto_area", "study")


def explore_formats(bits=(4, 8), blocks=(16, 32), scales=("ue8m0", "e4m3"),
                    kinds=("fp", "int")) -> list[str]:
    """Canonical names of every element of ``bits`` (inclusive range) of the ``kinds``: FP
    ``e<X>m<Y>`` with X in :data:`~intfp.models.formats.FP_EBITS` and Y >= 1, INT ``int<N>``;
    times ``blocks`` and ``scales``. Presets keep their names (``mxfp8_e4m3``)."""
    lo, hi = bits
    if not ELEMENT_BITS[0] <= lo <= hi <= ELEMENT_BITS[1]:
        raise ValueError(f"bits must be a range within {ELEMENT_BITS[0]}..{ELEMENT_BITS[1]}, "
                         f"got {lo}..{hi}")
    bad = [k for k in kinds if k not in ("fp", "int")]
    if bad or not kinds:
        raise ValueError(f"kinds must be among fp, int; got {', '.join(map(repr, bad or kinds))}")
    family = {v[0]: k for k, v in FAMILIES.items()}
    bad = [s for s in scales if s not in family]
    if bad or not scales:
        raise ValueError(f"scales must be among {', '.join(family)}; got "
                         f"{', '.join(map(repr, bad or scales))}")
    for k in blocks:
        if not BLOCK_SIZES[0] <= k <= BLOCK_SIZES[1] or k & (k - 1):
            raise ValueError(f"block size {k!r} is not a power of two from {BLOCK_SIZES[0]} "
                             f"to {BLOCK_SIZES[1]}")
    elems = []
    for n in range(lo, hi + 1):
        if "fp" in kinds:
            elems += [f"e{x}m{n - 1 - x}" for x in range(FP_EBITS[0], FP_EBITS[1] + 1)
                      if n - 1 - x >= 1]
        if "int" in kinds:
            elems.append(f"int{n}")
    names = [block_format(f"{family[s]}:{e}/b{k}/{s}").name
             for s in scales for k in blocks for e in elems]
    return list(dict.fromkeys(names))


def pareto_front(cost, quality) -> np.ndarray:
    """True where no other point has ``cost <=`` and ``quality >=`` with one of them strict
    (lower cost and higher quality are better; NaN points are never on the front)."""
    c = np.asarray(cost, dtype=float)
    q = np.asarray(quality, dtype=float)
    ok = np.isfinite(c) & np.isfinite(q)
    on = np.zeros(len(c), bool)
    for i in np.flatnonzero(ok):
        dominated = ok & (c <= c[i]) & (q >= q[i]) & ((c < c[i]) | (q > q[i]))
        on[i] = not dominated.any()
    return on


def explore_table(hw: pd.DataFrame, qsnr: pd.DataFrame, verified: dict | None = None) -> pd.DataFrame:
    """One row per format (:data:`EXPLORE_COLUMNS`).

    ``hw``: sweep rows (``sub_block == "total"`` rows carry ``format``, ``lane_arch``,
    ``lanes``, ``area_um2``, ``energy_per_mac_pj``, ``dynamic_per_mac_pj``, ``clock_ns``,
    ``meets_clock``), all on one stream at one matched clock; per format the lane architecture
    with the lowest energy per MAC among those that meet the clock is kept (the verdict's rule).
    ``qsnr``: ``format``, ``qsnr_db`` (measured on the workload), ``qsnr_theory_db``,
    ``qsnr_gauss_db``. ``verified``: ``{(format, lane_arch): passed}``."""
    tot = hw[hw["sub_block"] == "total"].copy()
    tot["area_per_lane_um2"] = tot["area_um2"] / tot["lanes"]
    met = tot[tot["meets_clock"].fillna(True).astype(bool)]
    best = met.loc[met.groupby("format", sort=False)["energy_per_mac_pj"].idxmin()]
    missing = sorted(set(tot["format"]) - set(best["format"]))
    if missing:
        raise ValueError(f"no lane architecture of {', '.join(missing)} meets the matched clock")
    q = qsnr.set_index("format")
    rows = []
    for _, r in best.iterrows():
        bf = block_format(r["format"])
        e = bf.element
        rows.append({
            "format": bf.name, "kind": e.kind, "element": e.name, "bits": e.bits,
            "block": bf.block_size, "scale": bf.scale.name, "lane_arch": r["lane_arch"],
            "qsnr_db": float(q.loc[bf.name, "qsnr_db"]),
            "qsnr_theory_db": float(q.loc[bf.name, "qsnr_theory_db"]),
            "qsnr_gauss_db": float(q.loc[bf.name, "qsnr_gauss_db"]),
            "area_per_lane_um2": float(r["area_per_lane_um2"]),
            "energy_per_mac_pj": float(r["energy_per_mac_pj"]),
            "dynamic_per_mac_pj": float(r["dynamic_per_mac_pj"]),
            "clock_ns": float(r["clock_ns"]), "meets_clock": bool(r["meets_clock"]),
            "verified": None if verified is None else bool(verified.get((bf.name, r["lane_arch"]))),
            "study": bf.name if bf.name in STUDY_FORMATS else ""})
    df = pd.DataFrame(rows)
    df["pareto"] = pareto_front(df["energy_per_mac_pj"], df["qsnr_db"])
    df["pareto_area"] = pareto_front(df["area_per_lane_um2"], df["qsnr_db"])
    df = df.sort_values(["energy_per_mac_pj", "format"], kind="stable").reset_index(drop=True)
    return df[list(EXPLORE_COLUMNS)]


def plot_explore(df: pd.DataFrame, path, title: str = "") -> None:
    """QSNR against energy per MAC (left) and area per lane (right): INT / FP by colour, scale
    by marker, the front as a line, the study's formats labelled."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 5), sharey=True)
    colour = {"int": "tab:blue", "fp": "tab:red"}
    marker = {"ue8m0": "o", "e4m3": "^"}
    for ax, x, front in ((axes[0], "energy_per_mac_pj", "pareto"),
                         (axes[1], "area_per_lane_um2", "pareto_area")):
        for (kind, scale), g in df.groupby(["kind", "scale"]):
            ax.scatter(g[x], g["qsnr_db"], c=colour[kind], marker=marker[scale], s=28, alpha=0.75,
                       label=f"{kind.upper()} {scale}")
        f = df[df[front]].sort_values(x)
        ax.step(f[x], f["qsnr_db"], where="post", color="k", lw=1, label="Pareto front")
        for _, r in df[df["study"] != ""].iterrows():
            ax.annotate(r["study"], (r[x], r["qsnr_db"]), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel({"energy_per_mac_pj": "energy per MAC (pJ)",
                       "area_per_lane_um2": "area per lane (um^2)"}[x])
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("QSNR (dB)")
    axes[0].legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)

