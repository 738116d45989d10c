"""What timing does to the INT / FP energy ratios: the verdict pairs' dynamic energy per MAC
under several timing models, on one library and one operand stream, from one command.

Usage (from the repository root)::

    .venv/bin/python benchmarks/timed_ratios.py [--liberty PATH] [--stream gaussian]
        [--cycles 9] [--streams 64] [--models zero,zero+wire,liberty,liberty+wire]
        [--pairs mxint8:mxfp8_e4m3,...]

Each unit (default lane count and architecture, at its own critical path) goes through
:func:`intfp.analysis.flow.unit_cost` (content-hash cached) once per model; ``+wire`` adds the
library's wire-load model (``wire_load="auto"``: none where the library has none). Printed:
per model and pair, INT and FP dynamic energy per MAC [pJ] (leakage left out, as in the
study), their ratio, and the glitch and wire shares of the FP and INT units; the last column
is the ratio's change against the first model. Wall time per model is printed too.
"""
from __future__ import annotations

import argparse
import sys
import time

from intfp.analysis.flow import unit_cost
from intfp.analysis.verdict import PAIRS

MODELS = {"zero": ("zero", None), "zero+wire": ("zero", "auto"),
          "unit": ("unit", None), "liberty": ("liberty", None), "liberty+wire": ("liberty", "auto")}


def _total(fmt: str, model: str, args) -> dict:
    dm, wl = MODELS[model]
    rows = unit_cost(fmt, liberty=args.liberty, stream=args.stream, cycles=args.cycles,
                     streams=args.streams, delay_model=dm, wire_load=wl)
    return rows[0]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--liberty", default=None)
    ap.add_argument("--stream", default="gaussian")
    ap.add_argument("--cycles", type=int, default=9)
    ap.add_argument("--streams", type=int, default=64)
    ap.add_argument("--models", default="zero,zero+wire,liberty,liberty+wire")
    ap.add_argument("--pairs", default=",".join(f"{i}:{f}" for i, f in PAIRS if "+" not in i))
    args = ap.parse_args(argv)
    models = [m for m in args.models.split(",") if m]
    bad = [m for m in models if m not in MODELS]
    if bad:
        ap.error(f"unknown model(s) {bad}; allowed: {', '.join(MODELS)}")
    pairs = [tuple(p.split(":")) for p in args.pairs.split(",") if p]
    res, secs = {}, {}
    for m in models:
        t0 = time.perf_counter()
        for pair in pairs:
            for fmt in pair:
                res[(m, fmt)] = _total(fmt, m, args)
        secs[m] = time.perf_counter() - t0
        print(f"{m}: {secs[m]:.0f} s (load {open('/proc/loadavg').read().split()[0]})",
              file=sys.stderr, flush=True)
    lib = res[(models[0], pairs[0][0])]["library"]
    print(f"library {lib}, stream {args.stream}, {args.streams} streams x {args.cycles} cycles "
          f"(first cycle warm-up); dynamic energy per MAC [pJ]")
    print()
    print("| pair (INT / FP) | timing | INT pJ/MAC | FP pJ/MAC | INT/FP | glitch share INT / FP "
          "| wire share INT / FP | INT/FP vs " + models[0] + " |")
    print("|---|---|---|---|---|---|---|---|")
    for i, f in pairs:
        r0 = res[(models[0], i)]["dynamic_per_mac_pj"] / res[(models[0], f)]["dynamic_per_mac_pj"]
        for m in models:
            a, b = res[(m, i)], res[(m, f)]
            ratio = a["dynamic_per_mac_pj"] / b["dynamic_per_mac_pj"]

            def share(r, k):
                return r.get(k, 0.0) / r["dynamic_pj"] if r.get("dynamic_pj") else float("nan")
            print(f"| {i} / {f} | {m} | {a['dynamic_per_mac_pj']:.4f} | "
                  f"{b['dynamic_per_mac_pj']:.4f} | {ratio:.3f} | "
                  f"{share(a, 'glitch_pj'):.2f} / {share(b, 'glitch_pj'):.2f} | "
                  f"{share(a, 'wire_pj'):.2f} / {share(b, 'wire_pj'):.2f} | "
                  f"{ratio / r0 - 1:+.1%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
