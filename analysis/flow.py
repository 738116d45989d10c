"""The per-format cost flow: RTL unit -> Yosys mapping -> area, delay, activity energy -> rows.

:func:`unit_cost` runs one (format, kind, lanes, library, stream) point and returns report rows
(one per sub-block plus ``total``), cached by content hash of everything that determines them
(RTLIL text, parameters, library file hash, Yosys version, stream and simulation settings) in
``.cache/intfp/``; the key (:func:`intfp.cache.result_key`) includes the source of every module
this one can import, so any change to the flow, the models or the RTL recomputes. :func:`sweep` runs many points in parallel processes with a progress bar and
returns a :class:`pandas.DataFrame`.

Designs come from :func:`intfp.rtl.units.make_unit` (the project's MX / NV units) when that
module is importable; the built-in calibration designs of :mod:`intfp.analysis.designs`
(``mac8``: 8x8 -> 24-bit INT MAC; ``tinydot``: a 2-lane INT4 dot product with named
sub-blocks) are always available.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from intfp.cache import cache_dir, cache_get, cache_put, result_key
from intfp.models.formats import SCALE_BINADE_STEP, SCALE_ONE_CODE, block_format
from intfp.models.spec import LANE_ARCHS, UnitSpec, pack_lanes, resolve_unit
from .liberty import read_liberty
from .yosys import resolve_liberty, synthesize, yosys_version

__all__ = ["Design", "design_for", "synthetic_stream", "unit_inputs", "unit_cost", "unit_cost_key",
           "sweep", "STREAM_KINDS", "BUILTIN_DESIGNS"]

STREAM_KINDS = ("gaussian", "heavy", "random")
BUILTIN_DESIGNS = ("mac8", "tinydot")


@dataclass
class Design:
    """An elaborated unit ready for Yosys: its spec (None for the built-in calibration designs),
    its component and its RTLIL text."""

    unit: UnitSpec | None
    name: str                  # the spec's canonical name, or the built-in design's
    kind: str                  # "block" | "scalar" | "mixed" | "builtin"
    lanes: int
    top: str
    rtlil: str
    component: Any
    elem_bits: int

    @property
    def fmt(self) -> str:
        return self.name


def design_for(unit: str | UnitSpec, *, kind: str | None = None, lanes: int | None = None,
               **params) -> Design:
    """Elaborate a unit (a :class:`~intfp.models.spec.UnitSpec` or the words of
    :func:`~intfp.models.spec.resolve_unit`) or a built-in design (``mac8``, ``tinydot``) and
    convert it to RTLIL (Amaranth's RTLIL backend needs no Yosys)."""
    from amaranth.back import rtlil

    from intfp.rtl.units import make_unit

    from .designs import IntMac, TinyDot
    if isinstance(unit, str) and unit.lower() in BUILTIN_DESIGNS:
        key = unit.lower()
        comp = IntMac(8, 24) if key == "mac8" else TinyDot(2 if lanes is None else lanes, 4, 16)
        n = 1 if key == "mac8" else comp.lanes
        return Design(None, key, "builtin", n, key, rtlil.convert(comp, name=key, emit_src=False),
                      comp, comp.width)
    spec = resolve_unit(unit, kind, lanes, params.pop("window", None), params.pop("pipeline", 0),
                        params.pop("lane_arch", None))
    if params:
        raise ValueError(f"unknown parameter(s) {', '.join(sorted(params))}; allowed: kind, "
                         f"lanes, window, pipeline, lane_arch")
    comp = make_unit(spec)
    return Design(spec, spec.name, spec.kind, spec.lanes, spec.top,
                  rtlil.convert(comp, name=spec.top, emit_src=False), comp, spec.elem.bits)


# ---------------------------------------------------------------------------------------------
# Operand streams
# ---------------------------------------------------------------------------------------------
def synthetic_stream(fmt: str, kind: str, nblocks: int, k: int, seed: int = 0) -> dict:
    """Synthetic operands for a block unit: ``a_codes``/``b_codes`` uint8 ``(nblocks, k)``,
    ``a_scales``/``b_scales`` uint8 ``(nblocks,)``.

    ``gaussian``: N(0, 1) tensors quantized with :func:`intfp.models.quantize_codes`;
    ``heavy``: Student-t (3 degrees of freedom) tensors, quantized the same way (large crest
    factor, the study's outlier regime); ``random``: uniformly random element-code bits with
    scale codes drawn near 2^0 (+-4 binades), i.e. maximal input activity.
    """
    if kind not in STREAM_KINDS:
        raise ValueError(f"unknown stream kind {kind!r}; allowed: {', '.join(STREAM_KINDS)} or "
                         f"a .npz path")
    rng = np.random.default_rng(seed)
    if kind == "random":
        bf = block_format(fmt)
        bits = bf.element.bits
        out = {f"{s}_codes": rng.integers(0, 1 << bits, (nblocks, k), dtype=np.uint8) for s in "ab"}
        one, step = SCALE_ONE_CODE[bf.scale.name], SCALE_BINADE_STEP[bf.scale.name]
        for s in "ab":
            out[f"{s}_scales"] = (one + rng.integers(-4, 5, nblocks) * step).astype(np.uint8)
        return out
    from intfp.models import quantize_codes
    out = {}
    for s in "ab":
        x = rng.standard_normal((nblocks, k)) if kind == "gaussian" else \
            rng.standard_t(3, (nblocks, k))
        q = quantize_codes(x.astype(np.float32), fmt, block_size=k)
        out[f"{s}_codes"] = np.asarray(q.codes, dtype=np.uint8).reshape(nblocks, k)
        sc = q.scale_codes if q.scale_codes is not None else np.zeros(nblocks)
        out[f"{s}_scales"] = np.asarray(sc, dtype=np.uint8).reshape(nblocks)
    return out


def load_stream(path: str | os.PathLike, fmt: str | None = None) -> dict:
    """The first stream of a workload ``.npz`` (:func:`intfp.models.workloads.streams.
    load_streams`) whose format is ``fmt`` (aliases resolved; any stream if ``fmt`` is None).
    A file without a stream of that format is an error naming the formats it has."""
    from intfp.models.formats import block_format
    from intfp.models.workloads.streams import load_streams
    streams = load_streams(path)
    if not streams:
        raise ValueError(f"no operand streams in {path}")

    def canon(f):
        try:
            return block_format(f).name
        except ValueError:
            return str(f).lower()

    cands = [s for s in streams.values() if fmt is None or canon(s.fmt) == canon(fmt)]
    if not cands:
        raise ValueError(f"{path} has no operand stream in format {fmt!r}; it has "
                         f"{sorted({s.fmt for s in streams.values()})}")
    s = cands[0]
    return {"a_codes": s.a_codes, "b_codes": s.b_codes, "a_scales": s.a_scales,
            "b_scales": s.b_scales, "name": s.gemm, "fmt": s.fmt}


def _layout(n: int, size: int, cycles: int, streams: int) -> np.ndarray:
    """``(cycles, streams)`` indices: stream s takes items s*cycles .. (s+1)*cycles - 1."""
    return (np.arange(n) % size).reshape(streams, cycles).T


def _mixed_inputs(design: Design, stream, *, cycles: int, streams: int, seed: int,
                  blocks_per_sum: int, mode: int) -> dict[str, np.ndarray]:
    """Port drive of a mixed unit (``intfp.rtl.mixed``) in one mode: 8-bit mode (0) = one MX
    block of ``lanes`` 8-bit codes per cycle, scale in channel 0; 4-bit mode (1) = ``channels``
    NV blocks of 16 4-bit codes, one E4M3 scale pair per channel."""
    spec = design.unit
    k, ch = spec.lanes, spec.port("a_scale").lanes
    mx_fmt, nv_fmt = spec.formats
    nv_k = spec.dots[1].lanes
    n = cycles * streams
    idx = _layout(n, n, cycles, streams)

    def get(fmt, nblocks, size):
        if isinstance(stream, str) and stream in STREAM_KINDS:
            return synthetic_stream(fmt, stream, nblocks, size, seed)
        src = load_stream(stream, fmt)
        i = np.arange(nblocks) % src["a_codes"].shape[0]
        return {f: np.asarray(src[f])[i] for f in ("a_codes", "b_codes", "a_scales", "b_scales")}

    first = (np.arange(cycles)[:, None] % blocks_per_sum == 0) & np.ones((1, streams), bool)
    ones = np.ones((cycles, streams), dtype=np.int64)
    out = {"mode": ones * mode, "valid": ones, "first": first.astype(np.int64)}
    a_bits, sc_bits = spec.port("a").bits, spec.port("a_scale").bits
    if mode == 0:
        s = get(mx_fmt, n, k)
        for x in "ab":
            out[x] = pack_lanes(s[f"{x}_codes"][idx], a_bits)
            sc = np.zeros((cycles, streams, ch), dtype=np.uint8)
            sc[..., 0] = s[f"{x}_scales"][idx]
            out[f"{x}_scale"] = pack_lanes(sc, sc_bits)
    else:
        s = get(nv_fmt, n * ch, nv_k)
        for x in "ab":
            codes = s[f"{x}_codes"].reshape(n, ch * nv_k)[idx]
            out[x] = pack_lanes(codes, spec.dots[1].elem.bits)
            out[f"{x}_scale"] = pack_lanes(s[f"{x}_scales"].reshape(n, ch)[idx], sc_bits)
    return out


def unit_inputs(design: Design, stream: dict | str, *, cycles: int, streams: int,
                seed: int = 0, blocks_per_sum: int = 8, mode: int = 0) -> dict[str, np.ndarray]:
    """Port drive arrays ``(cycles, streams[, bits])`` for :meth:`Netlist.simulate`.

    Block units get one block per cycle (``valid`` = 1, ``first`` = 1 every
    ``blocks_per_sum`` blocks, i.e. a dot product of ``blocks_per_sum * k`` elements); scalar
    MACs one element pair per cycle; mixed units run in ``mode`` (0: 8-bit, 1: 4-bit, see
    :func:`_mixed_inputs`). ``stream`` is a kind name or a dict as returned by
    :func:`synthetic_stream` / :func:`load_stream`; simulation stream ``s`` replays the
    contiguous run of blocks ``s * cycles ... (s + 1) * cycles - 1`` (so consecutive cycles
    see consecutive blocks, as the unit would), wrapping around a shorter stream.
    """
    n = cycles * streams
    rng = np.random.default_rng(seed)
    if design.kind == "builtin":
        lo, hi = -(1 << (design.elem_bits - 1)), 1 << (design.elem_bits - 1)
        ports = ["a", "b"] if design.fmt == "mac8" else \
            [f"{s}{i}" for s in "ab" for i in range(design.lanes)]
        return {p: rng.integers(lo, hi, (cycles, streams)) for p in ports}
    if design.kind == "mixed":
        return _mixed_inputs(design, stream, cycles=cycles, streams=streams, seed=seed,
                             blocks_per_sum=blocks_per_sum, mode=mode)
    spec = design.unit
    k = spec.lanes
    if isinstance(stream, str):
        if spec.kind == "block":
            stream = synthetic_stream(spec.name, stream, n, k, seed)
        else:       # a scalar MAC: codes of its element, quantized in UE8M0 blocks of 32
            stream = synthetic_stream(spec.elem.name, stream, (n + 31) // 32, 32, seed)
    a, b = np.asarray(stream["a_codes"]), np.asarray(stream["b_codes"])
    first = (np.arange(cycles)[:, None] % blocks_per_sum == 0) & np.ones((1, streams), bool)
    ones = np.ones((cycles, streams), dtype=np.int64)
    if design.kind == "scalar":
        fa, fb = a.reshape(-1), b.reshape(-1)
        idx = _layout(n, fa.size, cycles, streams)
        return {"a": fa[idx].astype(np.int64), "b": fb[idx].astype(np.int64),
                "valid": ones, "first": first.astype(np.int64)}
    if a.shape[1] != k:
        raise ValueError(f"stream blocks have {a.shape[1]} elements but the unit has {k} lanes")
    idx = _layout(n, a.shape[0], cycles, streams)
    return {"a": pack_lanes(a[idx], spec.port("a").bits), "b": pack_lanes(b[idx], spec.port("b").bits),
            "a_scale": np.asarray(stream["a_scales"])[idx].astype(np.int64),
            "b_scale": np.asarray(stream["b_scales"])[idx].astype(np.int64),
            "valid": ones, "first": first.astype(np.int64)}


# ---------------------------------------------------------------------------------------------
# One point
# ---------------------------------------------------------------------------------------------
def _stream_id(stream) -> str | None:
    if stream is None:
        return None
    if isinstance(stream, str):
        if stream in STREAM_KINDS:
            return stream
        p = Path(stream)
        if not p.is_file():
            raise ValueError(f"stream {stream!r} is neither one of {', '.join(STREAM_KINDS)} nor "
                             f"a file")
        return "file:" + hashlib.sha256(p.read_bytes()).hexdigest()
    return "none"


def unit_cost_key(design: Design, library_sha256: str, *, stream, cycles: int, streams: int,
                  seed: int, clock_ns: float | None, booth: bool, analytic: bool,
                  delay_model: str = "zero", wire_load=None, time_step_ns: float = 0.001) -> str:
    """Cache key of :func:`unit_cost`: the elaborated design (RTLIL text and top name), the
    library file's hash, the Yosys version, the stream (name or file hash) and the simulation
    settings, and (through :func:`intfp.cache.result_key`) the source of every module this one can
    import. A missing part would let one result answer for another; tests change each part."""
    return result_key("unit_cost", __name__,
                      unit=design.unit.key() if design.unit is not None else design.name,
                      rtlil=hashlib.sha256(design.rtlil.encode()).hexdigest(), top=design.top,
                      library=library_sha256, yosys=yosys_version(),
                      stream=[_stream_id(x) for x in stream] if isinstance(stream, (list, tuple))
                      else _stream_id(stream), cycles=cycles,
                      streams=streams, seed=seed, clock_ns=clock_ns, booth=booth,
                      analytic=analytic, delay_model=delay_model, wire_load=wire_load,
                      time_step_ns=time_step_ns)


def unit_cost(fmt: str | UnitSpec, *, kind: str | None = None, lanes: int | None = None,
              liberty: str | os.PathLike | None = None, stream: str | None = "gaussian",
              cycles: int = 33, streams: int = 512, seed: int = 0, clock_ns: float | None = None,
              booth: bool = False, use_cache: bool = True, analytic: bool = True,
              delay_model: str = "zero", wire_load: bool | str | None = None,
              time_step_ns: float = 0.001, **params) -> list[dict]:
    """Synthesize one unit and return its report rows (``sub_block`` = ``total`` first).

    ``stream=None`` skips the energy simulation (area / delay only); a list of streams gives one
    set of rows per stream from one synthesis (the ``stream`` column tells them apart). Energy is per block op
    (one cycle of the unit) in ``energy_pj`` and per MAC in ``energy_per_mac_pj``, both with
    leakage at the clock period; ``dynamic_pj`` / ``dynamic_per_mac_pj`` leave leakage out (the
    study counts no leakage). Flops and their clock pins are counted in both.

    ``clock_ns``: the target period. ABC maps for it (``abc -D``), energy is per cycle at it, and
    the rows say whether the mapped unit meets it (``meets_clock``, ``slack_ns``): a unit that
    misses it is reported as such, never silently compared. None: area-oriented mapping, the
    unit running at its own critical path.

    ``delay_model`` (``zero``, ``unit``, ``liberty``) and ``wire_load`` choose how the netlist
    simulator counts transitions (:func:`intfp.analysis.energy.estimate_energy`): zero-delay
    counts functional transitions only; the timed models add glitches; ``wire_load`` adds the
    library's wire-load capacitance per net (``wire_pj``).
    """
    from .netlist import check_delay_model
    check_delay_model(delay_model)
    design = design_for(fmt, kind=kind, lanes=lanes, **params)
    lib_path = resolve_liberty(liberty)
    lib = read_liberty(lib_path)
    key = unit_cost_key(design, lib.sha256, stream=stream, cycles=cycles, streams=streams,
                        seed=seed, clock_ns=clock_ns, booth=booth, analytic=analytic,
                        delay_model=delay_model, wire_load=wire_load, time_step_ns=time_step_ns)
    if use_cache:
        hit = cache_get("unit_cost", key)
        if hit is not None:
            return hit
    if clock_ns is not None and not (isinstance(clock_ns, (int, float)) and 0 < clock_ns < 1e6):
        raise ValueError(f"clock_ns must be a positive period in ns, got {clock_ns!r}")
    res = synthesize(design.rtlil, design.top, lib_path, booth=booth,
                     abc_delay_ps=None if clock_ns is None else 1000.0 * clock_ns)
    from .netlist import Netlist
    nl = Netlist.from_yosys_json(res.netlist, lib, design.top)
    sta = nl.critical_path(wire_load=wire_load)
    timing = dict(delay_model=delay_model, wire_load=wire_load, time_step_ns=time_step_ns)
    an = None
    if analytic and design.kind == "block":
        from .analytic import analytic_cost
        try:
            an = analytic_cost(design.fmt, lanes=design.lanes, liberty=lib_path)
        except ValueError:
            an = None
    rows = []
    for one in (stream if isinstance(stream, (list, tuple)) else [stream]):
        rows += _stream_rows(design, lib, res, nl, sta, an, one, cycles=cycles, streams=streams,
                             seed=seed, clock_ns=clock_ns, booth=booth, timing=timing)
    rows = [{k: (float(v) if isinstance(v, (np.floating,)) else v) for k, v in r.items()}
            for r in rows]
    if use_cache:
        cache_put("unit_cost", key, rows)
    return rows


def _stream_rows(design: Design, lib, res, nl, sta: dict, an: dict | None, stream, *,
                 cycles: int, streams: int, seed: int, clock_ns, booth: bool,
                 timing: dict) -> list[dict]:
    """Report rows of one synthesized unit driven by one operand stream (None: area only)."""
    energy = None
    if stream is not None:
        from .energy import estimate_energy
        tclk = clock_ns if clock_ns else sta["delay_ns"]
        if design.kind == "mixed":
            runs = []
            for mode, macs in enumerate(design.unit.macs_per_cycle):
                ins = unit_inputs(design, stream, cycles=cycles, streams=streams, seed=seed,
                                  mode=mode)
                runs.append((estimate_energy(nl, ins, clock_ns=tclk, **timing), macs))
            energy = _merge_modes(runs)
        else:
            src = stream if stream in STREAM_KINDS else load_stream(stream, design.fmt)
            ins = unit_inputs(design, src, cycles=cycles, streams=streams, seed=seed)
            energy = estimate_energy(nl, ins, ops_per_cycle=1.0, clock_ns=tclk, **timing)
            energy["macs_per_cycle"] = design.unit.macs_per_cycle[0] if design.unit else design.lanes
    base = {"format": design.fmt, "kind": design.kind, "lanes": design.lanes,
            "stages": design.unit.stages if design.unit else 1,
            "lane_arch": design.unit.lane_arch if design.unit else None,
            "library": lib.name, "booth": booth, "delay_model": timing["delay_model"],
            "stream": stream if stream in (None, *STREAM_KINDS) else str(stream),
            "delay_ns": sta["delay_ns"], "fmax_mhz": sta["fmax_mhz"]}
    total = dict(base, sub_block="total", area_um2=res.area_um2, cells=res.cells,
                 sequential_area_um2=res.sequential_area_um2, clock_target_ns=clock_ns,
                 meets_clock=None if clock_ns is None else bool(sta["delay_ns"] <= clock_ns),
                 slack_ns=None if clock_ns is None else clock_ns - sta["delay_ns"])
    leak_total = sum(lib.cells[t].leakage * n for t, n in res.cell_counts.items()) * 1e-3
    total["leakage_uw"] = leak_total
    if energy:
        mpc = energy["macs_per_cycle"]
        total.update(energy_pj=energy["energy_pj"], energy_per_mac_pj=energy["energy_pj"] / mpc,
                     dynamic_pj=energy["dynamic_pj"],
                     dynamic_per_mac_pj=energy["dynamic_pj"] / mpc,
                     toggles_per_op=energy["toggles_per_cycle"], clock_ns=energy["clock_ns"],
                     switching_pj=energy["switching_pj"], internal_pj=energy["internal_pj"],
                     clock_pj=energy["clock_pj"], leakage_pj=energy["leakage_pj"],
                     **{k: energy[k] for k in ("functional_pj", "glitch_pj", "wire_pj",
                                               "glitch_share") if k in energy})
    if energy and "modes" in energy:
        for tag, e in zip(("8bit", "4bit"), energy["modes"]):
            total[f"energy_per_mac_{tag}_pj"] = e["energy_pj"] / e["macs"]
            total[f"dynamic_per_mac_{tag}_pj"] = e["dynamic_pj"] / e["macs"]
        total["dynamic_per_mac_pj"] = float(np.mean([e["dynamic_pj"] / e["macs"]
                                                     for e in energy["modes"]]))
    rows = [total]
    for name, d in res.sub_blocks.items():
        row = dict(base, sub_block=name, area_um2=d["area_um2"], cells=d["cells"],
                   leakage_uw=d["leakage_nw"] * 1e-3)
        if energy and name in energy["sub_blocks"]:
            e = energy["sub_blocks"][name]
            row.update(energy_pj=e["energy_pj"], energy_per_mac_pj=e["energy_pj"] / mpc,
                       dynamic_pj=e["dynamic_pj"], dynamic_per_mac_pj=e["dynamic_pj"] / mpc,
                       leakage_uw=e["leakage_uw"], toggles_per_op=e["toggles_per_cycle"],
                       **{k: e[k] for k in ("functional_pj", "glitch_pj", "wire_pj") if k in e})
        rows.append(row)
    if an is not None:
        total["analytic_area_um2"] = an["total"]["area_um2"]
        total["analytic_energy_pj"] = an["total"]["energy_pj"]
        # Side by side per sub-block: Table 6 rows carry the RTL's names; the multiplier
        # row covers all lanes, so each multiplier_<i> gets 1/lanes of it.
        for row in rows[1:]:
            name = row["sub_block"]
            table6_row = "multiplier" if name.startswith("multiplier_") else name
            a = an["sub_blocks"].get(table6_row)
            if a is not None:
                share = 1.0 / design.lanes if table6_row == "multiplier" else 1.0
                row["analytic_area_um2"] = a["area_um2"] * share
                row["analytic_energy_pj"] = a["energy_pj"] * share
    return rows


def _merge_modes(runs: list[tuple[dict, int]]) -> dict:
    """Combine per-mode energy results of a mixed unit: per-cycle quantities are averaged
    (equal time in each mode) and ``macs_per_cycle`` is set so that energy / macs_per_cycle is
    the mean of the modes' energies per MAC (equal weight to 8-bit and 4-bit work)."""
    e0 = runs[0][0]
    keys = [k for k, v in e0.items() if isinstance(v, (int, float)) and k not in ("cycles", "streams")]
    out = {k: float(np.mean([e[k] for e, _ in runs])) for k in keys}
    per_mac = np.mean([e["energy_pj"] / m for e, m in runs])
    out["macs_per_cycle"] = out["energy_pj"] / per_mac
    out["sub_blocks"] = {}
    for name in e0["sub_blocks"]:
        out["sub_blocks"][name] = {k: float(np.mean([e["sub_blocks"][name][k] for e, _ in runs]))
                                   for k in e0["sub_blocks"][name]}
    out["modes"] = [dict(energy_pj=e["energy_pj"], dynamic_pj=e["dynamic_pj"], macs=m)
                    for e, m in runs]
    return out


def _stream_ids(stream):
    """Content ids of a sweep's stream argument (one or several), for the task key."""
    if isinstance(stream, (list, tuple)):
        return [_content_id(x) for x in stream]
    return _content_id(stream)


def _content_id(path_or_name) -> str | None:
    """Hash of a file argument (liberty or stream), so a changed file is a new cache key."""
    if path_or_name is None:
        return None
    p = Path(str(path_or_name))
    return hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else str(path_or_name)


def sweep_points(formats, kinds, lanes=(None,), windows=(None,), stages=(1,),
                 lane_archs=(None,)) -> list[UnitSpec | str]:
    """The units of a sweep: formats x lanes x alignment windows (FP block units only) x
    pipeline stages x lane architectures (block units only; each unit takes the names in
    ``lane_archs`` that exist for its element kind, its default if none does), each resolved
    (and so validated, with a message naming the bad value) before any work starts. Built-in
    calibration designs stay names."""
    if isinstance(kinds, str) or kinds is None:
        kinds = [kinds] * len(formats)
    known = {a for archs in LANE_ARCHS.values() for a in archs}
    bad = [a for a in lane_archs if a is not None and a not in known]
    if bad:
        raise ValueError(f"unknown lane architecture(s) {', '.join(map(repr, bad))}; allowed: "
                         + "; ".join(f"{k.upper()}: {', '.join(v)}" for k, v in LANE_ARCHS.items()))
    out: list[UnitSpec | str] = []
    for f, k in zip(formats, kinds):
        for n in lanes:
            if str(f).lower() in BUILTIN_DESIGNS:
                out.append(str(f).lower())
                continue
            base = resolve_unit(f, k, n)
            block = base.kind == "block"
            fp_block = block and base.elem.kind == "fp"
            archs = [a for a in lane_archs if a in LANE_ARCHS[base.elem.kind]] if block else []
            for w in (windows if fp_block else (None,)):
                for st in (stages if block else (1,)):
                    if isinstance(st, bool) or not isinstance(st, int) or st < 1:
                        raise ValueError(f"stages must be a whole number >= 1, got {st!r}")
                    for arch in (archs or [None]):
                        if w is None and st == 1 and arch is None:
                            out.append(base)
                        else:
                            out.append(resolve_unit(base, window=w, pipeline=st - 1, lane_arch=arch))
    return list(dict.fromkeys(out))          # e.g. a window equal to the default is one point


def sweep(formats, *, kinds: str | list[str] | None = None, lanes=(None,), libraries=(None,),
          windows=(None,), stages=(1,), lane_archs=(None,), clock_ns: float | str | None = None,
          jobs: int | None = None, scheduler: str | None = None,
          progress: bool = True, use_cache: bool = True, **kw):
    """Run :func:`unit_cost` over formats x lanes x alignment windows x pipeline stages x lane
    architectures x libraries as tasks on Dask (:func:`intfp.sweep.run_sweep`: a LocalCluster of ``jobs``
    workers, or the cluster at ``scheduler``; in this process for a single point or ``jobs=1``)
    and return a DataFrame with one row per (unit, library, sub_block). ``windows`` applies to
    FP block units only (None: the study's default). Results are cached by content hash.

    ``clock_ns``: None, each unit at its own critical path; a number, every unit mapped for that
    period (``abc -D``) and flagged where it misses it; ``"auto"``, one matched clock per
    library: the slowest unit's critical path, which every unit of the sweep meets (see
    :func:`at_common_clock`)."""
    import pandas as pd

    from intfp.sweep import check_scheduler_args, make_task, run_sweep
    check_scheduler_args(scheduler, jobs)
    if use_cache:
        cache_dir()                            # a cache path that is a file fails here, not late
    auto = clock_ns == "auto"
    if not auto and clock_ns is not None and not (isinstance(clock_ns, (int, float))
                                                  and 0 < clock_ns < 1e6):
        raise ValueError(f"clock_ns must be a positive period in ns or 'auto', got {clock_ns!r}")
    kw["clock_ns"] = None if auto else clock_ns
    points = sweep_points(formats, kinds, lanes, windows, stages, lane_archs)
    libs = [(None if lib is None else str(lib), resolve_liberty(lib)) for lib in libraries]
    tasks = []
    for unit in points:
        what = {"fmt": unit, "lanes": None} if isinstance(unit, str) else unit.key()
        for lib, lib_path in libs:
            params = {**what, "liberty": lib, **kw, "use_cache": use_cache}
            tasks.append(make_task("intfp.analysis.flow:unit_cost", params, kind="synth",
                                   extra=[_content_id(lib_path), _stream_ids(kw.get("stream")),
                                          yosys_version()]))
    if scheduler is None and (len(tasks) <= 1 or jobs == 1):
        scheduler = "sync"
    rows = run_sweep(tasks, scheduler=scheduler, n_workers=jobs, progress=progress,
                     desc="intfp synth", use_cache=use_cache)
    df = pd.DataFrame([dict(r, window=t.params.get("window"), _o=i)
                       for i, (t, rs) in enumerate(zip(tasks, rows)) for r in rs])
    df["_t"] = (df["sub_block"] != "total").astype(int)
    df = df.sort_values(["_o", "lanes", "window", "library", "_t", "sub_block"], kind="stable",
                        na_position="first").drop(columns=["_o", "_t"]).reset_index(drop=True)
    if auto:
        df = at_common_clock(df)
    # A fixed column order (cached rows come back with sorted keys).
    first = [c for c in _LEADING_COLUMNS if c in df]
    return df[first + sorted(c for c in df.columns if c not in first)]


def at_common_clock(df, clock_ns: dict | None = None):
    """Rows re-stated at one clock per library (default: the slowest unit's critical path in
    that library, which every unit meets): ``clock_ns`` and ``clock_target_ns`` set to it,
    ``meets_clock`` / ``slack_ns`` recomputed, and the only clock-dependent energy term, leakage
    (power x period), recomputed; dynamic energy (switching, internal and flop clock pins per
    cycle) does not depend on the period. Units were mapped for area (no ``abc -D``): they
    already run at the common clock, so nothing is re-synthesized."""
    df = df.copy()
    tot = df["sub_block"] == "total"
    periods = clock_ns or {lib: float(df.loc[tot & (df["library"] == lib), "delay_ns"].max())
                           for lib in df["library"].unique()}
    t = df["library"].map(periods).astype(float)
    df["clock_ns"] = t
    df["clock_target_ns"] = t.where(tot)
    df["meets_clock"] = (df["delay_ns"] <= t).where(tot)
    df["slack_ns"] = (t - df["delay_ns"]).where(tot)
    if "dynamic_pj" in df and "leakage_uw" in df:
        leak = df["leakage_uw"] * t * 1e-3                  # uW x ns = fJ; -> pJ
        has = df["dynamic_pj"].notna()
        macs = (df["energy_pj"] / df["energy_per_mac_pj"]).where(has)
        df.loc[has, "energy_pj"] = df["dynamic_pj"] + leak
        df.loc[has, "energy_per_mac_pj"] = df["energy_pj"] / macs
        if "leakage_pj" in df:
            df.loc[tot & has, "leakage_pj"] = leak
        for tag, n in (("8bit", 1), ("4bit", 2)):            # mixed units, per mode
            col = f"energy_per_mac_{tag}_pj"
            if col in df:
                m = df[col].notna()
                df.loc[m, col] = df[f"dynamic_per_mac_{tag}_pj"] + leak / (n * df["lanes"])
        if "energy_per_mac_8bit_pj" in df:               # a mixed unit: the mean of its modes
            m = df["energy_per_mac_8bit_pj"].notna() & df["energy_per_mac_4bit_pj"].notna()
            df.loc[m, "energy_per_mac_pj"] = (df["energy_per_mac_8bit_pj"]
                                              + df["energy_per_mac_4bit_pj"]) / 2
    return df


_LEADING_COLUMNS = ("format", "kind", "lanes", "window", "lane_arch", "stages", "library", "booth", "stream",
                    "sub_block", "area_um2", "cells", "delay_ns", "clock_ns", "meets_clock", "fmax_mhz", "energy_pj", "energy_per_mac_pj",
                    "dynamic_pj", "dynamic_per_mac_pj", "leakage_uw")
