"""cocotb testbench: stream rows of a :class:`intfp.sim.vectors.Vectors` through any unit.

The runner (:mod:`intfp.sim.runner`) passes two paths in the environment: ``INTFP_VECTORS``
(the ``.npz`` written by ``Vectors.save``) and ``INTFP_OUTPUTS`` (where the sampled outputs
go). A :class:`Driver` applies one input row per cycle on the falling clock edge (clocked
units) or one row per step (combinational units); a :class:`Monitor` samples every output
port once per row: the ``Vectors.early`` ports (combinational outputs) 1 ns after the inputs
are applied, before the rising edge, the others just before the next row is applied (after
the rising edge); the :class:`Scoreboard` compares the samples with the model's expected rows
and fails the test on the first mismatches.
"""
from __future__ import annotations

import os

import numpy as np

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, Timer


def _to_int(row: np.ndarray) -> int:
    return int.from_bytes(row.tobytes(), "little")


class Driver:
    """Applies input rows to the DUT's input ports."""

    def __init__(self, dut, inputs: dict[str, np.ndarray]):
        self._ports = [(getattr(dut, name), rows) for name, rows in inputs.items()]

    def apply(self, j: int) -> None:
        for handle, rows in self._ports:
            handle.value = _to_int(rows[j])

    def idle(self) -> None:
        for handle, rows in self._ports:
            handle.value = 0


class Monitor:
    """Samples output ports into byte rows."""

    def __init__(self, dut, names, rows: int):
        self._ports = []
        self.samples = {}
        for name in names:
            handle = getattr(dut, name)
            nbytes = (len(handle) + 7) // 8
            self._ports.append((name, handle, nbytes))
            self.samples[name] = np.zeros((rows, nbytes), np.uint8)

    def sample(self, j: int) -> None:
        for name, handle, nbytes in self._ports:
            value = int(handle.value)
            self.samples[name][j] = np.frombuffer(value.to_bytes(nbytes, "little"), np.uint8)


class Scoreboard:
    """Compares monitored rows with expected rows where the mask is set: a mask is per row
    ``(rows,)``, or per byte ``(rows, nbytes)`` (a :mod:`intfp.sim.bundle` port carrying
    several units' ports, each compared on its own rows)."""

    def __init__(self, expect: dict[str, np.ndarray], mask: dict[str, np.ndarray]):
        self.expect, self.mask = expect, mask

    def mismatches(self, samples: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = {}
        for name, exp in self.expect.items():
            mask = np.asarray(self.mask[name], bool)
            ne = samples[name] != exp
            diff = np.any(ne & mask, axis=1) if mask.ndim == 2 else np.any(ne, axis=1) & mask
            out[name] = np.nonzero(diff)[0]
        return out


def _load():
    data = np.load(os.environ["INTFP_VECTORS"])

    def pick(prefix):
        return {k[len(prefix):]: data[k] for k in data.files if k.startswith(prefix)}

    early = [str(x) for x in data["meta_early"]] if "meta_early" in data.files else []
    return bool(data["meta_clocked"]), pick("in_"), pick("exp_"), pick("mask_"), early


@cocotb.test()
async def stream(dut):
    """Apply every row, sample every output port, compare with the model."""
    clocked, inputs, expect, mask, early = _load()
    rows = len(next(iter(inputs.values())))
    driver = Driver(dut, inputs)
    before = Monitor(dut, [name for name in expect if name in early], rows)
    monitor = Monitor(dut, [name for name in expect if name not in early], rows)
    if clocked:
        cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
        dut.rst.value = 1
        driver.idle()
        await FallingEdge(dut.clk)
        await FallingEdge(dut.clk)
        dut.rst.value = 0
        for j in range(rows):
            driver.apply(j)                 # on the falling edge; the rising edge is 5 ns on
            if before.samples:
                await Timer(1, unit="ns")   # inputs settled, before the rising edge
                before.sample(j)
            await FallingEdge(dut.clk)      # one rising edge has passed; inputs still row j
            monitor.sample(j)
    else:
        for j in range(rows):
            driver.apply(j)
            await Timer(1, unit="ns")
            monitor.sample(j)
            before.sample(j)
    samples = monitor.samples | before.samples
    np.savez(os.environ["INTFP_OUTPUTS"], **samples)
    bad = Scoreboard(expect, mask).mismatches(samples)
    total = sum(len(v) for v in bad.values())
    detail = "; ".join(f"{name}: {len(idx)} rows, first {idx[:5].tolist()}"
                       for name, idx in bad.items() if len(idx))
    assert total == 0, f"RTL != model: {detail}"
