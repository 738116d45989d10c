"""Reusable datapath components of the MAC and block dot-product units.

Each class is an Amaranth :class:`wiring.Component` named after a row of the study's Table 6
(arXiv 2510.25602): lane multiplier, comparator (max-exponent tree), aligner, adder tree,
normalizer, dequantizer, accumulator. All are combinational except the accumulators. The
arithmetic they implement is specified in ``docs/arithmetic.md`` and modelled bit for bit by
:mod:`intfp.models.hwmodel`.
"""
from __future__ import annotations

import functools

from amaranth import C, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from intfp.models.formats import ElementFormat, element_format
from intfp.models.hwmodel import DotSpec

__all__ = [
    "validating", "LaneMultiplier", "ComparatorTree", "Aligner", "AdderTree", "Normalizer",
    "Dequantizer", "FP32Adder", "Accumulator", "IntAccumulator", "EXP_BITS", "check_int",
]

#: Width of the signed exponent that travels from the dequantizer to the normalizer.
EXP_BITS = 12


def validating(init):
    """Decorator for a component's ``__init__``: if the parameters are rejected, the half-built
    object is not reported as an unused elaboratable (only the ValueError is)."""
    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        try:
            init(self, *args, **kwargs)
        except Exception:
            self._MustUse__silence = True
            raise
    return wrapper


def check_int(name: str, value, minimum: int = 1, power_of_two: bool = False) -> int:
    """Validate an integer parameter; ValueError names it and says what is allowed."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum or \
            (power_of_two and value & (value - 1)):
        kind = "a power of two" if power_of_two else "an int"
        raise ValueError(f"{name} must be {kind} >= {minimum}, got {value!r}")
    return value


def check_aligner(sig_bits, exp_bits, lanes, window) -> tuple[int, int, int, int]:
    """Validate an aligner's parameters (every aligner variant takes the same four)."""
    sig_bits = check_int("sig_bits", sig_bits)
    exp_bits = check_int("exp_bits", exp_bits)
    lanes = check_int("lanes", lanes, power_of_two=True)
    if isinstance(window, bool) or not isinstance(window, int) or window < sig_bits:
        raise ValueError(f"window must be an int >= {sig_bits} (one significand product), "
                         f"got {window!r}")
    return sig_bits, exp_bits, lanes, window


def _element(elem) -> ElementFormat:
    if isinstance(elem, ElementFormat):
        return elem
    return element_format(elem)         # ValueError names the bad value and the grammar


def _any(terms):
    out = Const(0)
    for t in terms:
        out = out | t
    return out


def _clog2(n: int) -> int:
    return max(0, (n - 1).bit_length())


