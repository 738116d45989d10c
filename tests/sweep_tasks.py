"""Task functions for tests/test_sweep.py (imported by Dask worker processes by module path)."""
import os
from pathlib import Path


def square(x: int, calls_dir: str | None = None) -> dict:
    """x^2; records each call as a file so tests can count real executions."""
    if calls_dir:
        Path(calls_dir, f"{x}-{os.getpid()}-{os.urandom(4).hex()}").touch()
    return {"x": x, "y": x * x}


def die_once(x: int, marker: str) -> dict:
    """Kills its worker process the first time it runs (a crashed worker); succeeds on retry."""
    m = Path(marker)
    if not m.exists():
        m.touch()
        os._exit(1)
    return {"x": x, "y": x * x}


def fail_on(x: int, bad: int) -> dict:
    if x == bad:
        raise ValueError(f"x = {x} is bad")
    return {"x": x, "y": x * x}


def slow_square(x: int, delay: float, calls_dir: str, started_dir: str | None = None) -> dict:
    """x^2 after ``delay`` seconds (for interruption tests); records each completed call, and
    each start in ``started_dir`` (so a test can wait for an event instead of a time)."""
    import time
    if started_dir:
        Path(started_dir, str(x)).touch()
    time.sleep(delay)
    Path(calls_dir, f"{x}-{os.getpid()}-{os.urandom(4).hex()}").touch()
    return {"x": x, "y": x * x}
