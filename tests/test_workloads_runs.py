"""Every registered workload runs end to end (small options) and returns the documented columns."""
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from intfp.models.workloads import tiny_lm
from intfp.models.workloads.runner import run_workload, workload_names

torch.set_num_threads(1)

SMALL = {
    "hla": dict(n=64, heads=1, serial=False),
    "rope": dict(text_len=30, image_hw=4, video_thw=(2, 4, 4), heads=2, kv_heads=1),
    "llm_tensors": dict(tokens=32, d_in=128, d_out=32),
    "tiny_lm": dict(train_steps=10, batch=8),
    "lm_train": dict(steps=4, batch=4, grad_batches=1),
    "dmd": dict(teacher_steps=10, dmd_iters=1, batch=32, samples=128),
    "bob": dict(n_test=200, steps=30),
    "value_drift": dict(train_steps=10, prompts_per_topic=4, n_boot=20),
}
EXTRA = {"hla": "ahla_rel_err", "rope": "attn_kl", "llm_tensors": "act_crest", "tiny_lm": "kl_study",
         "lm_train": "grad_bias", "dmd": "dmd_grad_cos", "bob": "acc_bob_marg", "value_drift": "drift_max"}


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("INTFP_CACHE_DIR", str(tmp_path / "cache"))


def test_every_workload_is_covered():
    assert sorted(SMALL) == workload_names()


@pytest.mark.parametrize("name", sorted(SMALL))
def test_workload_runs_and_its_streams_feed_the_energy_flow(name, tmp_path):
    """Every workload runs, and its recorded operand streams load through the energy flow's public reader
    (`intfp.analysis.operands.load_stream`, what `intfp energy --stream FILE` replays) for an MX and an NV format:
    uint8 codes of one block per row, one scale code per row, from a GEMM the workload ran."""
    from intfp.analysis.operands import load_stream
    path = tmp_path / f"{name}.npz"
    df = run_workload(name, ["mxint8", "nvfp4"], progress=False, record=path, **SMALL[name])
    assert list(df.format) == ["mxint8", "nvfp4"]
    assert {"qsnr_db", "rel_err", "macs", "gemms", EXTRA[name]} <= set(df.columns)
    assert (df.macs > 0).all() and df.qsnr_db.notna().all()
    for fmt, k, row in (("mxint8", 32, 0), ("nvfp4", 16, 1)):
        s = load_stream(path, fmt)
        n = s["a_codes"].shape[0]
        assert n > 0 and s["a_codes"].shape == s["b_codes"].shape == (n, k)
        assert s["a_codes"].dtype == s["a_scales"].dtype == np.uint8 and s["a_scales"].shape == (n,)
        assert s["name"] in df.gemms[row]                    # a GEMM this workload really ran
        assert len(np.unique(s["a_codes"])) > 2              # real data, not an empty placeholder


def test_rope_variants():
    small = {**SMALL["rope"], "heads": 8, "kv_heads": 8}      # MHRoPE's default split needs 2 + 3 + 3 KV heads
    for variant in ("rope", "mrope", "mhrope"):
        df = run_workload("rope", ["mxfp8"], progress=False, variant=variant, **small)
        assert df.qsnr_db[0] > 15
    with pytest.raises(ValueError, match="unknown RoPE variant"):
        run_workload("rope", ["mxfp8"], progress=False, variant="nope")


def test_pretrained_lm_is_cached_on_disk(tmp_path):
    tiny_lm._PRETRAINED.clear()
    model, _, curve = tiny_lm.pretrained(0, steps=3)
    files = list((tmp_path / "cache" / "tiny_lm").glob("tiny_lm-*.pt"))
    assert len(files) == 1
    tiny_lm._PRETRAINED.clear()
    again, _, curve2 = tiny_lm.pretrained(0, steps=3)
    assert curve2 == curve and all(torch.equal(a, b) for a, b in zip(model.parameters(), again.parameters()))


def test_cli_markdown_and_list():
    from intfp.cli import main
    r = CliRunner().invoke(main, ["workload", "--list"])
    assert r.exit_code == 0 and "value_drift" in r.output
    r = CliRunner().invoke(main, ["workload", "llm_tensors", "-f", "mxint8", "--markdown", "-o", "tokens=32",
                                  "-o", "d_in=128", "-o", "d_out=32"])
    assert r.exit_code == 0 and r.output.startswith("| format | hadamard | scale_rule | qsnr_db")
    r = CliRunner().invoke(main, ["workload", "llm_tensors", "-f", "mxint8", "-o", "tokens"])
    assert r.exit_code != 0 and "key=value" in r.output


def test_rope_angle_precision_at_large_positions():
    small = {**SMALL["rope"], "offset": 100_000}
    q = {a: run_workload("rope", ["mxint8"], progress=False, angles=a, **small).score_qsnr_db[0]
         for a in ("fp64", "fp32", "bf16")}
    assert abs(q["fp32"] - q["fp64"]) < 1.0 and q["bf16"] < q["fp64"] - 20     # bf16 angles at 1e5 are garbage
    with pytest.raises(ValueError, match="angles must be one of"):
        run_workload("rope", ["mxint8"], progress=False, angles="fp8", **SMALL["rope"])
