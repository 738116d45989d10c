"""Several checks in one simulator build: a :class:`Bundle` top holds the units of several
checks side by side, each an unchanged instance of its own component, and one cocotb run streams
all their rows at once.

Why: a Verilator build has a fixed cost of several CPU seconds (Yosys export, Verilator, the C++
compile and link, the simulator's start) whatever the design's size, and the verification
stage has ~40 checks; one build per check spent most of the stage on that fixed cost
(``benchmarks/rtl_verify_throughput.py``, its stage table, measures both ways). In a bundle every
member keeps its own ports, stimulus, expected rows and masks; nothing is shared between
members but the clock, the reset and the simulator process.

Ports. Every port of every member is placed on a byte boundary of one wide input ``i`` or
one of two wide outputs: ``oe`` (a clocked member's ``Vectors.early`` ports, sampled after the
inputs settle and before the clock edge) and ``o`` (every other output: a clocked member's
registered ports, sampled after the edge, and the outputs of combinational members, whose
inputs still hold their row then). One wide port per direction keeps the testbench's per-row
cost (:mod:`intfp.sim.tb_stream`: one write and one or two reads per row) independent of the
number of members. Members with fewer rows than the bundle see zero inputs afterwards and are
not compared there; the comparison mask is per byte (:class:`~intfp.sim.tb_stream.Scoreboard`),
so each member's rows are compared exactly where its own mask says.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from amaranth import Cat, Const, Module, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .runner import SimResult, build, check_simulator, simulate
from .tb_stream import Scoreboard
from .vectors import Vectors, port_widths

__all__ = ["Member", "Bundle", "bundle_vectors", "split_result", "run_bundle"]


@dataclass
class Member:
    """One check in a bundle: a key (unique in the bundle, part of the build key), the unit's
    factory and a function giving its :class:`Vectors`."""

    key: str
    factory: object
    vectors: object


def _slots(widths: dict[str, tuple[str, int]], early: set, clocked: bool):
    """(bucket, port, width) for every port of one member; bucket: ``i``, ``o`` or ``oe``."""
    out = []
    for name, (flow, width) in widths.items():
        if flow == "in":
            out.append(("i", name, width))
        else:
            out.append(("oe" if clocked and name in early else "o", name, width))
    return out


class Bundle(wiring.Component):
    """``units[k]`` as submodules ``m<k>``; their ports byte-aligned in ``i``, ``o``, ``oe``.

    ``sampling[k]``: ``(early ports, clocked)`` of ``units[k]``'s vectors; a clocked member's
    early ports go to ``oe``, every other output to ``o``."""

    def __init__(self, units, sampling):
        self._units = list(units)
        if len(self._units) != len(sampling):
            raise ValueError(f"{len(self._units)} units but {len(sampling)} sampling entries")
        self.layout = []            # per member: {port: (bucket, byte offset, width)}
        size = {"i": 0, "o": 0, "oe": 0}
        for unit, (ports, is_clocked) in zip(self._units, sampling):
            place = {}
            for bucket, name, width in _slots(port_widths(unit), set(ports), is_clocked):
                place[name] = (bucket, size[bucket], width)
                size[bucket] += (width + 7) // 8
            self.layout.append(place)
        self.nbytes = size
        members = {"i": In(max(8, 8 * size["i"])), "o": Out(max(8, 8 * size["o"]))}
        if size["oe"]:
            members["oe"] = Out(8 * size["oe"])
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        parts = {"o": [], "oe": []}
        for k, (unit, place) in enumerate(zip(self._units, self.layout)):
            m.submodules[f"m{k}"] = unit
            for name, (bucket, off, width) in place.items():
                port = Value.cast(getattr(unit, name))
                if bucket == "i":
                    m.d.comb += port.eq(self.i[8 * off:8 * off + width])
                else:
                    parts[bucket].append((off, port, width))
        for bucket, items in parts.items():
            if not items:
                continue
            # One driver per wide output (Icarus resolves many part drivers of one net in
            # time quadratic in their number); the pad bits up to each byte boundary are 0.
            pieces = []
            for _, port, width in sorted(items, key=lambda t: t[0]):
                pieces.append(port.as_unsigned())
                if width % 8:
                    pieces.append(Const(0, 8 - width % 8))
            m.d.comb += getattr(self, bucket).eq(Cat(*pieces))
        return m


def _check_bytes(what: str, arr: np.ndarray, width: int) -> np.ndarray:
    if arr.shape[1] != (width + 7) // 8:
        raise ValueError(f"{what}: {arr.shape[1]} bytes per row, but the port has {width} bits "
                         f"({(width + 7) // 8} bytes)")
    return arr


def bundle_vectors(name: str, parts: list[Vectors], bundle: Bundle) -> Vectors:
    """One :class:`Vectors` for the bundle: the members' rows side by side in ``i`` / ``o`` /
    ``oe``, padded with zero rows (not compared) up to the longest member; the mask is per byte
    so that each member is compared exactly on its own masked rows."""
    rows = max(v.rows for v in parts)
    clocked = any(v.clocked for v in parts)
    n = bundle.nbytes
    inputs = np.zeros((rows, max(1, n["i"])), np.uint8)
    expect = {b: np.zeros((rows, max(1, n[b])), np.uint8) for b in ("o", "oe") if n[b] or b == "o"}
    mask = {b: np.zeros(e.shape, bool) for b, e in expect.items()}
    for v, place in zip(parts, bundle.layout):
        unknown = (set(v.inputs) | set(v.expect)) - set(place)
        if unknown:
            raise ValueError(f"{v.name}: vectors name ports {sorted(unknown)} the unit lacks "
                             f"(it has {sorted(place)})")
        for port, rows_ in v.inputs.items():
            _, off, width = place[port]
            inputs[:v.rows, off:off + rows_.shape[1]] = _check_bytes(f"{v.name} input {port}", rows_, width)
        for port, rows_ in v.expect.items():
            bucket, off, width = place[port]
            nb = _check_bytes(f"{v.name} output {port}", rows_, width).shape[1]
            expect[bucket][:v.rows, off:off + nb] = rows_
            mask[bucket][:v.rows, off:off + nb] = np.asarray(v.mask[port], bool)[:, None]
    return Vectors(name=name, clocked=clocked, inputs={"i": inputs}, expect=expect, mask=mask,
                   count=sum(v.count for v in parts), early=("oe",) if "oe" in expect else ())


def split_result(res: SimResult, parts: list[Vectors], bundle: Bundle,
                 build_seconds: float) -> list[SimResult]:
    """Per-member results of a bundle run: each member's sampled rows cut out of the wide
    ports and compared with its own expected rows and mask (the bundle's run already passed
    :func:`~intfp.sim.runner.simulate`'s consistency checks: the cocotb verdict agrees with
    the host scoreboard). Seconds are the bundle's (shared by its members)."""
    out = []
    for v, place in zip(parts, bundle.layout):
        samples = {}
        for port, exp in v.expect.items():
            bucket, off, _ = place[port]
            samples[port] = res.outputs[bucket][:v.rows, off:off + exp.shape[1]]
        bad = Scoreboard(v.expect, v.mask).mismatches(samples)
        failed = int(any(len(x) for x in bad.values()))
        out.append(SimResult(v.name, v.count, v.rows, bad, samples, failed,
                             build_seconds=build_seconds, sim_seconds=res.sim_seconds, log=res.log,
                             coverage=v.coverage, simulator=res.simulator))
    return out


