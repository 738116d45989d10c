"""LLM-like tensors: heavy-tailed channels, outliers and a crest-factor knob.

The INT v.s. FP study (arXiv 2510.25602, section 4, Fig. 3) shows the INT/FP ranking of a block
format is decided by the block crest factor ``kappa = max|X| / sigma`` (eq. 11): INT wins below a
crossover ``kappa``, FP above. Real LLM tensors get their large ``kappa`` from a few outlier
channels of the activations (Table 2) and heavy-tailed weights. These generators reproduce that
qualitatively (they are synthetic, not fitted to a model):

* :func:`llm_activations` — ``(tokens, channels)``: per-channel RMS drawn log-normally, Student-t
  entries, and a fraction of outlier channels scaled by ``outlier_scale`` (the crest-factor knob).
* :func:`llm_weights` — ``(in, out)``: Student-t entries with per-input-channel log-normal scale.
* :func:`blocks_with_crest` — Gaussian blocks with one element per block forced to ``+-kappa``
  (population sigma 1): a direct, per-block crest-factor control for the QSNR sweep.
* :func:`crest_sweep` — QSNR of each format against ``kappa`` (the study's Fig. 3, measured).
"""
from __future__ import annotations

import pandas as pd
import torch

from intfp.models.workloads.qgemm import _api, format_label, quantize_operand, resolve_format

__all__ = ["llm_activations", "llm_weights", "blocks_with_crest", "crest_sweep"]


def llm_activations(tokens: int, channels: int, *, outlier_frac: float = 1 / 128, outlier_scale: float = 20.0,
                    df: float = 5.0, channel_sigma: float = 0.5, seed: int = 0) -> torch.Tensor:
    """Activations ``(tokens, channels)`` float64 with outlier channels (see module docstring)."""
    if not 0.0 <= outlier_frac <= 1.0:
        raise ValueError(f"outlier_frac must be in [0, 1]; got {outlier_frac!r}")
    if outlier_scale < 1.0 or df <= 2.0:
        raise ValueError(f"need outlier_scale >= 1 and df > 2 (finite variance); got {outlier_scale!r}, {df!r}")
    g = torch.Generator().manual_seed(seed)
    x = _student_t((tokens, channels), df, g)
    scale = torch.exp(channel_sigma * torch.randn(channels, generator=g, dtype=torch.float64))
    n_out = int(round(outlier_frac * channels))
    idx = torch.randperm(channels, generator=g)[:n_out]
    scale[idx] *= outlier_scale
    return x * scale


def llm_weights(d_in: int, d_out: int, *, df: float = 4.0, channel_sigma: float = 0.3, seed: int = 0) -> torch.Tensor:
    """Weights ``(d_in, d_out)`` float64, Student-t entries, RMS ``d_in^-1/2`` times a per-row factor."""
    g = torch.Generator().manual_seed(seed + 1)
    w = _student_t((d_in, d_out), df, g) / d_in ** 0.5
    return w * torch.exp(channel_sigma * torch.randn(d_in, 1, generator=g, dtype=torch.float64))


def _student_t(shape, df, g) -> torch.Tensor:
    """Unit-variance Student-t samples: z / sqrt(chi2_df / df) * sqrt((df - 2) / df)."""
    z = torch.randn(shape, generator=g, dtype=torch.float64)
    chi2 = 2.0 * torch._standard_gamma(torch.full(shape, df / 2.0, dtype=torch.float64), generator=g)
    return z / torch.sqrt(chi2 / df) * ((df - 2) / df) ** 0.5


