"""RTL corner (issue 10, item 5): a zero product with a maximum-exponent operand beside a tiny
product. The max-exponent comparator must ignore zero products, or the tiny products are
aligned against the zero lane's huge exponent and shifted out of the aligner's window.

E5M2, 4 lanes, scales 1.0 (UE8M0 code 127): lanes ``0x7B x 0x00`` (57344 x 0) and
``0x01 x 0x01`` (2^-16 x 2^-16). The exact result is 2^-32, FP32 bits (-32 + 127) << 23 =
0x2F800000; a comparator that counts the zero lane's exponent (30 + 0 against 1 + 1, 29 binades
apart, more than the 24-bit window) returns +0 instead.

These blocks lead every block stimulus (``intfp.sim.vectors.DISTRIBUTIONS`` starts with
``zero_beside_tiny``), so every `intfp rtl verify`, main-job and test run checks them.
"""
import shutil

import numpy as np
import pytest

from intfp.models import hwmodel as hw
from intfp.models.formats import PRESETS
from intfp.sim import vectors as vec

SPEC = hw.dot_spec("mxfp8_e5m2", 4)
TWO_M32 = (-32 + 127) << 23                       # 2^-32 as FP32 bits, by hand
assert TWO_M32 == 0x2F800000 == int(np.float32(2.0 ** -32).view(np.uint32))
HAND = [TWO_M32, TWO_M32, TWO_M32 | 0x80000000, TWO_M32]   # fixed blocks 0-3 (2: -0, -tiny)


def _corner_vectors(n=24):
    st = vec.block_stimulus(SPEC, n, seed=0, distributions=("zero_beside_tiny",))
    return st, vec.block_vectors(SPEC, st, idle=0.0)


@pytest.mark.parametrize("n", [1, 5, 2000])
@pytest.mark.parametrize("fmt", ["mxfp8_e5m2", "mxfp8_e4m3", "nvfp4", "mxint8"])
def test_every_block_stimulus_starts_with_the_corner(fmt, n):
    spec = hw.dot_spec(fmt, 4)
    st = vec.block_stimulus(spec, n, seed=3)
    top = spec.elem.decode_table()
    big = int(np.argmax(np.where(np.isfinite(top[:spec.elem.sign_bit]), top[:spec.elem.sign_bit], -1)))
    np.testing.assert_array_equal(st.a[0], [big, 1, 0, 0])
    np.testing.assert_array_equal(st.b[0], [0, 1, 0, 0])
    assert st.kind[0] == "zero_beside_tiny" and st.first[0]
    if fmt == "mxfp8_e5m2":
        assert big == 0x7B and st.a_scale[0] == st.b_scale[0] == 127


def test_the_model_gives_the_hand_value():
    st, _ = _corner_vectors()
    np.testing.assert_array_equal(st.a[:4], [[0x7B, 1, 0, 0], [0, 1, 0, 0], [0x7B, 1, 0, 0],
                                             [0x7B, 0x7B, 0x7B, 1]])
    np.testing.assert_array_equal(st.b[:4], [[0, 1, 0, 0], [0x7B, 1, 0, 0], [0x80, 0x81, 0, 0],
                                             [0, 0, 0, 1]])
    got = hw.block_dot(SPEC.fmt, st.a[:4], st.b[:4], st.a_scale[:4], st.b_scale[:4], SPEC.window)
    assert [int(x) for x in got] == HAND


def test_random_corner_blocks_hold_zero_products_of_large_codes():
    """The random part: at least a quarter of the lanes are zero products with a top-binade
    code on the other side, and every block has a nonzero small product."""
    st, _ = _corner_vectors(400)
    t = SPEC.elem.decode_table()
    a, b = t[st.a[4:]], t[st.b[4:]]
    zero_big = ((a == 0) & (np.abs(b) >= 2.0 ** 15)) | ((b == 0) & (np.abs(a) >= 2.0 ** 15))
    assert zero_big.mean() > 0.25
    assert (((a * b) != 0) & (np.abs(a * b) < 2.0 ** -20)).any(axis=1).all()


def test_rtl_equals_model_on_the_corner_in_amaranths_simulator():
    from intfp.rtl.units import BlockDotUnit
    from intfp.sim.pysim import simulate_pysim

    _, v = _corner_vectors()
    out, bad = simulate_pysim(BlockDotUnit(SPEC), v)
    assert not any(len(x) for x in bad.values()), bad
    assert [int(x) for x in v.decode("dot", out["dot"])[:4]] == HAND


def test_a_comparator_that_counts_zero_products_fails_the_corner(monkeypatch):
    """Mutation: the comparator takes every lane's exponent, zero products included."""
    from amaranth import Module, Mux, Signal

    from intfp.rtl import components
    from intfp.rtl.units import BlockDotUnit
    from intfp.sim.pysim import simulate_pysim

    def elaborate(self, platform):
        m = Module()
        level = [self.exp[i] for i in range(self._lanes)]         # the defect: no lane_zero mask
        while len(level) > 1:
            nxt = []
            for j in range(0, len(level), 2):
                s = Signal(self._width)
                m.d.comb += s.eq(Mux(level[j] >= level[j + 1], level[j], level[j + 1]))
                nxt.append(s)
            level = nxt
        m.d.comb += self.max.eq(level[0])
        return m

    monkeypatch.setattr(components.ComparatorTree, "elaborate", elaborate)
    _, v = _corner_vectors()
    out, bad = simulate_pysim(BlockDotUnit(SPEC), v)
    assert 0 in bad["dot"], "the mutant comparator passes the corner"
    assert int(v.decode("dot", out["dot"])[0]) == 0                     # 2^-32 shifted out


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="needs Icarus Verilog")
def test_rtl_equals_model_on_the_corner_through_cocotb():
    """The exported netlist through the cocotb testbench (the default simulator)."""
    from intfp.sim import checks

    res = checks.check_block("mxfp8_e5m2", 4, n=24, seed=0, distributions=("zero_beside_tiny",))
    assert res.passed, res.summary()
    assert res.vectors == 24
    valid = vec.unpack(res.outputs["dot_valid"], 1) == 1          # idle rows are interleaved
    assert [int(x) for x in vec.unpack(res.outputs["dot"], 32)[valid][:4]] == HAND


@pytest.mark.parametrize("fmt", list(PRESETS))
def test_every_preset_computes_the_corner_blocks(fmt):
    """Model sanity on every preset at its default lane count: the fixed blocks give
    +tiny^2, +tiny^2, -tiny^2, +tiny^2 times the scales (tiny = code 1's value)."""
    spec = hw.dot_spec(fmt)
    st = vec.block_stimulus(spec, 12, seed=0, distributions=("zero_beside_tiny",))
    got = hw.bits_to_f32(hw.block_dot(spec.fmt, st.a[:4], st.b[:4], st.a_scale[:4],
                                      st.b_scale[:4], spec.window)).astype(np.float64)
    tiny = float(spec.elem.decode_table()[1])
    scale = 1.0                                                  # 127 (UE8M0) / 0x38 (E4M3): 1.0
    np.testing.assert_array_equal(got, np.array([1, 1, -1, 1]) * tiny * tiny * scale)
