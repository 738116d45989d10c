"""Quantization error metrics of the INT v.s. FP study (Chen et al. 2025, arXiv 2510.25602, section 4.1).

* :func:`qsnr`: quantization signal-to-noise ratio, paper Eq. 10,
  ``QSNR = -10 log10(||X - Xq||^2 / ||X||^2)`` in dB.
* :func:`crest_factor` / :func:`mean_crest_factor`: the crest factor of each block, paper Eq. 11,
  ``kappa = max|X| / sigma``, and its mean over blocks (how the study's Table 2 summarises a tensor).

Which sigma.  The paper's theory (section 4.2, App. B) models a block as i.i.d. N(0, sigma^2) and
defines kappa with that sigma.  On data we estimate sigma per block by the **RMS**
``sqrt(mean(x^2))`` (no mean subtracted): the study's blocks are zero-mean in the model, and the
RMS is what makes Theorem 1 exact bookkeeping, because the QSNR denominator ``||X||^2`` of a
block of g elements is ``g * rms^2``.  ``sigma="std"`` (mean removed, population estimator
``ddof=0``) is available for comparison.  Either way ``1 <= kappa <= sqrt(g)`` for the RMS
(``max^2 <= sum x^2``), so a block of 32 can never exceed kappa = 5.66.

All arithmetic is float64, whatever the input dtype; numpy arrays and torch tensors (any device)
are accepted and mixed freely.
"""
from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = ["qsnr", "crest_factor", "mean_crest_factor", "as_float64"]


def as_float64(x, name: str = "x") -> np.ndarray:
    """``x`` (numpy array, torch tensor, scalar or sequence) as a float64 numpy array.

    Torch tensors are detached and moved to the CPU; the caller's tensor is not modified.
    """
    if type(x).__module__.split(".")[0] == "torch":
        x = x.detach().to("cpu").double().numpy()
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric (numpy array, torch tensor or number); "
                         f"got {type(x).__name__}") from exc
    return arr


def _check_axis(axis: int, ndim: int, name: str = "axis") -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"{name} must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}={axis} is out of range for an array with {ndim} dimension(s); "
                         f"allowed: {-ndim} .. {ndim - 1}")
    return int(axis) % ndim


def qsnr(x, xq, axis=None):
    """Quantization signal-to-noise ratio in dB, paper Eq. 10.

    ``QSNR = -10 log10(||x - xq||^2 / ||x||^2)``, computed in float64.

    Args:
        x: the reference (unquantized) values; numpy array or torch tensor.
        xq: the quantized (or otherwise approximated) values, same shape as ``x``.
        axis: ``None`` for one number over the whole tensor (the study's per-tensor QSNR,
            ``cal_qsnr.py``), or an int / tuple of ints: the axes to reduce over; the other axes
            are kept and one QSNR is returned for each of their positions.

    Returns:
        A Python float when ``axis`` is None, else a float64 numpy array.  A perfect
        reconstruction gives ``+inf``.

    Raises:
        ValueError: shapes differ; ``x`` or ``xq`` contains NaN / Inf; or ``x`` has zero energy
            (is all zeros) over a reduced slice -- the ratio is then 0/0 or e/0 and a QSNR
            is not defined for it.
    """
    xa = as_float64(x, "x")
    xqa = as_float64(xq, "xq")
    if xa.shape != xqa.shape:
        raise ValueError(f"x and xq must have the same shape; got x {xa.shape} and xq {xqa.shape}")
    for name, a in (("x", xa), ("xq", xqa)):
        if not np.all(np.isfinite(a)):
            bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
            raise ValueError(f"{name} contains {bad} non-finite value(s) (NaN or Inf); "
                             "the QSNR is only defined for finite tensors")
    if axis is not None:
        axes = axis if isinstance(axis, tuple) else (axis,)
        axis = tuple(_check_axis(a, xa.ndim) for a in axes)
    signal = np.sum(np.square(xa), axis=axis)
    noise = np.sum(np.square(xa - xqa), axis=axis)
    zero = signal == 0
    if np.any(zero):
        where = "" if axis is None else f" in {int(np.count_nonzero(zero))} of {np.size(zero)} slices"
        raise ValueError(f"x has zero energy (all zeros){where}: QSNR = -10 log10(noise / 0) "
                         "is undefined; drop all-zero tensors or slices before computing it")
    with np.errstate(divide="ignore"):       # noise == 0 -> +inf dB is the right answer
        out = -10.0 * np.log10(noise / signal)
    return float(out) if axis is None else out


