"""LLM-like tensors and the crest-factor sweep (arXiv 2510.25602 section 4)."""
import pytest
import torch

from intfp.models.metrics import mean_crest_factor
from intfp.models.workloads import tensors

torch.set_num_threads(1)


def test_crest_sweep_reproduces_the_int_fp_crossover():
    df = tensors.crest_sweep(["mxint8", "mxfp8", "mxint4", "mxfp4"], kappas=(2, 4, 16), nblocks=256)
    q = df.pivot(index="kappa", columns="format", values="qsnr_bulk_db")
    # INT loses ~6 dB per doubling of kappa, FP8 barely moves: INT wins at small kappa, FP at large
    assert q.loc[2, "mxint8"] > q.loc[2, "mxfp8_e4m3"] and q.loc[16, "mxint8"] < q.loc[16, "mxfp8_e4m3"]
    assert q.loc[2, "mxint8"] - q.loc[16, "mxint8"] > 12
    assert abs(q.loc[2, "mxfp8_e4m3"] - q.loc[16, "mxfp8_e4m3"]) < 1.5
    assert q.loc[4, "mxint4"] > q.loc[16, "mxint4"]


def test_blocks_with_crest_control():
    x, pos = tensors.blocks_with_crest(100, 32, 8.0, seed=1, return_positions=True)
    assert torch.equal(x.abs()[torch.arange(100), pos], torch.full((100,), 8.0, dtype=torch.float64))
    assert mean_crest_factor(x.numpy(), 32) > mean_crest_factor(tensors.blocks_with_crest(100, 32, 3.0).numpy(), 32)


def test_outlier_scale_is_a_crest_factor_knob():
    kappa = [mean_crest_factor(tensors.llm_activations(64, 512, outlier_scale=s).numpy(), 32) for s in (1, 10, 50)]
    assert kappa[0] < kappa[1] < kappa[2]
    w = tensors.llm_weights(256, 64)
    assert 0.5 < float(w.std() * 256 ** 0.5) < 2.0


def test_hadamard_lowers_the_crest_factor_of_outlier_activations():
    from intfp.models.workloads.runner import run_workload
    kw = dict(tokens=64, d_in=256, d_out=64, progress=False)
    plain = run_workload("llm_tensors", ["mxint4"], **kw)
    rot = run_workload("llm_tensors", ["mxint4"], hadamard=True, **kw)
    assert rot.act_crest[0] < plain.act_crest[0] and rot.qsnr_db[0] > plain.qsnr_db[0]


def test_bad_inputs():
    with pytest.raises(ValueError, match="outlier_frac"):
        tensors.llm_activations(4, 32, outlier_frac=2.0)
    with pytest.raises(ValueError, match="kappa must be positive"):
        tensors.blocks_with_crest(4, 32, -1.0)
    with pytest.raises(ValueError, match="needs block formats"):
        tensors.crest_sweep(["fp32"], kappas=(2,), nblocks=8)


def test_hadamard_rescues_int_at_high_crest():
    kw = dict(kappas=(16,), nblocks=128)
    plain = tensors.crest_sweep(["mxint8", "mxfp8"], **kw).set_index("format")
    rot = tensors.crest_sweep(["mxint8", "mxfp8"], hadamard=True, **kw).set_index("format")
    assert rot.crest_measured["mxint8"] < plain.crest_measured["mxint8"]
    assert rot.qsnr_bulk_db["mxint8"] > plain.qsnr_bulk_db["mxint8"] + 6
    assert rot.qsnr_bulk_db["mxint8"] > rot.qsnr_bulk_db["mxfp8_e4m3"]
