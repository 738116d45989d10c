"""intfp.sim: verification of the RTL against the bit-accurate model.

:mod:`~intfp.sim.vectors` (stimulus and expected rows), :mod:`~intfp.sim.mixed_vectors` (the mixed
units' rows), :mod:`~intfp.sim.tb_stream` (the cocotb testbench), :mod:`~intfp.sim.runner`
(cached builds and runs on Verilator or Icarus via ``cocotb_tools.runner``; tool faults raise
``SimulatorError``), :mod:`~intfp.sim.checks` (lane / block / scalar / mixed checks),
:mod:`~intfp.sim.pysim` (the same rows in Amaranth's simulator).
"""
