"""Block-diagonal random Hadamard rotation (RHT), as used by the INT v.s. FP study.

The study rotates GEMM operands with a QuaRot-style random Hadamard matrix whose size equals the
quantization block (32 for MX, 16 for NV; Chen et al. 2025, arXiv 2510.25602, sections 5.1-5.2,
authors' ``quant/hadamard.py``; Ashkboos et al. 2024, QuaRot, arXiv 2404.00456; Tseng et al. 2024,
QuIP#, arXiv 2402.04396).  For a block size n (a power of two) the block rotation is

    R = D H_n / sqrt(n),

with ``H_n`` the Sylvester Hadamard matrix (``H_1 = [1]``, ``H_2n = [[H_n, H_n], [H_n, -H_n]]``)
and ``D = diag(d)``, ``d`` a seeded vector of random signs.  ``R`` is orthogonal
(``R R^T = I``), so a rotation preserves the energy ``||x||^2`` of every block while spreading
an outlier over the n elements: this lowers the block crest factor (paper Eq. 11, Table 2).
The full rotation is block diagonal, ``I (x) R``: the same R for every block along the axis.

Row-vector convention (as ``x @ R`` in QuaRot): a block ``x`` (length n) maps to
``y = x R = (x * d) H_n / sqrt(n)``; the inverse is ``x = y R^T = (y H_n / sqrt(n)) * d``
(``H_n`` is symmetric).  The Walsh-Hadamard product is computed by the fast transform
(:func:`fwht`), O(n log n) per block, vectorized over all blocks and leading dimensions: one
small matrix product for the first four stages, then one Python loop iteration per remaining
stage.  numpy arrays stay numpy, torch tensors stay torch (same dtype and device,
autograd-friendly); floating inputs keep their dtype, integer inputs are promoted to float64
(numpy) / the default float dtype (torch).
"""
from __future__ import annotations

import numpy as np

__all__ = ["RandomHadamard", "rotate", "unrotate", "fwht", "sylvester_hadamard", "random_signs"]


def _torch():
    import torch  # imported lazily: numpy-only users do not pay torch's import time
    return torch


def _is_torch(x) -> bool:
    return type(x).__module__.split(".")[0] == "torch"


def _check_block_size(block_size) -> int:
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) \
            or block_size < 1 or (block_size & (block_size - 1)):
        raise ValueError(f"Hadamard block size must be a power of two (1, 2, 4, ..., 32, ...); "
                         f"got {block_size!r}")
    return int(block_size)


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    return int(seed)


def sylvester_hadamard(n: int) -> np.ndarray:
    """The unnormalized n x n Sylvester Hadamard matrix (entries +-1, ``H H^T = n I``), float64."""
    n = _check_block_size(n)
    h = np.ones((1, 1))
    while h.shape[0] < n:
        h = np.block([[h, h], [h, -h]])
    return h


def random_signs(block_size: int, seed: int) -> np.ndarray:
    """The diagonal ``d`` of D: ``block_size`` signs +-1 (float64) drawn from ``seed``.

    numpy's PCG64 generator makes the signs identical on every platform and for numpy and torch
    inputs alike.
    """
    n = _check_block_size(block_size)
    rng = np.random.default_rng(_check_seed(seed))
    return rng.integers(0, 2, size=n).astype(np.float64) * 2.0 - 1.0