def _silence(obj, depth: int = 4) -> None:
    """Mark ``obj`` and the elaboratables it holds (a harness's replicas, ...) as deliberately
    never elaborated, so Amaranth does not warn about them."""
    from amaranth._unused import MustUse

    if isinstance(obj, MustUse):
        obj._MustUse__silence = True
    if depth == 0:
        return
    items = obj if isinstance(obj, (list, tuple)) else \
        (obj.values() if isinstance(obj, dict) else getattr(obj, "__dict__", {}).values())
    for item in items:
        if isinstance(item, (MustUse, list, tuple, dict)):
            _silence(item, depth - 1)


def run_bundle(members: list[Member], top: str, *, simulator: str | None = None,
               flat: bool = True) -> list[SimResult]:
    """Build (cached by the members' keys) and simulate the members as one :class:`Bundle`;
    one :class:`SimResult` per member, in order."""
    sim = check_simulator(simulator)
    parts = [m.vectors() for m in members]
    sampling = [(v.early, v.clocked) for v in parts]
    made = {}

    def factory():
        made["b"] = Bundle([m.factory() for m in members], sampling)
        return made["b"]

    key = top + "|" + "|".join(m.key for m in members)
    d, t_build = build(factory, key, top, flat=flat, simulator=sim)
    # The layout is a function of the members' signatures only: on a cached build, construct
    # the Bundle again for it (cheap: elaboration happens in the export, not the constructor)
    # and tell Amaranth it is deliberately never elaborated.
    bundle = made.get("b")
    if bundle is None:
        bundle = factory()
        _silence(bundle)
    res = simulate(bundle_vectors(top, parts, bundle), d, top)
    return split_result(res, parts, bundle, t_build)
