"""Cache keys come from the code itself, every key part matters, and faults are never cached.

Issue "No silent wrong results": a cached result is keyed by everything that made it, the code
included (the import closure of the computing module, found from the source), so a warm cache
can never answer with a result that today's code would not produce.
"""
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

import intfp.cache as cache
from intfp.cache import (CacheError, cache_get, cache_put, code_fingerprint, import_closure,
                         package_modules, result_key)


@pytest.fixture
def tree_copy(tmp_path):
    """A temporary copy of the package's source tree, as roots for the fingerprint functions."""
    roots = {}
    for name, folder in cache._default_roots().items():
        dst = tmp_path / "src" / name
        shutil.copytree(folder, dst, ignore=shutil.ignore_patterns("__pycache__", "data"))
        roots[name] = dst
    return roots


def test_closure_of_the_verification_task_has_the_testbench_and_harness():
    c = set(import_closure("intfp.verify_task"))
    # the files the issue found missing from the hand-kept list
    assert {"intfp.sim.checks", "intfp.rtl.harness", "intfp.rtl.export", "intfp.sim.runner",
            "intfp.sim.vectors", "intfp.rtl.units", "intfp.models.hwmodel"} <= c
    assert not {"intfp.report", "intfp.analysis.flow", "intfp.main_job"} & c


def test_closure_of_the_synthesis_flow_has_energy_and_the_operand_quantizer():
    c = set(import_closure("intfp.analysis.flow"))
    assert {"intfp.analysis.energy", "intfp.analysis.netlist", "intfp.analysis.liberty",
            "intfp.analysis.yosys", "intfp.analysis.analytic", "intfp.models.blocks",
            "intfp.rtl.units", "intfp.rtl.components", "intfp.rtl.mixed"} <= c
    assert not {"intfp.report", "intfp.main_job", "intfp.sim.runner"} & c


def test_every_dynamic_import_in_the_package_is_resolvable_or_marked():
    # import_closure raises CacheError on an import_module() whose target the source hides
    everything = import_closure(*package_modules())
    assert "intfp.analysis.flow" in everything


@pytest.mark.parametrize("entry", ["intfp.verify_task", "intfp.analysis.flow"])
def test_editing_each_module_of_a_closure_changes_the_key_and_others_do_not(tree_copy, entry):
    base = code_fingerprint(entry, roots=tree_copy)
    mods = package_modules(tree_copy)
    inside = import_closure(entry, roots=tree_copy)
    for m in inside:
        p = mods[m]
        old = p.read_text()
        p.write_text(old + "\n# an edit\n")
        try:
            assert code_fingerprint(entry, roots=tree_copy) != base, m
        finally:
            p.write_text(old)
    outside = [m for m in mods if m not in inside]
    assert "intfp.report" in outside
    for m in outside:
        p = mods[m]
        old = p.read_text()
        p.write_text(old + "\n# an edit\n")
        try:
            assert code_fingerprint(entry, roots=tree_copy) == base, m
        finally:
            p.write_text(old)
    assert code_fingerprint(entry, roots=tree_copy) == base


def test_a_declared_c_source_is_part_of_the_key(tree_copy):
    """models/qkernel.c computes quantized values when built: editing it changes every key
    whose closure holds models/qkernels.py; a declared file that is missing is an error."""
    entry = "intfp.models.workloads.runner"
    mods = package_modules(tree_copy)
    assert "intfp.models.qkernels" in import_closure(entry, roots=tree_copy)
    base = code_fingerprint(entry, roots=tree_copy)
    c = mods["intfp.models.qkernels"].with_name("qkernel.c")
    assert cache.code_files(mods["intfp.models.qkernels"]) == [c]
    old = c.read_bytes()
    c.write_bytes(old + b"\n/* an edit */\n")
    assert code_fingerprint(entry, roots=tree_copy) != base
    c.unlink()
    with pytest.raises(FileNotFoundError, match="declares the code file 'qkernel.c'"):
        code_fingerprint(entry, roots=tree_copy)


def test_a_new_import_joins_the_closure(tree_copy):
    mods = package_modules(tree_copy)
    assert "intfp.report" not in import_closure("intfp.verify_task", roots=tree_copy)
    with open(mods["intfp.sim.checks"], "a") as f:
        f.write("\ndef _later():\n    from intfp import report  # noqa: F401\n")
    assert "intfp.report" in import_closure("intfp.verify_task", roots=tree_copy)


def test_unresolvable_dynamic_import_is_an_error(tree_copy):
    mods = package_modules(tree_copy)
    with open(mods["intfp.sim.checks"], "a") as f:
        f.write("\ndef _load(name):\n    import importlib\n    return importlib.import_module(name)\n")
    with pytest.raises(CacheError, match="import_module"):
        import_closure("intfp.verify_task", roots=tree_copy)


