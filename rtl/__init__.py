"""intfp.rtl: INT and FP MAC / block dot-product units in Amaranth.

* :mod:`intfp.rtl.units`: :func:`~intfp.rtl.units.make_unit`, :func:`~intfp.rtl.units.unit_names`,
  the block dot-product unit and the scalar MAC;
* :mod:`intfp.rtl.mixed`: the mixed 8/4-bit units of the study's Table 7;
* :mod:`intfp.rtl.components`: the reusable sub-blocks (Table 6 rows);
* :mod:`intfp.rtl.export`: Verilog export; ``intfp rtl``: :mod:`intfp.cli_rtl`.

The arithmetic is specified in ``docs/arithmetic.md`` and modelled bit for bit by
:mod:`intfp.models.hwmodel`.
"""
