"""Content-addressed result cache, shared by every stage (sweeps, synthesis, the main job).

Location: ``$INTFP_CACHE_DIR`` if set (``off`` disables caching: nothing is read or written),
else ``./.cache/intfp``. A key is the SHA-256 of the
canonical JSON of everything that determines a result (inputs, parameters, tool versions and
the hash of the source code that computes it), so a laptop and a Dask cluster that share the
folder reuse each other's results.

Integrity: an entry is a JSON envelope ``{"sha256": ..., "value": ...}`` written atomically
(temporary file in the same folder, then ``os.replace``), so a reader never sees a half-written
entry; the checksum catches any other damage (a truncated copy, a disk error, a hand edit). A
damaged entry is reported, deleted and treated as missing: the caller recomputes it.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["cache_dir", "cache_enabled", "cache_key", "cache_get", "cache_put", "atomic_write",
           "atomic_write_text", "source_hash"]

log = logging.getLogger(__name__)


def cache_enabled() -> bool:
    return os.environ.get("INTFP_CACHE_DIR") != "off"


def cache_dir() -> Path:
    env = os.environ.get("INTFP_CACHE_DIR")
    return Path(env) if env and env != "off" else Path.cwd() / ".cache" / "intfp"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


def cache_key(**parts: Any) -> str:
    """SHA-256 hex digest of the canonical JSON of ``parts``."""
    return hashlib.sha256(_canonical(parts).encode()).hexdigest()


def source_hash(*modules: str) -> str:
    """SHA-256 over the source files of the named modules, so a code change invalidates results."""
    import importlib

    h = hashlib.sha256()
    for name in sorted(set(modules)):
        mod = importlib.import_module(name)
        h.update(name.encode())
        h.update(Path(mod.__file__).read_bytes())
    return h.hexdigest()


def atomic_write(path, write) -> Path:
    """Create ``path`` atomically: ``write(binary_file)`` fills a temporary file in the same
    folder, which then replaces ``path`` (``os.replace``); on any error the temporary file is
    removed and ``path`` is untouched. Readers never see a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())            # mkstemp makes 0600: give normal permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path, text: str) -> Path:
    return atomic_write(path, lambda f: f.write(text.encode()))


def _path(kind: str, key: str) -> Path:
    if not kind or "/" in kind or kind.startswith("."):
        raise ValueError(f"cache kind must be a plain name, got {kind!r}")
    return cache_dir() / kind / key[:2] / f"{key}.json"


def cache_get(kind: str, key: str) -> Any | None:
    """The cached value, or None if absent or damaged (a damaged entry is removed)."""
    if not cache_enabled():
        return None
    p = _path(kind, key)
    try:
        text = p.read_text()
    except FileNotFoundError:
        return None
    try:
        env = json.loads(text)
        value = env["value"]
        ok = env["sha256"] == hashlib.sha256(_canonical(value).encode()).hexdigest()
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        log.warning("cache entry %s is damaged; removing it and recomputing", p)
        p.unlink(missing_ok=True)
        return None
    return value


def cache_put(kind: str, key: str, value: Any) -> None:
    """Store a JSON-able value (written atomically, with its checksum)."""
    if not cache_enabled():
        return
    body = _canonical(value)
    env = {"sha256": hashlib.sha256(body.encode()).hexdigest(), "value": json.loads(body)}
    atomic_write_text(_path(kind, key), json.dumps(env, sort_keys=True))
