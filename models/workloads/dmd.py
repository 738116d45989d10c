"""Phased DMD (arXiv 2510.27684) as a 2-D toy whose MLP GEMMs go through the formats.

Rectified flow, ``x_t = alpha_t x_0 + sigma_t eps`` with ``alpha_t = 1 - t``, ``sigma_t = t`` and
velocity ``v = eps - x_0``. The paper body was not read: the equations follow a secondary summary
of it and DMD2's ``edm_guidance.py``; they are marked *reconstructed* where we had to choose.

* **Teacher.** The data is a Gaussian mixture (8 modes on a ring of radius 2, std 0.05), so the
  exact velocity is analytic (:func:`gmm_velocity`): with posterior mode weights ``r_m(x)`` and
  ``E[x0|x] = sum_m r_m [mu_m + alpha s^2 / (alpha^2 s^2 + sigma^2) (x - alpha mu_m)]``,
  ``v*(x, t) = (x - E[x0|x]) / t``. An MLP is regressed onto ``E[x0|x]`` (:class:`VelocityMLP`
  explains the parameterization); that MLP is the GEMM workload (inputs: ``x`` and 30 Fourier
  features of ``t``, so the first GEMM reduces over 32).
* **Phases.** ``1 = t_0 > t_1 > ... > t_K = 0``; generator expert ``G_k`` (initialized from the
  teacher) takes ``steps_per_phase`` Euler steps from ``t_{k-1}`` to ``t_k``. Back-simulation runs
  the frozen experts ``1..k-1`` and then ``G_k`` (gradient only through ``G_k``).
* **DMD gradient** on ``x_{t_k}``: for ``t ~ U(t_k, 1)`` and ``x_t = alpha_{t|t_k} x_{t_k} +
  sigma_{t|t_k} eps``, ``g = w (v_T - v_F)`` with ``w = alpha_t alpha_{t|t_k} / (alpha_t sigma_t + sigma_t^2)``:
  this is ``d x_t / d x_{t_k}`` times ``s_fake - s_real`` written with velocities, so descending
  ``0.5 ||x - sg(x - g)||^2`` moves samples toward the teacher's distribution. In training the
  gradient is then divided by its batch-mean absolute value (*reconstructed*: a scale normalization
  in the spirit of DMD2, which instead divides each sample's ``p_real - p_fake`` by its own
  ``mean |x - x0_real|`` and has no analytic weight ``w``).
* **Fake score** ``F_k`` (initialized from the teacher) is trained on generator samples ``x_s``,
  ``s = t_k``, with the subinterval objective
  ``E_{t~(s,1)} ||F(x_t, t) - [c eps - x_s / alpha_s]||^2`` with
  ``c = (alpha_s^2 sigma_t + alpha_t sigma_s^2) / (alpha_s^2 sigma_{t|s})``,
  whose conditional mean is the true velocity. The paper's ``clamp(1/sigma_{t|s}^2, 0, 10)`` has an
  unconfirmed placement; we weight each sample by ``1 / clamp(1/sigma_{t|s}^2, 0, 10)``, which
  bounds the variance of the target's ``1/sigma_{t|s}`` factor (*reconstructed*).

Metrics (:func:`sample_metrics`): mean distance to the nearest mode, L1 error of mode weights,
modes covered, sliced Wasserstein distance to exact data samples; and the cosine similarity of
the DMD gradient computed with quantized teacher and fake MLPs against FP.
"""
from __future__ import annotations

import math

import torch

from intfp.models.workloads.qgemm import MatMul, exact_mm

__all__ = ["ring_modes", "gmm_sample", "gmm_velocity", "gmm_posterior_mean", "VelocityMLP", "fit_teacher", "euler",
           "PhasedDMD", "sample_metrics", "sliced_wasserstein", "dmd_gradient"]

STD = 0.05