def blocks_with_crest(nblocks: int, block: int, kappa: float, *, seed: int = 0, return_positions: bool = False):
    """``(nblocks, block)`` Gaussian blocks, one random element per block set to ``+-kappa``.

    ``kappa`` is relative to the population sigma (1) of the Gaussian bulk, as in the theory
    (arXiv 2510.25602 section 4.1: the block scale is set by ``max = kappa sigma``). Measured with
    the block RMS instead, the crest factor saturates at ``sqrt(block)``, because the forced
    element is part of the RMS. ``return_positions`` also returns the forced element's index.
    """
    if kappa <= 0:
        raise ValueError(f"kappa must be positive; got {kappa!r}")
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(nblocks, block, generator=g, dtype=torch.float64)
    pos = torch.randint(block, (nblocks,), generator=g)
    sign = torch.where(torch.rand(nblocks, generator=g, dtype=torch.float64) < 0.5, -1.0, 1.0).double()
    x[torch.arange(nblocks), pos] = sign * kappa
    return (x, pos) if return_positions else x


def crest_sweep(formats=("mxint8", "mxfp8", "mxint6", "mxfp6", "mxint4", "mxfp4", "nvint4", "nvfp4"),
                kappas=(2, 3, 4, 5, 6, 8, 10, 12, 16), *, nblocks: int = 4096, hadamard: bool = False,
                seed: int = 0) -> pd.DataFrame:
    """QSNR (dB) of every format on blocks of crest factor ``kappa`` (one row per format x kappa).

    Columns: ``qsnr_db`` over all elements (dominated by the forced outlier at large ``kappa``),
    ``qsnr_bulk_db`` over the Gaussian bulk only (the quantity of the study's theorems 1-2: the
    outlier sets the scale, the bulk pays for it), ``crest_measured`` (mean block crest factor,
    RMS sigma, of the tensor actually quantized: after rotation if ``hadamard``; both QSNRs are
    then measured after rotating back). Blocks of 32
    elements, one outlier each; an NV block of 16 holds it in one of its two halves only.
    """
    qsnr = _api("metrics", "qsnr")
    mean_crest = _api("metrics", "mean_crest_factor")
    rows = []
    for kappa in kappas:
        x, pos = blocks_with_crest(nblocks, 32, float(kappa), seed=seed, return_positions=True)
        bulk = torch.ones_like(x, dtype=torch.bool)
        bulk[torch.arange(nblocks), pos] = False
        for f in formats:
            bf = resolve_format(f)
            if isinstance(bf, str):
                raise ValueError(f"crest_sweep needs block formats; got {f!r}")
            xq = quantize_operand(x, bf, -1, hadamard=hadamard, seed=seed).double()
            xr = x
            if hadamard:
                # Errors are measured in the original domain (R is orthogonal, so the total QSNR is
                # the same; the bulk / outlier split only means something there).
                xr = torch.as_tensor(_api("hadamard", "rotate")(x, bf.block_size, seed, axis=-1))
                xq = torch.as_tensor(_api("hadamard", "unrotate")(xq, bf.block_size, seed, axis=-1))
            rows.append({"format": format_label(bf), "kappa": float(kappa),
                         "crest_measured": mean_crest(xr.numpy(), bf.block_size),
                         "qsnr_db": float(qsnr(x.numpy(), xq.numpy())),
                         "qsnr_bulk_db": float(qsnr(x[bulk].numpy(), xq[bulk].numpy()))})
    return pd.DataFrame(rows)


def _main(argv=None) -> None:
    """``python -m intfp.models.workloads.tensors [--hadamard]``: the crest sweep as Markdown."""
    import argparse
    p = argparse.ArgumentParser(description=crest_sweep.__doc__.splitlines()[0])
    p.add_argument("--hadamard", action="store_true")
    p.add_argument("--nblocks", type=int, default=4096)
    p.add_argument("--column", default="qsnr_bulk_db", choices=["qsnr_db", "qsnr_bulk_db", "crest_measured"])
    args = p.parse_args(argv)
    df = crest_sweep(nblocks=args.nblocks, hadamard=args.hadamard)
    t = df.pivot(index="kappa", columns="format", values=args.column)[df.format.unique()]
    print("| kappa | " + " | ".join(t.columns) + " |")
    print("|" + "---|" * (len(t.columns) + 1))
    for k, row in t.iterrows():
        print(f"| {k:g} | " + " | ".join(f"{v:.2f}" for v in row) + " |")


if __name__ == "__main__":
    _main()
