"""``intfp rtl``: export the units to Verilog and verify them against the bit-accurate model."""
from __future__ import annotations

import sys
from pathlib import Path

import click

__all__ = ["rtl"]

_KINDS = ("block", "scalar", "mixed")


def _unit_options(f):
    """FMT and the unit parameters ``intfp rtl export`` and ``verify`` share (one unit spec)."""
    options = [
        click.argument("fmt"),
        click.option("--kind", type=click.Choice(_KINDS), default=None,
                     help="block, scalar MAC or mixed (default: from FMT: mxfp8+nvfp4 mixed, "
                          "e4m3 scalar, else block)."),
        click.option("--lanes", type=int, default=None, help="Lanes k (default 32 for MX, 16 for NV)."),
        click.option("--window", type=int, default=None,
                     help="FP aligner width n (default the study's rule)."),
        click.option("--lane-arch", "lane_arch", default=None,
                     help="Lane architecture of a block unit (INT: twos, booth, baugh_wooley, "
                          "signmag, signmag_tree; FP: standard)"),
        click.option("--stages", type=click.IntRange(1, 4), default=1, show_default=True,
                     help="Pipeline stages of a block unit (registers after the tree, the lanes, "
                          "the normalizer)"),
    ]
    for opt in reversed(options):
        f = opt(f)
    return f


def _resolve(fmt, kind, lanes, window, lane_arch, stages):
    """The unit spec of the command's words; a bad word is a usage error naming it."""
    from intfp.models.spec import resolve_unit
    try:
        return resolve_unit(fmt, kind, lanes, window, stages - 1, lane_arch)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


class _ToolFault(click.ClickException):
    """A simulator / tool fault: exit status 3 (1 is reserved for RTL != model)."""

    exit_code = 3


@click.group()
def rtl():
    """Export the MAC / block dot-product RTL and verify it bit for bit against the model."""


@rtl.command("list")
@click.option("--kind", type=click.Choice(_KINDS), default="block", show_default=True)
def list_units(kind):
    """Print the format names a unit kind accepts."""
    from intfp.rtl.units import unit_names

    for name in unit_names(kind):
        click.echo(name)
    if kind != "mixed":
        from intfp.models.formats import ELEMENT_GRAMMAR, FORMAT_GRAMMAR
        click.echo(f"(presets; any other {FORMAT_GRAMMAR if kind == 'block' else ELEMENT_GRAMMAR} "
                   "works too)", err=True)      # stdout stays a plain list of names


@rtl.command()
@_unit_options
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("out/rtl"), show_default=True, help="Directory for <name>.v.")
def export(fmt, kind, lanes, window, lane_arch, stages, out_dir):
    """Write FMT's unit as Verilog, in <module>.v with the unit's top-module name (FMT: a preset
    such as mxfp8_e4m3, nvint4, or any block format of the grammar, e.g. mx:e2m2/b16/ue8m0; an
    element (e4m3, e3m3, int5) for a scalar MAC; mxfp8+nvfp4 or mxint8+nvint4 for a mixed unit)."""
    from amaranth import Shape
    from amaranth.lib import wiring

    from intfp.rtl.export import write_verilog
    from intfp.rtl.units import make_unit

    spec = _resolve(fmt, kind, lanes, window, lane_arch, stages)
    unit, name = make_unit(spec), spec.top
    path = write_verilog(unit, name, out_dir)
    click.echo(f"wrote {path}")
    for port, member in unit.signature.members.items():
        flow = "in " if member.flow == wiring.In else "out"
        click.echo(f"  {flow} {port:<10} {Shape.cast(member.shape).width:>4} bits")
    click.echo("  in  clk, rst (synchronous, active high)")


@rtl.command()
@_unit_options
@click.option("--blocks", "n", type=click.IntRange(1), default=2000, show_default=True,
              help="Random and corner-case blocks to simulate.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--no-lanes", is_flag=True, help="Skip the exhaustive lane-multiplier check.")
@click.option("--hierarchical", is_flag=True,
              help="Simulate the exported (hierarchical) Verilog instead of the flat netlist.")
@click.option("--simulator", type=click.Choice(["verilator", "icarus"]), default=None,
              help="cocotb's simulator (default: $INTFP_SIMULATOR, else verilator when "
                   "Verilator >= 5.036 is installed, else icarus).")
def verify(fmt, kind, lanes, window, lane_arch, stages, n, seed, no_lanes, hierarchical, simulator):
    """Simulate FMT's unit (cocotb on Verilator or Icarus) and compare every output with the
    model.

    Exits with status 1 on any mismatch, 3 when the simulator itself fails (a tool fault,
    reported with its log's tail, never as mismatches)."""
    from intfp.sim import checks
    from intfp.sim.runner import SimulatorError, check_simulator

    unit = _resolve(fmt, kind, lanes, window, lane_arch, stages)      # validate first
    try:
        sim = check_simulator(simulator)
    except ValueError as e:                                  # a bad $INTFP_SIMULATOR
        raise click.BadParameter(str(e), param_hint="'--simulator' / INTFP_SIMULATOR") from None
    try:
        results = checks.verify(unit, n=n, seed=seed, exhaustive_lanes=not no_lanes,
                                simulator=sim, flat=not hierarchical)
    except SimulatorError as e:
        raise _ToolFault(f"simulator fault, nothing verified: {e}") from None
    for r in results:
        click.echo(r.summary())
        if not r.passed:
            click.echo(f"  log: {r.log}")
    if not all(r.passed for r in results):
        sys.exit(1)


@rtl.command()
def widths():
    """Print every block unit's datapath widths (markdown table; docs/arithmetic.md)."""
    from intfp.models.hwmodel import dot_spec

    from intfp.rtl.units import unit_names

    click.echo("| format | element | lanes k | window n | guard bits | adder-tree input | "
               "adder-tree sum | after dequantizer | exponent offset |")
    click.echo("|---|---|---|---|---|---|---|---|---|")
    for fmt in unit_names():
        s = dot_spec(fmt)
        w = (s.window, s.guard) if s.is_fp else ("exact", "-")
        click.echo(f"| {fmt} | {s.elem.name} | {s.lanes} | {w[0]} | {w[1]} | {s.lane_bits} | "
                   f"{s.sum_bits} | {s.scaled_bits} | {s.exp_offset} |")


@rtl.command()
@click.option("--blocks", "n", type=click.IntRange(1), default=4096, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--format", "formats", multiple=True, help="Preset(s) (default: all).")
def accuracy(n, seed, formats):
    """Print the hardware model's error against exact arithmetic per format and window."""
    from intfp.models.hwmodel import accuracy_table

    click.echo(f"{n} blocks per row, seed {seed}; reference: exact dot product of the decoded "
               "elements x block scales. CR = share of blocks equal to the correctly rounded FP32.")
    click.echo("")
    click.echo("| format | window n | Gaussian CR | Gaussian mean rel. err | Gaussian max rel. err "
               "| heavy CR | heavy mean rel. err | heavy max err / sum abs(products) |")
    click.echo("|---|---|---|---|---|---|---|---|")
    for r in accuracy_table(list(formats) or None, n, seed):
        g, h = r["gaussian"], r["heavy"]
        if r["window"] is None:
            w = "exact (INT)"
        else:
            w = str(r["window"]) + (" (default)" if r["default"] else "")
        click.echo(f"| {r['fmt']} | {w} | {100 * g['correctly_rounded']:.2f}% | {g['mean_rel']:.2e} | "
                   f"{g['max_rel']:.2e} | {100 * h['correctly_rounded']:.2f}% | {h['mean_rel']:.2e} | "
                   f"{h['max_norm']:.2e} |")
