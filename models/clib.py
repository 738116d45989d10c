"""Optional C loops, compiled at set-up: one mechanism for every C source intfp ships.

A :class:`CSource` names a C file beside the module that loads it (``models/qkernel.c`` for the
quantize kernels, ``analysis/timed_events.c`` for the timed event engine), its compiler flags,
and where the shared library goes: ``$<env>`` if set, else inside the Python environment
(``sys.prefix``: the venv scripts/setup.sh makes), named by a hash of the source and flags so
that a changed source is never run from a stale build. Each loading module keeps a
``# code file: NAME`` comment (:data:`intfp.cache.CODE_FILE_MARK`), so the source is part of
every cache key computed with it, and a pure-Python fallback for when the library is not built.

Layer: models. Imports nothing from intfp.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CSource", "build_main"]


@dataclass(frozen=True)
class CSource:
    source: Path
    flags: tuple[str, ...]
    stem: str                 # library file name: <stem>-<hash>.so
    env: str                  # environment variable that overrides the library's path
    what: str                 # for messages, e.g. "the qkernel library"
    fallback: str             # what runs without it, e.g. "use the torch kernels"

    def path(self) -> Path:
        """Where :meth:`build` puts the library (see the module docstring)."""
        env = os.environ.get(self.env, "").strip()
        if env:
            return Path(env)
        h = hashlib.sha256(self.source.read_bytes() + " ".join(self.flags).encode()).hexdigest()
        return Path(sys.prefix) / "lib" / "intfp" / f"{self.stem}-{h[:16]}.so"

    def build(self, path: Path | None = None) -> Path:
        """Compile the source with the system C compiler (``$CC``, else cc / gcc) into ``path``
        (default :meth:`path`), atomically; RuntimeError with the compiler's log tail if that
        fails, and no file left behind."""
        path = Path(path) if path is not None else self.path()
        cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
        if not cc:
            raise RuntimeError(f"no C compiler (cc / gcc / $CC) found to build {self.what}; "
                               f"install one (Debian: apt-get install gcc) or {self.fallback}")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            r = subprocess.run([cc, *self.flags, "-o", str(tmp), str(self.source)],
                               capture_output=True, text=True, timeout=300)
        except OSError as e:                       # not executable, not found
            raise RuntimeError(f"cannot run the C compiler {cc!r}: {e}") from e
        if r.returncode != 0:
            tmp.unlink(missing_ok=True)
            raise RuntimeError(f"building {self.source.name} with {cc} failed (exit "
                               f"{r.returncode}):\n" + (r.stderr or r.stdout)[-2000:])
        os.replace(tmp, path)                      # atomic: readers never see a partial file
        return path


def build_main(prog: str, path, build, argv=None) -> int:
    """``python -m <prog> [--force]``: print the library's path, building it when it is missing
    (or always with ``--force``); exit 1 with the build error, 2 on bad arguments. ``path`` and
    ``build`` are the loading module's own (``build`` also drops its loaded copy)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv not in ([], ["--force"]):
        print(f"usage: python -m {prog} [--force]", file=sys.stderr)
        return 2
    p = path()
    if p.is_file() and not argv:
        print(p)
        return 0
    try:
        print(build(p))
    except RuntimeError as e:
        print(f"{prog.rpartition('.')[2]}: {e}", file=sys.stderr)
        return 1
    return 0