def ring_modes(n: int = 8, radius: float = 2.0, dtype=torch.float64) -> torch.Tensor:
    a = torch.arange(n, dtype=dtype) * (2 * math.pi / n)
    return radius * torch.stack([a.cos(), a.sin()], -1)


def gmm_sample(n: int, g: torch.Generator, modes=None, std: float = STD) -> torch.Tensor:
    modes = ring_modes() if modes is None else modes
    idx = torch.randint(len(modes), (n,), generator=g)
    return modes[idx] + std * torch.randn(n, 2, generator=g, dtype=modes.dtype)


def gmm_velocity(x: torch.Tensor, t: torch.Tensor, modes=None, std: float = STD) -> torch.Tensor:
    """Exact rectified-flow velocity of the equal-weight GMM (module docstring); ``t`` in (0, 1].

    Since ``x = (1 - t) x0 + t eps``, ``v = E[eps - x0 | x] = (x - E[x0|x]) / t``.
    """
    return (x - gmm_posterior_mean(x, t, modes, std)) / t.reshape(-1, 1).to(x.dtype)


def gmm_posterior_mean(x: torch.Tensor, t: torch.Tensor, modes=None, std: float = STD) -> torch.Tensor:
    """``E[x0 | x_t = x]`` for the GMM: posterior mode weights times per-mode Gaussian posteriors."""
    modes = (ring_modes() if modes is None else modes).to(x.dtype)
    t = t.reshape(-1, 1).to(x.dtype)
    a, s = 1 - t, t
    var = a * a * std ** 2 + s * s                                          # (n, 1)
    d2 = ((x[:, None, :] - a[:, None] * modes[None]) ** 2).sum(-1)          # (n, M)
    r = torch.softmax(-0.5 * d2 / var, -1)
    x0 = modes[None] + (a * std ** 2 / var)[:, None] * (x[:, None, :] - a[:, None] * modes[None])
    return (r[..., None] * x0).sum(1)


def _time_features(t: torch.Tensor, n: int = 30) -> torch.Tensor:
    f = torch.arange(n // 2, dtype=t.dtype) + 1
    ang = math.pi * t.reshape(-1, 1) * f
    return torch.cat([ang.sin(), ang.cos()], -1)


class VelocityMLP(torch.nn.Module):
    """``[x, fourier(t)] (32) -> width -> width -> 2``, SiLU; GEMMs ``l0``, ``l1``, ``l2`` via ``mm``.

    The MLP output ``h`` enters ``x0_hat = c x / alpha + (1 - c) h`` with the per-mode shrink factor
    ``c = alpha^2 s^2 / (alpha^2 s^2 + sigma^2)`` (``s`` the mode std), and the velocity returned is
    ``(x - x0_hat) / t``. This is the GMM posterior's own form (``E[x0|x] = sum_m r_m [c x / alpha +
    (1 - c) mu_m]``), so ``h`` only has to learn the posterior-weighted mode centre, a smooth map;
    a small MLP regressed on ``v`` directly fits the steep small-``t`` velocity poorly. (A
    preconditioning choice in the spirit of EDM's ``c_skip`` / ``c_out``, not from the paper.)
    """

    def __init__(self, width: int = 128, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        dims = [32, width, width, 2]
        self.w = torch.nn.ParameterList([torch.nn.Parameter(torch.randn(i, o, generator=g) / math.sqrt(i))
                                         for i, o in zip(dims[:-1], dims[1:])])
        self.b = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(o)) for o in dims[1:]])

    def forward(self, x, t, mm: MatMul = exact_mm, prefix: str = "mlp"):
        h = torch.cat([x, _time_features(t.to(x.dtype))], -1)
        for i, (w, b) in enumerate(zip(self.w, self.b)):
            h = mm(h, w.to(h.dtype), f"{prefix}.l{i}") + b.to(h.dtype)
            if i < len(self.w) - 1:
                h = torch.nn.functional.silu(h)
        t = t.reshape(-1, 1).to(x.dtype)
        a = 1 - t
        var = a * a * STD ** 2 + t * t
        x0 = (a * STD ** 2 / var) * x + (t * t / var) * h        # c x / alpha + (1 - c) h
        return (x - x0) / t.clamp_min(1e-3)

    def x0(self, x, t, mm: MatMul = exact_mm, prefix: str = "mlp"):
        return x - t.reshape(-1, 1).to(x.dtype) * self(x, t, mm, prefix)


