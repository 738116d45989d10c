"""The RTL checks: each builds a unit, streams model-checked vectors through it (cocotb on
Verilator by default, or Icarus; see :func:`intfp.sim.runner.default_simulator`).

* :func:`check_lanes`: every pair of element codes through the lane multiplier (exhaustive).
* :func:`check_block`: random and corner-case blocks through a block dot-product unit.
* :func:`check_scalar`: every pair of codes through a scalar MAC's product path and accumulator.
* :func:`check_mixed`: a mixed-format unit in both modes.

Used by the tests, ``intfp rtl verify`` and ``benchmarks/rtl_verify_throughput.py``.
"""
from __future__ import annotations

import hashlib

from intfp.models import hwmodel as hw
from intfp.models.spec import resolve_unit
from intfp.models.formats import element_format

from . import vectors as vec
from .bundle import Member, run_bundle
from .runner import SimResult, build, check_simulator, simulate

__all__ = ["harness_copies", "bundle_copies", "check_lanes", "check_block", "check_scalar",
           "check_mixed", "unit_members", "verify", "verify_units"]


def _elem(name):
    """An element format by name (any the format grammar of :mod:`intfp.models.formats`
    accepts, not only the presets); a bad name raises ``ValueError`` naming it."""
    return element_format(name)


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


#: Rows a bundle's exhaustive members aim at (:func:`bundle_copies`).
BUNDLE_ROWS = 16384


