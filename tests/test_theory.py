"""Tests of intfp.models.theory: the INT v.s. FP QSNR theory (arXiv 2510.25602, section 4.2, App. B).

Three kinds of checks:
* the closed forms: the notes' derived numbers, the structure of Theorem 1, the Gaussian integrals
  of Theorem 2 against numerical quadrature, the authors' code constants;
* the crossover crest factors of the four study pairs;
* theory against measurement: N(0, 1) blocks quantized with intfp.models.quantize, compared per
  crest-factor bin with the theory evaluated at every block's own kappa and rho (see
  ``measured_vs_theory``).  Stated tolerances: INT with a UE8M0 scale 0.1 dB (Theorem 1 is exact
  bookkeeping for a uniform error); NVINT4 0.25 dB (the theory's error-free block max needs
  rho = 1 exactly, the E4M3 scale gives rho in [0.94, 1.06]); FP 0.6 dB and NVFP4 0.8 dB (Theorem
  2's alpha_M = 1/(24 4^M) and the Gaussian shape of the non-max elements are approximations).
"""
import math
from functools import lru_cache

import numpy as np
import pytest
from scipy import integrate, stats

from intfp.models import quantize
from intfp.models.formats import block_format
from intfp.models.metrics import crest_factor
from intfp.models.theory import (DEFAULT_RHO, STUDY_PAIRS, crossover_crest_factor, crossover_table,
                                 measured_vs_theory, qsnr_fp, qsnr_int, qsnr_theory)

STUDY_FORMATS = [f for pair in STUDY_PAIRS for f in pair]


# -- closed forms ------------------------------------------------------------------------------
@pytest.mark.parametrize("bits, expected", [(8, 39.99), (6, 27.95), (4, 15.91)])
def test_theorem1_numbers_from_the_notes(bits, expected):
    # notes/formats.md section 9: Theorem 1 at kappa = 2.96 (Table 2, vanilla block-32 Q3), rho = 1.5.
    assert qsnr_int(bits, 2.96, 1.5) == pytest.approx(expected, abs=0.01)
    assert qsnr_theory(f"mxint{bits}", 2.96) == pytest.approx(expected, abs=0.01)


def test_nvfp4_numbers_from_the_notes():
    # notes/formats.md section 8: NVFP4 at rho = 1.05 (the authors' code), kappa = 2, 3, 4, 6.
    expected = [20.76, 21.88, 22.79, 17.91]
    np.testing.assert_allclose(qsnr_theory("nvfp4", [2, 3, 4, 6], 1.05), expected, atol=0.01)
    np.testing.assert_allclose(qsnr_fp("e2m1", [2, 3, 4, 6], 1.05, scale="e4m3", block_size=16),
                               expected, atol=0.01)
    # "NVFP4 QSNR rises with kappa for kappa < 4" (section 4.2)
    assert np.all(np.diff(qsnr_theory("nvfp4", np.linspace(1.5, 3.8, 50))) > 0)


def test_theorem1_structure():
    k = np.array([1.0, 2.0, 3.0, 7.0])
    twenty_log2 = 20 * math.log10(2)
    np.testing.assert_allclose(qsnr_int(8, 2 * k) - qsnr_int(8, k), -twenty_log2, rtol=1e-12)
    np.testing.assert_allclose(qsnr_int(7, k) - qsnr_int(6, k), twenty_log2, rtol=1e-12)
    np.testing.assert_allclose(qsnr_int(8, k, 1.0) - qsnr_int(8, k, 1.5), 20 * math.log10(1.5))
    # 4.78 + 6.02 b - 20 log10(rho kappa), Eq. 13
    np.testing.assert_allclose(qsnr_int(4, 3.0, 1.2),
                               10 * math.log10(12) + 3 * twenty_log2 - 20 * math.log10(3.6))
    # E4M3 (NV): + 10 log10(g / (g - 1)), 0.28 dB at g = 16
    assert qsnr_int(4, 3.0, 1.0, "e4m3", 16) - qsnr_int(4, 3.0, 1.0) == pytest.approx(
        10 * math.log10(16 / 15))
    # exact symmetric grid: Q = 2^(b-1) - 1 costs 0.07 / 0.28 / 1.16 dB for 8 / 6 / 4 bits
    for bits, loss in [(8, 0.068), (6, 0.276), (4, 1.160)]:
        assert qsnr_int(bits, 3.0) - qsnr_int(bits, 3.0, qmax=2 ** (bits - 1) - 1) == pytest.approx(
            loss, abs=1e-3)


