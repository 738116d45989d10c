"""Number formats as data: element formats, scale formats and block formats.

Everything bit-level about a format lives here as plain numbers (exponent bits, mantissa bits,
bias, max, special codes); the arithmetic that uses them lives in :mod:`intfp.models.elements`
(one vectorized round / encode / decode path) and :mod:`intfp.models.blocks` (block scaling).

Sources (see ``docs/formats.md``):

* OCP Microscaling Formats (MX) v1.0, as implemented by microxcaling (``mx/formats.py``) and
  torchao (``torchao/prototype/mx_formats/constants.py``): FP8 E4M3 / E5M2, FP6 E2M3 / E3M2,
  FP4 E2M1 elements, INT8 elements as two's complement x 2^-6, UE8M0 (E8M0) scales.
* NVFP4 (torchao ``nvfp4_tensor.py``): E2M1 elements, block 16, E4M3 block scale and an FP32
  per-tensor scale.
* Chen et al., "INT v.s. FP" (arXiv 2510.25602), section 2-3: MXINT6 / MXINT4 / NVINT4 and the
  symmetric INT clipping [-(2^(b-1)-1), 2^(b-1)-1].
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

__all__ = [
    "ElementFormat", "ScaleFormat", "BlockFormat",
    "ELEMENT_FORMATS", "SCALE_FORMATS", "PRESETS", "ALIASES",
    "element_format", "scale_format", "block_format", "format_names",
    "parse_element", "parse_block_format", "is_grammar_name", "FORMAT_GRAMMAR", "ELEMENT_GRAMMAR",
    "ELEMENT_BITS", "FP_EBITS", "BLOCK_SIZES", "FAMILIES",
]


@dataclass(frozen=True)
class ElementFormat:
    """One element encoding, described by numbers only.

    FP formats (``kind="fp"``) follow the OCP rule with ``bias = 2^(ebits-1) - 1``:
    normal (e > 0): (-1)^s 2^(e-bias) (1 + m/2^mbits); subnormal (e = 0): (-1)^s 2^(1-bias) m/2^mbits.

    INT formats (``kind="int"``) are two's complement codes of ``bits`` bits whose value is
    ``code * 2^-(bits-2)`` (OCP MXINT8: code / 64, max 127/64; microxcaling's int4 has the same
    max, 7/4). This puts the largest power of two of every element format at 2^emax with
    ``emax`` the exponent used by the OCP ``floor`` scale rule (0 for INT). Integer codes are what
    the hardware multiplies; the 2^-(bits-2) factor is folded into the block scale.
    """

    name: str
    kind: Literal["fp", "int"]
    bits: int
    ebits: int = 0
    mbits: int = 0
    max: float = 0.0              # largest finite magnitude (saturation value)
    nan_codes: tuple[int, ...] = ()   # codes (without sign) that decode to NaN
    inf_code: int | None = None       # code (without sign) of +Inf, if the format has Inf
    code_min: int = 0             # INT only: most negative code (symmetric: -(2^(b-1)-1))
    code_max: int = 0             # INT only: largest code

    # -- derived numbers -----------------------------------------------------------------
    @property
    def bias(self) -> int:
        return (1 << (self.ebits - 1)) - 1 if self.kind == "fp" else 0

    @property
    def emin(self) -> int:
        """Exponent of the smallest normal (FP) / of the unit step times 2^mbits (INT)."""
        return 1 - self.bias if self.kind == "fp" else -(self.bits - 2)

    @property
    def emax(self) -> int:
        """floor(log2(max)): the exponent the OCP ``floor`` scale rule subtracts."""
        return math.frexp(self.max)[1] - 1

    @property
    def quantum_min(self) -> float:
        """Smallest positive value: the subnormal step (FP) or one code step (INT)."""
        if self.kind == "fp":
            return 2.0 ** (self.emin - self.mbits)
        return 2.0 ** -(self.bits - 2)

    @property
    def sign_bit(self) -> int:
        return 1 << (self.bits - 1)

    @property
    def has_nan(self) -> bool:
        return bool(self.nan_codes)

    @property
    def has_inf(self) -> bool:
        return self.inf_code is not None

    @property
    def num_codes(self) -> int:
        return 1 << self.bits

    @property
    def symmetric(self) -> bool:
        return self.kind == "int" and self.code_min == -self.code_max

    def with_asymmetric_int(self) -> "ElementFormat":
        """The INT format with the extra code -2^(b-1) (range [-2^(b-1), 2^(b-1)-1])."""
        if self.kind != "int":
            raise ValueError(f"asymmetric clipping applies to INT formats only, not {self.name!r}")
        return replace(self, name=self.name + "_asym", code_min=-(1 << (self.bits - 1)))

    def decode_table(self) -> np.ndarray:
        """float64 value of every code 0 .. 2^bits - 1 (NaN where the code is NaN)."""
        codes = np.arange(self.num_codes, dtype=np.int64)
        if self.kind == "int":
            signed = np.where(codes >= self.sign_bit, codes - self.num_codes, codes)
            vals = signed.astype(np.float64) * 2.0 ** -(self.bits - 2)
            # Codes outside [code_min, code_max] (the -2^(b-1) code of a symmetric format)
            # still decode to their two's complement value; the quantizer never produces them.
            return vals
        sign = np.where(codes & self.sign_bit, -1.0, 1.0)
        mag = codes & (self.sign_bit - 1)
        e = mag >> self.mbits
        m = mag & ((1 << self.mbits) - 1)
        normal = np.ldexp(1.0 + m / 2.0 ** self.mbits, e - self.bias)
        sub = np.ldexp(m / 2.0 ** self.mbits, 1 - self.bias)
        vals = sign * np.where(e > 0, normal, sub)
        for c in self.nan_codes:
            vals[mag == c] = np.nan
        if self.inf_code is not None:
            vals[mag == self.inf_code] = sign[mag == self.inf_code] * np.inf
        return vals

    def __str__(self) -> str:
        return self.name


def _fp(name, ebits, mbits, max_, nan_codes=(), inf_code=None) -> ElementFormat:
    return ElementFormat(name=name, kind="fp", bits=1 + ebits + mbits, ebits=ebits, mbits=mbits,
                         max=max_, nan_codes=tuple(nan_codes), inf_code=inf_code)


def _int(bits) -> ElementFormat:
    qmax = (1 << (bits - 1)) - 1
    return ElementFormat(name=f"int{bits}", kind="int", bits=bits, mbits=bits - 2,
                         max=qmax * 2.0 ** -(bits - 2), code_min=-qmax, code_max=qmax)


ELEMENT_FORMATS: dict[str, ElementFormat] = {
    # OCP FP8 E4M3 ("fn"): no Inf, NaN = S.1111.111, max 448 = S.1111.110.
    "e4m3": _fp("e4m3", 4, 3, 448.0, nan_codes=(0x7F,)),
    # OCP FP8 E5M2: IEEE-like, Inf = S.11111.00, NaN = S.11111.{01,10,11}, max 57344.
    "e5m2": _fp("e5m2", 5, 2, 57344.0, nan_codes=(0x7D, 0x7E, 0x7F), inf_code=0x7C),
    # OCP FP6 / FP4: no Inf, no NaN; every code is finite.
    "e3m2": _fp("e3m2", 3, 2, 28.0),
    "e2m3": _fp("e2m3", 2, 3, 7.5),
    "e2m1": _fp("e2m1", 2, 1, 6.0),
    "int8": _int(8),
    "int6": _int(6),
    "int4": _int(4),
}


@dataclass(frozen=True)
class ScaleFormat:
    """How a block's scale is stored.

    * ``ue8m0``: 8-bit biased power-of-two exponent, value 2^(code-127); 0xFF is NaN; no zero.
    * ``e4m3``: an OCP E4M3 code (positive) times an FP32 per-tensor scale (NVFP4 / NVINT4).
    * ``fp32``: the scale amax / max itself, in FP32 (the study's "BF16 scale" baseline, in FP32).
    * ``none``: no scale; elements are a direct cast of the input.
    """

    name: Literal["ue8m0", "e4m3", "fp32", "none"]
    rules: tuple[str, ...]
    default_rule: str


SCALE_FORMATS: dict[str, ScaleFormat] = {
    "ue8m0": ScaleFormat("ue8m0", rules=("floor", "ceil"), default_rule="floor"),
    "e4m3": ScaleFormat("e4m3", rules=("nv",), default_rule="nv"),
    "fp32": ScaleFormat("fp32", rules=("exact",), default_rule="exact"),
    "none": ScaleFormat("none", rules=("none",), default_rule="none"),
}

UE8M0_BIAS = 127
UE8M0_NAN = 0xFF
UE8M0_EMIN, UE8M0_EMAX = -127, 127
E4M3_BIAS = 7

#: Scale code of 1.0 and the code step of one binade (x2), per block-scale format: UE8M0 is
#: a biased exponent (2^(code - 127)); E4M3 has 3 mantissa bits below its exponent field.
SCALE_ONE_CODE = {"ue8m0": UE8M0_BIAS, "e4m3": E4M3_BIAS << 3}
SCALE_BINADE_STEP = {"ue8m0": 1, "e4m3": 1 << 3}

#: Block sizes with a meaning beyond a number of elements.
PER_TENSOR = "tensor"
PER_CHANNEL = "channel"


@dataclass(frozen=True)
class BlockFormat:
    """An element format, a block size along the quantized axis, and a scale format.

    ``block_size`` is a positive int, ``"channel"`` (one scale per row along the axis) or
    ``"tensor"`` (one scale for the whole tensor).
    """

    name: str
    element: ElementFormat
    block_size: int | str
    scale: ScaleFormat
    description: str = field(default="", compare=False)

    @property
    def default_rule(self) -> str:
        return self.scale.default_rule

    def with_block_size(self, block_size) -> "BlockFormat":
        return replace(self, block_size=_check_block_size(block_size))

    def __str__(self) -> str:
        return self.name


def _check_block_size(block_size):
    if block_size in (PER_TENSOR, PER_CHANNEL):
        return block_size
    if block_size == -1:
        return PER_CHANNEL
    if isinstance(block_size, (bool, np.bool_)) or not isinstance(block_size, (int, np.integer)) \
            or block_size < 1:
        raise ValueError(f"block_size must be a positive int, -1 / 'channel' (per channel) or "
                         f"'tensor' (per tensor); got {block_size!r}")
    return int(block_size)


def _preset(name, elem, block, scale, description) -> BlockFormat:
    return BlockFormat(name, ELEMENT_FORMATS[elem], block, SCALE_FORMATS[scale], description)


PRESETS: dict[str, BlockFormat] = {p.name: p for p in [
    _preset("mxfp8_e4m3", "e4m3", 32, "ue8m0", "OCP MXFP8, E4M3 elements"),
    _preset("mxfp8_e5m2", "e5m2", 32, "ue8m0", "OCP MXFP8, E5M2 elements"),
    _preset("mxfp6_e2m3", "e2m3", 32, "ue8m0", "OCP MXFP6, E2M3 elements"),
    _preset("mxfp6_e3m2", "e3m2", 32, "ue8m0", "OCP MXFP6, E3M2 elements"),
    _preset("mxfp4_e2m1", "e2m1", 32, "ue8m0", "OCP MXFP4, E2M1 elements"),
    _preset("mxint8", "int8", 32, "ue8m0", "OCP MXINT8, symmetric [-127, 127] codes"),
    _preset("mxint6", "int6", 32, "ue8m0", "MXINT6 (the study's), symmetric [-31, 31]"),
    _preset("mxint4", "int4", 32, "ue8m0", "MXINT4 (the study's), symmetric [-7, 7]"),
    _preset("nvfp4", "e2m1", 16, "e4m3", "NVFP4: E2M1, block 16, E4M3 scale x FP32 tensor scale"),
    _preset("nvint4", "int4", 16, "e4m3", "NVINT4 (the study's): INT4, block 16, E4M3 x FP32 scale"),
]}

ALIASES: dict[str, str] = {"mxfp8": "mxfp8_e4m3", "mxfp6": "mxfp6_e2m3", "mxfp4": "mxfp4_e2m1"}


def format_names() -> list[str]:
    """Every name :func:`block_format` accepts: presets, aliases, element formats."""
    return [*PRESETS, *ALIASES, *ELEMENT_FORMATS]


def element_format(name: str | ElementFormat) -> ElementFormat:
    """An element format by name: a preset element (:data:`ELEMENT_FORMATS`), any other
    ``e<X>m<Y>`` / ``int<N>`` of the grammar (:func:`parse_element`), INT ones also as
    ``<name>_asym`` (the extra code -2^(b-1))."""
    if isinstance(name, ElementFormat):
        return name
    key = str(name).strip().lower()
    asym = key.endswith("_asym")
    base = key.removesuffix("_asym")
    if base in ELEMENT_FORMATS:
        elem = ELEMENT_FORMATS[base]
    elif _ELEM_RE.fullmatch(base):
        elem = parse_element(base)
    else:
        raise ValueError(f"unknown element format {name!r}; allowed: {', '.join(ELEMENT_FORMATS)}, "
                         f"or any {ELEMENT_GRAMMAR} (INT formats also as '<name>_asym')")
    return elem.with_asymmetric_int() if asym else elem


# -- the format grammar -------------------------------------------------------------------------
#
# Elements: ``e<X>m<Y>`` (sign, X exponent bits, Y mantissa bits, OCP bias 2^(X-1) - 1) and
# ``int<N>`` (N-bit symmetric two's complement), N = 1 + X + Y or N from ELEMENT_BITS.
# Block formats: ``mx:<elem>[/b<K>][/ue8m0]`` (one UE8M0 power-of-two scale per block of K,
# default 32) and ``nv:<elem>[/b<K>][/e4m3]`` (an E4M3 scale per block, default K = 16, times
# an FP32 per-tensor scale, as NVFP4). A point of the grammar that a preset names resolves
# to the preset (``mx:e4m3/b32/ue8m0`` is ``mxfp8_e4m3``); presets keep their special values.
#
# Special values of a non-preset element (the FP6 / FP4 rule of OCP MX v1.0, section 5.3.3):
# no Inf, no NaN, every code finite; values beyond the largest finite one saturate to it.

#: Element widths the grammar takes: an exhaustive lane check (2^(2N) code pairs) stays
#: <= 2^16 pairs, and 3 bits is the narrowest with a sign, a zero and two magnitudes.
ELEMENT_BITS = (3, 8)
#: FP exponent widths: E1 (a uniform, sign-magnitude grid) to E5 (as E5M2). Wider exponents
#: leave the FP32 range of the scalar MAC's exact product (E7: 2^128) and the block unit's
#: 8-bit scale-plus-exponent budget.
FP_EBITS = (1, 5)
#: Block sizes of the grammar: powers of two from 8 to 256.
BLOCK_SIZES = (8, 256)
FAMILIES = {"mx": ("ue8m0", 32), "nv": ("e4m3", 16)}
ELEMENT_GRAMMAR = "e<X>m<Y> (X >= 1) or int<N>"
_ELEM_RE = re.compile(r"e(\d+)m(\d+)|int(\d+)")
FORMAT_GRAMMAR = ("'mx:<elem>[/b<K>][/ue8m0]' or 'nv:<elem>[/b<K>][/e4m3]' with <elem> "
                  f"{ELEMENT_GRAMMAR} of {ELEMENT_BITS[0]}..{ELEMENT_BITS[1]} bits and K a power "
                  f"of two from {BLOCK_SIZES[0]} to {BLOCK_SIZES[1]}, e.g. 'mx:e2m2/b16/ue8m0'")


def parse_element(name: str) -> ElementFormat:
    """The element format ``e<X>m<Y>`` or ``int<N>`` (a preset element keeps its special
    values; any other is all-finite and saturating). ValueError names the bad field."""
    key = str(name).strip().lower()
    if key in ELEMENT_FORMATS:
        return ELEMENT_FORMATS[key]
    m = _ELEM_RE.fullmatch(key)
    if not m:
        raise ValueError(f"element {name!r} is not {ELEMENT_GRAMMAR}")
    lo, hi = ELEMENT_BITS
    if m.group(3) is not None:
        bits = int(m.group(3))
        if not lo <= bits <= hi:
            raise ValueError(f"element {name!r}: INT width {bits} is outside {lo}..{hi} bits")
        return _int(bits)
    x, y = int(m.group(1)), int(m.group(2))
    if not FP_EBITS[0] <= x <= FP_EBITS[1]:
        raise ValueError(f"element {name!r}: exponent bits X={x} outside {FP_EBITS[0]}..{FP_EBITS[1]}")
    if y < 1:
        raise ValueError(f"element {name!r}: mantissa bits Y={y}; the grammar needs Y >= 1 "
                         "(a significand of one bit has no field to multiply)")
    if not lo <= 1 + x + y <= hi:
        raise ValueError(f"element {name!r}: 1 + X + Y = {1 + x + y} bits is outside {lo}..{hi}")
    bias = (1 << (x - 1)) - 1
    max_ = 2.0 ** ((1 << x) - 1 - bias) * (2.0 - 2.0 ** -y)      # every exponent code is finite
    return _fp(key, x, y, max_)


def parse_block_format(text: str) -> BlockFormat:
    """A block format of the grammar (:data:`FORMAT_GRAMMAR`), the preset where one names it.
    ValueError names the bad field and what is allowed."""
    src = str(text).strip().lower()
    family, sep, rest = src.partition(":")
    if not sep or family not in FAMILIES:
        raise ValueError(f"format {text!r}: family {family if sep else src!r} is not "
                         f"{' or '.join(FAMILIES)}; write {FORMAT_GRAMMAR}")
    scale, block = FAMILIES[family]
    fields = rest.split("/")
    try:
        elem = parse_element(fields[0])
    except ValueError as e:
        raise ValueError(f"format {text!r}: {e}") from None
    seen_block = seen_scale = False
    for f in fields[1:]:
        if f.startswith("b") and not seen_block and not seen_scale:
            seen_block = True
            if not f[1:].isdigit():
                raise ValueError(f"format {text!r}: block field {f!r} is not b<K> with K an integer")
            block = int(f[1:])
            if not BLOCK_SIZES[0] <= block <= BLOCK_SIZES[1] or block & (block - 1):
                raise ValueError(f"format {text!r}: block size {block} is not a power of two "
                                 f"from {BLOCK_SIZES[0]} to {BLOCK_SIZES[1]}")
        elif f in SCALE_FORMATS and not seen_scale:
            seen_scale = True
            if f != scale:
                other = next(k for k, v in FAMILIES.items() if v[0] == f) if \
                    f in (v[0] for v in FAMILIES.values()) else None
                hint = f"; write {other}:{fields[0]}/..." if other else ""
                raise ValueError(f"format {text!r}: scale {f!r} does not belong to the {family} "
                                 f"family, whose scale is {scale}{hint}")
        else:
            raise ValueError(f"format {text!r}: field {f!r} is neither a block size b<K> nor the "
                             f"scale {scale} (fields in the order <elem>/b<K>/{scale})")
    canonical = f"{family}:{elem.name}/b{block}/{scale}"
    for p in PRESETS.values():
        if p.element == elem and p.block_size == block and p.scale.name == scale:
            return p
    return BlockFormat(canonical, elem, block, SCALE_FORMATS[scale],
                       f"{family.upper()} block format: {elem.name} elements, block {block}, "
                       f"{scale} scale" + (" x FP32 tensor scale" if scale == "e4m3" else ""))


def is_grammar_name(name) -> bool:
    """True for a string written in the block-format grammar (``<family>:...``)."""
    return isinstance(name, str) and ":" in name


def scale_format(name: str | ScaleFormat) -> ScaleFormat:
    if isinstance(name, ScaleFormat):
        return name
    try:
        return SCALE_FORMATS[str(name).lower()]
    except KeyError:
        raise ValueError(f"unknown scale format {name!r}; allowed: {', '.join(SCALE_FORMATS)}") from None


def _is_element_name(name: str) -> bool:
    key = name.strip().lower().removesuffix("_asym")
    return key in ELEMENT_FORMATS or bool(_ELEM_RE.fullmatch(key))


def block_format(fmt: str | BlockFormat | ElementFormat, block_size=None, scale=None) -> BlockFormat:
    """Resolve a format name (preset, alias, element format or a block format of the grammar,
    :data:`FORMAT_GRAMMAR`) to a :class:`BlockFormat`.

    ``block_size`` / ``scale`` override the preset's. A bare element name (``"e4m3"``) means a
    direct cast with no scale unless a block size or scale is given, in which case the scale
    defaults to UE8M0.
    """
    if isinstance(fmt, BlockFormat):
        bf = fmt
    elif isinstance(fmt, str) and is_grammar_name(fmt):
        bf = parse_block_format(fmt)
    elif isinstance(fmt, ElementFormat) or (isinstance(fmt, str) and _is_element_name(fmt)):
        elem = element_format(fmt)
        if block_size is None and scale is None:
            return BlockFormat(elem.name, elem, PER_TENSOR, SCALE_FORMATS["none"], "direct cast")
        bf = BlockFormat(elem.name, elem, 32, SCALE_FORMATS["ue8m0"])
    elif isinstance(fmt, str):
        key = fmt.lower()
        asym = key.endswith("_asym")
        key = key.removesuffix("_asym")
        key = ALIASES.get(key, key)
        if key not in PRESETS:
            raise ValueError(f"unknown format {fmt!r}; allowed: {', '.join(format_names())} "
                             f"(INT presets also with an '_asym' suffix), or {FORMAT_GRAMMAR}")
        bf = PRESETS[key]
        if asym:
            bf = replace(bf, name=bf.name + "_asym", element=bf.element.with_asymmetric_int())
    else:
        raise ValueError(f"format must be a name or a BlockFormat, got {type(fmt).__name__}: {fmt!r}")
    if scale is not None:
        bf = replace(bf, scale=scale_format(scale))
    if block_size is not None:
        bf = bf.with_block_size(block_size)
    if bf.scale.name == "none":
        if block_size is not None and block_size != PER_TENSOR:
            raise ValueError(f"block_size={block_size!r} needs a scale; with scale 'none' (a direct "
                             "cast) there are no blocks. Pass scale='ue8m0', 'e4m3' or 'fp32'")
        bf = replace(bf, block_size=PER_TENSOR)
    return bf
