"""Fake-quantization throughput: intfp vs torchao vs a plain tensor copy, in one run.

    .venv/bin/python benchmarks/quantize_throughput.py [--size 4096] [--repeats 5]

Prints elements/s (median of the repeats) for a size x size float32 tensor quantized to MXFP8,
MXINT8, MXFP4 and NVFP4, with the ratios intfp / torchao and intfp / copy. torchao's conversion
is its eager CPU path (``to_mx`` + ``dequantize`` for MX, ``NVFP4Tensor.to_nvfp4`` +
``dequantize`` for NVFP4): the same quantize-dequantize round trip intfp's ``quantize`` does.
torchao has no MXINT8 (its constants say "TODO: add support for MX int8"), so that row has no
torchao column. Threads: intfp uses its own pool (one thread per core, up to 4); torch uses its
default intra-op threads.
"""
from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import torch


def _timeit(fn, repeats):
    fn()                                   # warm up (allocations, imports, thread pools)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)

    from intfp.models import quantize
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torchao.prototype.mx_formats.mx_tensor import MXTensor
        from torchao.prototype.mx_formats.nvfp4_tensor import NVFP4Tensor, per_tensor_amax_to_scale

    n = args.size
    x_np = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    x_t = torch.from_numpy(x_np)
    elems = x_np.size

    def torchao_mx(dtype):
        return lambda: MXTensor.to_mx(x_t, dtype, 32).dequantize(torch.float32)

    def torchao_nvfp4():
        t = per_tensor_amax_to_scale(x_t.abs().max())
        return NVFP4Tensor.to_nvfp4(x_t, 16, per_tensor_scale=t).dequantize(torch.float32)

    t_copy = _timeit(lambda: x_np.copy(), args.repeats)
    rows = []
    cases = [("mxfp8", torchao_mx(torch.float8_e4m3fn)), ("mxint8", None),
             ("mxfp4", torchao_mx(torch.float4_e2m1fn_x2)), ("nvfp4", torchao_nvfp4)]
    for fmt, ref in cases:
        t_ours = _timeit(lambda: quantize(x_np, fmt), args.repeats)
        t_ref = _timeit(ref, args.repeats) if ref else None
        rows.append((fmt, elems / t_ours, elems / t_ref if t_ref else None))

    print(f"fake-quantize a {n}x{n} float32 tensor (median of {args.repeats}); "
          f"copy: {elems / t_copy / 1e6:.0f} M elements/s; torch threads: {torch.get_num_threads()}")
    print(f"| format | intfp M el/s | torchao M el/s | intfp / torchao | intfp / copy |")
    print(f"|---|---:|---:|---:|---:|")
    for fmt, ours, ref in rows:
        ref_s = f"{ref / 1e6:.1f}" if ref else "n/a"
        ratio = f"{ours / ref:.1f}x" if ref else "n/a"
        print(f"| {fmt} | {ours / 1e6:.1f} | {ref_s} | {ratio} | {ours / (elems / t_copy):.2f} |")


if __name__ == "__main__":
    main()
