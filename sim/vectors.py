"""Test vectors for the RTL units: stimulus, packing into port values, expected outputs.

A :class:`Vectors` is one simulation's worth of rows: for every cycle (or combinational step)
the packed value of each input port, and for selected output ports the value the bit-accurate
model (:mod:`intfp.models.hwmodel`) predicts, with a mask of the rows to compare. Rows are
little-endian byte strings so that ports of any width (a 32-lane block is 256 bits) travel
through ``.npz`` files to the cocotb testbench (:mod:`intfp.sim.tb_stream`) unchanged.

Row timing. Combinational units: output row ``j`` is sampled after input row ``j`` has been
applied and has settled. Clocked units: input row ``j`` is applied (on the falling clock edge);
the ports in ``Vectors.early`` (combinational outputs such as ``dot`` of an unpipelined unit, a
scalar MAC's ``product``) are sampled after the inputs settle and *before* the next rising
edge, so an output that is registered when it should be combinational is caught; every other
port (registered outputs: ``acc``, ``acc_valid``) is sampled after that rising edge.

Clocked vectors insert idle rows (``valid = 0``, holding another block's data and a random
``first``) between the stimulus rows, so that a unit that ignores ``valid`` is caught: the
expected ``acc`` holds through them and ``acc_valid`` / ``dot_valid`` are compared on every row.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from amaranth import Shape
from amaranth.lib import wiring

from intfp.models import hwmodel as hw
from intfp.models.formats import ElementFormat, element_format

__all__ = [
    "Vectors", "port_widths", "pack", "unpack", "fp32_classes", "BlockStimulus", "DISTRIBUTIONS",
    "block_stimulus", "block_vectors", "lane_vectors", "scalar_vectors", "LANE_COPIES",
    "IDLE_RATE", "zero_beside_tiny_blocks",
]

#: Multipliers side by side in the exhaustive lane test (one row = LANE_COPIES pairs).
LANE_COPIES = 64


def port_widths(component: wiring.Component) -> dict[str, tuple[str, int]]:
    """``{port: ("in" | "out", width)}`` from a component's signature."""
    out = {}
    for name, member in component.signature.members.items():
        flow = "in" if member.flow == wiring.In else "out"
        out[name] = (flow, Shape.cast(member.shape).width)
    return out


def pack(values, bits: int, width: int | None = None) -> np.ndarray:
    """Pack ``values`` (rows, k) of ``bits``-bit fields (lane i at bit i*bits) into
    little-endian byte rows (rows, ceil(width / 8)); negative values are two's complement."""
    v = np.asarray(values, dtype=np.int64)
    if v.ndim == 1:
        v = v[:, None]
    rows, k = v.shape
    width = k * bits if width is None else width
    u = v.astype(np.uint64) & np.uint64((1 << bits) - 1)
    bitarr = ((u[:, :, None] >> np.arange(bits, dtype=np.uint64)) & np.uint64(1)).astype(np.uint8)
    bitarr = bitarr.reshape(rows, k * bits)
    if width > k * bits:
        bitarr = np.pad(bitarr, ((0, 0), (0, width - k * bits)))
    return np.packbits(bitarr, axis=1, bitorder="little")


def unpack(rows: np.ndarray, bits: int, k: int = 1, signed: bool = False) -> np.ndarray:
    """Inverse of :func:`pack`: (rows, k) int64 (squeezed to (rows,) when k == 1)."""
    bitarr = np.unpackbits(np.asarray(rows, np.uint8), axis=1, bitorder="little")[:, :k * bits]
    bitarr = bitarr.reshape(len(rows), k, bits).astype(np.int64)
    v = (bitarr << np.arange(bits, dtype=np.int64)).sum(-1) if bits < 63 else None
    if v is None:
        raise ValueError("unpack supports fields narrower than 63 bits")
    if signed:
        v = np.where(v >= 1 << (bits - 1), v - (1 << bits), v)
    return v[:, 0] if k == 1 else v


