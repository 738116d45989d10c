"""Bad input gets one clear line naming the bad value and what is allowed, before long work
starts; never a traceback, never a hang (issue "No silent wrong results", item 3)."""
import socket

import pytest
from click.testing import CliRunner

from intfp.cli import main


def run(*args, **env):
    r = CliRunner().invoke(main, list(args), env=env or None)
    return r


def fails_with(r, *fragments):
    assert r.exit_code not in (0, None), r.output
    # a clean click error, not an uncaught exception with a traceback
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output
    for f in fragments:
        assert f in r.output, (f, r.output)


@pytest.fixture(autouse=True)
def _no_sweep(monkeypatch, tmp_path):
    """Every case here must be rejected before any synthesis or simulation starts."""
    import intfp.sweep
    monkeypatch.setenv("INTFP_CACHE_DIR", str(tmp_path / "cache"))

    def started(*a, **k):
        raise AssertionError("work started before the input was validated")
    monkeypatch.setattr(intfp.sweep, "run_sweep", started)


def test_qsnr_unknown_format():
    fails_with(run("qsnr", "--formats", "foobar", "--blocks", "8"), "unknown format 'foobar'", "allowed:")


def test_qsnr_zero_blocks():
    fails_with(run("qsnr", "--blocks", "0"), "--blocks", "0 is not allowed", ">= 1")


def test_synth_negative_workers():
    fails_with(run("synth", "-f", "mac8", "-j", "-2", "--no-energy"), "worker count -2", ">= 1")


def test_run_negative_workers(tmp_path):
    fails_with(run("run", "--quick", "--workers", "-2", "--out", str(tmp_path / "o")),
               "worker count -2")


def test_synth_absurd_lane_count():
    fails_with(run("synth", "-f", "mxint4", "--lanes", "1048576", "--no-energy"),
               "lanes must be a power of two from 1 to 256", "1048576")


def test_synth_unknown_format():
    fails_with(run("synth", "-f", "mxint5", "--no-energy"), "unknown fmt 'mxint5'", "allowed:")


def test_synth_bad_out_is_rejected_before_the_sweep(tmp_path):
    f = tmp_path / "a-file"
    f.write_text("x")
    fails_with(run("synth", "-f", "mac8", "--no-energy", "--out", str(f / "sub")), "--out", "a-file")


def test_qsnr_bad_out(tmp_path):
    f = tmp_path / "a-file"
    f.write_text("x")
    fails_with(run("qsnr", "--blocks", "8", "--out", str(f / "sub")), "--out")


def test_run_bad_out(tmp_path):
    f = tmp_path / "a-file"
    f.write_text("x")
    fails_with(run("run", "--quick", "--out", str(f / "sub")), "--out")


def test_scheduler_without_scheme():
    fails_with(run("synth", "-f", "mac8", "--no-energy", "--scheduler", "localhost"),
               "scheduler address 'localhost'", "tcp://HOST:PORT")


def test_unreachable_scheduler(monkeypatch):
    import intfp.sweep
    monkeypatch.undo()                              # this one must reach run_sweep
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()                                       # nothing listens there now
    monkeypatch.setenv("INTFP_SCHEDULER_TIMEOUT", "2s")
    monkeypatch.setattr(intfp.sweep, "make_task", intfp.sweep.make_task)
    fails_with(run("synth", "-f", "mac8,tinydot", "--no-energy", "--no-cache",
                   "--scheduler", f"tcp://127.0.0.1:{port}"),
               "cannot reach the Dask scheduler", f"127.0.0.1:{port}")


def test_cache_dir_that_is_a_file(tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    fails_with(run("synth", "-f", "mac8", "--no-energy", INTFP_CACHE_DIR=str(f)),
               "not a directory", "INTFP_CACHE_DIR")


def test_bad_windows_list():
    fails_with(run("synth", "-f", "mxfp8", "--windows", "16,x", "--no-energy"), "--windows")
