"""``intfp cache info|clear``: where the result cache is, what it holds, and emptying it."""
from __future__ import annotations

import json
import os

import click

from intfp.cache import CacheError, cache_clear, cache_info


def _size(n: int) -> str:
    """Bytes in decimal units (as ``du --si`` and pip do): ``0 B``, ``812 B``, ``4.2 kB``, ``59.0 MB``."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def _entries(n: int) -> str:
    return f"{n} entr{'y' if n == 1 else 'ies'}"


def _source() -> str:
    env = os.environ.get("INTFP_CACHE_DIR", "").strip()
    if not env:
        return "the per-user default; set INTFP_CACHE_DIR to move it, 'off' to disable"
    if env.lower() == "off":
        return "INTFP_CACHE_DIR=off: caching disabled, nothing is read or written"
    return "from INTFP_CACHE_DIR"


@click.group()
def cache():
    """The result cache: one per user (platform user cache folder), INTFP_CACHE_DIR overrides
    it ('off' disables caching)."""


@cache.command()
@click.option("--json", "as_json", is_flag=True, help="Print the information as JSON")
def info(as_json):
    """Where the cache is, how many entries and bytes it holds, per kind of result."""
    try:
        i = cache_info()
    except CacheError as e:
        raise click.ClickException(str(e)) from e
    if as_json:
        click.echo(json.dumps(i, indent=1))
        return
    click.echo(f"cache: {i['path']} ({_source()})")
    if not i["exists"]:
        click.echo("empty (the folder does not exist yet)")
        return
    click.echo(f"{_entries(i['entries'])}, {_size(i['bytes'])}")
    if i["kinds"]:
        w = max(len("kind"), *(len(k) for k in i["kinds"]))
        click.echo(f"{'kind':<{w}}  {'entries':>8}  {'size':>9}")
        for k, v in sorted(i["kinds"].items()):
            click.echo(f"{k:<{w}}  {v['entries']:>8}  {_size(v['bytes']):>9}")


@cache.command()
@click.option("--kind", "kinds", multiple=True,
              help="Clear only this kind of result (see `intfp cache info`); repeatable")
def clear(kinds):
    """Delete the cached results (all, or only --kind ones); the next run recomputes them."""
    try:
        i = cache_info()
        removed = cache_clear(list(kinds) if kinds else None)
    except CacheError as e:
        raise click.ClickException(str(e)) from e
    what = f" ({', '.join(kinds)})" if kinds else ""
    click.echo(f"removed {_entries(removed['entries'])}{what}, {_size(removed['bytes'])} from {i['path']}")
