"""Prior predictive check: what do the priors alone say about the data, before any fitting?

``bl.prior_predictive(data, "chinchilla")`` builds the same PyMC model a fit
would, draws the parameters from their priors and a new measurement at every
observation's inputs (natural scale), and returns a :class:`PriorPredictive`.
Its :meth:`~PriorPredictive.coverage` says which share of the observations lies
inside the prior predictive ``prob`` interval: priors that cover almost none of
the data are too narrow or misplaced; an interval spanning many decades says the
priors are vague (the data then decide). :func:`bayeslaw.plotting.plot_prior_predictive`
draws the observations against the interval.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from bayeslaw import results
from bayeslaw.constants import CREDIBLE_INTERVAL, DEFAULT_SEED, OBS_DIM, OBSERVED
from bayeslaw.data import ScalingData
from bayeslaw.families import get_family
from bayeslaw.model_builder import build_model
from bayeslaw.result_contract import ResultContract
from bayeslaw.spec import ModelSpec, resolve_spec
from bayeslaw.summaries import interval

#: Prior draws taken by default.
PRIOR_DRAWS = 500


@dataclass(frozen=True)
class PriorPredictive(ResultContract):
    """Draws from the prior of the law's parameters and of a new measurement at every observation.

    Attributes
    ----------
    draws
        ``y_prior`` (natural scale) over ``chain``, ``draw``, ``obs``, each
        observation's inputs and group labels as coordinates along ``obs``.
    parameters
        Prior draws of the law's (natural-scale) parameters and the likelihood's.
    observed
        The observed target per observation.
    model, data_name, target
        What was checked.
    prob
        Interval probability of the summaries.
    notes
        Notes of the model build (pooling, few groups).
    """

    draws: xr.Dataset
    parameters: xr.Dataset
    observed: xr.DataArray
    model: str
    data_name: str
    target: str
    prob: float = CREDIBLE_INTERVAL
    notes: tuple[str, ...] = ()
    title: ClassVar[str] = "prior predictive draws (before seeing the data)"

    def inside(self, prob: float | None = None) -> pd.Series:
        """Per observation: whether the observed value lies inside its prior predictive ``prob`` interval."""
        stats = interval(self.draws["y_prior"], prob or self.prob)
        flags = (self.observed >= stats["lower"]) & (self.observed <= stats["upper"])
        return pd.Series(flags.values, index=self.observed[OBS_DIM].values, name="inside")

    def coverage(self, prob: float | None = None) -> float:
        """Share of observations inside their prior predictive ``prob`` interval."""
        return float(self.inside(prob).mean())

    def decades(self, prob: float | None = None) -> float:
        """Median width of the prior predictive ``prob`` interval, in decades (log10 upper / lower)."""
        stats = interval(self.draws["y_prior"], prob or self.prob)
        with np.errstate(divide="ignore", invalid="ignore"):
            width = np.log10(stats["upper"] / stats["lower"])
        return float(np.nanmedian(width.values))

    def summary(self, prob: float | None = None) -> pd.DataFrame:
        """Tidy per observation: ``quantity`` (y_prior), ``obs``, its labels, median, lower, upper."""
        return super().summary(prob)


def prior_predictive(
    data: ScalingData | pd.DataFrame,
    model: str | Path | Mapping[str, Any] | ModelSpec = "chinchilla",
    *,
    draws: int = PRIOR_DRAWS,
    seed: int = DEFAULT_SEED,
    prob: float = CREDIBLE_INTERVAL,
) -> PriorPredictive:
    """Draw the parameters from their priors and new measurements at every observation of ``data``.

    Parameters
    ----------
    data
        The data the model would be fitted to (only its inputs and groups are
        used for the draws; the observed values are kept for comparison).
    model
        A shipped model name, a TOML path, a dict or a :class:`ModelSpec` (as in :func:`bayeslaw.fit`).
    draws
        Number of prior draws.
    seed
        Random seed.
    prob
        Interval probability of the result's summaries.
    """
    if isinstance(data, pd.DataFrame):
        data = ScalingData.from_frame(data)
    if int(draws) < 1:
        raise ValueError(f"draws must be a positive integer, got {draws}")
    spec = resolve_spec(model)
    built = build_model(data, spec)
    family = get_family(spec.family)
    with built.model:
        idata = pm.sample_prior_predictive(draws=int(draws), random_seed=seed)
    prior = results.get_group(idata, "prior")
    predictive = results.get_group(idata, "prior_predictive")[OBSERVED]
    with np.errstate(over="ignore"):  # a vague prior's far tail overflows to +inf on the natural scale; kept as a draw
        natural = predictive.copy(data=family.inverse(predictive.values))
    obs = [str(i) for i in data.frame.index]
    coords: dict[str, Any] = {OBS_DIM: obs}
    coords.update({k: (OBS_DIM, data.values(k)) for k in data.inputs})
    coords.update({a: (OBS_DIM, data.frame[a].to_numpy(dtype=str)) for a in data.groups})
    natural = natural.assign_coords(coords)
    names = [n for n in (*built.law.parameters, *family.params) if n in prior]
    observed = xr.DataArray(data.values(data.target), dims=OBS_DIM, coords={OBS_DIM: obs})
    return PriorPredictive(
        draws=xr.Dataset({"y_prior": natural}),
        parameters=prior[names],
        observed=observed,
        model=spec.name,
        data_name=data.name,
        target=data.target,
        prob=prob,
        notes=built.notes,
    )


__all__ = ["PRIOR_DRAWS", "PriorPredictive", "prior_predictive"]
