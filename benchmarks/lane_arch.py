"""Lane architectures measured alone and as 32-lane arrays: area, delay, energy per op.

Every INT lane of ``intfp.rtl.lanes`` (and, for comparison, today's FP lanes of
``intfp.rtl.components.LaneMultiplier``) is synthesized alone onto each library
(``intfp.analysis.yosys.synthesize``, hierarchy kept), checked on every code pair on the mapped
netlist (``Netlist.simulate``, one bit-parallel step), timed (``Netlist.critical_path``) and
driven by MX-quantized operand streams (``intfp.analysis.operands.synthetic_stream``: N(0, 1)
"gaussian" and Student-t(3) "heavy" tensors, quantized with the format's block scales) to get
dynamic energy per operation (``intfp.analysis.energy.estimate_energy``, leakage excluded, as in
the study). Lane ``i`` of block ``j`` of a stream is one operation; simulation stream ``s``
replays lane ``s % 32`` of consecutive blocks, as a unit's lane sees them.

Arrays (``IntLaneArray``: 32 lanes + adder tree, the INT unit up to the dequantizer) compare
where the two's complement conversion happens: in every lane (``twos`` / ``booth`` /
``baugh_wooley`` / ``signmag`` lanes into today's ``AdderTree``) or once after summation
(``signmag`` lanes into a ``SignMagAdderTree``). FP arrays (``FPLaneArray``: 32 FP
lanes + comparator + aligner + tree) compare where the product's sign is applied: negation in
the aligner (today, ``twos``), after alignment in a sign-magnitude tree (``ones``, ``split``),
or as a ones' complement before the shift (``ones_pre``). Ratios are against the ``twos`` row
of the same library and width / format, measured in the same run.

    .venv/bin/python benchmarks/lane_arch.py                         # generic45 + nangate45, 4/6/8 bits
    .venv/bin/python benchmarks/lane_arch.py --libs generic45 --widths 8 --no-arrays
    .venv/bin/python benchmarks/lane_arch.py --json out/lane_arch.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from amaranth import Module, Signal
from amaranth.back import rtlil
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from intfp.analysis.energy import estimate_energy
from intfp.analysis.operands import synthetic_stream
from intfp.analysis.liberty import read_liberty
from intfp.analysis.netlist import Netlist
from intfp.analysis.yosys import resolve_liberty, synthesize
from intfp.models import hwmodel as hw
from intfp.models.formats import ELEMENT_FORMATS
from intfp.rtl.components import LaneMultiplier
from intfp.rtl.lanes import FP_TREES, FPLaneArray, IntLaneArray, IntLaneMultiplier

INT_LANES = [("twos", "product"), ("booth", "product"), ("baugh_wooley", "product"),
             ("signmag", "product"), ("signmag", "signmag")]
FP_OF_WIDTH = {8: ("e4m3", "mxfp8_e4m3"), 6: ("e2m3", "mxfp6_e2m3"), 4: ("e2m1", "mxfp4_e2m1")}
ARRAYS = [("twos", "twos"), ("booth", "twos"), ("baugh_wooley", "twos"), ("signmag", "twos"),
          ("signmag", "ones"), ("signmag", "ones_z"), ("signmag", "split")]
STREAMS = ("gaussian", "heavy")
K = 32                                       # MX block size: lanes of a block unit


class UnsignedCore(wiring.Component):
    """Reference, not a lane: the bare ``n x n`` unsigned product (no sign handling, no
    conversion): what a sign-magnitude lane costs if the codes were stored sign-magnitude,
    and the FP lanes' significand product."""

    def __init__(self, n: int):
        self._n = n
        super().__init__({"a": In(n), "b": In(n), "mag": Out(2 * n)})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.mag.eq(self.a * self.b)
        return m


def _lane_drive(codes_a, codes_b, cycles: int, streams: int) -> dict:
    """(nblocks, K) codes -> (cycles, streams) port values: stream g*K + i = lane i of the
    consecutive blocks g*cycles .. (g+1)*cycles - 1."""
    g = streams // K
    f = lambda c: np.asarray(c, np.int64)[:g * cycles].reshape(g, cycles, K) \
        .transpose(1, 0, 2).reshape(cycles, g * K)                          # noqa: E731
    return {"a": f(codes_a), "b": f(codes_b)}


