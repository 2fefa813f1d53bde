"""Scaling laws. Every module in this package is imported so its law registers itself."""

from __future__ import annotations

from bayeslaw.laws.base import Law, Parameter, get_law, registered_laws
from bayeslaw.registry import import_modules

import_modules(__name__, __path__)

__all__ = ["Law", "Parameter", "get_law", "registered_laws"]
