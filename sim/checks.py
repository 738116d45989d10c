"""The RTL checks: each builds a unit, streams model-checked vectors through it (cocotb on
Verilator by default, or Icarus; see :func:`intfp.sim.runner.default_simulator`).

* :func:`check_lanes`: every pair of element codes through the lane multiplier (exhaustive).
* :func:`check_block`: random and corner-case blocks through a block dot-product unit.
* :func:`check_scalar`: every pair of codes through a scalar MAC's product path and accumulator.
* :func:`check_mixed`: a mixed-format unit in both modes.

Used by the tests, ``intfp rtl verify`` and ``benchmarks/rtl_verify_throughput.py``.
"""
from __future__ import annotations

from intfp.models import hwmodel as hw
from intfp.models.spec import resolve_unit
from intfp.models.formats import ELEMENT_FORMATS

from . import vectors as vec
from .runner import SimResult, build, check_simulator, simulate

__all__ = ["harness_copies", "check_lanes", "check_block", "check_scalar", "check_mixed", "verify"]


def _elem(name):
    key = str(name).lower()
    if key not in ELEMENT_FORMATS:
        raise ValueError(f"unknown element format {name!r}; allowed: {', '.join(ELEMENT_FORMATS)}")
    return ELEMENT_FORMATS[key]


