"""The study's analytical gate-count model (Chen et al., "INT v.s. FP", arXiv 2510.25602, §6,
App. C, Tables 5-7), with per-cell factors taken from a Liberty library.

Table 6 (gates per ``k`` lanes; ``x`` / ``y`` exponent / mantissa bits, ``x = 0`` for INT)::

    sub-block                   INT            FP               main cells
    multiplier                  k (x+y+1)^2    k (y+1)^2        AND, FA, HA
    mantissa / int adder        2k (x+y+1)     k n              FA, HA
    exponent adder              -              k x              FA, HA
    exponent subtractor         -              k x              XOR, FA, HA
    comparator                  -              k x              XOR, AND, OR
    aligner (barrel)            -              k n log2 n       MUX
    normalizer (shared)         -              n log2 n         MUX, OR

with the aligner width ``n = min(2^(x+1) + 2y, 24)`` (Eq. 44). The study also counts a shared
FP32 accumulator and a dequantizer (two 8-bit integer adds for UE8M0 scales, two E4M3
multiplies for E4M3 scales; the study's section 6) but publishes neither their counts nor its cell
factors. Here:

* the **cell factor** of a row is the mean area (um^2) and mean energy per output toggle (fJ,
  internal energy at the library's FO4 slew and a 4-input-load plus 1/2 C V^2) of its main
  cells, found in the library by function (FA / HA by their sum and carry outputs; if the
  library has no FA / HA cell, FA = 2 XOR2 + 1 MUX2-equivalent and HA = XOR2 + AND2);
* **energy** = sum count x E_g x tau with one toggle rate ``tau`` for every cell (Eqs. 45-48;
  default 0.5, random data);
* the **accumulator** is counted with the same FP rules at FP32 (x = 8, y = 23, n = 24, one
  lane) and the **dequantizer** as two 8-bit adders (2 x 8 FA) for UE8M0 or two E4M3 multiplies
  (2 x ((3+1)^2 multiplier + 4 exponent-adder gates)) for E4M3 scales. These two rows are this
  project's reading, not the study's published numbers.

Rows are named like the RTL's sub-blocks (``multiplier``, ``adder_tree``, ``comparator``,
``aligner``, ``normalizer``, ``dequantizer``, ``accumulator``) so reports can show analytic
and synthesized estimates side by side.
"""
from __future__ import annotations

import math
import os
from functools import lru_cache
from itertools import permutations

import numpy as np

from intfp.models.hwmodel import aligner_width

from .liberty import Library, parse_function, read_liberty
from .yosys import resolve_liberty

__all__ = ["table6_counts", "analytic_cost", "cell_factors", "PUBLISHED_TABLE5"]

#: Table 5 of the study: cost at matched throughput, single formats vs MXFP8, mixed vs
#: MXFP8+NVFP4 (arXiv 2510.25602, Table 5).
PUBLISHED_TABLE5 = {
    "energy": {"mxfp8_e4m3": 1.0, "mxint8": 0.63, "nvfp4": 0.55, "nvint4": 0.34,
               "mxfp8+nvfp4": 1.0, "mxint8+nvint4": 0.75},
    "area": {"mxfp8_e4m3": 1.0, "mxint8": 0.79, "nvfp4": 0.54, "nvint4": 0.38,
             "mxfp8+nvfp4": 1.0, "mxint8+nvint4": 0.66},
}

_ROW_CELLS = {
    "multiplier": ("AND", "FA", "HA"),
    "adder_tree": ("FA", "HA"),
    "exp_adder": ("FA", "HA"),
    "exp_subtractor": ("XOR", "FA", "HA"),
    "comparator": ("XOR", "AND", "OR"),
    "aligner": ("MUX",),
    "normalizer": ("MUX", "OR"),
    "dequantizer": ("FA", "HA"),
    "accumulator": ("FA", "HA", "XOR", "MUX", "OR"),
}


def _xy(fmt: str):
    from intfp.models.formats import block_format
    bf = block_format(fmt)
    e = bf.element
    if e.kind == "int":
        return "int", 0, e.bits - 1, bf
    return "fp", e.ebits, e.mbits, bf


def _fp_counts(k: int, x: int, y: int) -> dict[str, float]:
    n = aligner_width(x, y)
    lg = math.log2(n)
    return {"multiplier": k * (y + 1) ** 2, "adder_tree": k * n, "exp_adder": k * x,
            "exp_subtractor": k * x, "comparator": k * x, "aligner": k * n * lg,
            "normalizer": n * lg}


