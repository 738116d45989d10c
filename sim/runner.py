"""Build and run cocotb simulations of the units on Icarus Verilog (``cocotb_tools.runner``).

Builds are cached in ``build/sim/<top>-<hash>`` (or ``$INTFP_BUILD_DIR``), keyed by the unit's
parameters and the content of the RTL and model sources, so a rerun skips both the Verilog
export and the Icarus compile. Each run gets its own directory under the build.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .vectors import Vectors

__all__ = ["SimResult", "SimulatorError", "build_root", "build", "simulate", "TIMESCALE"]

TIMESCALE = ("1ns", "1ps")     # Amaranth's Verilog has no `timescale; cocotb's Clock needs one
_PKG = Path(__file__).resolve().parent
# What a build depends on (the CLI and tests are not part of the hardware).
_SOURCES = [_PKG.parent / "rtl" / f for f in ("components.py", "units.py", "mixed.py", "harness.py",
                                            "export.py")] + \
           [_PKG.parent / "models" / f for f in ("hwmodel.py", "formats.py")]


class SimulatorError(RuntimeError):
    """The simulator (or the Verilog export feeding it) failed: a tool fault, never a result.

    Raised instead of reporting mismatches when the simulator is missing, exits abnormally,
    or leaves no complete record of the streamed rows; the message ends with the tail of the
    tool's log so the cause is visible where the error is reported."""


def _tail(path, lines: int = 25) -> str:
    """The last ``lines`` lines of a log file (or why there are none)."""
    try:
        text = Path(path).read_text(errors="replace").rstrip().splitlines()
    except OSError as e:
        return f"(no log: {e})"
    if not text:
        return f"(log {path} is empty)"
    return f"last {min(lines, len(text))} lines of {path}:\n" + "\n".join(text[-lines:])


def build_root() -> Path:
    env = os.environ.get("INTFP_BUILD_DIR")
    if env:
        return Path(env)
    repo = _PKG.parent
    if (repo / "pyproject.toml").exists() and os.access(repo, os.W_OK):
        return repo / "build" / "sim"
    return Path(tempfile.gettempdir()) / "intfp-sim"


def _digest(key: str) -> str:
    import amaranth
    h = hashlib.sha256(key.encode())
    h.update(amaranth.__version__.encode())
    for path in _SOURCES:
        if path.exists():
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


@dataclass
class SimResult:
    """Outcome of one simulation: compared vectors and the rows where RTL != model."""

    name: str
    vectors: int
    rows: int
    mismatches: dict[str, np.ndarray] = field(default_factory=dict)
    outputs: dict[str, np.ndarray] = field(default_factory=dict)
    cocotb_failed: int = 0
    build_seconds: float = 0.0
    sim_seconds: float = 0.0
    log: Path | None = None
    coverage: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.cocotb_failed == 0 and not any(len(v) for v in self.mismatches.values())

    @property
    def vectors_per_second(self) -> float:
        return self.vectors / self.sim_seconds if self.sim_seconds else float("nan")

    def summary(self) -> str:
        status = "PASS" if self.passed else "FAIL"
        bad = ", ".join(f"{k}: {len(v)} rows" for k, v in self.mismatches.items() if len(v))
        cov = "".join(f"\n  {port} expected: " + ", ".join(f"{k} {v}" for k, v in c.items())
                      for port, c in self.coverage.items())
        return (f"{status} {self.name}: {self.vectors} vectors in {self.sim_seconds:.1f} s "
                f"({self.vectors_per_second:,.0f}/s)" + (f"; mismatches {bad}" if bad else "") + cov)


def build(factory, key: str, toplevel: str, *, flat: bool = True) -> tuple[Path, float]:
    """Export ``factory()`` to Verilog and compile it with Icarus, unless cached.

    ``flat``: simulate :func:`intfp.rtl.export.to_sim_verilog` (flattened, fast in Icarus);
    otherwise the hierarchical :func:`~intfp.rtl.export.to_verilog` text that ``intfp rtl
    export`` writes. Returns the build directory and the seconds spent (0 when cached).
    Raises :class:`SimulatorError` (with the build log's tail) when the compile fails; a
    failed build is not marked built, so the next call retries it.
    """
    from intfp.rtl.export import write_verilog

    d = build_root() / f"{toplevel}-{_digest(key + ('/flat' if flat else '/hier'))}"
    d.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(d / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)            # parallel workers building the same unit
        if not (d / "built.ok").exists():
            src = write_verilog(factory(), toplevel, d, flat=flat)
            log = d / "build.log"
            try:
                _runner("icarus").build(sources=[src], hdl_toplevel=toplevel, build_dir=d,
                                        timescale=TIMESCALE, always=True, log_file=log)
            except (RuntimeError, OSError, SystemExit) as e:
                raise SimulatorError(f"icarus: building {toplevel} failed ({_why(e)}); "
                                     + _tail(log)) from None
            (d / "built.ok").write_text(key + "\n")
            return d, time.perf_counter() - t0
    return d, 0.0


