"""intfp.analysis: hardware cost of the units -- Yosys mapping onto Liberty libraries (area,
cells, static timing), activity-based energy from a bit-parallel gate-level simulation, the
study's analytical Table 6 model, reports and the ``intfp synth`` / ``intfp energy`` commands.

Entry points::

    from intfp.analysis.flow import unit_cost, sweep        # rows / DataFrame per sub-block
    from intfp.analysis.yosys import synthesize             # one Yosys run -> SynthResult
    from intfp.analysis.netlist import Netlist              # simulate / critical_path
    from intfp.analysis.energy import estimate_energy
    from intfp.analysis.liberty import read_liberty
    from intfp.analysis.analytic import analytic_cost, table6_counts
    from intfp.analysis.reports import table5, write_reports

See ``docs/hardware-cost.md``.
"""
