"""Registries of classes by ``lookup_name``: laws, pooling modes and sampler backends.

A base class owns one :class:`Registry` and adds each subclass that sets
``lookup_name`` from ``__init_subclass__``; the package holding the subclasses
imports all its modules (:func:`import_modules`), so a new entry is one new
module. Lookups import that package first, so an entry is found whichever
module was imported before.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from typing import Any


class Registry:
    """Name -> class of the registered subclasses of one base.

    Parameters
    ----------
    kind
        What an entry is, for messages (``"law"``, ``"pooling mode"``).
    package
        The package whose modules define the entries (``"bayeslaw.laws"``).
    """

    def __init__(self, kind: str, package: str) -> None:
        self.kind = kind
        self.package = package
        self._classes: dict[str, type] = {}

    def add(self, cls: type) -> None:
        """Register ``cls`` under its own ``lookup_name`` (a subclass without one, such as a shared base, is skipped)."""
        name = cls.__dict__.get("lookup_name")
        if name is None:
            return
        if name in self._classes and self._classes[name] is not cls:
            raise ValueError(f"a {self.kind} named {name!r} is already registered ({self._classes[name].__qualname__})")
        self._classes[name] = cls

    def classes(self) -> dict[str, Any]:
        """Name -> class of every entry."""
        importlib.import_module(self.package)
        return dict(self._classes)

    def get(self, name: str) -> Any:
        """The class registered as ``name``; ``KeyError`` naming the registered ones otherwise."""
        classes = self.classes()
        try:
            return classes[name]
        except KeyError:
            raise KeyError(f"unknown {self.kind} {name!r}; registered {self.kind}s: {sorted(classes)}") from None


def import_modules(package: str, path: Iterable[str]) -> None:
    """Import every module of ``package`` (at ``path``) but ``base``, so each registers its entries."""
    for module in pkgutil.iter_modules(path):
        if module.name != "base":
            importlib.import_module(f"{package}.{module.name}")
