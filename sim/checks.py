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
from intfp.models.spec import resolve_unit, verilog_name
from intfp.models.formats import element_format

from . import vectors as vec
from .bundle import Member, run_bundle
from .runner import SimResult, build, check_simulator, simulate

__all__ = ["harness_copies", "member_copies", "size_weight", "check_lanes", "check_block",
           "check_scalar", "check_mixed", "unit_checks", "check_key", "make_member",
           "verify_checks", "group_checks", "verify", "verify_units"]


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
    top = f"block_{verilog_name(spec.fmt.name)}_k{spec.lanes}_w{spec.window or 0}_p{pipeline}_{spec.lane_arch}"
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


#: Rows an exhaustive bundle member aims at (:func:`member_copies`): the exhaustive checks share
#: one bundle of small netlists (:func:`group_checks`), where a row costs ~0.1-0.3 ms and every
#: replica costs build time (a bit-level radix-4 Booth INT8 lane: ~0.35 MB of RTLIL).
BUNDLE_ROWS = 16384


def _lane_arch(lane_arch):
    """The lane multiplier architecture a lane check builds (``signmag_tree`` lanes are
    ``signmag`` lanes; the default architectures build the default lane)."""
    arch = "signmag" if lane_arch == "signmag_tree" else lane_arch
    return None if arch in (None, "twos", "standard") else arch


def size_weight(check: str, elem, lane_arch=None, lanes: int = 1) -> float:
    """A rough size of one check's netlist, in ~kB of Amaranth RTLIL (fitted to today's units:
    a 32-lane INT8 Booth block unit 11.3 MB, an INT8 two's complement one 0.14 MB, an E4M3 one
    0.5 MB), for balancing bundles only - never a reported number. ``check``: ``lanes`` (per
    lane copy), ``block`` (a ``lanes``-lane unit), ``scalar`` (per MAC copy), ``mixed``."""
    e = _elem(elem)
    b2 = e.bits * e.bits
    lane = 5.5 * b2 if _lane_arch(lane_arch) == "booth" else (0.15 if e.kind == "fp" else 0.04) * b2
    if check == "lanes":
        return lane
    if check == "scalar":
        return 80.0 if e.kind == "fp" else 4.0
    block = 60.0 + lanes * (lane + (8.0 if e.kind == "fp" else 3.0))
    return 2 * block if check == "mixed" else block


