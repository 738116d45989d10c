"""Shared test configuration."""
import os

# Several workers share 2 cores: keep torch / BLAS single-threaded inside tests.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from hypothesis import settings  # noqa: E402

settings.register_profile("intfp", deadline=None, max_examples=200)
settings.load_profile("intfp")
