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

**SGTS** (stochastic gradient truncation, the multi-step DMD baseline the paper compares with;
*reconstructed* from the paper's description and DMD2 / Self-Forcing practice): *one* generator for
all ``N`` steps of a fixed grid ``1 = t_0 > ... > t_N = 0``; each update draws an exit step
``j ~ U{1..N}``, runs steps ``< j`` without gradient, and applies the DMD gradient (full interval,
``s = 0``) to the generator's clean prediction ``x0_hat = x - t_j v`` at step ``j``; the fake score is
trained with plain flow matching on such predictions. :class:`SGTSDMD`, ``steps=1`` is one-step DMD.

**Diversity** (:func:`diversity`). The paper measures it on images generated from one prompt with
different seeds (pairwise feature similarity; secondary source, the exact backbone not confirmed
here). The 2-D analogue: the mean pairwise distance of samples over that of exact data samples
(``diversity``, 1 = the data's spread) and the within-mode spread over the data's
(``within_mode_spread``): mode seeking collapses the second before it loses modes.

**1-D subinterval experiment** (:func:`experiment_1d`; the paper's toy per the secondary notes: data
``x0 in {-1, 0, 1, 2}``, a 4-layer MLP, subinterval ``(0.5, 1]``). Three velocity MLPs: ``full``
(flow matching on ``t ~ U(0, 1)`` with the clean ``x0``), and two trained on ``t ~ U(s, 1)`` from
samples ``x_s`` only (no ``x0``): ``unbiased`` with the subinterval target above, ``biased`` with the
flow-matching target that treats ``x_s`` as clean data, ``eps - x_s`` (*reconstructed*: the paper's
exact biased form was not read). Each is integrated from the same noise from ``t = 1`` to ``s`` and
compared with the exact ODE trajectories (analytic velocity).
"""
from __future__ import annotations

import math

import torch

from intfp.models.workloads.qgemm import MatMul, exact_mm

__all__ = ["ring_modes", "gmm_sample", "gmm_velocity", "gmm_posterior_mean", "VelocityMLP", "fit_teacher", "euler",
           "PhasedDMD", "SGTSDMD", "sample_metrics", "sliced_wasserstein", "dmd_gradient", "diversity",
           "subinterval_target", "biased_target", "PlainMLP", "fit_1d", "experiment_1d", "experiment_sgts",
           "MODES_1D"]

#: The paper's 1-D toy data (secondary notes): x0 in {-1, 0, 1, 2}, equal weights.
MODES_1D = (-1.0, 0.0, 1.0, 2.0)

STD = 0.05


def ring_modes(n: int = 8, radius: float = 2.0, dtype=torch.float64) -> torch.Tensor:
    a = torch.arange(n, dtype=dtype) * (2 * math.pi / n)
    return radius * torch.stack([a.cos(), a.sin()], -1)


def gmm_sample(n: int, g: torch.Generator, modes=None, std: float = STD) -> torch.Tensor:
    modes = ring_modes() if modes is None else modes
    idx = torch.randint(len(modes), (n,), generator=g)
    return modes[idx] + std * torch.randn(n, modes.shape[1], generator=g, dtype=modes.dtype)


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
        self.gens = [copy.deepcopy(teacher).train().requires_grad_(True) for _ in self.bounds[1:]]
        self.fakes = [copy.deepcopy(teacher).train().requires_grad_(True) for _ in self.bounds[1:]]
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
              lr_f: float = 1e-3, seed: int = 0, progress: bool = False, log_every: int = 0, log_samples: int = 1024):
        """Train phase by phase. With ``log_every > 0``, ``self.history`` gets one row per logged
        iteration: ``phase, iter, fake_loss`` (mean subinterval loss of the last fake updates),
        ``dmd_grad_ms`` (mean square of the unnormalized DMD gradient ``w (v_T - v_F)``) and
        ``w1_to_teacher``: sliced W1 between this phase's output ``x_{t_k}`` (fixed noise) and the
        teacher's 200-step ODE solution at ``t_k`` from the same noise (the distance the phase
        minimizes; at iteration 0 it is the 2-Euler-step discretization error of the teacher)."""
        from tqdm.auto import tqdm
        g = torch.Generator().manual_seed(seed)
        self.history = []
        if log_every:
            z_log = torch.randn(log_samples, 2, generator=torch.Generator().manual_seed(seed + 99))
            with torch.no_grad():
                ref = [z_log]
                for k in range(len(self.gens)):
                    ref.append(euler(self.teacher, ref[-1], self.bounds[k], self.bounds[k + 1], 100))
        for k, (gen, fake) in enumerate(zip(self.gens, self.fakes)):
            s = self.bounds[k + 1]
            og = torch.optim.Adam(gen.parameters(), lr=lr_g)
            of = torch.optim.Adam(fake.parameters(), lr=lr_f)
            for it in tqdm(range(iters + 1), desc=f"phase {k}", disable=None if progress else True, leave=False):
                if log_every and it % log_every == 0:
                    with torch.no_grad():
                        x_k = self.sample(z_log, k)
                    self.history.append({"phase": k, "iter": it, "fake_loss": fake_losses[-1] if it else float("nan"),
                                         "dmd_grad_ms": grad_ms if it else float("nan"),
                                         "w1_to_teacher": sliced_wasserstein(x_k, ref[k + 1])})
                if it == iters:
                    break
                fl = []
                for _ in range(fake_updates):
                    with torch.no_grad():
                        x_s = self.sample(torch.randn(batch, 2, generator=g), k)
                    fl.append(self._fake_step(fake, of, x_s, s, g))
                fake_losses = [sum(fl) / len(fl)]
                z = torch.randn(batch, 2, generator=g)
                with torch.no_grad():
                    x_prev = self.sample(z, k - 1) if k > 0 else z
                x_s = euler(gen, x_prev, self.bounds[k], s, self.steps, prefix=f"gen{k}")
                with torch.no_grad():
                    grad, _ = dmd_gradient(self.teacher, fake, x_s, s, g)
                    grad_ms = float(grad.pow(2).sum(-1).mean())
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
        x_t, target, weight = subinterval_target(x_s, s, t, eps)
        loss = (weight[:, None] * (fake(x_t, t) - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(loss.detach())


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


def subinterval_target(x_s, s: float, t, eps):
    """``(x_t, target, weight)`` of the subinterval objective (module docstring) for samples ``x_s``
    at time ``s``, times ``t > s`` (one per sample) and noise ``eps``: ``x_t = alpha_{t|s} x_s +
    sigma_{t|s} eps``, target ``c eps - x_s / alpha_s`` (conditional mean = the true velocity),
    weight ``1 / clamp(1 / sigma_{t|s}^2, 0, 10)``. At ``s = 0`` it is plain flow matching:
    target ``eps - x_0``, ``x_t = (1 - t) x_0 + t eps``."""
    a_s, sig_s, a_t, sig_t = 1 - s, s, 1 - t, t
    a_ts = a_t / a_s
    sig_ts = (sig_t ** 2 - a_ts ** 2 * sig_s ** 2).clamp_min(1e-8).sqrt()
    x_t = a_ts[:, None] * x_s + sig_ts[:, None] * eps
    target = ((a_s ** 2 * sig_t + a_t * sig_s ** 2) / (a_s ** 2 * sig_ts))[:, None] * eps - x_s / a_s
    return x_t, target, 1.0 / (1.0 / sig_ts ** 2).clamp(0, 10)


def biased_target(x_s, s: float, t, eps):
    """The naive target (*reconstructed*): flow matching that takes ``x_s`` for clean data,
    ``eps - x_s``, on the same ``x_t`` and with the same weight as :func:`subinterval_target`."""
    x_t, _, w = subinterval_target(x_s, s, t, eps)
    return x_t, eps - x_s, w


def diversity(x: torch.Tensor, ref: torch.Tensor, modes=None, n_pairs: int = 20000, seed: int = 0) -> dict:
    """2-D diversity (module docstring): ``diversity`` = mean pairwise distance of ``x`` / that of
    ``ref`` (random pairs); ``within_mode_spread`` = RMS distance to the assigned (nearest) mode's
    sample mean, over the same for ``ref``. Both 1 for samples distributed like ``ref``."""
    modes = ring_modes() if modes is None else modes
    g = torch.Generator().manual_seed(seed)

    def pairwise(v):
        i, j = torch.randint(len(v), (2, n_pairs), generator=g)
        return float((v[i] - v[j]).double().norm(dim=-1).mean())

    def spread(v):
        v = v.double()
        idx = torch.cdist(v, modes.double()).argmin(1)
        cent = torch.zeros(len(modes), v.shape[1], dtype=v.dtype).index_add_(0, idx, v)
        cnt = torch.bincount(idx, minlength=len(modes)).clamp_min(1)[:, None]
        return float((v - (cent / cnt)[idx]).pow(2).sum(-1).mean().sqrt())
    return {"diversity": pairwise(x) / pairwise(ref), "within_mode_spread": spread(x) / spread(ref)}


class SGTSDMD:
    """Multi-step DMD with stochastic gradient truncation (module docstring): one generator and one fake
    score (both initialized from the teacher) for an ``steps``-step Euler grid from 1 to 0."""

    def __init__(self, teacher: VelocityMLP, steps: int = 4):
        import copy
        if steps < 1:
            raise ValueError(f"steps must be >= 1; got {steps!r}")
        self.teacher, self.steps = teacher, steps
        self.grid = torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64).tolist()
        self.gen = copy.deepcopy(teacher).train().requires_grad_(True)     # the teacher may already be frozen
        self.fake = copy.deepcopy(teacher).train().requires_grad_(True)
        for p in teacher.parameters():
            p.requires_grad_(False)

    def _run(self, z, exit_step: int, mm: MatMul = exact_mm):
        """Steps ``1 .. exit_step - 1`` without gradient, then the clean prediction at step ``exit_step``."""
        x = z
        with torch.no_grad():
            for j in range(exit_step - 1):
                x = euler(self.gen, x, self.grid[j], self.grid[j + 1], 1, mm, "gen")
        t = self.grid[exit_step - 1]
        return self.gen.x0(x, torch.full((len(x),), t, dtype=x.dtype), mm, "gen")

    def sample(self, z, mm: MatMul = exact_mm):
        with torch.no_grad():
            return euler(self.gen, z, 1.0, 0.0, self.steps, mm, "gen")

    def train(self, iters: int = 120, batch: int = 256, fake_updates: int = 5, lr_g: float = 1e-4,
              lr_f: float = 1e-3, seed: int = 0, progress: bool = False):
        from tqdm.auto import tqdm
        g = torch.Generator().manual_seed(seed)
        og = torch.optim.Adam(self.gen.parameters(), lr=lr_g)
        of = torch.optim.Adam(self.fake.parameters(), lr=lr_f)
        for _ in tqdm(range(iters), desc="sgts", disable=None if progress else True, leave=False):
            for _ in range(fake_updates):
                j = int(torch.randint(1, self.steps + 1, (1,), generator=g))
                with torch.no_grad():
                    x0 = self._run(torch.randn(batch, 2, generator=g), j)
                PhasedDMD._fake_step(self.fake, of, x0, 0.0, g)
            j = int(torch.randint(1, self.steps + 1, (1,), generator=g))
            x0 = self._run(torch.randn(batch, 2, generator=g), j)
            with torch.no_grad():
                grad, _ = dmd_gradient(self.teacher, self.fake, x0, 0.0, g)
                grad = grad / grad.abs().mean().clamp_min(1e-8)
            loss = 0.5 * (x0 - (x0 - grad).detach()).pow(2).sum(-1).mean()
            og.zero_grad()
            loss.backward()
            og.step()
        self.gen.eval()
        self.fake.eval()
        return self


# ---- the paper's 1-D subinterval experiment ------------------------------------------------------
STD_1D = 0.02          # near-delta modes (keeps the exact velocity finite at t -> 0)


def _modes_1d(dtype=torch.float64):
    return torch.tensor(MODES_1D, dtype=dtype)[:, None]


class PlainMLP(torch.nn.Module):
    """``[x, t, fourier(t) (30)] (32) -> width -> width -> width -> 1``: a 4-layer velocity MLP (GEMMs
    ``l0..l3`` through ``mm``), predicting ``v`` directly as the paper's toy does."""

    def __init__(self, width: int = 64, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        dims = [32, width, width, width, 1]
        self.w = torch.nn.ParameterList([torch.nn.Parameter(torch.randn(i, o, generator=g) / math.sqrt(i))
                                         for i, o in zip(dims[:-1], dims[1:])])
        self.b = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(o)) for o in dims[1:]])

    def forward(self, x, t, mm: MatMul = exact_mm, prefix: str = "v1d"):
        t = t.reshape(-1, 1).to(x.dtype)
        h = torch.cat([x, t, _time_features(t)], -1)
        for i, (w, b) in enumerate(zip(self.w, self.b)):
            h = mm(h, w.to(h.dtype), f"{prefix}.l{i}") + b.to(h.dtype)
            if i < len(self.w) - 1:
                h = torch.nn.functional.silu(h)
        return h


