"""The verification stage's sweep task, in a module of its own so that its cache key's code
closure (:func:`intfp.cache.import_closure`) is the simulation and RTL code it runs, not the whole
main job: editing the report does not re-run verification, editing the testbench does."""
from __future__ import annotations

from intfp.sim.checks import verify

__all__ = ["verify_unit"]


def verify_unit(fmt: str, kind: str, lanes, n: int, seed: int) -> list[dict]:
    """One unit's cocotb checks as rows (runs on a Dask worker). A simulator fault raises (and is
    therefore never cached); only a completed comparison becomes rows."""
    return [{"unit": f"{kind}:{fmt}", "check": r.name, "vectors": int(r.vectors),
             "mismatched_rows": int(sum(len(v) for v in r.mismatches.values())),
             "passed": bool(r.passed)} for r in verify(fmt, kind=kind, lanes=lanes, n=n, seed=seed)]