def fit_teacher(steps: int = 600, batch: int = 256, width: int = 128, seed: int = 0) -> VelocityMLP:
    """Regress the MLP's ``x0`` head onto the exact posterior mean ``E[x0|x_t]`` of the GMM."""
    g = torch.Generator().manual_seed(seed)
    net = VelocityMLP(width, seed)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for _ in range(steps):
        x0 = gmm_sample(batch, g).float()
        t = torch.rand(batch, generator=g) * 0.98 + 0.01
        x = (1 - t)[:, None] * x0 + t[:, None] * torch.randn(batch, 2, generator=g)
        loss = (net.x0(x, t) - gmm_posterior_mean(x.double(), t.double()).float()).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return net.eval()


def euler(net, x, t0: float, t1: float, steps: int, mm: MatMul = exact_mm, prefix="gen"):
    """``steps`` Euler steps of dx/dt = v from ``t0`` down to ``t1``."""
    ts = torch.linspace(t0, t1, steps + 1, dtype=torch.float64)
    for a, b in zip(ts[:-1], ts[1:]):
        x = x + (b - a).item() * net(x, torch.full((len(x),), a.item(), dtype=x.dtype), mm, prefix)
    return x


def dmd_gradient(teacher, fake, x_s, s: float, g: torch.Generator, mm: MatMul = exact_mm):
    """``(grad, t)``: the weighted velocity difference ``w (v_T - v_F)`` at a random ``t ~ U(s, 1)``."""
    n = len(x_s)
    t = s + (1 - s) * torch.rand(n, generator=g, dtype=torch.float64)
    eps = torch.randn(n, 2, generator=g, dtype=torch.float64)
    a_t, sig_t = 1 - t, t
    a_ts = a_t / (1 - s)
    sig_ts = (sig_t ** 2 - a_ts ** 2 * s ** 2).clamp_min(0).sqrt()
    x_t = (a_ts[:, None] * x_s.double() + sig_ts[:, None] * eps).to(x_s.dtype)
    w = a_t * a_ts / (a_t * sig_t + sig_t ** 2)
    v_t = teacher(x_t, t.to(x_s.dtype), mm, "teacher")
    v_f = fake(x_t, t.to(x_s.dtype), mm, "fake")
    return w[:, None].to(v_t.dtype) * (v_t - v_f), t


