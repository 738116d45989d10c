"""MAC and block dot-product units, assembled from :mod:`intfp.rtl.components`.

* :class:`BlockDotUnit`: one block of ``k`` element pairs per cycle -> FP32 block result
  (``dot``) and a registered FP32 accumulator (``acc``); INT or FP elements, UE8M0 (MX) or
  E4M3 (NV) block scales.
* :class:`ScalarMAC`: ``acc <= acc + a * b`` on one element pair per cycle.
* :mod:`intfp.rtl.mixed`: the study's Table 7 mixed 8/4-bit units (``kind="mixed"``).

:func:`make_unit` is the one constructor the CLI, the simulation and the analysis tracks use.
Sub-block names (``multiplier_<i>``, ``comparator``, ``aligner``, ``adder_tree``,
``dequantizer``, ``normalizer``, ``accumulator``) are the rows of the study's Table 6.
"""
from __future__ import annotations

from amaranth import Elaboratable, Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from intfp.models.formats import ELEMENT_FORMATS, PRESETS, element_format
from intfp.models.hwmodel import DotSpec
from intfp.models.spec import MAX_PIPELINE, MIXED_UNITS, UNIT_KINDS, UnitSpec, resolve_unit

from .lanes import IntLaneMultiplier, SignMagAdderTree
from .components import (EXP_BITS, Accumulator, AdderTree, Aligner, ComparatorTree, Dequantizer,
                         IntAccumulator, LaneMultiplier, Normalizer, check_int, validating)

__all__ = ["BlockDotUnit", "ScalarMAC", "make_unit", "unit_names", "UNIT_KINDS"]


