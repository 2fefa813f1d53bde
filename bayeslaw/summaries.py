"""Credible-interval summaries of posterior draws (equal-tailed, around the median)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import xarray as xr

SAMPLE_DIMS = ("chain", "draw")


def _check_prob(prob: float) -> None:
    if not 0 < prob < 1:
        raise ValueError(f"interval probability must be in (0, 1), got {prob}")


def sample_dims(da: xr.DataArray) -> list[str]:
    """The draw dimensions present in ``da`` (``chain``/``draw`` or a flattened ``sample``)."""
    return [d for d in da.dims if d in (*SAMPLE_DIMS, "sample")]


def interval(da: xr.DataArray, prob: float) -> xr.Dataset:
    """Median and equal-tailed ``prob`` interval of ``da`` over its draw dims."""
    _check_prob(prob)
    dims = sample_dims(da)
    q = da.quantile([(1 - prob) / 2, 0.5, (1 + prob) / 2], dim=dims)
    return xr.Dataset(
        {
            "median": q.isel(quantile=1, drop=True),
            "lower": q.isel(quantile=0, drop=True),
            "upper": q.isel(quantile=2, drop=True),
        }
    )


def interval_frame(draws: Mapping[str, xr.DataArray] | xr.Dataset, prob: float, index: Sequence[str] = ()) -> pd.DataFrame:
    """Tidy table: one row per quantity (and per coordinate of ``index`` dims).

    Columns: ``quantity``, the ``index`` coordinates, ``median``, ``lower``, ``upper``.
    """
    rows = []
    for name, da in draws.items() if isinstance(draws, Mapping) else draws.data_vars.items():
        stats = (
            interval(da, prob).to_dataframe().reset_index()
            if da.ndim > len(sample_dims(da))
            else pd.DataFrame([{k: float(v) for k, v in interval(da, prob).items()}])
        )
        stats.insert(0, "quantity", name)
        rows.append(stats)
    table = pd.concat(rows, ignore_index=True)
    keep = ["quantity", *[c for c in index if c in table], "median", "lower", "upper"]
    return table[keep]


def with_labels(table: pd.DataFrame, labels: Mapping[str, str], position: int = 0) -> pd.DataFrame:
    """``table`` with one constant column per group label (e.g. ``skill = "code"``), inserted from ``position``."""
    for offset, (axis, label) in enumerate(labels.items()):
        table.insert(position + offset, axis, label)
    return table


def format_interval(median: float, lower: float, upper: float, digits: int = 3) -> str:
    """``median [lower, upper]`` with ``digits`` significant figures."""
    fmt = f"{{:.{digits}g}}"
    return f"{fmt.format(median)} [{fmt.format(lower)}, {fmt.format(upper)}]"