def test_result_key_covers_kind_code_inputs_and_package_versions(monkeypatch):
    base = result_key("k", "intfp.models.blocks", a=1)
    assert result_key("k", "intfp.models.blocks", a=1) == base
    assert result_key("k2", "intfp.models.blocks", a=1) != base
    assert result_key("k", "intfp.models.blocks", a=2) != base
    assert result_key("k", "intfp.models.theory", a=1) != base
    monkeypatch.setattr(cache, "dependency_versions", lambda: {"numpy": "0.0"})
    assert result_key("k", "intfp.models.blocks", a=1) != base


# ---------------------------------------------------------------------------------------------
# unit_cost's key: each part changes it
# ---------------------------------------------------------------------------------------------
def test_unit_cost_key_changes_with_each_part(monkeypatch, tmp_path):
    from intfp.analysis import flow
    monkeypatch.setattr(flow, "yosys_version", lambda: "Yosys 0.70")
    from intfp.models.spec import resolve_unit
    unit = resolve_unit("mxint4", lanes=2)
    design = SimpleNamespace(rtlil="module \\x\nend\n", top="x", unit=unit, name=unit.name)
    kw = dict(stream="gaussian", cycles=33, streams=512, seed=0, clock_ns=None, booth=False,
              analytic=True)
    base = flow.unit_cost_key(design, "lib-sha", **kw)
    assert flow.unit_cost_key(design, "lib-sha", **kw) == base
    changed = {
        "rtlil": flow.unit_cost_key(SimpleNamespace(rtlil="module \\y\nend\n", top="x", unit=unit,
                                                    name=unit.name), "lib-sha", **kw),
        "top": flow.unit_cost_key(SimpleNamespace(rtlil=design.rtlil, top="y", unit=unit,
                                                  name=unit.name), "lib-sha", **kw),
        "unit spec": flow.unit_cost_key(SimpleNamespace(rtlil=design.rtlil, top="x",
                                                        unit=resolve_unit("mxint4", lanes=2, pipeline=1),
                                                        name=unit.name), "lib-sha", **kw),
        "library": flow.unit_cost_key(design, "other-lib", **kw),
    }
    for part, value in [("stream", "heavy"), ("stream", None), ("stream", ["gaussian", "heavy"]),
                        ("delay_model", "unit"), ("wire_load", "auto"), ("time_step_ns", 0.002),
                        ("cycles", 9), ("streams", 64),
                        ("seed", 1), ("clock_ns", 5.0), ("booth", True), ("analytic", False)]:
        changed[f"{part}={value}"] = flow.unit_cost_key(design, "lib-sha", **dict(kw, **{part: value}))
    monkeypatch.setattr(flow, "yosys_version", lambda: "Yosys 0.71")
    changed["yosys"] = flow.unit_cost_key(design, "lib-sha", **kw)
    monkeypatch.setattr(flow, "yosys_version", lambda: "Yosys 0.70")
    monkeypatch.setattr(cache, "code_fingerprint", lambda *e, **k: "edited source")
    changed["code"] = flow.unit_cost_key(design, "lib-sha", **kw)
    monkeypatch.undo()
    monkeypatch.setattr(flow, "yosys_version", lambda: "Yosys 0.70")
    # a stream file: its content, not its name
    f = tmp_path / "s.npz"
    f.write_bytes(b"one")
    k1 = flow.unit_cost_key(design, "lib-sha", **dict(kw, stream=str(f)))
    f.write_bytes(b"two")
    changed["stream file content"] = flow.unit_cost_key(design, "lib-sha", **dict(kw, stream=str(f)))
    assert k1 != changed["stream file content"]
    for part, key in changed.items():
        assert key != base, part
    assert len(set(changed.values())) == len(changed)


def test_sweep_task_key_changes_with_library_content_stream_file_and_yosys(monkeypatch, tmp_path):
    from intfp.analysis import flow
    from intfp.sweep import make_task
    captured = []
    monkeypatch.setattr(flow, "run_sweep", None, raising=False)

    def fake_run_sweep(tasks, **kw):
        captured.append(tasks)
        raise SystemExit                      # stop before any work
    import intfp.sweep
    monkeypatch.setattr(intfp.sweep, "run_sweep", fake_run_sweep)
    lib = tmp_path / "a.lib"
    lib.write_text(open(cache._default_roots()["intfp.analysis"] / "data" / "intfp_generic45.lib").read())

    def key(**kw):
        with pytest.raises(SystemExit):
            flow.sweep(["mac8"], libraries=(str(lib),), stream=None, **kw)
        return captured[-1][0].key
    base = key()
    with open(lib, "a") as f:
        f.write("\n/* edited */\n")
    assert key() != base
    base = key()
    monkeypatch.setattr(flow, "yosys_version", lambda: "Yosys 9.99")
    assert key() != base
    assert isinstance(make_task("intfp.analysis.flow:unit_cost", {"fmt": "mac8"}).key, str)


