"""``shared``: one value for every group of the axis (the default for axes a spec does not list)."""

from __future__ import annotations

from bayeslaw.pooling.base import PoolingMode


class Shared(PoolingMode):
    """No variation along the axis: no offset, no per-group base."""

    lookup_name = "shared"
    description = "one value for all groups"
    varies = False
