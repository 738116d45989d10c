"""Value-Drifts-style metrics (arXiv 2510.26707; definitions reconstructed, see the module)."""
import numpy as np
import pytest

from intfp.models.workloads import value_drift as vd


def _probs(n, shift, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, 3)) + np.array([shift, 0.0, 0.0])
    return vd.stance_probs(logits)


def test_stance_probs_and_distribution():
    p = vd.stance_probs([[0.0, 0.0, 0.0], [np.log(2), 0.0, 0.0]])
    np.testing.assert_allclose(p, [[1 / 3] * 3, [0.5, 0.25, 0.25]])
    d = vd.stance_distribution(p, ["a", "b"])
    np.testing.assert_allclose(d["b"], [0.5, 0.25, 0.25])


def test_drift_magnitude_is_signed_and_significance_tracks_the_shift():
    topics = np.repeat(["x", "y"], 200)
    a = _probs(400, 0.0, 1)
    b = a.copy()
    b[:200] = _probs(200, 1.0, 1)[:200]          # topic x: support up; topic y unchanged
    out = vd.drift_magnitude(a, b, topics, n_boot=300)
    assert out["x"]["drift"][0] > 0.1 and out["x"]["significant"][0]
    np.testing.assert_allclose(out["y"]["drift"], 0.0)
    assert not out["y"]["significant"].any()
    np.testing.assert_allclose(out["x"]["drift"].sum(), 0.0, atol=1e-12)    # probabilities move, total stays 1


def test_bootstrap_ci_covers_the_mean():
    v = np.random.default_rng(0).normal(1.0, 1.0, size=500)
    lo, hi = vd.bootstrap_ci(v, n_boot=500)
    assert lo < v.mean() < hi and hi - lo < 0.3


def test_drift_time_of_a_ramp_then_plateau():
    rng = np.random.default_rng(3)
    level = np.minimum(np.arange(11) / 5.0, 1.0) * 0.3 + 0.3      # reaches its peak at 50% of training
    traj = level[:, None] + 0.02 * rng.normal(size=(11, 100))
    t = vd.drift_time(traj, steps=np.arange(11) * 100)
    assert 0.3 <= t <= 0.5


def test_bad_inputs():
    with pytest.raises(ValueError, match="one topic per prompt"):
        vd.stance_distribution(np.ones((3, 3)) / 3, ["a"])
    with pytest.raises(ValueError, match="at least 2 samples"):
        vd.bootstrap_ci([1.0])
    with pytest.raises(ValueError, match="steps must be increasing"):
        vd.drift_time(np.ones((3, 4)), steps=[0, 2, 1])


# ---- drift time of a falling stance, and the post-training run ------------------------------------
def test_drift_time_modes_by_hand():
    """A noiseless ramp down 0.9 -> 0.3 by step 2 of 4, then flat: the minimum is reached at 2/4 = 0.5;
    `max` mode sees the peak at step 0 (drift time 0); `auto` follows the net change (down)."""
    traj = np.array([0.9, 0.6, 0.3, 0.3, 0.3])[:, None] + np.array([0.0, 0.001, -0.001])
    assert vd.drift_time(traj, mode="min", n_boot=200) == 0.5
    assert vd.drift_time(traj, mode="auto", n_boot=200) == 0.5
    assert vd.drift_time(traj, mode="max", n_boot=200) == 0.0
    assert vd.drift_time(traj[::-1], mode="auto", n_boot=200) == 1.0       # flat, then a rise to the last step
    with pytest.raises(ValueError, match="mode must be max, min or auto"):
        vd.drift_time(traj, mode="peak")


def test_sft_corpus_carries_the_stance_distribution():
    toks = vd.sft_corpus(0, n_tokens=60_000).numpy()
    for topic in (0, 6):
        after = toks[1:][(toks[:-1] == 16 + topic)]                          # the token after the singular noun
        stance = np.array([(after == s).sum() for s in vd.STANCE_TOKENS], dtype=float)
        # stance sentences are half the corpus; grammar sentences add their own verbs over 32..39
        share = stance / stance.sum()
        assert share[0 if topic < 4 else 2] > 0.5
    with pytest.raises(ValueError, match="8 topics x 3 probabilities"):
        vd.sft_corpus(0, 100, stance=[(1.0, 0.0, 0.0)])


