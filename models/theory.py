"""Closed-form QSNR theory of block-scaled INT and FP quantization.

Implements section 4.2 and Appendix B of Chen et al. 2025, "INT v.s. FP" (arXiv 2510.25602), in
the conventions of the authors' ``theoretical_comparisons.py`` (``ChenMnZ/INT_vs_FP`` @ 3c5da03),
which drew the paper's Fig. 3.  Model: a block of g values i.i.d. N(0, sigma^2) with crest factor
``kappa = max|X| / sigma`` (Eq. 11) is quantized with the scale ``s' = rho * s``, where
``s = max|X| / Qmax`` (Eq. 7) and ``rho`` is the overhead of storing the scale (Eq. 12):
``rho`` lies in [1, 2) for a UE8M0 scale rounded up (Eq. 9) and is about 1 for an E4M3 scale.

INT, Theorem 1 (Eqs. 13, 25, 26).  Uniform step ``Delta = rho kappa sigma / Q`` with
``Q ~ 2^(b-1)`` and error ``Delta^2 / 12`` per element::

    UE8M0:  QSNR = 10 log10(12 Q^2) - 20 log10(rho) - 20 log10(kappa)
                 ~ 4.78 + 6.02 b - 20 log10(rho) - 20 log10(kappa)
    E4M3:   the same, + 10 log10(g / (g - 1))      (the block max is stored exactly: with
            rho = 1 it lands on Qmax, so only g - 1 elements carry error)

FP, Theorem 2 (Eqs. 14, 40, 43) with M mantissa bits, exponent bias B, largest magnitude Qmax,
``alpha_M = 1 / (24 * 4^M)`` and ``beta = 2^(2(1-B-M)) / (12 Qmax^2)``::

    UE8M0:  QSNR = -10 log10(alpha_M w_norm + beta (rho kappa)^2 p_sub + w_zero)
    E4M3:   QSNR = -10 log10(alpha_M max(0, w_norm - kappa^2 / g) + beta (rho kappa)^2 p_sub + w_zero)

with, for sigma = 1, the normal threshold ``tau1 = (rho kappa / Qmax) 2^(1-B)`` (smallest normal
times the scale) and the flush-to-zero threshold ``tau0 = (rho kappa / Qmax) 2^(-B-M)`` (half the
smallest subnormal)::

    w_norm = E[X^2; |X| >= tau1]   = 2 (tau1 phi(tau1) + 1 - Phi(tau1))   energy in normals
    p_sub  = P(tau0 <= |X| < tau1) = 2 (Phi(tau1) - Phi(tau0))            fraction of subnormals
    w_zero = E[X^2; |X| < tau0]    = 2 Phi(tau0) - 1 - 2 tau0 phi(tau0)   energy flushed to zero

Conventions, each a parameter:

* ``w_zero``.  Eq. 14 as printed has no flushed-to-zero term; the authors' code adds it
  (``zero_term=True``, the default here, as it is the complete error budget).  It matters only
  when ``tau0`` is not tiny: FP4, FP6 and NVFP4 at large kappa; FP8 is unchanged.
* ``rho``.  The paper's Fig. 3 uses 1.5 for UE8M0 (the midpoint of [1, 2)); for the E4M3 (NV) scale
  the text says rho = 1 but the code uses **1.05**.  ``rho=None`` selects the code's values
  (:data:`DEFAULT_RHO`); pass ``rho=1.0`` for the text's NV curves.  ``rho`` may be an array
  (broadcast against ``kappa``), e.g. the measured overhead of every block.
* ``qmax`` (INT only).  Theorem 1 approximates the largest code by ``Q = 2^(b-1)``; the
  study's symmetric INT quantizer actually uses ``Q = 2^(b-1) - 1`` both in the scale
  ``s = amax / Q`` and as the clip.  Pass ``qmax=2**(b-1)-1`` for the exact grid: it lowers the
  QSNR by ``20 log10(2^(b-1) / (2^(b-1)-1))`` = 0.07 / 0.28 / 1.16 dB for 8 / 6 / 4 bits.
* Constants.  The code writes ``10.8 + 6.02 (b - 1)``; this module uses the exact
  ``10 log10(12) + 20 log10(2) (b - 1)`` (differs by less than 0.01 dB for b <= 8).

Everything is vectorized over ``kappa`` (and ``rho``) arrays; results are float64.

``python -m intfp.models.theory`` prints the crossover table of ``docs/theory.md``;
``python -m intfp.models.theory --measure`` its measured-vs-theory table.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy.optimize import brentq
from scipy.special import ndtr

from .formats import ElementFormat, block_format, element_format

__all__ = [
    "DEFAULT_RHO", "DEFAULT_KAPPA_RANGE", "THEORY_SCALES", "STUDY_PAIRS",
    "qsnr_int", "qsnr_fp", "qsnr_theory", "crossover_crest_factor", "crossover_table",
    "measured_vs_theory", "gaussian_qsnr",
]

#: rho used by the authors' code (``theoretical_comparisons.py``) when ``rho=None``.
DEFAULT_RHO: dict[str, float] = {"ue8m0": 1.5, "e4m3": 1.05}
#: Scale formats the theory covers.
THEORY_SCALES = tuple(DEFAULT_RHO)
#: Block size assumed for the E4M3 (NV) max-element correction when ``block_size=None``.
_DEFAULT_NV_BLOCK = 16
#: Crossover search range.  kappa >= 1 always (a block's max magnitude is at least its RMS);
#: 64 covers every crossover of the study's pairs and the largest crest factor the study measured
#: on real tensors (60.15, per-channel, Table 2).
DEFAULT_KAPPA_RANGE = (1.0, 64.0)
#: The four INT / FP pairs of the paper's Fig. 3: same bit width, same scale.
STUDY_PAIRS = (("mxint8", "mxfp8"), ("mxint6", "mxfp6"), ("mxint4", "mxfp4"), ("nvint4", "nvfp4"))

_TEN_LOG10_12 = 10.0 * math.log10(12.0)        # 10.79 dB: the 1/12 of a uniform error
_SQRT_2PI = math.sqrt(2.0 * math.pi)


# -- argument checking -------------------------------------------------------------------------
def _positive_array(value, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number or array of them, got {value!r}") from None
    if not np.all(np.isfinite(arr) & (arr > 0)):
        bad = arr[~(np.isfinite(arr) & (arr > 0))].ravel()[:3]
        raise ValueError(f"{name} must be finite and > 0; got {bad.tolist()}")
    return arr


def _check_scale(scale) -> str:
    key = str(scale).lower()
    if key not in DEFAULT_RHO:
        raise ValueError(f"scale must be one of {', '.join(THEORY_SCALES)} (the scales the "
                         f"theory covers); got {scale!r}")
    return key


def _rho(rho, scale: str) -> np.ndarray:
    return _positive_array(DEFAULT_RHO[scale] if rho is None else rho, "rho")


def _group(block_size, scale: str) -> int | None:
    """The block size g used by the E4M3 max-element correction (None for UE8M0, which has none)."""
    if scale != "e4m3":
        return None
    g = _DEFAULT_NV_BLOCK if block_size is None else block_size
    if isinstance(g, bool) or not isinstance(g, (int, np.integer)) or g < 2:
        raise ValueError(f"block_size must be an int >= 2 for the E4M3 (NV) scale, got {block_size!r}")
    return int(g)


def _result(arr: np.ndarray):
    return float(arr) if arr.ndim == 0 else arr


# -- Theorem 1: INT ------------------------------------------------------------------------------
def qsnr_int(bits: int, kappa, rho=None, scale: str = "ue8m0", block_size: int | None = None,
             qmax: float | None = None):
    """QSNR (dB) of b-bit block-scaled INT quantization of a Gaussian block, Theorem 1 (Eq. 13).

    Args:
        bits: element bit width b (sign included), >= 2.
        kappa: crest factor(s), float or array.
        rho: scale overhead (Eq. 12), float or array broadcast with ``kappa``;
            None = 1.5 for ``"ue8m0"``, 1.05 for ``"e4m3"`` (the authors' code).
        scale: ``"ue8m0"`` (MX) or ``"e4m3"`` (NV: adds ``10 log10(g / (g-1))``).
        block_size: g for the E4M3 correction (default 16); ignored for UE8M0, whose QSNR does
            not depend on g.
        qmax: the largest code Q in ``Delta = rho kappa sigma / Q``; None = the paper's
            ``2^(b-1)``; ``2**(b-1) - 1`` is the study's symmetric quantizer exactly.

    Returns:
        float for scalar inputs, else a float64 array of the broadcast shape.
    """
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 2 <= bits <= 32:
        raise ValueError(f"bits must be an int in 2..32, got {bits!r}")
    scale = _check_scale(scale)
    kappa = _positive_array(kappa, "kappa")
    rho = _rho(rho, scale)
    if qmax is not None and np.ndim(qmax) != 0:
        raise ValueError(f"qmax must be a scalar, got an array of shape {np.shape(qmax)}")
    q = float(2 ** (bits - 1)) if qmax is None else float(_positive_array(qmax, "qmax"))
    out = _TEN_LOG10_12 + 20.0 * np.log10(q) - 20.0 * np.log10(rho * kappa)
    g = _group(block_size, scale)
    if g is not None:
        # The block max maps exactly onto Qmax: g - 1 of the g elements carry the error (Eq. 26).
        out = out + 10.0 * np.log10(g / (g - 1.0))
    return _result(np.asarray(out, dtype=np.float64))


# -- Theorem 2: FP -------------------------------------------------------------------------------
def _fp_params(element) -> tuple[int, int, float]:
    """(M, B, Qmax) of an FP element given by name, ElementFormat or (ebits, mbits)."""
    if isinstance(element, tuple):
        if len(element) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                         for v in element) or element[0] < 1 or element[1] < 0:
            raise ValueError(f"an FP element given as a tuple must be (ebits >= 1, mbits >= 0); "
                             f"got {element!r}")
        ebits, mbits = int(element[0]), int(element[1])
        bias = 2 ** (ebits - 1) - 1
        # Every code finite (OCP FP6 / FP4 rule, and the authors' code for non-8-bit formats).
        qmax = (2.0 - 2.0 ** -mbits) * 2.0 ** (2 ** ebits - 1 - bias)
        return mbits, bias, qmax
    elem = element if isinstance(element, ElementFormat) else element_format(element)
    if elem.kind != "fp":
        raise ValueError(f"qsnr_fp needs an FP element format, got the INT format {elem.name!r}; "
                         "use qsnr_int for INT")
    return elem.mbits, elem.bias, float(elem.max)


def qsnr_fp(element, kappa, rho=None, scale: str = "ue8m0", block_size: int | None = None,
            zero_term: bool = True):
    """QSNR (dB) of block-scaled FP quantization of a Gaussian block, Theorem 2 (Eq. 14).

    Args:
        element: the FP element: a name (``"e4m3"``, ``"e2m3"``, ``"e2m1"``, ...), an
            :class:`~intfp.models.formats.ElementFormat`, or ``(ebits, mbits)`` (every code
            finite, as OCP FP6 / FP4).
        kappa: crest factor(s), float or array.
        rho: scale overhead, float or array; None = 1.5 (UE8M0) / 1.05 (E4M3), as the code.
        scale: ``"ue8m0"`` (MX) or ``"e4m3"`` (NV: the block max, stored exactly, is removed
            from the normal-range error, ``w_norm - kappa^2 / g``).
        block_size: g for the E4M3 correction (default 16); ignored for UE8M0.
        zero_term: include ``w_zero``, the energy of values below half the smallest subnormal
            that are flushed to zero (the authors' code; Eq. 14 as printed omits it).

    Returns:
        float for scalar inputs, else a float64 array of the broadcast shape.
    """
    m, b, qmax = _fp_params(element)
    scale = _check_scale(scale)
    kappa = _positive_array(kappa, "kappa")
    rho = _rho(rho, scale)
    g = _group(block_size, scale)

    alpha = 1.0 / (24.0 * 4.0 ** m)                        # relative MSE in the normal range
    beta = 2.0 ** (2.0 * (1 - b - m)) / (12.0 * qmax ** 2)  # subnormal step^2/12 per (rho kappa)^2
    scaled = rho * kappa / qmax                            # s' / sigma
    tau0 = scaled * 2.0 ** (-b - m)                        # half the smallest subnormal
    tau1 = scaled * 2.0 ** (1 - b)                         # smallest normal
    pdf0 = np.exp(-0.5 * tau0 ** 2) / _SQRT_2PI
    pdf1 = np.exp(-0.5 * tau1 ** 2) / _SQRT_2PI
    w_norm = 2.0 * (tau1 * pdf1 + ndtr(-tau1))             # ndtr(-t) = 1 - Phi(t), no cancellation
    p_sub = 2.0 * (ndtr(tau1) - ndtr(tau0))
    if g is not None:
        # The code clips at 0: for kappa^2 > g w_norm the correction would go negative.
        w_norm = np.maximum(0.0, w_norm - kappa ** 2 / g)
    err = alpha * w_norm + beta * (rho * kappa) ** 2 * p_sub
    if zero_term:
        err = err + (2.0 * ndtr(tau0) - 1.0 - 2.0 * tau0 * pdf0)
    return _result(np.asarray(-10.0 * np.log10(err), dtype=np.float64))


# -- format-name front end -------------------------------------------------------------------------
def qsnr_theory(fmt, kappa, rho=None, *, zero_term: bool = True, qmax=None):
    """Theoretical QSNR (dB) of a block format by name: ``qsnr_theory("mxfp8", 3.0)``.

    ``fmt`` is any name :func:`intfp.models.formats.block_format` resolves with a UE8M0 or
    E4M3 scale (the study's eight: mxfp8 / mxfp6 / mxfp4 / mxint8 / mxint6 / mxint4 / nvfp4 /
    nvint4, plus e.g. ``mxfp8_e5m2``), or a BlockFormat.  Dispatches to :func:`qsnr_int`
    (``qmax`` applies) or :func:`qsnr_fp` (``zero_term`` applies) with the format's element,
    scale and block size.
    """
    bf = block_format(fmt)
    if bf.scale.name not in DEFAULT_RHO or not isinstance(bf.block_size, int):
        raise ValueError(f"the QSNR theory covers block formats with a UE8M0 or E4M3 scale "
                         f"(e.g. {', '.join(p for pair in STUDY_PAIRS for p in pair)}); "
                         f"{bf.name!r} has scale {bf.scale.name!r} and block size {bf.block_size!r}")
    if bf.element.kind == "int":
        return qsnr_int(bf.element.bits, kappa, rho, bf.scale.name, bf.block_size, qmax=qmax)
    return qsnr_fp(bf.element, kappa, rho, bf.scale.name, bf.block_size, zero_term=zero_term)


# -- crossover -------------------------------------------------------------------------------------
def crossover_crest_factor(int_fmt, fp_fmt, rho=None, *, kappa_range: Sequence[float] = DEFAULT_KAPPA_RANGE,
                           zero_term: bool = True, qmax=None) -> float:
    """The crest factor at which ``int_fmt`` and ``fp_fmt`` have the same theoretical QSNR.

    INT wins below it and FP above (paper section 4.2, Fig. 3).  ``rho`` (scalar) applies to both
    formats; None = each format's default (:data:`DEFAULT_RHO`).

    Method: the difference ``D(kappa) = QSNR_int - QSNR_fp`` is evaluated on 4097 log-spaced
    points of ``kappa_range``; the first interval where D changes sign from >= 0 to < 0 is the
    bracket handed to :func:`scipy.optimize.brentq` (xtol 1e-12).  The grid is needed because
    D is not monotonic for NV 4-bit (NVFP4's QSNR rises with kappa up to about 3.85), so the range
    ends alone need not bracket a root.  The default range is justified at
    :data:`DEFAULT_KAPPA_RANGE`.

    Raises:
        ValueError: if INT is better over the whole range (no crossover: INT always wins), or
            FP is at least as good at its lower end (no INT-wins region), or bad arguments.
    """
    lo, hi = (float(v) for v in kappa_range)
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
        raise ValueError(f"kappa_range must be (low, high) with 0 < low < high, got {kappa_range!r}")
    if rho is not None and np.ndim(rho) != 0:
        raise ValueError(f"rho must be a scalar for a crossover, got an array of shape {np.shape(rho)}")

    def diff(k):
        return (qsnr_theory(int_fmt, k, rho, qmax=qmax)
                - qsnr_theory(fp_fmt, k, rho, zero_term=zero_term))

    for fmt, kind in ((int_fmt, "int"), (fp_fmt, "fp")):
        if block_format(fmt).element.kind != kind:
            raise ValueError(f"crossover_crest_factor(int_fmt, fp_fmt): {fmt!r} is not an "
                             f"{kind.upper()} format")
    grid = np.geomspace(lo, hi, 4097)
    d = diff(grid)
    if d[0] < 0:
        raise ValueError(f"no crossover: {fp_fmt} already beats {int_fmt} at kappa = {lo:g} "
                         f"({d[0]:+.2f} dB); lower kappa_range or check rho")
    down = np.flatnonzero((d[:-1] >= 0) & (d[1:] < 0))
    if down.size == 0:
        raise ValueError(f"no crossover in kappa_range [{lo:g}, {hi:g}]: {int_fmt} beats {fp_fmt} "
                         f"over the whole range (by {d.min():.2f} dB or more)")
    i = int(down[0])
    if d[i] == 0:
        return float(grid[i])
    return float(brentq(diff, grid[i], grid[i + 1], xtol=1e-12))


def crossover_table(zero_term: bool = True) -> list[dict]:
    """Crossovers of the study's four pairs: MX at rho = 1.5, NV at rho = 1.05 (code) and 1 (text).

    One dict per row: ``pair``, ``rho``, ``kappa`` and ``qsnr_db`` (the common QSNR there).
    """
    rows = []
    for int_fmt, fp_fmt in STUDY_PAIRS:
        for rho in ((1.05, 1.0) if int_fmt.startswith("nv") else (1.5,)):
            k = crossover_crest_factor(int_fmt, fp_fmt, rho, zero_term=zero_term)
            rows.append({"pair": f"{int_fmt} / {fp_fmt}", "rho": rho, "kappa": k,
                         "qsnr_db": qsnr_theory(int_fmt, k, rho)})
    return rows


# -- theory against measurement -----------------------------------------------------------------
#: Crest-factor bins for the Gaussian check: N(0, 1) blocks of 32 have RMS crest factors of about
#: 1.8 .. 4 (median 2.4), blocks of 16 about 1.5 .. 3.5 (median 2.1).
MX_KAPPA_EDGES = (1.8, 2.1, 2.4, 2.7, 3.0, 3.4)
NV_KAPPA_EDGES = (1.5, 1.8, 2.1, 2.4, 2.7, 3.1)


def _gaussian_blocks(bf, n_blocks: int, seed: int):
    """Per N(0, 1) block of ``bf``'s block size: crest factor, scale overhead read from the
    stored scale, measured relative error, and the theory's relative error with that block's
    kappa / rho (exact INT grid) and at the paper's conventions (see :func:`measured_vs_theory`)."""
    from . import quantize_codes               # lazy: the theory itself does not need the quantizer
    from .metrics import crest_factor

    if bf.scale.name not in DEFAULT_RHO or not isinstance(bf.block_size, int):
        raise ValueError(f"the Gaussian-block check needs an MX or NV block format, got {bf.name!r}")
    g, elem = bf.block_size, bf.element
    x = np.random.default_rng(seed).standard_normal((n_blocks, g)).astype(np.float32)
    bc = quantize_codes(x, bf, scale_rule="ceil" if bf.scale.name == "ue8m0" else None)
    x64 = x.astype(np.float64)
    rel = np.sum((bc.dequantize().astype(np.float64) - x64) ** 2, axis=1) / np.sum(x64 ** 2, axis=1)
    kappa = crest_factor(x64, g).reshape(-1)
    rho = bc.block_scales.reshape(-1).astype(np.float64) * elem.max / np.max(np.abs(x64), axis=1)
    exact_q = {"qmax": 2 ** (elem.bits - 1) - 1} if elem.kind == "int" else {}
    r_theory = 10.0 ** (-qsnr_theory(bf, kappa, rho, **exact_q) / 10.0)
    r_paper = 10.0 ** (-qsnr_theory(bf, kappa) / 10.0)
    return kappa, rho, rel, r_theory, r_paper


def gaussian_qsnr(fmt, n_blocks: int = 1 << 14, seed: int = 0) -> dict:
    """QSNR (dB) of ``fmt`` on ``n_blocks`` N(0, 1) blocks: ``measured_db`` (quantized with the
    library's quantizer, the study's ``ceil`` rule for MX) and ``theory_db`` (Theorems 1 / 2 at
    each block's own crest factor and stored scale overhead, averaged as error energies), with
    the mean crest factor. One number per format for the design-space explorer."""
    bf = block_format(fmt)
    kappa, _, rel, r_theory, _ = _gaussian_blocks(bf, n_blocks, seed)
    return {"measured_db": float(-10 * np.log10(rel.mean())),
            "theory_db": float(-10 * np.log10(r_theory.mean())), "kappa_mean": float(kappa.mean())}


def measured_vs_theory(fmt, n_blocks: int = 1 << 15, seed: int = 0, kappa_edges=None,
                       min_blocks: int = 200) -> list[dict]:
    """Quantize N(0, 1) blocks with :func:`intfp.models.quantize_codes` and compare the QSNR
    measured per crest-factor bin with the theory.

    The theory is a function of the block's crest factor and scale overhead, so the comparison
    is made per block and then averaged over a bin, never at a nominal kappa:

    * each block's ``kappa`` is its RMS crest factor (:func:`intfp.models.metrics.crest_factor`;
      with the RMS the QSNR denominator of a block is exactly ``g rms^2``);
    * each block's ``rho = s * Qmax / max|X|`` is read from the scale the quantizer actually
      stored (UE8M0 with the paper's ``ceil`` rule, Eq. 9, for MX; E4M3 x FP32 for NV);
    * a bin's measured QSNR is ``-10 log10(mean of the blocks' ||X - Xq||^2 / ||X||^2)`` and its
      theory ``-10 log10(mean of 10^(-QSNR_theory(kappa_b, rho_b) / 10))``.

    ``theory_db`` uses the exact INT grid (``qmax = 2^(b-1) - 1``); ``paper_db`` uses the paper's
    figure conventions (``Q = 2^(b-1)``, ``rho`` = :data:`DEFAULT_RHO`) at each block's kappa.

    Returns one dict per bin holding at least ``min_blocks`` blocks: ``kappa_lo``,
    ``kappa_hi``, ``n_blocks``, ``kappa_mean``, ``rho_mean``, ``measured_db``, ``theory_db``,
    ``paper_db``.
    """
    bf = block_format(fmt)
    if kappa_edges is None:
        kappa_edges = MX_KAPPA_EDGES if bf.scale.name == "ue8m0" else NV_KAPPA_EDGES
    kappa, rho, rel, r_theory, r_paper = _gaussian_blocks(bf, n_blocks, seed)
    rows = []
    for lo, hi in zip(kappa_edges[:-1], kappa_edges[1:]):
        sel = (kappa >= lo) & (kappa < hi)
        if np.count_nonzero(sel) < min_blocks:
            continue
        rows.append({"kappa_lo": lo, "kappa_hi": hi, "n_blocks": int(np.count_nonzero(sel)),
                     "kappa_mean": float(kappa[sel].mean()), "rho_mean": float(rho[sel].mean()),
                     "measured_db": float(-10 * np.log10(rel[sel].mean())),
                     "theory_db": float(-10 * np.log10(r_theory[sel].mean())),
                     "paper_db": float(-10 * np.log10(r_paper[sel].mean()))})
    return rows


def _print_measurements() -> None:
    print("Measured (N(0,1) blocks, 2^15 per format, seed 0) vs theory, per RMS crest-factor bin;")
    print("theory = per-block kappa and measured rho, exact INT grid; paper = rho default, Q = 2^(b-1)")
    print(f"| {'Format':<7} | {'kappa bin':<10} | {'blocks':>6} | {'mean rho':>8} | {'measured':>8} "
          f"| {'theory':>6} | {'meas-theory':>11} | {'paper':>6} |")
    print(f"|{'-' * 9}|{'-' * 12}|{'-' * 8}|{'-' * 10}|{'-' * 10}|{'-' * 8}|{'-' * 13}|{'-' * 8}|")
    for fmt in ("mxint8", "mxfp8", "mxint6", "mxfp6", "mxint4", "mxfp4", "nvint4", "nvfp4"):
        # The last row, bin [1, 6), holds every block (1 <= kappa <= sqrt(32) < 6).
        for r in measured_vs_theory(fmt) + measured_vs_theory(fmt, kappa_edges=(1.0, 6.0)):
            print(f"| {fmt:<7} | [{r['kappa_lo']:.1f}, {r['kappa_hi']:.1f}) | {r['n_blocks']:>6} "
                  f"| {r['rho_mean']:>8.3f} | {r['measured_db']:>8.2f} | {r['theory_db']:>6.2f} "
                  f"| {r['measured_db'] - r['theory_db']:>+11.2f} | {r['paper_db']:>6.2f} |")


def _main(argv: Sequence[str] = ()) -> None:
    if "--measure" in argv:
        _print_measurements()
        return
    with_zero = crossover_table(zero_term=True)
    without = crossover_table(zero_term=False)
    print("Crossover crest factors (INT better below, FP above); paper Theorems 1-2, Eqs. 13-14")
    print(f"| {'Pair':<16} | {'rho':>4} | {'kappa*':>7} | {'QSNR at kappa* (dB)':>19} "
          f"| {'kappa* without w_zero':>21} |")
    print(f"|{'-' * 18}|{'-' * 6}|{'-' * 9}|{'-' * 21}|{'-' * 23}|")
    for a, b in zip(with_zero, without):
        print(f"| {a['pair']:<16} | {a['rho']:>4.2f} | {a['kappa']:>7.3f} | {a['qsnr_db']:>19.2f} "
              f"| {b['kappa']:>21.3f} |")
    print()
    print("Theorem 1 at kappa = 2.96, rho = 1.5 (paper Q = 2^(b-1); exact symmetric Q = 2^(b-1)-1):")
    for bits in (8, 6, 4):
        print(f"  MXINT{bits}: {qsnr_int(bits, 2.96, 1.5):.2f} dB "
              f"(exact Q: {qsnr_int(bits, 2.96, 1.5, qmax=2 ** (bits - 1) - 1):.2f} dB)")
    ks = (2.0, 3.0, 4.0, 6.0)
    print("NVFP4 at rho = 1.05, kappa = " + ", ".join(f"{k:g}" for k in ks) + ": "
          + ", ".join(f"{qsnr_theory('nvfp4', k, 1.05):.2f}" for k in ks) + " dB")


if __name__ == "__main__":
    import sys

    _main(sys.argv[1:])