def _leading_one(value):
    """(any bit set, index of the highest set bit) of ``value``: a log-depth tree of OR gates
    and multiplexers (the index is 0 when no bit is set)."""
    width = 1 << _clog2(len(value))
    bits = Cat(value, C(0, width - len(value)))

    def tree(lo: int, n: int):
        if n == 1:
            return bits[lo], C(0, 0)
        hi_any, hi_idx = tree(lo + n // 2, n // 2)
        lo_any, lo_idx = tree(lo, n // 2)
        return hi_any | lo_any, Cat(Mux(hi_any, hi_idx, lo_idx), hi_any)

    return tree(0, width)


class LaneMultiplier(wiring.Component):
    """One lane multiplier.

    INT elements: ``product`` is the exact signed product of the two's complement codes.
    FP elements: ``sign`` = sa ^ sb, ``exp`` = Ea + Eb (biased exponents, subnormals read as
    exponent 1), ``sig`` = (y+1) x (y+1)-bit significand product, ``nan`` (a NaN operand or
    Inf x 0) and ``inf`` (an Inf operand, not NaN).
    """

    @validating
    def __init__(self, elem):
        self._elem = elem = _element(elem)
        ports = {"a": In(elem.bits), "b": In(elem.bits)}
        if elem.kind == "int":
            ports["product"] = Out(signed(2 * elem.bits))
        else:
            ports |= {"sign": Out(1), "exp": Out(elem.ebits + 1), "sig": Out(2 * (elem.mbits + 1)),
                      "nan": Out(1), "inf": Out(1)}
        super().__init__(ports)

    @property
    def elem(self) -> ElementFormat:
        return self._elem

    def _fields(self, m: Module, code, name: str):
        e, mb = self._elem.ebits, self._elem.mbits
        mant, expf, sign = code[:mb], code[mb:mb + e], code[-1]
        mag = code[:-1]
        exp = Signal(e, name=f"{name}_exp")
        sig = Signal(mb + 1, name=f"{name}_sig")
        normal = expf.any()
        m.d.comb += [exp.eq(Mux(normal, expf, 1)), sig.eq(Cat(mant, normal))]
        nan = Const(0) if not self._elem.nan_codes else \
            _any(mag == c for c in self._elem.nan_codes)
        inf = Const(0) if self._elem.inf_code is None else (mag == self._elem.inf_code)
        return sign, exp, sig, ~mag.any(), nan, inf

    def elaborate(self, platform):
        m = Module()
        if self._elem.kind == "int":
            m.d.comb += self.product.eq(self.a.as_signed() * self.b.as_signed())
            return m
        sa, ea, ma, za, na, ia = self._fields(m, self.a, "a")
        sb, eb, mb, zb, nb, ib = self._fields(m, self.b, "b")
        nan = na | nb | (ia & zb) | (ib & za)
        m.d.comb += [
            self.sign.eq(sa ^ sb),
            self.exp.eq(ea + eb),
            self.sig.eq(ma * mb),
            self.nan.eq(nan),
            self.inf.eq((ia | ib) & ~nan),
        ]
        return m


class ComparatorTree(wiring.Component):
    """Max-exponent tree over the lanes; also reduces the lanes' NaN / Inf flags.

    Lanes whose product is zero (``lane_zero``) do not take part in the maximum (they count as
    exponent 0), so a zero times a large element does not push the other lanes out of the
    aligner's window. ``max`` is 0 when every product is zero. ``nan`` = any lane NaN, or +Inf and -Inf products both present; ``inf`` = some lane Inf and
    not ``nan``; ``inf_sign`` = sign of the Inf (1 if any -Inf).
    """

    @validating
    def __init__(self, width: int, lanes: int):
        self._width = check_int("width", width)
        self._lanes = check_int("lanes", lanes, power_of_two=True)
        super().__init__({
            "exp": In(data.ArrayLayout(unsigned(width), lanes)),
            "lane_zero": In(lanes), "lane_sign": In(lanes), "lane_nan": In(lanes),
            "lane_inf": In(lanes),
            "max": Out(width), "nan": Out(1), "inf": Out(1), "inf_sign": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        level = [Mux(self.lane_zero[i], 0, self.exp[i]) for i in range(self._lanes)]
        depth = 0
        while len(level) > 1:
            nxt = []
            for j in range(0, len(level), 2):
                s = Signal(self._width, name=f"max_l{depth}_{j // 2}")
                m.d.comb += s.eq(Mux(level[j] >= level[j + 1], level[j], level[j + 1]))
                nxt.append(s)
            level, depth = nxt, depth + 1
        pos_inf = (self.lane_inf & ~self.lane_sign).any()
        neg_inf = (self.lane_inf & self.lane_sign).any()
        nan = self.lane_nan.any() | (pos_inf & neg_inf)
        m.d.comb += [self.max.eq(level[0]), self.nan.eq(nan),
                     self.inf.eq((pos_inf | neg_inf) & ~nan), self.inf_sign.eq(neg_inf)]
        return m


class Aligner(wiring.Component):
    """Per-lane barrel shifters into the ``window``-bit fixed-point window.

    Lane i's significand product is placed with its LSB at window bit ``window - sig_bits``
    (the largest product fills the top of the window), shifted right by ``max - exp[i]``
    (bits falling below bit 0 are dropped: the magnitude is truncated), then given its sign
    (two's complement, ``window + 1`` bits).
    """

    @validating
    def __init__(self, sig_bits: int, exp_bits: int, lanes: int, window: int):
        self._sig_bits, self._exp_bits, self._lanes, self._window = \
            check_aligner(sig_bits, exp_bits, lanes, window)
        super().__init__({
            "sig": In(data.ArrayLayout(unsigned(sig_bits), lanes)),
            "exp": In(data.ArrayLayout(unsigned(exp_bits), lanes)),
            "sign": In(lanes),
            "max": In(exp_bits),
            "aligned": Out(data.ArrayLayout(signed(window + 1), lanes)),
        })

    def elaborate(self, platform):
        m = Module()
        guard = self._window - self._sig_bits
        for i in range(self._lanes):
            dist = Signal(self._exp_bits, name=f"dist_{i}")
            mag = Signal(self._window, name=f"mag_{i}")
            m.d.comb += [
                dist.eq(self.max - self.exp[i]),
                mag.eq((self.sig[i] << guard) >> dist),
                self.aligned[i].eq(Mux(self.sign[i], -mag, mag)),
            ]
        return m


class AdderTree(wiring.Component):
    """Exact binary tree sum of ``lanes`` signed ``width``-bit inputs (width + log2(lanes) out)."""

    @validating
    def __init__(self, width: int, lanes: int):
        self._width = check_int("width", width)
        self._lanes = check_int("lanes", lanes, power_of_two=True)
        super().__init__({
            "terms": In(data.ArrayLayout(signed(width), lanes)),
            "sum": Out(signed(width + _clog2(lanes))),
        })

    def elaborate(self, platform):
        m = Module()
        level, width, depth = [self.terms[i] for i in range(self._lanes)], self._width, 0
        while len(level) > 1:
            width += 1
            nxt = []
            for j in range(0, len(level), 2):
                s = Signal(signed(width), name=f"sum_l{depth}_{j // 2}")
                m.d.comb += s.eq(level[j] + level[j + 1])
                nxt.append(s)
            level, depth = nxt, depth + 1
        m.d.comb += self.sum.eq(level[0])
        return m


class Normalizer(wiring.Component):
    """(-1)^sign * mag * 2^exp -> FP32 bits, with one rounding: to nearest, ties to even.

    Gradual underflow (subnormal results, rounded the same way), overflow to +-Inf, zero keeps
    ``sign``. ``nan`` forces the canonical NaN 0x7FC00000, ``inf`` forces +-Inf with ``sign``.
    """

    @validating
    def __init__(self, mag_bits: int, exp_bits: int = EXP_BITS):
        self._mag_bits = check_int("mag_bits", mag_bits)
        self._exp_bits = check_int("exp_bits", exp_bits, minimum=2)
        super().__init__({
            "sign": In(1), "mag": In(mag_bits), "exp": In(signed(exp_bits)),
            "nan": In(1), "inf": In(1),
            "result": Out(32),
        })

    def elaborate(self, platform):
        m = Module()
        w = self._mag_bits
        # Position of the leading one (0 when mag == 0).
        lead = Signal(max(1, _clog2(w)), name="lead")
        m.d.comb += lead.eq(_leading_one(self.mag)[1])
        iw = self._exp_bits + 3 + max(w.bit_length(), 8)
        be = Signal(signed(iw))        # biased exponent if the result is normal
        te = Signal(signed(iw))        # result exponent: max(be, 1)
        rsh = Signal(signed(iw))       # right shift of mag * 2^24 giving significand*2 (guard)
        m.d.comb += [
            be.eq(self.exp + lead + 127),
            te.eq(Mux(be < 1, 1, be)),
            rsh.eq(te - self.exp - 127),   # = 23 - sh, sh the left shift onto the 24-bit grid
        ]
        full = w + 24
        amount = Signal(range(full + 1))
        m.d.comb += amount.eq(Mux(rsh > full, full, rsh))
        ext = Signal(2 * full)
        m.d.comb += ext.eq(Cat(C(0, full + 24), self.mag) >> amount)   # mag * 2^(full + 24 - amount)
        q2 = ext[full:full + 25]             # significand (24 bits) and the guard bit below it
        sticky = ext[:full].any()
        guard, q = q2[0], q2[1:]
        rounded = Signal(25)
        m.d.comb += rounded.eq(q + (guard & (sticky | q[0])))
        normal = rounded[23:].any()
        efield = Signal(signed(iw))
        m.d.comb += efield.eq(Mux(normal, te + rounded[24], 0))
        with m.If(self.nan):
            m.d.comb += self.result.eq(0x7FC00000)
        with m.Elif(self.inf | (efield >= 255)):
            m.d.comb += self.result.eq(Cat(C(0, 23), C(0xFF, 8), self.sign))
        with m.Else():
            m.d.comb += self.result.eq(Cat(rounded[:23], efield[:8], self.sign))
        return m


class Dequantizer(wiring.Component):
    """Applies the two block scales to the adder-tree sum and merges the special values.

    UE8M0 scales: two 8-bit exponent additions (NaN if either code is 0xFF). E4M3 scales: the
    product of the two scales (exact: 4 x 4-bit significands, exponent sum, sign) multiplied
    into the sum, exactly. Outputs sign-magnitude for the normalizer.
    """

    @validating
    def __init__(self, spec: DotSpec):
        if not isinstance(spec, DotSpec):
            raise ValueError(f"spec must be a DotSpec (intfp.models.hwmodel.dot_spec), got {spec!r}")
        self._spec = spec
        exp_in = spec.exp_bits if spec.is_fp else 1
        super().__init__({
            "sum": In(signed(spec.sum_bits)), "block_exp": In(exp_in),
            "block_nan": In(1), "block_inf": In(1), "block_inf_sign": In(1),
            "a_scale": In(8), "b_scale": In(8),
            "sign": Out(1), "mag": Out(spec.scaled_bits), "exp": Out(signed(EXP_BITS)),
            "nan": Out(1), "inf": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        spec = self._spec
        value = Signal(signed(spec.scaled_bits))
        scale_exp = Signal(10)
        if spec.scale == "ue8m0":
            scale_nan = (self.a_scale == 0xFF) | (self.b_scale == 0xFF)
            scale_zero, scale_sign = Const(0), Const(0)
            m.d.comb += [value.eq(self.sum), scale_exp.eq(self.a_scale + self.b_scale)]
        else:
            e4m3 = LaneMultiplier("e4m3")
            m.submodules.scale_multiplier = e4m3
            m.d.comb += [e4m3.a.eq(self.a_scale), e4m3.b.eq(self.b_scale)]
            scale_nan, scale_sign = e4m3.nan, e4m3.sign
            scale_zero = ~e4m3.sig.any()
            product = self.sum * e4m3.sig
            m.d.comb += [value.eq(Mux(scale_sign, -product, product)), scale_exp.eq(e4m3.exp)]
        m.d.comb += [
            self.sign.eq(value < 0),
            self.mag.eq(Mux(value < 0, -value, value)),
            self.exp.eq(self.block_exp + scale_exp + spec.exp_offset if spec.is_fp
                        else scale_exp + spec.exp_offset),
            self.nan.eq(self.block_nan | scale_nan | (self.block_inf & scale_zero)),
            self.inf.eq(self.block_inf & ~scale_zero),
        ]
        if spec.is_fp:
            # An Inf result carries the Inf's sign (times the scale's), not the sum's.
            with m.If(self.block_inf):
                m.d.comb += self.sign.eq(self.block_inf_sign ^ scale_sign)
        return m


class FP32Adder(wiring.Component):
    """IEEE-754 binary32 ``a + b``, round to nearest even, canonical NaN 0x7FC00000.

    The smaller operand is aligned with three extra bits and a sticky bit (exact rounding for
    addition and subtraction) and the sum goes through a :class:`Normalizer`.
    """

    @validating
    def __init__(self):
        super().__init__({"a": In(32), "b": In(32), "sum": Out(32)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.normalizer = norm = Normalizer(28)
        swap = self.b[:31] > self.a[:31]
        big = Mux(swap, self.b, self.a)
        small = Mux(swap, self.a, self.b)

        def unpack(x, name):
            e, f = x[23:31], x[:23]
            exp = Signal(8, name=f"{name}_exp")
            sig = Signal(24, name=f"{name}_sig")
            m.d.comb += [exp.eq(Mux(e.any(), e, 1)), sig.eq(Cat(f, e.any()))]
            return x[31], exp, sig, (e == 0xFF) & f.any(), (e == 0xFF) & ~f.any()

        s_big, e_big, m_big, nan_big, inf_big = unpack(big, "big")
        s_sml, e_sml, m_sml, nan_sml, inf_sml = unpack(small, "small")
        dist = Signal(8)
        amount = Signal(5)
        m.d.comb += [dist.eq(e_big - e_sml), amount.eq(Mux(dist > 27, 27, dist))]
        small3 = Cat(C(0, 3), m_sml)                       # 27 bits
        shifted = Signal(27)
        m.d.comb += shifted.eq(small3 >> amount)
        sticky = (shifted << amount)[:27] != small3
        aligned = Cat(shifted[0] | sticky, shifted[1:])
        total = Signal(28)
        m.d.comb += total.eq(Mux(s_big == s_sml, Cat(C(0, 3), m_big) + aligned,
                                 Cat(C(0, 3), m_big) - aligned))
        nan = nan_big | nan_sml | (inf_big & inf_sml & (s_big != s_sml))
        m.d.comb += [
            norm.mag.eq(total),
            norm.exp.eq(e_big - (127 + 23 + 3)),
            # x + (-x) = +0 in round-to-nearest; (-0) + (-0) = -0.
            norm.sign.eq(Mux(total.any(), s_big, self.a[31] & self.b[31])),
            norm.nan.eq(nan),
            norm.inf.eq(inf_big & ~nan),
            self.sum.eq(norm.result),
        ]
        return m


class Accumulator(wiring.Component):
    """Registered FP32 accumulator: on a clock edge with ``valid``, ``acc <= acc + value``
    (``+0 + value`` when ``first``), rounded to nearest even by an :class:`FP32Adder`."""

    @validating
    def __init__(self):
        super().__init__({"value": In(32), "valid": In(1), "first": In(1),
                          "acc": Out(32), "acc_valid": Out(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.adder = adder = FP32Adder()
        m.d.comb += [adder.a.eq(Mux(self.first, 0, self.acc)), adder.b.eq(self.value)]
        m.d.sync += self.acc_valid.eq(self.valid)
        with m.If(self.valid):
            m.d.sync += self.acc.eq(adder.sum)
        return m


class IntAccumulator(wiring.Component):
    """Registered two's complement accumulator, wrapping modulo 2^width."""

    @validating
    def __init__(self, in_bits: int, width: int):
        self._in_bits = check_int("in_bits", in_bits)
        self._width = check_int("acc_bits", width, minimum=in_bits)
        super().__init__({"value": In(signed(in_bits)), "valid": In(1), "first": In(1),
                          "acc": Out(signed(width)), "acc_valid": Out(1)})

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.acc_valid.eq(self.valid)
        with m.If(self.valid):
            m.d.sync += self.acc.eq(Mux(self.first, 0, self.acc) + self.value)
        return m
