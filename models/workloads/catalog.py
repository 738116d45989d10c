"""The registered workloads (``intfp workload <name>``); each maps setup/evaluate onto a module."""
from __future__ import annotations

import math

import torch

from intfp.models.workloads import hla as _hla
from intfp.models.workloads import rope as _rope
from intfp.models.workloads import tensors as _tensors
from intfp.models.workloads import tiny_lm as _lm
from intfp.models.workloads.runner import register, rel_err


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --------------------------------------------------------------------------------------------
@register("hla", "Second-order masked HLA (arXiv 2510.27258), chunk-parallel all-GEMM form; also "
          "the serial recurrence and asymmetric AHLA", dict(batch=1, heads=2, n=256, d=32, dv=32, chunk=32,
                                                           gamma=1.0, serial=True))
class HLAWorkload:
    """Reference: the float64 dense masked form. ``qsnr_db`` / ``rel_err`` are the chunked form's;
    ``serial_rel_err`` quantizes the GEMVs of the recurrence every token; ``ahla_rel_err`` is AHLA
    chunked; ``cancellation`` = ||S C|| / ||S C - G|| at the end of the sequence (how much of the
    state the masked correction cancels, format independent)."""

    @staticmethod
    def setup(seed, batch, heads, n, d, dv, chunk, gamma, serial):
        g = _gen(seed)
        # q, k scaled by d^-1/2 (docs/workloads.md section 1.7: unscaled inputs are a range stress).
        q, k = (torch.randn(batch, heads, n, d, generator=g, dtype=torch.float64) / math.sqrt(d) for _ in range(2))
        v = torch.randn(batch, heads, n, dv, generator=g, dtype=torch.float64)
        ref = _hla.hla_dense(q, k, v, gamma=gamma)
        state = _hla.hla_token_states(q, k, v, gamma)
        total = state[0]
        for s in state[1:]:
            total = _hla.hla_combine(total, s)
        return dict(q=q, k=k, v=v, reference=ref, chunk=chunk, gamma=gamma, serial=serial,
                    ahla_reference=_hla.ahla_dense(q, k, v, gamma=gamma),
                    cancellation=float(torch.linalg.vector_norm(total.S @ total.C) /
                                       torch.linalg.vector_norm(total.S @ total.C - total.G)))

    @staticmethod
    def evaluate(ctx, mm, fmt):
        q, k, v = ctx["q"], ctx["k"], ctx["v"]
        kw = dict(chunk=ctx["chunk"], gamma=ctx["gamma"], mm=mm)
        out = _hla.hla_chunked(q, k, v, **kw)
        amm = lambda a, b, name: mm(a, b, "ahla." + name)   # noqa: E731  (separate GEMM names)
        extra = {"ahla_rel_err": rel_err(ctx["ahla_reference"], _hla.ahla_chunked(q, k, v, **{**kw, "mm": amm}))}
        if ctx["serial"]:
            out_serial = _hla.hla_serial(q, k, v, gamma=ctx["gamma"], mm=mm)
            extra["serial_rel_err"] = rel_err(ctx["reference"], out_serial)
        extra["cancellation"] = ctx["cancellation"]
        return out, extra


# --------------------------------------------------------------------------------------------
@register("rope", "One attention layer with multimodal RoPE (arXiv 2510.23095) over text + image + video; "
          "rotated q, k quantized for QK^T, probabilities and V for PV",
          dict(variant="mrope_i", spatial_reset=None, heads=8, kv_heads=8, head_dim=128, text_len=64,
               image_hw=16, video_thw=(4, 8, 8), offset=0, base=1e6))
