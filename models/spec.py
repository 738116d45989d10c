"""One definition of a hardware unit, resolved once from what the user typed.

``resolve_unit("mxint8")``, ``resolve_unit("mxfp8+nvfp4")``, ``resolve_unit("e4m3")`` (a scalar
MAC) or ``resolve_unit("mxfp8", lanes=4, window=16)`` return a frozen :class:`UnitSpec` that
holds everything derived from those words: the element and scale formats, the arithmetic
parameters of each block datapath (:class:`intfp.models.hwmodel.DotSpec`: lanes, alignment
window, widths), the data ports and how lanes are packed into them, the top-module name, the
accumulator width and the MACs per cycle. The RTL (:func:`intfp.rtl.units.make_unit`), the
simulation, synthesis, energy, cache keys, the command line and the reports take the spec; none
of them parses the format string again. Parameters are validated here, once, with messages
that name the bad value and what is allowed.

Layer: models. Imports nothing above :mod:`intfp.models`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .formats import (ALIASES, ELEMENT_FORMATS, FORMAT_GRAMMAR, PRESETS, BlockFormat, ElementFormat,
                      _is_element_name, block_format, element_format)
from .hwmodel import LANE_ARCHS, DotSpec, dot_spec

__all__ = ["UnitSpec", "Port", "resolve_unit", "UNIT_KINDS", "MIXED_UNITS", "NV_BLOCK",
           "MAX_PIPELINE", "LANE_ARCHS", "pack_lanes", "unit_kinds_help", "verilog_name"]

UNIT_KINDS = ("block", "scalar", "mixed")

#: The study's Table 7 mixed units: name -> (8-bit preset, 4-bit preset).
MIXED_UNITS = {"mxfp8+nvfp4": ("mxfp8_e4m3", "nvfp4"), "mxint8+nvint4": ("mxint8", "nvint4")}

#: NV block size: a mixed unit's 4-bit mode runs ``2 * lanes / NV_BLOCK`` NV blocks per cycle.
NV_BLOCK = 16

#: Deepest pipeline option of a block unit: register levels before ``dot``, placed after the
#: adder tree (1), the lane multipliers (2) and the normalizer (3) (:class:`intfp.rtl.units.BlockDotUnit`).
MAX_PIPELINE = 3


@dataclass(frozen=True)
class Port:
    """A data input port: ``lanes`` fields of ``bits`` bits, lane i in bits [i*bits, (i+1)*bits)."""

    name: str
    lanes: int
    bits: int

    @property
    def width(self) -> int:
        return self.lanes * self.bits


@dataclass(frozen=True)
class UnitSpec:
    """Everything that defines one hardware unit (see the module docstring).

    Construct with :func:`resolve_unit`; the fields after ``pipeline`` are derived from the
    first five and never set by hand.
    """

    kind: str                       # "block" | "scalar" | "mixed"
    name: str                       # canonical: preset ("mxfp8_e4m3"), element ("e4m3") or mixed name
    lanes: int                      # element pairs per cycle (mixed: 8-bit pairs; scalar: 1)
    window: int | None              # FP block units: alignment window n; otherwise None
    pipeline: int                   # register levels before ``dot`` (block units); stages - 1
    lane_arch: str                  # lane architecture (hwmodel.LANE_ARCHS); default per kind
    dots: tuple[DotSpec, ...] = field(compare=False)    # block: (dot,); mixed: (mx, nv); scalar: ()
    elem: ElementFormat = field(compare=False)         # the (8-bit, for mixed) element format
    acc_bits: int = field(compare=False)               # accumulator width (FP32 = 32)
    top: str = field(compare=False)                    # top-level module name in every netlist
    ports: tuple[Port, ...] = field(compare=False)     # data inputs besides valid / first
    macs_per_cycle: tuple[int, ...] = field(compare=False)  # per mode (mixed: 8-bit, 4-bit)

    # -- views ---------------------------------------------------------------------------------
    @property
    def dot(self) -> DotSpec:
        """The block datapath of a block unit."""
        if self.kind != "block":
            raise ValueError(f"{self.label} is a {self.kind} unit, not a block unit")
        return self.dots[0]

    @property
    def fmt(self) -> BlockFormat:
        """The block format (block units; the 8-bit format of a mixed unit)."""
        if self.kind == "scalar":
            raise ValueError(f"{self.label} is a scalar MAC: it has an element format, no block format")
        return self.dots[0].fmt

    @property
    def formats(self) -> tuple[str, ...]:
        """Preset names of the block formats the unit computes (two for a mixed unit)."""
        return tuple(d.fmt.name for d in self.dots)

    @property
    def block_size(self) -> int | None:
        return self.dots[0].lanes if self.kind == "block" else None

    @property
    def scale(self) -> str | None:
        """Block-scale format(s): ``"ue8m0"``, ``"e4m3"``, ``"ue8m0+e4m3"`` (mixed) or None."""
        return "+".join(d.scale for d in self.dots) or None

    @property
    def stages(self) -> int:
        """Pipeline stages from the inputs to the accumulator register (1 = single cycle)."""
        return self.pipeline + 1

    @property
    def modes(self) -> int:
        return len(self.macs_per_cycle)

    @property
    def label(self) -> str:
        """Short human name, e.g. ``mxint8 k32``, ``mxfp8_e4m3 k4 w16 p1``, ``scalar e4m3``."""
        if self.kind == "scalar":
            return f"scalar {self.name}"
        s = f"{self.name} k{self.lanes}"
        if self.window is not None and self.window != _default_window(self):
            s += f" w{self.window}"
        if self.lane_arch != LANE_ARCHS[self.elem.kind][0]:
            s += f" {self.lane_arch}"
        return s + (f" p{self.pipeline}" if self.pipeline else "")

    def key(self) -> dict:
        """The defining parameters as JSON-able data: cache keys and task parameters take this
        whole (:func:`resolve_unit` ``(**spec.key())`` rebuilds the same spec)."""
        return {"fmt": self.name, "kind": self.kind, "lanes": self.lanes, "window": self.window,
                "pipeline": self.pipeline,
                "lane_arch": self.lane_arch if self.kind == "block" else None}

    def port(self, name: str) -> Port:
        for p in self.ports:
            if p.name == name:
                return p
        raise KeyError(f"{self.label} has no data port {name!r}; it has "
                       f"{', '.join(p.name for p in self.ports)}")


def _default_window(spec: UnitSpec) -> int | None:
    return dot_spec(spec.dots[0].fmt, spec.lanes).window if spec.kind == "block" else None


def unit_kinds_help() -> str:
    return (f"block: a preset ({', '.join(PRESETS)}), alias ({', '.join(ALIASES)}) or "
            f"{FORMAT_GRAMMAR}; "
            f"scalar: an element format ({', '.join(ELEMENT_FORMATS)}, or any e<X>m<Y> / int<N>); "
            f"mixed: {', '.join(MIXED_UNITS)}")


def _infer_kind(name: str) -> str:
    if "+" in name:
        return "mixed"
    if _is_element_name(name):
        return "scalar"
    return "block"


def verilog_name(name: str) -> str:
    """``name`` as part of a Verilog identifier: every character but letters and digits becomes
    ``_`` (a grammar format's ``mx:e2m2/b16/ue8m0`` -> ``mx_e2m2_b16_ue8m0``)."""
    return "".join(ch if ch.isalnum() else "_" for ch in name)


def _top(kind: str, name: str, lanes: int, window, pipeline: int, default_window,
         lane_arch: str | None = None) -> str:
    """The unit's one module name (netlists, exported Verilog files): ``<fmt>_k<lanes>`` plus
    ``_w<n>`` for a non-default window, ``_<arch>`` for a non-default lane architecture and
    ``_p<levels>`` when pipelined; ``mac_<element>``; ``mixed_<a>_<b>_k<lanes>``."""
    safe = verilog_name(name)
    if kind == "scalar":
        return f"mac_{safe}"
    if kind == "mixed":
        return f"mixed_{safe}_k{lanes}"
    top = f"{safe}_k{lanes}"
    if window is not None and window != default_window:
        top += f"_w{window}"
    if lane_arch and lane_arch not in (a[0] for a in LANE_ARCHS.values()):
        top += f"_{lane_arch}"
    return top + (f"_p{pipeline}" if pipeline else "")


def resolve_unit(fmt: str | UnitSpec, kind: str | None = None, lanes: int | None = None,
                 window: int | None = None, pipeline: int = 0,
                 lane_arch: str | None = None) -> UnitSpec:
    """The :class:`UnitSpec` of a unit named as a user would name it.

    ``fmt``: a block preset or alias (``mxint8``, ``mxfp8``), an element format for a scalar
    MAC (``e4m3``, ``int8``), or a mixed unit (``mxfp8+nvfp4``). ``kind`` is inferred from the
    name when None. ``lanes`` defaults to the format's block size (mixed: 32 8-bit pairs);
    ``window`` to the study's alignment window (FP block units only); ``pipeline`` 0 to
    :data:`MAX_PIPELINE`; ``lane_arch`` one of :data:`intfp.models.hwmodel.LANE_ARCHS` for the
    element kind (block units; default ``twos`` INT, ``standard`` FP).
    A :class:`UnitSpec` passes through unchanged, or with the given arguments replaced.
    """
    if isinstance(fmt, UnitSpec):
        if any(v is not None for v in (kind, lanes, window, lane_arch)) or pipeline:
            return resolve_unit(fmt.name, kind or fmt.kind, lanes or fmt.lanes,
                                window if window is not None else fmt.window,
                                pipeline or fmt.pipeline,
                                lane_arch or (fmt.lane_arch if fmt.kind == "block" else None))
        return fmt
    if not isinstance(fmt, str) or not fmt.strip():
        raise ValueError(f"unit format must be a non-empty name, got {fmt!r}; {unit_kinds_help()}")
    name = fmt.strip().lower()
    kind = _infer_kind(name) if kind is None else kind
    if kind not in UNIT_KINDS:
        raise ValueError(f"kind must be one of {', '.join(UNIT_KINDS)}, got {kind!r}")
    if isinstance(pipeline, bool) or not isinstance(pipeline, (int, np.integer)) \
            or not 0 <= pipeline <= MAX_PIPELINE:
        raise ValueError(f"pipeline must be an int from 0 to {MAX_PIPELINE}, got {pipeline!r}")
    pipeline = int(pipeline)
    if kind != "block" and lane_arch is not None:
        raise ValueError(f"lane_arch applies to block units only, not to the {kind} unit "
                         f"{fmt!r} (got {lane_arch!r})")
    if kind == "mixed":
        return _mixed(name, lanes, window, pipeline)
    if "+" in name:
        raise ValueError(f"fmt {fmt!r} names a mixed unit: use kind 'mixed' (allowed mixed units: "
                         f"{', '.join(MIXED_UNITS)})")
    if kind == "scalar":
        return _scalar(name, lanes, window, pipeline)
    dot = dot_spec(name, lanes, window, lane_arch)   # validates format, lanes, window, lanes' arch
    bits = dot.elem.bits
    return UnitSpec(
        kind="block", name=dot.fmt.name, lanes=dot.lanes, window=dot.window, pipeline=pipeline,
        lane_arch=dot.lane_arch, dots=(dot,), elem=dot.elem, acc_bits=32,
        top=_top("block", dot.fmt.name, dot.lanes, dot.window, pipeline,
                 dot_spec(dot.fmt, dot.lanes).window, dot.lane_arch),
        ports=(Port("a", dot.lanes, bits), Port("b", dot.lanes, bits), Port("a_scale", 1, 8),
               Port("b_scale", 1, 8)),
        macs_per_cycle=(dot.lanes,))


def _scalar(name: str, lanes, window, pipeline) -> UnitSpec:
    if ":" in name:                     # a grammar block format: its element
        name = block_format(name).element.name
    elif not _is_element_name(name):
        preset = ALIASES.get(name, name)
        if preset not in PRESETS:
            raise ValueError(f"unknown fmt {name!r} for a scalar MAC; allowed: "
                             f"{', '.join(ELEMENT_FORMATS)} or a preset ({', '.join(PRESETS)}), "
                             f"whose element it takes")
        name = block_format(preset).element.name
    if lanes not in (None, 1):
        raise ValueError(f"lanes must be 1 (or None) for a scalar MAC, got {lanes!r}")
    if window is not None:
        raise ValueError(f"window applies to FP block units only, not to the scalar MAC {name!r}")
    if pipeline:
        raise ValueError(f"pipeline applies to block units only, not to the scalar MAC {name!r}")
    elem = element_format(name)         # its own errors name the bad field (e.g. e6m1)
    name = elem.name
    acc_bits = 32 if elem.kind == "fp" else _int_acc_bits(elem)
    return UnitSpec(kind="scalar", name=name, lanes=1, window=None, pipeline=0,
                    lane_arch=LANE_ARCHS[elem.kind][0], dots=(),
                    elem=elem, acc_bits=acc_bits, top=_top("scalar", name, 1, None, 0, None),
                    ports=(Port("a", 1, elem.bits), Port("b", 1, elem.bits)),
                    macs_per_cycle=(1,))


def _int_acc_bits(elem: ElementFormat) -> int:
    """An INT scalar MAC's accumulator: a signed 32-bit register that wraps (the RTL's and the
    model's contract, :func:`intfp.models.hwmodel.int_accumulate`)."""
    return 32


def _mixed(name: str, lanes, window, pipeline) -> UnitSpec:
    if name not in MIXED_UNITS:
        raise ValueError(f"unknown mixed unit {name!r}; allowed: {', '.join(MIXED_UNITS)}")
    if window is not None:
        raise ValueError(f"window is fixed for the mixed unit {name!r} (the study's); got {window!r}")
    if pipeline:
        raise ValueError(f"the mixed unit {name!r} has no pipeline option; got pipeline={pipeline!r}")
    lanes = 32 if lanes is None else lanes
    if isinstance(lanes, bool) or not isinstance(lanes, (int, np.integer)) or lanes < NV_BLOCK \
            or lanes & (lanes - 1):
        raise ValueError(f"lanes must be a power of two >= {NV_BLOCK} for a mixed unit, got {lanes!r}")
    lanes = int(lanes)
    mx = dot_spec(MIXED_UNITS[name][0], lanes)
    nv = dot_spec(MIXED_UNITS[name][1], NV_BLOCK)
    channels = 2 * lanes // NV_BLOCK
    return UnitSpec(
        kind="mixed", name=name, lanes=lanes, window=None, pipeline=0,
        lane_arch=LANE_ARCHS[mx.elem.kind][0], dots=(mx, nv),
        elem=mx.elem, acc_bits=32, top=_top("mixed", name, lanes, None, 0, None),
        # 8-bit mode: lanes 8-bit codes; 4-bit mode: 2*lanes 4-bit codes in the same bits.
        ports=(Port("a", lanes, 8), Port("b", lanes, 8), Port("a_scale", channels, 8),
               Port("b_scale", channels, 8)),
        macs_per_cycle=(lanes, 2 * lanes))


def pack_lanes(codes, bits: int) -> np.ndarray:
    """Element codes ``(..., k)`` -> bool bit vectors ``(..., k * bits)``, lane i in bits
    [i*bits, (i+1)*bits), least significant bit first: the one lane packing of every unit port
    (:class:`Port`). Negative values are taken as two's complement."""
    if not 1 <= bits <= 32:
        raise ValueError(f"lane width must be 1..32 bits, got {bits}")
    v = np.asarray(codes).astype(np.int64) & ((1 << bits) - 1)
    b = ((v[..., None] >> np.arange(bits)) & 1).astype(bool)
    return b.reshape(*v.shape[:-1], v.shape[-1] * bits)
