"""Chained downstream forecasts: a loss fit, then a loss-to-error link fit.

A loss law (e.g. ``overtraining``) forecasts the loss of a new run at (N, D);
a link law (e.g. ``error_link``, input ``loss``) maps a loss to a downstream
metric. :func:`forecast_downstream` pushes every posterior draw of the predicted
loss through one posterior draw of the link, so the error interval carries the
uncertainty of both fits.

Pairing of draws
----------------
The two posteriors come from separate fits, so a joint draw is a loss draw and
a link draw taken independently. Both are flattened over chains; loss draw
``i`` is paired with link draw ``perm[i]``, where ``perm`` is a seeded random
permutation of the link draws (without replacement when the link has at least
as many draws as the loss fit, with replacement otherwise). The result has as
many draws as the loss fit. No Python loop runs per draw: the pairing is one
fancy index and the link is evaluated on whole arrays.

Two quantities are reported per point and draw:

* ``*_mean``: the laws' curves: the link's mean at the loss law's mean.
* ``*_observation``: a new measured run: the loss fit's posterior-predictive
  loss (law plus measurement noise) fed to the link, plus the link's own noise
  (e.g. Beta noise on the error fraction). This is what a measured value of a
  new run should fall inside.

A link law's mean can leave its target's support far outside the losses it was
fitted on (``error_link`` drops below 0 at very low loss). Such draws are not
clipped: they are counted per point, reported in ``notes`` and in the table's
``n_invalid`` column with a warning; their ``error_mean`` keeps the law's value
and their ``error_observation`` is NaN (its intervals then use the remaining
draws, as the warning says).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import xarray as xr

from bayeslaw import results
from bayeslaw.constants import CREDIBLE_INTERVAL, DRAW_DIM
from bayeslaw.fit import Fit
from bayeslaw.forecast import POINT_DIM, in_support, sample_observations
from bayeslaw.result_contract import ResultContract
from bayeslaw.seeds import stream_seed
from bayeslaw.summaries import interval

#: Variables of a :class:`DownstreamForecast`'s draws, in table order.
QUANTITIES = ("loss_mean", "loss_observation", "error_mean", "error_observation")


@dataclass(frozen=True)
class DownstreamForecast(ResultContract):
    """Chained forecast draws.

    Attributes
    ----------
    draws
        Dataset with ``loss_mean``, ``loss_observation``, ``error_mean`` and
        ``error_observation`` over dims ``sample`` (paired draws) and ``point``.
        "error" stands for the link's target (e.g. ``error`` or ``bleu``).
    inputs
        The forecast points: inputs and group labels, one row per point.
    prob
        Interval probability of :meth:`table`.
    notes
        How draws were paired, and any draws outside the target's support.
    banner
        The two fits' convergence banners.
    """

    draws: xr.Dataset
    inputs: pd.DataFrame
    prob: float
    notes: tuple[str, ...] = field(default_factory=tuple)
    banner: str = ""
    title: ClassVar[str] = "downstream forecast (loss fit chained into a link fit)"

    def summary_draws(self) -> xr.Dataset:
        """The four forecast quantities (not the ``invalid`` flags)."""
        return self.draws[list(QUANTITIES)]

    def extra_columns(self, table: pd.DataFrame) -> pd.DataFrame:
        """The points' inputs in front and ``n_invalid`` at the end."""
        inputs = self.inputs.reset_index(drop=True)
        out = pd.concat([inputs.set_axis(table.index), table], axis=1)
        out["n_invalid"] = self.draws["invalid"].sum(DRAW_DIM).transpose(POINT_DIM).values
        return out

    def intervals(self, prob: float | None = None) -> pd.DataFrame:
        """Numeric table, one row per point: inputs, then median/lower/upper of each quantity and ``n_invalid``."""
        table = self.inputs.reset_index(drop=True).copy()
        for name in QUANTITIES:
            stats = interval(self.draws[name], prob or self.prob)
            for stat in ("median", "lower", "upper"):
                table[f"{name}_{stat}"] = stats[stat].transpose(POINT_DIM).values
        table["n_invalid"] = self.draws["invalid"].sum(DRAW_DIM).transpose(POINT_DIM).values
        return table


def pair_indices(n_loss: int, n_link: int, seed: int) -> np.ndarray:
    """Indices of the link draws paired with loss draws ``0..n_loss-1`` (see the module docstring)."""
    if n_loss < 1 or n_link < 1:
        raise ValueError(f"need at least one draw in each fit; got {n_loss} loss and {n_link} link draws")
    rng = np.random.default_rng(seed)
    if n_link >= n_loss:
        return rng.permutation(n_link)[:n_loss]
    return rng.choice(n_link, size=n_loss, replace=True)


