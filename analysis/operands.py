"""Operand streams of the energy runs and the port drive they become.

:func:`synthetic_stream` makes element and scale codes (Gaussian, heavy-tailed, random bits);
:func:`load_stream` reads a workload's recorded ``.npz``; :func:`unit_inputs` turns either into
the ``(cycles, streams[, bits])`` port arrays of :meth:`intfp.analysis.netlist.Netlist.simulate`,
laid out by the unit spec's ports (:class:`intfp.models.spec.Port`, lane packing
:func:`intfp.models.spec.pack_lanes`)."""
from __future__ import annotations

import os

import numpy as np

from intfp.models import quantize_codes
from intfp.models.formats import SCALE_BINADE_STEP, SCALE_ONE_CODE, block_format
from intfp.models.spec import pack_lanes
from intfp.models.workloads.streams import load_streams

from .design import Design

__all__ = ["STREAM_KINDS", "synthetic_stream", "load_stream", "unit_inputs"]

STREAM_KINDS = ("gaussian", "heavy", "random")


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
