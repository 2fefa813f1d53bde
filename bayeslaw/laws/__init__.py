"""Scaling laws. Every module in this package is imported so its law registers itself."""

from __future__ import annotations

import importlib
import pkgutil

from bayeslaw.laws.base import Law, Parameter, get_law, registered_laws

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["Law", "Parameter", "get_law", "registered_laws"]
