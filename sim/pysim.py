"""Run a :class:`~intfp.sim.vectors.Vectors` through Amaranth's own simulator.

The same rows and the same timing as the cocotb testbench (:mod:`intfp.sim.tb_stream`): input
row ``j`` is applied; the ``Vectors.early`` ports are sampled once the inputs settle, before
the clock edge; one clock edge passes (clocked units); then every other output is sampled.
No external tools; fast enough for small units and a few hundred rows, which makes it the
unit-test path, while Icarus + cocotb checks the exported Verilog at volume.
"""
from __future__ import annotations

import numpy as np
from amaranth import Value
from amaranth.sim import Simulator

from .tb_stream import Scoreboard
from .vectors import Vectors

__all__ = ["simulate_pysim"]


def _to_int(row: np.ndarray) -> int:
    return int.from_bytes(row.tobytes(), "little")


def simulate_pysim(dut, vectors: Vectors) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Returns (sampled output rows, mismatching row indices per compared port)."""
    rows = vectors.rows
    ins = [(Value.cast(getattr(dut, name)), data) for name, data in vectors.inputs.items()]
    outs = {}
    for name in vectors.expect:
        port = Value.cast(getattr(dut, name))
        outs[name] = (port, np.zeros((rows, (len(port) + 7) // 8), np.uint8))

    early = set(vectors.early) if vectors.clocked else set()

    def sample(ctx, j, names):
        for name in names:
            port, buf = outs[name]
            value = ctx.get(port) & ((1 << len(port)) - 1)          # two's complement bits
            buf[j] = np.frombuffer(value.to_bytes(buf.shape[1], "little"), np.uint8)

    async def testbench(ctx):
        for j in range(rows):
            for port, data in ins:
                ctx.set(port, _to_int(data[j]))
            sample(ctx, j, [n for n in outs if n in early])      # settled, before the clock edge
            if vectors.clocked:
                await ctx.tick()
            sample(ctx, j, [n for n in outs if n not in early])  # after the edge (registered)

    sim = Simulator(dut)
    if vectors.clocked:
        sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()
    samples = {name: buf for name, (_, buf) in outs.items()}
    return samples, Scoreboard(vectors.expect, vectors.mask).mismatches(samples)
