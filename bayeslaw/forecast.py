"""Posterior predictive forecasts at new inputs: the mean curve and a new observation."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayeslaw.families import Family
from bayeslaw.laws import Law
from bayeslaw.posterior import law_params
from bayeslaw.summaries import interval
from bayeslaw.variables import get_variable

POINT_DIM = "point"


def in_support(values: xr.DataArray, target: str) -> xr.DataArray:
    """Whether each value lies where the canonical variable ``target`` is defined (NaN counts as outside)."""
    return get_variable(target).in_support(values)


def sample_observations(
    family: Family, mean: xr.DataArray, family_params: Mapping[str, xr.DataArray], target: str, seed: int
) -> xr.DataArray:
    """New noisy observations around ``mean`` (natural scale), NaN where the mean is outside ``target``'s support.

    A law extrapolated far from its data can leave the target's support (e.g. a
    negative error fraction); those draws are not clipped: their observation is
    NaN and a warning gives their number.
    """
    valid = in_support(mean, target)
    safe = xr.where(valid, mean, get_variable(target).support.inside)
    b_mean, *b_fam = xr.broadcast(family.transform(safe), *family_params.values())
    rng = np.random.default_rng(seed)
    noisy = family.sample(rng, b_mean.values, dict(zip(family_params, (b.values for b in b_fam), strict=True)))
    n_bad = int((~valid).sum())
    if n_bad:
        warnings.warn(
            f"{n_bad} draw(s) ({n_bad / valid.size:.2%}) of the law's mean fall outside the support of {target!r} "
            "(the law is extrapolated beyond its valid range); their observations are NaN and intervals use the rest",
            UserWarning,
            stacklevel=3,
        )
    return b_mean.copy(data=family.inverse(noisy)).where(valid.broadcast_like(b_mean))


def as_points(inputs: Mapping[str, Any], labels: Mapping[str, Any]) -> tuple[dict[str, xr.DataArray], dict[str, xr.DataArray]]:
    """Broadcast input values and group labels into DataArrays over dim ``point``."""
    arrays = {k: np.atleast_1d(np.asarray(v, dtype=float)) for k, v in inputs.items()}
    label_arrays = {k: np.atleast_1d(np.asarray(v, dtype=str)) for k, v in labels.items() if v is not None}
    try:
        broadcast = np.broadcast_arrays(*arrays.values(), *label_arrays.values())
    except ValueError:
        shapes = {k: v.shape for k, v in {**arrays, **label_arrays}.items()}
        raise ValueError(f"inputs must have matching lengths (or be scalars); got shapes {shapes}") from None
    n_inputs = len(arrays)
    x = {k: xr.DataArray(b.ravel(), dims=POINT_DIM) for k, b in zip(arrays, broadcast[:n_inputs], strict=True)}
    groups = {k: xr.DataArray(b.ravel(), dims=POINT_DIM) for k, b in zip(label_arrays, broadcast[n_inputs:], strict=True)}
    for key, da in x.items():
        bad = ~np.isfinite(da.values) | (da.values <= 0)
        if bad.any():
            raise ValueError(f"{key} must be finite and positive; got {da.values[bad].tolist()}")
    return x, groups


def predictive_draws(
    law: Law,
    family: Family,
    posterior: xr.Dataset,
    refs: Mapping[str, float],
    x: Mapping[str, xr.DataArray],
    groups: Mapping[str, xr.DataArray],
    seed: int,
) -> xr.Dataset:
    """Per-draw ``mean`` (the law) and ``observation`` (a new noisy measurement), natural scale."""
    params = law_params(posterior, law, groups)
    mean = law.mean(x, params, refs, np)
    family_params = {k: posterior[k] for k in family.params}
    observation = sample_observations(family, mean, family_params, law.target, seed)
    return xr.Dataset({"mean": mean.transpose(*observation.dims), "observation": observation})


def predictive_table(draws: xr.Dataset, x: Mapping[str, xr.DataArray], groups: Mapping[str, xr.DataArray], prob: float) -> pd.DataFrame:
    """One row per point: inputs, labels, and median/lower/upper of the mean and of a new observation."""
    table = pd.DataFrame({k: v.values for k, v in {**x, **groups}.items()})
    for name in ("mean", "observation"):
        stats = interval(draws[name], prob)
        for stat in ("median", "lower", "upper"):
            table[f"{name}_{stat}"] = stats[stat].transpose(POINT_DIM).values
    return table
