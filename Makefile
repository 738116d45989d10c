# The two commands of the README:
#   make run    set up (if needed) and run the main job on its embedded defaults
#   make test   set up (if needed) and run the test suite
.PHONY: setup run test test-all bench
setup:
	@bash scripts/setup.sh

run: setup
	.venv/bin/intfp run

test: setup
	.venv/bin/python -m pytest -n 2 -m "not slow" tests

test-all: setup
	.venv/bin/python -m pytest -n 2 tests

bench: setup
	.venv/bin/python benchmarks/quantize_throughput.py
	.venv/bin/python benchmarks/rtl_verify_throughput.py
	.venv/bin/python benchmarks/energy_throughput.py