@dataclass
class Vectors:
    """Input rows and expected output rows for one simulation."""

    name: str
    clocked: bool
    inputs: dict[str, np.ndarray]                  # port -> (rows, nbytes) uint8
    expect: dict[str, np.ndarray]                  # port -> (rows, nbytes) uint8
    mask: dict[str, np.ndarray]                    # port -> (rows,) bool
    fields: dict[str, tuple[int, int, bool]] = field(default_factory=dict)  # port -> (bits, k, signed)
    count: int = 0                                 # vectors (pairs, blocks) checked
    coverage: dict = field(default_factory=dict)   # port -> FP32 class counts of expected values
    early: tuple = ()                              # clocked: ports sampled before the clock edge

    @property
    def rows(self) -> int:
        return len(next(iter(self.inputs.values())))

    def save(self, path) -> Path:
        path = Path(path)
        arrays = {"meta_clocked": np.array(self.clocked),
                  "meta_early": np.array(list(self.early), dtype=str)}
        arrays |= {f"in_{k}": v for k, v in self.inputs.items()}
        arrays |= {f"exp_{k}": v for k, v in self.expect.items()}
        arrays |= {f"mask_{k}": v for k, v in self.mask.items()}
        np.savez(path, **arrays)
        return path

    def decode(self, port: str, rows: np.ndarray) -> np.ndarray:
        bits, k, signed = self.fields[port]
        return unpack(rows, bits, k, signed)


def _fp_code(elem: ElementFormat, sign, exp_field, mant):
    return (np.asarray(sign) << (elem.bits - 1)) | (np.asarray(exp_field) << elem.mbits) | mant


def _max_code(elem: ElementFormat) -> int:
    """Code (positive) of the largest finite magnitude."""
    table = elem.decode_table()
    finite = np.where(np.isfinite(table), np.abs(table), -1)
    return int(np.argmax(finite[:elem.sign_bit]))


def _negate(elem: ElementFormat, codes):
    codes = np.asarray(codes, np.int64)
    if elem.kind == "fp":
        return codes ^ elem.sign_bit
    return (-_signed(elem, codes)) & (elem.num_codes - 1)


def _signed(elem, codes):
    codes = np.asarray(codes, np.int64)
    return np.where(codes >= elem.sign_bit, codes - elem.num_codes, codes)


@dataclass
class BlockStimulus:
    """Blocks for a block unit: codes (n, k), scale codes (n,), ``first`` flags (n,), and the
    distribution each block came from."""

    a: np.ndarray
    b: np.ndarray
    a_scale: np.ndarray
    b_scale: np.ndarray
    first: np.ndarray
    kind: np.ndarray

    def __len__(self) -> int:
        return len(self.a)


#: First, so that every run (any ``n >= 1``) holds the fixed corner blocks.
DISTRIBUTIONS = ("zero_beside_tiny", "gaussian", "heavy", "uniform", "zero", "max", "subnormal",
                 "cancel", "scale_extremes", "special", "acc_overflow", "underflow")


