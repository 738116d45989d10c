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

**Preservation ablation** (the paper's ablation table, 10-shot Aircraft, ResNet-50: neither 68.00,
preservation only 65.90, marginalization only 70.13, both 73.78; secondary source). Four arms of
synthetic data, :func:`ablation_synthetic`:

* *preservation* = the generator is fine-tuned with each real image's own context in its caption:
  :class:`ContextGenerator`, whose context features follow the prompted ``(b, p)`` exactly.
  Without it (:class:`ClassGenerator`, fine-tuned with class-only captions) the class token absorbs
  the class's typical context: a prompted context is followed only with weight ``follow`` and the
  rest of the context features come from the class's own real contexts (*reconstructed*: the
  paper has no toy; ``follow`` models how far a class-only fine-tuned T2I model still obeys a
  context in the prompt, default 0.5).
* *marginalization* = contexts drawn jointly from the whole bank, independent of the class; without
  it the generation prompt has no context (``neither``: the class-only generator's own context) or
  the class's own contexts (``preservation only``: ``within_class``, which re-creates the spurious
  correlation faithfully).

:func:`run_ablation` trains one classifier per arm (plus ``real`` only) over several seeds and
reports accuracy on the context-independent split, FP and per format.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from intfp.models.workloads.qgemm import MatMul, exact_mm

__all__ = ["ToyWorld", "make_split", "ContextGenerator", "ClassGenerator", "bob_synthetic", "ablation_synthetic",
           "Classifier", "train_classifier", "accuracy", "run_ablation", "ABLATION_ARMS", "PAPER_ABLATION"]

#: The ablation's arms: (context preservation, context marginalization).
ABLATION_ARMS = {"neither": (False, False), "preservation": (True, False), "marginalization": (False, True),
                 "both": (True, True)}
#: The paper's ablation (10-shot Aircraft, ResNet-50, top-1 %), from a secondary source.
PAPER_ABLATION = {"neither": 68.00, "preservation": 65.90, "marginalization": 70.13, "both": 73.78}


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


class ClassGenerator:
    """The toy generator fine-tuned *without* context preservation (class-only captions).

    Per class, Gaussians of the object, background and pose features fitted on that class's real
    samples (so the background part carries the class's real, correlated contexts). Asked for a
    context ``(b, p)`` it moves its context features only a fraction ``follow`` of the way to that
    context's mean (the bank-level means of :class:`ContextGenerator`: what a generic prompt
    word looks like); ``follow=0`` ignores the prompt's context, ``follow=1`` would be preservation.
    """

    def __init__(self, x, y, b, p, n_classes, n_backgrounds, n_poses, follow: float = 0.5):
        if not 0.0 <= follow <= 1.0:
            raise ValueError(f"follow must be in [0, 1]; got {follow!r}")
        self.ctx = ContextGenerator(x, y, b, p, n_classes, n_backgrounds, n_poses)
        self.follow = follow
        self.cls = [x[y == c] if (y == c).sum() > 1 else x for c in range(n_classes)]

    def sample(self, y, b, p, g):
        """``b`` / ``p`` None: the class's own context (no context in the generation prompt)."""
        # a real sample of the class, its context included, jittered by half the real within-class
        # spread of each part (object, background, pose) - a generator, not a copy
        pick = torch.stack([self.cls[int(c)][int(torch.randint(len(self.cls[int(c)]), (1,), generator=g))]
                            for c in y]) if len(y) else torch.zeros(0, 32)
        sd = torch.stack([torch.cat([self.ctx.obj[1][c].expand(16), self._part_sd(c, 16, 24).expand(8),
                                     self._part_sd(c, 24, 32).expand(8)]) for c in y.tolist()]) if len(y) else pick
        out = pick + 0.5 * sd * torch.randn(pick.shape, generator=g)
        if b is not None:
            f = self.follow
            out[:, 16:24] = (1 - f) * out[:, 16:24] + f * self.ctx.bg[0][b]
            out[:, 24:] = (1 - f) * out[:, 24:] + f * self.ctx.pose[0][p]
        return out

    def _part_sd(self, c, lo, hi):
        part = self.cls[c][:, lo:hi]
        return (part - part.mean(0)).std() if len(part) > 1 else torch.tensor(1.0)


def ablation_synthetic(x, y, b, p, world: ToyWorld, arm: str, n_per_class: int, *, seed: int, follow: float = 0.5):
    """Synthetic ``(x, y)`` of one ablation arm (:data:`ABLATION_ARMS`), ``n_per_class`` per class."""
    if arm not in ABLATION_ARMS:
        raise ValueError(f"unknown ablation arm {arm!r}; allowed: {', '.join(ABLATION_ARMS)}")
    preserve, marginalize = ABLATION_ARMS[arm]
    if preserve:
        gen = ContextGenerator(x, y, b, p, world.C, world.B, world.P)
        return bob_synthetic(gen, world.C, n_per_class, seed=seed, within_class=not marginalize)
    gen = ClassGenerator(x, y, b, p, world.C, world.B, world.P, follow=follow)
    g = torch.Generator().manual_seed(seed)
    ys = torch.arange(world.C).repeat_interleave(n_per_class)
    if not marginalize:
        return gen.sample(ys, None, None, g), ys
    pick = gen.ctx.bank[torch.randint(len(gen.ctx.bank), (len(ys),), generator=g)]
    return gen.sample(ys, pick[:, 1], pick[:, 2], g), ys


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


