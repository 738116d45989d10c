"""Regenerate ``analysis/data/intfp_generic45.lib``, the project's default cell library.

Usage (from the repository root)::

    .venv/bin/python -m intfp.analysis.make_generic_lib /path/to/nangate45_typ.lib.gz

The source is the NanGate Open Cell Library, typical corner, 1.1 V (FreePDK45), as distributed
under Apache-2.0 with OpenSTA (``examples/nangate45_typ.lib.gz``) and OpenROAD-flow-scripts
(``flow/platforms/nangate45/lib/``). ``shared/liberty/nangate45_typ.lib.gz`` is that file.

Derivation (every number in the output is computed here from the source file):

* **Cells**: the X1 (minimum) drive strength of INV, BUF, NAND2, NAND3, NOR2, NOR3, AND2, OR2,
  XOR2, XNOR2, AOI21, OAI21, MUX2, FA, HA and DFF (``_X1`` suffix dropped, ``INTFP_`` prefix
  added). One drive strength per function keeps ABC's choice area-driven and makes the library
  a fixed "cell factor" table for the study's analytical model. FA / HA are multi-output and
  are not used by ABC's mapper; they are there for the analytical model's per-cell factors.
* **Area, pin capacitance** (``capacitance``, i.e. the larger of rise / fall), **function**,
  **ff**: copied.
* **Leakage**: ``cell_leakage_power`` (the state-average Nangate reports), copied.
* **Timing and internal power**: the source has 7x7 NLDM tables over input slew 1.2 ps..199 ps
  and load 0.37..59 fF (X1 cells), often several per arc under ``when`` conditions. Each arc is
  resampled to a **2x2 table** at slews {10, 100} ps and loads {2, 16} fF by bilinear
  interpolation of the source table: 10 ps is about a fan-out-of-4 X1 inverter transition
  (13.8 ps in this library) and 2 / 16 fF span one to ten X1 input loads (~1.6 fF each), so the
  2x2 table keeps each arc's intrinsic delay and its load slope (drive resistance) across the
  range a small datapath uses, and linear interpolation inside it stays within a few percent of
  the source table. State-dependent (``when``) variants of one arc are merged: **max** for delay
  and transition (the conservative STA choice), **mean** for internal energy (the state average,
  as for leakage). Flop clock-pin (hidden) power is resampled to 2 slews the same way; D-pin setup
  is resampled on the same 2x2 slew grid (clock x data slew) and merged by max.
* **Wire load**: the source's default wire-load model (``default_wire_load``, Nangate45
  ``5K_hvratio_1_1``) is copied verbatim (capacitance per length, slope, fan-out lengths), so
  ``intfp.analysis`` can add the estimated wire capacitance per net by fan-out when asked
  (``wire_load=True``); its other eight models are not.

Running this script on the same source reproduces the committed file byte for byte.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from .liberty import Library, Table, read_liberty

OUT = Path(__file__).resolve().parent / "data" / "intfp_generic45.lib"
SLEWS = (0.010, 0.100)          # ns
LOADS = (2.0, 16.0)             # fF
CELLS = ["INV", "BUF", "NAND2", "NAND3", "NOR2", "NOR3", "AND2", "OR2", "XOR2", "XNOR2",
         "AOI21", "OAI21", "MUX2", "FA", "HA", "DFF"]


def _grid(tables: list[Table | None], how) -> np.ndarray | None:
    """Sample tables on SLEWS x LOADS and merge them element-wise with ``how``."""
    ts = [t for t in tables if t is not None]
    if not ts:
        return None
    vals = np.array([[[t(s, c) for c in LOADS] for s in SLEWS] for t in ts])
    return how(vals, axis=0)


def _fmt(a: np.ndarray) -> str:
    rows = ", \\\n          ".join('"' + ", ".join(f"{v:.6g}" for v in row) + '"' for row in a)
    return rows


def _table(kind: str, template: str, vals: np.ndarray, ind: str) -> list[str]:
    return [f"{ind}{kind} ({template}) {{", f"{ind}  values ({_fmt(vals)});", f"{ind}}}"]


def _wire_load(src: Library) -> list[str]:
    wl = src.wire_load()
    if wl is None:
        return []
    return [f'  wire_load ("{wl.name}") {{', f"    capacitance : {wl.capacitance:.6g};",
            f"    slope : {wl.slope:.6g};",
            *(f"    fanout_length ({fo:g}, {ln:.6g});" for fo, ln in wl.fanout_length),
            "  }", f'  default_wire_load : "{wl.name}";']


def generate(src: Library) -> str:
    out = [
        "/* intfp_generic45: a small generic standard-cell library for intfp's default flow.",
        " *",
        f" * Derived by intfp/analysis/make_generic_lib.py from {src.name} (typical, {src.voltage} V),",
        " * NanGate FreePDK45 Open Cell Library as distributed with OpenSTA / OpenROAD-flow-scripts",
        " * under the Apache License 2.0; this derived file is distributed under the same licence.",
        f" * Source SHA-256: {src.sha256}",
        " * X1 cells only; NLDM tables resampled to 2x2 at slew {10, 100} ps x load {2, 16} fF;",
        " * `when` variants merged (max for timing, mean for power); the source's default wire-load",
        f" * model ({src.default_wire_load}) copied.",
        " */",
        "library (intfp_generic45) {",
        "  delay_model : table_lookup;",
        '  time_unit : "1ns";',
        '  voltage_unit : "1V";',
        '  current_unit : "1mA";',
        '  leakage_power_unit : "1nW";',
        "  capacitive_load_unit (1, ff);",
        '  pulling_resistance_unit : "1kohm";',
        f"  nom_process : 1.0;",
        f"  nom_temperature : 25.0;",
        f"  nom_voltage : {src.voltage:g};",
        "  input_threshold_pct_rise : 50; input_threshold_pct_fall : 50;",
        "  output_threshold_pct_rise : 50; output_threshold_pct_fall : 50;",
        "  slew_lower_threshold_pct_rise : 30; slew_lower_threshold_pct_fall : 30;",
        "  slew_upper_threshold_pct_rise : 70; slew_upper_threshold_pct_fall : 70;",
        "  default_input_pin_cap : 1.0; default_output_pin_cap : 0.0;",
        "  default_inout_pin_cap : 1.0; default_fanout_load : 1.0;",
        "  default_cell_leakage_power : 0.0; default_leakage_power_density : 0.0;",
        "  default_max_transition : 0.2;",
        *_wire_load(src),
        "  lu_table_template (delay_2x2) {",
        "    variable_1 : input_net_transition; variable_2 : total_output_net_capacitance;",
        f'    index_1 ("{SLEWS[0]:g}, {SLEWS[1]:g}"); index_2 ("{LOADS[0]:g}, {LOADS[1]:g}");',
        "  }",
        "  power_lut_template (energy_2x2) {",
        "    variable_1 : input_transition_time; variable_2 : total_output_net_capacitance;",
        f'    index_1 ("{SLEWS[0]:g}, {SLEWS[1]:g}"); index_2 ("{LOADS[0]:g}, {LOADS[1]:g}");',
        "  }",
        "  power_lut_template (hidden_2) {",
        "    variable_1 : input_transition_time;",
        f'    index_1 ("{SLEWS[0]:g}, {SLEWS[1]:g}");',
        "  }",
        "  lu_table_template (constraint_2x2) {",
        "    variable_1 : related_pin_transition; variable_2 : constrained_pin_transition;",
        f'    index_1 ("{SLEWS[0]:g}, {SLEWS[1]:g}"); index_2 ("{SLEWS[0]:g}, {SLEWS[1]:g}");',
        "  }",
    ]
    for base in CELLS:
        c = src.cell(f"{base}_X1")
        name = f"INTFP_{base}"
        out += [f"  cell ({name}) {{", f"    area : {c.area:.6g};",
                f"    cell_leakage_power : {c.leakage:.6g};"]
        if c.ff:
            out += [f'    ff ("{c.ff["q"]}", "{c.ff["qn"]}") {{',
                    f'      next_state : "{c.ff["next_state"]}";',
                    f'      clocked_on : "{c.ff["clocked_on"]}";', "    }"]
        for pname, p in c.pins.items():
            out += [f"    pin ({pname}) {{", f"      direction : {p.direction};"]
            if p.direction == "input":
                out.append(f"      capacitance : {p.capacitance:.6g};")
                if c.ff and pname == c.ff.get("clocked_on"):
                    out.append("      clock : true;")
                hidden = [(r, f) for rel, r, f in p.power if rel is None]
                if hidden:
                    # Hidden (clock / data) power: 1-D over slew, mean over `when` states.
                    for kind, idx in (("rise_power", 0), ("fall_power", 1)):
                        ts = [h[idx] for h in hidden if h[idx] is not None]
                        v = np.mean([[t(s, 0.0) for s in SLEWS] for t in ts], axis=0)
                        out += ["      internal_power () {",
                                f'        {kind} (hidden_2) {{ values ("{", ".join(f"{x:.6g}" for x in v)}"); }}',
                                "      }"]
                for rel in dict.fromkeys(s[0] for s in p.setup):
                    arcs = [s for s in p.setup if s[0] == rel]
                    out += ["      timing () {", f'        related_pin : "{rel}";',
                            "        timing_type : setup_rising;"]
                    for kind, idx in (("rise_constraint", 1), ("fall_constraint", 2)):
                        ts = [a[idx] for a in arcs if a[idx] is not None]
                        v = np.max([[[t(cs, ds) for ds in SLEWS] for cs in SLEWS] for t in ts], axis=0)
                        out += _table(kind, "constraint_2x2", v, "        ")
                    out.append("      }")
            else:
                if p.function is not None:
                    out.append(f'      function : "{p.function.text}";')
                for rel in dict.fromkeys(t[0] for t in p.timing):
                    arcs = [t for t in p.timing if t[0] == rel]
                    out += ["      timing () {", f'        related_pin : "{rel}";']
                    if arcs[0][1] != "combinational":
                        out.append(f"        timing_type : {arcs[0][1]};")
                    for kind, idx in (("cell_rise", 2), ("cell_fall", 3),
                                      ("rise_transition", 4), ("fall_transition", 5)):
                        v = _grid([a[idx] for a in arcs], np.max)
                        if v is not None:
                            out += _table(kind, "delay_2x2", v, "        ")
                    out.append("      }")
                for rel in dict.fromkeys(pw[0] for pw in p.power if pw[0] is not None):
                    arcs = [pw for pw in p.power if pw[0] == rel]
                    out += ["      internal_power () {", f'        related_pin : "{rel}";']
                    for kind, idx in (("rise_power", 1), ("fall_power", 2)):
                        v = _grid([a[idx] for a in arcs], np.mean)
                        if v is not None:
                            out += _table(kind, "energy_2x2", v, "        ")
                    out.append("      }")
            out.append("    }")
        out.append("  }")
    out.append("}")
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source", help="nangate45_typ.lib(.gz), e.g. ../shared/liberty/nangate45_typ.lib.gz")
    ap.add_argument("-o", "--output", default=str(OUT))
    args = ap.parse_args(argv)
    text = generate(read_liberty(args.source, use_cache=False))
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(text)
    print(f"wrote {args.output} ({len(text)} bytes, {len(CELLS)} cells)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