# ---------------------------------------------------------------------------------------------
# Real synthesis: block units get their own entries; a code change recomputes; faults not cached
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def counting_synth(monkeypatch, tmp_path):
    from intfp.analysis import flow
    monkeypatch.setenv("INTFP_CACHE_DIR", str(tmp_path / "cache"))
    calls = []
    real = flow.synthesize

    def synth(*a, **k):
        calls.append(a[1])
        return real(*a, **k)
    monkeypatch.setattr(flow, "synthesize", synth)
    return calls


def test_block_units_have_their_own_cache_entries(counting_synth, tmp_path):
    from intfp.analysis.flow import unit_cost
    a = unit_cost("mxint4", lanes=2, stream=None)
    b = unit_cost("nvint4", lanes=2, stream=None)
    assert len(counting_synth) == 2 and a[0]["format"] == "mxint4" and b[0]["format"] == "nvint4"
    entries = list((tmp_path / "cache" / "unit_cost").rglob("*.json"))
    assert len(entries) == 2
    assert unit_cost("mxint4", lanes=2, stream=None) == a       # from the cache: no synthesis
    assert unit_cost("nvint4", lanes=2, stream=None) == b
    assert len(counting_synth) == 2


def test_a_code_change_recomputes_a_warm_result(counting_synth, monkeypatch):
    from intfp.analysis.flow import unit_cost
    unit_cost("mac8", stream=None)
    unit_cost("mac8", stream=None)
    assert len(counting_synth) == 1
    monkeypatch.setattr(cache, "code_fingerprint", lambda *e, **k: "the energy model was edited")
    unit_cost("mac8", stream=None)
    assert len(counting_synth) == 2


def test_a_yosys_fault_is_an_error_and_is_not_cached(monkeypatch, tmp_path):
    from intfp.analysis import flow, yosys
    monkeypatch.setenv("INTFP_CACHE_DIR", str(tmp_path / "cache"))
    fake = tmp_path / "fake-yosys"
    # answers -V like Yosys, then "runs" a script without producing any statistics
    fake.write_text("#!/bin/sh\nif [ \"$1\" = -V ]; then echo 'Yosys 0.70 (git sha1 abc, x)'; exit 0; fi\n"
                    "echo 'ERROR: simulated crash' > yosys.log\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("INTFP_YOSYS", str(fake))
    yosys.yosys_version.cache_clear()
    try:
        with pytest.raises(yosys.YosysError, match="no statistics"):
            flow.unit_cost("mac8", stream=None)
    finally:
        yosys.yosys_version.cache_clear()
    assert not list((tmp_path / "cache").rglob("unit_cost/**/*.json"))


# ---------------------------------------------------------------------------------------------
# The cache folder itself
# ---------------------------------------------------------------------------------------------
def test_cache_dir_that_is_a_file_is_a_clear_error(monkeypatch, tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    monkeypatch.setenv("INTFP_CACHE_DIR", str(f))
    with pytest.raises(CacheError, match="not a directory"):
        cache_get("k", "ab" * 32)


def test_cache_entry_replaced_by_a_directory_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("INTFP_CACHE_DIR", str(tmp_path))
    key = "cd" * 32
    cache_put("k", key, {"v": 1})
    p = next(Path(tmp_path, "k").rglob("*.json"))
    p.unlink()
    p.mkdir()
    with pytest.raises(CacheError, match="cannot be read"):
        cache_get("k", key)
    with pytest.raises(CacheError, match="cannot write"):
        cache_put("k", key, {"v": 2})


def test_simulation_builds_and_liberty_parses_are_keyed_by_their_code():
    """The cocotb build cache and the liberty parse cache: keyed by the code closure, not a
    hand-kept list (the list had missed rtl/lanes.py, the lane architectures)."""
    from intfp.sim import runner
    c = set(import_closure(*runner._BUILD_CODE))
    assert {"intfp.rtl.lanes", "intfp.rtl.components", "intfp.rtl.harness", "intfp.rtl.export",
            "intfp.models.hwmodel", "intfp.sim.runner"} <= c
    d1 = runner._digest("k")
    cache._code_fingerprint_cached.cache_clear()
    orig = cache.code_fingerprint
    try:
        runner.code_fingerprint = lambda *e, **k: "edited lanes"
        assert runner._digest("k") != d1
    finally:
        runner.code_fingerprint = orig
    assert runner._digest("k") == d1
