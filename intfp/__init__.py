"""intfp: hardware cost modelling and RTL simulation of low-bit INT / FP block formats.

Subpackages: :mod:`intfp.models` (bit-exact software reference models),
:mod:`intfp.rtl` (Amaranth hardware), :mod:`intfp.sim` (cocotb testbenches),
:mod:`intfp.analysis` (synthesis, area, energy, reports).
"""

__version__ = "0.1.0"
