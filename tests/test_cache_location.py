"""Where the result cache lives (issue 16): one per user in the platform's user cache folder
(platformdirs), ``INTFP_CACHE_DIR`` overrides it and ``off`` disables it; ``--no-cache`` writes
nothing anywhere; ``intfp cache info|clear``."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import platformdirs
import pytest
from click.testing import CliRunner

from intfp.cache import CacheError, cache_clear, cache_dir, cache_enabled, cache_info, cache_put
from intfp.cli import main

INTFP = Path(sys.executable).with_name("intfp")


def test_default_is_the_user_cache_folder_whatever_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("INTFP_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    want = Path(platformdirs.user_cache_dir("intfp", appauthor=False))
    assert want == tmp_path / "xdg" / "intfp"                  # Linux: $XDG_CACHE_HOME/intfp
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        monkeypatch.chdir(tmp_path / d)
        assert cache_dir() == want and cache_enabled()
    monkeypatch.setenv("INTFP_CACHE_DIR", "")                    # empty: the default too
    assert cache_dir() == want


def test_override_and_off(tmp_path, monkeypatch):
    monkeypatch.setenv("INTFP_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine" and cache_enabled()
    for off in ("off", "OFF", " off "):
        monkeypatch.setenv("INTFP_CACHE_DIR", off)
        assert not cache_enabled()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    cache_put("k", "ab" * 32, {"v": 1})
    assert not any(tmp_path.rglob("*.json"))                     # off: nothing written


def test_liberty_parse_cache_respects_off(tmp_path, monkeypatch):
    from intfp.analysis import liberty
    lib = tmp_path / "tiny.lib"
    lib.write_text('library (tiny) { nom_voltage : 1.1; time_unit : "1ns"; '
                   'capacitive_load_unit (1, pf); cell (INV) { area : 1.0; '
                   'pin (A) { direction : input; capacitance : 0.001; } '
                   'pin (Y) { direction : output; function : "!A"; } } }\n')
    monkeypatch.setenv("INTFP_CACHE_DIR", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert liberty.read_liberty(lib).cell("INV").area == 1.0
    assert not (tmp_path / "xdg").exists()
    liberty._MEMO.clear()
    monkeypatch.setenv("INTFP_CACHE_DIR", str(tmp_path / "c"))
    liberty.read_liberty(lib)
    assert len(list((tmp_path / "c" / "liberty").glob("*.pkl"))) == 1   # on: the parse is kept
    liberty._MEMO.clear()


def test_info_and_clear(tmp_path, monkeypatch):
    monkeypatch.setenv("INTFP_CACHE_DIR", str(tmp_path / "c"))
    assert cache_info()["exists"] is False and cache_info()["entries"] == 0
    cache_put("synth", "ab" * 32, {"v": 1})
    cache_put("synth", "cd" * 32, {"v": 2})
    cache_put("unit_cost", "ef" * 32, [1, 2, 3])
    files = list((tmp_path / "c").rglob("*.json"))
    i = cache_info()
    assert i["entries"] == 3 and i["bytes"] == sum(f.stat().st_size for f in files)
    assert i["kinds"]["synth"]["entries"] == 2 and i["kinds"]["unit_cost"]["entries"] == 1
    out = CliRunner().invoke(main, ["cache", "info"]).stdout
    assert str(tmp_path / "c") in out and "3 entries" in out and "synth" in out
    r = CliRunner().invoke(main, ["cache", "clear", "--kind", "nope"])
    assert r.exit_code != 0 and "'nope'" in r.output and "synth, unit_cost" in r.output
    r = CliRunner().invoke(main, ["cache", "clear", "--kind", "synth"])
    assert r.exit_code == 0 and "removed 2 entries (synth)" in r.stdout
    assert cache_info()["entries"] == 1
    size = sum(f.stat().st_size for f in (tmp_path / "c").rglob("*.json"))
    assert cache_clear() == {"entries": 1, "bytes": size}
    assert cache_info()["entries"] == 0 and (tmp_path / "c").is_dir()


def test_clear_refuses_a_folder_that_is_not_a_cache(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / "projects").mkdir(parents=True)
    (home / ".bashrc").write_text("x")
    monkeypatch.setenv("INTFP_CACHE_DIR", str(home))
    with pytest.raises(CacheError, match="does not look like an intfp cache"):
        cache_clear()
    r = CliRunner().invoke(main, ["cache", "clear"])
    assert r.exit_code != 0 and "INTFP_CACHE_DIR" in r.output
    assert (home / "projects").is_dir() and (home / ".bashrc").exists()


def _fresh_env(tmp_path):
    """A new user: HOME and XDG_CACHE_HOME in tmp_path, no INTFP_CACHE_DIR. Yosys' own compiled
    WebAssembly (YoWASP's cache, not intfp's) is reused from where it already is, so the test
    checks intfp's writes and costs seconds, not a recompilation."""
    env = {k: v for k, v in os.environ.items() if k != "INTFP_CACHE_DIR"}
    env["YOWASP_CACHE_DIR"] = os.environ.get(
        "YOWASP_CACHE_DIR", platformdirs.user_cache_dir("YoWASP", appauthor=False))
    env.update(HOME=str(tmp_path / "home"), XDG_CACHE_HOME=str(tmp_path / "home" / ".cache"),
               MPLCONFIGDIR=str(tmp_path / "mpl"))
    for d in ("home", "cwd", "mpl"):
        (tmp_path / d).mkdir()
    return env


def _files(*folders):
    return sorted(str(p) for f in folders for p in Path(f).rglob("*") if p.is_file())


def test_no_cache_writes_nothing_and_the_default_goes_to_the_user_cache(tmp_path):
    env = _fresh_env(tmp_path)
    cwd, home = tmp_path / "cwd", tmp_path / "home"
    cmd = [str(INTFP), "synth", "-f", "mac8", "--no-energy", "--format", "csv"]
    r = subprocess.run(cmd + ["--no-cache"], cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "total" in r.stdout
    assert _files(cwd, home) == []                       # nothing in the folder, nothing at home
    # the control: without --no-cache the results go to the user cache folder, not to cwd
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    written = _files(cwd, home)
    assert written and all(f.startswith(str(home / ".cache" / "intfp")) for f in written)
    kinds = {Path(f).relative_to(home / ".cache" / "intfp").parts[0] for f in written}
    assert {"liberty", "unit_cost"} <= kinds
    info = subprocess.run([str(INTFP), "cache", "info", "--json"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    import json
    assert json.loads(info.stdout)["entries"] == len(written)
    shutil.rmtree(home / ".cache" / "intfp")
