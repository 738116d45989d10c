"""``intfp workload NAME``: run a registered workload under several formats (see docs/workloads.md)."""
from __future__ import annotations

from intfp.models.workloads.registry import call_with_options

from intfp.models.workloads.tables import markdown_table  # noqa: F401  (used by the commands)

import ast
import json
import math

import click


def _parse_option(text: str):
    if "=" not in text:
        raise click.BadParameter(f"options are key=value; got {text!r}", param_hint="-o/--option")
    key, value = text.split("=", 1)
    try:
        return key.strip(), ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key.strip(), value          # a bare string such as variant=mrope


def _jsonable(x):
    if isinstance(x, list):
        return [_jsonable(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if hasattr(x, "item"):
        return _jsonable(x.item())
    return x


#: The companion papers' experiments (not per-format workloads): name -> "module:function" returning
#: ``(tables, text)`` like the study's commands; ``-o key=value`` sets the function's keywords.
EXPERIMENTS = {"bob-ablation": "intfp.models.workloads.bob:ablation_report",
               "dmd-1d": "intfp.models.workloads.dmd:experiment_1d",
               "dmd-sgts": "intfp.models.workloads.dmd:experiment_sgts",
               "value-drift-post": "intfp.models.workloads.value_drift:posttrain_report"}


def experiment_function(name: str):
    import importlib
    mod, fn = EXPERIMENTS[name].split(":")
    return getattr(importlib.import_module(mod), fn)  # closure: targets are constants here


def run_experiment(name: str, **kwargs):
    """Run experiment ``name`` (:data:`EXPERIMENTS`) with keyword overrides checked against its signature."""
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; allowed: {', '.join(EXPERIMENTS)}")
    fn = experiment_function(name)
    return call_with_options(name, fn, kwargs)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("name", required=False)
@click.option("--formats", "-f", default="mxint8,mxfp8,nvint4,nvfp4", show_default=True,
              help="comma-separated formats: presets, aliases, fp64 / fp32 / bf16, <int preset>_asym")
@click.option("--hadamard/--no-hadamard", default=False, show_default=True,
              help="random Hadamard rotation of both GEMM operands along the reduction dim")
@click.option("--scale-rule", "scale_rule", type=click.Choice(["floor", "ceil"]), default=None,
              help="UE8M0 (MX) block-scale rule: floor (OCP MX v1.0) or ceil (the study's); default: each "
                   "format's own (floor for MX; NV formats always use their E4M3 x FP32 rule)")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--record", type=click.Path(dir_okay=False), default=None,
              help="write the operand streams of every quantized GEMM to this .npz")
@click.option("--option", "-o", "options", multiple=True, help="workload option key=value (repeatable)")
@click.option("--json", "as_json", is_flag=True, help="print the rows as a JSON list of objects")
@click.option("--markdown", "as_markdown", is_flag=True, help="print a Markdown table (as in docs/workloads.md)")
@click.option("--list", "list_only", is_flag=True, help="list the workloads and their options")
def workload(name, formats, hadamard, scale_rule, seed, record, options, as_json, as_markdown, list_only):
    """Run workload NAME (hla, rope, ...) once per format against its float64 reference.

    Prints per format the output QSNR and relative error, the workload's metrics and its MACs.
    NAME may also be one of the study's experiments (arXiv 2510.25602): study-kl (direct-cast KL,
    section 5.2), study-train (BF16 / MXFP8 / MXINT8 training, section 5.3), study-clip (INT8
    [-128, 127] vs [-127, 127], App. D.2); they print a Markdown report beside the study's claims
    (``-o`` sets their keywords; --formats and --hadamard do not apply to them).
    """
    from intfp.models.workloads.runner import get_workload, run_workload, workload_names
    if list_only or name is None:
        for n in workload_names():
            wl = get_workload(n)
            click.echo(f"{n:12s} {wl.description}\n{'':12s} options: "
                       + ", ".join(f"{k}={v!r}" for k, v in wl.options.items()))
        import inspect

        from intfp.models.workloads.study import STUDY_COMMANDS
        for n, fn in STUDY_COMMANDS.items():
            params = inspect.signature(fn).parameters
            click.echo(f"{n:12s} {fn.__doc__.splitlines()[0]}\n{'':12s} options: "
                       + ", ".join(f"{k}={p.default!r}" for k, p in params.items()))
        for n in EXPERIMENTS:
            params = inspect.signature(experiment_function(n)).parameters
            click.echo(f"{n:12s} {experiment_function(n).__doc__.splitlines()[0]}\n{'':12s} options: "
                       + ", ".join(f"{k}={p.default!r}" for k, p in params.items()))
        return
    from intfp.models.workloads.study import STUDY_COMMANDS, run_study
    if name in EXPERIMENTS or name in STUDY_COMMANDS:
        kwargs = dict(_parse_option(o) for o in options)
        kwargs.setdefault("seed", seed)
        if scale_rule is not None and name != "study-clip":
            kwargs["scale_rule"] = scale_rule
        try:
            tables, text = run_study(name, **kwargs) if name in STUDY_COMMANDS else run_experiment(name, **kwargs)
        except ValueError as e:
            raise click.ClickException(str(e)) from None
        if as_json:
            click.echo(json.dumps({k: [_jsonable(r) for r in v.to_dict(orient="records")] if hasattr(v, "to_dict")
                                   else _jsonable(v) for k, v in tables.items()}, indent=1))
        else:
            click.echo(text)
        return
    try:
        df = run_workload(name, formats, hadamard=hadamard, seed=seed, record=record, scale_rule=scale_rule,
                          **dict(_parse_option(o) for o in options))
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    except OSError as e:
        raise click.ClickException(f"{e}") from None
    if as_json:
        click.echo(json.dumps([_jsonable(r) for r in df.to_dict(orient="records")], indent=1))
        return
    if as_markdown:
        click.echo(markdown_table(df))
        return
    import pandas as pd
    with pd.option_context("display.width", 200, "display.max_columns", 30, "display.float_format", "{:.4g}".format):
        click.echo(df.drop(columns=["gemms", "workload", "seed"]).to_string(index=False))
    if record:
        click.echo(f"operand streams written to {record}")
