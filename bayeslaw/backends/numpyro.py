"""``numpyro``: NUTS in JAX through PyMC's bridge; needs the optional ``numpyro`` and ``jax``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from bayeslaw.backends.pymc import PymcBackend


class NumpyroBackend(PymcBackend):
    """numpyro's NUTS via ``pm.sample(nuts_sampler="numpyro")``; stuck chains are detected and noted, not rerun."""

    lookup_name = "numpyro"
    description = "numpyro's NUTS (JAX) through PyMC"
    restarts = False
    requires = ("numpyro", "jax")
    extra = "numpyro"
    sample_kwargs: ClassVar[Mapping[str, Any]] = {"nuts_sampler": "numpyro"}
