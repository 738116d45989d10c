"""Lane architectures for the block dot-product units: INT lane multipliers built four ways, a
sign-magnitude adder tree, and an INT lane array (k lanes + tree) to measure them together.

``docs/lane-architectures.md`` states every contract and the measured costs; the arithmetic
each component must equal is the exact integer product / sum (``intfp.models.hwmodel``).

INT lane multipliers (:class:`IntLaneMultiplier`, ``arch=``), codes are ``b``-bit two's
complement (``2 <= b <= 8``):

* ``twos``: ``a.as_signed() * b.as_signed()``, Yosys' own signed multiplier (today's
  :class:`intfp.rtl.components.LaneMultiplier`).
* ``booth``: radix-4 (modified) Booth recoding of ``b`` (MacSorley, "High-speed arithmetic in
  binary computers", Proc. IRE 49(1), 1961): ceil(b/2) partial products in {0, +-a, +-2a},
  sign-extension removed by the usual complemented-sign-bit + constant rewrite, reduced by a
  Dadda tree (Dadda, "Some schemes for parallel multipliers", Alta Frequenza 34, 1965) and one
  carry-propagate adder. Written out here, independent of Yosys' ``booth`` pass.
* ``baugh_wooley``: the modified Baugh-Wooley array (Baugh & Wooley, "A two's complement
  parallel array multiplication algorithm", IEEE Trans. Computers C-22(12), 1973): the
  b^2 AND / NAND terms plus the constant 2^b + 2^(2b-1), same Dadda reduction.
* ``signmag``: for the *symmetric* INT formats (codes -(2^(b-1)-1) .. 2^(b-1)-1): magnitudes
  ``|a|``, ``|b|`` ((b-1) bits each, by conditional negation), their unsigned product and
  ``sign = sa ^ sb``. ``output="product"`` converts to two's complement in the lane (drop-in
  ``product`` port); ``output="signmag"`` exposes ``sign`` and ``mag`` for a
  :class:`SignMagAdderTree`, which converts once, after summation.

  Contract for the code -2^(b-1), which a symmetric format never produces (docs/formats.md):
  its magnitude reads as 0, so any product with it is 0 (``mag = 0``; ``sign`` is still
  ``sa ^ sb``). A unit built on this lane must therefore reject the ``*_asym`` formats
  (:func:`check_lane_arch` does).
"""
from __future__ import annotations

from amaranth import C, Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from intfp.models.formats import ELEMENT_FORMATS, ElementFormat

from intfp.models.hwmodel import DotSpec

from .components import (AdderTree, Aligner, ComparatorTree, LaneMultiplier, check_aligner,
                         check_int, validating)

__all__ = ["INT_LANE_ARCHS", "LANE_OUTPUTS", "TREE_SCHEMES", "IntLaneMultiplier",
           "SignMagAdderTree", "IntLaneArray", "MagnitudeAligner", "OnesAligner", "FPLaneArray",
           "FP_TREES",
           "check_lane_arch", "int_lane_bits"]

#: INT lane multiplier architectures of :class:`IntLaneMultiplier`.
INT_LANE_ARCHS = ("twos", "booth", "baugh_wooley", "signmag")
#: Output styles: a two's complement ``product``, or ``sign`` + ``mag`` (``signmag`` only).
LANE_OUTPUTS = ("product", "signmag")
#: Summation schemes of :class:`SignMagAdderTree`.
TREE_SCHEMES = ("ones", "ones_z", "split")
#: FP datapaths of :class:`FPLaneArray`: where the product's sign is applied.
FP_TREES = ("twos", "ones", "ones_z", "split", "ones_pre")


def _clog2(n: int) -> int:
    return max(0, (n - 1).bit_length())


