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

In this suite the "checkpoints" are number formats: FP32 versus quantized, so the drift
magnitude measures how far quantization moves a model's stance distribution (with bootstrap
CIs over prompts, so a drift smaller than the prompt sampling noise is reported as such).
"""
from __future__ import annotations

import numpy as np

__all__ = ["stance_probs", "stance_distribution", "drift_magnitude", "bootstrap_ci", "drift_time"]


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


def drift_time(trajectory, steps=None, *, n_boot: int = 1000, alpha: float = 0.05, seed: int = 0) -> float:
    """Fraction of training needed to reach the bootstrap CI of the peak (reconstructed definition).

    ``trajectory``: ``(n_checkpoints, n_prompts)`` probability of one stance on one topic's prompts
    at each checkpoint; ``steps``: the checkpoints' training steps (default ``0..n-1``).
    """
    tr = np.asarray(trajectory, dtype=np.float64)
    if tr.ndim != 2 or tr.shape[0] < 2:
        raise ValueError(f"trajectory must be (n_checkpoints >= 2, n_prompts); got {tr.shape}")
    steps = np.arange(tr.shape[0]) if steps is None else np.asarray(steps, dtype=np.float64)
    if len(steps) != tr.shape[0] or np.any(np.diff(steps) <= 0):
        raise ValueError("steps must be increasing, one per checkpoint")
    means = tr.mean(1)
    peak = int(np.argmax(means))
    lo, hi = bootstrap_ci(tr[peak], n_boot=n_boot, alpha=alpha, seed=seed)
    inside = np.nonzero((means >= lo) & (means <= hi))[0]
    first = int(inside[0])                     # the peak itself is always inside its CI
    return float((steps[first] - steps[0]) / (steps[-1] - steps[0]))
