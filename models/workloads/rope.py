"""Multimodal rotary position embeddings ("Revisiting Multimodal Positional Encoding in
Vision-Language Models", arXiv 2510.23095) and attention through quantized GEMMs.

Conventions follow HF ``transformers`` Qwen2-VL / Qwen2.5-VL (``get_rope_index``,
``apply_multimodal_rotary_pos_emb``) and the paper's code ``JJJYmmm/Multimodal-RoPEs``
(``freq_allocation/{mrope_i,mhrope}.py``, ``pos_design/mrope_i.py``); see docs/workloads.md:

* rotate-half RoPE: ``inv_freq_i = base^(-2i/hd)``, ``x' = x cos + rotate_half(x) sin`` with
  ``cos = cat(cos theta, cos theta)``; ``hd = 128`` gives 64 pairs.
* Position ids (:func:`position_ids`): 3 rows (t, h, w). Text tokens (including the
  ``<|vision_start|>`` / ``<|vision_end|>`` markers) get ``st + arange`` on all rows, ``st`` =
  max previous id + 1. A vision block (LLM grid ``t x h x w``, raster order) gets
  ``(t_idx * temporal_scale, h_idx, w_idx) + st``; with ``spatial_reset`` (the paper's design),
  ``h`` and ``w`` restart at 0 in each block. The next segment starts at
  ``st + max(t_idx * temporal_scale, h - 1, w - 1) + 1`` either way. ``start`` is the initial
  ``st`` (the sequence placed after that many text tokens; with the reset, vision h, w stay small).
* Frequency allocation (:func:`rope_angles`): ``"rope"`` (vanilla 1-D RoPE: every token, text or
  vision, at its sequence index ``start + 0..L-1``, :func:`sequential_positions`, as a text-only LLM
  numbers a flattened multimodal sequence; not the t row of the 3-D ids), ``"mrope"`` (Qwen2-VL,
  contiguous sections ``[16, 24, 24]``: pairs 0-15 t, 16-39 h, 40-63 w), ``"mrope_i"``
  (MRoPE-Interleave, ``[24, 20, 20]``: pair ``j`` takes h if ``j % 3 == 1`` and w if
  ``j % 3 == 2`` while ``j < 3 * section``, else t), ``"mhrope"`` (multi-head: ``[2, 3, 3]`` KV heads
  per axis, each head rotates all 64 pairs by its one axis; heads beyond the sections get no
  rotation).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from intfp.models.workloads.qgemm import MatMul, exact_mm

__all__ = ["Segment", "text", "image", "video", "position_ids", "sequential_positions", "rope_angles", "apply_rope", "rotate_half",
           "VARIANTS", "DEFAULT_SECTIONS", "attention", "token_kinds"]

VARIANTS = ("rope", "mrope", "mrope_i", "mhrope")
DEFAULT_SECTIONS = {"mrope": (16, 24, 24), "mrope_i": (24, 20, 20), "mhrope": (2, 3, 3)}


@dataclass(frozen=True)
class Segment:
    """``kind`` is ``"text"`` (``length`` tokens) or ``"image"`` / ``"video"`` (LLM grid ``t, h, w``)."""

    kind: str
    length: int = 0
    t: int = 1
    h: int = 1
    w: int = 1

    @property
    def ntokens(self) -> int:
        return self.length if self.kind == "text" else self.t * self.h * self.w


def text(n: int) -> Segment:
    return Segment("text", length=n)


def image(h: int, w: int) -> Segment:
    return Segment("image", t=1, h=h, w=w)


def video(t: int, h: int, w: int) -> Segment:
    return Segment("video", t=t, h=h, w=w)


def position_ids(segments, *, spatial_reset: bool = False, temporal_scale: float = 1.0,
                 start: int = 0) -> torch.Tensor:
    """``(3, L)`` int64 (t, h, w) position ids of a token sequence (module docstring).

    ``temporal_scale``: Qwen2.5-VL's ``second_per_grid_t * tokens_per_second`` for video frames
    (``t_idx = trunc(frame * temporal_scale)``; 1 is Qwen2-VL). Images always use frame 0.
    ``start``: the first id, i.e. the ids of the sequence placed after ``start`` earlier text tokens.
    Without ``spatial_reset`` this shifts all three rows; with it, vision ``h`` / ``w`` ids still
    restart at 0 (only ``t`` carries the start), which a shift of the finished ids would undo.
    """
    if start < 0:
        raise ValueError(f"start must be >= 0; got {start}")
    rows, st = [], int(start)
    for seg in segments:
        if seg.kind == "text":
            if seg.length < 0:
                raise ValueError(f"text length must be >= 0; got {seg.length}")
            ids = torch.arange(seg.length, dtype=torch.int64) + st
            rows.append(ids.expand(3, -1))
            st = st + seg.length
            continue
        if seg.kind not in ("image", "video"):
            raise ValueError(f"segment kind must be 'text', 'image' or 'video'; got {seg.kind!r}")
        if min(seg.t, seg.h, seg.w) < 1:
            raise ValueError(f"vision grid must be positive; got t={seg.t}, h={seg.h}, w={seg.w}")
        ft, hh, ww = torch.meshgrid(torch.arange(seg.t), torch.arange(seg.h), torch.arange(seg.w), indexing="ij")
        scale = temporal_scale if seg.kind == "video" else 0.0
        tt = (ft.to(torch.float64) * scale).trunc().to(torch.int64) if seg.kind == "video" else ft * 0
        offset = 0 if spatial_reset else st
        rows.append(torch.stack([tt.reshape(-1) + st, hh.reshape(-1) + offset, ww.reshape(-1) + offset]))
        st = st + int(max(tt.max().item(), seg.h - 1, seg.w - 1)) + 1
    return torch.cat(rows, 1) if rows else torch.zeros(3, 0, dtype=torch.int64)


def sequential_positions(n: int, start: int = 0) -> torch.Tensor:
    """``(n,)`` int64 ids ``start, start + 1, ..., start + n - 1``: vanilla RoPE's positions for a
    sequence of ``n`` tokens of any kind (HF ``position_ids = arange(seq_len)``)."""
    if n < 0 or start < 0:
        raise ValueError(f"need n >= 0 and start >= 0; got n={n}, start={start}")
    return torch.arange(n, dtype=torch.int64) + int(start)


def token_kinds(segments) -> torch.Tensor:
    """``(L,)`` bool: True for vision tokens."""
    return torch.cat([torch.full((s.ntokens,), s.kind != "text") for s in segments])


def _axis_of_pair(variant: str, npairs: int, section) -> torch.Tensor:
    """Which position row (0 t, 1 h, 2 w) drives each frequency pair."""
    j = torch.arange(npairs)
    if variant == "rope":
        return torch.zeros(npairs, dtype=torch.int64)
    if variant == "mrope":
        if sum(section) != npairs:
            raise ValueError(f"mrope sections {tuple(section)} must sum to the {npairs} pairs")
        return torch.repeat_interleave(torch.arange(3), torch.as_tensor(section))
    if variant == "mrope_i":
        if sum(section) != npairs:
            raise ValueError(f"mrope_i sections {tuple(section)} must sum to the {npairs} pairs")
        axis = torch.zeros(npairs, dtype=torch.int64)
        for a in (1, 2):
            axis[(j % 3 == a) & (j < 3 * section[a])] = a
        return axis
    raise ValueError(f"unknown RoPE variant {variant!r}; allowed: {', '.join(VARIANTS)}")


def rope_angles(pos: torch.Tensor, variant: str = "mrope_i", *, head_dim: int = 128, base: float = 1e6,
                section=None, num_kv_heads: int | None = None, dtype=torch.float64) -> torch.Tensor:
    """Rotation angles ``theta``: ``(L, hd/2)``, or ``(H_kv, L, hd/2)`` for ``"mhrope"``.

    ``pos``: ``(3, L)`` ids from :func:`position_ids` (a 1-D ``(L,)`` tensor is taken as text).
    ``"rope"`` needs 1-D positions (:func:`sequential_positions`) or 3-D ids whose rows agree (pure
    text): taking one row of multimodal ids would give vision tokens repeated or reset positions.
    HF computes the angles as a float32 outer product; ``dtype`` chooses (float64 for references).
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown RoPE variant {variant!r}; allowed: {', '.join(VARIANTS)}")
    if variant == "rope" and pos.dim() == 2 and not bool((pos == pos[:1]).all()):
        raise ValueError("vanilla 'rope' rotates by the 1-D token index: pass sequential_positions(L, start) "
                         "(got 3-D multimodal ids whose t, h, w rows differ)")
    if head_dim % 2:
        raise ValueError(f"head_dim must be even; got {head_dim}")
    if pos.dim() == 1:
        pos = pos.expand(3, -1)
    npairs = head_dim // 2
    # As HF computes it (``_compute_default_rope_parameters``): 1 / base^(2i/hd), in ``dtype``.
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.int64).to(dtype) / head_dim))
    theta = pos.to(dtype)[:, :, None] * inv_freq                    # (3, L, pairs)
    section = tuple(section or DEFAULT_SECTIONS.get(variant, ()))
    if variant == "mhrope":
        h = num_kv_heads if num_kv_heads is not None else sum(section)
        if sum(section) > h:
            raise ValueError(f"mhrope sections {section} need {sum(section)} KV heads; got {h}")
        axes = torch.repeat_interleave(torch.arange(3), torch.as_tensor(section))
        out = torch.zeros(h, pos.shape[1], npairs, dtype=dtype)       # unassigned heads: NoPE
        out[: len(axes)] = theta[axes]
        return out
    axis = _axis_of_pair(variant, npairs, section)
    return theta.gather(0, axis.expand(1, pos.shape[1], -1).contiguous()).squeeze(0)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rope(x: torch.Tensor, theta: torch.Tensor, *, table_dtype=None) -> torch.Tensor:
    """``x cos + rotate_half(x) sin`` for ``x (..., L, hd)`` and ``theta (..., L, hd/2)``.

    ``table_dtype``: round the cos / sin tables to this dtype first (default: ``theta``'s dtype,
    as HF computes them), then apply them in ``x``'s dtype.
    """
    dt = table_dtype or theta.dtype
    cos = torch.cat([theta.cos(), theta.cos()], -1).to(dt).to(x.dtype)
    sin = torch.cat([theta.sin(), theta.sin()], -1).to(dt).to(x.dtype)
    return x * cos + rotate_half(x) * sin


def attention(q, k, v, *, causal: bool = True, mm: MatMul = exact_mm):
    """Softmax attention with ``QK^T`` and ``PV`` through ``mm``; GQA by repeating KV heads.

    ``q (B, Hq, L, hd)``, ``k, v (B, Hkv, L, hd)``. Returns ``(output, scores, probs)``; the softmax
    runs in the dtype of the scores (FP32 for quantized GEMMs).
    """
    rep = q.shape[1] // k.shape[1]
    if rep * k.shape[1] != q.shape[1]:
        raise ValueError(f"query heads {q.shape[1]} must be a multiple of KV heads {k.shape[1]}")
    k, v = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
    scores = mm(q, k.transpose(-1, -2), "attn.qk") / q.shape[-1] ** 0.5
    if causal:
        L = scores.shape[-1]
        scores = scores.masked_fill(torch.ones(L, L, dtype=torch.bool).triu(1), float("-inf"))
    probs = scores.softmax(-1)
    return mm(probs, v, "attn.pv"), scores, probs