def test_theorem1_matches_the_authors_constants():
    # theoretical_comparisons.py::qsnr_int writes 10.8 + 6.02 (b - 1) - 20 log10(rho) - 20 log10(kappa).
    k = np.geomspace(1, 12, 30)
    for bits in range(2, 9):
        code = 10.8 + 6.02 * (bits - 1) - 20 * np.log10(1.5) - 20 * np.log10(k)
        np.testing.assert_allclose(qsnr_int(bits, k, 1.5), code, atol=0.01)


def _fp_qsnr_by_quadrature(m, b, qmax, kappa, rho, g=None):
    """Theorem 2's error budget with the three Gaussian integrals done numerically (sigma = 1)."""
    pdf = stats.norm.pdf
    scaled = rho * kappa / qmax
    t0, t1 = scaled * 2.0 ** (-b - m), scaled * 2.0 ** (1 - b)
    w_norm = 2 * integrate.quad(lambda z: z * z * pdf(z), t1, np.inf)[0]
    p_sub = 2 * integrate.quad(pdf, t0, t1)[0]
    w_zero = 2 * integrate.quad(lambda z: z * z * pdf(z), 0, t0)[0]
    if g is not None:
        w_norm = max(0.0, w_norm - kappa ** 2 / g)
    alpha = 1 / (24 * 4 ** m)
    beta = 2.0 ** (2 * (1 - b - m)) / (12 * qmax ** 2)
    return -10 * math.log10(alpha * w_norm + beta * (rho * kappa) ** 2 * p_sub + w_zero)


@pytest.mark.parametrize("elem, m, b, qmax, kappa, rho", [
    ("e2m1", 1, 1, 6.0, 3.0, 1.5), ("e2m1", 1, 1, 6.0, 40.0, 1.9), ("e2m3", 3, 1, 7.5, 6.0, 1.3),
    ("e4m3", 3, 7, 448.0, 2.5, 1.0), ("e3m2", 2, 3, 28.0, 9.0, 1.1)])
def test_theorem2_gaussian_integrals_by_quadrature(elem, m, b, qmax, kappa, rho):
    assert qsnr_fp(elem, kappa, rho) == pytest.approx(
        _fp_qsnr_by_quadrature(m, b, qmax, kappa, rho), abs=1e-7)
    assert qsnr_fp(elem, kappa, rho, scale="e4m3", block_size=32) == pytest.approx(
        _fp_qsnr_by_quadrature(m, b, qmax, kappa, rho, g=32), abs=1e-7)


def test_fp_element_given_as_tuple_or_format():
    k = np.array([2.0, 5.0])
    np.testing.assert_allclose(qsnr_fp((2, 1), k), qsnr_fp("e2m1", k), rtol=1e-15)
    np.testing.assert_allclose(qsnr_fp((2, 3), k), qsnr_fp(block_format("mxfp6").element, k))


def test_fp8_saturates_at_eq41_and_zero_term():
    # With ample range FP QSNR -> -10 log10(alpha_M) = 13.80 + 6.02 M (Eq. 41): 31.86 dB for M = 3.
    limit = 10 * math.log10(24 * 4 ** 3)
    assert limit == pytest.approx(31.86, abs=0.005)
    np.testing.assert_allclose(qsnr_fp("e4m3", [1.5, 3.0, 6.0, 12.0]), limit, atol=1e-6)
    k = np.linspace(1, 12, 23)
    np.testing.assert_allclose(qsnr_fp("e4m3", k, zero_term=False), qsnr_fp("e4m3", k), atol=1e-9)
    # ... but for FP4 at large kappa the flushed-to-zero energy is a visible part of the error.
    assert qsnr_fp("e2m1", 6.0, zero_term=False) - qsnr_fp("e2m1", 6.0) > 0.1


def test_vectorized_shapes_and_scalar_results():
    k = np.linspace(1.5, 5, 12).reshape(3, 4)
    for fmt in STUDY_FORMATS:
        out = qsnr_theory(fmt, k)
        assert out.shape == (3, 4) and out.dtype == np.float64
        assert isinstance(qsnr_theory(fmt, 2.5), float)
        np.testing.assert_allclose(out[1, 2], qsnr_theory(fmt, k[1, 2]), rtol=1e-14)
    rho = np.array([1.0, 1.5, 1.9])[:, None]
    assert qsnr_int(8, k[0], rho).shape == (3, 4)
    assert qsnr_fp("e2m1", k[0], rho).shape == (3, 4)


