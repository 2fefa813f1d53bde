"""Law parameters out of the posterior, selected for groups, as xarray objects.

Grouped parameters carry their grouping axes as dims (``skill``, ``datamix``).
:func:`select_params` picks one group (a label), one group per point (a
DataArray of labels), or keeps the axis, and refuses to guess otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import xarray as xr

from bayeslaw.families import Family
from bayeslaw.groups import check_labels
from bayeslaw.laws import Law


def select_params(
    posterior: xr.Dataset,
    names: Sequence[str],
    select: Mapping[str, Any] | None = None,
    keep: Sequence[str] = (),
) -> dict[str, xr.DataArray]:
    """Return each parameter in ``names`` with its group axes resolved.

    Parameters
    ----------
    posterior
        Posterior dataset with dims ``chain``, ``draw`` and group axes.
    names
        Parameter names to take.
    select
        Axis -> a label, or a DataArray of labels (vectorised selection).
    keep
        Axes to leave in place (e.g. to compute something per skill).

    Raises
    ------
    ValueError
        If a parameter varies along an axis that is neither selected nor kept.
    """
    select = dict(select or {})
    out = {}
    for name in names:
        da = posterior[name]
        for axis in [d for d in da.dims if d not in ("chain", "draw")]:
            if axis in select and select[axis] is not None:
                label = select[axis]
                check_labels(axis, label.values if isinstance(label, xr.DataArray) else label, da[axis].values)
                da = da.sel({axis: label})
                if isinstance(label, xr.DataArray) and axis in da.coords and axis not in da.dims:
                    da = da.drop_vars(axis)
            elif axis not in keep:
                levels = [str(v) for v in da[axis].values]
                raise ValueError(f"parameter {name!r} differs by {axis}: pass {axis}= one of {levels}")
        for axis in select:
            if axis in da.coords and axis not in da.dims:
                da = da.drop_vars(axis)
        out[name] = da
    return out


def law_params(
    posterior: xr.Dataset, law: Law, select: Mapping[str, Any] | None = None, keep: Sequence[str] = ()
) -> dict[str, xr.DataArray]:
    """All parameters of ``law`` (see :func:`select_params`)."""
    return select_params(posterior, list(law.parameters), select, keep)


def family_params(
    posterior: xr.Dataset, family: Family, select: Mapping[str, Any] | None = None, keep: Sequence[str] = ()
) -> dict[str, xr.DataArray]:
    """All likelihood parameters of ``family`` (a noise scale may vary by group; see :func:`select_params`)."""
    return select_params(posterior, list(family.params), select, keep)


def varying_axes(posterior: xr.Dataset, names: Sequence[str]) -> list[str]:
    """Group axes along which any of ``names`` varies."""
    axes: list[str] = []
    for name in names:
        axes += [d for d in posterior[name].dims if d not in ("chain", "draw") and d not in axes]
    return axes
