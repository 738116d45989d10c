"""Fake-quantization throughput: intfp vs torchao vs a tensor copy, measured in one run.

    .venv/bin/python benchmarks/quantize_throughput.py [--size 4096] [--repeats 9]
        [--formats mxfp8,mxint8,...] [--chunk ELEMS]

Quantize-dequantizes a size x size float32 tensor (Gaussian) with ``intfp.models.quantize``
(default rounding, half to even: the kernels of ``models/qkernels.py``) and with torchao 0.18's
eager CPU path (``MXTensor.to_mx`` + ``dequantize`` for MX, ``NVFP4Tensor.to_nvfp4`` +
``dequantize`` for NVFP4: the same round trip). torchao has no MXINT formats and no NVINT4, so
those rows have no torchao column.

References measured in the same run: ``torch.clone`` of the tensor (the issue's reference) and
``numpy.ndarray.copy``. On Linux torch's allocator returns fresh 4 KiB pages for every 64 MiB
tensor, so a clone pays a page fault per 4 KiB and runs several times slower than numpy's copy
(numpy asks for transparent huge pages); intfp's output is a numpy array, so the copy column
is the stricter one.

Every case runs once to warm up, then the cases run round-robin ``--repeats`` times and each
reports its median, so load from other processes on a shared machine hits every column alike.
The load average is printed with the table: on a busy 2-core machine, OpenMP ops (intfp, torch)
wait for their slowest thread, and the ratios against the single-threaded copy drop.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings

import numpy as np
import torch

# torchao's FP6 conversion takes seconds per call here: ask for mxfp6 with --formats.
DEFAULT_FORMATS = "mxfp8,mxfp8_e5m2,mxfp4,mxint8,mxint4,nvfp4,nvint4"


def _torchao_cases(x_t):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torchao.prototype.mx_formats.constants import DTYPE_FP6_E2M3, DTYPE_FP6_E3M2
        from torchao.prototype.mx_formats.mx_tensor import MXTensor
        from torchao.prototype.mx_formats.nvfp4_tensor import NVFP4Tensor, per_tensor_amax_to_scale

    def mx(dtype):
        return lambda: MXTensor.to_mx(x_t, dtype, 32).dequantize(torch.float32)

    def nvfp4():
        t = per_tensor_amax_to_scale(x_t.abs().max())
        return NVFP4Tensor.to_nvfp4(x_t, 16, per_tensor_scale=t).dequantize(torch.float32)

    return {"mxfp8": mx(torch.float8_e4m3fn), "mxfp8_e4m3": mx(torch.float8_e4m3fn),
            "mxfp8_e5m2": mx(torch.float8_e5m2), "mxfp6": mx(DTYPE_FP6_E2M3),
            "mxfp6_e2m3": mx(DTYPE_FP6_E2M3), "mxfp6_e3m2": mx(DTYPE_FP6_E3M2),
            "mxfp4": mx(torch.float4_e2m1fn_x2), "mxfp4_e2m1": mx(torch.float4_e2m1fn_x2),
            "nvfp4": nvfp4}


def _round_robin(cases: dict, repeats: int) -> dict:
    for fn in cases.values():
        fn()                                       # warm up: imports, pools, allocator
    times = {k: [] for k in cases}
    for _ in range(repeats):
        for k, fn in cases.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--formats", default=DEFAULT_FORMATS)
    ap.add_argument("--chunk", type=int, default=None,
                    help="elements per kernel chunk (models/qkernels.py CHUNK_ELEMS)")
    args = ap.parse_args(argv)

    import intfp.models.qkernels as qk
    from intfp.models import block_format, quantize
    if args.chunk:
        qk.CHUNK_ELEMS = args.chunk

    n = args.size
    x_np = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    x_t = torch.from_numpy(x_np)
    elems = x_np.size
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    ao = _torchao_cases(x_t)

    cases = {"clone": lambda: x_t.clone(), "copy": lambda: x_np.copy()}
    for f in formats:
        cases[f"intfp {f}"] = (lambda f=f: quantize(x_np, f))
        if f in ao:
            cases[f"torchao {f}"] = ao[f]
    # one thread, MXFP8: how much the intra-op threads give
    threads = torch.get_num_threads()

    def one_thread():
        torch.set_num_threads(1)
        try:
            quantize(x_np, formats[0])
        finally:
            torch.set_num_threads(threads)
    if threads > 1:
        cases[f"intfp {formats[0]} 1 thread"] = one_thread

    load0 = os.getloadavg()[0]
    t = _round_robin(cases, args.repeats)
    load1 = os.getloadavg()[0]
    rate = {k: elems / v for k, v in t.items()}

    print(f"fake-quantize a {n}x{n} float32 tensor; median of {args.repeats} round-robin runs; "
          f"torch threads {threads}; load average {load0:.2f} -> {load1:.2f} on "
          f"{os.cpu_count()} CPUs")
    print(f"references: torch.clone {rate['clone'] / 1e6:.0f} M el/s, numpy copy "
          f"{rate['copy'] / 1e6:.0f} M el/s")
    print("| format | intfp M el/s | torchao M el/s | intfp / torchao | intfp / clone | intfp / numpy copy |")
    print("|---|---:|---:|---:|---:|---:|")
    for f in formats:
        ours = rate[f"intfp {f}"]
        ref = rate.get(f"torchao {f}")
        print(f"| {f} | {ours / 1e6:.0f} | {f'{ref / 1e6:.1f}' if ref else 'n/a'} | "
              f"{f'{ours / ref:.1f}x' if ref else 'n/a'} | {ours / rate['clone']:.2f} | "
              f"{ours / rate['copy']:.2f} |")
    single = rate.get(f"intfp {formats[0]} 1 thread")
    kinds = {block_format(f).element.kind for f in formats}
    print(f"limits: memory passes: one read of the input and one write of the output per "
          f"element from DRAM (NV formats and per-tensor scales: one more read for the tensor "
          f"amax), then {qk.PASSES['fp']} (FP elements) / {qk.PASSES['int']} (INT) torch passes "
          f"per element over chunks of {qk.CHUNK_ELEMS} elements in L2/L3, each at cache, not "
          f"DRAM, bandwidth; the copy makes one read and one write."
          if kinds else "")
    if single:
        print(f"limits: threads: torch intra-op threads split every pass; {formats[0]} with 1 "
              f"thread {single / 1e6:.0f} M el/s, with {threads} "
              f"{rate[f'intfp {formats[0]}'] / 1e6:.0f} M el/s "
              f"({rate[f'intfp {formats[0]}'] / single:.2f}x); the copy is single-threaded.")


if __name__ == "__main__":
    main()
