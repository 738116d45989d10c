"""Sweeps on Dask: caching, LocalCluster, an external scheduler, retries, failures, corruption."""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from intfp.cache import cache_dir, cache_get, cache_put
from intfp.sweep import SweepError, make_task, run_sweep

TESTS = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("INTFP_CACHE_DIR", str(tmp_path / "cache"))
    # Dask worker processes import the task functions from this folder.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.syspath_prepend(str(TESTS))


def calls(d: Path) -> int:
    return len(list(d.iterdir()))


def square_tasks(xs, calls_dir):
    return [make_task("sweep_tasks:square", {"x": x, "calls_dir": str(calls_dir)}) for x in xs]


def test_sync_sweep_caches(tmp_path):
    d = tmp_path / "calls"
    d.mkdir()
    res = run_sweep(square_tasks(range(5), d), scheduler="sync", progress=False)
    assert [r["y"] for r in res] == [0, 1, 4, 9, 16] and calls(d) == 5
    assert run_sweep(square_tasks(range(6), d), scheduler="sync", progress=False)[5]["y"] == 25
    assert calls(d) == 6                                  # only the new task ran


def test_local_cluster_and_shared_cache(tmp_path):
    d = tmp_path / "calls"
    d.mkdir()
    res = run_sweep(square_tasks(range(8), d), n_workers=2, progress=False)
    assert [r["y"] for r in res] == [x * x for x in range(8)]
    pids = {p.name.split("-")[1] for p in d.iterdir()}
    assert str(os.getpid()) not in pids                   # ran in worker processes
    # The same sweep in this process now runs nothing: the cluster's results are reused.
    assert run_sweep(square_tasks(range(8), d), scheduler="sync", progress=False) == res
    assert calls(d) == 8


def test_killed_worker_is_retried(tmp_path):
    marker = tmp_path / "died"
    tasks = [make_task("sweep_tasks:die_once", {"x": 3, "marker": str(marker)})]
    assert run_sweep(tasks, n_workers=2, retries=2, progress=False)[0]["y"] == 9
    assert marker.exists()                                # the first attempt did die


def test_failure_keeps_finished_results(tmp_path):
    tasks = [make_task("sweep_tasks:fail_on", {"x": x, "bad": 2}) for x in range(4)]
    with pytest.raises(SweepError, match="x = 2 is bad"):
        run_sweep(tasks, scheduler="sync", progress=False)
    assert [cache_get(t.kind, t.key) is not None for t in tasks] == [True, True, False, True]


def test_damaged_entry_is_recomputed(tmp_path):
    d = tmp_path / "calls"
    d.mkdir()
    tasks = square_tasks([7], d)
    run_sweep(tasks, scheduler="sync", progress=False)
    entry = next((cache_dir() / tasks[0].kind).rglob("*.json"))
    env = json.loads(entry.read_text())
    env["value"]["y"] = 50                                 # wrong value, stale checksum
    entry.write_text(json.dumps(env))
    assert run_sweep(tasks, scheduler="sync", progress=False)[0]["y"] == 49
    entry.write_text(entry.read_text()[:20])               # truncated
    assert run_sweep(tasks, scheduler="sync", progress=False)[0]["y"] == 49
    assert calls(d) == 3


def test_cache_put_is_atomic_and_checked():
    cache_put("unit", "ab" * 32, {"a": [1, 2.5]})
    assert cache_get("unit", "ab" * 32) == {"a": [1, 2.5]}
    assert not list((cache_dir() / "unit").rglob("*.tmp"))
    with pytest.raises(ValueError, match="plain name"):
        cache_get("../x", "ab" * 32)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_external_scheduler_on_loopback(tmp_path):
    dask = shutil.which("dask", path=str(Path(sys.executable).parent))
    assert dask, "the dask CLI comes with dask[distributed]"
    port = _free_port()
    addr = f"tcp://127.0.0.1:{port}"
    env = dict(os.environ)
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        time.sleep(1.0)
        procs.append(subprocess.Popen([dask, "worker", addr, "--nthreads", "1", "--no-dashboard"],
                                      env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        d = tmp_path / "calls"
        d.mkdir()
        res = run_sweep(square_tasks(range(4), d), scheduler=addr, progress=False)
        assert [r["y"] for r in res] == [0, 1, 4, 9] and calls(d) == 4
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)


_INTERRUPTED_SWEEP = """
import sys
sys.path.insert(0, {tests!r})
from intfp.sweep import make_task, run_sweep
tasks = [make_task("sweep_tasks:slow_square", {{"x": x, "delay": 0.1 if x < 3 else 600.0,
                                              "calls_dir": {calls!r}, "started_dir": {started!r}}})
         for x in range(6)]
run_sweep(tasks, scheduler="sync", progress=False)
"""


def test_ctrl_c_keeps_finished_results_and_rerun_does_only_the_rest(tmp_path):
    """Interrupt a sweep with SIGINT (Ctrl-C) while a long task runs: the finished tasks'
    results are in the cache, no half-written entry exists, and a rerun computes only the
    tasks that had not finished.

    Synchronized on events, not on time (an earlier version slept 0.3 s and gave the child
    30 s, which a loaded machine can exceed): the signal is sent once task 3 has *started*,
    which the sync scheduler does only after storing tasks 0-2; task 3 would then run 600 s,
    so an exit at all proves the interrupt was acted on."""
    import signal
    calls, started = tmp_path / "calls", tmp_path / "started"
    calls.mkdir()
    started.mkdir()
    code = _INTERRUPTED_SWEEP.format(tests=str(TESTS), calls=str(calls), started=str(started))
    p = subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ),
                         stderr=subprocess.PIPE, text=True)
    try:
        while not (started / "3").exists():
            assert p.poll() is None, f"the sweep ended early: {p.stderr.read()[-2000:]}"
            time.sleep(0.05)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=300)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode != 0 and "KeyboardInterrupt" in err   # interrupted, not finished
    assert sorted(int(f.name.split("-")[0]) for f in calls.iterdir()) == [0, 1, 2]
    assert not list(cache_dir().rglob("*.tmp"))          # nothing half-written
    done = [make_task("sweep_tasks:slow_square", {"x": x, "delay": 0.1, "calls_dir": str(calls),
                                                  "started_dir": str(started)})
            for x in range(3)]
    assert all(cache_get(t.kind, t.key) == {"x": t.params["x"], "y": t.params["x"] ** 2} for t in done)
    # Rerun: the finished tasks come from the cache; the unfinished ones (now quick) run.
    rerun = done + [make_task("sweep_tasks:slow_square", {"x": x, "delay": 0.0, "calls_dir": str(calls)})
                    for x in range(3, 6)]
    res = run_sweep(rerun, scheduler="sync", progress=False)
    assert [r["y"] for r in res] == [x * x for x in range(6)]
    assert len(list(calls.iterdir())) == 6                # only x = 3, 4, 5 ran again
