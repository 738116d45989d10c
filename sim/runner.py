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

__all__ = ["SimResult", "build_root", "build", "simulate", "TIMESCALE"]

TIMESCALE = ("1ns", "1ps")     # Amaranth's Verilog has no `timescale; cocotb's Clock needs one
_PKG = Path(__file__).resolve().parent
# What a build depends on (the CLI and tests are not part of the hardware).
_SOURCES = [_PKG.parent / "rtl" / f for f in ("components.py", "units.py", "mixed.py", "harness.py",
                                            "export.py")] + \
           [_PKG.parent / "models" / f for f in ("hwmodel.py", "formats.py")]


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
    """
    from cocotb_tools.runner import get_runner

    from intfp.rtl.export import write_verilog

    d = build_root() / f"{toplevel}-{_digest(key + ('/flat' if flat else '/hier'))}"
    d.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(d / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)            # parallel workers building the same unit
        if not (d / "built.ok").exists():
            src = write_verilog(factory(), toplevel, d, flat=flat)
            get_runner("icarus").build(sources=[src], hdl_toplevel=toplevel, build_dir=d,
                                       timescale=TIMESCALE, always=True, log_file=d / "build.log")
            (d / "built.ok").write_text(key + "\n")
            return d, time.perf_counter() - t0
    return d, 0.0


def simulate(vectors: Vectors, build_dir: Path, toplevel: str) -> SimResult:
    """Stream ``vectors`` through the built unit with :mod:`intfp.sim.tb_stream`."""
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    from .tb_stream import Scoreboard

    run_dir = Path(build_dir) / "runs" / uuid.uuid4().hex[:12]
    run_dir.mkdir(parents=True)
    vec_path = vectors.save(run_dir / "vectors.npz")
    out_path = run_dir / "outputs.npz"
    results = run_dir / "results.xml"
    log = run_dir / "sim.log"
    t0 = time.perf_counter()
    try:
        get_runner("icarus").test(
            test_module="intfp.sim.tb_stream", hdl_toplevel=toplevel, hdl_toplevel_lang="verilog",
            build_dir=build_dir,
            test_dir=run_dir, results_xml=str(results), timescale=TIMESCALE, log_file=log,
            extra_env={"INTFP_VECTORS": str(vec_path), "INTFP_OUTPUTS": str(out_path)})
    except SystemExit:          # the runner exits on failures under pytest; we report instead
        pass
    seconds = time.perf_counter() - t0
    try:
        _, failed = get_results(results)
    except RuntimeError:
        failed = 1
    outputs = dict(np.load(out_path)) if out_path.exists() else {}
    if outputs:
        mismatches = Scoreboard(vectors.expect, vectors.mask).mismatches(outputs)
    else:
        mismatches = {name: np.arange(vectors.rows) for name in vectors.expect}
    return SimResult(vectors.name, vectors.count, vectors.rows, mismatches, outputs, failed,
                     sim_seconds=seconds, log=log, coverage=vectors.coverage)
