"""BOB, "Beyond Objects" (arXiv 2510.24078) as a procedure on a toy classification set.

BOB fine-tunes a text-to-image model on few-shot real images captioned with their own context
(background, pose) - *context preservation* - and then synthesizes training images for every
class with (background, pose) pairs drawn **jointly and uniformly from the whole bank,
independently of the class** - *context marginalization*, the backdoor adjustment
``P(X | do(Y)) = sum_Z P(X | Y, Z) P(Z)``. (The method details come from the abstract, the authors' blog
post and a secondary summary; no code was read.)

Toy version (no T2I model): an input is ``[object (16), background (8), pose (8)]`` = 32 features.
The object part depends on the class, the background and pose parts on nuisance variables
``b``, ``p``. In the small real training split ``b`` equals the class with probability ``corr``
(a spurious correlation); pose is independent noise.

* :func:`make_split` draws real data; ``"conditional"`` keeps the training correlation,
  ``"marginalized"`` draws ``(b, p)`` independently of the class.
* :class:`ContextGenerator` is the "fine-tuned generator": per-class object Gaussians and
  per-context feature Gaussians fitted on the real split, conditioned on (class, b, p) - context
  is preserved because every real sample is explained with its own (b, p).
* :func:`bob_synthetic` draws ``n_per_class`` samples per class with ``(b, p)`` pairs drawn
  jointly and uniformly from the bank of real pairs; ``within_class=True`` draws only from the
  class's own pairs instead (the paper's Table 3 "within-class contexts" control).
* The classifier is an MLP whose GEMMs go through ``mm``; :func:`evaluate` reports accuracy and
  agreement with the FP model on both splits.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from intfp.models.workloads.qgemm import MatMul, exact_mm

__all__ = ["ToyWorld", "make_split", "ContextGenerator", "bob_synthetic", "Classifier", "train_classifier",
           "accuracy"]


class ToyWorld:
    """Class prototypes, background and pose patterns of the toy (seeded)."""

    def __init__(self, n_classes: int = 4, n_backgrounds: int = 4, n_poses: int = 3, seed: int = 0,
                 object_noise: float = 1.3, context_scale: float = 2.0):
        g = torch.Generator().manual_seed(seed)
        self.C, self.B, self.P = n_classes, n_backgrounds, n_poses
        self.objects = torch.randn(n_classes, 16, generator=g)           # weak, noisy class signal
        self.backgrounds = context_scale * torch.randn(n_backgrounds, 8, generator=g)   # strong nuisance
        self.poses = torch.randn(n_poses, 8, generator=g)
        self.object_noise = object_noise

    def render(self, y, b, p, g: torch.Generator) -> torch.Tensor:
        n = len(y)
        obj = self.objects[y] + self.object_noise * torch.randn(n, 16, generator=g)
        bg = self.backgrounds[b] + 0.5 * torch.randn(n, 8, generator=g)
        po = self.poses[p] + 0.5 * torch.randn(n, 8, generator=g)
        return torch.cat([obj, bg, po], -1)


def make_split(world: ToyWorld, n: int, *, corr: float, seed: int):
    """``(x, y, b, p)``: classes uniform; ``b = y mod B`` with probability ``corr``, else uniform."""
    if not 0.0 <= corr <= 1.0:
        raise ValueError(f"corr must be in [0, 1]; got {corr!r}")
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(world.C, (n,), generator=g)
    b = torch.where(torch.rand(n, generator=g) < corr, y % world.B, torch.randint(world.B, (n,), generator=g))
    p = torch.randint(world.P, (n,), generator=g)
    return world.render(y, b, p, g), y, b, p


class ContextGenerator:
    """The toy "fine-tuned T2I model": Gaussians fitted on real data, sampled given (class, b, p)."""

    def __init__(self, x, y, b, p, n_classes, n_backgrounds, n_poses):
        def fit(part, labels, k):
            mu = torch.stack([part[labels == i].mean(0) if (labels == i).any() else part.mean(0) for i in range(k)])
            sd = torch.stack([(part[labels == i] - mu[i]).std() if (labels == i).sum() > 1 else part.std()
                              for i in range(k)])
            return mu, sd
        self.obj = fit(x[:, :16], y, n_classes)
        self.bg = fit(x[:, 16:24], b, n_backgrounds)
        self.pose = fit(x[:, 24:], p, n_poses)
        self.bank = torch.stack([y, b, p], 1)                 # every real sample keeps its own context

    def sample(self, y, b, p, g):
        def draw(stats, idx, d):
            mu, sd = stats
            return mu[idx] + sd[idx, None] * torch.randn(len(idx), d, generator=g)
        return torch.cat([draw(self.obj, y, 16), draw(self.bg, b, 8), draw(self.pose, p, 8)], -1)


def bob_synthetic(gen: ContextGenerator, n_classes: int, n_per_class: int, *, seed: int, within_class: bool = False):
    """Synthetic ``(x, y)``: contexts (b, p) drawn jointly from the bank, independent of the class
    (BOB's marginalization) or, with ``within_class``, from the class's own contexts only."""
    g = torch.Generator().manual_seed(seed)
    ys, bs, ps = [], [], []
    for c in range(n_classes):
        pool = gen.bank[gen.bank[:, 0] == c] if within_class else gen.bank
        if len(pool) == 0:
            raise ValueError(f"class {c} has no real samples to take contexts from")
        pick = pool[torch.randint(len(pool), (n_per_class,), generator=g)]
        ys.append(torch.full((n_per_class,), c))
        bs.append(pick[:, 1])
        ps.append(pick[:, 2])
    y, b, p = torch.cat(ys), torch.cat(bs), torch.cat(ps)
    return gen.sample(y, b, p, g), y


class Classifier(torch.nn.Module):
    """MLP 32 -> 64 -> 64 -> classes, GELU; GEMMs ``fc0``, ``fc1``, ``fc2`` through ``mm``."""

    def __init__(self, n_classes: int, width: int = 64, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        dims = [32, width, width, n_classes]
        self.w = torch.nn.ParameterList([torch.nn.Parameter(torch.randn(i, o, generator=g) / math.sqrt(i))
                                         for i, o in zip(dims[:-1], dims[1:])])
        self.b = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(o)) for o in dims[1:]])

    def forward(self, x, mm: MatMul = exact_mm):
        h = x
        for i, (w, b) in enumerate(zip(self.w, self.b)):
            h = mm(h, w.to(h.dtype), f"fc{i}") + b.to(h.dtype)
            if i < len(self.w) - 1:
                h = F.gelu(h)
        return h


def train_classifier(x, y, n_classes: int, *, steps: int = 400, seed: int = 0) -> Classifier:
    """Full-batch Adam with weight decay (deterministic)."""
    torch.manual_seed(seed)
    model = Classifier(n_classes, seed=seed)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def accuracy(logits, y) -> float:
    return float((logits.argmax(-1) == y).double().mean())
