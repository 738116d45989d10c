"""Build the optional C loop of the timed event engine (``analysis/timed_events.c``).

    .venv/bin/python -m intfp.analysis.timed_build [--force]

compiles it with the system C compiler into the Python environment
(:func:`~intfp.analysis.netlist.timed_library_path`; ``$INTFP_TIMED_LIB`` overrides the place)
and prints the library's path; ``Netlist.simulate_timed(engine="events")`` then uses it
(``INTFP_TIMED_ENGINE=numpy`` switches back to the numpy event engine: same counts, slower).
The library's name holds a hash of the source and flags, so an existing one is current and is
kept unless ``--force``. A separate module so that ``-m`` does not run netlist a second time.
"""
from __future__ import annotations

import sys

from .netlist import build_timed_library, timed_library_path


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv not in ([], ["--force"]):
        print("usage: python -m intfp.analysis.timed_build [--force]", file=sys.stderr)
        return 2
    path = timed_library_path()
    if path.is_file() and not argv:
        print(path)
        return 0
    try:
        print(build_timed_library(path))
    except RuntimeError as e:
        print(f"timed_build: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
