"""A unit ready for Yosys: :func:`design_for` elaborates a unit spec (or one of the built-in
calibration designs of :mod:`intfp.analysis.designs`) and converts it to RTLIL."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from amaranth.back import rtlil

from intfp.models.spec import UnitSpec, resolve_unit
from intfp.rtl.units import make_unit

from .designs import IntMac, TinyDot

__all__ = ["Design", "design_for", "BUILTIN_DESIGNS"]

BUILTIN_DESIGNS = ("mac8", "tinydot")


@dataclass
class Design:
    """An elaborated unit ready for Yosys: its spec (None for the built-in calibration designs),
    its component and its RTLIL text."""

    unit: UnitSpec | None
    name: str                  # the spec's canonical name, or the built-in design's
    kind: str                  # "block" | "scalar" | "mixed" | "builtin"
    lanes: int
    top: str
    rtlil: str
    component: Any
    elem_bits: int

    @property
    def fmt(self) -> str:
        return self.name


def design_for(unit: str | UnitSpec, *, kind: str | None = None, lanes: int | None = None,
               **params) -> Design:
    """Elaborate a unit (a :class:`~intfp.models.spec.UnitSpec` or the words of
    :func:`~intfp.models.spec.resolve_unit`) or a built-in design (``mac8``, ``tinydot``) and
    convert it to RTLIL (Amaranth's RTLIL backend needs no Yosys)."""
    if isinstance(unit, str) and unit.lower() in BUILTIN_DESIGNS:
        key = unit.lower()
        comp = IntMac(8, 24) if key == "mac8" else TinyDot(2 if lanes is None else lanes, 4, 16)
        n = 1 if key == "mac8" else comp.lanes
        return Design(None, key, "builtin", n, key, rtlil.convert(comp, name=key, emit_src=False),
                      comp, comp.width)
    spec = resolve_unit(unit, kind, lanes, params.pop("window", None), params.pop("pipeline", 0),
                        params.pop("lane_arch", None))
    if params:
        raise ValueError(f"unknown parameter(s) {', '.join(sorted(params))}; allowed: kind, "
                         f"lanes, window, pipeline, lane_arch")
    comp = make_unit(spec)
    return Design(spec, spec.name, spec.kind, spec.lanes, spec.top,
                  rtlil.convert(comp, name=spec.top, emit_src=False), comp, spec.elem.bits)
