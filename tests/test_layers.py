"""The import graph: layers import downward, and no module imports another that imports it back.

models <- rtl <- sim <- analysis <- the top (intfp/: every CLI command, the main job, the
report). The infrastructure below the top (``intfp.cache``, ``intfp.sweep``) imports nothing
of the package but itself. The graph is read from the source (every ``import``, also inside
functions) by :func:`intfp.cache.import_closure`'s parser, the same one the cache keys use.
"""
import pytest

from intfp import cache

LAYERS = {"intfp.models": 0, "intfp.rtl": 1, "intfp.sim": 2, "intfp.analysis": 3}
INFRA = {"intfp.cache", "intfp.sweep"}
MODULES = cache.package_modules()


def layer(m: str) -> int:
    for pkg, n in LAYERS.items():
        if m == pkg or m.startswith(pkg + "."):
            return n
    return 4                                            # the top: intfp.*


def edges():
    for m, path in MODULES.items():
        for d in cache._imports_of(m, path, MODULES):
            if not m.startswith(d + "."):               # a submodule runs its package's __init__
                yield m, d


def test_layers_import_downward():
    up = [(m, d) for m, d in edges() if d not in INFRA and d != "intfp" and layer(d) > layer(m)]
    assert not up, "upward imports: " + ", ".join(f"{m} -> {d}" for m, d in up)


def test_infrastructure_imports_nothing_above_it():
    bad = [(m, d) for m, d in edges() if m in INFRA and d not in INFRA | {"intfp"}]
    assert not bad, bad


def test_no_import_cycles():
    graph: dict[str, set] = {m: set() for m in MODULES}
    for m, d in edges():
        graph[m].add(d)
    # Tarjan's strongly connected components
    index, low, stack, on, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles, cycles


@pytest.mark.parametrize("bad_edge", [("intfp.models.spec", "from intfp.rtl import units"),
                                      ("intfp.rtl.units", "from intfp.sim import vectors")])
def test_an_upward_import_is_caught(tmp_path, bad_edge):
    """The check itself can fail: an upward import added to a copy of the tree is reported."""
    import shutil
    roots = {}
    for name, folder in cache._default_roots().items():
        dst = tmp_path / name
        shutil.copytree(folder, dst, ignore=shutil.ignore_patterns("__pycache__", "data"))
        roots[name] = dst
    mods = cache.package_modules(roots)
    mod, line = bad_edge
    with open(mods[mod], "a") as f:
        f.write(f"\n\ndef _late():\n    {line}  # noqa\n")
    found = cache._imports_of(mod, mods[mod], mods)
    assert any(layer(d) > layer(mod) for d in found)