def test_front_end_dispatch_and_defaults():
    k = np.array([1.7, 2.9, 4.4])
    np.testing.assert_array_equal(qsnr_theory("mxfp8", k), qsnr_fp("e4m3", k, 1.5))
    np.testing.assert_array_equal(qsnr_theory("mxfp6_e2m3", k), qsnr_fp("e2m3", k, 1.5))
    np.testing.assert_array_equal(qsnr_theory("mxint6", k), qsnr_int(6, k, 1.5))
    np.testing.assert_array_equal(qsnr_theory("nvint4", k), qsnr_int(4, k, 1.05, "e4m3", 16))
    np.testing.assert_array_equal(qsnr_theory("nvfp4", k, 1.0),
                                  qsnr_fp("e2m1", k, 1.0, "e4m3", 16))
    assert DEFAULT_RHO == {"ue8m0": 1.5, "e4m3": 1.05}


def test_argument_errors():
    with pytest.raises(ValueError, match="unknown format 'mxfp5'"):
        qsnr_theory("mxfp5", 2.0)
    with pytest.raises(ValueError, match="UE8M0 or E4M3 scale"):
        qsnr_theory("e4m3", 2.0)            # a bare element is a direct cast: no block scale
    with pytest.raises(ValueError, match="kappa must be finite and > 0"):
        qsnr_int(8, [2.0, 0.0])
    with pytest.raises(ValueError, match="rho must be finite and > 0"):
        qsnr_fp("e2m1", 2.0, rho=-1.0)
    with pytest.raises(ValueError, match="scale must be one of ue8m0, e4m3"):
        qsnr_int(8, 2.0, scale="fp32")
    with pytest.raises(ValueError, match="bits must be an int"):
        qsnr_int(1, 2.0)
    with pytest.raises(ValueError, match="needs an FP element format"):
        qsnr_fp("int8", 2.0)
    with pytest.raises(ValueError, match="ebits >= 1"):
        qsnr_fp((0, 3), 2.0)


# -- crossovers --------------------------------------------------------------------------------
CROSSOVERS = [("mxint8", "mxfp8", 1.5, 7.542), ("mxint6", "mxfp6", 1.5, 1.958),
              ("mxint4", "mxfp4", 1.5, 2.040), ("nvint4", "nvfp4", 1.05, 2.390),
              ("nvint4", "nvfp4", 1.0, 2.463)]


@pytest.mark.parametrize("int_fmt, fp_fmt, rho, expected", CROSSOVERS)
def test_crossover_crest_factors(int_fmt, fp_fmt, rho, expected):
    k = crossover_crest_factor(int_fmt, fp_fmt, rho)
    assert k == pytest.approx(expected, abs=5e-4)
    assert qsnr_theory(int_fmt, k, rho) == pytest.approx(qsnr_theory(fp_fmt, k, rho), abs=1e-9)
    assert qsnr_theory(int_fmt, 0.99 * k, rho) > qsnr_theory(fp_fmt, 0.99 * k, rho)
    assert qsnr_theory(int_fmt, 1.01 * k, rho) < qsnr_theory(fp_fmt, 1.01 * k, rho)
    # The authors' plot finds crossings by linear interpolation on linspace(1, 12, 600).
    grid = np.linspace(1, 12, 600)
    d = qsnr_theory(int_fmt, grid, rho) - qsnr_theory(fp_fmt, grid, rho)
    i = np.flatnonzero(d[:-1] * d[1:] <= 0)[0]
    interp = grid[i] - d[i] * (grid[i + 1] - grid[i]) / (d[i + 1] - d[i])
    assert k == pytest.approx(interp, abs=5e-3)


def test_crossover_table_and_w_zero():
    rows = crossover_table()
    assert [r["pair"] for r in rows] == ["mxint8 / mxfp8", "mxint6 / mxfp6", "mxint4 / mxfp4",
                                         "nvint4 / nvfp4", "nvint4 / nvfp4"]
    np.testing.assert_allclose([r["kappa"] for r in rows], [c[3] for c in CROSSOVERS], atol=5e-4)
    without = crossover_table(zero_term=False)
    # Omitting w_zero leaves FP8 unchanged and moves the FP6 / FP4 / NV crossovers (notes, section 8).
    assert without[0]["kappa"] == pytest.approx(rows[0]["kappa"], abs=1e-9)
    for a, b in zip(rows[1:], without[1:]):
        assert b["kappa"] < a["kappa"] - 1e-3