def run_ablation(seeds: int = 5, n_real: int = 80, corr: float = 0.9, n_synth: int = 100, n_test: int = 4000,
                 steps: int = 400, follow: float = 0.5, formats=("mxint8", "mxfp8", "nvfp4"), world_seed: int = 0):
    """The preservation ablation (module docstring): per seed a fresh real few-shot split, synthetic
    data of each arm, one classifier each (real samples + synthetic), accuracy on the
    context-independent split (``marg``) and on the correlated one (``cond``), FP32 and with every
    classifier GEMM in each of ``formats``. Returns a long DataFrame
    ``seed, arm, split, format, acc`` (format ``fp32`` = unquantized), with the ``real``-only baseline."""
    import pandas as pd

    from intfp.models.workloads.qgemm import make_mm
    world = ToyWorld(seed=world_seed)
    tests = {"marg": make_split(world, n_test, corr=0.0, seed=10_001), "cond": make_split(world, n_test, corr=corr,
                                                                                           seed=10_002)}
    mms = {"fp32": None, **{f: make_mm(f) for f in formats}}
    rows = []
    for s in range(seeds):
        x, y, b, p = make_split(world, n_real, corr=corr, seed=100 + s)
        train = {"real": (x, y)}
        for arm in ABLATION_ARMS:
            xs, ys = ablation_synthetic(x, y, b, p, world, arm, n_synth, seed=200 + s, follow=follow)
            train[arm] = (torch.cat([x, xs]), torch.cat([y, ys]))
        for arm, (xt, yt) in train.items():
            with torch.enable_grad():
                model = train_classifier(xt, yt, world.C, steps=steps, seed=s)
            with torch.no_grad():
                for split, (xe, ye, _, _) in tests.items():
                    for f, mm in mms.items():
                        logits = model(xe) if mm is None else model(xe, mm)
                        rows.append({"seed": s, "arm": arm, "split": split, "format": f, "acc": accuracy(logits, ye)})
    return pd.DataFrame(rows)


def ablation_report(seed: int = 0, seeds: int = 5, n_real: int = 80, corr: float = 0.9, n_synth: int = 100,
                    n_test: int = 4000, steps: int = 400, follow: float = 0.5, formats: str = "mxint8,mxfp8,nvfp4"):
    """BOB's preservation ablation (neither / preservation / marginalization / both) on the toy set,
    FP32 and quantized, beside the paper's ablation table."""
    import pandas as pd

    from intfp.models.workloads.tables import markdown_table
    fmts = tuple(f for f in str(formats).split(",") if f)
    df = run_ablation(seeds=seeds, n_real=n_real, corr=corr, n_synth=n_synth, n_test=n_test, steps=steps,
                      follow=follow, formats=fmts, world_seed=seed)
    order = ["real", *ABLATION_ARMS]
    piv = df.groupby(["arm", "split", "format"]).acc.agg(["mean", "std"]).reset_index()
    rows = []
    for arm in order:
        r = {"arm": arm, "preservation": ABLATION_ARMS.get(arm, (None,))[0] if arm != "real" else "-",
             "marginalization": ABLATION_ARMS[arm][1] if arm != "real" else "-",
             "paper_acc": PAPER_ABLATION.get(arm, float("nan"))}
        for split in ("marg", "cond"):
            sel = piv[(piv.arm == arm) & (piv.split == split) & (piv.format == "fp32")].iloc[0]
            r[f"acc_{split}"], r[f"acc_{split}_std"] = sel["mean"], sel["std"]
        for f in fmts:
            r[f"acc_marg_{f}"] = piv[(piv.arm == arm) & (piv.split == "marg") & (piv.format == f)]["mean"].iloc[0]
        rows.append(r)
    table = pd.DataFrame(rows)
    m = {r["arm"]: r["acc_marg"] for r in rows}
    paper_order = sorted(PAPER_ABLATION, key=PAPER_ABLATION.get)
    ours_order = sorted(PAPER_ABLATION, key=m.get)
    text = (f"### bob-ablation: context preservation x marginalization (arXiv 2510.24078 ablation)\n\n"
            f"Toy set (module `bob.py`), {seeds} seeds (real few-shot split and synthetic draws per seed), "
            f"{n_real} real + {n_synth} synthetic per class, classifier trained in FP32; `acc_marg`: accuracy on the "
            f"context-independent split (mean, std over seeds); `acc_cond`: on the training correlation; "
            f"`acc_marg_<fmt>`: the same classifiers with every GEMM in that format. Without preservation the "
            f"generator follows a prompted context with weight follow={follow}.\n\n{markdown_table(table)}\n\n"
            f"Paper (10-shot Aircraft, ResNet-50): {' < '.join(paper_order)}. Ours (acc_marg, FP32): "
            f"{' < '.join(ours_order)}.\n")
    return {"ablation": table, "runs": df}, text
