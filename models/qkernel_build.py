"""Build the optional C loops of :mod:`intfp.models.qkernels` (``models/qkernel.c``).

    .venv/bin/python -m intfp.models.qkernel_build [--force]

compiles them with the system C compiler into the Python environment
(:func:`~intfp.models.qkernels.c_library_path`; ``$INTFP_QKERNEL_LIB`` overrides the place) and
prints the library's path; ``quantize`` then uses them (``INTFP_QKERNEL=torch`` switches back).
The library's name holds a hash of the source and flags, so an existing one is current and is
kept unless ``--force`` (fast enough to run on every setup).
A separate module so that ``-m`` does not run qkernels a second time beside the imported copy.
"""
from __future__ import annotations

import sys

from .qkernels import build_c_library, c_library_path


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv not in ([], ["--force"]):
        print("usage: python -m intfp.models.qkernel_build [--force]", file=sys.stderr)
        return 2
    path = c_library_path()
    if path.is_file() and not argv:
        print(path)
        return 0
    try:
        print(build_c_library(path))
    except RuntimeError as e:
        print(f"qkernel_build: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
