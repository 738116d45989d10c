"""Mixed 8-bit / 4-bit block dot-product units (the study's Table 7), throughput 8-bit : 4-bit
= 1 : 2.

Both units take ``lanes`` 8-bit element pairs per cycle in 8-bit mode (``mode = 0``: one MX
block, UE8M0 scales) and ``2 * lanes`` 4-bit pairs in 4-bit mode (``mode = 1``: ``2 * lanes /
16`` NV blocks of 16, one E4M3 scale pair each). Output channel ``g`` (``dot[g]``, ``acc[g]``)
carries NV block ``g`` in 4-bit mode; channel 0 carries the MX block in 8-bit mode, when the
other channels output +0 and their accumulators hold.

* ``mxint8+nvint4`` (INT lane reuse, the study's "scheme 2"): ``2 * lanes`` int8 x (u)int4
  lanes. 8-bit mode: pair i uses lanes 2i (a x signed high nibble of b, weighted 16) and 2i+1
  (a x unsigned low nibble); 4-bit mode: lane j multiplies the sign-extended int4 codes j.
* ``mxfp8+nvfp4`` (FP lane reuse): ``lanes`` E4M3 lanes and ``lanes`` E2M1 lanes. 8-bit mode
  uses the E4M3 lanes; 4-bit mode feeds E2M1 codes to both, the E4M3 lanes through a
  value-preserving re-encoding (exponent field + 6; the study's ``S_00XX_X00`` wiring is the
  same up to a constant 2^12 folded into the exponent). Both 4-bit paths are exact before the
  normalizer, so NVFP4 results are correctly rounded, as in the single-format unit.

Results equal :func:`intfp.models.hwmodel.block_dot` for ``mxint8`` / ``nvint4`` and
``mxfp8_e4m3`` / ``nvfp4`` bit for bit (:func:`intfp.sim.mixed_vectors.mixed_vectors` checks it).
"""
from __future__ import annotations

from dataclasses import replace

from amaranth import C, Cat, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from intfp.models import hwmodel as hw
from intfp.models.formats import ELEMENT_FORMATS
from intfp.models.spec import MIXED_UNITS, NV_BLOCK

from .components import (EXP_BITS, Accumulator, AdderTree, Aligner, ComparatorTree, Dequantizer,
                         LaneMultiplier, Normalizer, check_int, validating)

__all__ = ["MIXED_UNITS", "MixedIntUnit", "MixedFPUnit"]


class _MixedBase(wiring.Component):
    @validating
    def __init__(self, name: str, lanes: int):
        self._name = name
        self._lanes = check_int("lanes", lanes, minimum=NV_BLOCK, power_of_two=True)
        self._channels = 2 * lanes // NV_BLOCK
        self.mx_spec = hw.dot_spec(MIXED_UNITS[name][0], lanes)
        self.nv_spec = hw.dot_spec(MIXED_UNITS[name][1], NV_BLOCK)
        ch = self._channels
        super().__init__({
            "mode": In(1),
            "a": In(8 * lanes), "b": In(8 * lanes),
            "a_scale": In(data.ArrayLayout(8, ch)), "b_scale": In(data.ArrayLayout(8, ch)),
            "valid": In(1), "first": In(1),
            "dot": Out(data.ArrayLayout(32, ch)), "dot_valid": Out(ch),
            "acc": Out(data.ArrayLayout(32, ch)), "acc_valid": Out(ch),
        })

    @property
    def name(self) -> str:
        return self._name

    @property
    def lanes(self) -> int:
        return self._lanes

    @property
    def channels(self) -> int:
        return self._channels

    def _channel_stage(self, m: Module, mx: dict, nv: list[dict], nv_specs: list):
        """Dequantizer, normalizer and accumulator per channel. ``mx``: the 8-bit block's
        (sum, block_exp, flags) for channel 0; ``nv[g]``: NV block g's, with its spec."""
        four = self.mode
        for g in range(self._channels):
            spec = nv_specs[g]
            deq = Dequantizer(spec)
            m.submodules[f"dequantizer_{g}"] = deq
            self._connect_deq(m, deq, nv[g], self.a_scale[g], self.b_scale[g])
            width = spec.scaled_bits
            if g == 0:
                deq_mx = Dequantizer(self.mx_spec)
                m.submodules.dequantizer_mx = deq_mx
                self._connect_deq(m, deq_mx, mx, self.a_scale[0], self.b_scale[0])
                width = max(width, self.mx_spec.scaled_bits)
                src = {p: Mux(four, getattr(deq, p), getattr(deq_mx, p))
                       for p in ("sign", "mag", "exp", "nan", "inf")}
            else:
                src = {p: getattr(deq, p) for p in ("sign", "mag", "exp", "nan", "inf")}
            norm = Normalizer(width, EXP_BITS)
            acc = Accumulator()
            m.submodules[f"normalizer_{g}"] = norm
            m.submodules[f"accumulator_{g}"] = acc
            active = Signal(name=f"active_{g}")
            m.d.comb += [
                active.eq(self.valid & (four | (g == 0))),
                [getattr(norm, p).eq(v) for p, v in src.items()],
                self.dot[g].eq(Mux(four | (g == 0), norm.result, 0)),
                self.dot_valid[g].eq(active),
                acc.value.eq(norm.result), acc.valid.eq(active), acc.first.eq(self.first),
                self.acc[g].eq(acc.acc), self.acc_valid[g].eq(acc.acc_valid),
            ]

    @staticmethod
    def _connect_deq(m, deq, src: dict, a_scale, b_scale):
        m.d.comb += [deq.a_scale.eq(a_scale), deq.b_scale.eq(b_scale), deq.sum.eq(src["sum"])]
        for p in ("block_exp", "block_nan", "block_inf", "block_inf_sign"):
            if p in src:
                m.d.comb += getattr(deq, p).eq(src[p])


