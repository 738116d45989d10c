"""The RTL checks: each builds a unit, streams model-checked vectors through it on Icarus.

* :func:`check_lanes`: every pair of element codes through the lane multiplier (exhaustive).
* :func:`check_block`: random and corner-case blocks through a block dot-product unit.
* :func:`check_scalar`: every pair of codes through a scalar MAC's product path and accumulator.
* :func:`check_mixed`: a mixed-format unit in both modes.

Used by the tests, ``intfp rtl verify`` and ``benchmarks/rtl_verify_throughput.py``.
"""
from __future__ import annotations

from intfp.models import hwmodel as hw
from intfp.models.formats import ELEMENT_FORMATS

from . import vectors as vec
from .runner import SimResult, build, simulate

__all__ = ["check_lanes", "check_block", "check_scalar", "check_mixed", "verify"]


def _elem(name):
    key = str(name).lower()
    if key not in ELEMENT_FORMATS:
        raise ValueError(f"unknown element format {name!r}; allowed: {', '.join(ELEMENT_FORMATS)}")
    return ELEMENT_FORMATS[key]


def check_lanes(elem, copies: int = vec.LANE_COPIES) -> SimResult:
    """Exhaustive lane-multiplier check: ``copies`` multipliers per simulation step."""
    from intfp.rtl.components import LaneMultiplier
    from intfp.rtl.harness import Replicated

    e = _elem(elem)
    top = f"lanes_{e.name}_x{copies}"
    d, t_build = build(lambda: Replicated(lambda: LaneMultiplier(e), copies), top, top)
    res = simulate(vec.lane_vectors(e, copies), d, top)
    res.build_seconds = t_build
    return res


def check_block(fmt, lanes: int | None = None, n: int = 2000, seed: int = 0,
                window: int | None = None, pipeline: int = 0,
                distributions=vec.DISTRIBUTIONS, flat: bool = True) -> SimResult:
    """``n`` blocks from every distribution of :func:`intfp.sim.vectors.block_stimulus`.

    ``flat=False`` simulates the hierarchical Verilog that ``intfp rtl export`` writes
    (slower in Icarus; see :func:`intfp.rtl.export.to_sim_verilog`)."""
    from intfp.rtl.units import BlockDotUnit

    spec = hw.dot_spec(fmt, lanes, window)
    top = f"block_{spec.fmt.name}_k{spec.lanes}_w{spec.window or 0}_p{pipeline}"
    d, t_build = build(lambda: BlockDotUnit(spec, pipeline=pipeline), top, top, flat=flat)
    stim = vec.block_stimulus(spec, n, seed, distributions)
    res = simulate(vec.block_vectors(spec, stim, pipeline), d, top)
    res.build_seconds = t_build
    return res


def check_scalar(elem, seed: int = 0, acc_bits: int | None = None, copies: int = 16,
                 limit: int | None = None) -> SimResult:
    """Every pair of codes (or a random ``limit`` of them) through ``copies`` scalar MACs side
    by side, one pair per MAC and cycle (product and accumulator checked every cycle)."""
    from intfp.rtl.harness import Replicated
    from intfp.rtl.units import ScalarMAC

    e = _elem(elem)
    bits = 32 if acc_bits is None else acc_bits
    top = f"scalar_{e.name}_a{bits}_x{copies}"
    d, t_build = build(lambda: Replicated(lambda: ScalarMAC(e, acc_bits=acc_bits), copies), top, top)
    res = simulate(vec.scalar_vectors(e, seed, bits, copies, limit), d, top)
    res.build_seconds = t_build
    return res


def check_mixed(name: str, n: int = 1000, seed: int = 0) -> SimResult:
    """Random blocks through a mixed-format unit, alternating the two modes."""
    from intfp.rtl.mixed import MIXED_UNITS, make_mixed, mixed_vectors

    if name not in MIXED_UNITS:
        raise ValueError(f"unknown mixed unit {name!r}; allowed: {', '.join(MIXED_UNITS)}")
    top = "mixed_" + name.replace("+", "_")
    d, t_build = build(lambda: make_mixed(name), top, top)
    res = simulate(mixed_vectors(name, n, seed), d, top)
    res.build_seconds = t_build
    return res


def verify(fmt: str, *, kind: str = "block", lanes: int | None = None, n: int = 2000,
           seed: int = 0, window: int | None = None, exhaustive_lanes: bool = True) -> list[SimResult]:
    """Every check that applies to one unit (what ``intfp rtl verify`` runs)."""
    if kind == "mixed" or "+" in fmt:
        return [check_mixed(fmt, n, seed)]
    if kind == "scalar":
        key = fmt.lower()
        elem = key if key in ELEMENT_FORMATS else hw.dot_spec(key).elem.name
        return [check_scalar(elem, seed)]
    if kind != "block":
        raise ValueError(f"kind must be one of block, scalar, mixed; got {kind!r}")
    spec = hw.dot_spec(fmt, lanes, window)
    out = [check_lanes(spec.elem.name)] if exhaustive_lanes else []
    out.append(check_block(fmt, spec.lanes, n, seed, window))
    return out
