"""The quantized GEMM every workload goes through, and the recorder that captures its operands.

``qmatmul(a, b, fmt)`` models a block-scaled MAC array (MX / NV formats, Chen et al.,
"INT v.s. FP", arXiv 2510.25602, section 2): both operands are fake-quantized in blocks along
the *reduction* dimension (``a`` along its last axis, ``b`` along its second-to-last), the
products are accumulated in FP32. Optionally both operands are first rotated by the same random
block-diagonal Hadamard matrix ``R`` along the reduction dimension (the study's RHT, section 5.2):
``(a R)(R^T b) = a b`` exactly, but the rotated blocks have a smaller crest factor.

When autograd needs gradients, the backward GEMMs are quantized too (the study's training
setting, section 5.3: all six GEMM operands quantized): ``dA = Q(dC) Q(B^T)`` reduces over ``n``
and ``dB = Q(A^T) Q(dC)`` over ``m``, so the transposed operands are *re-quantized along their
new reduction axis*, not reused. Gradients flow straight through the quantizer (STE).

Format names accepted everywhere in :mod:`intfp.models.workloads`: every name
:func:`intfp.models.formats.block_format` resolves (presets such as ``mxint8``, ``nvfp4``, or a
:class:`~intfp.models.formats.BlockFormat`, e.g. one with ``int8_asym`` elements), plus three
unscaled references: ``fp64`` (no rounding at all; also ``None``), ``fp32`` and ``bf16``
(operands rounded to bfloat16, FP32 accumulation), and ``<int preset>_asym`` (e.g. ``mxint8_asym``:
the INT preset with the asymmetric [-2^(b-1), 2^(b-1)-1] code range, see :func:`asymmetric`).
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
import torch

from intfp.models.formats import BlockFormat, block_format, format_names
from intfp.models.workloads.streams import OperandStream

__all__ = ["REFERENCE_FORMATS", "SCALE_RULES", "resolve_format", "asymmetric", "format_label", "qmatmul",
           "quantize_operand", "effective_scale_rule", "GemmRecorder", "MatMul", "exact_mm", "make_mm"]

#: Unscaled formats understood besides the block formats of :mod:`intfp.models.formats`.
REFERENCE_FORMATS = ("fp64", "fp32", "bf16")

#: Block-scale rules a caller may ask for (``None``: each format's own rule). They choose how a
#: UE8M0 (MX) block scale is rounded: ``floor`` = OCP MX v1.0 / microxcaling, ``ceil`` = the study's
#: ``--e8_scale_op ceil`` (arXiv 2510.25602 eq. 9). Formats with other scales (NV: E4M3 x FP32)
#: have a single rule and keep it.
SCALE_RULES = ("floor", "ceil")

#: ``mm(a, b, name)``: the matmul a workload is written against (exact or quantized).
MatMul = Callable[[torch.Tensor, torch.Tensor, str], torch.Tensor]


def _api(module: str, attr: str):
    """A function of the format models, imported on first use (keeps ``import`` of this module cheap).

    ``quantize`` / ``quantize_codes`` come from the package (``from intfp.models import quantize``,
    the documented entry point); ``rotate`` from :mod:`intfp.models.hadamard`, ``qsnr`` and
    ``mean_crest_factor`` from :mod:`intfp.models.metrics`. Literal imports, so the cache's
    import closure sees exactly these modules.
    """
    if module == "quantize":
        import intfp.models as mod
    elif module == "hadamard":
        from intfp.models import hadamard as mod
    elif module == "metrics":
        from intfp.models import metrics as mod
    else:
        raise ValueError(f"unknown model module {module!r}; allowed: quantize, hadamard, metrics")
    return getattr(mod, attr)


def resolve_format(fmt) -> BlockFormat | str:
    """A reference name (``"fp64"``, ``"fp32"``, ``"bf16"``) or a :class:`BlockFormat`.

    ``None`` means ``"fp64"``. Unknown names raise ``ValueError`` listing the allowed ones.
    """
    if fmt is None:
        return "fp64"
    if isinstance(fmt, str) and fmt.lower() in REFERENCE_FORMATS:
        return fmt.lower()
    try:
        if isinstance(fmt, str) and fmt.lower().endswith("_asym") and fmt.lower() not in format_names():
            bf = asymmetric(fmt.lower().removesuffix("_asym"))     # then the block-size check below too
        else:
            try:
                bf = block_format(fmt)
            except ValueError as e:
                raise _UnknownFormat(str(e)) from None
    except _UnknownFormat:
        raise ValueError(f"unknown format {fmt!r}; allowed: {', '.join(REFERENCE_FORMATS)}, "
                         f"{', '.join(gemm_format_names())}, <int preset>_asym") from None
    if not isinstance(bf.block_size, int):
        raise ValueError(f"format {fmt!r} has block size {bf.block_size!r}; the quantized GEMM needs "
                         f"an integer block along the reduction dimension (e.g. mxint8, nvfp4)")
    return bf


def gemm_format_names() -> list[str]:
    """The block-format names the GEMM accepts: presets and aliases with an integer block size
    (direct-cast element names such as ``e4m3`` or ``int8`` have none)."""
    return [n for n in format_names() if isinstance(block_format(n).block_size, int)]


class _UnknownFormat(ValueError):
    """``block_format`` did not know the name (as opposed to a known name used wrongly)."""


def asymmetric(fmt) -> BlockFormat:
    """The INT block format ``fmt`` with the unpaired code -2^(b-1) (range [-2^(b-1), 2^(b-1)-1]).

    The study (arXiv 2510.25602, section 3.2, App. D.2, Table 10) shows this asymmetric range
    biases INT8 training gradients; its presets are symmetric. ``"mxint8_asym"`` names this format
    anywhere a format name is accepted.
    """
    try:
        bf = block_format(fmt)
    except ValueError as e:
        raise _UnknownFormat(str(e)) from None
    if bf.element.kind != "int":
        raise ValueError(f"asymmetric clipping applies to INT formats only; got {bf.name!r} "
                         f"(allowed: mxint8, mxint6, mxint4, nvint4)")
    return replace(bf, name=bf.name + "_asym", element=bf.element.with_asymmetric_int())


def format_label(fmt) -> str:
    f = resolve_format(fmt)
    return f if isinstance(f, str) else f.name


def check_scale_rule(scale_rule) -> str | None:
    """``None`` or one of :data:`SCALE_RULES` (lower-cased); anything else is a ``ValueError``."""
    if scale_rule is None:
        return None
    rule = str(scale_rule).lower()
    if rule not in SCALE_RULES:
        raise ValueError(f"scale_rule {scale_rule!r} is not allowed; allowed: {', '.join(SCALE_RULES)} "
                         f"(or None for each format's own rule)")
    return rule


def _rule_for(f, scale_rule) -> str | None:
    """The ``scale_rule=`` to pass to ``quantize`` for format ``f``: the requested UE8M0 rule where
    the format's scale can use it, else ``None`` (the format's own, e.g. ``nv``)."""
    rule = check_scale_rule(scale_rule)
    if rule is None or not isinstance(f, BlockFormat):
        return None
    return rule if rule in f.scale.rules else None


def effective_scale_rule(fmt, scale_rule=None) -> str:
    """The block-scale rule ``fmt`` is quantized with under ``scale_rule`` (``"none"`` for the
    unscaled references), e.g. ``("mxint8", "ceil") -> "ceil"``, ``("nvfp4", "ceil") -> "nv"``."""
    f = resolve_format(fmt)
    if not isinstance(f, BlockFormat):
        return "none"
    return _rule_for(f, scale_rule) or f.default_rule


def _check_reduction(k: int, fmt: BlockFormat, what: str) -> None:
    if k % fmt.block_size:
        raise ValueError(f"{what}: reduction length {k} is not a multiple of the {fmt.name} block "
                         f"size {fmt.block_size}; choose sizes divisible by {fmt.block_size}")


def quantize_operand(x: torch.Tensor, fmt, axis: int, *, hadamard: bool = False, seed: int = 0,
                     scale_rule: str | None = None) -> torch.Tensor:
    """Fake-quantize ``x`` in blocks along ``axis`` (after an optional Hadamard rotation).

    ``scale_rule``: ``None`` (the format's own rule: OCP ``floor`` for MX), ``"floor"`` or
    ``"ceil"`` (the study's); it applies to UE8M0-scaled (MX) formats, others keep their own.
    Returns float32 (float64 input is kept as float64 for the ``fp64`` reference).
    """
    f = resolve_format(fmt)
    if f == "fp64":
        return x
    if f == "fp32":
        return x.float()
    if f == "bf16":
        return x.to(torch.bfloat16).float()
    if hadamard:
        x = _rotate(x, f.block_size, seed, axis)
    q = _api("quantize", "quantize")(x.detach().float(), f, axis=axis, scale_rule=_rule_for(f, scale_rule))
    return torch.as_tensor(q, dtype=torch.float32)


def _rotate(x: torch.Tensor, block_size: int, seed: int, axis: int) -> torch.Tensor:
    y = _api("hadamard", "rotate")(x, block_size, seed, axis=axis)
    return torch.as_tensor(y, dtype=x.dtype)


class _QMatmulFn(torch.autograd.Function):
    """Quantized forward and backward GEMMs with a straight-through estimator."""

    @staticmethod
    def forward(ctx, a, b, fmt, hadamard, seed, scale_rule=None):
        ctx.save_for_backward(a, b)
        ctx.fmt, ctx.scale_rule = fmt, scale_rule
        aq = quantize_operand(a, fmt, -1, hadamard=hadamard, seed=seed, scale_rule=scale_rule)
        bq = quantize_operand(b, fmt, -2, hadamard=hadamard, seed=seed, scale_rule=scale_rule)
        return aq @ bq

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        fmt, rule = ctx.fmt, ctx.scale_rule
        ga = gb = None
        if ctx.needs_input_grad[0]:
            # dA = dC B^T: reduction over n, so both operands are re-quantized along n.
            if isinstance(fmt, BlockFormat):
                _check_reduction(g.shape[-1], fmt, "backward dA = dC B^T")
            ga = (quantize_operand(g, fmt, -1, scale_rule=rule)
                  @ quantize_operand(b.transpose(-1, -2), fmt, -2, scale_rule=rule))
            ga = _unbroadcast(ga, a.shape)
        if ctx.needs_input_grad[1]:
            # dB = A^T dC: reduction over m (and every batch dim b was broadcast over).
            a2, g2 = a, g
            if b.dim() == 2 and a.dim() > 2:
                a2, g2 = a.reshape(-1, a.shape[-1]), g.reshape(-1, g.shape[-1])
            if isinstance(fmt, BlockFormat):
                _check_reduction(a2.shape[-2], fmt, "backward dB = A^T dC")
            gb = (quantize_operand(a2.transpose(-1, -2), fmt, -1, scale_rule=rule)
                  @ quantize_operand(g2, fmt, -2, scale_rule=rule))
            gb = _unbroadcast(gb, b.shape)
        return ga, gb, None, None, None, None


def _unbroadcast(x: torch.Tensor, shape) -> torch.Tensor:
    while x.dim() > len(shape):
        x = x.sum(0)
    for i, s in enumerate(shape):
        if s == 1 and x.shape[i] != 1:
            x = x.sum(i, keepdim=True)
    return x


def qmatmul(a, b, fmt, *, hadamard: bool = False, seed: int = 0, recorder: "GemmRecorder | None" = None,
            name: str = "gemm", scale_rule: str | None = None) -> torch.Tensor:
    """``a @ b`` with both operands block-quantized along the reduction dimension.

    ``a``: ``(..., m, k)``, ``b``: ``(..., k, n)`` (torch or numpy; numpy in, numpy out).
    ``fmt``: a block format or a reference (see the module docstring). ``k`` must be a multiple of
    the block size (``ValueError`` otherwise: padding would silently change what is measured).
    ``hadamard``: rotate both operands by the same random Hadamard ``R`` (block = the format's block,
    seeded by ``seed``) along ``k`` first; a no-op for the unscaled references, where it is exact.
    ``scale_rule``: ``None`` (each format's own: OCP ``floor`` for MX), ``"floor"`` or ``"ceil"``
    (the study's ``--e8_scale_op ceil``, arXiv 2510.25602 eq. 9), applied to every UE8M0-scaled
    operand, forward and backward; NV formats keep their E4M3 x FP32 rule.
    Products accumulate in FP32 (``fp64``: in the input dtype). ``recorder``: a
    :class:`GemmRecorder` that counts MACs and captures operand codes under ``name``.
    Gradients (if ``a`` or ``b`` require them) come from quantized backward GEMMs (STE); the
    backward GEMMs are not rotated (the rotation cancels in exact arithmetic, and the study uses
    it for inference only).
    """
    as_numpy = isinstance(a, np.ndarray)
    a, b = torch.as_tensor(a), torch.as_tensor(b)
    if a.dim() < 2 or b.dim() < 2 or a.shape[-1] != b.shape[-2]:
        raise ValueError(f"qmatmul {name!r}: shapes {tuple(a.shape)} @ {tuple(b.shape)} do not chain "
                         f"(need (..., m, k) @ (..., k, n))")
    f = resolve_format(fmt)
    rule = _rule_for(f, scale_rule)
    if isinstance(f, BlockFormat):
        _check_reduction(a.shape[-1], f, f"qmatmul {name!r} {tuple(a.shape)} @ {tuple(b.shape)}")
    if recorder is not None:
        recorder.record(name, a, b, f, hadamard=hadamard, seed=seed, scale_rule=rule)
    if f == "fp64":
        out = a @ b
    elif torch.is_grad_enabled() and (a.requires_grad or b.requires_grad):
        out = _QMatmulFn.apply(a, b, f, hadamard and isinstance(f, BlockFormat), seed, rule)
    else:
        with torch.no_grad():
            out = _QMatmulFn.forward(_NoCtx(), a, b, f, hadamard and isinstance(f, BlockFormat), seed, rule)
    return out.numpy() if as_numpy else out


class _NoCtx:
    fmt = scale_rule = None

    def save_for_backward(self, *args):
        pass


def exact_mm(a: torch.Tensor, b: torch.Tensor, name: str = "gemm") -> torch.Tensor:
    """The unquantized matmul (``fmt="fp64"``), in the ``mm(a, b, name)`` signature."""
    return a @ b


def make_mm(fmt, *, hadamard: bool = False, seed: int = 0, recorder: "GemmRecorder | None" = None,
            scale_rule: str | None = None) -> MatMul:
    """A ``mm(a, b, name)`` closure over :func:`qmatmul` for injecting into a workload.

    The closure carries its settings as attributes ``fmt``, ``hadamard``, ``seed``, ``recorder``,
    ``scale_rule`` (the rule actually passed to ``quantize``: ``None`` = the format's own).
    """
    f = resolve_format(fmt)
    rule = _rule_for(f, scale_rule)

    def mm(a, b, name="gemm"):
        return qmatmul(a, b, f, hadamard=hadamard, seed=seed, recorder=recorder, name=name, scale_rule=rule)
    mm.fmt, mm.hadamard, mm.seed, mm.recorder, mm.scale_rule = f, hadamard, seed, recorder, rule
    return mm


@dataclass
class GemmRecorder:
    """Counts MACs per named GEMM and shape; optionally captures operand streams.

    ``capture``: also record operand codes (block formats only). From each call at most
    ``pairs_per_call`` block pairs ``(batch, row, column, block)`` are sampled (all of them when the
    GEMM is smaller), deterministically from ``seed``; calls after the first ``max_calls`` of a
    name are counted but not captured. Streams of one name are concatenated across calls while the
    NV per-tensor scales agree; a call with different tensor scales starts ``name@<call>``.
    """

    capture: bool = True
    pairs_per_call: int = 2048
    max_calls: int = 4
    seed: int = 0
    macs: dict = field(default_factory=lambda: defaultdict(int))
    shapes: dict = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    streams: dict = field(default_factory=dict)
    _calls: dict = field(default_factory=lambda: defaultdict(int))

    def record(self, name: str, a: torch.Tensor, b: torch.Tensor, fmt, *, hadamard=False, seed=0,
               scale_rule=None) -> None:
        batch = torch.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
        nb = math.prod(batch)
        self.macs[name] += nb * m * k * n
        self.shapes[name][(*batch, m, k, n)] += 1
        call = self._calls[name]
        self._calls[name] += 1
        if not self.capture or not isinstance(fmt, BlockFormat) or call >= self.max_calls:
            return
        with torch.no_grad():
            a = a.detach().expand(*batch, m, k)
            b = b.detach().expand(*batch, k, n)
            if hadamard:      # same dtype and order of operations as quantize_operand: identical codes
                a, b = _rotate(a, fmt.block_size, seed, -1), _rotate(b, fmt.block_size, seed, -2)
            qc = _api("quantize", "quantize_codes")
            rule = _rule_for(fmt, scale_rule)
            ca, cb = qc(a.float(), fmt, axis=-1, scale_rule=rule), qc(b.float(), fmt, axis=-2, scale_rule=rule)
        acodes = np.asarray(ca.codes).reshape(nb, m, -1, fmt.block_size)
        bcodes = np.asarray(cb.codes).reshape(nb, n, -1, fmt.block_size)
        ascale = np.asarray(ca.scale_codes).reshape(nb, m, -1)
        bscale = np.asarray(cb.scale_codes).reshape(nb, n, -1)
        nblk = acodes.shape[2]
        total = nb * m * n * nblk
        rng = np.random.default_rng([self.seed, call, *map(ord, name)])
        flat = np.arange(total) if total <= self.pairs_per_call else \
            np.sort(rng.choice(total, self.pairs_per_call, replace=False))
        bi, i, j, blk = np.unravel_index(flat, (nb, m, n, nblk))
        ts = (_scalar(ca.tensor_scale), _scalar(cb.tensor_scale))
        new = OperandStream(gemm=name, fmt=fmt.name, a_codes=acodes[bi, i, blk], a_scales=ascale[bi, i, blk],
                            b_codes=bcodes[bi, j, blk], b_scales=bscale[bi, j, blk],
                            a_tensor_scale=ts[0], b_tensor_scale=ts[1], block_size=fmt.block_size)
        key = name
        old = self.streams.get(key)
        if old is not None and (old.a_tensor_scale, old.b_tensor_scale) != ts:
            key = f"{name}@{call}"
            old = None
        if old is None:
            self.streams[key] = new
        else:
            self.streams[key] = OperandStream(
                gemm=name, fmt=fmt.name, block_size=fmt.block_size,
                a_codes=np.concatenate([old.a_codes, new.a_codes]),
                a_scales=np.concatenate([old.a_scales, new.a_scales]),
                b_codes=np.concatenate([old.b_codes, new.b_codes]),
                b_scales=np.concatenate([old.b_scales, new.b_scales]),
                a_tensor_scale=ts[0], b_tensor_scale=ts[1])

    def gemm_table(self) -> dict:
        """``{name: {"macs": int, "shapes": {"BxMxKxN": calls}}}`` (batch dims first)."""
        return {name: {"macs": int(self.macs[name]),
                       "shapes": {"x".join(map(str, s)): c for s, c in self.shapes[name].items()}}
                for name in self.macs}

    @property
    def total_macs(self) -> int:
        return int(sum(self.macs.values()))


def _scalar(x):
    if x is None:
        return None
    return float(np.asarray(x, dtype=np.float64).reshape(-1)[0])
