"""The study's three experiments as commands (study-kl, study-train, study-clip): small settings, the
structure of their reports, and the -128 facts pinned on hand-computed blocks."""
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from intfp.models import quantize_codes
from intfp.models.workloads import study

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("INTFP_CACHE_DIR", str(tmp_path / "cache"))


def test_where_code_minus_128_can_occur():
    """One MXINT8 block, minimum -1.995. floor (OCP): scale 2^(floor(log2 1.995) - 6) = 2^-6, -1.995 * 64 =
    -127.68 -> -128: code 0x80 with [-128, 127], clamped to -127 (0x81) with [-127, 127]. ceil (the study's):
    scale 2^ceil(log2(1.995 / 127)) = 2^-5, -1.995 * 32 = -63.84 -> -64: never -128."""
    x = torch.zeros(1, 32)
    x[0, 0] = -1.995
    code = {(f, r): int(quantize_codes(x, f, scale_rule=r).codes.ravel()[0]) for f in ("mxint8", "mxint8_asym")
            for r in ("floor", "ceil")}
    assert code == {("mxint8", "floor"): 0x81, ("mxint8_asym", "floor"): 0x80,
                    ("mxint8", "ceil"): 0xC0, ("mxint8_asym", "ceil"): 0xC0}
    g = torch.randn(4096, 32, generator=torch.Generator().manual_seed(1))
    assert study.neg128_fraction(g, "mxint8_asym", "ceil") == 0 == study.neg128_fraction(g, "mxint8", "floor")
    assert study.neg128_fraction(g, "mxint8_asym", "floor") > 0


def test_study_clip_small():
    tables, text = study.study_clip(train_steps=10, grad_batches=2, batch=4, n_gauss=1 << 14)
    df = tables["formats"].set_index(["scale_rule", "range"])
    ceil_sym, ceil_asym = df.loc[("ceil", "[-127, 127]")], df.loc[("ceil", "[-128, 127]")]
    assert ceil_asym.grad_bias == ceil_sym.grad_bias and ceil_asym.neg128_frac_lm_fwd == 0     # bit-identical
    assert tables["asym_minus_sym"]["ceil"] == [0.0, 0.0]
    assert df.loc[("floor", "[-127, 127]")].neg128_frac_gauss == 0
    assert "Table 10" in text and "| scale_rule | range |" in text


def test_study_kl_small():
    tables, text = study.study_kl(train_steps=10, batch=8)
    per, pairs = tables["formats"], tables["pairs"]
    assert list(per.scale_rule) == ["ceil"] * 6 + ["nv"] * 2
    assert len(pairs) == 8 and (per.kl_study > 0).all() and (per.kl_study_rht > 0).all()
    row = pairs[(pairs.pair == "nvint4 vs nvfp4") & pairs.rht].iloc[0]
    assert row.study_winner == "INT" and row.study_int_fp_wins == "12/0"
    assert row.agree == (row.our_winner == "INT") and (row.our_winner == "INT") == (row.kl_int < row.kl_fp)
    assert f"Agreement: {int(pairs.agree.sum())} of 8" in text


def test_study_train_small():
    tables, text = study.study_train(steps=4, batch=4, noise_seeds=1, log_every=2, eval_batch=8)
    df = tables["formats"].set_index("format")
    assert list(df.index) == ["bf16", "mxfp8", "mxint8"] and len(tables["bf16_seed_losses"]) == 2
    std = float(np.std(tables["bf16_seed_losses"], ddof=1))
    for f in ("mxfp8", "mxint8"):
        assert df.loc[f, "separates"] == (abs(df.loc[f, "gap_vs_bf16"]) > 2 * std)
        assert len(df.loc[f, "loss_curve"]) == 2
    assert df.loc["bf16", "gap_vs_bf16"] == 0 and "Table 4" in text


def test_study_cli():
    from intfp.cli import main
    r = CliRunner().invoke(main, ["workload", "study-kl", "-o", "train_steps=10", "-o", "batch=8"])
    assert r.exit_code == 0, r.output
    assert "Agreement:" in r.output and "| pair | rht |" in r.output
    r = CliRunner().invoke(main, ["workload", "study-clip", "-o", "steps=3"])
    assert r.exit_code != 0 and "no option(s) steps" in r.output and "grad_batches" in r.output
    r = CliRunner().invoke(main, ["workload", "study-train", "-o", "steps=2.5"])
    assert r.exit_code != 0 and "expected int" in r.output
    r = CliRunner().invoke(main, ["workload", "--list"])
    assert "study-kl" in r.output and "study-clip" in r.output
