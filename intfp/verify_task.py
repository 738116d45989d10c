"""The verification stage's sweep tasks, in a module of its own so that their cache keys' code
closure (:func:`intfp.cache.import_closure`) is the simulation and RTL code they run, not the
whole main job: editing the report does not re-run verification, editing the testbench does.

:func:`verify_group` runs every check of several units in one simulator build
(:func:`intfp.sim.checks.verify_units`); :func:`group_units` splits a stage's units into such
groups of about equal build cost. :func:`verify_unit` is one unit alone (one build).
"""
from __future__ import annotations

from intfp.models.spec import resolve_unit
from intfp.sim.checks import verify_units

__all__ = ["verify_unit", "verify_group", "group_units", "unit_params", "build_weight"]


def unit_params(u) -> dict:
    """The task parameters naming a resolved unit (what :func:`verify_unit` takes)."""
    return {"fmt": u.name, "kind": u.kind, "lanes": u.lanes if u.kind == "block" else None,
            "lane_arch": u.lane_arch if u.kind == "block" else None, "pipeline": u.pipeline}


def _resolve(p: dict):
    return resolve_unit(p["fmt"], p["kind"], p.get("lanes"), None, p.get("pipeline", 0),
                        p.get("lane_arch"))


def _rows(unit, results) -> list[dict]:
    return [{"unit": f"{unit.kind}:{unit.label}", "lane_arch": unit.lane_arch, "stages": unit.stages,
             "check": r.name, "simulator": r.simulator, "vectors": int(r.vectors),
             "mismatched_rows": int(sum(len(v) for v in r.mismatches.values())),
             "passed": bool(r.passed)} for r in results]


def verify_unit(fmt: str, kind: str, lanes, n: int, seed: int, lane_arch: str | None = None,
                pipeline: int = 0) -> list[dict]:
    """One unit's cocotb checks as rows (runs on a Dask worker). A simulator fault raises (and is
    therefore never cached); only a completed comparison becomes rows."""
    unit = _resolve({"fmt": fmt, "kind": kind, "lanes": lanes, "lane_arch": lane_arch,
                     "pipeline": pipeline})
    return _rows(unit, verify_units([unit], n=n, seed=seed)[0])


def verify_group(units: list[dict], n: int, seed: int) -> list[list[dict]]:
    """The cocotb checks of several units (each a :func:`unit_params` dict) in ONE simulator
    build; per unit the rows :func:`verify_unit` gives, in order. A simulator fault raises."""
    resolved = [_resolve(p) for p in units]
    return [_rows(u, rs) for u, rs in zip(resolved, verify_units(resolved, n=n, seed=seed))]


def build_weight(u) -> float:
    """A rough relative build cost of a unit's checks, for balancing groups only (never a
    reported number): per lane multiplier ~bits^2 gates, ~6x that for the bit-level radix-4
    Booth lanes (their export, Verilator and compile times in a cold run scaled so: an INT8
    Booth block unit took ~13x the time of the two's complement one), plus a per-unit part."""
    bits = u.elem.bits
    per_lane = bits * bits * (0.04 if u.lane_arch == "booth" else 0.006)
    if u.kind == "mixed":
        return 2.0 + 2 * u.lanes * per_lane         # both formats: ~2x a block unit
    if u.kind == "scalar":
        return 1.0 + per_lane
    return 2.0 + u.lanes * per_lane


def group_units(units, groups: int) -> list[list]:
    """``units`` (resolved) split into at most ``groups`` lists of about equal
    :func:`build_weight` (longest first onto the lightest group), units that share a lane
    check (same element format and lane architecture: e.g. ``mxint4`` and ``nvint4``) kept
    together so it is built once. Deterministic: the same units give the same groups."""
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"groups must be a whole number >= 1, got {groups!r}")
    clusters: dict[tuple, list] = {}
    for u in units:
        key = (u.kind, u.elem.name, u.lane_arch) if u.kind == "block" else (u.kind, u.name)
        clusters.setdefault(key, []).append(u)
    loads = [[0.0, []] for _ in range(min(groups, len(clusters)) or 1)]
    for c in sorted(clusters.values(), key=lambda c: -sum(build_weight(u) for u in c)):
        target = min(loads, key=lambda g: g[0])
        target[0] += sum(build_weight(u) for u in c)
        target[1].extend(c)
    return [g for _, g in sorted(loads, key=lambda g: -g[0]) if g]
