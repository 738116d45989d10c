"""``run_workload``: evaluate one workload under several formats against its float64 reference.

A workload is registered with :func:`register` as two functions:

* ``setup(seed, **options) -> ctx``: builds the inputs (and trains whatever needs training) once,
  in float64 / FP32, and computes the reference output ``ctx["reference"]``;
* ``evaluate(ctx, mm, fmt) -> (output, extra)``: runs the workload with every GEMM going through
  ``mm`` (a :func:`~intfp.models.workloads.qgemm.make_mm` closure for ``fmt``) and returns the output
  to compare with the reference plus a dict of workload-specific metric columns.

Each row of the result has ``workload, format, hadamard, scale_rule, seed, qsnr_db, rel_err`` (output vs the
float64 reference), the workload's metric columns, ``macs`` (every GEMM the evaluation ran through
``mm``, training steps included for ``lm_train``) and ``gemms`` (per GEMM name: MACs and
``{"BxMxKxN": calls}``).
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import torch

from intfp.models.workloads.qgemm import (GemmRecorder, check_scale_rule, effective_scale_rule, format_label,
                                          make_mm, resolve_format)
from intfp.models.workloads.registry import _REGISTRY, Workload, qsnr_db, register, rel_err
from intfp.models.workloads.streams import save_streams

__all__ = ["Workload", "register", "workload_names", "run_workload", "parse_formats", "qsnr_db", "rel_err",
           "DEFAULT_FORMATS"]

DEFAULT_FORMATS = ("mxint8", "mxfp8", "nvint4", "nvfp4")


def _load_all() -> None:
    # Importing a workload module registers it; kept lazy so `import intfp.models.workloads` is cheap.
    from intfp.models.workloads import catalog  # noqa: F401


def workload_names() -> list[str]:
    _load_all()
    return sorted(_REGISTRY)


def get_workload(name: str) -> Workload:
    _load_all()
    if name not in _REGISTRY:
        raise ValueError(f"unknown workload {name!r}; allowed: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def parse_formats(formats) -> list:
    """``"mxint8,nvfp4"`` or a list -> resolved formats (``ValueError`` names any unknown one)."""
    if formats is None:
        formats = DEFAULT_FORMATS
    if isinstance(formats, str):
        formats = [f.strip() for f in formats.split(",") if f.strip()]
    if not formats:
        raise ValueError("no formats given")
    return [resolve_format(f) for f in formats]


def check_record_path(record) -> Path | None:
    """Fail early (before any compute) if the operand-stream file cannot be written."""
    if record is None:
        return None
    path = Path(record)
    if path.suffix != ".npz":
        raise ValueError(f"--record path must end in .npz; got {str(path)!r}")
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        what = "is not a directory" if directory.exists() else "does not exist"
        raise ValueError(f"cannot write operand streams to {str(path)!r}: {str(directory)!r} {what}")
    if path.is_dir():
        raise ValueError(f"cannot write operand streams to {str(path)!r}: it is a directory; give a file path "
                         f"ending in .npz")
    if not os.access(directory, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ValueError(f"cannot write operand streams to {str(path)!r}: not writable")
    return path


def _check_option(workload: str, key: str, value, default) -> None:
    """An option must have its default's type (an int is accepted for a float; None takes anything)."""
    if default is None:
        return
    expected = type(default)
    ok = isinstance(value, expected) and not (isinstance(value, bool) and expected is not bool)
    ok = ok or (expected is float and isinstance(value, int) and not isinstance(value, bool))
    ok = ok or (expected is tuple and isinstance(value, list))
    if not ok:
        raise ValueError(f"workload {workload!r} option {key}={value!r}: expected type {expected.__name__} "
                         f"like the default {default!r}")


def run_workload(name: str, formats=DEFAULT_FORMATS, hadamard: bool = False, seed: int = 0, record=None,
                 progress: bool | None = None, threads: int | None = 1, scale_rule: str | None = None,
                 **options) -> pd.DataFrame:
    """Run workload ``name`` once per format; returns one row per format (see module docstring).

    ``record``: path of an ``.npz`` to write the operand streams of every quantized GEMM to (keys
    ``"<format>:<gemm>"``). ``options`` override the workload's defaults (``ValueError`` for
    unknown ones). Deterministic for a given ``seed``. ``threads``: torch intra-op threads for the
    run (restored afterwards; ``None`` keeps the current setting). The default 1 is deliberate: the
    GEMMs are small, and on a shared machine oversubscribed threads make training steps several
    times slower. ``scale_rule``: ``None`` (each format's own rule: OCP ``floor`` for MX),
    ``"floor"`` or ``"ceil"`` (the study's rule), for every UE8M0-scaled GEMM operand; the row's
    ``scale_rule`` column is the rule each format was actually quantized with.
    """
    wl = get_workload(name)
    scale_rule = check_scale_rule(scale_rule)
    fmts = parse_formats(formats)
    path = check_record_path(record)
    unknown = set(options) - set(wl.options)
    if unknown:
        raise ValueError(f"workload {name!r} has no option(s) {', '.join(sorted(unknown))}; "
                         f"allowed: {', '.join(sorted(wl.options)) or 'none'}")
    for key, value in options.items():
        _check_option(name, key, value, wl.options[key])
    opts = {**wl.options, **options}
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _run(wl, fmts, hadamard, seed, path, progress, opts, scale_rule)
    finally:
        torch.set_num_threads(previous_threads)


def _run(wl, fmts, hadamard, seed, path, progress, opts, scale_rule=None) -> pd.DataFrame:
    name = wl.name
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    ctx = wl.setup(seed=seed, **opts)
    rows, streams = [], {}
    from tqdm.auto import tqdm
    for fmt in tqdm(fmts, desc=f"{name}", unit="fmt", disable={True: False, False: True, None: None}[progress]):
        rec = GemmRecorder(capture=path is not None, seed=seed)
        torch.manual_seed(seed)
        with torch.no_grad():
            mm = make_mm(fmt, hadamard=hadamard, seed=seed, recorder=rec, scale_rule=scale_rule)
            out, extra = wl.evaluate(ctx, mm, fmt)
        ref = ctx["reference"]
        rows.append({"workload": name, "format": format_label(fmt), "hadamard": bool(hadamard),
                     "scale_rule": effective_scale_rule(fmt, scale_rule), "seed": seed,
                     "qsnr_db": qsnr_db(ref, out), "rel_err": rel_err(ref, out), **extra,
                     "macs": rec.total_macs, "gemms": rec.gemm_table()})
        for key, s in rec.streams.items():
            streams[f"{format_label(fmt)}:{key}"] = s
    if path is not None:
        save_streams(path, streams)
    df = pd.DataFrame(rows)
    df.attrs.update(workload=name, options=opts, scale_rule=scale_rule, seconds=time.perf_counter() - t0)
    return df
