"""The registered workloads (``intfp workload <name>``); each maps setup/evaluate onto a module."""
from __future__ import annotations

import math

import torch

from intfp.models.workloads import hla as _hla
from intfp.models.workloads import rope as _rope
from intfp.models.workloads import tensors as _tensors
from intfp.models.workloads import tiny_lm as _lm
from intfp.models.formats import BlockFormat
from intfp.models.workloads.qgemm import _api, quantize_operand
from intfp.models.workloads.registry import qsnr_db, register, rel_err


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --------------------------------------------------------------------------------------------
@register("hla", "Second-order masked HLA (arXiv 2510.27258), chunk-parallel all-GEMM form; also "
          "the serial recurrence and asymmetric AHLA", dict(batch=1, heads=2, n=256, d=32, dv=32, chunk=32,
                                                           gamma=1.0, normalize=False, serial=True, decay="alg1"))
class HLAWorkload:
    """Reference: the float64 dense masked form (eq. 3.3; eq. 3.4 with ``normalize``). ``qsnr_db`` /
    ``rel_err`` are the chunked form's. Extra: ``err_growth`` = relative error of the last quarter
    of the tokens over the first quarter's (the states S, C, G grow with t);
    ``serial_rel_err`` quantizes the GEMVs of the recurrence every token; ``ahla_rel_err`` is AHLA
    chunked; ``cancellation`` = ||S C|| / ||S C - G|| at the end of the sequence (how much of the
    state the masked correction cancels, format independent); with ``normalize``, ``den_flip_frac``:
    the fraction of tokens whose quantized denominator q^T(S m - h) has the wrong sign. ``decay``
    (for ``gamma < 1``): ``alg1`` = the paper's Algorithm 1 (default), ``consistent`` = the decayed
    masked sum (see :mod:`~intfp.models.workloads.hla`); AHLA always uses Algorithm 2's decay."""

    @staticmethod
    def setup(seed, batch, heads, n, d, dv, chunk, gamma, normalize, serial, decay):
        if decay not in _hla.DECAYS:
            raise ValueError(f"unknown HLA decay rule {decay!r}; allowed: {', '.join(_hla.DECAYS)}")
        g = _gen(seed)
        # q, k scaled by d^-1/2: unscaled inputs make the output grow like |k|^2 |q|^2 (a range stress).
        q, k = (torch.randn(batch, heads, n, d, generator=g, dtype=torch.float64) / math.sqrt(d) for _ in range(2))
        v = torch.randn(batch, heads, n, dv, generator=g, dtype=torch.float64)
        kw = dict(gamma=gamma, normalize=normalize)
        state = _hla.hla_token_states(q, k, v, gamma, decay)
        total = state[0]
        for s in state[1:]:
            total = _hla.hla_combine(total, s)
        return dict(q=q, k=k, v=v, reference=_hla.hla_dense(q, k, v, decay=decay, **kw), chunk=chunk, kw=kw,
                    serial=serial, decay=decay, ahla_reference=_hla.ahla_dense(q, k, v, **kw),
                    den_reference=_hla.hla_dense(q, k, torch.ones_like(v[..., :1]), gamma=gamma, decay=decay),
                    cancellation=float(torch.linalg.vector_norm(total.S @ total.C) /
                                       torch.linalg.vector_norm(total.S @ total.C - total.G)))

    @staticmethod
    def evaluate(ctx, mm, fmt):
        q, k, v, ref = ctx["q"], ctx["k"], ctx["v"], ctx["reference"]
        kw = dict(chunk=ctx["chunk"], mm=mm, **ctx["kw"])
        out = _hla.hla_chunked(q, k, v, decay=ctx["decay"], **kw)
        quarter = q.shape[-2] // 4
        amm = lambda a, b, name: mm(a, b, "ahla." + name)   # noqa: E731  (separate GEMM names)
        extra = {"err_growth": rel_err(ref[..., -quarter:, :], out[..., -quarter:, :]) /
                 rel_err(ref[..., :quarter, :], out[..., :quarter, :]),
                 "ahla_rel_err": rel_err(ctx["ahla_reference"], _hla.ahla_chunked(q, k, v, **{**kw, "mm": amm}))}
        if ctx["serial"]:
            out_serial = _hla.hla_serial(q, k, v, mm=mm, decay=ctx["decay"], **ctx["kw"])
            extra["serial_rel_err"] = rel_err(ref, out_serial)
        extra["cancellation"] = ctx["cancellation"]
        if ctx["kw"]["normalize"]:
            dmm = lambda a, b, name: mm(a, b, "den." + name)   # noqa: E731
            den = _hla.hla_chunked(q, k, torch.ones_like(v[..., :1]), chunk=ctx["chunk"], gamma=ctx["kw"]["gamma"],
                                   mm=dmm, decay=ctx["decay"])
            extra["den_flip_frac"] = float((den.sign() != ctx["den_reference"].sign()).double().mean())
        return out, extra


