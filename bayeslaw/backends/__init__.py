"""Sampler backends: one module per backend, each a registered :class:`~bayeslaw.backends.base.Backend`.

Every module in this package is imported below so its backend registers
itself; a new backend is one new module. The policy around sampling (rerunning
stuck chains) lives in :mod:`bayeslaw.sampling`, not here.
"""

from __future__ import annotations

from bayeslaw.backends.base import Backend, BackendUnavailable, Run, backend_names, get_backend
from bayeslaw.registry import import_modules

import_modules(__name__, __path__)

__all__ = ["Backend", "BackendUnavailable", "Run", "backend_names", "get_backend"]
