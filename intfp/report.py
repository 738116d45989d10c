"""The report: one HTML page (and a Markdown twin) built from the files a run left in ``out/``.

:func:`build_report` reads only ``out/`` (CSV tables, PNG figures, ``run.json``), so
``intfp report`` rebuilds the page from cached results without recomputing anything. Each
section is declared once in :data:`SECTIONS`; a section whose files are absent is left out.

Layout for a designer reading at a glance: the verdict (table, then its figure) first, a table of
contents beside the content, every table sortable by clicking a column header (a few lines of
JavaScript inside the page: no network, no library), every figure with a one-sentence caption
saying what to read from it (:data:`FIGURE_CAPTIONS`), the longer notes after each table.
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

__all__ = ["Section", "SECTIONS", "FIGURE_CAPTIONS", "build_report"]


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
            "ratios. Energy counts every transition of a liberty-delay simulation (glitches "
            "included) unless run.json's plan says delay_model zero; zero_delay_energy_x is the "
            "same verdict on functional transitions only (each side re-picked without its glitch "
            "energy), what a zero-delay count would say. Bars below the dashed line: INT is "
            "cheaper; black ticks: the study."),
    Section("Timing: energy per MAC with glitches and without", "timing.csv", (),
            "Per unit, lane architecture and stream: energy per MAC as counted (liberty cell "
            "delays, every transition), the zero-delay energy of the same run (functional "
            "transitions only), their ratio, and the glitch share of the transition energy."),
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

#: One sentence per figure: what to read from it (shown under the figure).
FIGURE_CAPTIONS = {
    "verdict.png": "Bars below the dashed line at 1 mean INT costs less than FP for that pair, "
                   "library and stream; black ticks mark the study's analytic ratios.",
    "hardware_normalized.png": "Bars below 1 are cheaper than MXFP8 per lane (area) or per MAC "
                               "(energy); the distance to the black study bars is where "
                               "synthesized netlists disagree with the study's model.",
    "hardware_area_stacked.png": "The tallest segment of a bar is the sub-block that dominates "
                                 "that unit's area per lane.",
    "hardware_energy_stacked.png": "The tallest segment of a bar is the sub-block that dominates "
                                   "that unit's energy per MAC.",
    "pareto.png": "Formats toward the upper left give more accuracy for less energy; the line "
                  "joins the Pareto-optimal formats of each workload.",
    "qsnr.png": "Where an INT line lies above its FP partner, INT quantizes blocks of that crest "
                "factor more accurately; points on the lines show the theory holds.",
}

_STYLE = ("body{font-family:system-ui,sans-serif;margin:0;color:#222;line-height:1.4}"
          "nav{position:fixed;top:0;left:0;width:230px;height:100vh;overflow:auto;"
          "box-sizing:border-box;padding:1em;background:#f7f7f7;border-right:1px solid #ddd;"
          "font-size:13px}nav ol{padding-left:1.2em;margin:.3em 0}nav li{margin:.25em 0}"
          "main{margin-left:250px;max-width:1000px;padding:0 1.5em 2em}"
          "h1{margin:.6em 0 .2em;font-size:24px}h2{margin:1.2em 0 .4em;font-size:19px}"
          "table{border-collapse:collapse;font-size:13px;margin:.5em 0 .5em}"
          "td,th{border:1px solid #ccc;padding:2px 7px;text-align:right}th{background:#f3f3f3}"
          "th.sortable{cursor:pointer;user-select:none}th[aria-sort=ascending]::after{content:' \\25B2'}"
          "th[aria-sort=descending]::after{content:' \\25BC'}"
          "figure{margin:.5em 0 1em}figure img{max-width:100%}figcaption{color:#333;font-size:14px}"
          ".tw{overflow-x:auto;max-width:100%}.cap{color:#555;font-size:14px}pre{background:#f7f7f7;padding:1em}"
          "@media (max-width:900px){nav{position:static;width:auto;height:auto}main{margin:0}}")

#: Click a header to sort its table (again: reverse). Numbers sort as numbers, empty cells last.
_SORT_JS = """
document.querySelectorAll('table.sortable').forEach(function (t) {
  t.querySelectorAll('thead th').forEach(function (th, col) {
    th.classList.add('sortable'); th.title = 'click to sort';
    th.addEventListener('click', function () {
      var asc = th.getAttribute('aria-sort') !== 'ascending';
      t.querySelectorAll('thead th').forEach(function (h) { h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
      var body = t.tBodies[0], rows = Array.from(body.rows);
      var key = function (r) { var s = r.cells[col].textContent.trim(), n = parseFloat(s);
        return s === '' ? null : (isNaN(n) || !/^[-+.\\d]/.test(s) ? s : n); };
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === null || y === null) return (x === null) - (y === null);
        var c = (typeof x === typeof y) ? (x < y ? -1 : x > y ? 1 : 0) : (typeof x === 'number' ? -1 : 1);
        return asc ? c : -c; });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""


def _fmt(v):
    return f"{v:.4g}" if isinstance(v, float) else v


def _anchor(i: int) -> str:
    return f"s{i}"


def build_report(out_dir="out") -> Path:
    """Write ``report.html`` and ``report.md`` from the files in ``out_dir``; return the HTML path."""
    out = Path(out_dir)
    present = [s for s in SECTIONS
               if (s.table and (out / s.table).exists()) or any((out / f).exists() for f in s.figures)]
    if not present:
        raise FileNotFoundError(f"{out} holds no results to report; run `intfp run --out {out}` first")
    run = out / "run.json"
    titles = [s.title for s in present] + (["Versions, library and parameters"] if run.exists() else [])
    toc = "".join(f'<li><a href="#{_anchor(i)}">{html.escape(t)}</a></li>' for i, t in enumerate(titles))
    nav = f"<nav aria-label='Contents'><strong>Contents</strong><ol>{toc}</ol></nav>"
    body = ["<h1>intfp report</h1>",
            "<p class='cap'>What an INT or FP (MX / NV block-scaled) datapath costs and what "
            "accuracy it buys: bit-exact format models, verified RTL, synthesized netlists. "
            "Click a column header to sort a table.</p>"]
    md = ["# intfp report", "", "Contents:", ""]
    md += [f"{i + 1}. [{t}](#{_md_anchor(t)})" for i, t in enumerate(titles)] + [""]
    for i, s in enumerate(present):
        body.append(f'<section id="{_anchor(i)}"><h2>{html.escape(s.title)}</h2>')
        md += [f"## {s.title}", ""]
        if s.table and (out / s.table).exists():
            df = pd.read_csv(out / s.table)
            df = df.drop(columns=[c for c in ("stream", "library", "booth") if c in df and df[c].nunique() <= 1])
            # wide tables scroll inside their own box, not the page
            body.append("<div class='tw'>" + df.to_html(
                index=False, float_format=lambda v: f"{v:.4g}", na_rep="", border=0,
                classes="sortable", table_id=f"table-{Path(s.table).stem}") + "</div>")
            md += ["```", df.to_string(index=False, float_format=lambda v: f"{v:.4g}"), "```", ""]
            body.append(f"<p class='cap'>Data: <a href=\"{html.escape(s.table)}\">{html.escape(s.table)}</a></p>")
        for fig in s.figures:
            if (out / fig).exists():
                cap = FIGURE_CAPTIONS.get(fig, "")
                body.append(f'<figure><img src="{html.escape(fig)}" alt="{html.escape(s.title)}">'
                            f"<figcaption>{html.escape(cap)}</figcaption></figure>")
                md += [f"![{s.title}]({fig})", "", f"*{cap}*", ""]
        if s.caption:
            body.append(f"<p class='cap'>{html.escape(s.caption)}</p>")
            md += [s.caption, ""]
        body.append("</section>")
    if run.exists():
        meta = json.loads(run.read_text())
        body += [f'<section id="{_anchor(len(present))}"><h2>Versions, library and parameters</h2>',
                 f"<pre>{html.escape(json.dumps(meta, indent=1))}</pre></section>"]
        md += ["## Versions, library and parameters", "", "```", json.dumps(meta, indent=1), "```"]
    page = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>intfp report</title>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<style>{_STYLE}</style></head><body>{nav}<main>{''.join(body)}</main>"
            f"<script>{_SORT_JS}</script></body></html>")
    (out / "report.html").write_text(page)
    (out / "report.md").write_text("\n".join(md) + "\n")
    return out / "report.html"


def _md_anchor(title: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    import re
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
