"""Plots of fitted results. Every function takes a :class:`~bayeslaw.fit.Fit` (or a
result computed from one) and returns a matplotlib Figure; nothing here builds
or samples a model. Modules: :mod:`.fits` (data and fitted curves, N*(C) fans),
:mod:`.ppc` (posterior predictive checks), :mod:`.mix` (validation-mix optima).
"""

from __future__ import annotations

import importlib
import pkgutil

__all__: list[str] = []
for _module in pkgutil.iter_modules(__path__):
    _mod = importlib.import_module(f"{__name__}.{_module.name}")
    for _name in getattr(_mod, "__all__", []):
        globals()[_name] = getattr(_mod, _name)
        __all__.append(_name)