def harness_copies(pairs: int, simulator: str, kind: str) -> int:
    """Units side by side in a lane / scalar harness (``Replicated``) for ``pairs`` code pairs.

    The space checked is the same whatever the width (every pair once, see
    :func:`~intfp.sim.vectors.lane_vectors` / :func:`~intfp.sim.vectors.scalar_vectors`); the
    width only trades build time against rows. Icarus pays per simulated row (Python callbacks
    and event scheduling of a large netlist), so it gets wide harnesses (64 lane multipliers,
    16 MACs); a Verilator row costs ~0.1 ms while each replica costs compile time, so it gets
    at most ~4,096 lane rows and ~16,384 MAC rows (8-bit formats: 16 multipliers, 4 MACs;
    4- and 6-bit formats: one)."""
    if simulator == "icarus":
        return vec.LANE_COPIES if kind == "lanes" else 16
    per = 4096 if kind == "lanes" else 16384
    return int(min(64, max(1, pairs // per)))


def check_lanes(elem, copies: int | None = None, *, simulator: str | None = None,
                lane_arch: str | None = None) -> SimResult:
    """Exhaustive lane-multiplier check: ``copies`` multipliers per simulation step (default
    :func:`harness_copies`), of the lane architecture ``lane_arch`` (default: today's lane;
    ``signmag_tree``'s lanes are checked as ``signmag`` lanes with a two's complement product:
    the same magnitude and sign logic; its sign + magnitude ports and tree are checked in
    the block check and ``tests/test_rtl_lanes.py``)."""
    from intfp.rtl.components import LaneMultiplier
    from intfp.rtl.harness import Replicated
    from intfp.rtl.lanes import IntLaneMultiplier

    e = _elem(elem)
    arch = "signmag" if lane_arch == "signmag_tree" else lane_arch
    if arch in (None, "twos", "standard"):
        arch = None
    sim = check_simulator(simulator)
    copies = harness_copies(e.num_codes ** 2, sim, "lanes") if copies is None else copies
    top = f"lanes_{e.name}{'_' + arch if arch else ''}_x{copies}"
    lane = (lambda: IntLaneMultiplier(e, arch)) if arch else (lambda: LaneMultiplier(e))
    d, t_build = build(lambda: Replicated(lane, copies), top, top, simulator=sim)
    res = simulate(vec.lane_vectors(e, copies, arch), d, top)
    res.build_seconds = t_build
    return res


def check_block(fmt, lanes: int | None = None, n: int = 2000, seed: int = 0,
                window: int | None = None, pipeline: int = 0,
                distributions=vec.DISTRIBUTIONS, flat: bool = True, *,
                simulator: str | None = None, lane_arch: str | None = None) -> SimResult:
    """``n`` blocks from every distribution of :func:`intfp.sim.vectors.block_stimulus`.

    ``flat=False`` simulates the hierarchical Verilog that ``intfp rtl export`` writes
    (slower in Icarus; see :func:`intfp.rtl.export.to_sim_verilog`)."""
    from intfp.rtl.units import BlockDotUnit

    spec = hw.dot_spec(fmt, lanes, window, lane_arch)
    top = f"block_{spec.fmt.name}_k{spec.lanes}_w{spec.window or 0}_p{pipeline}_{spec.lane_arch}"
    d, t_build = build(lambda: BlockDotUnit(spec, pipeline=pipeline), top, top, flat=flat,
                       simulator=simulator)
    stim = vec.block_stimulus(spec, n, seed, distributions)
    res = simulate(vec.block_vectors(spec, stim, pipeline), d, top)
    res.build_seconds = t_build
    return res


def check_scalar(elem, seed: int = 0, acc_bits: int | None = None, copies: int | None = None,
                 limit: int | None = None, *, simulator: str | None = None) -> SimResult:
    """Every pair of codes (or a random ``limit`` of them) through ``copies`` scalar MACs side
    by side (default :func:`harness_copies`), one pair per MAC and cycle (product and
    accumulator checked every cycle)."""
    from intfp.rtl.harness import Replicated
    from intfp.rtl.units import ScalarMAC

    e = _elem(elem)
    sim = check_simulator(simulator)
    pairs = e.num_codes ** 2 if limit is None else min(limit, e.num_codes ** 2)
    copies = harness_copies(pairs, sim, "scalar") if copies is None else copies
    bits = 32 if acc_bits is None else acc_bits
    top = f"scalar_{e.name}_a{bits}_x{copies}"
    d, t_build = build(lambda: Replicated(lambda: ScalarMAC(e, acc_bits=acc_bits), copies), top, top,
                       simulator=sim)
    res = simulate(vec.scalar_vectors(e, seed, bits, copies, limit), d, top)
    res.build_seconds = t_build
    return res


def check_mixed(name: str, n: int = 1000, seed: int = 0, *, simulator: str | None = None) -> SimResult:
    """Random blocks through a mixed-format unit, alternating the two modes."""
    from intfp.rtl.mixed import MIXED_UNITS
    from intfp.rtl.units import make_unit

    from .mixed_vectors import mixed_vectors

    if name not in MIXED_UNITS:
        raise ValueError(f"unknown mixed unit {name!r}; allowed: {', '.join(MIXED_UNITS)}")
    top = "mixed_" + name.replace("+", "_")
    d, t_build = build(lambda: make_unit(name, kind="mixed"), top, top, simulator=simulator)
    res = simulate(mixed_vectors(name, n, seed), d, top)
    res.build_seconds = t_build
    return res


def verify(fmt, *, kind: str | None = None, lanes: int | None = None, n: int = 2000,
           seed: int = 0, window: int | None = None, exhaustive_lanes: bool = True,
           simulator: str | None = None, pipeline: int = 0,
           lane_arch: str | None = None, flat: bool = True) -> list[SimResult]:
    """Every check that applies to one unit (what ``intfp rtl verify`` and the main job run),
    the unit resolved once (:func:`intfp.models.spec.resolve_unit`): block units: every code
    pair through the lane multiplier of its architecture, then ``n`` random and corner blocks
    (with its pipeline); mixed units: ``n`` blocks per mode; scalar MACs: every code pair.
    ``simulator``: ``verilator`` or ``icarus`` (default :func:`~intfp.sim.runner.default_simulator`);
    each result records the one used."""
    unit = resolve_unit(fmt, kind, lanes, window, pipeline, lane_arch)
    sim = check_simulator(simulator)
    if unit.kind == "mixed":
        return [check_mixed(unit.name, n, seed, simulator=sim)]
    if unit.kind == "scalar":
        return [check_scalar(unit.elem.name, seed, simulator=sim)]
    out = [check_lanes(unit.elem.name, simulator=sim, lane_arch=unit.lane_arch)] \
        if exhaustive_lanes else []
    out.append(check_block(unit.name, unit.lanes, n, seed, unit.window, unit.pipeline,
                           flat=flat, simulator=sim, lane_arch=unit.lane_arch))
    return out
