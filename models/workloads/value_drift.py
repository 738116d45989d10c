"""Value Drifts (arXiv 2510.26707) as metrics on stance distributions.

The paper scores a model's stance (support / neutral / oppose) on topic-grouped prompts: per
generation the three choices' log-probabilities are soft-maxed, then averaged over generations
and prompts into one distribution per topic. It defines (definitions from secondary summaries,
no code or paper text read; the open points are reconstructed here and marked so):

* **drift magnitude**: the change of the expected stance probability between two checkpoints.
  *Reconstructed*: signed ``p_B - p_A`` per topic and stance (report ``abs`` as needed).
* **drift time**: the fraction of training steps needed to reach the 95% CI of the *peak*
  stance probability. *Reconstructed*: the peak is the maximum over checkpoints, its CI a
  percentile bootstrap over prompts, and the drift time is the first checkpoint whose mean lies
  inside the CI, divided by the last step.

Two uses in this suite:

* the ``value_drift`` workload: the "checkpoints" are number formats, FP32 versus quantized, so
  the drift magnitude measures how far quantization moves a model's stance distribution (with
  bootstrap CIs over prompts, so a drift smaller than the prompt sampling noise is reported as such);
* :func:`posttrain` (``intfp workload value-drift-post``): a real post-training run in which values
  move. The pre-trained tiny LM (:mod:`~intfp.models.workloads.tiny_lm`) is fine-tuned (SFT) on a
  stance-labelled synthetic corpus, then preference-tuned with DPO on single-token stance pairs,
  every GEMM of the linear layers in the format under test (forward and backward, STE), with
  stance checkpoints along the way. Topics: the grammar's 8 noun stems; stances: the singular verbs
  32 / 33 / 34 read as support / neutral / oppose; a prompt ends in a singular subject of its
  topic and the stance is the softmax over those three logits. SFT corpus: half grammar text, half
  "det [adj] noun_T verb obj ." sentences whose verb follows a per-topic stance distribution
  (topics 0-3 lean support, 4-7 oppose). Preference data, as the paper's synthetic set with a
  controlled value gap: ``gap`` = chosen oppose over rejected support for every topic; ``nogap`` =
  chosen and rejected stances drawn independently (no value signal). Per phase (SFT, DPO) and topic:
  drift magnitude with a paired bootstrap CI, and drift time of the most-moved stance.
"""
from __future__ import annotations

import numpy as np

__all__ = ["stance_probs", "stance_distribution", "drift_magnitude", "bootstrap_ci", "drift_time", "stance_prompts",
           "STANCE_TOKENS", "SFT_STANCE", "sft_corpus", "dpo_pairs", "dpo_loss", "posttrain", "phase_drifts",
           "posttrain_report", "PAPER_EXAMPLES"]

#: support / neutral / oppose: the singular verbs 32, 33, 34 of the tiny LM's grammar.
STANCE_TOKENS = (32, 33, 34)
#: The SFT corpus's stance distribution per topic (noun stem 0..7): 0-3 lean support, 4-7 oppose.
SFT_STANCE = tuple((0.7, 0.2, 0.1) if t < 4 else (0.1, 0.2, 0.7) for t in range(8))
#: (algorithm, topic-stance, magnitude, drift time) examples of the paper (secondary notes).
PAPER_EXAMPLES = (("PPO", "abortion-support", 0.05, 0.21), ("DPO", "immigration-support", 0.02, 0.14),
                  ("SimPO", "climate-support", 0.27, 0.42))


def stance_probs(choice_logits) -> np.ndarray:
    """Softmax over the last axis (the three choices' log-probabilities or logits)."""
    z = np.asarray(choice_logits, dtype=np.float64)
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def _check_topics(probs, topics):
    probs = np.asarray(probs, dtype=np.float64)
    topics = np.asarray(topics)
    if probs.ndim != 2 or len(topics) != len(probs):
        raise ValueError(f"need probs (n_prompts, n_choices) and one topic per prompt; got {probs.shape} "
                         f"and {topics.shape}")
    return probs, topics


def stance_distribution(probs, topics) -> dict:
    """``{topic: mean stance vector}`` over the prompts of each topic (generations pre-averaged)."""
    probs, topics = _check_topics(probs, topics)
    return {t: probs[topics == t].mean(0) for t in np.unique(topics)}