def _float_like(x):
    """``x`` as a floating array / tensor of its own kind (no copy if already floating)."""
    if _is_torch(x):
        return x if x.is_floating_point() else x.to(_torch().get_default_dtype())
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def _to_blocks(x, block_size: int, axis: int):
    """Move ``axis`` last and split it into blocks: returns (blocks, restore), ``restore``
    undoing both steps."""
    ndim = x.ndim
    if ndim == 0:
        raise ValueError("cannot rotate a 0-dimensional value; give an array with the axis to rotate")
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -ndim <= axis < ndim:
        raise ValueError(f"axis={axis!r} is out of range for an array with {ndim} dimension(s); "
                         f"allowed: {-ndim} .. {ndim - 1}")
    axis = int(axis) % ndim
    length = x.shape[axis]
    if length % block_size:
        raise ValueError(f"the length {length} of axis {axis} is not a multiple of the Hadamard "
                         f"block size {block_size}; pad the axis or choose a block size dividing it")
    if _is_torch(x):
        moved = x.movedim(axis, -1)
        blocks = moved.reshape(*moved.shape[:-1], length // block_size, block_size)
        return blocks, lambda b: b.reshape(moved.shape).movedim(-1, axis)
    moved = np.moveaxis(x, axis, -1)
    blocks = moved.reshape(*moved.shape[:-1], length // block_size, block_size)
    return blocks, lambda b: np.moveaxis(b.reshape(moved.shape), -1, axis)


#: The low log2(_RADIX) butterfly stages run as one small matrix product (see :func:`fwht`).
_RADIX = 16


def fwht(x, normalize: bool = True):
    """Fast Walsh-Hadamard transform along the last axis: ``x H_n`` (``/ sqrt(n)`` if normalize).

    The last axis must have power-of-two length n.  Uses ``H_n = H_(n/r) (x) H_r``
    (Kronecker product, Sylvester ordering, r = min(n, 16)):

    1. the factor ``H_r`` acts on the low log2(r) index bits: one ``(..., n/r, r) @ H_r``
       product (a single BLAS call; the butterfly stages with strides 1..r/2 would run numpy
       inner loops of length 1..8, which are several times slower);
    2. the factor ``H_(n/r)``: butterfly stages ``h = r, 2r, ..., n/2``, each pairing element
       ``i`` with ``i + h`` inside every group of ``2h`` and replacing them by their sum and
       difference, vectorized over all blocks and leading dimensions.

    Cost O(n (r + log2(n/r))) per block, i.e. O(n log n) for fixed r.  The natural-order pairing
    gives the Sylvester matrix (not the Walsh / sequency ordering).
    """
    x = _float_like(x)
    n = _check_block_size(x.shape[-1])
    lead = tuple(x.shape[:-1])
    r = min(n, _RADIX)
    base = sylvester_hadamard(r)
    if _is_torch(x):
        torch = _torch()
        x = x.reshape(*lead, n // r, r) @ torch.as_tensor(base, dtype=x.dtype, device=x.device)
        # Out-of-place stages, so autograd can differentiate through the transform.
        h = r
        while h < n:
            pairs = x.reshape(*lead, n // (2 * h), 2, h)
            a, b = pairs[..., 0, :], pairs[..., 1, :]
            x = torch.stack((a + b, a - b), dim=-2)
            h *= 2
        x = x.reshape(*lead, n)
    else:
        src = (x.reshape(-1, n // r, r) @ base.astype(x.dtype)).reshape(-1, n)   # a new array
        # Ping-pong between two buffers: each stage reads one and writes the other, with no
        # temporaries (one read and one write of the tensor per stage).
        dst = np.empty_like(src) if r < n else src
        h = r
        while h < n:
            pin = src.reshape(-1, n // (2 * h), 2, h)
            pout = dst.reshape(-1, n // (2 * h), 2, h)
            np.add(pin[:, :, 0, :], pin[:, :, 1, :], out=pout[:, :, 0, :])
            np.subtract(pin[:, :, 0, :], pin[:, :, 1, :], out=pout[:, :, 1, :])
            src, dst = dst, src
            h *= 2
        x = src.reshape(*lead, n)
    if normalize:
        x = x * float(1.0 / np.sqrt(n))   # a Python float keeps float32 float32
    return x


class RandomHadamard:
    """The seeded block rotation ``R = diag(d) H_n / sqrt(n)``, applied block-diagonally.

    >>> rh = RandomHadamard(32, seed=0)
    >>> y = rh.apply(x, axis=-1)           # x @ (I (x) R) along the last axis
    >>> x_back = rh.inverse(y, axis=-1)    # == x up to float rounding
    """

    def __init__(self, block_size: int, seed: int = 0):
        self.block_size = _check_block_size(block_size)
        self.seed = _check_seed(seed)
        self.signs = random_signs(self.block_size, self.seed)

    def __repr__(self) -> str:
        return f"RandomHadamard(block_size={self.block_size}, seed={self.seed})"

    def matrix(self) -> np.ndarray:
        """The explicit n x n matrix R (float64), for tests and for small-scale reference use."""
        return self.signs[:, None] * sylvester_hadamard(self.block_size) / np.sqrt(self.block_size)

    def _signs_like(self, x):
        if _is_torch(x):
            return _torch().as_tensor(self.signs, dtype=x.dtype, device=x.device)
        return self.signs.astype(x.dtype, copy=False)

    def apply(self, x, axis: int = -1):
        """Rotate every block of ``x`` along ``axis``: ``y = x R`` per block."""
        x = _float_like(x)
        blocks, restore = _to_blocks(x, self.block_size, axis)
        return restore(fwht(blocks * self._signs_like(x)))

    def inverse(self, y, axis: int = -1):
        """Undo :meth:`apply`: ``x = y R^T`` per block."""
        y = _float_like(y)
        blocks, restore = _to_blocks(y, self.block_size, axis)
        return restore(fwht(blocks) * self._signs_like(y))


def rotate(x, block_size: int, seed: int = 0, axis: int = -1):
    """Apply the seeded block random Hadamard rotation to ``x`` along ``axis``.

    See :class:`RandomHadamard`.  Raises ValueError if ``block_size`` is not a power of two or
    does not divide the length of ``axis``.
    """
    return RandomHadamard(block_size, seed).apply(x, axis)


def unrotate(y, block_size: int, seed: int = 0, axis: int = -1):
    """Inverse of :func:`rotate` with the same ``block_size``, ``seed`` and ``axis``."""
    return RandomHadamard(block_size, seed).inverse(y, axis)
