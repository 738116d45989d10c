"""`intfp rtl` commands (click's CliRunner; verify runs Icarus through cocotb)."""
import shutil

import pytest
from click.testing import CliRunner

from intfp.cli import main


def _run(*args):
    return CliRunner().invoke(main, ["rtl", *args], catch_exceptions=False)


def test_list_and_widths():
    r = _run("list")
    assert r.exit_code == 0 and r.stdout.split() == [
        "mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e2m3", "mxfp6_e3m2", "mxfp4_e2m1", "mxint8", "mxint6",
        "mxint4", "nvfp4", "nvint4"]
    assert "mx:e2m2/b16/ue8m0" in r.stderr                  # the grammar, said beside the list
    r = _run("widths")
    assert r.exit_code == 0 and "| mxfp8_e4m3 | e4m3 | 32 | 24 | 16 | 25 | 30 | 30 | -290 |" in r.output


def test_export_writes_verilog_with_named_ports(tmp_path):
    r = _run("export", "nvint4", "--lanes", "4", "-o", str(tmp_path))
    assert r.exit_code == 0, r.output
    text = (tmp_path / "nvint4_k4.v").read_text()
    assert "module nvint4_k4(" in text
    for port in ("input [15:0] a;", "input [7:0] a_scale;", "output [31:0] dot;", "output [31:0] acc;"):
        assert port in text
    r = _run("export", "int8", "--kind", "scalar", "-o", str(tmp_path))
    assert r.exit_code == 0 and (tmp_path / "mac_int8.v").exists()


@pytest.mark.parametrize("args, message", [
    (["export", "mxfp8", "--lanes", "24"], "lanes must be a power of two"),
    (["export", "mxfp8", "--window", "4"], "window must be an int >= 8"),
    (["export", "fp7"], "unknown fmt"),
    (["verify", "mxint8", "--window", "12"], "window applies to FP elements only"),
])
def test_bad_parameters_exit_2(args, message):
    r = CliRunner().invoke(main, ["rtl", *args])
    assert r.exit_code == 2 and message in r.output


def test_verify_passes_and_reports():
    from intfp.sim.runner import default_simulator

    sim = default_simulator()
    if sim == "icarus" and shutil.which("iverilog") is None:
        pytest.skip("needs Verilator >= 5.036 or Icarus Verilog")
    r = _run("verify", "nvint4", "--lanes", "4", "--blocks", "60", "--no-lanes")
    assert r.exit_code == 0, r.output
    assert r.output.startswith("PASS block_nvint4_k4: 60 vectors") and f"on {sim}" in r.output


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="needs Icarus Verilog")
def test_verify_on_icarus():
    r = _run("verify", "nvint4", "--lanes", "4", "--blocks", "60", "--no-lanes", "--simulator", "icarus")
    assert r.exit_code == 0, r.output
    assert r.output.startswith("PASS block_nvint4_k4: 60 vectors") and "on icarus" in r.output


def test_verify_rejects_an_unknown_simulator(monkeypatch):
    r = CliRunner().invoke(main, ["rtl", "verify", "nvint4", "--simulator", "modelsim"])
    assert r.exit_code == 2 and "modelsim" in r.output and "verilator" in r.output
    monkeypatch.setenv("INTFP_SIMULATOR", "xsim")
    r = CliRunner().invoke(main, ["rtl", "verify", "nvint4", "--lanes", "4", "--no-lanes"])
    assert r.exit_code == 2 and "unknown simulator 'xsim'" in r.output


def test_verify_exits_nonzero_on_mismatch(monkeypatch):
    import numpy as np

    from intfp.sim import checks
    from intfp.sim.runner import SimResult

    bad = SimResult("block_mxint4_k32", 10, 10, mismatches={"dot": np.array([3])}, cocotb_failed=1)
    monkeypatch.setattr(checks, "check_block", lambda *a, **k: bad)
    r = _run("verify", "mxint4", "--no-lanes")
    assert r.exit_code == 1 and "FAIL block_mxint4_k32" in r.output and "dot: 1 rows" in r.output


def test_export_names_each_variant_apart(tmp_path):
    """The exported file takes the unit spec's one module name: variants never overwrite each
    other (the earlier naming ignored the lane architecture and deeper pipelines)."""
    from click.testing import CliRunner

    from intfp.cli import main
    names = set()
    for extra in ([], ["--lane-arch", "booth"], ["--stages", "2"], ["--stages", "4"], ["--window", "16"]):
        fmt = "mxfp8_e4m3" if "--window" in extra else "mxint4"
        r = CliRunner().invoke(main, ["rtl", "export", fmt, "--lanes", "4", "-o", str(tmp_path), *extra])
        assert r.exit_code == 0, r.output
        names.add(r.output.split("wrote ")[1].split()[0])
    assert {n.rsplit("/", 1)[1] for n in names} == {"mxint4_k4.v", "mxint4_k4_booth.v", "mxint4_k4_p1.v",
                                                     "mxint4_k4_p3.v", "mxfp8_e4m3_k4_w16.v"}
    r = CliRunner().invoke(main, ["rtl", "export", "mxint4", "--lane-arch", "wallace"])
    assert r.exit_code == 2 and "wallace" in r.output
