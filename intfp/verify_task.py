"""The verification stage's sweep tasks, in a module of its own so that their cache keys' code
closure (:func:`intfp.cache.import_closure`) is the simulation and RTL code they run, not the
whole main job: editing the report does not re-run verification, editing the testbench does.

The stage (:func:`plan_checks`, :func:`verify_group`, :func:`unit_rows`): every check of every
unit (:func:`intfp.sim.checks.unit_checks`), a check two units share run once, the checks split
into a few bundles of about equal cost (:func:`intfp.sim.checks.group_checks`), each bundle
one simulator build and one cocotb run on a Dask worker, the results assembled into one row
per unit and check, as :func:`verify_unit` gives for one unit alone.
"""
from __future__ import annotations

from intfp.models.spec import resolve_unit
from intfp.sim.checks import check_key, group_checks, unit_checks, verify_checks, verify_units

__all__ = ["verify_unit", "verify_group", "plan_checks", "unit_rows"]


def _rows(unit, results) -> list[dict]:
    return [{"unit": f"{unit.kind}:{unit.label}", "format": unit.name, "lane_arch": unit.lane_arch, "stages": unit.stages,
             "check": r["name"], "simulator": r["simulator"], "vectors": r["vectors"],
             "mismatched_rows": r["mismatched_rows"], "passed": r["passed"]} for r in results]


def _result(r) -> dict:
    return {"name": r.name, "simulator": r.simulator, "vectors": int(r.vectors),
            "mismatched_rows": int(sum(len(v) for v in r.mismatches.values())),
            "passed": bool(r.passed)}


def verify_unit(fmt: str, kind: str, lanes, n: int, seed: int, lane_arch: str | None = None,
                pipeline: int = 0) -> list[dict]:
    """One unit's cocotb checks as rows, in one simulator build (runs on a Dask worker). A
    simulator fault raises (and is therefore never cached); only a completed comparison
    becomes rows."""
    unit = resolve_unit(fmt, kind, lanes, None, pipeline, lane_arch)
    return _rows(unit, [_result(r) for r in verify_units([unit], n=n, seed=seed)[0]])


def verify_group(checks: list[dict]) -> list[dict]:
    """Checks (:func:`intfp.sim.checks.unit_checks` dicts) in ONE simulator build; per check
    its name, simulator, vectors, mismatched rows and verdict. A simulator fault raises."""
    return [_result(r) for r in verify_checks(checks)]


def plan_checks(units, n: int, seed: int, groups: int) -> tuple[list[list[dict]], list[list[str]]]:
    """The stage's bundles (lists of check dicts, each one :func:`verify_group` task) and, per
    unit, the keys of its checks in :func:`intfp.sim.checks.verify`'s order."""
    from intfp.sim.runner import default_simulator

    sim = default_simulator()                   # what verify_group's builds will run on
    per_unit = [unit_checks(u, n, seed, simulator=sim) for u in units]
    bundles = group_checks([c for cs in per_unit for c in cs], groups)
    return bundles, [[check_key(c) for c in cs] for cs in per_unit]


def unit_rows(units, keys: list[list[str]], bundles: list[list[dict]], results) -> list[dict]:
    """One row per unit and check (:func:`verify_unit`'s rows) from the bundles' results."""
    by_key = {check_key(c): r for b, rs in zip(bundles, results) for c, r in zip(b, rs)}
    return [row for u, ks in zip(units, keys) for row in _rows(u, [by_key[k] for k in ks])]
