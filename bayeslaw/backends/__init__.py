"""Sampler backends: one module per backend, each a registered :class:`~bayeslaw.backends.base.Backend`.

Every module in this package is imported below so its backend registers
itself; a new backend is one new module. The policy around sampling (rerunning
stuck chains) lives in :mod:`bayeslaw.sampling`, not here.
"""

from __future__ import annotations

import importlib
import pkgutil

from bayeslaw.backends.base import Backend, BackendUnavailable, Run, backend_names, get_backend

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["Backend", "BackendUnavailable", "Run", "backend_names", "get_backend"]