def int_lane_bits(elem) -> tuple[int, ElementFormat | None]:
    """(element bits, element format or None) from an INT element format, its name
    (``"int8"``, ``"int8_asym"``) or a bare width 2..8; ValueError otherwise."""
    if isinstance(elem, ElementFormat):
        fmt = elem
    elif isinstance(elem, str):
        from intfp.models.formats import element_format
        try:
            fmt = element_format(elem)
        except (ValueError, KeyError):
            raise ValueError(f"unknown INT element format {elem!r}; allowed: an int 2..8 or one "
                             f"of {', '.join(n for n, e in ELEMENT_FORMATS.items() if e.kind == 'int')}"
                             f" (optionally '_asym')") from None
    elif isinstance(elem, int) and not isinstance(elem, bool):
        if not 2 <= elem <= 8:
            raise ValueError(f"element bits must be an int in 2..8, got {elem!r}")
        return elem, None
    else:
        raise ValueError(f"elem must be an INT element format, its name or a width 2..8, "
                         f"got {elem!r}")
    if fmt.kind != "int":
        raise ValueError(f"{fmt.name!r} is an FP element format; INT lane architectures take INT "
                         f"formats only (FP lanes: intfp.rtl.components.LaneMultiplier)")
    if not 2 <= fmt.bits <= 8:
        raise ValueError(f"element bits must be 2..8, {fmt.name!r} has {fmt.bits}")
    return fmt.bits, fmt


def check_lane_arch(elem, arch: str, output: str = "product") -> None:
    """ValueError unless ``arch`` / ``output`` is a valid INT lane for ``elem``: the name must be
    one of :data:`INT_LANE_ARCHS`, ``output="signmag"`` needs ``arch="signmag"``, and
    ``signmag`` needs a symmetric format (it reads the code -2^(b-1) as zero)."""
    bits, fmt = int_lane_bits(elem)
    if arch not in INT_LANE_ARCHS:
        raise ValueError(f"unknown INT lane architecture {arch!r}; allowed: "
                         f"{', '.join(INT_LANE_ARCHS)}")
    if output not in LANE_OUTPUTS:
        raise ValueError(f"output must be one of {', '.join(LANE_OUTPUTS)}, got {output!r}")
    if output == "signmag" and arch != "signmag":
        raise ValueError(f"output='signmag' (sign + magnitude ports) needs arch='signmag', "
                         f"got arch={arch!r}")
    if arch == "signmag" and fmt is not None and fmt.code_min < -((1 << (bits - 1)) - 1):
        raise ValueError(f"arch='signmag' needs a symmetric INT format (codes "
                         f"-{(1 << (bits - 1)) - 1}..{(1 << (bits - 1)) - 1}); {fmt.name!r} allows "
                         f"{fmt.code_min}, which the sign-magnitude lane reads as 0")


# -- bit-level reduction ---------------------------------------------------------------------------

