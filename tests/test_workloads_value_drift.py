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
