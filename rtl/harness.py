"""Test harness: many copies of a unit side by side, so one simulation step checks many vectors.

:class:`Replicated` turns every port ``p`` of shape ``S`` of the inner component into a port
``p`` of shape ``ArrayLayout(S, copies)``; copy i sees element i. The exhaustive lane tests
drive 256 multipliers per step this way.
"""
from __future__ import annotations

from amaranth import Cat, Module, Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .components import check_int, validating

__all__ = ["Replicated"]


class Replicated(wiring.Component):
    """``copies`` instances of ``factory()`` (submodules ``unit_<i>``) with array ports."""

    @validating
    def __init__(self, factory, copies: int):
        if not callable(factory):
            raise ValueError(f"factory must be a callable returning a wiring.Component, got {factory!r}")
        self._copies = check_int("copies", copies)
        self._units = [factory() for _ in range(copies)]
        members = {}
        for name, member in self._units[0].signature.members.items():
            if not member.is_port:
                raise ValueError(f"Replicated supports port members only; {name!r} is not a port")
            flow = In if member.flow == wiring.In else Out
            members[name] = flow(data.ArrayLayout(member.shape, copies))
        super().__init__(members)

    @property
    def units(self) -> list:
        return list(self._units)

    def elaborate(self, platform):
        m = Module()
        for i, unit in enumerate(self._units):
            m.submodules[f"unit_{i}"] = unit
        for name, member in self._units[0].signature.members.items():
            outer = Value.cast(getattr(self, name))
            inners = [Value.cast(getattr(unit, name)) for unit in self._units]
            if member.flow == wiring.In:
                m.d.comb += [inner.eq(outer.word_select(i, len(inner)))
                             for i, inner in enumerate(inners)]
            else:
                # One driver for the whole output (Icarus resolves many part drivers of one
                # wide net in time quadratic in their number).
                m.d.comb += outer.eq(Cat(*inners))
        return m
