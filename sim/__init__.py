"""intfp.sim: verification of the RTL against the bit-accurate model.

:mod:`~intfp.sim.vectors` (stimulus and expected rows), :mod:`~intfp.sim.tb_stream` (the cocotb
testbench), :mod:`~intfp.sim.runner` (cached Icarus builds via ``cocotb_tools.runner``),
:mod:`~intfp.sim.checks` (lane / block / scalar / mixed checks), :mod:`~intfp.sim.pysim`
(the same rows in Amaranth's simulator).
"""