def forecast_downstream(
    loss_fit: Fit,
    link_fit: Fit,
    params: Any = None,
    tokens: Any = None,
    *,
    loss_groups: Mapping[str, Any] | None = None,
    link_groups: Mapping[str, str] | None = None,
    prob: float = CREDIBLE_INTERVAL,
    seed: int | None = None,
    **inputs: Any,
) -> DownstreamForecast:
    """Forecast a downstream metric at new inputs through a loss fit and a link fit.

    Parameters
    ----------
    loss_fit
        Fit of a loss law (its target must be the link's input, e.g. ``loss``).
    link_fit
        Fit of a link law with one input, e.g. ``error_link``.
    params, tokens
        Model sizes N and tokens D of the new runs (or other inputs of the loss
        law by canonical name in ``inputs``), as in :meth:`Fit.predict`.
    loss_groups
        Group labels for the loss fit, e.g. ``{"skill": "c4_val"}``.
    link_groups
        Group labels (one per axis) for the link fit.
    prob
        Interval probability of the returned table.
    seed
        Seed of the pairing and of all new-observation noise (default: the
        loss fit's seed).

    Returns
    -------
    DownstreamForecast
        Paired draws and a table (see the module docstring).
    """
    link = link_fit.law
    loss_target = loss_fit.law.target
    if link.inputs != (loss_target,):
        raise ValueError(
            f"link law {link.lookup_name!r} reads {list(link.inputs)}; it must read only the loss fit's target {loss_target!r}"
        )
    seed = loss_fit.seed if seed is None else int(seed)
    table, loss_draws = loss_fit.predict(params, tokens, prob=prob, seed=seed, return_draws=True, **dict(loss_groups or {}), **inputs)
    loss_draws = results.flatten_draws(loss_draws, DRAW_DIM)
    n_loss = loss_draws.sizes[DRAW_DIM]

    link_params = {k: results.flatten_draws(v, DRAW_DIM) for k, v in link_fit.params(**dict(link_groups or {})).items()}
    family = link_fit.family
    family_params = {k: results.flatten_draws(v, DRAW_DIM) for k, v in link_fit.noise_params(**dict(link_groups or {})).items()}
    n_link = next(iter(link_params.values())).sizes[DRAW_DIM]
    index = xr.DataArray(pair_indices(n_loss, n_link, stream_seed(seed, "downstream_pairs")), dims=DRAW_DIM)
    paired = {k: v.isel({DRAW_DIM: index}).drop_vars(DRAW_DIM, errors="ignore") for k, v in {**link_params, **family_params}.items()}
    link_p = {k: paired[k] for k in link_params}
    fam_p = {k: paired[k] for k in family_params}

    refs = link_fit.refs
    error_mean = link.mean({loss_target: loss_draws["mean"]}, link_p, refs, np)
    error_at_obs = link.mean({loss_target: loss_draws["observation"]}, link_p, refs, np)
    invalid = ~in_support(error_at_obs, link.target) | ~in_support(error_mean, link.target)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*outside the support.*")  # counted with the curve's draws below
        error_obs = sample_observations(family, error_at_obs, fam_p, link.target, stream_seed(seed, "downstream_noise")).where(~invalid)

    notes = [
        f"{n_loss} loss draws each paired with one of {n_link} link draws by a seeded random permutation"
        + (" (with replacement: the link has fewer draws)" if n_link < n_loss else "")
    ]
    n_bad = int(invalid.sum())
    if n_bad:
        frac = n_bad / invalid.size
        notes.append(
            f"{n_bad} draw(s) ({frac:.2%}) of the link's mean fall outside the support of {link.target!r} "
            "(the law is extrapolated beyond its valid range); their observation draws are NaN and intervals use the rest"
        )
        warnings.warn(notes[-1], UserWarning, stacklevel=2)

    order = ("sample", POINT_DIM)
    draws = xr.Dataset(
        {
            "loss_mean": loss_draws["mean"].transpose(*order),
            "loss_observation": loss_draws["observation"].transpose(*order),
            "error_mean": error_mean.transpose(*order),
            "error_observation": error_obs.transpose(*order),
            "invalid": invalid.transpose(*order),
        }
    )
    points = table[[c for c in table.columns if not c.startswith(("mean_", "observation_"))]]
    banner = loss_fit.diagnostics.banner()
    if link_fit.diagnostics.banner() != banner:
        banner = f"loss fit: {banner}; link fit: {link_fit.diagnostics.banner()}"
    return DownstreamForecast(draws=draws, inputs=points, prob=prob, notes=tuple(notes), banner=banner)
