"""Posterior predictive draws: at the observations (the fit's predictive and log-likelihood groups) and at new inputs.

These are tools below :class:`bayeslaw.fit.Fit`: they take the posterior, the
data, the law, the family and the reference scales, never a fit.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import xarray as xr

from bayeslaw.constants import FLOPS_PER_PARAM_TOKEN, OBS_DIM, OBSERVED
from bayeslaw.data import ScalingData
from bayeslaw.families import Family
from bayeslaw.laws import Law
from bayeslaw.posterior import family_params, law_params
from bayeslaw.result_contract import ResultContract
from bayeslaw.summaries import interval
from bayeslaw.variables import get_variable

POINT_DIM = "point"


@dataclass(frozen=True)
class ForecastResult(ResultContract):
    """Posterior predictive forecasts at new inputs, per draw.

    Attributes
    ----------
    draws
        Dataset with ``mean`` (the law's curve) and ``observation`` (a new noisy
        measurement) over ``chain``, ``draw`` and ``point``; each point's inputs
        and group labels are coordinates along ``point``.
    prob
        Default interval probability.
    notes
        What was assumed.
    banner
        The fit's convergence banner.
    """

    draws: xr.Dataset
    prob: float
    notes: tuple[str, ...] = ()
    banner: str = ""
    title: ClassVar[str] = "forecast (mean: the law's curve; observation: a new measurement)"

    def intervals(self, prob: float | None = None) -> pd.DataFrame:
        """Numeric table, one row per point: inputs, labels, ``mean_*`` and ``observation_*`` median/lower/upper."""
        point_coords = {k: v for k, v in self.draws.coords.items() if v.dims == (POINT_DIM,) and k != POINT_DIM}
        return predictive_table(self.draws, point_coords, {}, prob or self.prob)


#: Short names accepted for the canonical inputs (``predict(params=..., tokens=...)``).
INPUT_ALIASES = {"params": "N", "tokens": "D", "compute": "C"}


def in_support(values: xr.DataArray, target: str) -> xr.DataArray:
    """Whether each value lies where the canonical variable ``target`` is defined (NaN counts as outside)."""
    return get_variable(target).in_support(values)


def sample_observations(family: Family, mean: xr.DataArray, noise: Mapping[str, xr.DataArray], target: str, seed: int) -> xr.DataArray:
    """New noisy observations around ``mean`` (natural scale), NaN where the mean is outside ``target``'s support.

    ``noise`` holds the family's parameters, selected at ``mean``'s points (see
    :func:`bayeslaw.posterior.family_params`).

    A law extrapolated far from its data can leave the target's support (e.g. a
    negative error fraction); those draws are not clipped: their observation is
    NaN and a warning gives their number.

    A heavy-tailed family (Student-t with small ``nu``) can draw link-scale
    noise so large that the natural-scale value overflows float64 (``exp`` of
    more than about 709: ``inf``, or ``0`` below). Such draws are drawn again from
    the same distribution (:func:`redraw_unrepresentable`): the observations are
    the family truncated to the values float64 represents on both scales, and
    finite. A warning gives their number, and the returned array's
    ``attrs["redrawn"]`` records it.
    """
    valid = in_support(mean, target)
    safe = xr.where(valid, mean, get_variable(target).support.inside)
    b_mean, *b_fam = xr.broadcast(family.transform(safe), *noise.values())
    rng = np.random.default_rng(seed)
    fam_values = dict(zip(noise, (b.values for b in b_fam), strict=True))
    noisy = family.sample(rng, b_mean.values, fam_values)
    natural, n_redrawn = redraw_unrepresentable(family, rng, b_mean.values, fam_values, noisy)
    n_bad = int((~valid).sum())
    if n_bad:
        warnings.warn(
            f"{n_bad} draw(s) ({n_bad / valid.size:.2%}) of the law's mean fall outside the support of {target!r} "
            "(the law is extrapolated beyond its valid range); their observations are NaN and intervals use the rest",
            UserWarning,
            stacklevel=3,
        )
    out = b_mean.copy(data=natural).where(valid.broadcast_like(b_mean))
    if n_redrawn:
        out.attrs["redrawn"] = n_redrawn
    return out


#: Rounds of redrawing observations that float64 cannot represent before giving up (each round redraws only those left).
MAX_REDRAWS = 100


def redraw_unrepresentable(
    family: Family, rng: np.random.Generator, mean_link: np.ndarray, params: Mapping[str, np.ndarray], noisy: np.ndarray
) -> tuple[np.ndarray, int]:
    """Natural-scale draws of ``noisy`` (link scale), with those not representable on both scales drawn again.

    A draw is representable when its natural-scale value is finite and maps back
    to a finite link-scale value (for the log link: neither ``inf`` nor an
    underflow to ``0``). Each other draw is drawn again from its own distribution
    (same mean and parameters) until it is representable: rejection sampling, so
    the result follows the family truncated to the representable range, not a
    clip to its edge. Returns the draws and how many were redrawn, and warns with
    that number. Draws still unrepresentable after :data:`MAX_REDRAWS` rounds
    (tails so heavy that most of the mass overflows) are NaN, and the warning says so.
    """
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        natural = np.asarray(family.inverse(noisy), dtype=float)

        def unrepresentable(values: np.ndarray) -> np.ndarray:
            return ~np.isfinite(values) | ~np.isfinite(family.transform(values))

        bad = unrepresentable(natural) & np.isfinite(mean_link)
        total = int(bad.sum())
        for _ in range(MAX_REDRAWS):
            if not bad.any():
                break
            where = np.nonzero(bad)
            sub = {k: np.broadcast_to(v, mean_link.shape)[where] for k, v in params.items()}
            natural[where] = family.inverse(family.sample(rng, mean_link[where], sub))
            bad = unrepresentable(natural) & np.isfinite(mean_link)
    left = int(bad.sum())
    if left:
        natural[bad] = np.nan
    if total:
        warnings.warn(
            f"{total} new-observation draw(s) ({total / natural.size:.2%}) of family {family.name!r} overflowed float64 on the "
            "natural scale (heavy tails, e.g. Student-t with small nu) and were drawn again: the predictive draws follow the "
            "family truncated to the float64 range"
            + (f"; {left} still overflowed after {MAX_REDRAWS} redraws and are NaN (check nu, sigma and the law)" if left else ""),
            UserWarning,
            stacklevel=4,
        )
    return natural, total


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
    noise = family_params(posterior, family, groups)
    observation = sample_observations(family, mean, noise, law.target, seed)
    return xr.Dataset({"mean": mean.transpose(*observation.dims), "observation": observation})


def predictive_table(draws: xr.Dataset, x: Mapping[str, xr.DataArray], groups: Mapping[str, xr.DataArray], prob: float) -> pd.DataFrame:
    """One row per point: inputs, labels, and median/lower/upper of the mean and of a new observation."""
    table = pd.DataFrame({k: v.values for k, v in {**x, **groups}.items()})
    for name in ("mean", "observation"):
        stats = interval(draws[name], prob)
        for stat in ("median", "lower", "upper"):
            table[f"{name}_{stat}"] = stats[stat].transpose(POINT_DIM).values
    return table


def resolve_inputs(law: Law, given: Mapping[str, Any]) -> dict[str, Any]:
    """The law's inputs from values given by canonical name or alias; C = 6ND fills in N or D for an (N, D) law.

    Raises
    ------
    ValueError
        Naming the missing and the unexpected inputs.
    """
    values = {INPUT_ALIASES.get(k, k): v for k, v in given.items() if v is not None}
    if set(law.inputs) <= {"N", "D"} and "C" in values and len(values) == 2:
        known = "N" if "N" in values else "D"
        other = "D" if known == "N" else "N"
        values[other] = np.asarray(values.pop("C"), dtype=float) / (FLOPS_PER_PARAM_TOKEN * np.asarray(values[known], dtype=float))
    missing = [k for k in law.inputs if k not in values]
    extra = [k for k in values if k not in law.inputs]
    if missing or extra:
        raise ValueError(f"law {law.lookup_name!r} needs inputs {list(law.inputs)}; missing {missing}, unexpected {extra}")
    return {k: values[k] for k in law.inputs}


def observation_points(data: ScalingData, law: Law) -> tuple[dict[str, xr.DataArray], dict[str, xr.DataArray]]:
    """Inputs and group labels of every observation as DataArrays over ``obs``."""
    obs = [str(i) for i in data.frame.index]
    x = {k: xr.DataArray(data.values(k), dims=OBS_DIM, coords={OBS_DIM: obs}) for k in law.inputs}
    groups = {a: xr.DataArray(data.frame[a].to_numpy(dtype=str), dims=OBS_DIM, coords={OBS_DIM: obs}) for a in data.groups}
    return x, groups


def mean_at_observations(posterior: xr.Dataset, data: ScalingData, law: Law, refs: Mapping[str, float]) -> xr.DataArray:
    """The law's mean at every observation, per draw (dims chain, draw, obs)."""
    x, groups = observation_points(data, law)
    return law.mean(x, law_params(posterior, law, groups), refs, np)


