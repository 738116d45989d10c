"""Review of the RTL arithmetic (docs/arithmetic.md), its bit-accurate model (models/hwmodel.py)
and its verification (sim/, tests/test_rtl_*.py).

Every test here states what is right per IEEE-754, docs/arithmetic.md or the study, with expected
values computed independently (exact rationals / hand arithmetic), not by the code under review.
Tests that currently fail demonstrate a defect; see the review report for each one.
"""
from fractions import Fraction

import numpy as np
import pytest
from amaranth import Module
from amaranth.lib import wiring

from intfp.models import hwmodel as hw
from intfp.models.formats import ELEMENT_FORMATS
from intfp.rtl.units import BlockDotUnit
from intfp.sim import vectors as vec
from intfp.sim.pysim import simulate_pysim


def _f32_bits(x: float) -> int:
    return int(np.float32(x).view(np.uint32))


# -- model ------------------------------------------------------------------------------------

@pytest.mark.parametrize("window", [43, 48])
def test_model_computes_nvfp4_at_every_window_dot_spec_accepts(window):
    """docs/arithmetic.md section 2: "n >= 2(y+1) is required ...; n <= 48", and dot_spec /
    make_unit accept nvfp4 with window=48 (the RTL builds and computes it: an Amaranth simulation
    of make_unit("nvfp4", window=48) gives 0x4CDC8000 for this block). The model must compute
    every unit it accepts, but hwmodel.to_fp32 (hwmodel.py:233) raises "|s| < 2^53" because for
    NV the dequantized sum S*P has up to sum_bits + 8 = 61 bits (16 lanes x 9 x 2^44 x 225 >
    2^53). So `intfp rtl verify nvfp4 --window 48` dies in the model instead of checking the RTL.

    Block: 16 lanes of 6.0 x 6.0 (E2M1 code 0x7), E4M3 scales 448 x 448 (code 0x7E): the exact
    value 16 * 36 * 448^2 = 115605504 = 441 * 2^18 is representable in FP32; every product lies
    in the window, so the block result is exactly that."""
    a = np.full((1, 16), 0x7)
    got = hw.block_dot("nvfp4", a, a, 0x7E, 0x7E, window=window)
    assert int(got[0]) == _f32_bits(16 * 6 * 6 * 448 * 448)


def test_block_dot_exact_is_exact_for_e5m2():
    """hwmodel.block_dot_exact promises "the dot product of the decoded, scaled values (no
    hardware rounding)" and dot_error calls it "exact for every format here"; docs/arithmetic.md
    section 11 calls the reference "(exact)". For E5M2 it is not: products span 2^-32 .. 2^31.8,
    so a 32-lane sum can need ~69 bits and float64 rounds it (then `.astype(float32)` in
    dot_error rounds a second time: double rounding).

    Lanes 2^15 x 2^15, 2^3 x 2^3, 2^-16 x 2^-16 (codes 0x78, 0x48, 0x01), scales 1:
    exact value 2^30 + 2^6 + 2^-32. Its correctly rounded FP32 is 2^30 + 2^7 (2^6 is exactly
    half an ulp, the 2^-32 breaks the tie upward), but float64 drops the 2^-32 and the FP32 cast
    of the float64 ties to even, 2^30."""
    t = ELEMENT_FORMATS["e5m2"].decode_table()
    assert (t[0x78], t[0x48], t[0x01]) == (2.0 ** 15, 2.0 ** 3, 2.0 ** -16)
    a = np.zeros((1, 32), np.int64)
    a[0, :3] = [0x78, 0x48, 0x01]
    exact = Fraction(2) ** 30 + Fraction(2) ** 6 + Fraction(2) ** -32
    ref = hw.block_dot_exact("mxfp8_e5m2", a, a, 127, 127)[0]
    # (was `Fraction(float(ref)) == exact`: no float64 can hold this 63-bit-wide value, so the
    # exact reference cannot be a float; it is compared as a rational, and its FP32 rounding.)
    assert Fraction(ref) == exact
    assert int(hw.exact_to_fp32([ref])[0]) == _f32_bits(2.0 ** 30 + 2.0 ** 7)


# -- verification: does the stimulus reach the corners the docs promise? -----------------------

@pytest.mark.parametrize("fmt", ["mxfp8_e4m3", "mxint8", "nvfp4"])
def test_cancel_distribution_has_blocks_that_cancel_exactly(fmt):
    """docs/arithmetic.md section 13 and sim/vectors.py:152 promise "exactly cancelling blocks"
    (blocks whose products cancel exactly) besides accumulator cancellation. block_stimulus
    builds them (vectors.py:251-254) and then overwrites every even block's `a` with fresh data
    and makes every odd block the negation of the even one (vectors.py:256-259), so at most one
    block per run (the last one when the count is odd) still cancels inside the block: 1 of 91
    `cancel` blocks for n = 1000, 0 of 14 in the pysim tests (n = 150). The block-level "exact
    cancellation to +0" corner is therefore practically untested on the RTL.

    Checked independently: sum of the decoded products (exact in float64 for these formats)
    is zero while some product is nonzero. At least a quarter of the `cancel` blocks should be
    such blocks."""
    spec = hw.dot_spec(fmt)
    st = vec.block_stimulus(spec, 1000, seed=0)
    table = spec.elem.decode_table()
    prods = table[st.a] * table[st.b]
    sel = st.kind == "cancel"
    intra = (prods.sum(-1) == 0) & (prods != 0).any(-1) & sel
    assert intra.sum() >= sel.sum() // 4, f"{intra.sum()} of {sel.sum()} cancel blocks cancel exactly"


