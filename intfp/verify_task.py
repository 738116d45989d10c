"""The verification stage's sweep task, in a module of its own so that its cache key's code
closure (:func:`intfp.cache.import_closure`) is the simulation and RTL code it runs, not the whole
main job: editing the report does not re-run verification, editing the testbench does."""
from __future__ import annotations

from intfp.models.spec import resolve_unit
from intfp.sim.checks import verify

__all__ = ["verify_unit"]


def verify_unit(fmt: str, kind: str, lanes, n: int, seed: int, lane_arch: str | None = None,
                pipeline: int = 0) -> list[dict]:
    """One unit's cocotb checks as rows (runs on a Dask worker). A simulator fault raises (and is
    therefore never cached); only a completed comparison becomes rows."""
    unit = resolve_unit(fmt, kind, lanes, None, pipeline, lane_arch)
    return [{"unit": f"{kind}:{unit.label}", "lane_arch": unit.lane_arch, "stages": unit.stages,
             "check": r.name, "simulator": r.simulator, "vectors": int(r.vectors),
             "mismatched_rows": int(sum(len(v) for v in r.mismatches.values())),
             "passed": bool(r.passed)} for r in verify(unit, n=n, seed=seed)]
