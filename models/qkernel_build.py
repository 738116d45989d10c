"""Build the optional C loops of :mod:`intfp.models.qkernels` (``models/qkernel.c``).

    .venv/bin/python -m intfp.models.qkernel_build

compiles them with the system C compiler into the Python environment
(:func:`~intfp.models.qkernels.c_library_path`; ``$INTFP_QKERNEL_LIB`` overrides the place) and
prints the library's path; ``quantize`` then uses them (``INTFP_QKERNEL=torch`` switches back).
A separate module so that ``-m`` does not run qkernels a second time beside the imported copy.
"""
from __future__ import annotations

import sys

from .qkernels import build_c_library


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv:
        print("usage: python -m intfp.models.qkernel_build   (no arguments)", file=sys.stderr)
        return 2
    try:
        print(build_c_library())
    except RuntimeError as e:
        print(f"qkernel_build: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