def _array_drive(codes_a, codes_b, bits: int, cycles: int, streams: int) -> dict:
    """(nblocks, K) codes -> (cycles, streams, K*bits) bool: one block per cycle per stream."""
    def f(c):
        c = np.asarray(c, np.uint8)[:cycles * streams].reshape(streams, cycles, K).transpose(1, 0, 2)
        bit = np.unpackbits(c[..., None], axis=-1, bitorder="little")[..., :bits]
        return bit.reshape(cycles, streams, K * bits).astype(bool)
    return {"a": f(codes_a), "b": f(codes_b)}


def _signed(u, bits):
    u = np.asarray(u, dtype=np.int64) & ((1 << bits) - 1)
    return np.where(u >> (bits - 1) & 1, u - (1 << bits), u)


def _map(comp, top: str, lib_path, lib):
    t = time.perf_counter()
    res = synthesize(rtlil.convert(comp, name=top, emit_src=False), top, lib_path)
    nl = Netlist.from_yosys_json(res.netlist, lib, top)
    return res, nl, time.perf_counter() - t


def _verify_lane(nl, kind: str, bits: int, arch: str, output: str, fp: str | None) -> bool:
    """Every code pair through the mapped lane against the model (one bit-parallel step)."""
    c = np.arange(1 << bits)
    a, b = np.repeat(c, c.size), np.tile(c, c.size)
    out, _ = nl.simulate({"a": a[None], "b": b[None]}, count_toggles=False)
    out = {k: v[0] for k, v in out.items()}
    if kind == "fp":
        lp = hw.lane_product(fp, a, b)
        return all((out[f] == getattr(lp, f).astype(np.int64)).all()
                   for f in ("sign", "exp", "sig", "nan", "inf"))
    if kind == "core":
        return bool((out["mag"] == a * b).all())
    low = 1 << (bits - 1)
    if arch == "signmag":
        a, b = np.where(a == low, 0, a), np.where(b == low, 0, b)
    exp = hw.lane_product(ELEMENT_FORMATS[f"int{bits}"], a, b).product
    if output == "product":
        return bool((_signed(out["product"], 2 * bits) == exp).all())
    return bool((out["mag"] == np.abs(exp)).all())


