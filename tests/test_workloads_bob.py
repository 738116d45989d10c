"""BOB procedure (arXiv 2510.24078) on the toy set."""
import pytest
import torch

from intfp.models.workloads import bob

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def setup():
    world = bob.ToyWorld(seed=0)
    x, y, b, p = bob.make_split(world, 80, corr=0.9, seed=1)
    return world, (x, y, b, p), bob.ContextGenerator(x, y, b, p, world.C, world.B, world.P)


def _contingency(y, b, C, B):
    return torch.bincount(y * B + b, minlength=C * B).reshape(C, B).double()


def test_marginalization_breaks_the_class_context_correlation(setup):
    world, (x, y, b, p), gen = setup
    real = _contingency(y, b, world.C, world.B)
    assert (real.diag() / real.sum(1)).min() > 0.7                       # spurious correlation in the real set
    xs, ys = bob.bob_synthetic(gen, world.C, 2000, seed=2)
    # recover the synthetic contexts by nearest background prototype of the generator
    bs = torch.cdist(xs[:, 16:24], gen.bg[0]).argmin(1)
    synth = _contingency(ys, bs, world.C, world.B)
    marginal = torch.bincount(b, minlength=world.B).double() / len(b)
    torch.testing.assert_close(synth / synth.sum(1, keepdim=True), marginal.expand(world.C, -1), atol=0.05, rtol=0)
    xw, yw = bob.bob_synthetic(gen, world.C, 2000, seed=2, within_class=True)
    within = _contingency(yw, torch.cdist(xw[:, 16:24], gen.bg[0]).argmin(1), world.C, world.B)
    assert (within.diag() / within.sum(1)).min() > 0.7


def test_bob_beats_real_only_on_the_marginalized_split(setup):
    world, (x, y, _, _), gen = setup
    xm, ym, _, _ = bob.make_split(world, 2000, corr=0.0, seed=3)
    xc, yc, _, _ = bob.make_split(world, 2000, corr=0.9, seed=4)
    xs, ys = bob.bob_synthetic(gen, world.C, 100, seed=5)
    real = bob.train_classifier(x, y, world.C, steps=300)
    both = bob.train_classifier(torch.cat([x, xs]), torch.cat([y, ys]), world.C, steps=300)
    with torch.no_grad():
        acc = {k: (bob.accuracy(m(xm), ym), bob.accuracy(m(xc), yc)) for k, m in (("real", real), ("bob", both))}
    assert acc["bob"][0] > acc["real"][0] + 0.15          # the shortcut is gone
    assert acc["bob"][1] > 0.85                           # without losing the in-distribution split
    from intfp.models.workloads.qgemm import make_mm
    with torch.no_grad():
        agree = float((both(xm, make_mm("mxint8")).argmax(-1) == both(xm).argmax(-1)).double().mean())
    assert agree > 0.95


def test_bad_inputs(setup):
    world = setup[0]
    with pytest.raises(ValueError, match="corr must be in"):
        bob.make_split(world, 10, corr=1.5, seed=0)
