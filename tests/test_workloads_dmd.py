"""Phased DMD toy (arXiv 2510.27684): analytic teacher, subinterval target, DMD gradient."""
import pytest
import torch

from intfp.models.workloads import dmd

torch.set_num_threads(1)


def test_exact_velocity_transports_noise_to_the_mixture():
    z = torch.randn(2000, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    x = z
    ts = torch.linspace(1, 0, 201, dtype=torch.float64)
    for a, b in zip(ts[:-1], ts[1:]):
        x = x + (b - a) * dmd.gmm_velocity(x, torch.full((len(x),), a.item(), dtype=torch.float64))
    m = dmd.sample_metrics(x, dmd.gmm_sample(2000, torch.Generator().manual_seed(1)))
    assert m["mode_dist"] < 0.1 and m["modes_covered"] == 8 and m["mode_weight_l1"] < 0.1 and m["sliced_w1"] < 0.06


def test_posterior_mean_matches_monte_carlo():
    g = torch.Generator().manual_seed(2)
    x0 = dmd.gmm_sample(400_000, g)
    t = 0.6
    xt = (1 - t) * x0 + t * torch.randn(x0.shape, generator=g, dtype=torch.float64)
    sel = (xt - torch.tensor([0.8, 0.0], dtype=torch.float64)).norm(dim=1) < 0.05    # a small ball around a point
    mc = x0[sel].mean(0)
    exact = dmd.gmm_posterior_mean(torch.tensor([[0.8, 0.0]], dtype=torch.float64), torch.tensor([t]))[0]
    assert (mc - exact).norm() < 0.05


def test_subinterval_target_has_the_velocity_as_conditional_mean():
    """Linear-Gaussian check: regressing the subinterval target and the true eps - x0 on x_t gives
    the same least-squares fit (their conditional means given x_t agree)."""
    g = torch.Generator().manual_seed(3)
    n, s, t = 400_000, 0.5, 0.8
    x0 = 1.0 + 0.7 * torch.randn(n, generator=g, dtype=torch.float64)
    x_s = (1 - s) * x0 + s * torch.randn(n, generator=g, dtype=torch.float64)
    a_s, sig_s, a_t, sig_t = 1 - s, s, 1 - t, t
    a_ts = a_t / a_s
    sig_ts = (sig_t ** 2 - a_ts ** 2 * sig_s ** 2) ** 0.5
    eps = torch.randn(n, generator=g, dtype=torch.float64)
    x_t = a_ts * x_s + sig_ts * eps
    target = (a_s ** 2 * sig_t + a_t * sig_s ** 2) / (a_s ** 2 * sig_ts) * eps - x_s / a_s
    true_v = (x_t - a_t * x0) / sig_t - x0                   # eps_total - x0
    naive = eps - x_s                                          # the biased target
    A = torch.stack([x_t, torch.ones_like(x_t)], 1)
    fit = lambda y: torch.linalg.lstsq(A, y[:, None]).solution.flatten()  # noqa: E731
    torch.testing.assert_close(fit(target), fit(true_v), atol=0.03, rtol=0)
    assert (fit(naive) - fit(true_v)).abs().max() > 0.1


def test_dmd_gradient_vanishes_when_fake_equals_teacher_and_has_the_paper_weight():
    net = dmd.VelocityMLP(width=32)
    x = torch.randn(64, 2, generator=torch.Generator().manual_seed(4))
    grad, _ = dmd.dmd_gradient(net, net, x, 0.5, torch.Generator().manual_seed(5))
    assert grad.abs().max() == 0

    def const(v):
        return lambda x, t, mm=None, prefix=None: torch.full_like(x, v)
    grad, t = dmd.dmd_gradient(const(1.0), const(0.0), x.double(), 0.5, torch.Generator().manual_seed(5))
    a_t, sig_t = 1 - t, t
    w = a_t * (a_t / 0.5) / (a_t * sig_t + sig_t ** 2)
    torch.testing.assert_close(grad[:, 0], w)


def test_phased_training_and_quantized_sampling_run():
    teacher = dmd.fit_teacher(steps=20, width=32)
    st = dmd.PhasedDMD(teacher, steps_per_phase=2).train(iters=2, batch=32, fake_updates=1)
    z = torch.randn(64, 2, generator=torch.Generator().manual_seed(6))
    from intfp.models.workloads.qgemm import GemmRecorder, make_mm
    rec = GemmRecorder(capture=False)
    with torch.no_grad():
        out = st.sample(z, mm=make_mm("mxfp8", recorder=rec))
    assert out.shape == (64, 2) and torch.isfinite(out).all()
    assert set(rec.macs) == {f"gen{k}.l{i}" for k in (0, 1) for i in range(3)}
    with pytest.raises(ValueError, match="boundaries must decrease"):
        dmd.PhasedDMD(teacher, boundaries=(1.0, 0.2, 0.5, 0.0))


def test_descending_the_dmd_gradient_moves_samples_toward_the_teacher():
    """The DMD generator gradient is s_fake - s_real (the reverse-KL gradient, DMD2 ``edm_guidance.py``),
    so x - lr * grad must move toward the teacher's distribution. Teacher: the exact ring GMM; fake: the
    same GMM shifted by +delta; samples from the fake at s = 0.5: the mean step must point along -delta."""
    modes = dmd.ring_modes()
    delta = torch.tensor([0.3, -0.2], dtype=torch.float64)

    def exact(m):
        return lambda x, t, mm=None, prefix=None: dmd.gmm_velocity(x, t, m)
    g = torch.Generator().manual_seed(7)
    x0 = dmd.gmm_sample(4000, g, modes + delta)
    x_s = 0.5 * x0 + 0.5 * torch.randn(x0.shape, generator=g, dtype=torch.float64)
    grad, _ = dmd.dmd_gradient(exact(modes), exact(modes + delta), x_s, 0.5, g)
    step = -grad.mean(0)
    assert float(step @ delta) < 0 and float(torch.nn.functional.cosine_similarity(step, -delta, 0)) > 0.9
