"""Pooling modes: how a law parameter varies along one group axis.

Each mode is a :class:`~bayeslaw.pooling.base.PoolingMode` subclass in its own
module of this package; it registers itself under its ``lookup_name``, and
every module here is imported below, so a new mode is one new module. A spec
names the mode per parameter and axis (``E = { skill = "partial" }``).
"""

from __future__ import annotations

import importlib
import pkgutil

from bayeslaw.pooling.base import INTERACTION, PoolingMode, axis_parts, get_mode, registered_modes

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["INTERACTION", "PoolingMode", "axis_parts", "get_mode", "registered_modes"]