def predictive_groups(
    posterior: xr.Dataset, data: ScalingData, law: Law, family: Family, refs: Mapping[str, float], seed: int
) -> dict[str, xr.Dataset]:
    """``observed_data``, ``constant_data``, ``log_likelihood`` and ``posterior_predictive`` at the observations, per draw.

    The log likelihood is on the family's link scale; the observed and predicted
    values are on the natural scale. ``seed`` seeds the predictive noise.
    """
    x, groups = observation_points(data, law)
    mean = mean_at_observations(posterior, data, law, refs)
    noise = family_params(posterior, family, groups)
    b_mean, *b_fam = xr.broadcast(family.transform(mean), *noise.values())
    fam_values = dict(zip(noise, (b.values for b in b_fam), strict=True))
    observed = data.values(data.target)
    y_link = family.transform(observed)
    log_lik = b_mean.copy(data=family.logpdf(y_link[None, None, :], b_mean.values, fam_values))
    predicted = sample_observations(family, mean, noise, data.target, seed)
    coords = {OBS_DIM: x[data.inputs[0]][OBS_DIM].values, **{a: (OBS_DIM, g.values) for a, g in groups.items()}}
    return {
        "observed_data": xr.Dataset({OBSERVED: xr.DataArray(observed, dims=OBS_DIM, coords=coords)}),
        "constant_data": xr.Dataset({k: v.assign_coords(coords) for k, v in x.items()}),
        "log_likelihood": xr.Dataset({OBSERVED: log_lik.assign_coords(coords)}),
        "posterior_predictive": xr.Dataset({OBSERVED: predicted.assign_coords(coords)}),
    }