class MixedIntUnit(_MixedBase):
    """MXINT8 + NVINT4 with int8 x (u)int4 lanes (see the module docstring)."""

    @validating
    def __init__(self, lanes: int = 32):
        super().__init__("mxint8+nvint4", lanes)

    def elaborate(self, platform):
        m = Module()
        k, four = self._lanes, self.mode
        n_lanes = 2 * k
        terms = []
        for j in range(n_lanes):
            pair = j // 2
            a8 = self.a[8 * pair:8 * pair + 8]
            b8 = self.b[8 * pair:8 * pair + 8]
            a4 = self.a[4 * j:4 * j + 4].as_signed()
            b4 = self.b[4 * j:4 * j + 4].as_signed()
            # 8-bit mode: even lanes take the signed high nibble, odd lanes the unsigned low one.
            nib = b8[4:8].as_signed() if j % 2 == 0 else Cat(b8[0:4], C(0, 1)).as_signed()
            la, lb = Signal(signed(8), name=f"lane_a_{j}"), Signal(signed(5), name=f"lane_b_{j}")
            m.d.comb += [la.eq(Mux(four, a4, a8.as_signed())), lb.eq(Mux(four, b4, nib))]
            prod = Signal(signed(13), name=f"product_{j}")
            m.submodules[f"multiplier_{j}"] = mul = _IntLane84()
            m.d.comb += [mul.a.eq(la), mul.b.eq(lb), prod.eq(mul.product)]
            term = Signal(signed(17), name=f"term_{j}")
            weight = prod << 4 if j % 2 == 0 else prod
            m.d.comb += term.eq(Mux(four, prod, weight))
            terms.append(term)
        group_sums = []
        for g in range(self._channels):
            tree = AdderTree(17, NV_BLOCK)
            m.submodules[f"adder_tree_{g}"] = tree
            for i in range(NV_BLOCK):
                m.d.comb += tree.terms[i].eq(terms[g * NV_BLOCK + i])
            group_sums.append(tree.sum)
        merge = AdderTree(len(group_sums[0]), self._channels)
        m.submodules.adder_tree_merge = merge
        for g, s in enumerate(group_sums):
            m.d.comb += merge.terms[g].eq(s)
        nv = [{"sum": s} for s in group_sums]
        self._channel_stage(m, {"sum": merge.sum}, nv, [self.nv_spec] * self._channels)
        return m


class _IntLane84(wiring.Component):
    """int8 x 5-bit signed lane (signed int4, or an unsigned nibble zero-extended)."""

    @validating
    def __init__(self):
        super().__init__({"a": In(signed(8)), "b": In(signed(5)), "product": Out(signed(13))})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.product.eq(self.a * self.b)
        return m


