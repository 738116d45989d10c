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
    """As the study (quant/utils.py::wrap_to_quant_model): only the linear layers are quantized by default;
    the attention products QK^T and PV only with quantize_attention=True; lm_head never."""
    model, _ = trained
    x, _ = lm.eval_batch(0, 4, SMALL.seq_len)
    rec = GemmRecorder(capture=False)
    with torch.no_grad():
        out = model(x, make_mm("mxint8", recorder=rec))
    assert set(rec.macs) == {"l0.qkv", "l0.o", "l0.up", "l0.down"}
    assert rec.macs["l0.qkv"] == 4 * 32 * 64 * 192
    rec_all = GemmRecorder(capture=False)
    with torch.no_grad():
        out_all = model(x, make_mm("mxint8", recorder=rec_all), quantize_attention=True)
    assert set(rec_all.macs) == {"l0.qkv", "l0.attn.qk", "l0.attn.pv", "l0.o", "l0.up", "l0.down"}
    assert rec_all.macs["l0.attn.qk"] == 4 * 2 * 32 * 32 * 32
    assert not torch.equal(out, out_all)          # the option really changes what is quantized


def test_kl_study_and_kl_nats_on_a_hand_computed_example():
    """Two positions, vocabulary 4, top-2. Position 0: reference logits (2, 1, 0, -1), quantized (1, 1, 0, 5);
    position 1 identical logits (KL 0). The study (cal_kl_ppl.py) takes the reference's top-2 ids {0, 1},
    re-normalizes both sides over them, P = (e, 1)/(e + 1), Q = (1/2, 1/2) (the quantized logit 5 at id 3 is
    outside the top-k and ignored), and F.kl_div's mean reduction divides the sum by 2 positions x 2 ids."""
    import math
    ref = torch.tensor([[[2.0, 1.0, 0.0, -1.0], [0.3, -0.2, 0.1, 0.0]]])
    q = torch.tensor([[[1.0, 1.0, 0.0, 5.0], [0.3, -0.2, 0.1, 0.0]]])
    p = math.e / (math.e + 1)
    kl_top2 = p * math.log(p / 0.5) + (1 - p) * math.log((1 - p) / 0.5)
    assert lm.kl_study(ref, q, topk=2) == pytest.approx(kl_top2 / (2 * 2) * 1e6, rel=1e-12)
    # full-vocabulary KL in nats, mean over the 2 positions
    zr = sum(math.exp(v) for v in (2, 1, 0, -1))
    zq = sum(math.exp(v) for v in (1, 1, 0, 5))
    full = sum(math.exp(a) / zr * ((a - math.log(zr)) - (b - math.log(zq))) for a, b in zip((2, 1, 0, -1), (1, 1, 0, 5)))
    assert lm.kl_nats(ref, q) == pytest.approx(full / 2, rel=1e-12)
    # top-k = the whole vocabulary: the study's number is the full KL / vocabulary size, x 1e6
    assert lm.kl_study(ref, q, topk=4) == pytest.approx(full / 2 / 4 * 1e6, rel=1e-12)
    with pytest.raises(ValueError, match="topk must be in 1..4"):
        lm.kl_study(ref, q, topk=5)


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
    assert seen == ["mxint8_asym"] * (4 * SMALL.n_layers * 10)        # the 4 linear layers (the study's choice)
    seen.clear()
    lm.train_lm(model, tokens, steps=2, batch=8, log_every=1, mm=make_mm("mxint8"), quantize_attention=True)
    assert seen == ["mxint8"] * (6 * SMALL.n_layers * 2)


def test_config_validation():
    with pytest.raises(ValueError, match="multiple of n_heads"):
        lm.TinyLMConfig(d_model=66, n_heads=4)