@pytest.mark.parametrize("fmt", ["mxfp8_e4m3", "mxint8", "mxfp4_e2m1"])
def test_acc_overflow_distribution_overflows_the_accumulator(fmt):
    """docs/arithmetic.md section 13 lists "accumulator overflow to Inf" among the corners, and
    block_stimulus has an `acc_overflow` distribution for it ("runs that overflow the FP32
    accumulator", vectors.py:155). But with scale codes 190 + 190 (vectors.py:236) every such MX
    block is already Inf on its own (e.g. E4M3: 32 * 448^2 * 2^126 = 5.4e44 > FLT_MAX), so the
    accumulator only ever adds Inf; the IEEE case finite + finite -> Inf (RNE overflow in the
    FP32Adder, the accumulator's own rounding point) never occurs in any preset's stimulus
    (NV block results are at most ~1.2e8, so it cannot occur there at all).

    Checked: at least one accumulator step with a finite accumulator and a finite block result
    whose sum is +-Inf."""
    spec = hw.dot_spec(fmt)
    st = vec.block_stimulus(spec, 1000, seed=0)
    dot = hw.block_dot(spec.fmt, st.a, st.b, st.a_scale, st.b_scale, spec.window)
    acc = hw.accumulate(dot, first=st.first)
    prev = np.concatenate([[0], acc[:-1]]).astype(np.uint32)
    prev[st.first] = 0

    def finite(bits):
        return (bits & 0x7F800000) != 0x7F800000

    steps = finite(prev) & finite(dot) & ((acc & 0x7FFFFFFF) == hw.FP32_INF)
    assert steps.sum() >= 1


# -- verification: would the shipped checks catch a wrong RTL? ---------------------------------

class _Mutant(wiring.Component):
    """A BlockDotUnit with one deliberate defect, same ports (for mutation tests)."""

    def __init__(self, spec, defect):
        self._inner = BlockDotUnit(spec)
        self._defect = defect
        super().__init__(dict(self._inner.signature.members.items()))

    def elaborate(self, platform):
        m = Module()
        m.submodules.inner = inner = self._inner
        for name, member in inner.signature.members.items():
            if member.flow == wiring.In:
                value = 1 if (self._defect == "ignore_valid" and name == "valid") else getattr(self, name)
                m.d.comb += getattr(inner, name).eq(value)
            elif self._defect == "late_dot" and name in ("dot", "dot_valid"):
                m.d.sync += getattr(self, name).eq(getattr(inner, name))
            elif self._defect == "ignore_valid" and name == "acc_valid":
                m.d.comb += self.acc_valid.eq(1)
            else:
                m.d.comb += getattr(self, name).eq(getattr(inner, name))
        return m


@pytest.mark.parametrize("defect", ["ignore_valid", "late_dot"])
def test_block_vectors_catch_a_wrong_unit(defect):
    """The block checks (sim/vectors.py::block_vectors, used by tests/test_rtl_units.py,
    tests/test_rtl_cocotb.py and `intfp rtl verify`) must fail on a unit that breaks the port
    contract of docs/arithmetic.md section 9:

    * `ignore_valid`: the accumulator updates on every edge and `acc_valid` is stuck at 1.
      Section 9: "`valid`: the inputs hold a block", "`acc_valid`: acc was updated on the last
      edge", section 7: "On a clock edge with valid". block_vectors drives valid = 1 on every
      row (vectors.py:295) and never compares acc_valid (expect holds dot, acc, dot_valid only),
      so the accumulator's hold and acc_valid are never checked; the same holds for the scalar
      MACs (vectors.py:362-365) and the mixed units.
    * `late_dot`: `dot` / `dot_valid` come one clock late. Section 9: "`dot` ... (combinational
      from the inputs when pipeline=0)". The driver applies row j, waits for one rising edge and
      only then samples (tb_stream.py:247-249, pysim.py:136-143), so a registered `dot` gives the
      same samples as a combinational one and the shipped checks cannot tell the two apart.

    Expected: at least one mismatch reported."""
    spec = hw.dot_spec("mxfp4_e2m1", 4)
    v = vec.block_vectors(spec, vec.block_stimulus(spec, 66, seed=1))
    _, bad = simulate_pysim(_Mutant(spec, defect), v)
    assert sum(len(x) for x in bad.values()) > 0, f"the {defect} mutant passes the block checks"