def member_copies(pairs: int, simulator: str = "verilator", kind: str = "lanes") -> int:
    """Replicas of a lane multiplier / scalar MAC in a bundle for ``pairs`` code pairs: as few
    as keep the member within :data:`BUNDLE_ROWS` rows (8-bit formats: 4, smaller: 1). The
    space checked is the same whatever the count (every pair once,
    :func:`~intfp.sim.vectors.lane_vectors`). Icarus pays per row and per event, not per
    compile: it keeps :func:`harness_copies`."""
    if simulator == "icarus":
        return harness_copies(pairs, "icarus", kind)
    return max(1, -(-int(pairs) // BUNDLE_ROWS))


def unit_checks(unit, n: int = 2000, seed: int = 0, exhaustive_lanes: bool = True,
                simulator: str = "verilator") -> list[dict]:
    """The checks that apply to one resolved unit (as :func:`verify`), as plain parameter
    dicts (:func:`make_member` builds one; equal dicts are the same check): block units: every
    code pair through the lane multiplier of its architecture, then ``n`` random and corner
    blocks (with its pipeline); mixed units: ``n`` blocks per mode; scalar MACs: every code
    pair."""
    e = unit.elem
    if unit.kind == "mixed":
        return [{"check": "mixed", "name": unit.name, "n": n, "seed": seed}]
    if unit.kind == "scalar":
        copies = member_copies(e.num_codes ** 2, simulator, "scalar")
        return [{"check": "scalar", "elem": e.name, "seed": seed, "copies": copies}]
    out = []
    if exhaustive_lanes:
        copies = member_copies(e.num_codes ** 2, simulator)
        out.append({"check": "lanes", "elem": e.name, "lane_arch": _lane_arch(unit.lane_arch),
                    "copies": copies})
    out.append({"check": "block", "fmt": unit.name, "lanes": unit.lanes, "window": unit.window,
                "pipeline": unit.pipeline, "lane_arch": unit.lane_arch, "n": n, "seed": seed})
    return out


def check_key(spec: dict) -> str:
    """A check's identity (its parameters, in a fixed order)."""
    return ":".join(f"{k}={spec[k]}" for k in sorted(spec))


def check_weight(spec: dict) -> float:
    """:func:`size_weight` of a check's whole netlist (all its copies)."""
    kind = spec["check"]
    if kind == "lanes":
        return spec["copies"] * size_weight("lanes", spec["elem"], spec["lane_arch"])
    if kind == "scalar":
        return spec["copies"] * size_weight("scalar", spec["elem"])
    u = resolve_unit(spec.get("fmt") or spec["name"], kind,
                     spec.get("lanes"), spec.get("window"), spec.get("pipeline", 0), spec.get("lane_arch"))
    return size_weight(kind, u.elem, u.lane_arch, u.lanes)


def make_member(spec: dict) -> Member:
    """The :class:`~intfp.sim.bundle.Member` of a check (a :func:`unit_checks` dict)."""
    from intfp.rtl.harness import Replicated

    kind, key = spec["check"], check_key(spec)
    if kind == "lanes":
        from intfp.rtl.components import LaneMultiplier
        from intfp.rtl.lanes import IntLaneMultiplier

        e, arch, copies = _elem(spec["elem"]), _lane_arch(spec["lane_arch"]), spec["copies"]
        lane = (lambda: IntLaneMultiplier(e, arch)) if arch else (lambda: LaneMultiplier(e))
        return Member(key, lambda: Replicated(lane, copies), lambda: vec.lane_vectors(e, copies, arch))
    if kind == "scalar":
        from intfp.rtl.units import ScalarMAC

        e, copies = _elem(spec["elem"]), spec["copies"]
        return Member(key, lambda: Replicated(lambda: ScalarMAC(e), copies),
                      lambda: vec.scalar_vectors(e, spec["seed"], 32, copies))
    if kind == "mixed":
        from intfp.rtl.mixed import MIXED_UNITS
        from intfp.rtl.units import make_unit

        from .mixed_vectors import mixed_vectors

        name = spec["name"]
        if name not in MIXED_UNITS:
            raise ValueError(f"unknown mixed unit {name!r}; allowed: {', '.join(MIXED_UNITS)}")
        return Member(key, lambda: make_unit(name, kind="mixed"),
                      lambda: mixed_vectors(name, spec["n"], spec["seed"]))
    if kind == "block":
        from intfp.rtl.units import BlockDotUnit

        dot = hw.dot_spec(spec["fmt"], spec["lanes"], spec["window"], spec["lane_arch"])
        p = spec["pipeline"]
        return Member(key, lambda: BlockDotUnit(dot, pipeline=p),
                      lambda: vec.block_vectors(dot, vec.block_stimulus(dot, spec["n"], spec["seed"]), p))
    raise ValueError(f"unknown check {kind!r}; allowed: lanes, block, scalar, mixed")


def _top(members) -> str:
    h = hashlib.sha256("|".join(m.key for m in members).encode()).hexdigest()[:10]
    return f"bundle{len(members)}_{h}"


def verify_checks(specs: list[dict], *, simulator: str | None = None,
                  flat: bool = True) -> list[SimResult]:
    """Several checks (:func:`unit_checks` dicts) in ONE simulator build (a
    :class:`~intfp.sim.bundle.Bundle`): each an instance of its own unchanged unit with its
    own rows and masks; one result per distinct check, in order."""
    sim = check_simulator(simulator)
    members = list({check_key(s): make_member(s) for s in specs}.values())
    res = dict(zip((m.key for m in members), run_bundle(members, _top(members), simulator=sim, flat=flat)))
    return [res[check_key(s)] for s in specs]


def group_checks(specs: list[dict], groups: int) -> list[list[dict]]:
    """Distinct checks split into at most ``groups`` bundles, for as many parallel builds.

    A bundle runs as many rows as its longest member and each row evaluates its whole model,
    so the exhaustive checks (lane multipliers and scalar MACs: up to ~18 k rows, small
    netlists) share one bundle, and the block and mixed units (~2.3 k rows each, large
    netlists) fill the others, heaviest first onto the lightest (:func:`check_weight`).
    Deterministic; the heaviest bundle first."""
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"groups must be a whole number >= 1, got {groups!r}")
    distinct = list({check_key(s): s for s in specs}.values())
    exhaustive = [s for s in distinct if s["check"] in ("lanes", "scalar")]
    units = sorted((s for s in distinct if s["check"] not in ("lanes", "scalar")),
                   key=lambda s: -check_weight(s))
    n_units = groups - 1 if exhaustive and groups > 1 else groups
    bins = [[0.0, []] for _ in range(min(n_units, len(units)))]
    for s in units:
        b = min(bins, key=lambda b: b[0])
        b[0] += check_weight(s)
        b[1].append(s)
    if exhaustive:
        if groups == 1 and bins:
            bins[0][1].extend(exhaustive)
        else:
            bins.append([sum(map(check_weight, exhaustive)), exhaustive])
    return [b[1] for b in sorted(bins, key=lambda b: -b[0]) if b[1]]


def verify_units(units, *, n: int = 2000, seed: int = 0, exhaustive_lanes: bool = True,
                 simulator: str | None = None, flat: bool = True) -> list[list[SimResult]]:
    """:func:`verify` of several resolved units in ONE simulator build
    (:func:`verify_checks`); a check two units share (the same lane multiplier space, e.g.
    ``mxint4`` and ``nvint4``) is built and run once and reported for both. Returns each
    unit's results in :func:`verify`'s order."""
    sim = check_simulator(simulator)
    per_unit = [unit_checks(u, n, seed, exhaustive_lanes, sim) for u in units]
    flat_specs = [s for ss in per_unit for s in ss]
    res = dict(zip(map(check_key, flat_specs), verify_checks(flat_specs, simulator=sim, flat=flat)))
    return [[res[check_key(s)] for s in ss] for ss in per_unit]


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