class BlockDotUnit(wiring.Component):
    """Block dot product with a registered FP32 accumulator.

    Ports (``k`` = lanes, ``b`` = element bits):

    ``a``, ``b`` (in, k x b bits; lane i in bits [i*b, (i+1)*b)): element codes;
    ``a_scale``, ``b_scale`` (in, 8): block scale codes (UE8M0 for MX, E4M3 for NV);
    ``valid`` (in): the inputs hold a block; ``first`` (in): this block starts a new sum;
    ``dot`` (out, 32): FP32 bits of the block result at the normalizer;
    ``dot_valid`` (out): ``dot`` belongs to a valid block;
    ``acc`` (out, 32): the accumulator, updated on the clock edge after ``dot_valid``;
    ``acc_valid`` (out): ``acc`` was updated on the last edge.

    ``pipeline`` (0 to :data:`~intfp.models.spec.MAX_PIPELINE`) is the number of register
    levels between the inputs and ``dot``, placed at sub-block boundaries in this order: after
    the adder tree (1), after the lane multipliers (2), after the normalizer (3). Each level is
    its own sub-block (``pipe_tree``, ``pipe_lanes``, ``pipe_norm``) so its flops are reported
    apart; ``dot`` lags the inputs by ``pipeline`` cycles and ``acc`` by one more. ``pipeline=0``:
    inputs to ``dot`` are combinational (the study's single-cycle unit).
    """

    @validating
    def __init__(self, spec: DotSpec, *, pipeline: int = 0):
        if not isinstance(spec, DotSpec):
            raise ValueError(f"spec must be a DotSpec (intfp.models.hwmodel.dot_spec), got {spec!r}")
        if isinstance(pipeline, bool) or pipeline not in range(MAX_PIPELINE + 1):
            raise ValueError(f"pipeline must be an int from 0 to {MAX_PIPELINE}, got {pipeline!r}")
        self._spec, self._pipeline = spec, pipeline
        bits = spec.elem.bits
        super().__init__({
            "a": In(data.ArrayLayout(bits, spec.lanes)),
            "b": In(data.ArrayLayout(bits, spec.lanes)),
            "a_scale": In(8), "b_scale": In(8),
            "valid": In(1), "first": In(1),
            "dot": Out(32), "dot_valid": Out(1),
            "acc": Out(32), "acc_valid": Out(1),
        })

    @property
    def spec(self) -> DotSpec:
        return self._spec

    @property
    def latency(self) -> int:
        """Clock edges from the inputs to ``acc``."""
        return self._pipeline + 1

    def elaborate(self, platform):
        m = Module()
        spec, k, levels = self._spec, self._spec.lanes, self._pipeline
        signmag_tree = spec.lane_arch == "signmag_tree"
        ports = ("sign", "exp", "sig", "nan", "inf") if spec.is_fp else \
            ("sign", "mag") if signmag_tree else ("product",)
        lanes = []
        for i in range(k):
            mul = _lane_multiplier(spec)
            m.submodules[f"multiplier_{i}"] = mul
            m.d.comb += [mul.a.eq(self.a[i]), mul.b.eq(self.b[i])]
            lanes.append({p: getattr(mul, p) for p in ports})
        side = {"a_scale": self.a_scale, "b_scale": self.b_scale,
                "valid": self.valid, "first": self.first}
        if levels >= 2:                      # register the lane products
            flat = {f"{p}_{i}": v for i, lane in enumerate(lanes) for p, v in lane.items()}
            flat = _stage(m, "pipe_lanes", flat | side)
            lanes = [{p: flat[f"{p}_{i}"] for p in ports} for i in range(k)]
            side = {n: flat[n] for n in side}

        m.submodules.dequantizer = deq = Dequantizer(spec)
        m.submodules.normalizer = norm = Normalizer(spec.scaled_bits, EXP_BITS)
        m.submodules.accumulator = acc = Accumulator()
        stage = dict(side)
        if signmag_tree:      # sign-magnitude terms, converted to two's complement once, here
            m.submodules.adder_tree = tree = SignMagAdderTree(spec.lane_bits, k)
        else:
            m.submodules.adder_tree = tree = AdderTree(spec.lane_bits, k)
        if spec.is_fp:
            m.submodules.comparator = cmp = ComparatorTree(spec.exp_bits, k)
            m.submodules.aligner = aln = Aligner(spec.product_bits, spec.exp_bits, k, spec.window)
            for i, lane in enumerate(lanes):
                m.d.comb += [
                    cmp.exp[i].eq(lane["exp"]), cmp.lane_zero[i].eq(~lane["sig"].any()),
                    cmp.lane_sign[i].eq(lane["sign"]),
                    cmp.lane_nan[i].eq(lane["nan"]), cmp.lane_inf[i].eq(lane["inf"]),
                    aln.sig[i].eq(lane["sig"]), aln.exp[i].eq(lane["exp"]),
                    aln.sign[i].eq(lane["sign"]), tree.terms[i].eq(aln.aligned[i]),
                ]
            m.d.comb += aln.max.eq(cmp.max)
            stage |= {"block_exp": cmp.max, "block_nan": cmp.nan, "block_inf": cmp.inf,
                      "block_inf_sign": cmp.inf_sign}
        elif signmag_tree:
            for i, lane in enumerate(lanes):
                m.d.comb += [tree.sign[i].eq(lane["sign"]), tree.mag[i].eq(lane["mag"])]
        else:
            for i, lane in enumerate(lanes):
                m.d.comb += tree.terms[i].eq(lane["product"])
        stage["sum"] = tree.sum
        if levels >= 1:                      # register the adder-tree output
            stage = _stage(m, "pipe_tree", stage)

        m.d.comb += [getattr(deq, name).eq(value) for name, value in stage.items()
                     if name not in ("valid", "first")]
        m.d.comb += [norm.sign.eq(deq.sign), norm.mag.eq(deq.mag), norm.exp.eq(deq.exp),
                     norm.nan.eq(deq.nan), norm.inf.eq(deq.inf)]
        out = {"result": norm.result, "valid": stage["valid"], "first": stage["first"]}
        if levels >= 3:                      # register the normalized block result
            out = _stage(m, "pipe_norm", out)
        m.d.comb += [
            self.dot.eq(out["result"]), self.dot_valid.eq(out["valid"]),
            acc.value.eq(out["result"]), acc.valid.eq(out["valid"]), acc.first.eq(out["first"]),
            self.acc.eq(acc.acc), self.acc_valid.eq(acc.acc_valid),
        ]
        return m


def _lane_multiplier(spec: DotSpec):
    """The lane multiplier of ``spec.lane_arch`` (see :data:`intfp.models.hwmodel.LANE_ARCHS`):
    today's :class:`~intfp.rtl.components.LaneMultiplier` for ``twos`` and FP ``standard``, else
    :class:`~intfp.rtl.lanes.IntLaneMultiplier`."""
    arch = spec.lane_arch
    if spec.is_fp or arch == "twos":
        return LaneMultiplier(spec.elem)
    if arch == "signmag_tree":
        return IntLaneMultiplier(spec.elem, "signmag", output="signmag")
    return IntLaneMultiplier(spec.elem, arch)


class _StageRegister(Elaboratable):
    """One pipeline level: a register per value, in a submodule of its own (so synthesis reports
    its flops as a sub-block)."""

    def __init__(self, values: dict):
        self.d = {n: Signal.like(v, name=f"d_{n}") for n, v in values.items()}
        self.q = {n: Signal.like(v, name=f"q_{n}") for n, v in values.items()}

    def elaborate(self, platform):
        m = Module()
        m.d.sync += [self.q[n].eq(self.d[n]) for n in self.d]
        return m