def bundle_copies(pairs: int, rows: int = BUNDLE_ROWS) -> int:
    """Units side by side for ``pairs`` code pairs in a bundle (:mod:`intfp.sim.bundle`): as few
    as keep the member at most ``rows`` rows. In a bundle a row costs the same whatever its
    width (one wide port per direction), while every replica of a lane costs export, Verilator
    and compile time (a radix-4 Booth INT8 lane is ~50 k lines of flat Verilog), so 8-bit
    spaces (65,536 pairs) get 4 copies and smaller ones 1. The space checked is the same
    (every pair once, see :func:`~intfp.sim.vectors.lane_vectors`)."""
    return max(1, -(-int(pairs) // int(rows)))


def _lane_arch(lane_arch):
    """The lane multiplier architecture a lane check builds (``signmag_tree`` lanes are
    ``signmag`` lanes; the default architectures build the default lane)."""
    arch = "signmag" if lane_arch == "signmag_tree" else lane_arch
    return None if arch in (None, "twos", "standard") else arch


def _member_copies(pairs: int, simulator: str, kind: str) -> int:
    # Icarus pays per row and per event, not per compile: its wide harnesses stay.
    return harness_copies(pairs, "icarus", kind) if simulator == "icarus" else bundle_copies(pairs)


def lane_member(elem, copies: int | None = None, lane_arch: str | None = None,
                simulator: str = "verilator") -> Member:
    """The exhaustive lane check of :func:`check_lanes` as a bundle member."""
    from intfp.rtl.components import LaneMultiplier
    from intfp.rtl.harness import Replicated
    from intfp.rtl.lanes import IntLaneMultiplier

    e, arch = _elem(elem), _lane_arch(lane_arch)
    copies = _member_copies(e.num_codes ** 2, simulator, "lanes") if copies is None else copies
    lane = (lambda: IntLaneMultiplier(e, arch)) if arch else (lambda: LaneMultiplier(e))
    return Member(f"lanes:{e.name}:{arch}:x{copies}", lambda: Replicated(lane, copies),
                  lambda: vec.lane_vectors(e, copies, arch))


def block_member(unit, n: int, seed: int, distributions=vec.DISTRIBUTIONS) -> Member:
    """The block check of :func:`check_block` for a resolved block unit, as a bundle member."""
    from intfp.rtl.units import BlockDotUnit

    spec = hw.dot_spec(unit.name, unit.lanes, unit.window, unit.lane_arch)
    p = unit.pipeline
    return Member(f"block:{spec.fmt.name}:k{spec.lanes}:w{spec.window or 0}:p{p}:{spec.lane_arch}",
                  lambda: BlockDotUnit(spec, pipeline=p),
                  lambda: vec.block_vectors(spec, vec.block_stimulus(spec, n, seed, distributions), p))


def scalar_member(elem, seed: int = 0, copies: int | None = None,
                  simulator: str = "verilator") -> Member:
    """The exhaustive scalar MAC check of :func:`check_scalar` (32-bit accumulator) as a
    bundle member."""
    from intfp.rtl.harness import Replicated
    from intfp.rtl.units import ScalarMAC

    e = _elem(elem)
    copies = _member_copies(e.num_codes ** 2, simulator, "scalar") if copies is None else copies
    return Member(f"scalar:{e.name}:a32:x{copies}",
                  lambda: Replicated(lambda: ScalarMAC(e), copies),
                  lambda: vec.scalar_vectors(e, seed, 32, copies))


def mixed_member(name: str, n: int, seed: int) -> Member:
    """The check of :func:`check_mixed` as a bundle member."""
    from intfp.rtl.mixed import MIXED_UNITS
    from intfp.rtl.units import make_unit

    from .mixed_vectors import mixed_vectors

    if name not in MIXED_UNITS:
        raise ValueError(f"unknown mixed unit {name!r}; allowed: {', '.join(MIXED_UNITS)}")
    return Member(f"mixed:{name}", lambda: make_unit(name, kind="mixed"),
                  lambda: mixed_vectors(name, n, seed))


def unit_members(unit, n: int = 2000, seed: int = 0, exhaustive_lanes: bool = True,
                 simulator: str = "verilator") -> list[Member]:
    """The checks that apply to one resolved unit (:func:`verify`), as bundle members: block
    units: every code pair through the lane multiplier of its architecture, then ``n`` random
    and corner blocks (with its pipeline); mixed units: ``n`` blocks per mode; scalar MACs:
    every code pair."""
    if unit.kind == "mixed":
        return [mixed_member(unit.name, n, seed)]
    if unit.kind == "scalar":
        return [scalar_member(unit.elem.name, seed, simulator=simulator)]
    lanes = [lane_member(unit.elem.name, lane_arch=unit.lane_arch, simulator=simulator)] \
        if exhaustive_lanes else []
    return lanes + [block_member(unit, n, seed)]


def _top(members) -> str:
    h = hashlib.sha256("|".join(m.key for m in members).encode()).hexdigest()[:10]
    return f"bundle{len(members)}_{h}"


def verify_units(units, *, n: int = 2000, seed: int = 0, exhaustive_lanes: bool = True,
                 simulator: str | None = None, flat: bool = True) -> list[list[SimResult]]:
    """:func:`verify` of several resolved units in ONE simulator build (a
    :class:`~intfp.sim.bundle.Bundle`): every check of every unit, each an instance of its own
    unchanged unit with its own rows and masks; a check two units share (the same lane
    multiplier space, e.g. ``mxint4`` and ``nvint4``) is built and run once and reported for
    both. Returns each unit's results in :func:`verify`'s order."""
    sim = check_simulator(simulator)
    per_unit = [unit_members(u, n, seed, exhaustive_lanes, sim) for u in units]
    members: dict[str, Member] = {}
    for ms in per_unit:
        for m in ms:
            members.setdefault(m.key, m)
    order = list(members.values())
    results = dict(zip(members, run_bundle(order, _top(order), simulator=sim, flat=flat)))
    return [[results[m.key] for m in ms] for ms in per_unit]


def verify(fmt, *, kind: str | None = None, lanes: int | None = None, n: int = 2000,
           seed: int = 0, window: int | None = None, exhaustive_lanes: bool = True,
           simulator: str | None = None, pipeline: int = 0,
           lane_arch: str | None = None, flat: bool = True) -> list[SimResult]:
    """Every check that applies to one unit (what ``intfp rtl verify`` runs), the unit resolved
    once (:func:`intfp.models.spec.resolve_unit`), each check in a build of its own (so a
    failing check's build and log stand alone; :func:`verify_units` runs the same checks of
    many units in one build): block units: every code pair through the lane multiplier of its
    architecture, then ``n`` random and corner blocks (with its pipeline); mixed units: ``n``
    blocks per mode; scalar MACs: every code pair.
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
