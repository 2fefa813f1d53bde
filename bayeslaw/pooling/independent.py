"""``independent``: each group has its own value, with the parameter's prior and no sharing."""

from __future__ import annotations

from bayeslaw.pooling.base import PoolingMode


class Independent(PoolingMode):
    """One base value per group (the parameter's prior on its link scale); no offset."""

    lookup_name = "independent"
    description = "a separate value per group (no pooling)"
    per_group_base = True
