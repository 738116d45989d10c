"""Build the optional C loops of :mod:`intfp.models.qkernels` (``models/qkernel.c``).

    .venv/bin/python -m intfp.models.qkernel_build [--force]

compiles them with the system C compiler into the Python environment
(:func:`~intfp.models.qkernels.c_library_path`; ``$INTFP_QKERNEL_LIB`` overrides the place) and
prints the library's path; ``quantize`` then uses them (``INTFP_QKERNEL=torch`` switches back).
An existing library is current (its name holds a hash of the source and flags) and is kept
unless ``--force``. A separate module so that ``-m`` does not run qkernels a second time.
"""
import sys

from .clib import build_main
from .qkernels import build_c_library, c_library_path


def main(argv=None) -> int:
    return build_main("intfp.models.qkernel_build", c_library_path, build_c_library, argv)


if __name__ == "__main__":
    sys.exit(main())
