"""Design-space sweeps as cached tasks on Dask.

A sweep is a list of :class:`Task` s: an importable function (``"module:function"``) and its
JSON-able keyword arguments. :func:`run_sweep`

* answers every task it can from the content-hash cache (:mod:`intfp.cache`), so a rerun of an
  unchanged sweep does no work and a cluster and a laptop that share the cache folder reuse each
  other's results;
* runs the rest on Dask: a ``dask.distributed`` LocalCluster (one single-threaded worker process
  per core) by default, an existing cluster with ``scheduler="tcp://HOST:PORT"``, or in this
  process with ``scheduler="sync"`` (no Dask: for tiny sweeps, debugging and tests);
* stores each result the moment it arrives, from the client process, with an atomic write, so
  an interrupted sweep (Ctrl-C, a killed worker, a failing task) loses no finished result and
  never leaves a half-written entry a rerun would trust;
* retries a task whose worker died (``retries``), shows a progress bar, and raises the first
  task error with the task's parameters after the other results are safely stored.
"""
from __future__ import annotations

import importlib
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from intfp.cache import cache_get, cache_put, result_key

__all__ = ["Task", "make_task", "run_sweep", "SweepError", "SchedulerError", "check_scheduler_args"]


class SchedulerError(RuntimeError):
    """The Dask scheduler named by the user cannot be reached."""


class SweepError(RuntimeError):
    """A task of a sweep failed; ``.task`` is the task, ``__cause__`` the error."""

    def __init__(self, task: "Task", exc: BaseException):
        super().__init__(f"task {task.fn}({task.params}) failed: {type(exc).__name__}: {exc}")
        self.task = task


@dataclass(frozen=True)
class Task:
    kind: str                       # cache namespace, e.g. "synth"
    fn: str                         # "package.module:function", importable on every worker
    params: dict = field(hash=False)
    key: str = ""                   # content hash: kind, fn, params, source, extra


def _resolve(fn: str) -> Callable:
    module, _, attr = fn.partition(":")
    if not attr:
        raise ValueError(f"task function must be 'module:function', got {fn!r}")
    return getattr(importlib.import_module(module), attr)  # closure: keyed by caller


def make_task(fn: str | Callable, params: dict, *, kind: str | None = None, extra: Any = None) -> Task:
    """A task whose cache key (:func:`intfp.cache.result_key`) covers the source of every module
    ``fn``'s module can import (found automatically), ``params`` and ``extra`` (e.g. a liberty
    file's hash or a tool version)."""
    if callable(fn):
        fn = f"{fn.__module__}:{fn.__qualname__}"
    _resolve(fn)                                        # fail now, not on a worker
    kind = kind or fn.rpartition(":")[2]
    key = result_key(kind, fn, fn=fn, params=params, extra=extra)
    return Task(kind, fn, dict(params), key)


def _call(fn: str, params: dict):
    """Runs on a worker."""
    return _resolve(fn)(**params)


def check_scheduler_args(scheduler: str | None, n_workers: int | None) -> None:
    """Reject bad sweep settings before any work starts (a LocalCluster with -2 workers would
    wait forever; a scheduler address without a scheme is not one Dask can reach)."""
    if n_workers is not None and (isinstance(n_workers, bool) or not isinstance(n_workers, int)
                                  or n_workers < 1):
        raise ValueError(f"worker count {n_workers!r} is not allowed: use a whole number >= 1 "
                         f"(or leave it unset for one worker per core)")
    if scheduler not in (None, "sync") and "://" not in str(scheduler):
        raise ValueError(f"scheduler address {scheduler!r} is not allowed: use tcp://HOST:PORT "
                         f"(or leave it unset for a local cluster)")


def _client(scheduler, n_workers):
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout=os.environ.get("INTFP_SCHEDULER_TIMEOUT", "30s")), None
        except (OSError, TimeoutError) as e:
            raise SchedulerError(f"cannot reach the Dask scheduler at {scheduler!r} "
                                 f"({type(e).__name__}: {e}); start one with `dask scheduler` "
                                 f"or leave --scheduler unset for a local cluster") from None
    n = n_workers or max(1, min(os.cpu_count() or 1, 8))
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.ERROR)
    return Client(cluster), cluster


def run_sweep(tasks: Sequence[Task], *, scheduler: str | None = None, n_workers: int | None = None,
              retries: int = 2, progress: bool = True, desc: str = "sweep", use_cache: bool = True) -> list:
    """Results of ``tasks`` in order (from the cache or computed); see the module docstring.
    ``use_cache=False`` neither reads nor writes the cache."""
    from tqdm import tqdm

    check_scheduler_args(scheduler, n_workers)
    results: list[Any] = [None] * len(tasks)
    todo = []
    for i, t in enumerate(tasks):
        hit = cache_get(t.kind, t.key) if use_cache else None
        if hit is None:
            todo.append(i)
        else:
            results[i] = hit
    bar = tqdm(total=len(tasks), initial=len(tasks) - len(todo), desc=desc, unit="task",
               disable=not progress or not todo)
    first_error: SweepError | None = None
    try:
        if todo and scheduler == "sync":
            for i in todo:
                t = tasks[i]
                try:
                    results[i] = _call(t.fn, t.params)
                except Exception as e:  # noqa: BLE001 - reported after the others are stored
                    first_error = first_error or SweepError(t, e)
                    first_error.__cause__ = first_error.__cause__ or e
                    continue
                if use_cache:
                    cache_put(t.kind, t.key, results[i])
                bar.update()
        elif todo:
            from dask.distributed import as_completed

            client, cluster = _client(scheduler, n_workers)
            try:
                futures = {client.submit(_call, tasks[i].fn, tasks[i].params, retries=retries,
                                         key=f"{tasks[i].kind}-{tasks[i].key}", pure=False): i
                           for i in todo}
                for fut in as_completed(futures):
                    i = futures[fut]
                    t = tasks[i]
                    if fut.status == "error":
                        if first_error is None:
                            exc = fut.exception()
                            first_error = SweepError(t, exc)
                            first_error.__cause__ = exc
                        continue
                    results[i] = fut.result()
                    if use_cache:
                        cache_put(t.kind, t.key, results[i])   # stored as soon as it arrives
                    bar.update()
            finally:
                client.close()
                if cluster is not None:
                    cluster.close()
    finally:
        bar.close()
    if first_error is not None:
        raise first_error
    return results
