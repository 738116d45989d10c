"""Element formats: exhaustive over every code of every <= 8-bit format."""
import numpy as np
import pytest

from intfp.models import ELEMENT_FORMATS, decode, encode, quantize, round_to_grid
from intfp.models.formats import block_format, element_format

ELEMS = list(ELEMENT_FORMATS.values())
IDS = [e.name for e in ELEMS]


def finite_codes(elem):
    """Every code whose value is finite and that the quantizer may produce."""
    table = elem.decode_table()
    codes = np.arange(elem.num_codes)
    ok = np.isfinite(table)
    if elem.kind == "int":
        signed = np.where(codes >= elem.sign_bit, codes - elem.num_codes, codes)
        ok &= (signed >= elem.code_min) & (signed <= elem.code_max)
    return codes[ok], table[ok]


@pytest.mark.parametrize("elem", ELEMS, ids=IDS)
def test_decode_encode_round_trip(elem):
    codes, vals = finite_codes(elem)
    assert np.array_equal(encode(vals.astype(np.float32), elem), codes.astype(np.uint8))


@pytest.mark.parametrize("elem", ELEMS, ids=IDS)
def test_representable_values_are_fixed_points(elem):
    _, vals = finite_codes(elem)
    v = vals.astype(np.float32)
    for rounding in ("even", "away"):
        r = round_to_grid(v, elem, rounding)
        assert np.array_equal(r.view(np.uint32), v.view(np.uint32)), rounding


@pytest.mark.parametrize("elem", ELEMS, ids=IDS)
def test_monotone_and_saturating(elem):
    x = np.linspace(-2 * elem.max, 2 * elem.max, 200_001, dtype=np.float32)
    r = round_to_grid(x, elem)
    assert np.all(np.diff(r) >= 0)
    assert np.abs(r).max() == np.float32(elem.max)
    _, vals = finite_codes(elem)
    assert np.isin(r, vals.astype(np.float32)).all()        # every output is a code's value


@pytest.mark.parametrize("elem", ELEMS, ids=IDS)
def test_nearest_and_ties(elem):
    """Midpoints go to the even code (even) or away from zero (away); others to the nearest."""
    codes, vals = finite_codes(elem)
    order = np.argsort(vals, kind="stable")
    vals, codes = vals[order], codes[order]
    keep = np.concatenate([[True], np.diff(vals) > 0])     # drop -0 duplicate of +0
    vals, codes = vals[keep], codes[keep]
    lo, hi = vals[:-1], vals[1:]
    mid = ((lo + hi) / 2).astype(np.float32)
    assert np.array_equal(mid.astype(np.float64), (lo + hi) / 2)      # midpoints are exact
    even = round_to_grid(mid, elem, "even").astype(np.float64)
    away = round_to_grid(mid, elem, "away").astype(np.float64)
    lo_code_even = encode(lo.astype(np.float32), elem) & 1 == 0
    if elem.kind == "int":   # two's complement: the even code is the even integer
        lo_code_even = np.rint(lo * 2.0 ** (elem.bits - 2)).astype(int) % 2 == 0
    assert np.array_equal(even, np.where(lo_code_even, lo, hi))
    assert np.array_equal(away, np.where(np.abs(lo) > np.abs(hi), lo, hi))
    # Strictly inside (a quarter of the way), both modes go to the nearer neighbour.
    q1 = (lo + (hi - lo) / 4).astype(np.float32)
    for rounding in ("even", "away"):
        assert np.array_equal(round_to_grid(q1, elem, rounding).astype(np.float64), lo)


def test_known_values():
    e4m3, e5m2 = ELEMENT_FORMATS["e4m3"], ELEMENT_FORMATS["e5m2"]
    assert decode(np.array([0x7E]), e4m3)[0] == 448 and np.isnan(decode(np.array([0x7F, 0xFF]), e4m3)).all()
    assert decode(np.array([0x7B]), e5m2)[0] == 57344 and decode(np.array([0x7C]), e5m2)[0] == np.inf
    assert decode(np.array([0x01]), e4m3)[0] == 2.0 ** -9 and decode(np.array([0x01]), e5m2)[0] == 2.0 ** -16
    e2m1 = ELEMENT_FORMATS["e2m1"]
    assert sorted(set(np.abs(e2m1.decode_table()))) == [0, 0.5, 1, 1.5, 2, 3, 4, 6]
    assert ELEMENT_FORMATS["e3m2"].max == 28 and ELEMENT_FORMATS["e2m3"].max == 7.5
    int8 = ELEMENT_FORMATS["int8"]
    assert int8.max == 127 / 64 and int8.emax == 0 and (int8.code_min, int8.code_max) == (-127, 127)
    assert element_format("int8_asym").code_min == -128
    assert [e.emax for e in (e4m3, e5m2, ELEMENT_FORMATS["e3m2"], ELEMENT_FORMATS["e2m3"], e2m1)] == [8, 15, 4, 2, 2]


def test_microxcaling_tie_example():
    """microxcaling test_fp8_e4m3_fix: E4M3(400) = 416 with ties away; RNE gives 384."""
    x = np.array([400.0, -400.0], np.float32)
    assert quantize(x, "e4m3", rounding="away").tolist() == [416.0, -416.0]
    assert quantize(x, "e4m3").tolist() == [384.0, -384.0]


def test_asymmetric_int_reaches_minus_two():
    x = np.array([-3.0, -1.999, 3.0], np.float32)
    assert quantize(x, "int8").tolist() == [-127 / 64, -127 / 64, 127 / 64]
    assert quantize(x, "int8_asym").tolist() == [-2.0, -2.0, 127 / 64]


def test_direct_cast_specials():
    nan_inf = np.array([np.nan, np.inf, 1.0], np.float32)
    out = quantize(nan_inf, "e5m2")
    assert np.isnan(out[0]) and out[1] == np.inf and out[2] == 1.0
    with pytest.raises(ValueError, match="e4m3 cannot encode"):
        quantize(nan_inf, "e4m3")
    with pytest.raises(ValueError, match="NaN, which int8 cannot encode"):
        quantize(nan_inf, "int8")
    assert np.isnan(quantize(np.array([np.nan], np.float32), "e4m3")[0])


@pytest.mark.parametrize("bad, match", [
    ("mxfp7", "unknown format 'mxfp7'; allowed: mxfp8_e4m3"),
    ("e9m9", "element 'e9m9': exponent bits X=9 outside 1..5"),
])
def test_unknown_format(bad, match):
    with pytest.raises(ValueError, match=match):
        block_format(bad)


def test_unknown_element():
    with pytest.raises(ValueError, match="unknown element format 'fp5'; allowed: e4m3"):
        element_format("fp5")


def test_decode_rejects_out_of_range_codes():
    with pytest.raises(ValueError, match="code 16 is out of range for e2m1"):
        decode(np.array([3, 16]), ELEMENT_FORMATS["e2m1"])