def fit_1d(kind: str, s: float = 0.5, steps: int = 1500, batch: int = 512, width: int = 64, seed: int = 0):
    """Train a :class:`PlainMLP` velocity on the 1-D data: ``kind`` = ``full`` (``t ~ U(0, 1)``, clean
    ``x0``), ``unbiased`` / ``biased`` (``t ~ U(s, 1)`` from ``x_s`` only, :func:`subinterval_target` /
    :func:`biased_target`). Returns ``(net, losses)`` (loss every step)."""
    targets = {"unbiased": subinterval_target, "biased": biased_target}
    if kind not in ("full", *targets):
        raise ValueError(f"unknown 1-D training kind {kind!r}; allowed: full, unbiased, biased")
    if not 0.0 < s < 1.0:
        raise ValueError(f"subinterval start s must be in (0, 1); got {s!r}")
    g = torch.Generator().manual_seed(seed)
    net = PlainMLP(width, seed)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    modes, losses = _modes_1d(torch.float32), []
    for _ in range(steps):
        x0 = gmm_sample(batch, g, modes, STD_1D)
        eps = torch.randn(batch, 1, generator=g)
        if kind == "full":
            t = 0.001 + 0.999 * torch.rand(batch, generator=g)
            x_t, target, w = (1 - t)[:, None] * x0 + t[:, None] * eps, eps - x0, torch.ones(batch)
        else:
            x_s = (1 - s) * x0 + s * torch.randn(batch, 1, generator=g)       # samples at s; x0 is not used below
            t = s + 0.01 + (0.99 - s) * torch.rand(batch, generator=g)
            x_t, target, w = targets[kind](x_s, s, t, eps)
        loss = (w[:, None] * (net(x_t, t) - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
    return net.eval(), losses


def experiment_1d(seed: int = 0, s: float = 0.5, steps: int = 1500, width: int = 64, samples: int = 2048,
                  ode_steps: int = 100):
    """The paper's 1-D biased / unbiased subinterval experiment (Phased DMD, arXiv 2510.27684): a
    full-interval, an unbiased-subinterval and a biased-subinterval velocity MLP against the exact ODE."""
    import pandas as pd

    from intfp.models.workloads.tables import markdown_table
    modes = _modes_1d()
    g = torch.Generator().manual_seed(seed + 5)
    z = torch.randn(samples, 1, generator=g, dtype=torch.float64)
    ts = torch.linspace(1.0, s, ode_steps + 1, dtype=torch.float64)

    def exact_v(x, t):
        return gmm_velocity(x, t, modes, STD_1D)

    def trajectory(v):
        xs, x = [z], z
        for a, b in zip(ts[:-1], ts[1:]):
            x = x + (b - a).item() * v(x, torch.full((len(x),), a.item(), dtype=x.dtype))
            xs.append(x)
        return torch.stack(xs)
    ref = trajectory(exact_v)
    # velocity error on the true marginal over (s, 1)
    x0 = gmm_sample(samples, g, modes, STD_1D)
    tv = s + (1 - s) * torch.rand(samples, generator=g, dtype=torch.float64)
    xv = (1 - tv)[:, None] * x0 + tv[:, None] * torch.randn(samples, 1, generator=g, dtype=torch.float64)
    v_ref = exact_v(xv, tv)

    def finish(x_s):      # phase 2 by the exact ODE from s to ~0: on which data points do the samples land?
        x = x_s
        tt = torch.linspace(s, 1e-3, ode_steps + 1, dtype=torch.float64)
        for a, b in zip(tt[:-1], tt[1:]):
            x = x + (b - a).item() * exact_v(x, torch.full((len(x),), a.item(), dtype=x.dtype))
        w = torch.bincount(torch.cdist(x, modes).argmin(1), minlength=len(modes)).double() / len(x)
        return float((w - 1 / len(modes)).abs().sum())
    rows, curves = [], {}
    for kind in ("full", "unbiased", "biased"):
        with torch.enable_grad():
            net, losses = fit_1d(kind, s=s, steps=steps, width=width, seed=seed)
        net.double()
        with torch.no_grad():
            tr = trajectory(lambda x, t: net(x, t))
            v = net(xv, tv)
        k = max(1, steps // 10)
        curves[kind] = [float(sum(losses[i:i + k]) / len(losses[i:i + k])) for i in range(0, steps, k)]
        end, end_ref = tr[-1].flatten().sort().values, ref[-1].flatten().sort().values
        rows.append({"target": kind, "interval": "(0, 1]" if kind == "full" else f"({s}, 1]",
                     "traj_rmse": float((tr - ref).pow(2).mean().sqrt()),
                     "end_rmse": float((tr[-1] - ref[-1]).pow(2).mean().sqrt()),
                     "w1_at_s": float((end - end_ref).abs().mean()),
                     "vel_rmse": float((v - v_ref).pow(2).mean().sqrt()),
                     "final_weight_l1": finish(tr[-1]),
                     "loss_first10pct": curves[kind][0], "loss_last10pct": curves[kind][-1]})
    df = pd.DataFrame(rows)
    exact_final = finish(ref[-1])
    r = {row["target"]: row for row in rows}
    ok = r["unbiased"]["traj_rmse"] < 0.5 * r["biased"]["traj_rmse"]
    text = (f"### dmd-1d: score matching within a subinterval (Phased DMD, arXiv 2510.27684)\n\n"
            f"Data x0 in {{{', '.join(f'{m:g}' for m in MODES_1D)}}} (std {STD_1D}); a 4-layer MLP (width {width}) "
            f"per target, {steps} Adam steps of batch 512; `full`: flow matching on (0, 1] with the clean x0; "
            f"`unbiased` / `biased`: trained on ({s}, 1] from x_s samples only, with the subinterval target / with "
            f"eps - x_s. Each is integrated from the same {samples} noise draws from t = 1 to {s} ({ode_steps} Euler "
            f"steps) and compared with the exact ODE: `traj_rmse` over the whole path, `end_rmse` and `w1_at_s` at "
            f"t = {s}, `vel_rmse` on the true marginal over ({s}, 1); `final_weight_l1`: L1 error of the data-point "
            f"weights (1/4 each) after continuing with the exact ODE to t = 0 (exact path: {exact_final:.4g}).\n\n"
            f"{markdown_table(df)}\n\nPaper: only the unbiased subinterval target reproduces the full-interval "
            f"trajectories. Here: unbiased traj_rmse {r['unbiased']['traj_rmse']:.3g} vs full "
            f"{r['full']['traj_rmse']:.3g} vs biased {r['biased']['traj_rmse']:.3g}: "
            f"{'agrees' if ok else 'does NOT agree'}.\n")
    return {"targets": df, "loss_curves": curves}, text


# ---- SGTS vs Phased DMD: diversity ---------------------------------------------------------------
def experiment_sgts(seed: int = 0, teacher_steps: int = 1000, iters: int = 60, batch: int = 256, samples: int = 2048,
                    formats: str = "mxint8,nvfp4", log_every: int = 10):
    """Phased DMD vs 4-step DMD with SGTS vs one-step DMD on the 2-D ring: quality, diversity, training curve."""
    import pandas as pd

    from intfp.models.workloads.tables import markdown_table
    from intfp.models.workloads.qgemm import make_mm
    with torch.enable_grad():
        teacher = fit_teacher(steps=teacher_steps, seed=seed)
        phased = PhasedDMD(teacher).train(iters=iters, batch=batch, seed=seed, log_every=log_every)
        # the same number of generator updates (iters per phase x 2 phases) for the one-generator methods
        sgts = SGTSDMD(teacher, steps=4).train(iters=2 * iters, batch=batch, seed=seed)
        one = SGTSDMD(teacher, steps=1).train(iters=2 * iters, batch=batch, seed=seed)
    g = torch.Generator().manual_seed(seed + 11)
    z = torch.randn(samples, 2, generator=g)
    data = gmm_sample(samples, g).float()
    samplers = {"teacher 200 steps": lambda mm: euler(teacher, z, 1.0, 0.0, 200, mm, "teacher"),
                "teacher 4 steps": lambda mm: euler(teacher, z, 1.0, 0.0, 4, mm, "teacher"),
                "phased DMD 2x2": lambda mm: phased.sample(z, mm=mm),
                "DMD + SGTS 4-step": lambda mm: sgts.sample(z, mm),
                "DMD 1-step": lambda mm: one.sample(z, mm)}
    fmts = [f for f in str(formats).split(",") if f]
    rows = []
    for name, fn in samplers.items():
        with torch.no_grad():
            x = fn(exact_mm)
            r = {"sampler": name, "nfe": {"teacher 200 steps": 200, "DMD 1-step": 1}.get(name, 4),
                 **sample_metrics(x, data), **diversity(x, data)}
            for f in fmts:
                r[f"diversity_{f}"] = diversity(fn(make_mm(f)), data)["diversity"]
        rows.append(r)
    df = pd.DataFrame(rows)
    hist = pd.DataFrame(phased.history)
    first = hist.groupby("phase").w1_to_teacher.first()
    last = hist.groupby("phase").w1_to_teacher.last()
    d = {r["sampler"]: r for r in rows}
    text = (f"### dmd-sgts: Phased DMD vs SGTS vs one-step DMD (arXiv 2510.27684), 2-D ring of 8 modes\n\n"
            f"Teacher MLP ({teacher_steps} steps); students initialized from it, {2 * iters} generator updates each "
            f"(5 fake updates per update, batch {batch}). `diversity` = mean pairwise sample distance / the data's; "
            f"`within_mode_spread` = RMS distance to the own mode's centroid / the data's (1 = like the data); "
            f"`diversity_<fmt>`: the sampler with every GEMM in that format. {samples} samples from fixed noise.\n\n"
            f"{markdown_table(df)}\n\nPaper: SGTS brings the diversity of multi-step DMD down to the one-step "
            f"level; Phased DMD preserves it better. Here: diversity phased {d['phased DMD 2x2']['diversity']:.3g}, "
            f"SGTS {d['DMD + SGTS 4-step']['diversity']:.3g}, one-step {d['DMD 1-step']['diversity']:.3g}; "
            f"within-mode spread {d['phased DMD 2x2']['within_mode_spread']:.3g} / "
            f"{d['DMD + SGTS 4-step']['within_mode_spread']:.3g} / {d['DMD 1-step']['within_mode_spread']:.3g}.\n\n"
            f"Phased DMD training (sliced W1 of each phase's output to the teacher's ODE solution at the phase end, "
            f"every {log_every} iterations; `dmd_grad_ms`: mean square of the unnormalized DMD gradient):\n\n"
            f"{markdown_table(hist)}\n\nW1 to the teacher, first -> last logged: "
            + ", ".join(f"phase {k}: {first[k]:.4g} -> {last[k]:.4g}" for k in first.index) + ".\n")
    return {"samplers": df, "history": hist}, text
