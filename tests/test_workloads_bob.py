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


# ---- the preservation ablation (neither / preservation / marginalization / both) -----------------
def _bg_of(gen, xs):
    return torch.cdist(xs[:, 16:24], gen.bg[0]).argmin(1)


def test_ablation_arms_have_the_context_statistics_they_claim(setup):
    """Per arm, the class-context contingency of the synthetic data: the spurious correlation stays without
    marginalization (neither, preservation), is gone with preservation + marginalization (both), and is
    only weakened when a class-only generator half-follows the prompted context (marginalization)."""
    world, (x, y, b, p), gen = setup
    diag = {}
    for arm in bob.ABLATION_ARMS:
        xs, ys = bob.ablation_synthetic(x, y, b, p, world, arm, 1000, seed=3)
        assert xs.shape == (4000, 32) and torch.equal(ys, torch.arange(4).repeat_interleave(1000))
        c = _contingency(ys, _bg_of(gen, xs), world.C, world.B)
        diag[arm] = float((c.diag() / c.sum(1)).mean())
    real = _contingency(y, b, world.C, world.B)
    real_diag = float((real.diag() / real.sum(1)).mean())
    assert abs(diag["preservation"] - real_diag) < 0.05 and abs(diag["neither"] - real_diag) < 0.1
    marginal = float((torch.bincount(b, minlength=4).double() / len(b)).mean())   # = 1/4: the bank share
    assert abs(diag["both"] - marginal) < 0.05
    assert marginal + 0.1 < diag["marginalization"] < real_diag - 0.1


def test_class_generator_follow_is_the_weight_on_the_prompted_context(setup):
    world, (x, y, b, p), _ = setup
    cg = bob.ClassGenerator(x, y, b, p, world.C, world.B, world.P, follow=1.0)
    ys = torch.zeros(5, dtype=torch.long)
    bs, ps = torch.tensor([1, 2, 3, 0, 1]), torch.tensor([0, 1, 2, 0, 1])
    out = cg.sample(ys, bs, ps, torch.Generator().manual_seed(0))
    torch.testing.assert_close(out[:, 16:24], cg.ctx.bg[0][bs])          # follow = 1: exactly the context means
    torch.testing.assert_close(out[:, 24:], cg.ctx.pose[0][ps])
    half = bob.ClassGenerator(x, y, b, p, world.C, world.B, world.P, follow=0.5)
    none = half.sample(ys, None, None, torch.Generator().manual_seed(0))
    both = half.sample(ys, bs, ps, torch.Generator().manual_seed(0))
    torch.testing.assert_close(both[:, 16:24], 0.5 * none[:, 16:24] + 0.5 * cg.ctx.bg[0][bs])
    torch.testing.assert_close(both[:, :16], none[:, :16])                # the object part is untouched
    with pytest.raises(ValueError, match="follow must be in"):
        bob.ClassGenerator(x, y, b, p, world.C, world.B, world.P, follow=2)
    with pytest.raises(ValueError, match="unknown ablation arm 'half'"):
        bob.ablation_synthetic(x, y, b, p, world, "half", 10, seed=0)


def test_ablation_runs_and_marginalization_with_preservation_wins():
    df = bob.run_ablation(seeds=2, n_test=600, steps=200, formats=("mxint8",))
    assert set(df.arm) == {"real", *bob.ABLATION_ARMS} and set(df.format) == {"fp32", "mxint8"}
    assert len(df) == 2 * 5 * 2 * 2
    acc = df[(df.split == "marg") & (df.format == "fp32")].groupby("arm").acc.mean()
    assert acc["both"] > acc["neither"] + 0.15 and acc["both"] > acc["preservation"] + 0.15
    assert acc["both"] > acc["marginalization"]
    q = df[(df.split == "marg") & (df.format == "mxint8")].groupby("arm").acc.mean()
    assert (q - acc).abs().max() < 0.03                                     # MXINT8 barely moves the classifiers


def test_bob_ablation_command(monkeypatch):
    from click.testing import CliRunner

    from intfp.cli_workload import workload
    r = CliRunner().invoke(workload, ["bob-ablation", "-o", "seeds=1", "-o", "n_test=200", "-o", "steps=50",
                                      "-o", "formats=mxint8"])
    assert r.exit_code == 0, r.output
    assert "| both | True | True | 73.78 |" in r.output and "Paper (10-shot Aircraft" in r.output
    r = CliRunner().invoke(workload, ["bob-ablation", "-o", "seeds=1.5"])
    assert r.exit_code != 0 and "expected int" in r.output
