"""``partial_centred``: centred partial pooling, ``offset[group] ~ Normal(0, sd)``.

Better than ``partial`` when each group is well informed by its data but the
axis has few groups (the non-centred form then makes a curved, slow posterior).
"""

from __future__ import annotations

from typing import Any

from bayeslaw.pooling.base import PoolingMode


class PartialCentred(PoolingMode):
    """Offset sampled directly: ``offset ~ Normal(0, sd)`` per group, ``sd ~ HalfNormal(scale)``."""

    lookup_name = "partial_centred"
    description = "partial pooling, centred (offset ~ Normal(0, sd))"
    hierarchical = True

    def offset(self, name: str, dims: tuple[str, ...], scale: float) -> Any:
        import pymc as pm  # deferred: reading a spec (and the CLI's early errors) need not load PyMC

        spread = pm.HalfNormal(f"{name}_sd", sigma=scale)
        return pm.Normal(f"{name}_offset", 0.0, spread, dims=dims)
