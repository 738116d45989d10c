"""intfp.models: bit-exact software reference models of the formats, their theory and workloads.

Main entry points::

    from intfp.models import quantize, quantize_codes
    from intfp.models.theory import qsnr_int, qsnr_fp, crossover_crest_factor
"""
from .elements import decode, encode, round_to_grid
from .formats import (ALIASES, ELEMENT_FORMATS, PRESETS, SCALE_FORMATS, BlockFormat, ElementFormat,
                      ScaleFormat, block_format, element_format, format_names)
from .blocks import BlockCodes, quantize, quantize_codes

__all__ = [
    "quantize", "quantize_codes", "BlockCodes",
    "BlockFormat", "ElementFormat", "ScaleFormat", "block_format", "element_format", "format_names",
    "PRESETS", "ALIASES", "ELEMENT_FORMATS", "SCALE_FORMATS",
    "round_to_grid", "encode", "decode",
]
