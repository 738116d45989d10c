"""Tests of intfp.models.hadamard: seeded block-diagonal random Hadamard rotation."""
import numpy as np
import pytest
import torch

from intfp.models.hadamard import (RandomHadamard, fwht, random_signs, rotate, sylvester_hadamard,
                                   unrotate)
from intfp.models.metrics import crest_factor


@pytest.mark.parametrize("n", [1, 2, 4, 16, 32, 128])
def test_matrix_is_orthogonal_with_random_signs(n):
    r = RandomHadamard(n, seed=7).matrix()
    np.testing.assert_allclose(r @ r.T, np.eye(n), atol=1e-14)
    np.testing.assert_allclose(np.abs(r), np.full((n, n), 1 / np.sqrt(n)), rtol=1e-15)


def test_sylvester_recursion():
    h4 = sylvester_hadamard(4)
    np.testing.assert_array_equal(h4, [[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]])
    h8 = sylvester_hadamard(8)
    np.testing.assert_array_equal(h8, np.block([[h4, h4], [h4, -h4]]))


def test_fwht_equals_matrix_product():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5, 64))
    np.testing.assert_allclose(fwht(x, normalize=False), x @ sylvester_hadamard(64), atol=1e-12)
    np.testing.assert_allclose(fwht(x), x @ sylvester_hadamard(64) / 8, atol=1e-12)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_rotate_equals_block_diagonal_matrix_product(axis):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 32, 96))
    n = 32
    r = RandomHadamard(n, seed=3)
    y = r.apply(x, axis=axis)
    moved = np.moveaxis(x, axis, -1)
    blocks = moved.reshape(*moved.shape[:-1], -1, n)
    ref = np.moveaxis((blocks @ r.matrix()).reshape(moved.shape), -1, axis)
    np.testing.assert_allclose(y, ref, atol=1e-12)
    np.testing.assert_allclose(rotate(x, n, 3, axis), y, atol=0)


def test_inverse_and_energy_preservation_numpy_and_torch():
    rng = np.random.default_rng(2)
    x64 = rng.standard_normal((8, 256))
    y64 = rotate(x64, 32, seed=5)
    np.testing.assert_allclose(unrotate(y64, 32, seed=5), x64, atol=1e-13)
    np.testing.assert_allclose(np.sum(y64 ** 2, axis=1), np.sum(x64 ** 2, axis=1), rtol=1e-13)

    x32 = x64.astype(np.float32)
    y32 = rotate(x32, 32, seed=5)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(unrotate(y32, 32, seed=5), x32, atol=2e-6)

    xt = torch.from_numpy(x32)
    yt = rotate(xt, 32, seed=5)
    assert isinstance(yt, torch.Tensor) and yt.dtype == torch.float32
    np.testing.assert_allclose(yt.numpy(), y32, atol=1e-6)
    np.testing.assert_allclose(unrotate(yt, 32, seed=5).numpy(), x32, atol=2e-6)


def test_torch_rotation_is_differentiable():
    x = torch.randn(4, 32, dtype=torch.float64, requires_grad=True)
    rotate(x, 32, seed=0).pow(2).sum().backward()
    # ||xR||^2 = ||x||^2, so the gradient is 2x.
    torch.testing.assert_close(x.grad, 2 * x.detach())


def test_seed_determinism():
    np.testing.assert_array_equal(random_signs(32, 11), random_signs(32, 11))
    np.testing.assert_array_equal(RandomHadamard(32, 11).matrix(), RandomHadamard(32, 11).matrix())
    assert not np.array_equal(random_signs(32, 11), random_signs(32, 12))
    assert set(np.unique(random_signs(64, 0))) == {-1.0, 1.0}
    x = np.arange(64.0)
    np.testing.assert_array_equal(rotate(x, 32, seed=9), rotate(x.copy(), 32, seed=9))


def test_rotation_lowers_crest_factor_of_heavy_tailed_blocks():
    # Student-t with 2 degrees of freedom: heavy tails, a few large outliers per block.
    rng = np.random.default_rng(3)
    x = rng.standard_t(df=2, size=(4096, 32))
    before = crest_factor(x, 32)
    after = crest_factor(rotate(x, 32, seed=0), 32)
    assert before.mean() > 3.0
    # Rotation spreads each block's energy over 32 near-Gaussian coordinates: the mean crest factor
    # drops towards the Gaussian value (~2.4 for 32 elements; paper Table 2: 2.48 -> 2.35).
    assert after.mean() < 2.6
    assert np.mean(after < before) > 0.9
    # A single outlier spreads perfectly: kappa(e_i R) = 1, the minimum.
    spike = np.zeros(32)
    spike[5] = 100.0
    assert crest_factor(rotate(spike, 32, seed=1), 32)[0] == pytest.approx(1.0)


def test_errors():
    with pytest.raises(ValueError, match="power of two"):
        RandomHadamard(24)
    with pytest.raises(ValueError, match="power of two"):
        RandomHadamard(0)
    with pytest.raises(ValueError, match="not a multiple of the Hadamard block size 32"):
        rotate(np.zeros((2, 48)), 32)
    with pytest.raises(ValueError, match="out of range"):
        rotate(np.zeros((2, 32)), 32, axis=2)
    with pytest.raises(ValueError, match="seed"):
        RandomHadamard(32, seed=-1)
