"""``partial``: non-centred partial pooling, offset ``sd * z[group]`` with ``z ~ Normal(0, 1)``.

Suited to groups with little data each: the sampler then moves ``sd`` and ``z``
nearly independently.
"""

from __future__ import annotations

from typing import Any

from bayeslaw.pooling.base import PoolingMode


class Partial(PoolingMode):
    """Offset ``sd * z`` with ``sd ~ HalfNormal(scale)``, ``z ~ Normal(0, 1)`` per group."""

    lookup_name = "partial"
    description = "partial pooling, non-centred (offset = sd * z)"
    hierarchical = True

    def offset(self, name: str, dims: tuple[str, ...], scale: float) -> Any:
        import pymc as pm  # deferred: reading a spec (and the CLI's early errors) need not load PyMC

        spread = pm.HalfNormal(f"{name}_sd", sigma=scale)
        return spread * pm.Normal(f"{name}_z", 0.0, 1.0, dims=dims)
