"""Execute the notebooks in place (full settings), so the committed copies show real outputs.

    .venv/bin/python notebooks/execute.py [NAME.ipynb ...]

The test suite executes the same notebooks on small settings (INTFP_SMALL=1) in a temporary
folder (tests/test_notebooks.py).
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent


def execute(path: Path, timeout: int = 1800, cwd: Path | None = None) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd or path.parent)}}).execute()
    return nb


def main(argv: list[str]) -> None:
    paths = [HERE / a for a in argv] if argv else sorted(HERE.glob("*.ipynb"))
    for p in paths:
        print(f"executing {p.name} ...", flush=True)
        nbformat.write(execute(p), p)


if __name__ == "__main__":
    main(sys.argv[1:])