# --------------------------------------------------------------------------------------------
@register("rope", "One attention layer with multimodal RoPE (arXiv 2510.23095) over text + image + video; "
          "rotated q, k quantized for QK^T, probabilities and V for PV",
          dict(variant="mrope_i", spatial_reset=None, heads=8, kv_heads=8, head_dim=128, text_len=64,
               image_hw=16, video_thw=(4, 8, 8), offset=0, base=1e6, angles="fp64"))
class RoPEWorkload:
    """Sequence: text(text_len) <vs> image <ve> text(30) <vs> video <ve> text(rest to a multiple of 32).
    ``offset``: the sequence starts at position id ``offset``, as if preceded by that many text tokens
    (large ids stress the angle precision; with spatial reset the vision h / w ids stay small); ``angles``
    (``fp64``, ``fp32`` as HF computes them, ``bf16``) is the precision of ``pos * inv_freq`` and of
    the cos/sin tables on the quantized path (the reference always uses float64). Extra columns:
    ``score_qsnr_db`` (pre-softmax QK^T), ``attn_kl`` (mean KL(P_ref || P_q) per query row, nats),
    ``score_rms_err_{tt,tv,vv}`` (RMS score error by text/vision pair type). ``variant="rope"`` is
    vanilla 1-D RoPE at consecutive positions ``offset + 0..L-1`` over the whole sequence."""

    @staticmethod
    def setup(seed, variant, spatial_reset, heads, kv_heads, head_dim, text_len, image_hw, video_thw, offset, base,
              angles):
        if variant not in _rope.VARIANTS:
            raise ValueError(f"unknown RoPE variant {variant!r}; allowed: {', '.join(_rope.VARIANTS)}")
        dtypes = {"fp64": torch.float64, "fp32": torch.float32, "bf16": torch.bfloat16}
        if angles not in dtypes:
            raise ValueError(f"angles must be one of {', '.join(dtypes)}; got {angles!r}")
        if heads < 1 or kv_heads < 1 or heads % kv_heads:
            raise ValueError(f"heads={heads} must be a multiple of kv_heads={kv_heads} (GQA repeats each KV head "
                             f"heads // kv_heads times)")
        if spatial_reset is None:  # the paper's design: MRoPE-I and MHRoPE reset, Qwen2-VL MRoPE does not
            spatial_reset = variant in ("mrope_i", "mhrope")
        t, h, w = video_thw
        segs = [_rope.text(text_len + 1), _rope.image(image_hw, image_hw), _rope.text(1 + 30 + 1),
                _rope.video(t, h, w), _rope.text(1)]
        n = sum(s.ntokens for s in segs)
        segs[-1] = _rope.text(1 + (-n) % 32)          # PV reduces over the sequence: keep it block aligned
        # offset = that many earlier text tokens: with spatial reset, vision h / w ids stay small
        pos = _rope.position_ids(segs, spatial_reset=spatial_reset, start=offset)
        L = pos.shape[1]
        if variant == "rope":         # vanilla RoPE numbers the flattened sequence 0..L-1 (+ offset)
            pos = _rope.sequential_positions(L, start=offset)
        g = _gen(seed)
        q = torch.randn(1, heads, L, head_dim, generator=g, dtype=torch.float64)
        k = torch.randn(1, kv_heads, L, head_dim, generator=g, dtype=torch.float64)
        v = torch.randn(1, kv_heads, L, head_dim, generator=g, dtype=torch.float64)

        def rotated(dtype):
            theta = _rope.rope_angles(pos, variant, head_dim=head_dim, base=base, num_kv_heads=kv_heads, dtype=dtype)
            # cos / sin tables in the same precision as the angles, then applied in float64
            tq = theta.repeat_interleave(heads // kv_heads, 0) if variant == "mhrope" else theta
            return (_rope.apply_rope(q, tq, table_dtype=dtype), _rope.apply_rope(k, theta, table_dtype=dtype))
        qr, kr = rotated(torch.float64)
        out, scores, probs = _rope.attention(qr, kr, v)
        q_eval, k_eval = rotated(dtypes[angles]) if angles != "fp64" else (qr, kr)
        vis = _rope.token_kinds(segs)
        return dict(q=q_eval, k=k_eval, v=v, reference=out, scores=scores, probs=probs, vision=vis, pos=pos,
                    inputs=(q, k, v))

    @staticmethod
    def evaluate(ctx, mm, fmt):
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
        x, w = ctx["x"], ctx["w"]
        out = mm(x, w, "xw")
        extra = {}
        if isinstance(mm.fmt, BlockFormat):
            bs = mm.fmt.block_size
            if mm.hadamard:          # the operands as the quantizer sees them
                rotate = _api("hadamard", "rotate")
                x = torch.as_tensor(rotate(x, bs, mm.seed, axis=-1))
                w = torch.as_tensor(rotate(w, bs, mm.seed, axis=-2))
            rule = getattr(mm, "scale_rule", None)
            extra["act_qsnr_db"] = qsnr_db(x, quantize_operand(x, mm.fmt, -1, scale_rule=rule))
            extra["w_qsnr_db"] = qsnr_db(w, quantize_operand(w, mm.fmt, -2, scale_rule=rule))
            extra["act_crest"] = float(_api("metrics", "mean_crest_factor")(x.numpy(), bs))
        return out, extra


# --------------------------------------------------------------------------------------------
@register("tiny_lm", "Direct-cast inference of a tiny transformer LM trained here in FP32 on a synthetic "
          "grammar (arXiv 2510.25602 section 5.2): the study's top-25 KL and the full KL of next-token distributions",
          dict(train_steps=300, batch=32, quantize_attention=False, topk=25))
class TinyLMWorkload:
    """Reference: the FP32-trained model evaluated in float64. Quantized: the linear layers (q/k/v,
    o, up, down) as in the study; the attention products too with ``quantize_attention=True``.
    ``qsnr_db``: logits. Extra: ``kl_study`` (the study's number: top-``topk`` KL with ``F.kl_div``'s
    mean reduction, x 1e6, :func:`~intfp.models.workloads.tiny_lm.kl_study`), ``kl_nats`` (the
    full-vocabulary KL(P_fp64 || P_q), nats per token), ``loss`` (held-out cross-entropy with
    quantized GEMMs), ``loss_fp`` (the same in float64), ``top1_agree`` (argmax agreement)."""

    @staticmethod
    def setup(seed, train_steps, batch, quantize_attention, topk):
        model, _, curve = _lm.pretrained(seed, train_steps, progress=True)
        if not 1 <= topk <= model.cfg.vocab:
            raise ValueError(f"topk must be in 1..{model.cfg.vocab} (the vocabulary); got {topk!r}")
        x, y = _lm.eval_batch(seed, batch, model.cfg.seq_len)
        with torch.no_grad():
            ref = model.double()(x)
            model.float()
        return dict(model=model, x=x, y=y, reference=ref, loss_fp=float(torch.nn.functional.cross_entropy(
            ref.reshape(-1, model.cfg.vocab), y.reshape(-1))), train_curve=curve, quantize_attention=quantize_attention,
            topk=topk)

    @staticmethod
    def evaluate(ctx, mm, fmt):
        model, x, y, ref = ctx["model"], ctx["x"], ctx["y"], ctx["reference"]
        logits = model(x, mm, quantize_attention=ctx["quantize_attention"])
        return logits, {"kl_study": _lm.kl_study(ref, logits, ctx["topk"]), "kl_nats": _lm.kl_nats(ref, logits),
                        "loss": float(torch.nn.functional.cross_entropy(logits.reshape(-1, model.cfg.vocab).double(),
                                                                        y.reshape(-1))),
                        "loss_fp": ctx["loss_fp"],
                        "top1_agree": float((logits.argmax(-1) == ref.argmax(-1)).double().mean())}


# --------------------------------------------------------------------------------------------
@register("lm_train", "Low-bit training of the tiny LM with fake-quantized GEMMs forward and backward (STE), "
          "arXiv 2510.25602 section 5.3 / App. D.2", dict(steps=40, batch=16, grad_batches=4, quantize_attention=False))
class LMTrainWorkload:
    """Every format trains the same initialization on the same batches for ``steps`` steps.
    Reference: the same training in FP32, its logits on a held-out batch (``qsnr_db`` compares the
    trained models' logits; each model evaluated as trained, i.e. with its quantized forward GEMMs).
    Extra: ``final_loss`` (held-out), ``loss_gap`` (minus the FP32 run's), ``loss_curve`` (mean
    training loss every 5 steps), and, at the FP32 run's final weights, averaged over ``grad_batches`` batches:
    ``grad_bias`` (mean signed weight-gradient error / RMS gradient), ``grad_cos``, ``grad_rel_err``
    (see :func:`~intfp.models.workloads.tiny_lm.gradient_bias`).
    Suggested formats: ``bf16,mxfp8,mxint8,mxint8_asym``."""

    @staticmethod
    def setup(seed, steps, batch, grad_batches, quantize_attention):
        tokens = _lm.Grammar(seed).tokens(200_000)
        x, y = _lm.eval_batch(seed, 32)
        ref_model = _lm.TinyLM(seed=seed)
        torch.manual_seed(seed)
        with torch.enable_grad():
            curve = _lm.train_lm(ref_model, tokens, steps=steps, batch=batch, seed=seed, progress=True, log_every=5)
        with torch.no_grad():
            ref = ref_model(x)
        data = _lm.batches(tokens, batch, ref_model.cfg.seq_len, seed + 2)
        gb = [next(data) for _ in range(grad_batches)]
        return dict(tokens=tokens, x=x, y=y, reference=ref, steps=steps, batch=batch, seed=seed,
                    fp_loss=_lm.eval_loss(ref_model, x, y), fp_curve=curve, base=ref_model, grad_batches=gb,
                    qa=quantize_attention)

    @staticmethod
    def evaluate(ctx, mm, fmt):
        model = _lm.TinyLM(seed=ctx["seed"])
        qa = ctx["qa"]
        torch.manual_seed(ctx["seed"])
        with torch.enable_grad():
            curve = _lm.train_lm(model, ctx["tokens"], steps=ctx["steps"], batch=ctx["batch"], seed=ctx["seed"], mm=mm,
                                 progress=True, log_every=5, quantize_attention=qa)
            stats = [_lm.gradient_bias(ctx["base"], xb, yb, mm, quantize_attention=qa) for xb, yb in ctx["grad_batches"]]
        with torch.no_grad():
            logits = model(ctx["x"], mm, quantize_attention=qa)    # evaluated as trained: quantized forward GEMMs
        loss = _lm.eval_loss(model, ctx["x"], ctx["y"], mm, quantize_attention=qa)
        extra = {"final_loss": loss, "loss_gap": loss - ctx["fp_loss"], "loss_curve": [round(c, 4) for c in curve]}
        extra.update({k: float(sum(s[k] for s in stats) / len(stats)) for k in stats[0]})
        return logits, extra


# --------------------------------------------------------------------------------------------
_DMD_CACHE: dict = {}


@register("dmd", "Phased DMD (arXiv 2510.27684) 2-D toy: MLP teacher of an 8-mode GMM, 2 phases x 2 Euler "
          "steps; quantized 4-NFE sampler and DMD gradient", dict(teacher_steps=1000, dmd_iters=60, batch=256,
                                                                  samples=2048))
class DMDWorkload:
    """Trained in FP32 once per process (teacher, then phased DMD students), then per format the
    4-NFE sampler runs with all generator GEMMs quantized from fixed noise. Reference: the same
    sampler in float64 (``qsnr_db`` is over the samples). Extra: ``mode_dist``, ``mode_weight_l1``,
    ``modes_covered``, ``sliced_w1`` (to exact GMM samples) of the quantized samples, and
    ``dmd_grad_cos`` / ``dmd_grad_rel_err``: the DMD gradient ``w (v_T - v_F)`` on a fixed batch with
    quantized teacher and fake MLPs versus float64. Format-independent context: ``teacher4_mode_dist``
    and ``teacher200_mode_dist``, the FP teacher MLP sampled with 4 and 200 Euler steps."""

    @staticmethod
    def setup(seed, teacher_steps, dmd_iters, batch, samples):
        from intfp.models.workloads import dmd as _dmd
        key = (seed, teacher_steps, dmd_iters, batch)
        if key not in _DMD_CACHE:
            with torch.enable_grad():
                teacher = _dmd.fit_teacher(steps=teacher_steps, seed=seed)
                students = _dmd.PhasedDMD(teacher).train(iters=dmd_iters, batch=batch, seed=seed, progress=True)
            _DMD_CACHE[key] = students
        students = _DMD_CACHE[key]
        g = _gen(seed + 11)
        z = torch.randn(samples, 2, generator=g, dtype=torch.float64)
        data = _dmd.gmm_sample(samples, g)
        dbl = _DoubleView(students)
        ref = dbl.sample(z)
        with torch.no_grad():
            x_s = students.sample(z[:512].float(), 0).double()       # phase-1 outputs, s = 0.5
        grad_ref, _ = _dmd.dmd_gradient(dbl.teacher, dbl.fakes[0], x_s, 0.5, _gen(seed + 12))
        with torch.no_grad():
            teacher = {n: _dmd.sample_metrics(_dmd.euler(dbl.teacher, z, 1.0, 0.0, n), data)["mode_dist"]
                       for n in (4, 200)}
        return dict(students=students, z=z, data=data, reference=ref, x_s=x_s, grad_ref=grad_ref, seed=seed,
                    teacher=teacher)

    @staticmethod
    def evaluate(ctx, mm, fmt):
        from intfp.models.workloads import dmd as _dmd
        st = ctx["students"]
        out = st.sample(ctx["z"].float(), mm=mm)
        grad, _ = _dmd.dmd_gradient(st.teacher, st.fakes[0], ctx["x_s"].float(), 0.5, _gen(ctx["seed"] + 12), mm)
        gr = ctx["grad_ref"]
        extra = _dmd.sample_metrics(out, ctx["data"])
        extra["dmd_grad_cos"] = float(torch.nn.functional.cosine_similarity(grad.double().flatten(), gr.flatten(), 0))
        extra["dmd_grad_rel_err"] = rel_err(gr, grad)
        extra.update({f"teacher{n}_mode_dist": v for n, v in ctx["teacher"].items()})
        return out, extra


class _DoubleView:
    """Float64 copies of the students (the reference path), sharing nothing with the originals."""

    def __init__(self, students):
        import copy
        self._s = copy.deepcopy(students)
        for m in [self._s.teacher, *self._s.gens, *self._s.fakes]:
            m.double()
        self.teacher, self.fakes = self._s.teacher, self._s.fakes

    def sample(self, z):
        with torch.no_grad():
            return self._s.sample(z)


# --------------------------------------------------------------------------------------------
@register("bob", "BOB (arXiv 2510.24078) procedure on a toy set with a class-correlated nuisance context: "
          "real-only vs context-marginalized synthetic training; quantized vs FP classifiers",
          dict(n_real=80, corr=0.9, n_synth=100, n_test=4000, steps=400))
class BOBWorkload:
    """Two classifiers, trained in FP32: ``real`` (few-shot real data only) and ``bob`` (real plus
    context-preserving generator samples with contexts marginalized over the bank). Evaluated on a
    ``cond`` split (training correlation) and a ``marg`` split (context independent of class).
    Reference: the ``bob`` classifier's float64 logits on the ``marg`` split. Extra: ``acc_{model}_{split}``
    and ``agree_{model}_{split}`` (argmax agreement with the FP64 model) for both models and splits."""

    @staticmethod
    def setup(seed, n_real, corr, n_synth, n_test, steps):
        from intfp.models.workloads import bob as _bob
        world = _bob.ToyWorld(seed=seed)
        x, y, b, p = _bob.make_split(world, n_real, corr=corr, seed=seed + 1)
        splits = {"cond": _bob.make_split(world, n_test, corr=corr, seed=seed + 2)[:2],
                  "marg": _bob.make_split(world, n_test, corr=0.0, seed=seed + 3)[:2]}
        gen = _bob.ContextGenerator(x, y, b, p, world.C, world.B, world.P)
        xs, ys = _bob.bob_synthetic(gen, world.C, n_synth, seed=seed + 4)
        with torch.enable_grad():
            models = {"real": _bob.train_classifier(x, y, world.C, steps=steps, seed=seed),
                      "bob": _bob.train_classifier(torch.cat([x, xs]), torch.cat([y, ys]), world.C, steps=steps,
                                                   seed=seed)}
        with torch.no_grad():
            fp = {(m, s): models[m].double()(splits[s][0].double()) for m in models for s in splits}
            for m in models.values():
                m.float()
        return dict(models=models, splits=splits, fp=fp, reference=fp[("bob", "marg")])

    @staticmethod
    def evaluate(ctx, mm, fmt):
        from intfp.models.workloads import bob as _bob
        extra, out = {}, None
        for (m, s), ref in ctx["fp"].items():
            x, y = ctx["splits"][s]
            logits = ctx["models"][m](x, mm)
            extra[f"acc_{m}_{s}"] = _bob.accuracy(logits, y)
            extra[f"agree_{m}_{s}"] = float((logits.argmax(-1) == ref.argmax(-1)).double().mean())
            if (m, s) == ("bob", "marg"):
                out = logits
        return out, extra


# --------------------------------------------------------------------------------------------
@register("value_drift", "Value-Drifts-style stance drift (arXiv 2510.26707) of the tiny LM under quantization: "
          "3-choice answer distributions on topic-grouped prompts, drift vs FP with bootstrap CIs",
          dict(train_steps=300, prompts_per_topic=32, n_boot=500))
class ValueDriftWorkload:
    """Topics: the 8 noun stems of the tiny LM's grammar. A prompt is grammar text ending in a
    singular subject noun phrase of that topic; the "stance" is the softmax over the logits of three
    verb tokens (32, 33, 34) at the last position. Reference: float64 last-position logits. Extra:
    ``drift_max`` / ``drift_mean_abs`` (over topics and stances, vs FP64), ``topics_significant``
    (topics with a stance drift whose 95% paired-bootstrap CI excludes 0), ``stance_kl``
    (mean over topics of KL(stance_fp || stance_q)). The post-training run with drift magnitude and
    drift time is ``intfp workload value-drift-post`` (:func:`~intfp.models.workloads.value_drift.posttrain`)."""

    @staticmethod
    def setup(seed, train_steps, prompts_per_topic, n_boot):
        from intfp.models.workloads import value_drift as vd
        model, _, _ = _lm.pretrained(seed, train_steps, progress=True)
        # PV reduces over the prompt length: prompts are exactly seq_len tokens (block aligned)
        x, topics = vd.stance_prompts(seed, prompts_per_topic, model.cfg.seq_len)
        with torch.no_grad():
            ref = model.double()(x)[:, -1]
            model.float()
        return dict(model=model, x=x, topics=topics, reference=ref, n_boot=n_boot, seed=seed)

    @staticmethod
    def evaluate(ctx, mm, fmt):
        import numpy as np
        from intfp.models.workloads import value_drift as vd
        logits = ctx["model"](ctx["x"], mm)[:, -1]
        choices = list(vd.STANCE_TOKENS)
        pa = vd.stance_probs(ctx["reference"][:, choices].numpy())
        pb = vd.stance_probs(logits[:, choices].double().numpy())
        drift = vd.drift_magnitude(pa, pb, ctx["topics"], n_boot=ctx["n_boot"], seed=ctx["seed"])
        d = np.stack([v["drift"] for v in drift.values()])
        da, db = vd.stance_distribution(pa, ctx["topics"]), vd.stance_distribution(pb, ctx["topics"])
        kl = np.mean([float((da[t] * np.log(da[t] / db[t])).sum()) for t in da])
        return logits, {"drift_max": float(np.abs(d).max()), "drift_mean_abs": float(np.abs(d).mean()),
                        "topics_significant": int(sum(v["significant"].any() for v in drift.values())),
                        "stance_kl": kl}