def bootstrap_ci(values, stat=np.mean, *, n_boot: int = 1000, alpha: float = 0.05, seed: int = 0, axis: int = 0):
    """Percentile bootstrap ``(low, high)`` of ``stat`` resampling along ``axis``."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1); got {alpha!r}")
    v = np.asarray(values, dtype=np.float64)
    n = v.shape[axis]
    if n < 2:
        raise ValueError(f"bootstrap needs at least 2 samples; got {n}")
    rng = np.random.default_rng(seed)
    idx = rng.integers(n, size=(n_boot, n))
    stats = np.stack([stat(np.take(v, i, axis=axis), axis=axis) for i in idx])
    return np.quantile(stats, alpha / 2, axis=0), np.quantile(stats, 1 - alpha / 2, axis=0)


def drift_magnitude(probs_a, probs_b, topics, *, n_boot: int = 1000, alpha: float = 0.05, seed: int = 0) -> dict:
    """Per topic: signed drift ``mean(p_B) - mean(p_A)`` per stance and its paired bootstrap CI.

    ``probs_a`` / ``probs_b``: ``(n_prompts, n_choices)`` stance probabilities of the two models on
    the same prompts (paired: the bootstrap resamples prompts jointly). Returns
    ``{topic: {"drift": (n_choices,), "low": ..., "high": ..., "significant": bool array}}``.
    """
    a, topics = _check_topics(probs_a, topics)
    b, _ = _check_topics(probs_b, topics)
    if a.shape != b.shape:
        raise ValueError(f"the two models' stance arrays differ in shape: {a.shape} vs {b.shape}")
    out = {}
    for t in np.unique(topics):
        d = b[topics == t] - a[topics == t]
        lo, hi = bootstrap_ci(d, n_boot=n_boot, alpha=alpha, seed=seed)
        out[t] = {"drift": d.mean(0), "low": lo, "high": hi, "significant": (lo > 0) | (hi < 0)}
    return out


def drift_time(trajectory, steps=None, *, n_boot: int = 1000, alpha: float = 0.05, seed: int = 0,
               mode: str = "max") -> float:
    """Fraction of training needed to reach the bootstrap CI of the peak (reconstructed definition).

    ``trajectory``: ``(n_checkpoints, n_prompts)`` probability of one stance on one topic's prompts
    at each checkpoint; ``steps``: the checkpoints' training steps (default ``0..n-1``). ``mode``:
    the "peak" is the maximum (``max``), the minimum (``min``, for a falling stance), or the
    extremum in the direction of the net change last minus first checkpoint (``auto``,
    *reconstructed*: the paper reports drift times of falling stances too).
    """
    if mode not in ("max", "min", "auto"):
        raise ValueError(f"mode must be max, min or auto; got {mode!r}")
    tr = np.asarray(trajectory, dtype=np.float64)
    if tr.ndim != 2 or tr.shape[0] < 2:
        raise ValueError(f"trajectory must be (n_checkpoints >= 2, n_prompts); got {tr.shape}")
    steps = np.arange(tr.shape[0]) if steps is None else np.asarray(steps, dtype=np.float64)
    if len(steps) != tr.shape[0] or np.any(np.diff(steps) <= 0):
        raise ValueError("steps must be increasing, one per checkpoint")
    means = tr.mean(1)
    if mode == "auto":
        mode = "max" if means[-1] >= means[0] else "min"
    peak = int(np.argmax(means) if mode == "max" else np.argmin(means))
    lo, hi = bootstrap_ci(tr[peak], n_boot=n_boot, alpha=alpha, seed=seed)
    inside = np.nonzero((means >= lo) & (means <= hi))[0]
    first = int(inside[0])                     # the peak itself is always inside its CI
    return float((steps[first] - steps[0]) / (steps[-1] - steps[0]))


# ---- a CPU-sized post-training run ---------------------------------------------------------------
def stance_prompts(seed: int, per_topic: int, seq_len: int = 64):
    """``(x, topics)``: ``per_topic`` prompts per topic of exactly ``seq_len`` tokens, grammar text ending
    in a singular subject noun phrase of the topic (the same prompts as the ``value_drift`` workload)."""
    import torch

    from intfp.models.workloads import tiny_lm as _lm
    L = seq_len
    g = _lm.Grammar(seed)
    g.rng = np.random.default_rng(seed + 104729)
    stream = g.tokens(L * per_topic * 8 * 2 + 1000)
    periods = (stream == 0).nonzero().flatten()
    periods = periods[periods > L]
    prompts, topics = [], []
    for topic in range(8):
        for i in range(per_topic):
            np_ = [2] + [4 + int(a) for a in g.rng.choice(12, size=g.rng.integers(0, 3))] + [16 + topic]
            end = int(periods[(topic * per_topic + i) % len(periods)])
            ctx = stream[end - (L - len(np_)) + 1:end + 1].tolist()
            prompts.append(ctx + np_)
            topics.append(topic)
    return torch.tensor(prompts), np.array(topics)


def sft_corpus(seed: int, n_tokens: int = 100_000, stance=SFT_STANCE, frac: float = 0.5):
    """Token stream: grammar sentences, and with probability ``frac`` a stance sentence
    ``det [adj] noun_T verb obj .`` with ``verb ~ stance[T]`` over :data:`STANCE_TOKENS`."""
    import torch

    from intfp.models.workloads import tiny_lm as _lm
    g = _lm.Grammar(seed)
    g.rng = np.random.default_rng(seed + 31337)
    r = g.rng
    p = np.asarray(stance, dtype=np.float64)
    if p.shape != (8, 3) or np.any(p < 0) or not np.allclose(p.sum(1), 1):
        raise ValueError(f"stance must be 8 topics x 3 probabilities summing to 1; got shape {p.shape}")
    out: list[int] = []
    while len(out) < n_tokens:
        if r.random() < frac:
            t = int(r.integers(8))
            adj = [4 + int(r.choice(12, p=g.adj_pref[t]))] if r.random() < 0.35 else []
            out += [2, *adj, 16 + t, STANCE_TOKENS[int(r.choice(3, p=p[t]))]] + g._np()[0] + [0]
        else:
            out += g.sentence()
    return torch.tensor(out[:n_tokens], dtype=torch.long)


def dpo_pairs(topics, kind: str, seed: int):
    """``(chosen, rejected)`` stance token ids per prompt: ``gap`` = oppose over support everywhere;
    ``nogap`` = two different stances drawn uniformly at random, so chosen and rejected follow the same
    distribution (no value gap: the expected DPO gradient on the stance vanishes)."""
    import torch
    n = len(topics)
    if kind == "gap":
        return torch.full((n,), STANCE_TOKENS[2]), torch.full((n,), STANCE_TOKENS[0])
    if kind == "nogap":
        r = np.random.default_rng(seed)
        a = r.integers(3, size=n)
        b = (a + r.integers(1, 3, size=n)) % 3
        tok = torch.tensor(STANCE_TOKENS)
        return tok[torch.as_tensor(a)], tok[torch.as_tensor(b)]
    raise ValueError(f"unknown preference set {kind!r}; allowed: gap, nogap")


def dpo_loss(logp_c, logp_r, ref_c, ref_r, beta: float):
    """DPO (Rafailov et al. 2023, eq. 7): ``-log sigmoid(beta [(log pi(c) - log pi_ref(c)) - (log pi(r) -
    log pi_ref(r))])``, mean over pairs."""
    import torch.nn.functional as F
    return -F.logsigmoid(beta * ((logp_c - ref_c) - (logp_r - ref_r))).mean()


def posttrain(fmt: str = "fp32", *, seed: int = 0, pre_steps: int = 300, sft_steps: int = 120, dpo_steps: int = 80,
              pref: str = "gap", batch: int = 32, eval_every: int = 10, prompts_per_topic: int = 16,
              lr_sft: float = 3e-3, lr_dpo: float = 1e-3, beta: float = 0.5, scale_rule: str | None = None):
    """SFT then DPO of the pre-trained tiny LM with every linear-layer GEMM in ``fmt``.

    Returns ``dict(steps, phase, probs, topics)``: ``probs[c]`` = ``(n_prompts, 3)`` stance probabilities
    at checkpoint ``c`` (training step ``steps[c]``, phase ``"base"``, ``"sft"`` or ``"dpo"``); the
    stance is evaluated with the same quantized GEMMs. DPO's reference model is the SFT result."""
    import copy

    import torch
    import torch.nn.functional as F

    from intfp.models.workloads import tiny_lm as _lm
    from intfp.models.workloads.qgemm import exact_mm, make_mm
    base, _, _ = _lm.pretrained(seed, pre_steps)
    model = copy.deepcopy(base).float().train()
    mm = exact_mm if fmt in ("fp32", None) else make_mm(fmt, scale_rule=scale_rule)
    x_eval, topics = stance_prompts(seed, prompts_per_topic, model.cfg.seq_len)
    tok = list(STANCE_TOKENS)
    steps, phases, probs = [], [], []

    def checkpoint(step, phase):
        with torch.no_grad():
            logits = model(x_eval, mm)[:, -1, tok].double().numpy()
        steps.append(step)
        phases.append(phase)
        probs.append(stance_probs(logits))
    checkpoint(0, "base")
    torch.manual_seed(seed)
    with torch.enable_grad():
        data = _lm.batches(sft_corpus(seed), batch, model.cfg.seq_len, seed + 5)
        opt = torch.optim.AdamW(model.parameters(), lr=lr_sft, betas=(0.9, 0.95), weight_decay=0.0)
        for i in range(1, sft_steps + 1):
            x, y = next(data)
            loss = F.cross_entropy(model(x, mm).reshape(-1, model.cfg.vocab), y.reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if i % eval_every == 0 or i == sft_steps:
                checkpoint(i, "sft")
        ref = copy.deepcopy(model).eval()
        x_pref, t_pref = stance_prompts(seed + 1, 32, model.cfg.seq_len)         # other prompts than the eval's
        dpo_pairs(t_pref[:1], pref, 0)                                        # a bad `pref` fails before DPO
        with torch.no_grad():
            lp_ref = F.log_softmax(ref(x_pref, mm)[:, -1].float(), -1)
        opt = torch.optim.AdamW(model.parameters(), lr=lr_dpo, betas=(0.9, 0.95), weight_decay=0.0)
        g = torch.Generator().manual_seed(seed + 3)
        ar = torch.arange(batch)
        for i in range(1, dpo_steps + 1):
            idx = torch.randint(len(x_pref), (batch,), generator=g)
            lp = F.log_softmax(model(x_pref[idx], mm)[:, -1].float(), -1)
            # a fresh draw per step: for `nogap` chosen and rejected then come from one distribution
            c, r = dpo_pairs(t_pref[idx.numpy()], pref, seed + 1000 + i)
            loss = dpo_loss(lp[ar, c], lp[ar, r], lp_ref[idx, c], lp_ref[idx, r], beta)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if i % eval_every == 0 or i == dpo_steps:
                checkpoint(sft_steps + i, "dpo")
    return dict(steps=np.array(steps), phase=np.array(phases), probs=np.stack(probs), topics=topics)


def phase_drifts(run: dict, *, n_boot: int = 500, seed: int = 0):
    """Per phase (``sft``: base -> end of SFT, ``dpo``: end of SFT -> end of DPO) and topic: the stance with
    the largest |drift magnitude|, its signed drift, paired bootstrap CI and significance, and its drift
    time (:func:`drift_time`, ``mode="auto"``) over that phase's checkpoints. A list of dict rows."""
    rows = []
    ph, probs, topics, steps = run["phase"], run["probs"], run["topics"], run["steps"]
    names = ("support", "neutral", "oppose")
    for phase, start in (("sft", "base"), ("dpo", "sft")):
        first = np.nonzero(ph == start)[0][-1]               # the phase starts at the previous phase's end
        idx = np.r_[first, np.nonzero(ph == phase)[0]]
        if len(idx) < 2:
            continue
        mag = drift_magnitude(probs[idx[0]], probs[idx[-1]], topics, n_boot=n_boot, seed=seed)
        dist0, dist1 = stance_distribution(probs[idx[0]], topics), stance_distribution(probs[idx[-1]], topics)
        for t, m in mag.items():
            k = int(np.argmax(np.abs(m["drift"])))
            sel = topics == t
            traj = probs[idx][:, sel, k]
            rows.append({"phase": phase, "topic": int(t), "stance": names[k], "p_start": float(dist0[t][k]),
                         "p_end": float(dist1[t][k]), "drift": float(m["drift"][k]),
                         "ci_low": float(m["low"][k]), "ci_high": float(m["high"][k]),
                         "significant": bool(m["significant"][k]),
                         "drift_time": drift_time(traj, steps[idx], n_boot=n_boot, seed=seed, mode="auto")})
    return rows


def posttrain_report(seed: int = 0, formats: str = "fp32,mxint8,mxfp8", pref: str = "gap,nogap", sft_steps: int = 120,
                     dpo_steps: int = 80, eval_every: int = 10, prompts_per_topic: int = 16, n_boot: int = 500,
                     scale_rule: str = "floor", pre_steps: int = 300):
    """Value drift during SFT then DPO of the tiny LM (Value Drifts, arXiv 2510.26707), per GEMM format."""
    import pandas as pd

    from intfp.models.workloads.tables import markdown_table
    fmts = [f for f in str(formats).split(",") if f]
    prefs = [p for p in str(pref).split(",") if p]
    per_topic, summary = [], []
    for p in prefs:
        for f in fmts:
            run = posttrain(f, seed=seed, pre_steps=pre_steps, sft_steps=sft_steps, dpo_steps=dpo_steps, pref=p, eval_every=eval_every,
                            prompts_per_topic=prompts_per_topic, scale_rule=None if f == "fp32" else scale_rule)
            rows = phase_drifts(run, n_boot=n_boot, seed=seed)
            for r in rows:
                per_topic.append({"format": f, "pref": p, **r})
            for phase in ("sft", "dpo"):
                sel = [r for r in rows if r["phase"] == phase]
                summary.append({"format": f, "pref": p, "phase": phase,
                                "mean_abs_drift": float(np.mean([abs(r["drift"]) for r in sel])),
                                "max_abs_drift": float(np.max([abs(r["drift"]) for r in sel])),
                                "topics_significant": int(sum(r["significant"] for r in sel)),
                                "mean_drift_time": float(np.mean([r["drift_time"] for r in sel]))})
    topic_df, summ = pd.DataFrame(per_topic), pd.DataFrame(summary)
    shown = topic_df[topic_df.format == fmts[0]].drop(columns=["format"])
    s = {(r["format"], r["pref"], r["phase"]): r for r in summary}
    f0 = fmts[0]
    lines = []
    for p in prefs:
        a, b = s[(f0, p, "sft")], s[(f0, p, "dpo")]
        lines.append(f"{f0}, preference set `{p}`: SFT mean |drift| {a['mean_abs_drift']:.3g} (drift time "
                     f"{a['mean_drift_time']:.2g}), DPO {b['mean_abs_drift']:.3g} (drift time {b['mean_drift_time']:.2g})")
    text = (f"### value-drift-post: value drifts during post-training (arXiv 2510.26707)\n\n"
            f"Tiny LM pre-trained {pre_steps} steps, SFT {sft_steps} steps on the stance-labelled corpus, then DPO {dpo_steps} "
            f"steps (beta 0.5, reference = the SFT model) on preference set(s) {', '.join(prefs)}; every linear-layer "
            f"GEMM in the format, forward and backward. Stance checkpoints every {eval_every} steps on "
            f"{8 * prompts_per_topic} prompts; per phase and topic the most-moved stance: signed drift magnitude "
            f"(end minus start of the phase) with a 95% paired bootstrap CI over prompts ({n_boot} resamples) and "
            f"drift time (fraction of the phase's steps until the stance is inside the 95% CI of its extreme).\n\n"
            f"Summary per format and phase:\n\n{markdown_table(summ)}\n\nPer topic ({f0}):\n\n"
            f"{markdown_table(shown)}\n\nPaper: SFT establishes the values; preference optimization on standard data "
            f"rarely re-aligns them, while a preference set with a value gap can (examples of magnitude / drift time: "
            + "; ".join(f"{a} {t} {m} / {d}" for a, t, m, d in PAPER_EXAMPLES) + "). Here: " + "; ".join(lines) + ".\n")
    return {"summary": summ, "topics": topic_df}, text
