"""The block-scale rule reaches every quantized-GEMM path: qmatmul forward and backward, the operand
recorder, run_workload and the CLI (`--scale-rule floor|ceil`). arXiv 2510.25602 eq. 8 (OCP floor) vs eq. 9
(the study's ceil, `--e8_scale_op ceil`)."""
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from intfp.models.workloads.qgemm import GemmRecorder, effective_scale_rule, make_mm, qmatmul
from intfp.models.workloads.runner import run_workload

torch.set_num_threads(1)

# One MXFP8 (E4M3) block with amax 1.9. floor: scale 2^(floor(log2 1.9) - 8) = 2^-8, 1.9 -> 486.4 saturates at
# 448 -> 1.75. ceil: scale 2^ceil(log2(1.9 / 448)) = 2^-7, 1.9 -> 243.2 -> E4M3 step 16 in [128, 256) -> 240 -> 1.875.
EXPECTED = {"floor": 1.75, "ceil": 1.875}


def _a():
    a = torch.zeros(1, 32)
    a[0, 0] = 1.9
    return a


@pytest.mark.parametrize("rule", ["floor", "ceil"])
def test_forward_uses_the_scale_rule(rule):
    out = qmatmul(_a(), torch.eye(32), "mxfp8", scale_rule=rule)
    assert out[0, 0].item() == EXPECTED[rule]
    default = qmatmul(_a(), torch.eye(32), "mxfp8")
    assert default[0, 0].item() == EXPECTED["floor"]          # the format's own rule: OCP floor


@pytest.mark.parametrize("rule", ["floor", "ceil"])
def test_backward_uses_the_scale_rule(rule):
    a = torch.zeros(1, 32, requires_grad=True)
    b = torch.eye(32)
    g = _a()                                                   # dC with amax 1.9: dA = Q(dC) Q(B^T)
    qmatmul(a, b, "mxfp8", scale_rule=rule).backward(g)
    assert a.grad[0, 0].item() == EXPECTED[rule]


def test_recorded_scale_codes_follow_the_rule():
    codes = {}
    for rule in ("floor", "ceil"):
        rec = GemmRecorder()
        make_mm("mxfp8", recorder=rec, scale_rule=rule)(_a(), torch.eye(32), "x")
        codes[rule] = int(rec.streams["x"].a_scales[0])
    assert codes == {"floor": 127 - 8, "ceil": 127 - 7}


def test_nv_formats_keep_their_rule_and_bad_rules_are_rejected():
    assert effective_scale_rule("nvfp4", "ceil") == "nv"
    assert effective_scale_rule("mxint8", "ceil") == "ceil"
    assert effective_scale_rule("mxint8") == "floor" and effective_scale_rule("bf16", "ceil") == "none"
    x = torch.randn(4, 32)
    assert torch.equal(qmatmul(x, x.T.contiguous(), "nvfp4", scale_rule="ceil"), qmatmul(x, x.T.contiguous(), "nvfp4"))
    with pytest.raises(ValueError, match="scale_rule 'round' is not allowed; allowed: floor, ceil"):
        qmatmul(x, x.T.contiguous(), "mxint8", scale_rule="round")
    with pytest.raises(ValueError, match="allowed: floor, ceil"):
        run_workload("llm_tensors", ["mxint8"], scale_rule="rceil", tokens=32, d_in=128, d_out=32)


def test_run_workload_and_cli_report_the_rule():
    opts = dict(tokens=32, d_in=128, d_out=32)
    df = {r: run_workload("llm_tensors", ["mxfp8", "nvfp4"], scale_rule=r, progress=False, **opts)
          for r in (None, "ceil")}
    assert list(df["ceil"].scale_rule) == ["ceil", "nv"] and list(df[None].scale_rule) == ["floor", "nv"]
    assert df["ceil"].qsnr_db[0] != df[None].qsnr_db[0]         # MXFP8 changed...
    assert df["ceil"].qsnr_db[1] == df[None].qsnr_db[1]         # ...NVFP4 did not
    from intfp.cli import main
    r = CliRunner().invoke(main, ["workload", "llm_tensors", "-f", "mxint8", "--scale-rule", "ceil", "--markdown",
                                  *sum((["-o", f"{k}={v}"] for k, v in opts.items()), [])])
    assert r.exit_code == 0, r.output
    assert "| scale_rule |" in r.output.splitlines()[0] and "| ceil |" in r.output
    r = CliRunner().invoke(main, ["workload", "llm_tensors", "--scale-rule", "round"])
    assert r.exit_code != 0 and "floor" in r.output and "ceil" in r.output