def _e2m1_as_e4m3(code):
    """Value-preserving E2M1 -> E4M3 re-encoding: exponent field + 6 (a subnormal 0.5 becomes
    the normal 2^-1), mantissa bit to the top of the 3-bit field."""
    s, e, mant = code[3], code[1:3], code[0]
    normal = e.any()
    exp4 = Mux(normal, e + 6, Mux(mant, 6, 0))
    man3 = Mux(normal, Cat(C(0, 2), mant), 0)
    return Cat(man3, exp4[:4], s)


class MixedFPUnit(_MixedBase):
    """MXFP8 (E4M3) + NVFP4 with E4M3 lanes serving E2M1 (see the module docstring)."""

    @validating
    def __init__(self, lanes: int = 32):
        super().__init__("mxfp8+nvfp4", lanes)
        e4 = ELEMENT_FORMATS["e4m3"]
        # The NV blocks on the E4M3 lanes: E4M3 arithmetic, window of the MX path, E4M3 scales.
        self.nv_on_e4m3 = hw.DotSpec(replace(self.nv_spec.fmt, name="nvfp4_on_e4m3", element=e4),
                                     NV_BLOCK, self.mx_spec.window)

    def elaborate(self, platform):
        m = Module()
        k, four = self._lanes, self.mode
        e4, e2 = ELEMENT_FORMATS["e4m3"], ELEMENT_FORMATS["e2m1"]
        fronts = []
        for side, elem, spec in (("e4m3", e4, self.mx_spec), ("e2m1", e2, self.nv_spec)):
            muls = []
            for i in range(k):
                j = i if side == "e4m3" else k + i
                mul = LaneMultiplier(elem)
                m.submodules[f"multiplier_{j}"] = mul
                a4, b4 = self.a[4 * j:4 * j + 4], self.b[4 * j:4 * j + 4]
                if side == "e4m3":
                    m.d.comb += [mul.a.eq(Mux(four, _e2m1_as_e4m3(a4), self.a[8 * i:8 * i + 8])),
                                 mul.b.eq(Mux(four, _e2m1_as_e4m3(b4), self.b[8 * i:8 * i + 8]))]
                else:   # idle (zero) in 8-bit mode
                    m.d.comb += [mul.a.eq(Mux(four, a4, 0)), mul.b.eq(Mux(four, b4, 0))]
                muls.append(mul)
            exp_bits, window = elem.ebits + 1, spec.window
            cmp = ComparatorTree(exp_bits, k)
            aln = Aligner(2 * (elem.mbits + 1), exp_bits, k, window)
            m.submodules[f"comparator_{side}"] = cmp
            m.submodules[f"aligner_{side}"] = aln
            for i, mul in enumerate(muls):
                m.d.comb += [cmp.exp[i].eq(mul.exp), cmp.lane_zero[i].eq(~mul.sig.any()),
                             cmp.lane_sign[i].eq(mul.sign),
                             cmp.lane_nan[i].eq(mul.nan), cmp.lane_inf[i].eq(mul.inf),
                             aln.sig[i].eq(mul.sig), aln.exp[i].eq(mul.exp),
                             aln.sign[i].eq(mul.sign)]
            m.d.comb += aln.max.eq(cmp.max)
            sums = []
            for h in range(k // NV_BLOCK):
                g = len(fronts) * (k // NV_BLOCK) + h
                tree = AdderTree(window + 1, NV_BLOCK)
                m.submodules[f"adder_tree_{g}"] = tree
                for i in range(NV_BLOCK):
                    m.d.comb += tree.terms[i].eq(aln.aligned[h * NV_BLOCK + i])
                sums.append(tree.sum)
            fronts.append((cmp, sums))
        (cmp4, sums4), (cmp2, sums2) = fronts
        merge = AdderTree(len(sums4[0]), len(sums4))
        m.submodules.adder_tree_merge = merge
        for h, s in enumerate(sums4):
            m.d.comb += merge.terms[h].eq(s)
        mx = {"sum": merge.sum, "block_exp": cmp4.max, "block_nan": cmp4.nan,
              "block_inf": cmp4.inf, "block_inf_sign": cmp4.inf_sign}
        nv = [{"sum": s, "block_exp": cmp4.max} for s in sums4] + \
             [{"sum": s, "block_exp": cmp2.max} for s in sums2]
        specs = [self.nv_on_e4m3] * len(sums4) + [self.nv_spec] * len(sums2)
        self._channel_stage(m, mx, nv, specs)
        return m
