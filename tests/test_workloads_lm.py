"""The tiny LM: grammar, quantized forward/backward GEMMs, direct-cast KL, gradient bias."""
import pytest
import torch

from intfp.models.workloads import tiny_lm as lm
from intfp.models.workloads.qgemm import GemmRecorder, make_mm

torch.set_num_threads(1)
SMALL = lm.TinyLMConfig(d_model=64, n_layers=1, n_heads=2, d_ff=128, seq_len=32)


def test_grammar_is_deterministic_and_agrees_in_number():
    assert torch.equal(lm.Grammar(3).tokens(500), lm.Grammar(3).tokens(500))
    g = lm.Grammar(0)
    for _ in range(300):
        s = g.sentence()
        subject = next(t for t in s if 16 <= t < 32)
        main_verb = [t for t in s if 32 <= t < 48][-1]          # the relative clause's verb comes first
        assert (subject >= 24) == (main_verb >= 40)
        assert s[-1] == 0 and all(0 <= t < lm.VOCAB for t in s)


@pytest.fixture(scope="module")
def trained():
    torch.manual_seed(0)
    model = lm.TinyLM(SMALL, seed=0)
    tokens = lm.Grammar(0).tokens(20_000)
    curve = lm.train_lm(model, tokens, steps=80, batch=16, log_every=10)
    return model.eval(), curve


def test_training_lowers_the_loss(trained):
    _, curve = trained
    assert curve[-1] < curve[0] - 0.8


def test_gemm_names_and_lm_head_stays_unquantized(trained):
    model, _ = trained
    x, _ = lm.eval_batch(0, 4, SMALL.seq_len)
    rec = GemmRecorder(capture=False)
    with torch.no_grad():
        model(x, make_mm("mxint8", recorder=rec))
    assert set(rec.macs) == {"l0.qkv", "l0.attn.qk", "l0.attn.pv", "l0.o", "l0.up", "l0.down"}
    assert rec.macs["l0.qkv"] == 4 * 32 * 64 * 192


def test_direct_cast_kl_orders_the_formats(trained):
    model, _ = trained
    x, _ = lm.eval_batch(0, 16, SMALL.seq_len)
    with torch.no_grad():
        ref = model(x)
        kl = {f: lm.next_token_kl(ref, model(x, make_mm(f))) for f in ("fp32", "mxint8", "nvfp4")}
    assert kl["fp32"] < 1e-9 < kl["mxint8"] < kl["nvfp4"]


def test_gradient_bias_is_zero_for_exact_gemms_and_small_for_mxint8(trained):
    model, _ = trained
    x, y = lm.eval_batch(0, 8, SMALL.seq_len)
    exact = lm.gradient_bias(model, x, y, make_mm("fp32"))
    assert abs(exact["grad_bias"]) < 1e-4 and exact["grad_cos"] > 0.9999
    q = lm.gradient_bias(model, x, y, make_mm("mxint8"))
    assert q["grad_cos"] > 0.99 and q["grad_rel_err"] < 0.1


def test_quantized_training_step_uses_quantized_backward(monkeypatch):
    """The study's training setting (arXiv 2510.25602 section 5.3): every GEMM's backward is quantized too.
    The old test only checked that the loss curve was finite, which an unquantized backward passes as well;
    count the quantized backward calls: all 6 GEMMs of the layer, every step, in the asymmetric format."""
    from intfp.models.workloads import qgemm
    seen = []
    backward = qgemm._QMatmulFn.backward

    def counting(ctx, g):
        seen.append(getattr(ctx.fmt, "name", ctx.fmt))
        return backward(ctx, g)
    monkeypatch.setattr(qgemm._QMatmulFn, "backward", staticmethod(counting))
    torch.manual_seed(0)
    model = lm.TinyLM(SMALL, seed=1)
    tokens = lm.Grammar(1).tokens(5_000)
    curve = lm.train_lm(model, tokens, steps=10, batch=8, log_every=5, mm=make_mm("mxint8_asym"))
    assert len(curve) == 2 and all(torch.isfinite(torch.tensor(curve)))
    assert seen == ["mxint8_asym"] * (6 * SMALL.n_layers * 10)


def test_config_validation():
    with pytest.raises(ValueError, match="multiple of n_heads"):
        lm.TinyLMConfig(d_model=66, n_heads=4)