class RoPEWorkload:
    """Sequence: text(text_len) <vs> image <ve> text(30) <vs> video <ve> text(rest to a multiple of 32).
    ``offset`` is added to every position id (large ids stress the angle precision). Extra columns:
    ``score_qsnr_db`` (pre-softmax QK^T), ``attn_kl`` (mean KL(P_ref || P_q) per query row, nats),
    ``score_rms_err_{tt,tv,vv}`` (RMS score error by text/vision pair type)."""

    @staticmethod
    def setup(seed, variant, spatial_reset, heads, kv_heads, head_dim, text_len, image_hw, video_thw, offset, base):
        if variant not in _rope.VARIANTS:
            raise ValueError(f"unknown RoPE variant {variant!r}; allowed: {', '.join(_rope.VARIANTS)}")
        if spatial_reset is None:  # the paper's design: MRoPE-I and MHRoPE reset, Qwen2-VL MRoPE does not
            spatial_reset = variant in ("mrope_i", "mhrope")
        t, h, w = video_thw
        segs = [_rope.text(text_len + 1), _rope.image(image_hw, image_hw), _rope.text(1 + 30 + 1),
                _rope.video(t, h, w), _rope.text(1)]
        n = sum(s.ntokens for s in segs)
        segs[-1] = _rope.text(1 + (-n) % 32)          # PV reduces over the sequence: keep it block aligned
        pos = _rope.position_ids(segs, spatial_reset=spatial_reset) + offset
        theta = _rope.rope_angles(pos, variant, head_dim=head_dim, base=base, num_kv_heads=kv_heads)
        g = _gen(seed)
        L = pos.shape[1]
        q = torch.randn(1, heads, L, head_dim, generator=g, dtype=torch.float64)
        k = torch.randn(1, kv_heads, L, head_dim, generator=g, dtype=torch.float64)
        v = torch.randn(1, kv_heads, L, head_dim, generator=g, dtype=torch.float64)
        if variant == "mhrope":
            qr = _rope.apply_rope(q, theta.repeat_interleave(heads // kv_heads, 0))
            kr = _rope.apply_rope(k, theta)
        else:
            qr, kr = _rope.apply_rope(q, theta), _rope.apply_rope(k, theta)
        out, scores, probs = _rope.attention(qr, kr, v)
        vis = _rope.token_kinds(segs)
        return dict(q=qr, k=kr, v=v, reference=out, scores=scores, probs=probs, vision=vis)

    @staticmethod
    def evaluate(ctx, mm, fmt):
        from intfp.models.workloads.runner import qsnr_db
        out, scores, probs = _rope.attention(ctx["q"], ctx["k"], ctx["v"], mm=mm)
        ref_s, ref_p = ctx["scores"], ctx["probs"]
        L = ref_s.shape[-1]
        causal = torch.ones(L, L, dtype=torch.bool).tril()
        p, pq = ref_p.double(), probs.double()
        kl = torch.where(causal, p * (p.clamp_min(1e-300).log() - pq.clamp_min(1e-300).log()), 0.0).sum(-1).mean()
        vis = ctx["vision"]
        err = (scores.double() - ref_s).pow(2)
        extra = {"score_qsnr_db": qsnr_db(ref_s[..., causal], scores[..., causal]), "attn_kl": float(kl)}
        for tag, (a, b) in {"tt": (False, False), "tv": (False, True), "vv": (True, True)}.items():
            pair = ((vis[:, None] == a) & (vis[None, :] == b)) | ((vis[:, None] == b) & (vis[None, :] == a))
            sel = pair & causal
            extra[f"score_rms_err_{tag}"] = float(err[..., sel].mean().sqrt())
        return out, extra


# --------------------------------------------------------------------------------------------
@register("llm_tensors", "Synthetic LLM-like activations (outlier channels, Student-t) times heavy-tailed "
          "weights; outlier_scale is the crest-factor knob", dict(tokens=256, d_in=1024, d_out=512,
                                                                  outlier_frac=1 / 128, outlier_scale=20.0))
class LLMTensorsWorkload:
    """``qsnr_db``: the GEMM output X W. Extra: ``act_qsnr_db`` / ``w_qsnr_db`` (each operand alone,
    blocked along the reduction dim, after the Hadamard rotation if requested), ``act_crest``
    (mean block crest factor of X along the reduction dim, RMS sigma, block = the format's)."""

    @staticmethod
    def setup(seed, tokens, d_in, d_out, outlier_frac, outlier_scale):
        x = _tensors.llm_activations(tokens, d_in, outlier_frac=outlier_frac, outlier_scale=outlier_scale, seed=seed)
        w = _tensors.llm_weights(d_in, d_out, seed=seed)
        return dict(x=x, w=w, reference=x @ w)

    @staticmethod
    def evaluate(ctx, mm, fmt):
        from intfp.models.workloads.qgemm import quantize_operand, resolve_format
        from intfp.models.workloads.runner import qsnr_db
        x, w = ctx["x"], ctx["w"]
        out = mm(x, w, "xw")
        bf = resolve_format(fmt)
        extra = {}
        if not isinstance(bf, str):
            rot = (lambda t, ax: torch.as_tensor(_api_rotate()(t, bf.block_size, mm.seed, axis=ax))) \
                if mm.hadamard else (lambda t, ax: t)
            xr, wr = rot(x, -1), rot(w, -2)
            extra["act_qsnr_db"] = qsnr_db(xr, quantize_operand(xr, bf, -1))
            extra["w_qsnr_db"] = qsnr_db(wr, quantize_operand(wr, bf, -2))
            extra["act_crest"] = _mean_crest(xr.numpy(), bf.block_size)
        return out, extra


def _api_rotate():
    from intfp.models.workloads.qgemm import _api
    return _api("hadamard", "rotate")


def _mean_crest(x, block):
    from intfp.models.workloads.qgemm import _api
    return float(_api("metrics", "mean_crest_factor")(x, block))


# --------------------------------------------------------------------------------------------
@register("tiny_lm", "Direct-cast inference of a tiny transformer LM trained here in FP32 on a synthetic "
          "grammar (arXiv 2510.25602 section 5.2): KL of next-token distributions", dict(train_steps=300, batch=32))
class TinyLMWorkload:
    """Reference: the FP32-trained model evaluated in float64. ``qsnr_db``: logits. Extra: ``kl_1e6``
    (mean KL(P_fp64 || P_q) x 1e6, the study's unit), ``loss`` (held-out cross-entropy with quantized
    GEMMs), ``loss_fp`` (the same in float64), ``top1_agree`` (argmax agreement)."""

    @staticmethod
    def setup(seed, train_steps, batch):
        model, _, curve = _lm.pretrained(seed, train_steps, progress=True)
        x, y = _lm.eval_batch(seed, batch, model.cfg.seq_len)
        with torch.no_grad():
            ref = model.double()(x)
            model.float()
        return dict(model=model, x=x, y=y, reference=ref, loss_fp=float(torch.nn.functional.cross_entropy(
            ref.reshape(-1, model.cfg.vocab), y.reshape(-1))), train_curve=curve)

    @staticmethod
    def evaluate(ctx, mm, fmt):
        model, x, y, ref = ctx["model"], ctx["x"], ctx["y"], ctx["reference"]
        logits = model(x, mm)
        return logits, {"kl_1e6": 1e6 * _lm.next_token_kl(ref, logits),
                        "loss": float(torch.nn.functional.cross_entropy(logits.reshape(-1, model.cfg.vocab).double(),
                                                                        y.reshape(-1))),
                        "loss_fp": ctx["loss_fp"],
                        "top1_agree": float((logits.argmax(-1) == ref.argmax(-1)).double().mean())}


# --------------------------------------------------------------------------------------------
@register("lm_train", "Low-bit training of the tiny LM with fake-quantized GEMMs forward and backward (STE), "
          "arXiv 2510.25602 section 5.3 / App. D.2", dict(steps=120, batch=16, base_steps=300, grad_batches=4))
class LMTrainWorkload:
    """Every format trains the same initialization on the same batches for ``steps`` steps.
    Reference: the same training in FP32 (logits on a held-out batch; ``qsnr_db`` compares the
    trained models' logits). Extra: ``final_loss`` (held-out), ``loss_gap`` (minus the FP32 run's),
    ``loss_curve`` (every 10 steps), and on the FP32-pretrained model (``base_steps``), averaged over
    ``grad_batches`` batches: ``grad_bias`` (mean signed weight-gradient error / RMS gradient),
    ``grad_cos``, ``grad_rel_err`` (see :func:`~intfp.models.workloads.tiny_lm.gradient_bias`).
    Suggested formats: ``bf16,mxfp8,mxint8,mxint8_asym``."""

    @staticmethod
    def setup(seed, steps, batch, base_steps, grad_batches):
        tokens = _lm.Grammar(seed).tokens(200_000)
        x, y = _lm.eval_batch(seed, 32)
        ref_model = _lm.TinyLM(seed=seed)
        torch.manual_seed(seed)
        with torch.enable_grad():
            curve = _lm.train_lm(ref_model, tokens, steps=steps, batch=batch, seed=seed)
        with torch.no_grad():
            ref = ref_model(x)
        base, _, _ = _lm.pretrained(seed, base_steps)
        data = _lm.batches(tokens, batch, base.cfg.seq_len, seed + 2)
        gb = [next(data) for _ in range(grad_batches)]
        return dict(tokens=tokens, x=x, y=y, reference=ref, steps=steps, batch=batch, seed=seed,
                    fp_loss=_lm.eval_loss(ref_model, x, y), fp_curve=curve, base=base, grad_batches=gb)

    @staticmethod
    def evaluate(ctx, mm, fmt):
        model = _lm.TinyLM(seed=ctx["seed"])
        torch.manual_seed(ctx["seed"])
        with torch.enable_grad():
            curve = _lm.train_lm(model, ctx["tokens"], steps=ctx["steps"], batch=ctx["batch"], seed=ctx["seed"], mm=mm,
                                 progress=True)
            stats = [_lm.gradient_bias(ctx["base"], xb, yb, mm) for xb, yb in ctx["grad_batches"]]
        with torch.no_grad():
            logits = model(ctx["x"], mm)          # evaluated as trained: quantized forward GEMMs
        loss = _lm.eval_loss(model, ctx["x"], ctx["y"], mm)
        extra = {"final_loss": loss, "loss_gap": loss - ctx["fp_loss"], "loss_curve": [round(c, 4) for c in curve]}
        extra.update({k: float(sum(s[k] for s in stats) / len(stats)) for k in stats[0]})
        return logits, extra