def lane_rows(libs, widths, cycles, streams, seed, delay_model="zero"):
    rows = []
    for lib_name in libs:
        lib_path = resolve_liberty(lib_name)
        lib = read_liberty(lib_path)
        for bits in widths:
            fmt = f"mxint{bits}"
            st = {s: synthetic_stream(fmt, s, cycles * streams // K, K, seed) for s in STREAMS}
            cases = [("int", arch, out, f"{arch}" + ("/sm-out" if out == "signmag" else ""))
                     for arch, out in INT_LANES]
            cases.append(("core", None, None, f"umul {bits - 1}x{bits - 1} (ref.)"))
            if bits in FP_OF_WIDTH:
                fp, fpfmt = FP_OF_WIDTH[bits]
                fst = {s: synthetic_stream(fpfmt, s, cycles * streams // K, K, seed) for s in STREAMS}
                sig = ELEMENT_FORMATS[fp].mbits + 1
                cases += [("fp", None, None, f"fp {fp} lane"),
                          ("fpcore", None, None, f"fp {fp} sig {sig}x{sig} only")]
            for kind, arch, output, label in cases:
                if kind == "int":
                    comp = IntLaneMultiplier(bits, arch, output=output)
                elif kind == "core":
                    comp = UnsignedCore(bits - 1)
                elif kind == "fp":
                    comp = LaneMultiplier(fp)
                else:
                    comp = UnsignedCore(ELEMENT_FORMATS[fp].mbits + 1)
                res, nl, secs = _map(comp, "lane", lib_path, lib)
                if kind in ("int", "fp"):
                    ok = _verify_lane(nl, kind, bits, arch, output, fp if kind == "fp" else None)
                elif kind == "core":
                    ok = _verify_lane(nl, "core", bits - 1, None, None, None)
                else:
                    ok = _verify_lane(nl, "core", ELEMENT_FORMATS[fp].mbits + 1, None, None, None)
                row = {"library": lib.name, "bits": bits, "lane": label, "area_um2": res.area_um2,
                       "cells": res.cells, "delay_ns": nl.critical_path()["delay_ns"],
                       "verified": ok, "synth_s": secs}
                for s in STREAMS:
                    src = fst[s] if kind in ("fp", "fpcore") else st[s]
                    ins = _lane_drive(src["a_codes"], src["b_codes"], cycles, streams)
                    if kind == "core":               # the magnitudes of the INT codes
                        ins = {p: np.abs(_signed(v, bits)) & ((1 << (bits - 1)) - 1)
                               for p, v in ins.items()}
                    elif kind == "fpcore":           # the significands of the FP codes
                        f = hw.lane_fields
                        ins = {p: f(ELEMENT_FORMATS[fp], v).sig.astype(np.int64)
                               for p, v in ins.items()}
                    e = estimate_energy(nl, ins, delay_model=delay_model)
                    row[f"fj_{s}"] = e["dynamic_pj"] * 1e3
                rows.append(row)
                print(f"  {lib.name:24s} {bits} {label:26s} {res.area_um2:7.1f} um^2  "
                      f"{row['fj_gaussian']:6.1f} fJ  ({secs:.1f} s)", file=sys.stderr)
    return rows


def array_rows(libs, widths, cycles, streams, seed, delay_model="zero"):
    rows = []
    for lib_name in libs:
        lib_path = resolve_liberty(lib_name)
        lib = read_liberty(lib_path)
        for bits in widths:
            fmt = f"mxint{bits}"
            st = {s: synthetic_stream(fmt, s, cycles * streams, K, seed) for s in STREAMS}
            for arch, tree in ARRAYS:
                comp = IntLaneArray(f"int{bits}", K, arch, tree=tree)
                res, nl, secs = _map(comp, "arr", lib_path, lib)
                lanes_area = sum(d["area_um2"] for n, d in res.sub_blocks.items()
                                 if n.startswith("multiplier_"))
                row = {"library": lib.name, "bits": bits, "lanes": K, "lane": arch, "tree": tree,
                       "area_um2": res.area_um2, "lanes_um2": lanes_area,
                       "tree_um2": res.sub_blocks["adder_tree"]["area_um2"],
                       "delay_ns": nl.critical_path()["delay_ns"], "synth_s": secs}
                ok = True
                for s in STREAMS:
                    ins = _array_drive(st[s]["a_codes"], st[s]["b_codes"], bits, cycles, streams)
                    e = estimate_energy(nl, ins, delay_model=delay_model)
                    row[f"fj_per_mac_{s}"] = e["dynamic_pj"] * 1e3 / K
                    row[f"tree_fj_per_mac_{s}"] = e["sub_blocks"]["adder_tree"]["dynamic_pj"] * 1e3 / K
                    # the outputs of the first 4 cycles of every stream against the model
                    out, _ = nl.simulate({p: v[:4] for p, v in ins.items()}, count_toggles=False)
                    a = np.asarray(st[s]["a_codes"])[:cycles * streams].reshape(streams, cycles, K)
                    b = np.asarray(st[s]["b_codes"])[:cycles * streams].reshape(streams, cycles, K)
                    exp = hw.lane_product(ELEMENT_FORMATS[f"int{bits}"], a[:, :4], b[:, :4]) \
                        .product.sum(-1).T
                    ok &= bool((_signed(out["sum"], 2 * bits + 5) == exp).all())
                row["verified"] = ok
                rows.append(row)
                print(f"  {lib.name:24s} {bits} {arch}+{tree:6s} {res.area_um2:8.1f} um^2  "
                      f"{row['fj_per_mac_gaussian']:6.1f} fJ/MAC  ({secs:.1f} s)", file=sys.stderr)
    return rows


def fp_array_rows(libs, fmts, cycles, streams, seed, delay_model="zero"):
    """FP lanes + comparator + aligner + tree, for each place the sign can be applied."""
    rows = []
    for lib_name in libs:
        lib_path = resolve_liberty(lib_name)
        lib = read_liberty(lib_path)
        for fmt in fmts:
            spec = hw.dot_spec(fmt, lanes=K)
            bits = spec.elem.bits
            st = {s: synthetic_stream(fmt, s, cycles * streams, K, seed) for s in STREAMS}
            for tree in FP_TREES:
                res, nl, secs = _map(FPLaneArray(spec, tree=tree), "arr", lib_path, lib)
                sb = res.sub_blocks
                row = {"library": lib.name, "format": fmt, "lanes": K, "tree": tree,
                       "area_um2": res.area_um2,
                       "lanes_um2": sum(d["area_um2"] for n, d in sb.items()
                                        if n.startswith("multiplier_")),
                       "aligner_um2": sb["aligner"]["area_um2"],
                       "tree_um2": sb["adder_tree"]["area_um2"],
                       "delay_ns": nl.critical_path()["delay_ns"], "synth_s": secs}
                ok = True
                for s in STREAMS:
                    ins = _array_drive(st[s]["a_codes"], st[s]["b_codes"], bits, cycles, streams)
                    e = estimate_energy(nl, ins, delay_model=delay_model)
                    row[f"fj_per_mac_{s}"] = e["dynamic_pj"] * 1e3 / K
                    sub = e["sub_blocks"]
                    row[f"align_tree_fj_per_mac_{s}"] = sum(
                        sub[n]["dynamic_pj"] for n in ("aligner", "adder_tree")) * 1e3 / K
                    out, _ = nl.simulate({p: v[:4] for p, v in ins.items()}, count_toggles=False)
                    a = np.asarray(st[s]["a_codes"])[:cycles * streams].reshape(streams, cycles, K)
                    b = np.asarray(st[s]["b_codes"])[:cycles * streams].reshape(streams, cycles, K)
                    S, emax, *_ = hw.block_sum(spec, a[:, :4], b[:, :4])
                    ok &= bool((_signed(out["sum"], spec.sum_bits) == S.T).all()
                               and (out["max"] == emax.T).all())
                row["verified"] = ok
                rows.append(row)
                print(f"  {lib.name:24s} {fmt} {tree:8s} {res.area_um2:8.1f} um^2  "
                      f"{row['fj_per_mac_gaussian']:6.1f} fJ/MAC  ({secs:.1f} s)", file=sys.stderr)
    return rows


def _ratios(rows, key_fields, ref_pred, cols):
    refs = {tuple(r[k] for k in key_fields): r for r in rows if ref_pred(r)}
    for r in rows:
        ref = refs.get(tuple(r[k] for k in key_fields))
        for c in cols:
            r[f"{c}_x"] = r[c] / ref[c] if ref and ref[c] else float("nan")


def _table(rows, cols, heads):
    out = ["| " + " | ".join(heads) + " |", "|" + "|".join("---" if i < 3 else "---:"
                                                          for i in range(len(heads))) + "|"]
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c)
            if isinstance(v, bool) or v is None:
                cells.append({True: "PASS", False: "FAIL", None: "-"}[v])
            elif isinstance(v, float):
                cells.append(f"{v:.2f}" if c.endswith("_x") or c == "delay_ns" else f"{v:.1f}")
            else:
                cells.append(str(v))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--libs", default="generic45,nangate45",
                    help="comma-separated liberty aliases or paths (default: %(default)s)")
    ap.add_argument("--widths", default="4,6,8", help="INT element widths (default: %(default)s)")
    ap.add_argument("--array-widths", default="8", help="widths of the 32-lane arrays (%(default)s)")
    ap.add_argument("--cycles", type=int, default=65)
    ap.add_argument("--streams", type=int, default=512, help="a multiple of 32")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fp-arrays", default="mxfp8_e4m3,mxfp6_e2m3,mxfp4_e2m1",
                    help="FP formats of the 32-lane arrays (%(default)s)")
    ap.add_argument("--no-arrays", action="store_true", help="single lanes only")
    ap.add_argument("--delay-model", choices=("zero", "unit", "liberty"), default="zero",
                    help="energy: zero-delay toggles (default: the setting the tables of "
                         "docs/lane-architectures.md were measured with) or timed (slower)")
    ap.add_argument("--json", help="write the rows to this file")
    args = ap.parse_args(argv)
    if args.streams % K or args.streams <= 0:
        ap.error(f"--streams must be a positive multiple of {K}, got {args.streams}")
    libs = [s for s in args.libs.split(",") if s]
    widths = [int(w) for w in args.widths.split(",") if w]
    t0 = time.perf_counter()
    lanes = lane_rows(libs, widths, args.cycles, args.streams, args.seed,
                      args.delay_model)
    _ratios(lanes, ("library", "bits"), lambda r: r["lane"] == "twos",
            ("area_um2", "delay_ns", "fj_gaussian", "fj_heavy"))
    print(f"\n### One lane (dynamic energy per op, {args.cycles - 1} x {args.streams} ops per "
          f"stream; ratios against `twos`, same library and width)\n")
    print(_table(lanes, ["library", "bits", "lane", "area_um2", "area_um2_x", "delay_ns",
                         "fj_gaussian", "fj_gaussian_x", "fj_heavy", "fj_heavy_x", "verified"],
                 ["library", "bits", "lane", "area um^2", "area x", "delay ns", "fJ/op gauss",
                  "x", "fJ/op t3", "x", "every pair"]))
    arrays = []
    if not args.no_arrays:
        arrays = array_rows(libs, [int(w) for w in args.array_widths.split(",") if w],
                            args.cycles, args.streams, args.seed, args.delay_model)
        _ratios(arrays, ("library", "bits"), lambda r: r["lane"] == "twos" and r["tree"] == "twos",
                ("area_um2", "fj_per_mac_gaussian", "fj_per_mac_heavy"))
        print(f"\n### {K} lanes + adder tree (dynamic energy per MAC; ratios against twos+twos)\n")
        print(_table(arrays, ["library", "bits", "lane", "tree", "area_um2", "area_um2_x",
                              "lanes_um2", "tree_um2", "delay_ns", "fj_per_mac_gaussian",
                              "fj_per_mac_gaussian_x", "fj_per_mac_heavy", "fj_per_mac_heavy_x",
                              "tree_fj_per_mac_gaussian", "verified"],
                     ["library", "bits", "lane", "tree", "area um^2", "area x", "lanes um^2",
                      "tree um^2", "delay ns", "fJ/MAC gauss", "x", "fJ/MAC t3", "x",
                      "tree fJ/MAC gauss", "outputs"]))
    fp_arrays = []
    if not args.no_arrays and args.fp_arrays:
        fp_arrays = fp_array_rows(libs, [f for f in args.fp_arrays.split(",") if f],
                                  args.cycles, args.streams, args.seed, args.delay_model)
        _ratios(fp_arrays, ("library", "format"), lambda r: r["tree"] == "twos",
                ("area_um2", "fj_per_mac_gaussian", "fj_per_mac_heavy"))
        print(f"\n### FP: {K} lanes + comparator + aligner + tree, by where the sign is applied "
              f"(dynamic energy per MAC; ratios against twos = today)\n")
        print(_table(fp_arrays, ["library", "format", "tree", "area_um2", "area_um2_x",
                                 "aligner_um2", "tree_um2", "delay_ns", "fj_per_mac_gaussian",
                                 "fj_per_mac_gaussian_x", "fj_per_mac_heavy", "fj_per_mac_heavy_x",
                                 "align_tree_fj_per_mac_gaussian", "verified"],
                     ["library", "format", "sign", "area um^2", "area x", "aligner um^2",
                      "tree um^2", "delay ns", "fJ/MAC gauss", "x", "fJ/MAC t3", "x",
                      "aligner+tree fJ/MAC gauss", "outputs"]))
    print(f"\n({time.perf_counter() - t0:.0f} s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"lanes": lanes, "arrays": arrays, "fp_arrays": fp_arrays}, f, indent=1)
    bad = [r for r in lanes + arrays + fp_arrays if r.get("verified") is False]
    if bad:
        print(f"FAIL: {len(bad)} design(s) disagree with the model: "
              f"{[(r['library'], r['bits'], r['lane']) for r in bad]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