def _dadda_sum(m: Module, columns: list[list], const: int, width: int, name: str) -> Signal:
    """``(sum_c sum(columns[c]) * 2^c + const) mod 2^width`` as a ``width``-bit signal.

    The set bits of ``const`` join their columns; a Dadda tree of full and half adders
    (named signals, so the structure reaches Yosys) reduces every column to two bits, and one
    carry-propagate adder adds the two rows.
    """
    cols = [list(c) for c in columns[:width]] + [[] for _ in range(width - len(columns))]
    for c in range(width):
        if const >> c & 1:
            cols[c].append(C(1, 1))
    heights = [2]
    while heights[-1] < max(len(c) for c in cols):
        heights.append(heights[-1] * 3 // 2)
    n = 0
    for target in reversed(heights[:-1]):
        nxt = [[] for _ in range(width)]
        for c in range(width):
            bits = cols[c]
            # bits still to place in this column: its own plus the carries already sent to it
            while len(bits) + len(nxt[c]) > target:
                over = len(bits) + len(nxt[c]) - target
                if len(bits) < 2:     # cannot happen with Dadda's heights; never emit wrong sums
                    raise AssertionError(f"Dadda reduction stuck at column {c} of {name}")
                s = Signal(name=f"{name}_s{n}")
                cy = Signal(name=f"{name}_c{n}")
                n += 1
                if over == 1 or len(bits) < 3:
                    x, y = bits.pop(), bits.pop()
                    m.d.comb += [s.eq(x ^ y), cy.eq(x & y)]
                else:
                    x, y, z = bits.pop(), bits.pop(), bits.pop()
                    m.d.comb += [s.eq(x ^ y ^ z), cy.eq((x & y) | (x & z) | (y & z))]
                nxt[c].append(s)
                if c + 1 < width:
                    nxt[c + 1].append(cy)
            nxt[c].extend(bits)
        cols = nxt
    rows = [Cat(*[(col[i] if len(col) > i else C(0, 1)) for col in cols]) for i in range(2)]
    out = Signal(width, name=f"{name}_sum")
    m.d.comb += out.eq(rows[0] + rows[1])
    return out


def _booth_columns(a, b, bits: int):
    """Partial-product bits and constant of a radix-4 Booth product ``a * b`` (signed codes).

    Digit j of ``b`` (sign-extended, b[-1] = 0) is d = -2 b[2j+1] + b[2j] + b[2j-1]. Its row is
    R = sel XOR neg, a (bits+1)-bit two's complement value with sel = a, 2a or 0, plus ``neg`` at
    weight 4^j (so -(-2^bits) is exact). R's sign bit s is rewritten as (1 - s) at weight
    2^(bits) 4^j minus the constant 2^bits 4^j (no sign extension)."""
    width = 2 * bits
    ndig = (bits + 1) // 2
    ext = [b[i] if i < bits else b[bits - 1] for i in range(2 * ndig)]
    ax = [a[i] if i < bits else a[bits - 1] for i in range(bits + 1)]   # a sign-extended by 1
    cols = [[] for _ in range(width)]
    const = 0
    for j in range(ndig):
        hi, mid = ext[2 * j + 1], ext[2 * j]
        lo = ext[2 * j - 1] if j else C(0, 1)
        one = mid ^ lo                          # |d| = 1
        two = (hi & ~mid & ~lo) | (~hi & mid & lo)   # |d| = 2
        neg = hi & ~(mid & lo)                  # d < 0 (d = -0 counts as positive)
        for i in range(bits + 1):
            sel = (one & ax[i]) | (two & (ax[i - 1] if i else C(0, 1)))
            bit = sel ^ neg
            pos = 2 * j + i
            if pos >= width:
                continue
            if i == bits:                       # the row's sign bit, complemented
                cols[pos].append(~bit)
                const -= 1 << pos
            else:
                cols[pos].append(bit)
        cols[2 * j].append(neg)
    return cols, const % (1 << width)


def _baugh_wooley_columns(a, b, bits: int):
    """Modified Baugh-Wooley: a_i b_j for i, j < b-1 and for both sign bits; NAND terms for the
    mixed sign rows; constant 2^b + 2^(2b-1) (mod 2^(2b))."""
    width = 2 * bits
    cols = [[] for _ in range(width)]
    top = bits - 1
    for i in range(bits):
        for j in range(bits):
            t = a[i] & b[j]
            mixed = (i == top) != (j == top)
            cols[i + j].append(~t if mixed else t)
    const = (1 << bits) + (1 << (width - 1)) if bits > 1 else 0
    return cols, const % (1 << width)


class IntLaneMultiplier(wiring.Component):
    """One INT lane multiplier of architecture ``arch`` (see the module docstring).

    ``IntLaneMultiplier(elem, arch="twos", *, output="product")``; ``elem`` is an INT element
    format, its name or a width 2..8. Ports: ``a``, ``b`` (in, b bits, two's complement codes);
    ``output="product"``: ``product`` (out, signed 2b, the exact product; for ``signmag`` the
    code -2^(b-1) reads as 0); ``output="signmag"``: ``sign`` (out, 1: sa ^ sb) and ``mag``
    (out, 2(b-1): |a| * |b|).
    """

    @validating
    def __init__(self, elem, arch: str = "twos", *, output: str = "product"):
        check_lane_arch(elem, arch, output)
        self._bits, self._fmt = int_lane_bits(elem)
        self._arch, self._output = arch, output
        bits = self._bits
        ports = {"a": In(bits), "b": In(bits)}
        if output == "product":
            ports["product"] = Out(signed(2 * bits))
        else:
            ports |= {"sign": Out(1), "mag": Out(2 * (bits - 1))}
        super().__init__(ports)

    bits = property(lambda self: self._bits)
    arch = property(lambda self: self._arch)
    output = property(lambda self: self._output)

    def elaborate(self, platform):
        m = Module()
        bits, arch, a, b = self._bits, self._arch, self.a, self.b
        if arch == "twos":
            m.d.comb += self.product.eq(a.as_signed() * b.as_signed())
        elif arch in ("booth", "baugh_wooley"):
            cols, const = (_booth_columns if arch == "booth" else _baugh_wooley_columns)(a, b, bits)
            m.d.comb += self.product.eq(_dadda_sum(m, cols, const, 2 * bits, arch))
        else:
            mb = bits - 1
            mag = Signal(2 * mb, name="mag")
            sign = Signal(name="sign")
            m.d.comb += sign.eq(a[-1] ^ b[-1])
            ma, mbb = Signal(mb, name="mag_a"), Signal(mb, name="mag_b")
            # |x| in (b-1) bits: (x XOR s) + s, truncated; -2^(b-1) gives 0 (the contract).
            for src, dst in ((a, ma), (b, mbb)):
                s = src[-1]
                m.d.comb += dst.eq((src[:mb] ^ s.replicate(mb)) + s)
            # Yosys' unsigned array: as small as a written-out Dadda tree here (measured, see
            # docs/lane-architectures.md), and simpler.
            m.d.comb += mag.eq(ma * mbb)
            if self._output == "signmag":
                m.d.comb += [self.mag.eq(mag), self.sign.eq(sign)]
            else:
                m.d.comb += self.product.eq(Mux(sign, -mag, mag))
        return m


class SignMagAdderTree(wiring.Component):
    """Exact sum of ``lanes`` sign-magnitude terms: ``sum = sum_i (-1)^sign_i * mag_i``.

    ``SignMagAdderTree(width, lanes, *, scheme="ones", mag_bits=None)`` has the output contract
    of :class:`intfp.rtl.components.AdderTree` ``(width, lanes)``: ``sum`` is
    ``signed(width + log2(lanes))``. ``mag`` inputs are ``mag_bits`` bits (default ``width - 2``:
    a signmag INT lane's ``2(b-1)`` for ``width = 2b``; at most ``width - 1``, e.g. an FP
    aligner's ``window`` magnitude for ``width = window + 1``).

    * ``scheme="ones"``: each term enters as its ones' complement ``mag XOR sign`` (= -mag - 1
      when negative; sign-extended by ``sign``), and the ``lanes`` missing +1s enter as carry-ins:
      one per two-input adder (lanes - 1 of them) plus one at the root. No per-lane incrementer.
      ``ones_terms=True`` replaces ``mag`` by ``terms`` (in, ``signed(mag_bits + 1)``): terms
      already in ones' complement (e.g. from :class:`OnesAligner`); ``sign`` still adds the +1s.
    * ``scheme="ones_z"``: ``ones`` with the sign of a zero magnitude forced to 0 (an OR of the
      magnitude bits per lane), so a "-0" lane (a zero times a negative element, or an FP
      product truncated to 0) enters as 0 instead of all ones + a carry: same sum, fewer toggles.
    * ``scheme="split"``: an unsigned tree over the positive terms, one over the negative
      terms (each term masked by its sign), and one subtraction at the root.
    """

    @validating
    def __init__(self, width: int, lanes: int, *, scheme: str = "ones",
                 mag_bits: int | None = None, ones_terms: bool = False):
        self._width = check_int("width", width, minimum=3)
        self._lanes = check_int("lanes", lanes, power_of_two=True)
        mag_bits = width - 2 if mag_bits is None else mag_bits
        if isinstance(mag_bits, bool) or not isinstance(mag_bits, int) or \
                not 1 <= mag_bits <= width - 1:
            raise ValueError(f"mag_bits must be an int in 1..{width - 1} (width - 1), got "
                             f"{mag_bits!r}")
        self._mag_bits = mag_bits
        if scheme not in TREE_SCHEMES:
            raise ValueError(f"scheme must be one of {', '.join(TREE_SCHEMES)}, got {scheme!r}")
        self._scheme = scheme
        if ones_terms not in (False, True):
            raise ValueError(f"ones_terms must be a bool, got {ones_terms!r}")
        if ones_terms and scheme != "ones":   # the aligner made the terms; nothing to gate
            raise ValueError(f"ones_terms=True takes ones' complement terms and needs "
                             f"scheme='ones', got scheme={scheme!r}")
        self._ones_terms = ones_terms
        term = {"terms": In(data.ArrayLayout(signed(mag_bits + 1), lanes))} if ones_terms else \
            {"mag": In(data.ArrayLayout(unsigned(mag_bits), lanes))}
        super().__init__({"sign": In(lanes), **term, "sum": Out(signed(width + _clog2(lanes)))})

    scheme = property(lambda self: self._scheme)

    def _tree(self, m, level, width, shape, carries, tag):
        """Binary tree over ``level`` (``width``-bit values of ``shape``); adder j of the flattened
        tree order takes carry-in ``carries[j]`` (if any); returns the root signal."""
        depth, used = 0, 0
        while len(level) > 1:
            width += 1
            nxt = []
            for j in range(0, len(level), 2):
                s = Signal(shape(width), name=f"{tag}_l{depth}_{j // 2}")
                if used < len(carries):
                    # x + y + c as one two-operand adder one bit wider: (2x + c) + (2y + c)
                    # = 2(x + y + c); a three-operand sum would become a carry-save stage.
                    cin = carries[used]
                    wide = Cat(cin, level[j]).as_signed() + Cat(cin, level[j + 1]).as_signed() \
                        if shape is signed else Cat(cin, level[j]) + Cat(cin, level[j + 1])
                    m.d.comb += s.eq(wide[1:])
                else:
                    m.d.comb += s.eq(level[j] + level[j + 1])
                used += 1
                nxt.append(s)
            level, depth = nxt, depth + 1
        return level[0], used

    def elaborate(self, platform):
        m = Module()
        k, mb = self._lanes, self._mag_bits
        sign, mag = self.sign, getattr(self, "mag", None)
        if self._scheme == "split":
            pos = [Mux(sign[i], 0, mag[i]) for i in range(k)]
            neg = [Mux(sign[i], mag[i], 0) for i in range(k)]
            p, _ = self._tree(m, pos, mb, unsigned, [], "pos")
            n, _ = self._tree(m, neg, mb, unsigned, [], "neg")
            m.d.comb += self.sum.eq(p - n)
            return m
        if self._ones_terms:
            terms = [self.terms[i] for i in range(k)]
        else:
            if self._scheme == "ones_z":
                gated = Signal(k, name="sign_nonzero")
                m.d.comb += gated.eq(Cat(*[sign[i] & mag[i].any() for i in range(k)]))
                sign = gated
            terms = []
            for i in range(k):
                t = Signal(signed(mb + 1), name=f"ones_{i}")
                m.d.comb += t.eq(Cat(mag[i] ^ sign[i].replicate(mb), sign[i]))
                terms.append(t)
        if k == 1:
            m.d.comb += self.sum.eq(terms[0] + sign[0])
            return m
        root, _ = self._tree(m, terms, mb + 1, signed, [sign[i] for i in range(k - 1)], "sum")
        # the adders took lanes - 1 carry-ins; the last +1 joins at the root
        m.d.comb += self.sum.eq(root + sign[k - 1])
        return m


class IntLaneArray(wiring.Component):
    """``lanes`` INT lane multipliers and their adder tree: the INT unit's datapath up to the
    dequantizer, for measuring lane architectures together with the summation they need.

    ``IntLaneArray(elem, lanes, arch="twos", *, tree="twos")``. ``tree="twos"``: every lane
    outputs a two's complement ``product`` into :class:`~intfp.rtl.components.AdderTree`
    ``(2b, lanes)``; ``tree="ones"`` / ``"ones_z"`` / ``"split"`` (``arch="signmag"`` only): the lanes output
    sign + magnitude into a :class:`SignMagAdderTree` of that scheme. Ports: ``a``, ``b``
    (in, ``ArrayLayout(b, lanes)``), ``sum`` (out, ``signed(2b + log2(lanes))``). Sub-blocks:
    ``multiplier_<i>``, ``adder_tree`` (the unit's names).
    """

    @validating
    def __init__(self, elem, lanes: int, arch: str = "twos", *, tree: str = "twos"):
        if tree not in ("twos", *TREE_SCHEMES):
            raise ValueError(f"tree must be one of twos, {', '.join(TREE_SCHEMES)}, got {tree!r}")
        output = "product" if tree == "twos" else "signmag"
        if output == "signmag" and arch != "signmag":
            raise ValueError(f"tree={tree!r} sums sign-magnitude terms and needs arch='signmag', "
                             f"got arch={arch!r}")
        check_lane_arch(elem, arch, output)
        self._bits, self._fmt = int_lane_bits(elem)
        self._elem = elem
        self._lanes = check_int("lanes", lanes, power_of_two=True)
        self._arch, self._tree, self._output = arch, tree, output
        bits = self._bits
        super().__init__({
            "a": In(data.ArrayLayout(bits, lanes)), "b": In(data.ArrayLayout(bits, lanes)),
            "sum": Out(signed(2 * bits + _clog2(lanes))),
        })

    lanes = property(lambda self: self._lanes)
    bits = property(lambda self: self._bits)

    def elaborate(self, platform):
        m = Module()
        k, w = self._lanes, 2 * self._bits
        if self._tree == "twos":
            m.submodules.adder_tree = tree = AdderTree(w, k)
        else:
            m.submodules.adder_tree = tree = SignMagAdderTree(w, k, scheme=self._tree)
        for i in range(k):
            mul = IntLaneMultiplier(self._elem, self._arch, output=self._output)
            m.submodules[f"multiplier_{i}"] = mul
            m.d.comb += [mul.a.eq(self.a[i]), mul.b.eq(self.b[i])]
            if self._output == "product":
                m.d.comb += tree.terms[i].eq(mul.product)
            else:
                m.d.comb += [tree.sign[i].eq(mul.sign), tree.mag[i].eq(mul.mag)]
        m.d.comb += self.sum.eq(tree.sum)
        return m


class MagnitudeAligner(wiring.Component):
    """:class:`intfp.rtl.components.Aligner` without the sign: lane i's significand product,
    placed at window bit ``window - sig_bits`` and shifted right by ``max - exp[i]`` (bits
    below the window dropped), as an unsigned ``window``-bit ``mag``. The lane's sign goes
    straight to a :class:`SignMagAdderTree`, which applies it after alignment, with no
    per-lane negation.

    ``MagnitudeAligner(sig_bits, exp_bits, lanes, window)``; ports ``sig`` (in,
    ``ArrayLayout(sig_bits, lanes)``), ``exp`` (in, ``ArrayLayout(exp_bits, lanes)``), ``max``
    (in, exp_bits), ``mag`` (out, ``ArrayLayout(window, lanes)``).
    """

    @validating
    def __init__(self, sig_bits: int, exp_bits: int, lanes: int, window: int):
        self._sig_bits, self._exp_bits, self._lanes, self._window = \
            check_aligner(sig_bits, exp_bits, lanes, window)
        super().__init__({
            "sig": In(data.ArrayLayout(unsigned(sig_bits), lanes)),
            "exp": In(data.ArrayLayout(unsigned(exp_bits), lanes)),
            "max": In(exp_bits),
            "mag": Out(data.ArrayLayout(unsigned(window), lanes)),
        })

    def elaborate(self, platform):
        m = Module()
        guard = self._window - self._sig_bits
        for i in range(self._lanes):
            dist = Signal(self._exp_bits, name=f"dist_{i}")
            m.d.comb += [dist.eq(self.max - self.exp[i]),
                         self.mag[i].eq((self.sig[i] << guard) >> dist)]
        return m


class OnesAligner(wiring.Component):
    """Aligner that applies the sign *before* the shift, as a ones' complement: lane i's
    ``window + 1``-bit term is ``(sig_i * 2^g) XOR sign_i`` (only the ``sig_bits`` product bits
    are XORed; the g guard bits and the top bit are the sign), shifted right *arithmetically*
    by ``max - exp[i]``. Since ``floor(~x / 2^d) = ~floor(x / 2^d)``, the term equals
    ``-A_i - 1`` for a negative lane (``A_i`` the truncated magnitude of
    :class:`~intfp.rtl.components.Aligner`) and ``A_i`` otherwise; the missing +1s are the lane
    signs, added by a :class:`SignMagAdderTree` with ``scheme="ones"`` fed through its
    ``terms`` input (``SignMagAdderTree(..., ones_terms=True)``).

    ``OnesAligner(sig_bits, exp_bits, lanes, window)``; ports ``sig``, ``exp``, ``sign``,
    ``max`` (in, as :class:`~intfp.rtl.components.Aligner`), ``terms`` (out,
    ``ArrayLayout(signed(window + 1), lanes)``).
    """

    @validating
    def __init__(self, sig_bits: int, exp_bits: int, lanes: int, window: int):
        self._sig_bits, self._exp_bits, self._lanes, self._window = \
            check_aligner(sig_bits, exp_bits, lanes, window)
        super().__init__({
            "sig": In(data.ArrayLayout(unsigned(sig_bits), lanes)),
            "exp": In(data.ArrayLayout(unsigned(exp_bits), lanes)),
            "sign": In(lanes),
            "max": In(exp_bits),
            "terms": Out(data.ArrayLayout(signed(window + 1), lanes)),
        })

    def elaborate(self, platform):
        m = Module()
        guard, sb = self._window - self._sig_bits, self._sig_bits
        for i in range(self._lanes):
            s = self.sign[i]
            dist = Signal(self._exp_bits, name=f"dist_{i}")
            pre = Signal(signed(self._window + 1), name=f"pre_{i}")
            m.d.comb += [dist.eq(self.max - self.exp[i]),
                         pre.eq(Cat(s.replicate(guard), self.sig[i] ^ s.replicate(sb), s)),
                         self.terms[i].eq(pre >> dist)]
        return m


class FPLaneArray(wiring.Component):
    """An FP unit's datapath up to the dequantizer: ``lanes`` FP lane multipliers
    (:class:`~intfp.rtl.components.LaneMultiplier`), the max-exponent comparator, the aligner
    and the adder tree; ``sum`` and ``max`` equal ``hwmodel.block_sum``'s S and block exponent.

    ``FPLaneArray(spec, *, tree="twos")`` with an FP :class:`~intfp.models.hwmodel.DotSpec`.
    ``tree="twos"``: today's :class:`~intfp.rtl.components.Aligner` (negates each aligned
    magnitude, ``window + 1`` bits) into :class:`~intfp.rtl.components.AdderTree`;
    ``"ones"`` / ``"ones_z"`` / ``"split"``: :class:`MagnitudeAligner` into a :class:`SignMagAdderTree`
    ``(window + 1, lanes, mag_bits=window)``: the sign applied after alignment, in the tree;
    ``"ones_pre"``: :class:`OnesAligner` (ones' complement of the significand product before
    the arithmetic shift) into the ``ones`` tree, which adds the lanes' +1s.
    Ports: ``a``, ``b`` (in, ``ArrayLayout(b, lanes)``), ``sum`` (out, ``signed(spec.sum_bits)``),
    ``max`` (out, ``spec.exp_bits``). Sub-blocks: ``multiplier_<i>``, ``comparator``,
    ``aligner``, ``adder_tree``.
    """

    @validating
    def __init__(self, spec: DotSpec, *, tree: str = "twos"):
        if not isinstance(spec, DotSpec) or not spec.is_fp:
            raise ValueError(f"spec must be an FP DotSpec (intfp.models.hwmodel.dot_spec), "
                             f"got {spec!r}")
        if tree not in FP_TREES:
            raise ValueError(f"tree must be one of {', '.join(FP_TREES)}, got {tree!r}")
        self._spec, self._tree = spec, tree
        bits, k = spec.elem.bits, spec.lanes
        super().__init__({
            "a": In(data.ArrayLayout(bits, k)), "b": In(data.ArrayLayout(bits, k)),
            "sum": Out(signed(spec.sum_bits)), "max": Out(spec.exp_bits),
        })

    spec = property(lambda self: self._spec)

    def elaborate(self, platform):
        m = Module()
        spec, k = self._spec, self._spec.lanes
        m.submodules.comparator = cmp = ComparatorTree(spec.exp_bits, k)
        if self._tree == "twos":
            m.submodules.aligner = aln = Aligner(spec.product_bits, spec.exp_bits, k, spec.window)
            m.submodules.adder_tree = tree = AdderTree(spec.lane_bits, k)
        elif self._tree == "ones_pre":
            m.submodules.aligner = aln = OnesAligner(spec.product_bits, spec.exp_bits, k,
                                                     spec.window)
            m.submodules.adder_tree = tree = SignMagAdderTree(spec.lane_bits, k, scheme="ones",
                                                              mag_bits=spec.window, ones_terms=True)
        else:
            m.submodules.aligner = aln = MagnitudeAligner(spec.product_bits, spec.exp_bits, k,
                                                          spec.window)
            m.submodules.adder_tree = tree = SignMagAdderTree(spec.lane_bits, k, scheme=self._tree,
                                                              mag_bits=spec.window)
        for i in range(k):
            mul = LaneMultiplier(spec.elem)
            m.submodules[f"multiplier_{i}"] = mul
            m.d.comb += [
                mul.a.eq(self.a[i]), mul.b.eq(self.b[i]),
                cmp.exp[i].eq(mul.exp), cmp.lane_zero[i].eq(~mul.sig.any()),
                cmp.lane_sign[i].eq(mul.sign), cmp.lane_nan[i].eq(mul.nan),
                cmp.lane_inf[i].eq(mul.inf),
                aln.sig[i].eq(mul.sig), aln.exp[i].eq(mul.exp),
            ]
            if self._tree == "twos":
                m.d.comb += [aln.sign[i].eq(mul.sign), tree.terms[i].eq(aln.aligned[i])]
            elif self._tree == "ones_pre":
                m.d.comb += [aln.sign[i].eq(mul.sign), tree.sign[i].eq(mul.sign),
                             tree.terms[i].eq(aln.terms[i])]
            else:
                m.d.comb += [tree.sign[i].eq(mul.sign), tree.mag[i].eq(aln.mag[i])]
        m.d.comb += [aln.max.eq(cmp.max), self.sum.eq(tree.sum), self.max.eq(cmp.max)]
        return m
