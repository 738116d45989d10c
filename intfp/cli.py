"""The `intfp` command line: one group, subcommands that live beside the code they drive.

Subcommands are imported lazily (``_COMMANDS`` maps a name to ``module:attribute``), so that
``intfp formats`` does not pay for importing Amaranth, cocotb or torch.
"""
from __future__ import annotations

import importlib

import click

_COMMANDS = {
    "formats": "intfp.commands:formats",
    "qsnr": "intfp.commands:qsnr",
    "run": "intfp.commands:run",
    "verdict": "intfp.commands:verdict",
    "report": "intfp.commands:report",
    "rtl": "intfp.cli_rtl:rtl",
    "synth": "intfp.cli_synth:synth",
    "energy": "intfp.cli_synth:energy",
    "workload": "intfp.cli_workload:workload",
    "cache": "intfp.cli_cache:cache",
    "explore": "intfp.explore:explore",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(_COMMANDS)

    def get_command(self, ctx, name):
        target = _COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        try:
            return getattr(importlib.import_module(module), attr)  # closure: keyed by caller
        except (ImportError, AttributeError) as e:
            # Keep `intfp --help` working when one subcommand cannot load; say why on use.
            reason = f"{type(e).__name__}: {e}"

            def unavailable(**_):
                raise click.ClickException(f"command {name!r} is not available: {reason}")

            return click.Command(name, callback=unavailable, help=f"(not available: {reason})",
                                 context_settings={"ignore_unknown_options": True},
                                 params=[click.Argument(["args"], nargs=-1)])


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="intfp")
def main():
    """intfp: what an INT or FP (MX / NV block-scaled) datapath costs and what accuracy it buys."""


if __name__ == "__main__":
    main()
