"""Quantized workloads from the companion papers (see docs/workloads.md).

Every workload runs its GEMMs through :func:`qmatmul` (block-quantized operands along the
reduction dimension, FP32 accumulation, optional random Hadamard rotation, quantized backward
GEMMs under autograd) and is compared with its own float64 reference:

===============  ======================================================================  ====================
name             what                                                                    module
===============  ======================================================================  ====================
``hla``          Higher-order Linear Attention, arXiv 2510.27258 (+ AHLA, serial form)   :mod:`.hla`
``rope``         multimodal RoPE attention, arXiv 2510.23095                             :mod:`.rope`
``llm_tensors``  LLM-like activations x weights with outlier channels                    :mod:`.tensors`
``tiny_lm``      direct-cast inference of a tiny LM, arXiv 2510.25602 section 5.2        :mod:`.tiny_lm`
``lm_train``     low-bit training of the tiny LM, arXiv 2510.25602 section 5.3           :mod:`.tiny_lm`
``dmd``          Phased DMD 2-D toy, arXiv 2510.27684                                    :mod:`.dmd`
``bob``          BOB context marginalization, arXiv 2510.24078                           :mod:`.bob`
``value_drift``  Value Drifts stance metrics, arXiv 2510.26707                           :mod:`.value_drift`
===============  ======================================================================  ====================

``run_workload(name, formats, hadamard=False, seed=0, record=None)`` returns one row per format;
``intfp workload NAME`` is the command line. ``record`` writes the GEMM operand streams
(:mod:`.streams`) that the energy estimator replays.
"""
from __future__ import annotations

import importlib

__all__ = ["qmatmul", "make_mm", "GemmRecorder", "resolve_format", "asymmetric", "OperandStream",
           "save_streams", "load_streams", "run_workload", "workload_names"]

_LAZY = {"qmatmul": "qgemm", "make_mm": "qgemm", "GemmRecorder": "qgemm", "resolve_format": "qgemm",
         "asymmetric": "qgemm", "OperandStream": "streams", "save_streams": "streams",
         "load_streams": "streams", "run_workload": "runner", "workload_names": "runner"}


def __getattr__(name):
    # Lazy: `intfp workload --help` and stream readers should not pay for torch and every workload.
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
