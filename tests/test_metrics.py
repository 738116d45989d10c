"""Tests of intfp.models.metrics: QSNR (paper Eq. 10) and crest factor (Eq. 11)."""
import math

import numpy as np
import pytest
import torch

from intfp.models.metrics import crest_factor, mean_crest_factor, qsnr


# -- QSNR ---------------------------------------------------------------------------------------
def test_qsnr_known_value():
    x = np.array([3.0, 4.0])                 # ||x||^2 = 25
    xq = np.array([3.0, 4.5])                # ||x - xq||^2 = 0.25 -> ratio 1e-2 -> 20 dB
    assert qsnr(x, xq) == pytest.approx(20.0, abs=1e-12)


def test_qsnr_scale_invariant_and_matches_noise_power():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(10_000)
    noise = 1e-3 * rng.standard_normal(10_000)
    expected = -10 * math.log10(np.sum(noise ** 2) / np.sum(x ** 2))
    assert qsnr(x, x + noise) == pytest.approx(expected, rel=1e-12)
    assert qsnr(7 * x, 7 * (x + noise)) == pytest.approx(expected, rel=1e-9)


def test_qsnr_float64_even_for_float32_input():
    # A tiny error that float32 accumulation of the squares would blur: computed in float64.
    x = np.full(1 << 20, 1.0, dtype=np.float32)
    xq = x.copy()
    xq[0] = np.float32(1.0) + np.float32(2 ** -23)
    expected = -10 * math.log10((2.0 ** -23) ** 2 / (1 << 20))
    assert qsnr(x, xq) == pytest.approx(expected, rel=1e-12)


def test_qsnr_torch_and_mixed_inputs_match_numpy():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 64)).astype(np.float32)
    xq = np.round(x * 8) / 8
    ref = qsnr(x, xq)
    assert qsnr(torch.from_numpy(x), torch.from_numpy(xq)) == pytest.approx(ref, rel=1e-12)
    assert qsnr(torch.from_numpy(x), xq) == pytest.approx(ref, rel=1e-12)
    t = torch.from_numpy(x).requires_grad_(True)
    assert qsnr(t, t.detach().round()) > 0       # no error from a tensor that requires grad


def test_qsnr_axis_gives_one_value_per_row():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 100))
    xq = x + np.array([[1e-1], [1e-2], [1e-3]]) * rng.standard_normal((3, 100))
    per_row = qsnr(x, xq, axis=1)
    assert per_row.shape == (3,)
    for i in range(3):
        assert per_row[i] == pytest.approx(qsnr(x[i], xq[i]), rel=1e-12)
    assert np.all(np.diff(per_row) > 15)          # 10x less noise per row: ~ +20 dB each


def test_qsnr_perfect_reconstruction_is_inf():
    x = np.array([1.0, -2.0])
    assert qsnr(x, x) == math.inf


def test_qsnr_errors():
    with pytest.raises(ValueError, match="same shape"):
        qsnr(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="zero energy"):
        qsnr(np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match=r"zero energy.*1 of 2 slices"):
        qsnr(np.array([[1.0, 2.0], [0.0, 0.0]]), np.ones((2, 2)), axis=1)
    with pytest.raises(ValueError, match="xq contains 1 non-finite"):
        qsnr(np.ones(3), np.array([1.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match="out of range"):
        qsnr(np.ones((2, 2)), np.ones((2, 2)), axis=2)


# -- crest factor -------------------------------------------------------------------------------
def test_crest_factor_known_blocks():
    # Block 1: constant magnitude -> kappa = 1 (the minimum). Block 2: one spike in 4 -> sqrt(4).
    x = np.array([[1.0, -1.0, 1.0, -1.0, 0.0, 0.0, 5.0, 0.0]])
    k = crest_factor(x, 4)
    np.testing.assert_allclose(k, [[1.0, 2.0]], rtol=1e-15)
    assert mean_crest_factor(x, 4) == pytest.approx(1.5)


def test_crest_factor_bounds_and_gaussian_value():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2048, 32))
    k = crest_factor(x, 32)
    assert k.shape == (2048, 1)
    assert np.all(k >= 1.0) and np.all(k <= math.sqrt(32))
    # Table 2 of the paper: vanilla block-32 crest factors have median ~2.5; N(0,1) gives ~2.4.
    assert 2.2 < np.median(k) < 2.6


def test_crest_factor_axis_and_layout():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 64, 3))
    k = crest_factor(x, 16, axis=1)
    assert k.shape == (5, 4, 3)
    ref = np.abs(x[:, 16:32, 2]).max(axis=1) / np.sqrt(np.mean(x[:, 16:32, 2] ** 2, axis=1))
    np.testing.assert_allclose(k[:, 1, 2], ref, rtol=1e-13)
    # block_size -1: whole axis (the study's per-channel "-1")
    np.testing.assert_allclose(crest_factor(x, -1, axis=1)[:, 0, :],
                               np.abs(x).max(1) / np.sqrt(np.mean(x ** 2, 1)), rtol=1e-13)
    # torch input gives the same numbers
    np.testing.assert_allclose(crest_factor(torch.from_numpy(x), 16, axis=1), k, rtol=1e-15)


def test_crest_factor_std_variant_centres_the_block():
    x = np.array([[10.0, 10.0, 10.0, 14.0]])      # mean 11: centred block [-1, -1, -1, 3]
    assert crest_factor(x, 4, sigma="std")[0, 0] == pytest.approx(3 / math.sqrt(3.0))
    assert crest_factor(x, 4)[0, 0] == pytest.approx(14 / math.sqrt(np.mean(x ** 2)))


def test_crest_factor_errors_and_zero_blocks():
    x = np.zeros((2, 8))
    x[0, 0] = 1.0
    with pytest.raises(ValueError, match="1 of 2 blocks have sigma = 0"):
        crest_factor(x, 8)
    k = crest_factor(x, 8, zero_blocks="nan")
    assert k[0, 0] == pytest.approx(math.sqrt(8)) and np.isnan(k[1, 0])
    assert mean_crest_factor(x, 8, zero_blocks="nan") == pytest.approx(math.sqrt(8))
    with pytest.raises(ValueError, match="does not divide the length 8"):
        crest_factor(x, 3)
    with pytest.raises(ValueError, match="positive int"):
        crest_factor(x, 0)
    with pytest.raises(ValueError, match="sigma must be"):
        crest_factor(x, 8, sigma="var")