class PhasedDMD:
    """Phased DMD students: ``boundaries`` ``[1, ..., 0]``, one generator and one fake expert per phase."""

    def __init__(self, teacher: VelocityMLP, boundaries=(1.0, 0.5, 0.0), steps_per_phase: int = 2):
        import copy
        if list(boundaries) != sorted(boundaries, reverse=True) or boundaries[0] != 1.0 or boundaries[-1] != 0.0:
            raise ValueError(f"boundaries must decrease from 1 to 0; got {boundaries!r}")
        self.teacher, self.bounds, self.steps = teacher, list(boundaries), steps_per_phase
        self.gens = [copy.deepcopy(teacher).train() for _ in self.bounds[1:]]
        self.fakes = [copy.deepcopy(teacher).train() for _ in self.bounds[1:]]
        for p in teacher.parameters():
            p.requires_grad_(False)

    def sample(self, z, upto: int | None = None, mm: MatMul = exact_mm):
        """Run phases ``0 .. upto`` (all by default) from noise ``z`` at t = 1."""
        x = z
        upto = len(self.gens) - 1 if upto is None else upto
        for k in range(upto + 1):
            x = euler(self.gens[k], x, self.bounds[k], self.bounds[k + 1], self.steps, mm, f"gen{k}")
        return x

    def train(self, iters: int = 150, batch: int = 512, fake_updates: int = 5, lr_g: float = 1e-4,
              lr_f: float = 1e-3, seed: int = 0, progress: bool = False):
        from tqdm.auto import tqdm
        g = torch.Generator().manual_seed(seed)
        for k, (gen, fake) in enumerate(zip(self.gens, self.fakes)):
            s = self.bounds[k + 1]
            og = torch.optim.Adam(gen.parameters(), lr=lr_g)
            of = torch.optim.Adam(fake.parameters(), lr=lr_f)
            for _ in tqdm(range(iters), desc=f"phase {k}", disable=None if progress else True, leave=False):
                for _ in range(fake_updates):
                    with torch.no_grad():
                        x_s = self.sample(torch.randn(batch, 2, generator=g), k)
                    self._fake_step(fake, of, x_s, s, g)
                z = torch.randn(batch, 2, generator=g)
                with torch.no_grad():
                    x_prev = self.sample(z, k - 1) if k > 0 else z
                x_s = euler(gen, x_prev, self.bounds[k], s, self.steps, prefix=f"gen{k}")
                with torch.no_grad():
                    grad, _ = dmd_gradient(self.teacher, fake, x_s, s, g)
                    grad = grad / grad.abs().mean().clamp_min(1e-8)
                loss = 0.5 * (x_s - (x_s - grad).detach()).pow(2).sum(-1).mean()
                og.zero_grad()
                loss.backward()
                og.step()
        for m in self.gens + self.fakes:
            m.eval()
        return self

    @staticmethod
    def _fake_step(fake, opt, x_s, s, g):
        n = len(x_s)
        t = s + 0.01 + (0.99 - s) * torch.rand(n, generator=g)
        eps = torch.randn(n, 2, generator=g)
        a_s, sig_s, a_t, sig_t = 1 - s, s, 1 - t, t
        a_ts = a_t / a_s
        sig_ts = (sig_t ** 2 - a_ts ** 2 * sig_s ** 2).clamp_min(1e-8).sqrt()
        x_t = a_ts[:, None] * x_s + sig_ts[:, None] * eps
        target = ((a_s ** 2 * sig_t + a_t * sig_s ** 2) / (a_s ** 2 * sig_ts))[:, None] * eps - x_s / a_s
        weight = 1.0 / (1.0 / sig_ts ** 2).clamp(0, 10)
        loss = (weight[:, None] * (fake(x_t, t) - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def sliced_wasserstein(x: torch.Tensor, y: torch.Tensor, n_proj: int = 128, seed: int = 0) -> float:
    """Sliced W1 between two equal-size 2-D sample sets (sorted projections on random directions)."""
    g = torch.Generator().manual_seed(seed)
    th = torch.rand(n_proj, generator=g, dtype=torch.float64) * math.pi
    d = torch.stack([th.cos(), th.sin()], -1)
    px, _ = (x.double() @ d.T).sort(0)
    py, _ = (y.double() @ d.T).sort(0)
    return float((px - py).abs().mean())


def sample_metrics(x: torch.Tensor, ref: torch.Tensor | None = None, modes=None) -> dict:
    """Nearest-mode distance, mode-weight L1 error, modes covered (>= 1/4 of fair share), SW to ``ref``."""
    modes = ring_modes() if modes is None else modes
    d = torch.cdist(x.double(), modes)
    dist, idx = d.min(1)
    w = torch.bincount(idx, minlength=len(modes)).double() / len(x)
    out = {"mode_dist": float(dist.mean()), "mode_weight_l1": float((w - 1 / len(modes)).abs().sum()),
           "modes_covered": int((w >= 0.25 / len(modes)).sum())}
    if ref is not None:
        out["sliced_w1"] = sliced_wasserstein(x, ref)
    return out
