"""Pooling modes: how a law parameter varies along one group axis.

Each mode is a :class:`~bayeslaw.pooling.base.PoolingMode` subclass in its own
module of this package; it registers itself under its ``lookup_name``, and
every module here is imported below, so a new mode is one new module. A spec
names the mode per parameter and axis (``E = { skill = "partial" }``).
"""

from __future__ import annotations

from bayeslaw.pooling.base import INTERACTION, PoolingMode, axis_parts, get_mode, registered_modes
from bayeslaw.registry import import_modules

import_modules(__name__, __path__)

__all__ = ["INTERACTION", "PoolingMode", "axis_parts", "get_mode", "registered_modes"]
