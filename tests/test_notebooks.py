"""Every notebook in notebooks/ executes without error on small settings."""
import os
import sys
from pathlib import Path

import pytest

NB_DIR = Path(__file__).resolve().parent.parent / "notebooks"
sys.path.insert(0, str(NB_DIR))
from execute import execute  # noqa: E402

NOTEBOOKS = sorted(NB_DIR.glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, tmp_path, monkeypatch):
    monkeypatch.setenv("INTFP_SMALL", "1")
    monkeypatch.setenv("INTFP_CACHE_DIR", str(tmp_path / "cache"))
    nb = execute(path, timeout=600, cwd=tmp_path)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, errors
    # every code cell ran and the last one produced output (a table or figure)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code)
    assert code[-1].get("outputs"), "the notebook's last cell showed nothing"
