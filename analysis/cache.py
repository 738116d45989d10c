"""Content-addressed result cache under ``.cache/intfp/`` (or ``$INTFP_CACHE_DIR``).

A key is the SHA-256 of a canonical JSON document of everything that determines a result:
Verilog source, parameters, library file hash, tool version and stream. Values are JSON
documents written atomically (temporary file in the same directory + ``os.replace``), so
parallel sweep workers never see a half-written entry.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["cache_dir", "cache_key", "cache_get", "cache_put", "atomic_write_text"]


def cache_dir() -> Path:
    """``$INTFP_CACHE_DIR`` if set, else ``./.cache/intfp`` (the working directory's)."""
    env = os.environ.get("INTFP_CACHE_DIR")
    return Path(env) if env else Path.cwd() / ".cache" / "intfp"


def cache_key(**parts: Any) -> str:
    """SHA-256 hex digest of the canonical JSON of ``parts`` (sorted keys)."""
    blob = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _path(kind: str, key: str) -> Path:
    return cache_dir() / kind / key[:2] / f"{key}.json"


def cache_get(kind: str, key: str) -> Any | None:
    p = _path(kind, key)
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError):
        return None


def cache_put(kind: str, key: str, value: Any) -> None:
    atomic_write_text(_path(kind, key), json.dumps(value, sort_keys=True))
