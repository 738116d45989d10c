"""The workload registry: :func:`register` (a class decorator the workload modules use) and the
two accuracy measures every workload reports. Kept apart from :mod:`.runner` so that the
catalog can register into it while the runner imports the catalog (no import cycle)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from intfp.models.metrics import qsnr

__all__ = ["Workload", "register", "qsnr_db", "rel_err", "call_with_options"]


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    setup: Callable[..., dict]
    evaluate: Callable[[dict, Callable, Any], tuple]
    options: dict


_REGISTRY: dict[str, Workload] = {}


def register(name: str, description: str, options: dict | None = None):
    """Class decorator: registers a namespace class with static ``setup`` / ``evaluate`` under ``name``.

    ``options`` are the defaults of ``setup``'s keyword arguments (what ``-o key=value`` may set).
    """
    def deco(obj):
        _REGISTRY[name] = Workload(name, description, obj.setup, obj.evaluate, dict(options or {}))
        return obj
    return deco


def qsnr_db(ref, out) -> float:
    """QSNR of ``out`` against ``ref`` (arXiv 2510.25602 eq. 10), via :mod:`intfp.models.metrics`."""
    ref = np.asarray(torch.as_tensor(ref).detach().double())
    out = np.asarray(torch.as_tensor(out).detach().double())
    return float(qsnr(ref, out))


def rel_err(ref, out) -> float:
    """Relative Frobenius error ``||out - ref|| / ||ref||``."""
    ref = torch.as_tensor(ref).detach().double()
    out = torch.as_tensor(out).detach().double()
    return float(torch.linalg.vector_norm(out - ref) / torch.linalg.vector_norm(ref))


def call_with_options(name: str, fn: Callable, kwargs: dict):
    """``fn(**kwargs)`` for a command ``name`` whose ``-o key=value`` options are ``fn``'s
    keywords: unknown keys and values of the wrong type are errors naming them; torch runs
    single-threaded (the experiments are small; threads only contend on 2 cores)."""
    import inspect
    params = inspect.signature(fn).parameters
    unknown = set(kwargs) - set(params)
    if unknown:
        raise ValueError(f"{name} has no option(s) {', '.join(sorted(unknown))}; allowed: {', '.join(params)}")
    for k, v in kwargs.items():
        default = params[k].default
        if isinstance(default, (int, float)) and not isinstance(default, bool) and \
                (isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(default, int) and
                                                                           not isinstance(v, int))):
            raise ValueError(f"{name} option {k}={v!r}: expected {type(default).__name__} like the default {default!r}")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return fn(**kwargs)
    finally:
        torch.set_num_threads(threads)
