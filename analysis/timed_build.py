"""Build the optional C loop of the timed event engine (``analysis/timed_events.c``).

    .venv/bin/python -m intfp.analysis.timed_build [--force]

compiles it with the system C compiler into the Python environment
(:func:`~intfp.analysis.netlist.timed_library_path`; ``$INTFP_TIMED_LIB`` overrides the place)
and prints the library's path; ``Netlist.simulate_timed(engine="events")`` then uses it
(``INTFP_TIMED_ENGINE=numpy`` switches back to the numpy event engine: same counts, slower).
An existing library is current (its name holds a hash of the source and flags) and is kept
unless ``--force``. A separate module so that ``-m`` does not run netlist a second time.
"""
import sys

from intfp.models.clib import build_main

from .netlist import build_timed_library, timed_library_path


def main(argv=None) -> int:
    return build_main("intfp.analysis.timed_build", timed_library_path, build_timed_library, argv)


if __name__ == "__main__":
    sys.exit(main())
