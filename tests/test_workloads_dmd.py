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
    x_t_fn, target_fn, _ = dmd.subinterval_target(x_s[:, None], s, torch.full((n,), t, dtype=torch.float64),
                                                  eps[:, None])
    target = (a_s ** 2 * sig_t + a_t * sig_s ** 2) / (a_s ** 2 * sig_ts) * eps - x_s / a_s
    torch.testing.assert_close(target_fn[:, 0], target)            # the function the training uses
    torch.testing.assert_close(x_t_fn[:, 0], x_t)
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


def test_subinterval_and_biased_targets_by_hand():
    """s = 0.5, t = 0.8, x_s = 1, eps = 1: alpha_{t|s} = 0.4, sigma_{t|s} = sqrt(0.6),
    c = (0.25*0.8 + 0.2*0.25) / (0.25 sqrt(0.6)) = 1.2909944, target = c - 2, weight = 0.6;
    biased: eps - x_s = 0. At s = 0 the subinterval target is plain flow matching eps - x0."""
    one = torch.ones(1, 1, dtype=torch.float64)
    t = torch.tensor([0.8], dtype=torch.float64)
    x_t, target, w = dmd.subinterval_target(one, 0.5, t, one)
    torch.testing.assert_close(x_t, torch.tensor([[0.4 + 0.6 ** 0.5]], dtype=torch.float64))
    torch.testing.assert_close(target, torch.tensor([[1.2909944487358056 - 2.0]], dtype=torch.float64))
    torch.testing.assert_close(w, torch.tensor([0.6], dtype=torch.float64))
    _, biased, wb = dmd.biased_target(one, 0.5, t, one)
    assert float(biased) == 0.0 and torch.equal(w, wb)
    x0, eps = torch.tensor([[0.3]], dtype=torch.float64), torch.tensor([[-1.1]], dtype=torch.float64)
    x_t, target, _ = dmd.subinterval_target(x0, 0.0, t, eps)
    torch.testing.assert_close(target, eps - x0)
    torch.testing.assert_close(x_t, 0.2 * x0 + 0.8 * eps)


def test_diversity_metric():
    g = torch.Generator().manual_seed(8)
    data = dmd.gmm_sample(4000, g)
    same = dmd.diversity(dmd.gmm_sample(4000, g), data)
    assert abs(same["diversity"] - 1) < 0.03 and abs(same["within_mode_spread"] - 1) < 0.05
    two = dmd.ring_modes()[torch.randint(2, (4000,), generator=g)] + 0.05 * torch.randn(4000, 2, generator=g,
                                                                                       dtype=torch.float64)
    collapsed = dmd.diversity(two, data)              # two neighbouring modes: distance 2 * 2 sin(pi/8) = 1.53
    assert collapsed["diversity"] < 0.4 and abs(collapsed["within_mode_spread"] - 1) < 0.05
    blurred = dmd.diversity(data + 0.1 * torch.randn(4000, 2, generator=g, dtype=torch.float64), data)
    # within-mode RMS radius sqrt(2) * 0.05 -> sqrt(2 * (0.05^2 + 0.1^2)): ratio sqrt(5)
    assert abs(blurred["within_mode_spread"] - 5 ** 0.5) < 0.1


def test_1d_experiment_only_the_unbiased_target_reproduces_the_trajectories():
    """The paper's 1-D toy (x0 in {-1, 0, 1, 2}, subinterval (0.5, 1]): the biased target's ODE path is off,
    the unbiased one's is as close to the exact path as the full-interval model's."""
    tables, text = dmd.experiment_1d(steps=300, width=32, samples=512, ode_steps=40)
    r = tables["targets"].set_index("target")
    assert r.loc["unbiased", "traj_rmse"] < 0.5 * r.loc["biased", "traj_rmse"]
    assert r.loc["full", "traj_rmse"] < 0.5 * r.loc["biased", "traj_rmse"]
    assert r.loc["biased", "w1_at_s"] > 2 * r.loc["unbiased", "w1_at_s"]
    assert "agrees" in text
    with pytest.raises(ValueError, match="unknown 1-D training kind 'half'"):
        dmd.fit_1d("half")


def test_sgts_exit_step_truncation_and_phased_training_loss_goes_down():
    """SGTS: the gradient reaches the generator only through the exit step (steps before it run without
    gradient). Phased DMD: phase 0's output approaches the teacher's ODE solution at t = 0.5 (sliced W1)."""
    teacher = dmd.fit_teacher(steps=150, width=32)
    sg = dmd.SGTSDMD(teacher, steps=4)
    assert sg.grid == [1.0, 0.75, 0.5, 0.25, 0.0]
    z = torch.randn(16, 2, generator=torch.Generator().manual_seed(9))
    x0 = sg._run(z, 3)
    x0.sum().backward()
    assert all(p.grad is not None for p in sg.gen.parameters())
    with torch.no_grad():        # the exit prediction at step 3 = x - t v after two Euler steps
        x = dmd.euler(sg.gen, z, 1.0, 0.5, 2)
        torch.testing.assert_close(x0.detach(), x - 0.5 * sg.gen(x, torch.full((16,), 0.5)))
    sg.train(iters=2, batch=32, fake_updates=1)
    assert torch.isfinite(sg.sample(z)).all()
    with pytest.raises(ValueError, match="steps must be >= 1"):
        dmd.SGTSDMD(teacher, steps=0)
    st = dmd.PhasedDMD(teacher).train(iters=40, batch=128, log_every=10, log_samples=512)
    h = [r["w1_to_teacher"] for r in st.history if r["phase"] == 0]
    assert [r["iter"] for r in st.history] == [0, 10, 20, 30, 40] * 2
    assert all(b < a for a, b in zip(h, h[1:])) and h[-1] < 0.8 * h[0]      # falls at every logged point
    assert all(r["dmd_grad_ms"] > 0 and r["fake_loss"] > 0 for r in st.history if r["iter"])


def test_dmd_experiment_commands():
    from click.testing import CliRunner

    from intfp.cli_workload import EXPERIMENTS, workload
    assert {"dmd-1d", "dmd-sgts"} <= set(EXPERIMENTS)
    r = CliRunner().invoke(workload, ["dmd-sgts", "-o", "teacher_steps=20", "-o", "iters=2", "-o", "batch=32",
                                      "-o", "samples=256", "-o", "formats=mxint8", "-o", "log_every=1"])
    assert r.exit_code == 0, r.output
    for name in ("phased DMD 2x2", "DMD + SGTS 4-step", "DMD 1-step", "diversity_mxint8", "W1 to the teacher"):
        assert name in r.output
    r = CliRunner().invoke(workload, ["dmd-1d", "-o", "nonsense=1"])
    assert r.exit_code != 0 and "has no option(s) nonsense" in r.output
