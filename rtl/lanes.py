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

from .components import AdderTree, check_int, validating

__all__ = ["INT_LANE_ARCHS", "LANE_OUTPUTS", "TREE_SCHEMES", "IntLaneMultiplier",
           "SignMagAdderTree", "IntLaneArray", "check_lane_arch", "int_lane_bits"]

#: INT lane multiplier architectures of :class:`IntLaneMultiplier`.
INT_LANE_ARCHS = ("twos", "booth", "baugh_wooley", "signmag")
#: Output styles: a two's complement ``product``, or ``sign`` + ``mag`` (``signmag`` only).
LANE_OUTPUTS = ("product", "signmag")
#: Summation schemes of :class:`SignMagAdderTree`.
TREE_SCHEMES = ("ones", "split")


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
      one per two-input adder (lanes - 1 of them) plus two at the root. No per-lane incrementer.
    * ``scheme="split"``: an unsigned tree over the positive terms, one over the negative
      terms (each term masked by its sign), and one subtraction at the root.
    """

    @validating
    def __init__(self, width: int, lanes: int, *, scheme: str = "ones",
                 mag_bits: int | None = None):
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
        super().__init__({
            "sign": In(lanes),
            "mag": In(data.ArrayLayout(unsigned(mag_bits), lanes)),
            "sum": Out(signed(width + _clog2(lanes))),
        })

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
                cin = carries[used] if used < len(carries) else C(0, 1)
                used += 1
                m.d.comb += s.eq(level[j] + level[j + 1] + cin)
                nxt.append(s)
            level, depth = nxt, depth + 1
        return level[0], used

    def elaborate(self, platform):
        m = Module()
        k, mb = self._lanes, self._mag_bits
        sign, mag = self.sign, self.mag
        if self._scheme == "ones":
            terms = []
            for i in range(k):
                t = Signal(signed(mb + 1), name=f"ones_{i}")
                m.d.comb += t.eq(Cat(mag[i] ^ sign[i].replicate(mb), sign[i]))
                terms.append(t)
            if k == 1:
                m.d.comb += self.sum.eq(terms[0] + sign[0])
                return m
            root, used = self._tree(m, terms, mb + 1, signed, [sign[i] for i in range(k - 1)], "sum")
            # the adders took lanes - 1 carry-ins; the last +1 joins at the root
            m.d.comb += self.sum.eq(root + sign[k - 1])
        else:
            pos = [Mux(sign[i], 0, mag[i]) for i in range(k)]
            neg = [Mux(sign[i], mag[i], 0) for i in range(k)]
            p, _ = self._tree(m, pos, mb, unsigned, [], "pos")
            n, _ = self._tree(m, neg, mb, unsigned, [], "neg")
            m.d.comb += self.sum.eq(p - n)
        return m


class IntLaneArray(wiring.Component):
    """``lanes`` INT lane multipliers and their adder tree: the INT unit's datapath up to the
    dequantizer, for measuring lane architectures together with the summation they need.

    ``IntLaneArray(elem, lanes, arch="twos", *, tree="twos")``. ``tree="twos"``: every lane
    outputs a two's complement ``product`` into :class:`~intfp.rtl.components.AdderTree`
    ``(2b, lanes)``; ``tree="ones"`` / ``"split"`` (``arch="signmag"`` only): the lanes output
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