def _blocks(x: np.ndarray, block_size, axis: int) -> tuple[np.ndarray, int]:
    """View of ``x`` with ``axis`` moved last and split into ``(..., n_blocks, block_size)``."""
    axis = _check_axis(axis, x.ndim)
    n = x.shape[axis]
    if block_size in (-1, None, "channel"):
        block_size = n
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) or block_size < 1:
        raise ValueError(f"block_size must be a positive int or -1 / None / 'channel' "
                         f"(the whole axis); got {block_size!r}")
    if n % block_size:
        raise ValueError(f"block_size {block_size} does not divide the length {n} of axis {axis}; "
                         f"allowed: a divisor of {n}, or -1 for the whole axis")
    moved = np.moveaxis(x, axis, -1)
    return moved.reshape(*moved.shape[:-1], n // block_size, int(block_size)), axis


def crest_factor(x, block_size, axis: int = -1, *, sigma: Literal["rms", "std"] = "rms",
                 zero_blocks: Literal["raise", "nan"] = "raise") -> np.ndarray:
    """Crest factor ``kappa = max|X| / sigma`` of every block along ``axis``, paper Eq. 11.

    Args:
        x: numpy array or torch tensor.
        block_size: elements per block along ``axis`` (must divide its length), or -1 / None /
            ``"channel"`` for one block per row (the study's "per-channel", block size -1).
        axis: the blocked axis.
        sigma: ``"rms"`` (default): ``sqrt(mean(x^2))``, see the module docstring for why;
            ``"std"``: population standard deviation, ``sqrt(mean((x - mean)^2))``.
        zero_blocks: what to do with a block whose sigma is 0 (all zeros, or constant for
            ``"std"``), whose crest factor is 0/0: ``"raise"`` a ValueError, or return ``nan``.

    Returns:
        float64 array shaped like ``x`` with ``axis`` replaced by the number of blocks
        (kept at the same position).
    """
    if sigma not in ("rms", "std"):
        raise ValueError(f"sigma must be 'rms' or 'std', got {sigma!r}")
    if zero_blocks not in ("raise", "nan"):
        raise ValueError(f"zero_blocks must be 'raise' or 'nan', got {zero_blocks!r}")
    xa = as_float64(x, "x")
    if xa.ndim == 0:
        raise ValueError("x must have at least one dimension to be split into blocks")
    if not np.all(np.isfinite(xa)):
        raise ValueError("x contains NaN or Inf; the crest factor is only defined for finite values")
    blocks, axis = _blocks(xa, block_size, axis)
    if sigma == "std":
        # max|X - mean| / std: the crest factor of the centred block.
        blocks = blocks - blocks.mean(axis=-1, keepdims=True)
    amax = np.max(np.abs(blocks), axis=-1)
    sig = np.sqrt(np.mean(np.square(blocks), axis=-1))
    zero = sig == 0
    if np.any(zero):
        if zero_blocks == "raise":
            raise ValueError(f"{int(np.count_nonzero(zero))} of {zero.size} blocks have sigma = 0 "
                             f"(all {'zeros' if sigma == 'rms' else 'equal'}), whose crest factor "
                             "max|X| / sigma is 0/0; pass zero_blocks='nan' to get NaN for them")
        sig = np.where(zero, np.nan, sig)
    kappa = amax / sig
    return np.moveaxis(kappa, -1, axis)


def mean_crest_factor(x, block_size, axis: int = -1, *, sigma: Literal["rms", "std"] = "rms",
                      zero_blocks: Literal["raise", "nan"] = "raise") -> float:
    """Mean of :func:`crest_factor` over all blocks: the per-tensor number of the study's Table 2.

    With ``zero_blocks="nan"`` the all-zero blocks are left out of the mean.
    """
    kappa = crest_factor(x, block_size, axis, sigma=sigma, zero_blocks=zero_blocks)
    if np.all(np.isnan(kappa)):
        raise ValueError("every block has sigma = 0; the mean crest factor is undefined")
    return float(np.nanmean(kappa))
