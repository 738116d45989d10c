"""The report: one HTML page (and a Markdown twin) built from the files a run left in ``out/``.

:func:`build_report` reads only ``out/`` (CSV tables, PNG figures, ``run.json``), so
``intfp report`` rebuilds the page from cached results without recomputing anything. Each
section is declared once in :data:`SECTIONS`; a section whose files are absent is left out.
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

__all__ = ["Section", "SECTIONS", "build_report"]


@dataclass(frozen=True)
class Section:
    title: str
    table: str | None = None            # CSV file in out/
    figures: tuple[str, ...] = ()       # PNG files in out/
    caption: str = ""


SECTIONS: list[Section] = [
    Section("Verdict: INT vs FP at each side's best lane architecture, one matched clock",
            "verdict.csv", ("verdict.png",),
            "Per pair, library and operand stream: INT / FP area per lane (area_x) and energy per "
            "MAC (energy_x, leakage, flops and clock included) when each side uses the lane "
            "architecture with the lowest energy per MAC among those synthesized (int_arch, "
            "fp_arch), every unit running at one clock per library (clock_ns: the slowest unit's "
            "critical path) and one block per cycle; study_* are the study's analytic Table 5 "
            "ratios. Bars below the dashed line: INT is cheaper; black ticks: the study."),
    Section("Hardware cost: synthesized Table 5", "table5.csv", ("hardware_normalized.png",),
            "Area per lane and dynamic energy per MAC of each unit, normalized to MXFP8 (mixed units: "
            "to MXFP8+NVFP4) at matched throughput, beside this project's implementation of the "
            "study's analytical gate-count model (analytic_*) and the study's published Table 5 "
            "(study_*). Block and mixed units are driven by the operands recorded from the HLA "
            "workload, scalar MACs by Gaussian codes; the library is in the last section."),
    Section("Hardware cost per sub-block (the study's Table 6 rows)", "hardware_subblocks.csv",
            ("hardware_area_stacked.png", "hardware_energy_stacked.png"),
            "Lane multipliers summed into one row; (top) is glue outside every sub-block. Every "
            "sub-block of every unit, with energy components and toggles: hardware_cost.csv."),
    Section("Energy vs accuracy, per workload", "pareto.csv", ("pareto.png",),
            "Dynamic energy per MAC of each format's block unit (driven by the HLA workload's "
            "recorded operands) against each workload's output QSNR in that format, with and "
            "without Hadamard rotation; lines join the Pareto-optimal formats."),
    Section("Workload accuracy (output vs float64 reference)", "workloads.csv"),
    Section("Verification (cocotb on Icarus against the bit-accurate model)", "verification.csv"),
    Section("QSNR vs crest factor", None, ("qsnr.png",),
            "Lines: the study's closed-form theory (Theorems 1-2, rho = 1.5 for UE8M0, 1.05 for "
            "E4M3). Points: measured on Student-t blocks (df = inf, 8, 4, 3, 2), MX formats with "
            "the study's ceil scale rule; circles without, triangles with a random Hadamard "
            "rotation of the block size."),
    Section("Crossover crest factors (theory: INT wins below kappa)", "crossovers.csv"),
    Section("INT minus FP QSNR, measured and theory (dB; positive: INT wins)", "int_vs_fp.csv"),
    Section("Formats", "formats.csv"),
    Section("QSNR study, all rows", "qsnr.csv"),
]

_STYLE = ("body{font-family:system-ui,sans-serif;max-width:1150px;margin:2em auto;color:#222;"
          "line-height:1.4}table{border-collapse:collapse;font-size:13px;margin:.5em 0 1.5em}"
          "td,th{border:1px solid #ccc;padding:2px 7px;text-align:right}th{background:#f3f3f3}"
          "img{max-width:100%}.cap{color:#555;font-size:14px}pre{background:#f7f7f7;padding:1em}")


def _fmt(v):
    return f"{v:.4g}" if isinstance(v, float) else v


def build_report(out_dir="out") -> Path:
    """Write ``report.html`` and ``report.md`` from the files in ``out_dir``; return the HTML path."""
    out = Path(out_dir)
    present = [s for s in SECTIONS
               if (s.table and (out / s.table).exists()) or any((out / f).exists() for f in s.figures)]
    if not present:
        raise FileNotFoundError(f"{out} holds no results to report; run `intfp run --out {out}` first")
    body = ["<h1>intfp report</h1>",
            "<p class='cap'>What an INT or FP (MX / NV block-scaled) datapath costs and what "
            "accuracy it buys: bit-exact format models, verified RTL, synthesized netlists.</p>"]
    md = ["# intfp report", ""]
    for s in present:
        body.append(f"<h2>{html.escape(s.title)}</h2>")
        md += [f"## {s.title}", ""]
        if s.caption:
            body.append(f"<p class='cap'>{html.escape(s.caption)}</p>")
            md += [s.caption, ""]
        for fig in s.figures:
            if (out / fig).exists():
                body.append(f'<p><img src="{html.escape(fig)}" alt="{html.escape(s.title)}"></p>')
                md += [f"![{s.title}]({fig})", ""]
        if s.table and (out / s.table).exists():
            df = pd.read_csv(out / s.table)
            df = df.drop(columns=[c for c in ("stream", "library", "booth") if c in df and df[c].nunique() <= 1])
            body.append(df.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="",
                                   border=0))
            md += ["```", df.to_string(index=False, float_format=lambda v: f"{v:.4g}"), "```", ""]
            body.append(f"<p class='cap'>Data: <a href=\"{html.escape(s.table)}\">{html.escape(s.table)}</a></p>")
    run = out / "run.json"
    if run.exists():
        meta = json.loads(run.read_text())
        body += ["<h2>Versions, library and parameters</h2>", f"<pre>{html.escape(json.dumps(meta, indent=1))}</pre>"]
        md += ["## Versions, library and parameters", "", "```", json.dumps(meta, indent=1), "```"]
    page = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>intfp report</title>"
            f"<style>{_STYLE}</style></head><body>{''.join(body)}</body></html>")
    (out / "report.html").write_text(page)
    (out / "report.md").write_text("\n".join(md) + "\n")
    return out / "report.html"