def test_crossover_errors():
    with pytest.raises(ValueError, match=r"no crossover in kappa_range \[1, 5\]: mxint8 beats mxfp8"):
        crossover_crest_factor("mxint8", "mxfp8", kappa_range=(1, 5))
    with pytest.raises(ValueError, match="already beats mxint6 at kappa = 2.5"):
        crossover_crest_factor("mxint6", "mxfp6", kappa_range=(2.5, 10))
    with pytest.raises(ValueError, match="'mxfp8' is not an INT format"):
        crossover_crest_factor("mxfp8", "mxint8")
    with pytest.raises(ValueError, match="rho must be a scalar"):
        crossover_crest_factor("mxint8", "mxfp8", rho=[1.0, 1.5])
    with pytest.raises(ValueError, match="0 < low < high"):
        crossover_crest_factor("mxint8", "mxfp8", kappa_range=(5, 1))


# -- theory against measurement ----------------------------------------------------------------
@lru_cache(maxsize=None)
def _measured(fmt):
    return measured_vs_theory(fmt, n_blocks=1 << 15, seed=0)


@pytest.mark.parametrize("fmt, tol_db", [
    ("mxint8", 0.1), ("mxint6", 0.1), ("mxint4", 0.1), ("nvint4", 0.25),
    ("mxfp8", 0.6), ("mxfp6", 0.6), ("mxfp4", 0.6), ("nvfp4", 0.8)])
def test_measured_qsnr_matches_theory_per_crest_factor_bin(fmt, tol_db):
    rows = _measured(fmt)
    assert len(rows) >= 4                       # several crest factors, each with >= 200 blocks
    gaps = np.array([r["measured_db"] - r["theory_db"] for r in rows])
    assert np.all(np.abs(gaps) <= tol_db), (fmt, gaps)
    # The rho actually produced: UE8M0 ceil rule in [1, 2); E4M3 block scale within 2^-4 of 1.
    rhos = np.array([r["rho_mean"] for r in rows])
    if fmt.startswith("mx"):
        assert np.all((rhos >= 1) & (rhos < 2))
    else:
        assert np.all(np.abs(rhos - 1) < 2 ** -4)


def test_measured_nvfp4_rises_with_crest_factor():
    # The paper's section 4.2 claim, on data: NVFP4 QSNR grows with kappa below 4.
    measured = [r["measured_db"] for r in _measured("nvfp4")]
    assert np.all(np.diff(measured[:4]) > 0)
    # ... while NVINT4's falls, 20 dB per decade of kappa.
    assert np.all(np.diff([r["measured_db"] for r in _measured("nvint4")]) < 0)


@pytest.mark.parametrize("bits", [8, 6, 4])
def test_measured_int_at_the_papers_rho(bits):
    """Blocks rescaled so that the ceil rule gives exactly rho = 1.5 (the paper's Fig. 3 setting)."""
    fmt = f"mxint{bits}"
    elem = block_format(fmt).element
    x = np.random.default_rng(bits).standard_normal((1 << 14, 32))
    # amax -> Qmax / 1.5: ceil(log2(amax / Qmax)) = 0, so s' = 1 = 1.5 * amax / Qmax.
    x = (x * (elem.max / 1.5 / np.abs(x).max(axis=1, keepdims=True))).astype(np.float32)
    x64 = x.astype(np.float64)
    xq = quantize(x, fmt, scale_rule="ceil").astype(np.float64)
    rel = np.sum((xq - x64) ** 2, axis=1) / np.sum(x64 ** 2, axis=1)
    kappa = crest_factor(x64, 32)[:, 0]
    q = 2 ** (bits - 1)
    for lo, hi in [(2.0, 2.3), (2.3, 2.6), (2.6, 3.0)]:
        sel = (kappa >= lo) & (kappa < hi)
        measured = -10 * np.log10(rel[sel].mean())
        exact = -10 * np.log10(np.mean(10 ** (-qsnr_int(bits, kappa[sel], 1.5, qmax=q - 1) / 10)))
        paper = -10 * np.log10(np.mean(10 ** (-qsnr_int(bits, kappa[sel], 1.5) / 10)))
        assert measured == pytest.approx(exact, abs=0.1)
        # The paper's Q ~ 2^(b-1) overstates the symmetric quantizer by 20 log10(Q / (Q - 1)).
        assert paper - measured == pytest.approx(20 * math.log10(q / (q - 1)), abs=0.1)