def _why(e: BaseException) -> str:
    if isinstance(e, SystemExit):
        return f"exit status {e.code}" if isinstance(e.code, int) else str(e.code)
    return f"{type(e).__name__}: {e}"


def _runner(simulator: str):
    """``cocotb_tools.runner.get_runner``; a missing simulator is a :class:`SimulatorError`
    (cocotb raises ``SystemExit`` for it, which would end a Dask worker)."""
    from cocotb_tools.runner import get_runner

    try:
        return get_runner(simulator)
    except SystemExit as e:
        raise SimulatorError(f"{simulator}: {e.code} (PATH={os.environ.get('PATH', '')})") from None


def simulate(vectors: Vectors, build_dir: Path, toplevel: str) -> SimResult:
    """Stream ``vectors`` through the built unit with :mod:`intfp.sim.tb_stream`.

    A result needs the simulator to have run the testbench to its end: one cocotb test
    recorded, every row's outputs sampled, and a failure only when the model's rows and the
    sampled ones differ. Anything else (simulator missing, crashed, exited early, testbench
    error) raises :class:`SimulatorError` with the simulation log's tail: a tool fault is never
    reported as mismatching rows (issue 10)."""
    from cocotb_tools.check_results import get_results

    from .tb_stream import Scoreboard

    run_dir = Path(build_dir) / "runs" / uuid.uuid4().hex[:12]
    run_dir.mkdir(parents=True)
    vec_path = vectors.save(run_dir / "vectors.npz")
    out_path = run_dir / "outputs.npz"
    results = run_dir / "results.xml"
    log = run_dir / "sim.log"
    where = f"icarus: simulating {toplevel} ({vectors.name})"
    exit_code = 0
    t0 = time.perf_counter()
    try:
        _runner("icarus").test(
            test_module="intfp.sim.tb_stream", hdl_toplevel=toplevel, hdl_toplevel_lang="verilog",
            build_dir=build_dir,
            test_dir=run_dir, results_xml=str(results), timescale=TIMESCALE, log_file=log,
            extra_env={"INTFP_VECTORS": str(vec_path), "INTFP_OUTPUTS": str(out_path)})
    except SystemExit as e:     # under pytest the runner exits on a failed test: judged below
        exit_code = e.code if isinstance(e.code, int) else 1
    except (RuntimeError, OSError) as e:    # simulator not found, or it exited abnormally
        raise SimulatorError(f"{where} failed ({_why(e)}); " + _tail(log)) from None
    seconds = time.perf_counter() - t0
    try:
        tests, failed = get_results(results)
    except (RuntimeError, OSError, ValueError) as e:
        raise SimulatorError(f"{where}: no test results ({e}); " + _tail(log)) from None
    if tests != 1:
        raise SimulatorError(f"{where}: expected 1 cocotb test, the results list {tests}; "
                             + _tail(log))
    try:
        outputs = dict(np.load(out_path))
    except (OSError, ValueError) as e:
        raise SimulatorError(f"{where}: the testbench recorded no outputs ({e}); "
                             + _tail(log)) from None
    short = [k for k in vectors.expect if k not in outputs or len(outputs[k]) != vectors.rows]
    if short:
        raise SimulatorError(f"{where}: outputs {short} do not hold all {vectors.rows} rows; "
                             + _tail(log))
    mismatches = Scoreboard(vectors.expect, vectors.mask).mismatches(outputs)
    bad = any(len(v) for v in mismatches.values())
    if failed and not bad:
        raise SimulatorError(f"{where}: the cocotb test failed although every sampled row "
                             "matches the model (a testbench or simulator error); " + _tail(log))
    if not failed and (bad or exit_code):
        raise SimulatorError(f"{where}: the cocotb test passed but "
                             + ("the host scoreboard found mismatches" if bad else
                                f"the simulator exited with status {exit_code}") + "; " + _tail(log))
    return SimResult(vectors.name, vectors.count, vectors.rows, mismatches, outputs, failed,
                     sim_seconds=seconds, log=log, coverage=vectors.coverage)