def test_dpo_loss_and_pairs_by_hand():
    import torch
    z = torch.zeros(3)
    # equal policy and reference: -log sigmoid(0) = log 2
    torch.testing.assert_close(vd.dpo_loss(z, z, z, z, 0.5), torch.tensor(np.log(2.0), dtype=torch.float32))
    # margin 2 nats, beta 0.5 -> -log sigmoid(1)
    torch.testing.assert_close(vd.dpo_loss(z + 1, z - 1, z, z, 0.5), torch.tensor(np.log1p(np.exp(-1.0)),
                                                                                   dtype=torch.float32))
    c, r = vd.dpo_pairs(np.zeros(4), "gap", 0)
    assert c.tolist() == [34] * 4 and r.tolist() == [32] * 4
    c, r = vd.dpo_pairs(np.zeros(3000), "nogap", 1)
    assert (c != r).all()
    for s in vd.STANCE_TOKENS:                                               # chosen and rejected: one distribution
        assert abs(float((c == s).float().mean()) - 1 / 3) < 0.03 and abs(float((r == s).float().mean()) - 1 / 3) < 0.03
    with pytest.raises(ValueError, match="unknown preference set 'both'"):
        vd.dpo_pairs(np.zeros(2), "both", 0)


def test_posttrain_moves_values_and_every_metric_is_reported(tmp_path, monkeypatch):
    """SFT on the stance corpus moves the stances significantly, the `gap` preference set then pushes
    `oppose` up on every topic; the drift rows carry magnitude, CI, significance and drift time."""
    monkeypatch.setenv("INTFP_CACHE_DIR", str(tmp_path))
    run = vd.posttrain("fp32", pre_steps=40, sft_steps=40, dpo_steps=20, eval_every=10, prompts_per_topic=4,
                       pref="gap")
    assert list(run["phase"]) == ["base"] + ["sft"] * 4 + ["dpo"] * 2
    assert list(run["steps"]) == [0, 10, 20, 30, 40, 50, 60] and run["probs"].shape == (7, 32, 3)
    rows = vd.phase_drifts(run, n_boot=100)
    assert len(rows) == 16 and {r["phase"] for r in rows} == {"sft", "dpo"}
    sft = [r for r in rows if r["phase"] == "sft"]
    assert sum(r["significant"] for r in sft) >= 6 and np.mean([abs(r["drift"]) for r in sft]) > 0.1
    for r in rows:
        assert r["ci_low"] <= r["drift"] <= r["ci_high"] and 0.0 <= r["drift_time"] <= 1.0
        np.testing.assert_allclose(r["p_end"] - r["p_start"], r["drift"], atol=1e-12)
    opp = run["probs"][:, :, 2]
    assert (opp[-1].mean() - opp[4].mean()) > 0.1                           # DPO on `gap`: oppose rises
    dpo = [r for r in rows if r["phase"] == "dpo"]
    assert all(r["stance"] == "oppose" and r["drift"] > 0 for r in dpo)


def test_value_drift_post_command(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from intfp.cli_workload import workload
    monkeypatch.setenv("INTFP_CACHE_DIR", str(tmp_path))
    r = CliRunner().invoke(workload, ["value-drift-post", "-o", "formats=mxint8", "-o", "pref=nogap",
                                      "-o", "sft_steps=10", "-o", "dpo_steps=4", "-o", "eval_every=5",
                                      "-o", "prompts_per_topic=2", "-o", "n_boot=50", "-o", "pre_steps=40"])
    assert r.exit_code == 0, r.output
    assert "| mxint8 | nogap | sft |" in r.output and "drift_time" in r.output and "SimPO climate-support" in r.output