def table6_counts(fmt: str, lanes: int | None = None) -> dict[str, float]:
    """Gate counts per sub-block for ``lanes`` lanes (default: the format's block size), incl.
    this project's accumulator and dequantizer rows (see the module docstring)."""
    kind, x, y, bf = _xy(fmt)
    k = int(lanes or bf.block_size)
    if kind == "int":
        c = {"multiplier": k * (x + y + 1) ** 2, "adder_tree": 2 * k * (x + y + 1)}
    else:
        c = _fp_counts(k, x, y)
    # FP32 accumulator: one FP32 adder by the same rules (x = 8, y = 23 -> n = 24, one lane).
    acc = _fp_counts(1, 8, 23)
    c["accumulator"] = acc["adder_tree"] + acc["exp_subtractor"] + acc["comparator"] + \
        acc["aligner"] + acc["normalizer"]
    c["dequantizer"] = 2 * 8 if bf.scale.name == "ue8m0" else 2 * ((3 + 1) ** 2 + 4)
    return c


def _find_multi(lib: Library, n_in: int, targets: list[str]) -> str | None:
    """Smallest cell with ``n_in`` inputs whose outputs realize all ``targets`` functions."""
    want = []
    for t in targets:
        f = parse_function(t)
        fn = f.compile()
        want.append(tuple(fn([(m >> i) & 1 for i in range(n_in)], 1, 0) & 1 for m in range(1 << n_in)))
    best = None
    for c in lib.cells.values():
        if c.dont_use or c.is_sequential or len(c.inputs) != n_in or len(c.outputs) != len(targets):
            continue
        ins = c.inputs
        for perm in permutations(range(n_in)):
            tts = set()
            for p in c.outputs:
                f = c.pins[p].function
                if f is None:
                    break
                fn = f.compile()
                idx = [ins.index(v) for v in f.inputs]
                tts.add(tuple(fn([(m >> perm[i]) & 1 for i in idx], 1, 0) & 1
                              for m in range(1 << n_in)))
            if tts == set(want):
                if best is None or c.area < lib.cells[best].area:
                    best = c.name
                break
    return best


@lru_cache(maxsize=16)
def _factors(lib_path: str, sha: str) -> dict[str, tuple[float, float]]:
    lib = read_liberty(lib_path)
    v2 = lib.voltage ** 2
    slew = lib.fo4_slew

    def cost(name):
        c = lib.cells[name]
        load = 4 * np.mean([c.pins[p].capacitance for p in c.inputs])
        e = np.mean([c.pins[p].internal_energy(slew, load) for p in c.outputs]) + 0.5 * load * v2
        return c.area, float(e) * len(c.outputs)

    single = {"AND": ("A&B", 2), "OR": ("A|B", 2), "XOR": ("A^B", 2), "MUX": ("(S&B)|(!S&A)", 3),
              "NAND": ("!(A&B)", 2)}
    out: dict[str, tuple[float, float]] = {}
    for key, (fn, n) in single.items():
        name = lib.smallest(fn, n)
        if name is None:
            raise ValueError(f"library {lib.name} has no {key} cell ({fn}) for the analytic model")
        out[key] = cost(name)
    fa = _find_multi(lib, 3, ["A^B^C", "(A&B)|(A&C)|(B&C)"])
    ha = _find_multi(lib, 2, ["A^B", "A&B"])
    out["FA"] = cost(fa) if fa else tuple(2 * a + b for a, b in zip(out["XOR"], out["MUX"]))
    out["HA"] = cost(ha) if ha else tuple(a + b for a, b in zip(out["XOR"], out["AND"]))
    return out


def cell_factors(liberty: str | os.PathLike | None = None) -> dict[str, tuple[float, float]]:
    """``{AND, OR, XOR, MUX, NAND, FA, HA: (area um^2, energy fJ per output toggle)}``."""
    p = resolve_liberty(liberty)
    lib = read_liberty(p)
    return _factors(str(p), lib.sha256)


def analytic_cost(fmt: str, lanes: int | None = None, liberty: str | os.PathLike | None = None,
                  tau: float = 0.5) -> dict:
    """Analytic area [um^2] and energy per block op [pJ] per sub-block and in total."""
    f = cell_factors(liberty)
    counts = table6_counts(fmt, lanes)
    rows = {}
    for name, n in counts.items():
        cells = _ROW_CELLS["exp_adder" if name == "exp_adder" else name]
        area = float(np.mean([f[c][0] for c in cells]))
        energy = float(np.mean([f[c][1] for c in cells]))
        rows[name] = {"gates": float(n), "area_um2": n * area, "energy_pj": n * energy * tau * 1e-3}
    # Fold the exponent rows into the comparator (the RTL has one comparator tree doing them).
    for extra in ("exp_adder", "exp_subtractor"):
        if extra in rows:
            e = rows.pop(extra)
            for k2 in ("gates", "area_um2", "energy_pj"):
                rows["comparator"][k2] += e[k2]
    total = {k2: sum(r[k2] for r in rows.values()) for k2 in ("gates", "area_um2", "energy_pj")}
    return {"fmt": fmt, "lanes": int(lanes or _xy(fmt)[3].block_size), "tau": tau,
            "sub_blocks": rows, "total": total}
