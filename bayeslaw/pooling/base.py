"""The base class of a pooling mode, and the mode registry.

A parameter pooled along some axes is built on its link scale as a base value
plus one offset per axis (see :mod:`bayeslaw.model_builder`). A mode says two
things: whether the base value gets one entry per group of the axis
(``per_group_base``), and which link-scale offset the axis adds (``offset``:
``None`` for none). An axis is a group column such as ``skill``, or an
interaction such as ``"skill:datamix"`` (one group per cell).
"""

from __future__ import annotations

from typing import Any, ClassVar

from bayeslaw.registry import Registry

MODES = Registry("pooling mode", "bayeslaw.pooling")

#: Separator of an interaction axis in a spec's [pooling] table, e.g. ``E = { "skill:datamix" = "partial" }``.
INTERACTION = ":"


def axis_parts(axis: str) -> tuple[str, ...]:
    """The group columns of a pooling axis (one for a plain axis, several for an interaction)."""
    return tuple(axis.split(INTERACTION))


class PoolingMode:
    """Base class of a pooling mode.

    Class attributes
    ----------------
    lookup_name
        Name used in specs (``E = { skill = "partial" }``).
    description
        One line for docs and error messages.
    varies
        Whether the parameter differs between groups at all (``False`` for ``shared``).
    per_group_base
        Whether the base value has one entry per group of the axis (``independent``).
    hierarchical
        Whether the groups' offsets share a population spread. Such modes may
        be used on interaction axes, and get a note when an axis has few groups.
    estimates_spread
        Whether that spread is a sampled parameter (``False``: stated by the pooling scale).
    """

    lookup_name: ClassVar[str]
    description: ClassVar[str] = ""
    varies: ClassVar[bool] = True
    per_group_base: ClassVar[bool] = False
    hierarchical: ClassVar[bool] = False
    estimates_spread: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        MODES.add(cls)

    def resolve(self, n_groups: int, min_rows: int) -> PoolingMode:
        """The mode that builds an axis of ``n_groups`` groups whose smallest group has ``min_rows`` rows.

        ``self`` for every mode except those that choose their form from the data (``auto``).
        """
        return self

    def offset(self, name: str, dims: tuple[str, ...], scale: float) -> Any | None:
        """Create (in the current PyMC model) this axis's link-scale offset over ``dims``, or return ``None``.

        ``name`` prefixes the variables created (``log_E_skill``); ``scale`` is the
        HalfNormal scale of the group spread from the spec's ``[pooling_scale]``.
        """
        return None


def get_mode(name: str) -> PoolingMode:
    """Return the pooling mode registered as ``name``."""
    return MODES.get(name)()


def registered_modes() -> dict[str, type[PoolingMode]]:
    """Name -> class of every registered pooling mode."""
    return MODES.classes()
