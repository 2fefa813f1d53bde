"""Group selectors and the checks every question shares.

A selector maps group axes to labels, xarray ``.sel`` style: ``{"skill": "code"}``
or ``{"model": "gpt2", "dataset": "flan"}``. Any axis of the data works; the
``skill=`` and ``datamix=`` keywords of the public functions are sugar merged
into the same mapping by :func:`merge_select`. The guards below raise the one
message each for a law that does not allocate compute, an axis the data lacks
and a label an axis does not have.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bayeslaw.laws import Law


def merge_select(select: Mapping[str, Any] | None = None, **labels: Any) -> dict[str, Any]:
    """One selector from a ``select`` mapping and keyword labels (``None`` values are dropped).

    Raises
    ------
    ValueError
        An axis given twice with different labels.
    """
    merged = {k: v for k, v in dict(select or {}).items() if v is not None}
    for axis, value in labels.items():
        if value is None:
            continue
        if axis in merged and not _same(merged[axis], value):
            raise ValueError(f"{axis} is selected twice: select={{{axis!r}: {merged[axis]!r}}} and {axis}={value!r}")
        merged[axis] = value
    return merged


def _same(a: Any, b: Any) -> bool:
    return np.array_equal(np.asarray(a, dtype=str), np.asarray(b, dtype=str))


def require_allocation(law: Law) -> None:
    """Raise unless ``law`` models loss over (N, D), so that a compute-optimal allocation exists."""
    if not law.allocates_compute():
        raise ValueError(f"law {law.lookup_name!r} does not model (N, D): compute-optimal allocation is undefined")


def require_axis(axis: str, axes: Sequence[str], needed_by: str) -> None:
    """Raise unless the data's group ``axes`` include ``axis`` (``needed_by`` names what needs it)."""
    if axis not in axes:
        raise ValueError(f"{needed_by} needs a fit with a {axis!r} axis; its data's group axes are {list(axes)}")


def check_labels(axis: str, labels: Any, levels: Sequence[str], what: str | None = None) -> None:
    """Raise for labels (one or many) that ``axis`` does not have; ``what`` names them in the message (default: the axis)."""
    known = [str(v) for v in levels]
    unknown = sorted({str(v) for v in np.atleast_1d(np.asarray(labels, dtype=str)).ravel()} - set(known))
    if unknown:
        raise ValueError(f"unknown {what or axis}: {unknown}; the fit has {known}")


def check_select(select: Mapping[str, Any], axes: Sequence[str], levels: Mapping[str, Sequence[str]]) -> None:
    """Raise for a selected axis the data lacks or a label it does not have (never ignore either silently)."""
    for axis, value in select.items():
        if value is None:
            continue
        if axis not in axes:
            raise ValueError(f"this fit has no {axis!r} axis (its data's group axes: {list(axes)}); drop {axis}=")
        check_labels(axis, value, levels[axis])


__all__ = ["check_labels", "check_select", "merge_select", "require_allocation", "require_axis"]