def zero_beside_tiny_blocks(elem: ElementFormat, k: int, m: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Blocks where lanes multiply a maximum-exponent code by (+-)zero beside tiny products.

    A zero product has no exponent: the max-exponent comparator must ignore it (docs/arithmetic.md,
    comparator), or the tiny products are aligned against a huge exponent and shifted out of the
    window (issue 10: E5M2, 4 lanes, ``0x7B x 0x00`` beside ``0x01 x 0x01``; with scales 1.0 the
    result is exactly 2^-16 * 2^-16 = 2^-32, not 0). The first blocks are fixed:

    0. ``a = [max, tiny, 0, ...]``, ``b = [0, tiny, 0, ...]`` (the issue's block);
    1. the same with ``a`` and ``b`` swapped (zero on the other operand);
    2. ``b = [-0, -tiny, ...]``: negative zero and a negative tiny product (result -2^-32);
    3. ``max x 0`` in every lane except the last, which holds ``tiny x tiny``;

    then random blocks: each lane a zero product with a random top-binade code on one side (sign
    random), or a product of two small codes (subnormal or smallest-binade), at least one such lane.
    ``tiny`` is code 1 (FP: the smallest subnormal; INT: 1); ``max`` the largest finite code.
    """
    top, sign = _max_code(elem), elem.sign_bit
    zero_neg = sign if elem.kind == "fp" else 0           # INT has no -0
    tiny_neg = _negate(elem, 1)
    fixed_a = np.zeros((4, k), np.int64)
    fixed_b = np.zeros((4, k), np.int64)
    fixed_a[0, 0], fixed_a[0, 1 % k], fixed_b[0, 1 % k] = top, 1, 1
    fixed_b[1], fixed_a[1] = fixed_a[0], fixed_b[0]
    fixed_a[2, 0], fixed_a[2, 1 % k] = top, 1
    fixed_b[2, 0], fixed_b[2, 1 % k] = zero_neg, tiny_neg
    fixed_a[3, :], fixed_b[3, :] = top, 0
    fixed_a[3, -1], fixed_b[3, -1] = 1, 1
    if k == 1:                                            # one lane: zero and tiny cannot coexist
        fixed_a[:, 0], fixed_b[:, 0] = 1, 1
    if m <= 4:
        return fixed_a[:m], fixed_b[:m]
    r = m - 4
    # Top binade: FP codes with the largest finite exponent field; INT the largest magnitudes.
    if elem.kind == "fp":
        big = (top & ~((1 << elem.mbits) - 1)) | rng.integers(0, 1 << elem.mbits, (r, k))
        big = np.minimum(big, top)
        small = rng.integers(1, 2 << elem.mbits, (2, r, k))           # subnormals, lowest binade
    else:
        big = rng.integers(max(1, sign // 2), sign, (r, k))
        small = rng.integers(1, 3, (2, r, k))
    big = big | (rng.integers(0, 2, (r, k)) * sign if elem.kind == "fp" else 0)
    if elem.kind != "fp":
        big = np.where(rng.random((r, k)) < 0.5, big, _negate(elem, big))
    zero = rng.integers(0, 2, (r, k)) * zero_neg
    small = np.where(rng.random((2, r, k)) < 0.5, small, _negate(elem, small))
    is_zero = rng.random((r, k)) < 0.5
    is_zero[np.arange(r), rng.integers(0, k, r)] = False                 # >= 1 tiny lane
    zero_on_a = rng.random((r, k)) < 0.5
    a = np.where(is_zero, np.where(zero_on_a, zero, big), small[0])
    b = np.where(is_zero, np.where(zero_on_a, big, zero), small[1])
    return np.concatenate([fixed_a, a]), np.concatenate([fixed_b, b])


def block_stimulus(spec: hw.DotSpec, n: int, seed: int = 0,
                   distributions=DISTRIBUTIONS) -> BlockStimulus:
    """``n`` blocks split evenly over ``distributions`` (see ``docs/arithmetic.md``, Verification).

    ``zero_beside_tiny``: zero products with a maximum-exponent operand beside tiny products
    (:func:`zero_beside_tiny_blocks`; its four fixed blocks come first in every stimulus);
    ``gaussian`` / ``heavy``: N(0, 1) and Student-t(1.5) values x random magnitudes, quantized
    by :func:`intfp.models.quantize_codes` (realistic codes and scales); ``uniform``: every code
    and scale equally likely (NaN / Inf included); ``zero``; ``max``: +-max codes and large
    scales (block overflow to Inf); ``subnormal``: FP subnormal codes only (INT: +-1);
    ``cancel``: blocks whose products cancel exactly inside the block (lane pairs with equal and
    opposite products), and block pairs whose sum cancels in the accumulator; ``scale_extremes``: the scale codes 0x00, 0x01, 0xFE, 0xFF (E4M3: zero,
    subnormal, 448, NaN, negative); ``special``: NaN / Inf lanes (FP formats that have them);
    ``acc_overflow``: MX: runs of 8 finite same-sign blocks in [2^125, 2^128) whose running sum
    overflows the FP32 accumulator (finite + finite -> +-Inf); NV: runs of the largest blocks
    (NV block results stay below ~1.2e8: the accumulator cannot overflow); ``underflow``: MX blocks whose
    scales put the result in or just around FP32's subnormal range (NV results cannot get
    there: the smallest nonzero NV block result is 2^-20 before the tensor scale).
    """
    from intfp.models import quantize_codes

    unknown = set(distributions) - set(DISTRIBUTIONS)
    if unknown:
        raise ValueError(f"unknown distributions {sorted(unknown)}; allowed: {', '.join(DISTRIBUTIONS)}")
    rng = np.random.default_rng(seed)
    elem, k = spec.elem, spec.lanes
    nv = spec.scale == "e4m3"
    counts = np.full(len(distributions), n // len(distributions))
    counts[: n % len(distributions)] += 1
    one = 0x38 if nv else 127              # scale code of 1.0
    parts = []

    def quantized(x):
        bc = quantize_codes(x.astype(np.float32), spec.fmt, block_size=k)
        return bc.codes.reshape(-1, k).astype(np.int64), bc.scale_codes.reshape(-1).astype(np.int64)

    def random_scales(m):
        if nv:
            return rng.integers(0x08, 0x70, m), rng.integers(0x08, 0x70, m)
        return rng.integers(96, 160, m), rng.integers(96, 160, m)

    for dist, m in zip(distributions, counts):
        if m == 0:
            continue
        first = rng.random(m) < 0.25
        if dist in ("gaussian", "heavy", "scale_extremes", "special", "underflow"):
            if dist == "heavy":
                xa = rng.standard_t(1.5, (m, k)) * 10.0 ** rng.uniform(-3, 3, (m, 1))
                xb = rng.standard_t(1.5, (m, k)) * 10.0 ** rng.uniform(-3, 3, (m, 1))
            else:
                xa, xb = rng.standard_normal((m, k)), rng.standard_normal((m, k))
            a, sa = quantized(xa)
            b, sb = quantized(xb)
            if dist == "underflow" and not nv:
                # Aim the result's exponent at [-152, -120]: sa + sb - 254 + log2|unscaled| = T.
                unscaled = hw.bits_to_f32(hw.block_dot(spec.fmt, a, b, 127, 127, spec.window))
                with np.errstate(divide="ignore", invalid="ignore"):
                    lg = np.nan_to_num(np.floor(np.log2(np.abs(unscaled.astype(np.float64)))), nan=0.0,
                                       posinf=0.0, neginf=0.0).astype(np.int64)
                target = rng.integers(-152, -120, m)
                sa = rng.integers(0, 64, m)
                sb = np.clip(target + 254 - lg - sa, 0, 254)
            elif dist == "scale_extremes":
                pool = np.array([0x00, 0x01, 0x08, 0x7E, 0x7F, 0x80, 0xFE, 0xFF, one]) if nv else \
                    np.array([0x00, 0x01, 0x7F, 0xFE, 0xFF, one])
                sa, sb = rng.choice(pool, m), rng.choice(pool, m)
            elif dist == "special":
                specials = [c for c in (*elem.nan_codes, elem.inf_code) if c is not None]
                if specials:
                    lane = rng.integers(0, k, m)
                    code = rng.choice(specials, m) | (rng.integers(0, 2, m) * elem.sign_bit)
                    a[np.arange(m), lane] = code
                    both = rng.random(m) < 0.3       # a second special (e.g. +Inf and -Inf)
                    lane2 = rng.integers(0, k, m)
                    b[both, lane2[both]] = (rng.choice(specials, m) |
                                            (rng.integers(0, 2, m) * elem.sign_bit))[both]
                    zero = rng.random(m) < 0.2       # Inf x 0
                    b[zero, lane[zero]] = 0
        elif dist == "zero_beside_tiny":
            a, b = zero_beside_tiny_blocks(elem, k, m, rng)
            sa, sb = random_scales(m)
            sa[:4], sb[:4] = one, one                    # the fixed blocks: scales 1.0
        elif dist == "uniform":
            a, b = rng.integers(0, elem.num_codes, (2, m, k))
            sa, sb = rng.integers(0, 256, (2, m))
        elif dist == "zero":
            a, b = np.zeros((2, m, k), np.int64)
            sa, sb = random_scales(m)
        elif dist == "max" or (dist == "acc_overflow" and nv):
            # NV: block results stay below ~1.2e8 (16 x 36 x 448^2), so the accumulator cannot
            # reach FP32's range; runs of the largest NV blocks instead.
            top = _max_code(elem)
            if elem.kind == "int" and dist == "max":
                top = elem.sign_bit          # -2^(b-1): the largest product magnitude
            a = np.full((m, k), top)
            b = np.full((m, k), top)
            if dist == "max":
                flip = rng.random((m, k)) < 0.1
                a = np.where(flip, _negate(elem, a), a)
                sa = rng.integers(0x70, 0x7F, m) if nv else rng.integers(200, 255, m)
                sb = rng.integers(0x70, 0x7F, m) if nv else rng.integers(200, 255, m)
            else:
                sa = np.full(m, 0x7E)
                sb = np.full(m, 0x7E)
                first = np.zeros(m, bool)
                first[::8] = True
        elif dist == "acc_overflow":
            # MX: finite blocks of one sign per run of 8, scaled to [2^125, 2^128): the running
            # sum passes FLT_MAX within a run, so the accumulator's own rounding overflows
            # (finite + finite -> +-Inf), then adds finite blocks to Inf.
            a, sa = quantized(np.abs(rng.standard_normal((m, k))))
            b, sb = quantized(np.abs(rng.standard_normal((m, k))))
            first = np.zeros(m, bool)
            first[::8] = True
            run_sign = np.repeat(rng.random(-(-m // 8)) < 0.5, 8)[:m]
            a[run_sign] = _negate(elem, a[run_sign])
            unscaled = hw.bits_to_f32(hw.block_dot(spec.fmt, a, b, 127, 127, spec.window))
            with np.errstate(divide="ignore", invalid="ignore"):
                lg = np.nan_to_num(np.floor(np.log2(np.abs(unscaled.astype(np.float64)))), nan=0.0,
                                   posinf=0.0, neginf=0.0).astype(np.int64)
            target = rng.integers(125, 128, m)          # result exponent
            sa = rng.integers(127, 255, m)
            sb = np.clip(target + 254 - lg - sa, 0, 254)
            sa = np.clip(target + 254 - lg - sb, 0, 254)
        elif dist == "subnormal":
            if elem.kind == "fp":
                a, b = (_fp_code(elem, rng.integers(0, 2, (m, k)), 0,
                                 rng.integers(0, 1 << elem.mbits, (m, k))) for _ in range(2))
            else:
                a = rng.choice([1, elem.num_codes - 1, 0], (m, k))
                b = rng.choice([1, elem.num_codes - 1, 0], (m, k))
            sa, sb = random_scales(m)
        elif dist == "cancel":
            # Blocks 4i, 4i+1: products cancel exactly inside the block (lane pairs with equal
            # and opposite products, at random lanes). Blocks 4i+2, 4i+3: a block and its copy
            # with a negated, the second accumulated onto the first: acc returns to zero.
            a, sa = quantized(rng.standard_normal((m, k)))
            b, sb = quantized(rng.standard_normal((m, k)))
            half = k // 2
            intra = np.arange(m) % 4 < 2
            if not half:
                intra[:] = False
            if half and intra.any():
                a[intra, half:2 * half] = a[intra, :half]
                b[intra, half:2 * half] = _negate(elem, b[intra, :half])
                perm = np.argsort(rng.random((m, k)), axis=1)      # scatter the pairs over the lanes
                rows = np.arange(m)[:, None]
                a[intra] = a[rows, perm][intra]
                b[intra] = b[rows, perm][intra]
            src_blk = np.nonzero(~intra)[0]
            src_blk = src_blk[:len(src_blk) - len(src_blk) % 2][::2]
            src_blk = src_blk[src_blk + 1 < m]
            if len(src_blk):
                nxt = src_blk + 1
                b[nxt], sa[nxt], sb[nxt] = b[src_blk], sa[src_blk], sb[src_blk]
                a[nxt] = _negate(elem, a[src_blk])
                first[src_blk], first[nxt] = True, False
        parts.append((a, b, sa, sb, first, np.full(m, dist)))

    a, b, sa, sb, first, kind = (np.concatenate(x) for x in zip(*parts))
    first[0] = True
    return BlockStimulus(a.astype(np.int64), b.astype(np.int64), sa.astype(np.int64) & 0xFF,
                         sb.astype(np.int64) & 0xFF, first.astype(bool), kind)


def fp32_classes(bits) -> dict[str, int]:
    """How many FP32 bit patterns are NaN, +-Inf, zero, subnormal, normal (stimulus coverage)."""
    b = np.asarray(bits, np.uint32)
    e, f = (b >> 23) & 0xFF, b & 0x7FFFFF
    return {"nan": int(np.sum((e == 0xFF) & (f != 0))), "inf": int(np.sum((e == 0xFF) & (f == 0))),
            "zero": int(np.sum((e == 0) & (f == 0))), "subnormal": int(np.sum((e == 0) & (f != 0))),
            "normal": int(np.sum((e != 0) & (e != 0xFF)))}


#: Share of idle (``valid = 0``) rows inserted into clocked vectors.
IDLE_RATE = 0.125


def _idle_rows(n: int, rate: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Insert idle rows at random among ``n`` stimulus rows: returns, for every row, the index
    of the stimulus row it carries (idle rows: a random one) and the ``valid`` flags."""
    idle = rng.random(n) < rate                    # an idle row before stimulus row i
    at = np.arange(n) + np.cumsum(idle)
    total = n + int(idle.sum())
    valid = np.zeros(total, bool)
    valid[at] = True
    src = rng.integers(0, max(n, 1), total)
    src[at] = np.arange(n)
    return src, valid


def _delay(x, d: int, fill=0):
    """``x`` delayed by ``d`` rows along axis 0 (the first ``d`` rows are ``fill``)."""
    x = np.asarray(x)
    if d == 0:
        return x
    return np.concatenate([np.full((d,) + x.shape[1:], fill, x.dtype), x[:len(x) - d]])


def block_vectors(spec: hw.DotSpec, stim: BlockStimulus, pipeline: int = 0,
                  idle: float = IDLE_RATE, seed: int = 0) -> Vectors:
    """Rows for a :class:`~intfp.rtl.units.BlockDotUnit`; expected ``dot``, ``dot_valid``,
    ``acc``, ``acc_valid`` from the model.

    Idle rows (``valid = 0``, share ``idle``) are inserted among the blocks; ``pipeline``
    trailing idle rows flush the pipeline. ``dot`` / ``dot_valid`` are sampled before the clock
    edge: with ``pipeline=0`` they belong to the row's own inputs (combinational), with
    ``pipeline=1`` to the previous row's. ``acc`` / ``acc_valid`` are sampled after the edge:
    the accumulator after the row's block (``pipeline=1``: the previous row's) was added, or
    held on an idle row. ``dot`` is compared on rows that carry a valid block.
    """
    n, bits = len(stim), spec.elem.bits
    rng = np.random.default_rng(seed)
    src, valid = _idle_rows(n, idle, rng)
    valid = np.concatenate([valid, np.zeros(pipeline, bool)])
    src = np.concatenate([src, np.zeros(pipeline, np.int64)])
    rows = len(valid)
    tail = np.arange(rows) >= rows - pipeline             # flush rows: zero inputs
    a = np.where(tail[:, None], 0, stim.a[src])
    b = np.where(tail[:, None], 0, stim.b[src])
    sa = np.where(tail, 0, stim.a_scale[src])
    sb = np.where(tail, 0, stim.b_scale[src])
    first = np.where(valid, stim.first[src], rng.random(rows) < 0.5)
    dot = hw.block_dot(spec.fmt, a, b, sa, sb, spec.window, lane_arch=spec.lane_arch)  # per row
    acc = hw.accumulate(dot, first=first, valid=valid)                # holds on idle rows
    p = pipeline
    return Vectors(
        name=f"block_{spec.fmt.name}_k{spec.lanes}",
        clocked=True,
        inputs={"a": pack(a, bits), "b": pack(b, bits), "a_scale": pack(sa, 8),
                "b_scale": pack(sb, 8), "valid": pack(valid, 1), "first": pack(first, 1)},
        expect={"dot": pack(_delay(dot.astype(np.int64), p), 32),
                "dot_valid": pack(_delay(valid.astype(np.int64), p), 1),
                "acc": pack(_delay(acc.astype(np.int64), p), 32),
                "acc_valid": pack(_delay(valid.astype(np.int64), p), 1)},
        mask={"dot": _delay(valid, p, False), "dot_valid": np.ones(rows, bool),
              "acc": np.ones(rows, bool), "acc_valid": np.ones(rows, bool)},
        fields={"dot": (32, 1, False), "dot_valid": (1, 1, False), "acc": (32, 1, False),
                "acc_valid": (1, 1, False)},
        count=n,
        coverage={"dot": fp32_classes(dot[valid]), "acc": fp32_classes(acc[valid])},
        early=("dot", "dot_valid"),
    )


def _all_pairs(elem: ElementFormat):
    c = np.arange(elem.num_codes, dtype=np.int64)
    return np.repeat(c, elem.num_codes), np.tile(c, elem.num_codes)


def lane_vectors(elem, copies: int = LANE_COPIES, lane_arch: str | None = None) -> Vectors:
    """Every pair of codes through ``copies`` lane multipliers side by side (``Replicated``);
    expected products by :func:`intfp.models.hwmodel.lane_product` for ``lane_arch``."""
    elem = element_format(elem)
    a, b = _all_pairs(elem)
    rows = -(-len(a) // copies)
    a = np.resize(a, rows * copies).reshape(rows, copies)   # wraps around: repeats a few pairs
    b = np.resize(b, rows * copies).reshape(rows, copies)
    lp = hw.lane_product(elem, a, b, lane_arch)
    if elem.kind == "int":
        outs = {"product": (lp.product, 2 * elem.bits, True)}
    else:
        outs = {"sign": (lp.sign, 1, False), "exp": (lp.exp, elem.ebits + 1, False),
                "sig": (lp.sig, 2 * (elem.mbits + 1), False),
                "nan": (lp.nan.astype(np.int64), 1, False), "inf": (lp.inf.astype(np.int64), 1, False)}
    return Vectors(
        name=f"lanes_{elem.name}" + (f"_{lane_arch}" if lane_arch not in (None, "twos", "standard") else ""),
        clocked=False,
        inputs={"a": pack(a, elem.bits), "b": pack(b, elem.bits)},
        expect={p: pack(v, w) for p, (v, w, _) in outs.items()},
        mask={p: np.ones(rows, bool) for p in outs},
        fields={p: (w, copies, s) for p, (_, w, s) in outs.items()},
        count=elem.num_codes ** 2,
    )


def scalar_vectors(elem, seed: int = 0, acc_bits: int = 32, copies: int = 1,
                   limit: int | None = None) -> Vectors:
    """Every pair of codes, in random order, through ``copies`` scalar MACs side by side
    (:class:`~intfp.rtl.units.ScalarMAC`, or ``Replicated`` of it when ``copies > 1``): copy c
    takes the c-th slice of the pairs, one per cycle, with ``first`` at random (p = 1/16), so
    the product path is exhaustive and every accumulator is checked along its stream. Idle rows
    (``valid = 0`` for every copy) are inserted at random; ``product`` is sampled before the
    clock edge, ``acc`` / ``acc_valid`` after it.
    ``limit``: only the first ``limit`` pairs of the random order (a uniform sample)."""
    elem = element_format(elem)
    rng = np.random.default_rng(seed)
    a, b = _all_pairs(elem)
    order = rng.permutation(len(a))[:limit]
    rows = -(-len(order) // copies)
    a = np.resize(a[order], rows * copies).reshape(copies, rows).T      # (rows, copies)
    b = np.resize(b[order], rows * copies).reshape(copies, rows).T
    first = rng.random((rows, copies)) < 1 / 16
    first[0] = True
    # Idle rows (valid = 0 for every copy, random pairs and first) among the pair rows: the
    # products are still compared (combinational), the accumulators must hold.
    src, valid = _idle_rows(rows, IDLE_RATE, rng)
    a, b, first = a[src], b[src], np.where(valid[:, None], first[src], rng.random((len(src), copies)) < 0.5)
    rows = len(src)
    valid2 = np.broadcast_to(valid[:, None], (rows, copies))
    product = hw.scalar_mac_product(elem, a, b)
    if elem.kind == "int":
        acc = hw.int_accumulate(product.T, first.T, acc_bits, valid=valid2.T).T
        pw, aw, signed = 2 * elem.bits, acc_bits, True
    else:
        acc = hw.accumulate(product, first=first, axis=0, valid=valid2).astype(np.int64)
        pw, aw, signed = 32, 32, False
    return Vectors(
        name=f"scalar_{elem.name}",           # the space (every pair), whatever the harness width
        clocked=True,
        inputs={"a": pack(a, elem.bits), "b": pack(b, elem.bits),
                "valid": pack(valid2.astype(np.int64), 1), "first": pack(first, 1)},
        expect={"product": pack(product.astype(np.int64), pw), "acc": pack(acc, aw),
                "acc_valid": pack(valid2.astype(np.int64), 1)},
        mask={"product": np.ones(rows, bool), "acc": np.ones(rows, bool),
              "acc_valid": np.ones(rows, bool)},
        fields={"product": (pw, copies, signed), "acc": (aw, copies, signed),
                "acc_valid": (1, copies, False)},
        early=("product",),
        count=len(order),
    )
