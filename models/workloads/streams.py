"""Operand streams: the element and scale codes one named GEMM fed to its block dot products.

A stream is what a block-scaled MAC array sees: row ``i`` of ``a_codes`` (``k`` element codes,
one block) is multiplied element-wise with row ``i`` of ``b_codes`` and summed, then scaled by
``a_scales[i]`` and ``b_scales[i]`` (and the NV per-tensor scales). The codes are exactly
:func:`intfp.models.quantize_codes` ``.codes`` / ``.scale_codes``, so an energy or toggle-rate
estimator can replay a real workload bit for bit.

File format: one ``.npz`` per run. Each stream ``name`` is stored as the arrays
``<i>/a_codes``, ``<i>/a_scales``, ``<i>/b_codes``, ``<i>/b_scales`` (``i`` its position: a
stream name may hold any character, e.g. the ``/`` of a format ``mx:e2m2/b16/ue8m0``) plus a
JSON header (``__meta__``) with each stream's name, ``gemm``, ``fmt``, ``block_size`` and the
tensor scales. Writes are
atomic: the archive is written to a temporary file in the target directory and renamed over the
destination, so a reader never sees a half-written file.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["OperandStream", "save_streams", "load_streams"]

_FIELDS = ("a_codes", "a_scales", "b_codes", "b_scales")
_VERSION = 2


@dataclass
class OperandStream:
    """Paired block operands of one named GEMM (see the module docstring).

    ``a_codes`` / ``b_codes``: uint8 ``(nblocks, k)``; ``a_scales`` / ``b_scales``: uint8
    ``(nblocks,)`` UE8M0 / E4M3 scale codes (float32 scale values for a format with FP32 block
    scales, as ``quantize_codes`` returns them); ``*_tensor_scale``: the FP32 per-tensor scale of NV
    formats, else ``None``.
    """

    gemm: str
    fmt: str
    a_codes: np.ndarray
    a_scales: np.ndarray
    b_codes: np.ndarray
    b_scales: np.ndarray
    a_tensor_scale: float | None
    b_tensor_scale: float | None
    block_size: int

    def __post_init__(self):
        for f in _FIELDS:
            x = np.asarray(getattr(self, f))
            # Scales of formats with FP32 block scales are float32 values, not codes: keep them exact.
            dtype = np.float32 if f.endswith("_scales") and x.dtype.kind == "f" else np.uint8
            setattr(self, f, np.ascontiguousarray(x, dtype=dtype))
        n, k = self.a_codes.shape if self.a_codes.ndim == 2 else (None, None)
        if self.a_codes.ndim != 2 or self.b_codes.shape != self.a_codes.shape:
            raise ValueError(f"stream {self.gemm!r}: a_codes and b_codes must both be (nblocks, k); "
                             f"got {self.a_codes.shape} and {self.b_codes.shape}")
        if self.a_scales.shape != (n,) or self.b_scales.shape != (n,):
            raise ValueError(f"stream {self.gemm!r}: scales must be ({n},); got "
                             f"{self.a_scales.shape} and {self.b_scales.shape}")
        if k != self.block_size:
            raise ValueError(f"stream {self.gemm!r}: code rows have {k} elements but "
                             f"block_size is {self.block_size}")

    @property
    def nblocks(self) -> int:
        return int(self.a_codes.shape[0])

    def __eq__(self, other) -> bool:
        if not isinstance(other, OperandStream):
            return NotImplemented
        return (self.gemm, self.fmt, self.block_size, self.a_tensor_scale, self.b_tensor_scale) == \
            (other.gemm, other.fmt, other.block_size, other.a_tensor_scale, other.b_tensor_scale) \
            and all(np.array_equal(getattr(self, f), getattr(other, f)) for f in _FIELDS)


def save_streams(path: str | os.PathLike, streams: dict[str, OperandStream] | list[OperandStream]) -> Path:
    """Write ``streams`` (a dict keyed by name, or a list keyed by ``.gemm``) to ``path`` atomically.

    Raises ``ValueError`` for a stream key containing ``/`` and ``OSError`` (with the path) when
    the directory does not exist or is not writable. Returns the path written.
    """
    if not isinstance(streams, dict):
        streams = {s.gemm: s for s in streams}
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"operand streams are written as .npz; got {str(path)!r}")
    arrays, meta = {}, {"version": _VERSION, "streams": {}}
    for name, s in streams.items():
        if not isinstance(s, OperandStream):
            raise ValueError(f"stream {name!r} is a {type(s).__name__}, not an OperandStream")
        if not isinstance(name, str) or not name:
            raise ValueError(f"stream names must be non-empty strings; got {name!r}")
        key = str(len(meta["streams"]))
        for f in _FIELDS:
            arrays[f"{key}/{f}"] = getattr(s, f)
        meta["streams"][name] = {"key": key, "gemm": s.gemm, "fmt": s.fmt, "block_size": int(s.block_size),
                                 "a_tensor_scale": s.a_tensor_scale, "b_tensor_scale": s.b_tensor_scale}
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        what = "is not a directory" if directory.exists() else "does not exist"
        raise OSError(f"cannot write operand streams to {str(path)!r}: directory {str(directory)!r} {what}")
    if path.is_dir():
        raise OSError(f"cannot write operand streams to {str(path)!r}: it is a directory")
    from intfp.cache import atomic_write

    try:
        atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays))
    except OSError as e:
        raise OSError(f"cannot write operand streams to {str(path)!r}: {e.strerror or e}") from e
    return path


def load_streams(path: str | os.PathLike) -> dict[str, OperandStream]:
    """Read a file written by :func:`save_streams`; returns ``{name: OperandStream}``."""
    with np.load(Path(path), allow_pickle=False) as z:
        if "__meta__" not in z.files:
            raise ValueError(f"{str(path)!r} is not an operand-stream file (no __meta__ header)")
        meta = json.loads(z["__meta__"].tobytes().decode())
        if meta.get("version") != _VERSION:
            raise ValueError(f"{str(path)!r}: unsupported stream file version {meta.get('version')!r}")
        out = {}
        for name, m in meta["streams"].items():
            m = dict(m)
            key = m.pop("key")
            out[name] = OperandStream(**m, **{f: z[f"{key}/{f}"] for f in _FIELDS})
        return out
