"""A small, robust Liberty (.lib / .lib.gz) reader: cell areas, pin capacitances, functions,
NLDM delay / transition tables, internal-power tables and leakage, with units normalized.

Liberty syntax and semantics follow the Synopsys *Liberty User Guide / Reference Manual*
(open-source mirror of the grammar: ``OpenSTA/liberty/LibertyParse.yy``). Only what the cost
flow needs is interpreted; everything else is kept as a generic group tree (:class:`Group`).

Normalized units (whatever the file declares):

========== ===== ==========================================================================
quantity   unit  source attribute
========== ===== ==========================================================================
time       ns    ``time_unit`` ("1ns", "1ps", ...)
capacitance fF   ``capacitive_load_unit (1, ff|pf)``
energy     fJ    internal-power tables are in ``cap_unit * voltage_unit^2`` (fF*V^2 = fJ)
leakage    nW    ``leakage_power_unit`` ("1nW", "1pW", "1uW", ...)
area       um^2  ``area`` (Liberty has no area unit; all open libraries use um^2)
voltage    V     ``nom_voltage`` (``voltage_unit``)
========== ===== ==========================================================================

Quirks handled (see docs/hardware-cost.md and the Liberty Reference Manual):

* sky130 sets ``switching_power_split_model : true``, so its rise / fall internal-power tables
  are signed with +-1/2 C V^2 folded in: only their *average* is meaningful, which is what
  :meth:`Pin.internal_energy` returns for every library.
* ASAP7 uses ps and pW; IHP sg13g2 pF and pW; gf180 pF and uW; sky130 pF and nW.
* Missing ``;`` at line ends, ``\\`` line continuations, C and C++ comments, ``'`` postfix
  negation and juxtaposition-AND in ``function`` strings.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

import numpy as np

__all__ = [
    "Group", "LibertyError", "Table", "Pin", "Cell", "Library", "WireLoad",
    "parse_liberty", "read_liberty", "BoolExpr", "parse_function", "file_sha256",
]


class LibertyError(ValueError):
    """A Liberty file could not be read or lacks what the flow needs."""


# ---------------------------------------------------------------------------------------------
# Generic syntax tree
# ---------------------------------------------------------------------------------------------
@dataclass
class Group:
    """A Liberty group ``name (args) { attrs; subgroups }``.

    ``attrs`` maps a simple attribute (``area : 1.0;``) to its value string, and a complex
    attribute (``index_1 ("1, 2");``) to the list of its arguments.
    """

    name: str
    args: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)
    groups: list["Group"] = field(default_factory=list)

    def find(self, name: str) -> list["Group"]:
        return [g for g in self.groups if g.name == name]

    def first(self, name: str) -> "Group | None":
        for g in self.groups:
            if g.name == name:
                return g
        return None


# Tokens: skipped whitespace / comments / line continuations, strings, punctuation, words.
_TOKEN_RE = re.compile(
    r'(?:\s+|\\\r?\n|/\*.*?\*/|//[^\n]*)'      # 1: skip
    r'|"((?:[^"\\]|\\.|\\\r?\n)*)"'             # group 1: string body
    r'|([{}();:,])'                              # group 2: punctuation
    r'|([^\s{}();:,"\\]+)',                      # group 3: word (numbers, names, A[0])
    re.S)


def _tokens(text: str):
    """Yield ``(kind, value, pos)`` with kind in {'s', 'p', 'w'}; raises on stray characters."""
    pos, n = 0, len(text)
    match = _TOKEN_RE.match
    while pos < n:
        m = match(text, pos)
        if m is None:
            line = text.count("\n", 0, pos) + 1
            raise LibertyError(f"unexpected character {text[pos]!r} at line {line}")
        s, p, w = m.group(1, 2, 3)
        if s is not None:
            yield "s", s, pos
        elif p is not None:
            yield "p", p, pos
        elif w is not None:
            yield "w", w, pos
        pos = m.end()


def parse_liberty(text: str) -> Group:
    """Parse Liberty text into a :class:`Group` tree and return the ``library`` group."""
    root = Group("<root>", [])
    stack = [root]
    toks = list(_tokens(text))
    i, n = 0, len(toks)

    def err(msg, k):
        pos = toks[min(k, n - 1)][2] if n else 0
        raise LibertyError(f"{msg} at line {text.count(chr(10), 0, pos) + 1}")

    while i < n:
        kind, val, _ = toks[i]
        if kind == "p" and val == "}":
            if len(stack) == 1:
                err("unbalanced '}'", i)
            stack.pop()
            i += 1
            continue
        if kind == "p" and val == ";":
            i += 1
            continue
        if kind not in ("w", "s"):
            err(f"unexpected {val!r}", i)
        name = val
        if i + 1 >= n:
            err(f"truncated statement {name!r}", i)
        k2, v2, _ = toks[i + 1]
        if k2 == "p" and v2 == ":":                       # simple attribute
            if i + 2 >= n:
                err(f"attribute {name!r} has no value", i)
            j = i + 2
            parts = []
            # A value is normally one token; accept expressions like "a + b" up to ';' or EOL.
            while j < n and not (toks[j][0] == "p" and toks[j][1] in ";}"):
                if parts and toks[j][0] in "ws" and j + 1 < n and toks[j + 1][0] == "p" \
                        and toks[j + 1][1] in ":(":
                    break                                   # next statement (missing ';')
                parts.append(toks[j][1])
                j += 1
            stack[-1].attrs[name] = " ".join(parts) if len(parts) != 1 else parts[0]
            if j < n and toks[j][1] == ";":
                j += 1
            i = j
            continue
        if k2 == "p" and v2 == "(":                       # group or complex attribute
            j = i + 2
            args = []
            while j < n and not (toks[j][0] == "p" and toks[j][1] == ")"):
                if toks[j][0] != "p" or toks[j][1] not in ",":
                    args.append(toks[j][1])
                j += 1
            if j >= n:
                err(f"unclosed '(' after {name!r}", i)
            j += 1
            if j < n and toks[j][0] == "p" and toks[j][1] == "{":
                g = Group(name, args)
                stack[-1].groups.append(g)
                stack.append(g)
                i = j + 1
            else:
                # Complex attributes may repeat (e.g. voltage_map): keep the first, list the rest.
                attrs = stack[-1].attrs
                if name in attrs and name in ("voltage_map", "define", "library_features",
                                              "fanout_length"):
                    attrs.setdefault(name + "*", []).append(args)
                else:
                    attrs[name] = args
                i = j + 1 if j < n and toks[j][1] == ";" else j
            continue
        err(f"cannot parse statement starting with {name!r} (next {v2!r})", i)
    if len(stack) != 1:
        raise LibertyError(f"unterminated group {stack[-1].name}({','.join(stack[-1].args)})")
    libs = root.find("library")
    if not libs:
        raise LibertyError("no 'library' group found")
    if len(libs) > 1:
        raise LibertyError(f"{len(libs)} library groups in one file; expected one")
    return libs[0]


# ---------------------------------------------------------------------------------------------
# Boolean functions
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BoolExpr:
    """A parsed Liberty ``function`` string.

    ``inputs`` are the variable names in first-use order; ``py`` is a Python expression over
    ``v[0] .. v[n-1]`` using ``~ & | ^`` (valid for bool, int and numpy integer arrays), with the
    constants written as ``ONE`` and ``ZERO``.
    """

    text: str
    inputs: tuple[str, ...]
    py: str

    def compile(self) -> Callable:
        """``f(v, ONE, ZERO)`` evaluating the function on a sequence of equally shaped values."""
        return eval(f"lambda v, ONE, ZERO: ({self.py})")  # noqa: S307 - generated from our parser

    def __call__(self, **values) -> int:
        """Evaluate on Python ints/bools given by name (truth-table checks, tests)."""
        v = [int(values[n]) & 1 for n in self.inputs]
        return self.compile()(v, 1, 0) & 1


_FUNC_TOKEN_RE = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_\[\].]*)|([01])|(.))")


def parse_function(text: str) -> BoolExpr:
    """Parse a Liberty boolean expression.

    Precedence (Liberty Reference Manual, "function" attribute), high to low: ``'`` (postfix
    NOT) and ``!``, ``^``, ``&`` / ``*`` / juxtaposition, ``|`` / ``+``.
    """
    toks = []
    for m in _FUNC_TOKEN_RE.finditer(text.strip()):
        name, const, op = m.groups()
        if name:
            toks.append(("v", name))
        elif const:
            toks.append(("c", const))
        elif op and not op.isspace():
            toks.append(("o", op))
    inputs: list[str] = []
    pos = 0

    def peek():
        return toks[pos] if pos < len(toks) else (None, None)

    def take():
        nonlocal pos
        pos += 1
        return toks[pos - 1]

    def primary():
        k, v = peek()
        if k == "o" and v == "!":
            take()
            return f"(~{primary()})"
        if k == "o" and v == "(":
            take()
            e = or_expr()
            if peek() != ("o", ")"):
                raise LibertyError(f"missing ')' in function {text!r}")
            take()
            e = f"({e})"
        elif k == "v":
            take()
            if v not in inputs:
                inputs.append(v)
            e = f"v[{inputs.index(v)}]"
        elif k == "c":
            take()
            e = "ONE" if v == "1" else "ZERO"
        else:
            raise LibertyError(f"unexpected {v!r} in function {text!r}")
        while peek() == ("o", "'"):
            take()
            e = f"(~{e})"
        return e

    def xor_expr():
        e = primary()
        while peek() == ("o", "^"):
            take()
            e = f"({e} ^ {primary()})"
        return e

    def and_expr():
        e = xor_expr()
        while True:
            k, v = peek()
            if k == "o" and v in "&*":
                take()
            elif not (k in ("v", "c") or (k == "o" and v in "(!")):
                return e                        # juxtaposition means AND
            e = f"({e} & {xor_expr()})"

    def or_expr():
        e = and_expr()
        while peek()[0] == "o" and peek()[1] in "|+":
            take()
            e = f"({e} | {and_expr()})"
        return e

    if not toks:
        raise LibertyError(f"empty function {text!r}")
    py = or_expr()
    if pos != len(toks):
        raise LibertyError(f"trailing tokens in function {text!r}")
    return BoolExpr(text, tuple(inputs), py)


# ---------------------------------------------------------------------------------------------
# Tables, pins, cells, library
# ---------------------------------------------------------------------------------------------
_LOAD_VARS = {"total_output_net_capacitance", "output_net_capacitance",
              "related_out_total_output_net_capacitance", "constrained_pin_transition_is_load"}
_SLEW_VARS = {"input_net_transition", "input_transition_time", "related_pin_transition",
              "constrained_pin_transition", "input_noise_width"}


def _floats(args) -> np.ndarray:
    """Liberty number lists: ``("1, 2", "3, 4")`` -> flat float array."""
    out = []
    for a in args if isinstance(args, list) else [args]:
        out.extend(float(x) for x in re.split(r"[,\s\\]+", a.strip()) if x)
    return np.asarray(out, dtype=float)


@dataclass
class Table:
    """An NLDM lookup table over (input slew [ns], output load [fF]) in normalized units.

    One-dimensional tables depend on slew or load only; scalar tables are constants.
    """

    slew: np.ndarray | None
    load: np.ndarray | None
    values: np.ndarray         # shape (len(slew) or 1, len(load) or 1)

    def __call__(self, slew: float, load: float) -> float:
        """Bilinear interpolation, linear extrapolation beyond the grid (as STA tools do)."""
        v = self.values
        i0, ti = _bracket(self.slew, slew)
        j0, tj = _bracket(self.load, load)
        i1 = min(i0 + 1, v.shape[0] - 1)
        j1 = min(j0 + 1, v.shape[1] - 1)
        top = v[i0, j0] * (1 - tj) + v[i0, j1] * tj
        bot = v[i1, j0] * (1 - tj) + v[i1, j1] * tj
        return float(top * (1 - ti) + bot * ti)


def _bracket(axis, x):
    if axis is None or len(axis) < 2:
        return 0, 0.0
    k = int(np.clip(np.searchsorted(axis, x) - 1, 0, len(axis) - 2))
    return k, float((x - axis[k]) / (axis[k + 1] - axis[k]))


@dataclass
class Pin:
    name: str
    direction: str
    capacitance: float = 0.0                 # fF
    function: BoolExpr | None = None
    # (related_pin or None, rise Table, fall Table) in fJ
    power: list[tuple[str | None, Table | None, Table | None]] = field(default_factory=list)
    # (related_pin, timing_type, cell_rise, cell_fall, rise_transition, fall_transition)
    timing: list[tuple[str, str, Table | None, Table | None, Table | None, Table | None]] = \
        field(default_factory=list)
    # setup constraints against the clock: (related_pin, rise_constraint, fall_constraint)
    setup: list[tuple[str, Table | None, Table | None]] = field(default_factory=list)

    def internal_energy(self, slew: float, load: float, related: str | None = None) -> float:
        """Mean internal energy [fJ] of one output (or hidden input) transition.

        Average of rise and fall, and over the arcs (all arcs, or those of ``related``). The
        average is what is valid for split-model libraries (sky130), see the module docstring.
        """
        vals = []
        for rel, rise, fall in self.power:
            if related is not None and rel != related:
                continue
            parts = [t(slew, load) for t in (rise, fall) if t is not None]
            if parts:
                vals.append(sum(parts) / len(parts))
        return float(np.mean(vals)) if vals else 0.0


@dataclass
class Cell:
    name: str
    area: float                               # um^2
    leakage: float                            # nW
    pins: dict[str, Pin]
    dont_use: bool = False
    ff: dict[str, str] | None = None          # {'q': IQ, 'qn': IQN, next_state, clocked_on, clear, preset}
    latch: bool = False
    statetable: bool = False

    @property
    def inputs(self) -> list[str]:
        return [p for p, v in self.pins.items() if v.direction == "input"]

    @property
    def outputs(self) -> list[str]:
        return [p for p, v in self.pins.items() if v.direction in ("output", "inout")]

    @property
    def is_sequential(self) -> bool:
        return self.ff is not None or self.latch or self.statetable


@dataclass
class WireLoad:
    """A statistical wire-load model (Liberty ``wire_load`` group): estimated net capacitance
    from the net's fan-out, before placement.

    ``C_wire(n) = length(n) * capacitance``, where ``length`` comes from the ``fanout_length``
    points (linear interpolation between them) and beyond the last point grows by ``slope`` per
    extra fan-out (Liberty Reference Manual, ``wire_load`` group; the same rule as OpenSTA's
    ``WireloadModel``). Capacitance per unit length in fF; fan-out 0 has no wire.
    """

    name: str
    capacitance: float                        # fF per unit length
    slope: float                              # length per fan-out beyond the table
    fanout_length: list[tuple[float, float]]  # (fan-out, length), sorted

    def length(self, fanout) -> np.ndarray:
        fo = np.asarray(fanout, dtype=float)
        pts = np.array(self.fanout_length, dtype=float).reshape(-1, 2)
        if not len(pts):
            return np.where(fo > 0, fo * self.slope, 0.0)
        f0, l0 = pts[:, 0], pts[:, 1]
        inside = np.interp(fo, f0, l0)        # clamps below the first point
        below = l0[0] * fo / f0[0]            # 0 < fan-out < first point: proportional
        beyond = l0[-1] + (fo - f0[-1]) * self.slope
        out = np.where(fo > f0[-1], beyond, np.where(fo < f0[0], below, inside))
        return np.where(fo > 0, out, 0.0)

    def cap(self, fanout) -> np.ndarray:
        """Estimated wire capacitance [fF] of nets with ``fanout`` sink pins."""
        return self.length(fanout) * self.capacitance


@dataclass
class Library:
    """The parts of one Liberty library the flow uses, in normalized units (see module doc)."""

    name: str
    path: str
    sha256: str
    voltage: float                            # V
    cells: dict[str, Cell]
    units: dict[str, str]                     # as declared in the file, for reports
    default_wire_load: str | None = None
    wire_loads: dict[str, WireLoad] = field(default_factory=dict)

    def wire_load(self, name: str | None = None) -> WireLoad | None:
        """The named wire-load model, else the library's ``default_wire_load``; None when the
        library defines none (ASAP7, gf180)."""
        key = name or self.default_wire_load
        if key is None and len(self.wire_loads) == 1:
            key = next(iter(self.wire_loads))
        if key is None:
            return None
        if key not in self.wire_loads:
            raise LibertyError(f"library {self.name} has no wire_load {key!r}; it has "
                               f"{sorted(self.wire_loads) or 'none'}")
        return self.wire_loads[key]

    def cell(self, name: str) -> Cell:
        try:
            return self.cells[name]
        except KeyError:
            raise LibertyError(f"unknown cell {name!r} in library {self.name} ({self.path})") from None

    @cached_property
    def fo4_slew(self) -> float:
        """Nominal transition [ns]: a minimum inverter driving four copies of itself.

        Used as the input slew of primary inputs and of the energy / delay table look-ups where
        no propagated slew is available; iterated to a fixed point (slew in = slew out).
        """
        inv = self.smallest("!A", n_inputs=1)
        if inv is None:
            return 0.02
        cell = self.cells[inv]
        pin_in, pin_out = cell.inputs[0], cell.pins[cell.outputs[0]]
        load = 4 * cell.pins[pin_in].capacitance
        slew = 0.02
        for _ in range(8):
            trans = [t(slew, load) for arc in pin_out.timing for t in arc[4:6] if t is not None]
            if not trans:
                break
            slew = float(np.mean(trans))
        return slew

    def smallest(self, function: str, n_inputs: int) -> str | None:
        """Name of the smallest-area usable cell whose output function equals ``function``
        (compared by truth table, input names ignored)."""
        target = parse_function(function)
        want = _truth_table(target)
        best = None
        for c in self.cells.values():
            if c.dont_use or c.is_sequential or len(c.outputs) != 1 or len(c.inputs) != n_inputs:
                continue
            f = c.pins[c.outputs[0]].function
            if f is None or len(f.inputs) != n_inputs:
                continue
            if any(tt == want for tt in _truth_tables_all_orders(f)):
                if best is None or c.area < self.cells[best].area:
                    best = c.name
        return best

    def check_areas(self) -> None:
        if self.cells and all(c.area == 0 for c in self.cells.values()):
            raise LibertyError(f"library {self.name} ({self.path}) has no cell areas")


def _truth_table(f: BoolExpr, order=None) -> tuple:
    n = len(f.inputs)
    fn = f.compile()
    order = order or list(range(n))
    rows = []
    for m in range(1 << n):
        v = [(m >> order[i]) & 1 for i in range(n)]
        rows.append(fn(v, 1, 0) & 1)
    return tuple(rows)


def _truth_tables_all_orders(f: BoolExpr):
    from itertools import permutations
    for perm in permutations(range(len(f.inputs))):
        yield _truth_table(f, list(perm))


# ---------------------------------------------------------------------------------------------
# Building the Library from the tree
# ---------------------------------------------------------------------------------------------
_TIME = {"1ps": 1e-3, "10ps": 1e-2, "100ps": 1e-1, "1ns": 1.0, "10ns": 10.0, "100ns": 100.0}
_POWER = {"1pw": 1e-3, "10pw": 1e-2, "100pw": 1e-1, "1nw": 1.0, "10nw": 10.0, "100nw": 100.0,
          "1uw": 1e3, "10uw": 1e4, "100uw": 1e5, "1mw": 1e6, "1w": 1e9, "1fw": 1e-6}
_CAP = {"ff": 1.0, "pf": 1e3, "nf": 1e6}
_VOLT = {"1v": 1.0, "1mv": 1e-3, "10mv": 1e-2, "100mv": 1e-1}


def _unit(lib: Group, attr: str, table: dict, default: str) -> tuple[float, str]:
    raw = str(lib.attrs.get(attr, default)).strip().strip('"').replace(" ", "").lower()
    if raw not in table:
        raise LibertyError(f"unsupported {attr} {raw!r}; known: {', '.join(table)}")
    return table[raw], raw


def _cap_unit(lib: Group) -> tuple[float, str]:
    args = lib.attrs.get("capacitive_load_unit", ["1", "pf"])
    if not isinstance(args, list) or len(args) != 2:
        raise LibertyError(f"bad capacitive_load_unit {args!r}")
    mult = float(args[0])
    unit = args[1].strip().strip('"').lower()
    if unit not in _CAP:
        raise LibertyError(f"unsupported capacitive_load_unit unit {unit!r}")
    return mult * _CAP[unit], f"{args[0]}{unit}"


class _Builder:
    def __init__(self, lib: Group):
        self.t, tu = _unit(lib, "time_unit", _TIME, "1ns")
        self.p, pu = _unit(lib, "leakage_power_unit", _POWER, "1nW")
        self.c, cu = _cap_unit(lib)
        self.v, vu = _unit(lib, "voltage_unit", _VOLT, "1V")
        # Internal energy tables are in cap_unit * voltage_unit^2 (Liberty RM, internal_power).
        self.e = self.c * self.v * self.v
        self.units = {"time": tu, "capacitance": cu, "leakage_power": pu, "voltage": vu}
        self.templates: dict[str, Group] = {}
        for kind in ("lu_table_template", "power_lut_template"):
            for g in lib.find(kind):
                if g.args:
                    self.templates[g.args[0]] = g

    def wire_loads(self, lib: Group) -> dict[str, WireLoad]:
        out = {}
        for g in lib.find("wire_load"):
            if not g.args:
                continue
            pts = [g.attrs["fanout_length"]] if "fanout_length" in g.attrs else []
            pts += g.attrs.get("fanout_length*", [])
            fl = sorted((float(a[0]), float(a[1])) for a in pts if len(a) >= 2)
            name = g.args[0].strip('"')
            out[name] = WireLoad(name, float(g.attrs.get("capacitance", 0.0)) * self.c,
                                 float(g.attrs.get("slope", 0.0)), fl)
        return out

    def table(self, g: Group | None, scale: float) -> Table | None:
        """One NLDM table; axes follow the template's ``variable_1/2`` names."""
        if g is None or "values" not in g.attrs:
            return None
        tmpl = self.templates.get(g.args[0]) if g.args else None
        axes = []
        for k in (1, 2, 3):
            idx = g.attrs.get(f"index_{k}") or (tmpl.attrs.get(f"index_{k}") if tmpl else None)
            var = str(tmpl.attrs.get(f"variable_{k}", "")) if tmpl else ""
            if idx is None and not var:
                break
            axes.append((var, _floats(idx) if idx is not None else None))
        vals = _floats(g.attrs["values"]) * scale
        slew = load = None
        shape = []
        for var, ax in axes:
            if ax is None:
                continue
            if var in _LOAD_VARS:
                load = ax * self.c
                shape.append("load")
            else:                          # transitions (and anything else) on the slew axis
                slew = ax * self.t
                shape.append("slew")
        dims = [len(slew) if s == "slew" else len(load) for s in shape]
        if int(np.prod(dims) if dims else 1) != vals.size:
            if vals.size == 1:
                return Table(None, None, vals.reshape(1, 1))
            raise LibertyError(f"table {g.name}({','.join(g.args)}) has {vals.size} values for "
                               f"axes of sizes {dims}")
        v = vals.reshape(dims) if dims else vals.reshape(1, 1)
        if shape == ["load", "slew"]:
            v = v.T
        if v.ndim == 1:
            v = v.reshape(-1, 1) if shape == ["slew"] else v.reshape(1, -1)
        if v.ndim > 2:
            raise LibertyError(f"3-D table {g.name} not supported")
        return Table(slew, load, v)

    def pin(self, g: Group, name: str, cell: str) -> Pin:
        direction = str(g.attrs.get("direction", "")).strip('"')
        cap = g.attrs.get("capacitance")
        if cap is None and ("rise_capacitance" in g.attrs or "fall_capacitance" in g.attrs):
            cap = np.mean([float(g.attrs[k]) for k in ("rise_capacitance", "fall_capacitance")
                           if k in g.attrs])
        pin = Pin(name, direction, float(cap or 0.0) * self.c)
        if "function" in g.attrs:
            try:
                pin.function = parse_function(str(g.attrs["function"]).strip('"'))
            except LibertyError as e:
                raise LibertyError(f"cell {cell} pin {name}: {e}") from None
        for pg in g.find("internal_power"):
            rel = pg.attrs.get("related_pin")
            pin.power.append((str(rel).strip('"') if rel else None,
                              self.table(pg.first("rise_power"), self.e),
                              self.table(pg.first("fall_power"), self.e)))
        for tg in g.find("timing"):
            rel = str(tg.attrs.get("related_pin", "")).strip('"')
            ttype = str(tg.attrs.get("timing_type", "combinational")).strip('"')
            if ttype.startswith("setup"):
                pin.setup.append((rel, self.table(tg.first("rise_constraint"), self.t),
                                  self.table(tg.first("fall_constraint"), self.t)))
                continue
            if ttype.startswith(("hold", "recovery", "removal", "min_pulse", "skew", "non_seq",
                                 "nochange")):
                continue
            pin.timing.append((rel, ttype, *(self.table(tg.first(k), self.t) for k in (
                "cell_rise", "cell_fall", "rise_transition", "fall_transition"))))
        return pin

    def cell(self, g: Group) -> Cell:
        name = g.args[0].strip('"')
        pins: dict[str, Pin] = {}
        for pg in g.find("pin"):
            for pname in pg.args:                 # pin(A, B) declares several pins
                pins[pname.strip('"')] = self.pin(pg, pname.strip('"'), name)
        for bus in g.find("bus") + g.find("bundle"):
            for pg in bus.find("pin"):
                for pname in pg.args:
                    pins[pname.strip('"')] = self.pin(pg, pname.strip('"'), name)
        leak = g.attrs.get("cell_leakage_power")
        if leak is None:
            vals = [float(lp.attrs["value"]) for lp in g.find("leakage_power") if "value" in lp.attrs]
            leak = float(np.mean(vals)) if vals else 0.0
        ff = None
        ffg = g.first("ff")
        if ffg is not None:
            ff = {"q": ffg.args[0].strip('"'), "qn": ffg.args[1].strip('"') if len(ffg.args) > 1 else ""}
            for k in ("next_state", "clocked_on", "clear", "preset"):
                if k in ffg.attrs:
                    ff[k] = str(ffg.attrs[k]).strip('"')
        dont_use = str(g.attrs.get("dont_use", "false")).strip('"').lower() == "true"
        return Cell(name, float(g.attrs.get("area", 0.0)), float(leak) * self.p, pins, dont_use,
                    ff, latch=g.first("latch") is not None or g.first("latch_bank") is not None,
                    statetable=g.first("statetable") is not None)


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_text(path: str | os.PathLike) -> str:
    """The text of a ``.lib`` or ``.lib.gz`` file (gzip detected from the magic bytes)."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            head = f.read(2)
        opener = gzip.open if head == b"\x1f\x8b" else open
        with opener(p, "rt", encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError as e:
        raise LibertyError(f"cannot read liberty file {str(path)!r}: {e}") from None


def _cache_dir() -> Path:
    from intfp.cache import cache_dir
    return cache_dir() / "liberty"


_MEMO: dict[str, Library] = {}


def read_liberty(path: str | os.PathLike, *, use_cache: bool | None = None) -> Library:
    """Read a Liberty file into a :class:`Library` (parsed once, then pickled by content hash).

    ``use_cache``: read and write the parse cache (``<cache>/liberty``); None (default) does so
    unless caching is off (``INTFP_CACHE_DIR=off``, which ``--no-cache`` sets for a command),
    so that a command asked to write no cache writes no parse cache either.

    Raises :class:`LibertyError` naming the file on unreadable or malformed input and for
    libraries without cell areas.
    """
    path = Path(path)
    if not path.is_file():
        raise LibertyError(f"liberty file not found: {str(path)!r}")
    sha = file_sha256(path)
    if sha in _MEMO:
        return _MEMO[sha]
    from intfp.cache import cache_enabled, code_fingerprint
    use_cache = cache_enabled() if use_cache is None else (use_cache and cache_enabled())
    # keyed by the file and by this parser's code: a parser change never reads an old pickle
    pkl = _cache_dir() / f"{sha[:32]}.{code_fingerprint('intfp.analysis.liberty')[:16]}.pkl" \
        if use_cache else None
    if use_cache and pkl.is_file():
        try:
            with open(pkl, "rb") as f:
                lib = pickle.load(f)
            lib.path = str(path)
            _MEMO[sha] = lib
            return lib
        except Exception:                  # stale or truncated cache: reparse
            pass
    try:
        tree = parse_liberty(read_text(path))
    except LibertyError as e:
        raise LibertyError(f"{path}: {e}") from None
    b = _Builder(tree)
    cells = {}
    for g in tree.find("cell"):
        c = b.cell(g)
        cells[c.name] = c
    if not cells:
        raise LibertyError(f"{path}: library has no cells")
    volt = float(tree.attrs.get("nom_voltage", 0) or 0) * b.v
    if volt <= 0:
        oc = tree.first("operating_conditions")
        volt = float(oc.attrs.get("voltage", 0)) * b.v if oc is not None else 0.0
    if volt <= 0:
        raise LibertyError(f"{path}: no nom_voltage or operating_conditions voltage")
    wl = tree.attrs.get("default_wire_load")
    lib = Library(tree.args[0].strip('"') if tree.args else path.stem, str(path), sha, volt,
                  cells, b.units, str(wl).strip('"') if wl else None, b.wire_loads(tree))
    lib.check_areas()
    if use_cache:
        from intfp.cache import atomic_write
        try:
            atomic_write(pkl, lambda f: pickle.dump(lib, f, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:
            pass                           # an unwritable cache only costs a reparse next time
    _MEMO[sha] = lib
    return lib
