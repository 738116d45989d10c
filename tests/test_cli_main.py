"""The `intfp` CLI's own commands and the main job (small settings)."""
import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from intfp.cli import main


def invoke(*args):
    r = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.stdout


def test_help_lists_commands():
    out = invoke("--help")
    for cmd in ("formats", "qsnr", "run", "rtl", "synth", "energy", "workload"):
        assert cmd in out


def test_formats_json():
    rows = json.loads(invoke("formats", "--json"))
    by = {r["format"]: r for r in rows}
    assert len(rows) == 10 and by["mxfp8_e4m3"]["aliases"] == ["mxfp8"]
    assert by["nvint4"]["scale"] == "e4m3" and by["nvint4"]["block_size"] == 16
    assert by["mxint8"]["max"] == 127 / 64


def test_qsnr_json_shows_the_studys_trends():
    rows = pd.DataFrame(json.loads(invoke("qsnr", "--formats", "mxint8,mxfp8,nvint4,nvfp4",
                                          "--blocks", "512", "--json")))
    g = rows.set_index(["format", "distribution", "hadamard"])["qsnr_db"]
    # MXINT8 beats MXFP8 at the crest factors of real blocks (Fig. 4: INT wins 100 %).
    assert g["mxint8", "gaussian", False] > g["mxfp8_e4m3", "gaussian", False] + 5
    # Rotation helps NVINT4 on heavy tails and NVINT4 then beats NVFP4 (section 5.1).
    assert g["nvint4", "t3", True] > g["nvint4", "t3", False]
    assert g["nvint4", "t3", True] > g["nvfp4", "t3", True]
    # Measurement tracks the theory within 1.5 dB on Gaussian blocks.
    gauss = rows[rows["distribution"] == "gaussian"]
    assert (gauss["qsnr_db"] - gauss["theory_db"]).abs().max() < 1.5


def test_main_job_end_to_end_quick_and_cached_rerun(tmp_path, monkeypatch):
    """`intfp run --quick`: every stage (QSNR study, workloads, verification, synthesis and
    energy) on a smoke-sized plan; a rerun comes from the cache."""
    monkeypatch.setenv("INTFP_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "out"
    first = invoke("run", "--quick", "--out", str(out), "--workers", "2")
    assert "computed" in first
    for name in ("report.html", "report.md", "qsnr.png", "crossovers.csv", "workloads.csv",
                 "verification.csv", "hardware_cost.csv", "table5.csv", "pareto.csv", "pareto.png",
                 "run.json", "verdict.csv", "verdict.png"):
        assert (out / name).stat().st_size > 0, name
    v = pd.read_csv(out / "verdict.csv")
    assert list(v.columns[:10]) == ["pair", "library", "stream", "int_arch", "fp_arch", "area_x",
                                    "energy_x", "clock_ns", "study_area_x", "study_energy_x"]
    assert set(v["stream"]) == {"gaussian", "heavy"} and v["met"].all()
    assert set(v["int_arch"]) <= {"twos", "signmag"} and (v["clock_ns"] > 0).all()
    # timed by default (liberty delays): the zero-delay verdict of the same run beside it
    assert v["zero_delay_energy_x"].notna().all()
    assert (v["zero_delay_energy_x"] != v["energy_x"]).all()
    timing = pd.read_csv(out / "timing.csv")
    assert set(timing["delay_model"]) == {"liberty"} and (timing["glitch_share"] > 0).all()
    assert (timing["timed_over_zero_delay"] > 1).all()
    assert "Timing: energy per MAC with glitches and without" in (out / "report.html").read_text()
    ver = pd.read_csv(out / "verification.csv")
    assert ver["passed"].all() and (ver["vectors"] > 0).all()
    hw = pd.read_csv(out / "hardware_cost.csv")
    tot = hw[hw["sub_block"] == "total"].set_index("format")
    assert (tot["area_um2"] > 0).all() and (tot["energy_pj"] > 0).all()
    t5 = pd.read_csv(out / "table5.csv").set_index("format")
    assert t5.loc["mxfp8_e4m3", "area_x"] == 1.0
    html = (out / "report.html").read_text()
    assert "synthesized Table 5" in html and '<img src="pareto.png"' in html
    # true provenance: library name and hash, tool versions, commit, per-stage seconds
    from intfp.analysis.liberty import file_sha256
    from intfp.analysis.yosys import default_liberty
    meta = json.loads((out / "run.json").read_text())
    assert meta["library"] == {"name": "intfp_generic45", "file": "intfp_generic45.lib",
                               "sha256": file_sha256(default_liberty())}
    assert meta["versions"]["yosys"].startswith("Yosys 0.70")
    assert meta["versions"]["iverilog"].startswith("Icarus Verilog")
    assert meta["plan"]["delay_model"] == "liberty"
    import subprocess
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                          cwd=Path(__file__).parent).stdout.strip()
    assert meta["git_commit"].split("+")[0] == head
    assert set(meta["stage_seconds"]) == {"qsnr", "workloads", "verify", "hardware"}
    assert all(v >= 0 for v in meta["stage_seconds"].values())
    assert sum(meta["stage_seconds"].values()) <= meta["seconds"]
    again = invoke("run", "--quick", "--out", str(out), "--workers", "2")
    assert "computed" not in again                      # every stage answered from the cache


def test_run_delay_model_zero_counts_no_glitches(tmp_path, monkeypatch):
    """`intfp run --delay-model zero`: the plan says so, no glitch energy, no timing table."""
    monkeypatch.setenv("INTFP_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "out"
    invoke("run", "--quick", "--stages", "hardware", "--delay-model", "zero", "--out", str(out),
           "--workers", "1")
    assert json.loads((out / "run.json").read_text())["plan"]["delay_model"] == "zero"
    hw = pd.read_csv(out / "hardware_all.csv")
    assert set(hw["delay_model"]) == {"zero"} and (hw["glitch_pj"].fillna(0) == 0).all()
    assert not (out / "timing.csv").exists()
    assert pd.read_csv(out / "verdict.csv")["zero_delay_energy_x"].isna().all()
    r = CliRunner().invoke(main, ["run", "--delay-model", "elmore"])
    assert r.exit_code != 0 and "'elmore' is not one of 'zero', 'unit', 'liberty'" in r.output


def test_run_rejects_unknown_stage():
    r = CliRunner().invoke(main, ["run", "--stages", "qsnr,synthesis"])
    assert r.exit_code != 0 and "unknown stage(s) synthesis; allowed: qsnr, workloads" in r.output


def test_report_rebuilds_from_out_and_explains_an_empty_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("INTFP_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "out"
    invoke("run", "--quick", "--stages", "qsnr", "--out", str(out))
    (out / "report.html").unlink()
    assert "wrote" in invoke("report", "--out", str(out))
    assert "qsnr.png" in (out / "report.html").read_text()
    r = CliRunner().invoke(main, ["report", "--out", str(tmp_path / "nothing")])
    assert r.exit_code != 0 and "run `intfp run --out" in r.output