def _stage(m: Module, name: str, values: dict) -> dict:
    reg = _StageRegister(values)
    m.submodules[name] = reg
    m.d.comb += [reg.d[n].eq(v) for n, v in values.items()]
    return reg.q


class ScalarMAC(wiring.Component):
    """Scalar multiply-accumulate ``acc <= acc + a * b`` (``0 + a * b`` when ``first``).

    INT elements: ``product`` (signed 2b bits) is the exact code product and ``acc`` a signed
    ``acc_bits`` integer that wraps. FP elements: ``product`` is the exact product as FP32 bits
    (every product of two 8-bit-or-narrower FP elements is exact in FP32) and ``acc`` an FP32
    register, so ``acc + a * b`` is rounded once (RNE).
    """

    @validating
    def __init__(self, elem, *, acc_bits: int | None = None):
        elem = element_format(elem)     # ValueError names the bad value and the grammar
        self._elem = elem
        if elem.kind == "int":
            self._acc_bits = check_int("acc_bits", 32 if acc_bits is None else acc_bits,
                                       minimum=2 * elem.bits)
            product, acc = signed(2 * elem.bits), signed(self._acc_bits)
        else:
            if acc_bits not in (None, 32):
                raise ValueError(f"acc_bits must be 32 (FP32) for FP elements, got {acc_bits!r}")
            self._acc_bits = 32
            product, acc = 32, 32
        super().__init__({"a": In(elem.bits), "b": In(elem.bits), "valid": In(1), "first": In(1),
                          "product": Out(product), "acc": Out(acc), "acc_valid": Out(1)})

    @property
    def elem(self):
        return self._elem

    @property
    def acc_bits(self) -> int:
        return self._acc_bits

    def elaborate(self, platform):
        m = Module()
        elem = self._elem
        m.submodules.multiplier_0 = mul = LaneMultiplier(elem)
        m.d.comb += [mul.a.eq(self.a), mul.b.eq(self.b)]
        if elem.kind == "int":
            m.submodules.accumulator = acc = IntAccumulator(2 * elem.bits, self._acc_bits)
            m.d.comb += self.product.eq(mul.product)
        else:
            m.submodules.normalizer = norm = Normalizer(2 * (elem.mbits + 1), EXP_BITS)
            m.submodules.accumulator = acc = Accumulator()
            m.d.comb += [
                norm.sign.eq(mul.sign), norm.mag.eq(mul.sig),
                norm.exp.eq(mul.exp - 2 * elem.bias - 2 * elem.mbits),
                norm.nan.eq(mul.nan), norm.inf.eq(mul.inf),
                self.product.eq(norm.result),
            ]
        m.d.comb += [acc.value.eq(self.product), acc.valid.eq(self.valid),
                     acc.first.eq(self.first), self.acc.eq(acc.acc),
                     self.acc_valid.eq(acc.acc_valid)]
        return m


def unit_names(kind: str = "block") -> list[str]:
    """Format names :func:`make_unit` accepts for ``kind``."""
    if kind == "block":
        return list(PRESETS)
    if kind == "scalar":
        return list(ELEMENT_FORMATS)
    if kind == "mixed":
        return list(MIXED_UNITS)
    raise ValueError(f"kind must be one of {', '.join(UNIT_KINDS)}, got {kind!r}")


def make_unit(unit: str | UnitSpec, *, kind: str | None = None, lanes: int | None = None,
              **params) -> wiring.Component:
    """Build the Amaranth component of a unit: a :class:`~intfp.models.spec.UnitSpec`, or the
    words of :func:`~intfp.models.spec.resolve_unit` (``"mxint8"``, ``"e4m3"``,
    ``"mxfp8+nvfp4"``; ``kind``, ``lanes``, ``window=``, ``pipeline=``). The component's
    ``unit`` attribute is the spec it was built from."""
    unknown = set(params) - {"window", "pipeline", "lane_arch"}
    if unknown:
        raise ValueError(f"unknown parameter(s) {', '.join(sorted(unknown))}; allowed: kind, "
                         f"lanes, window, pipeline, lane_arch")
    spec = resolve_unit(unit, kind, lanes, params.get("window"), params.get("pipeline", 0),
                        params.get("lane_arch"))
    if spec.kind == "block":
        comp = BlockDotUnit(spec.dot, pipeline=spec.pipeline)          # the dot carries lane_arch
    elif spec.kind == "scalar":
        comp = ScalarMAC(spec.elem, acc_bits=spec.acc_bits)
    else:
        from .mixed import MixedFPUnit, MixedIntUnit
        comp = (MixedFPUnit if spec.name == "mxfp8+nvfp4" else MixedIntUnit)(spec.lanes)
    comp.unit = spec
    return comp
