"""Uncertainty that grows with extrapolation: a discrepancy term learned by internal backtests.

A law fitted on small runs is never exactly right, and its error at a larger run
grows with how far that run lies beyond the training range. This module adds,
at forecast time, a discrepancy ``delta`` to the law's log mean::

    log L_true(x) = log L_law(x) + delta(x),   delta(x) ~ Normal(0, tau * d(x)),
    d(x) = max(0, log10(x / x_max))             (decades beyond the largest training run, along ``by``)

so the band is unchanged inside the training range and widens linearly (on the
log scale) with the number of decades extrapolated. ``delta`` shifts both the
mean curve and a new observation (it is uncertainty about the curve itself).

The growth rate ``tau`` (log-target units per decade) is learned from the
training data alone, by internal backtests: cut the training runs at
``x_max / 10^k`` for a few ``k``, fit on the runs below, forecast the runs above
(within the training range). Its posterior on a grid is

    p(tau | internal runs)  ~  HalfNormal(tau; GROWTH_PRIOR_SCALE) * prod_i p(y_i | tau),

with ``p(y_i | tau)`` the density of run ``i`` around the internal fit's
**point forecast** (the median of its mean curve), with the fit's observation
noise and the discrepancy ``Normal(0, tau * d_i)``. The internal fit's own
parameter uncertainty is left out on purpose: an internal fit has fewer runs,
so its posterior is wide and absorbs its errors, while the full fit's posterior
is narrower but its law no less biased. Measured on the shipped fine-tuning
curves (FLAN, cut at 1/100): scored with their full predictive, the internal
fits learn tau = 0.004 per decade, while the full fit misses runs 128x beyond
by 17%; scored by their point forecasts they learn tau = 0.05, which covers it.
So ``tau`` measures how far a point forecast drifts per decade, and is added
to the full fit's own uncertainty. The forecast **integrates over this posterior** (each
predictive draw gets its own ``tau``), rather than plugging in its mode: with a
HalfNormal prior and few or noisy internal runs the mode is 0 (no widening)
even when the data cannot rule out a large ``tau``, which is exactly when a
biased law goes unflagged. Integrating keeps that uncertainty; many consistent
internal runs concentrate the posterior and the band stays sharp.

Prior: ``tau ~ HalfNormal(0.05)`` per decade, weakly informative: it puts 90%
of its mass below 8% per decade, the range of published scaling-law
extrapolation errors. With no internal held-out run (fewer than a handful of
training runs) the prior alone decides, and the notes say so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import xarray as xr

from bayeslaw.constants import FLOPS_PER_PARAM_TOKEN
from bayeslaw.predictive import Predictive

#: HalfNormal scale of the growth rate tau, in log-target units per decade beyond the training range.
GROWTH_PRIOR_SCALE: float = 0.05
#: Grid of tau values (per decade) on which the posterior is computed.
GROWTH_GRID: np.ndarray = np.linspace(0.0, 0.4, 161)


def decades_beyond(values: np.ndarray, train_max: float) -> np.ndarray:
    """``max(0, log10(values / train_max))``: decades beyond the largest training value."""
    values = np.asarray(values, dtype=float)
    if train_max <= 0 or not np.isfinite(train_max):
        raise ValueError(f"the training range's maximum must be finite and positive, got {train_max}")
    return np.maximum(0.0, np.log10(values / train_max))


def decades_from_nearest(points: Mapping[str, np.ndarray], train: Mapping[str, np.ndarray]) -> np.ndarray:
    """Euclidean distance, in decades of the inputs (log10), from each point to its nearest training run.

    Zero at a training run; for one input beyond the training range it is
    ``log10(x / x_max)``. Unlike the distance along one column it also sees an
    extrapolation in the inputs' ratio (e.g. tokens per parameter) at a compute
    inside the training range.
    """
    keys = sorted(train)
    missing = [k for k in keys if k not in points]
    if missing:
        raise ValueError(f"the distance to the training runs needs inputs {keys}; the forecast points lack {missing}")
    p = np.column_stack([np.log10(np.asarray(points[k], dtype=float)) for k in keys])
    t = np.column_stack([np.log10(np.asarray(train[k], dtype=float)) for k in keys])
    return np.sqrt(((p[:, None, :] - t[None, :, :]) ** 2).sum(axis=2)).min(axis=1)


def widen(pred: Predictive, distance: np.ndarray, tau: float | np.ndarray, seed: int) -> Predictive:
    """Add the discrepancy ``Normal(0, tau * distance)`` (log scale) to every draw of ``pred``.

    ``tau`` is one rate, or one rate per draw (a sample from its posterior).
    """
    tau_arr = np.asarray(tau, dtype=float)
    if (tau_arr < 0).any():
        raise ValueError(f"tau must be non-negative, got {tau}")
    per_draw = tau_arr.reshape(-1, 1) if tau_arr.ndim else np.full((1, 1), float(tau_arr))
    if per_draw.shape[0] not in (1, pred.n_draws):
        raise ValueError(f"give one tau or one per draw ({pred.n_draws}); got {per_draw.shape[0]}")
    z = np.random.default_rng(seed).standard_normal(pred.mean.shape)
    delta = per_draw * np.asarray(distance, dtype=float)[None, :] * z
    loc = None if pred.loc is None else pred.loc + delta
    if tau_arr.ndim:
        note = f"extrapolation discrepancy: sd tau x decades beyond the training range, tau per draw (mean {tau_arr.mean():.3g} per decade)"
    else:
        note = f"extrapolation discrepancy: sd {float(tau_arr):.3g} (log scale) per decade beyond the training range"
    return replace(
        pred,
        mean=pred.mean * np.exp(delta),
        observation=pred.observation * np.exp(delta),
        loc=loc,
        notes=(*pred.notes, note),
    )


#: Draws of each internal forecast used to evaluate the growth rate's likelihood.
GROWTH_LIKELIHOOD_DRAWS: int = 400


def point_forecast(pred: Predictive, n_draws: int = GROWTH_LIKELIHOOD_DRAWS) -> Predictive:
    """``pred`` with every draw's location set to the median location (its point forecast), keeping the noise draws."""
    if not pred.has_density:
        raise ValueError("learning the growth rate needs forecasts with a density (a fitted likelihood)")
    rows = np.unique(np.linspace(0, pred.n_draws - 1, min(n_draws, pred.n_draws)).round().astype(int))
    with np.errstate(invalid="ignore"):
        center = np.nanmedian(np.where(np.isfinite(pred.loc), pred.loc, np.nan), axis=0)
    sub = pred.take(rows)
    return replace(sub, loc=np.broadcast_to(center, sub.loc.shape).copy())


def growth_loglik(
    preds: Sequence[Predictive], ys: Sequence[np.ndarray], distances: Sequence[np.ndarray], taus: np.ndarray, seed: int
) -> np.ndarray:
    """Summed log density of the internal held-out runs at each ``tau`` (without the prior).

    The standard-normal base draws are fixed by ``seed``, so the density is smooth in ``tau``.
    """
    total = np.zeros(len(taus))
    for k, (pred, y, dist) in enumerate(zip(preds, ys, distances, strict=True)):
        if not pred.has_density:
            raise ValueError("learning the growth rate needs forecasts with a density (a fitted likelihood)")
        z = np.random.default_rng(seed + k).standard_normal(pred.loc.shape)
        dz = np.asarray(dist, dtype=float)[None, :] * z
        for i, tau in enumerate(taus):
            total[i] += float(np.sum(replace(pred, loc=pred.loc + tau * dz).log_density(y)))
    return total


@dataclass(frozen=True)
class GrowthPosterior:
    """Posterior of the growth rate ``tau`` on a grid, learned from internal backtests.

    Attributes
    ----------
    grid, weights
        Grid of ``tau`` (per decade) and posterior probabilities (sum 1).
    prior_scale
        HalfNormal scale of the prior.
    n_runs
        Number of internal held-out runs it was learned from (0: the prior alone).
    """

    grid: np.ndarray
    weights: np.ndarray
    prior_scale: float = GROWTH_PRIOR_SCALE
    n_runs: int = 0

    @property
    def mean(self) -> float:
        """Posterior mean of ``tau``."""
        return float(np.sum(self.grid * self.weights))

    @property
    def mode(self) -> float:
        """Posterior mode of ``tau``."""
        return float(self.grid[int(np.argmax(self.weights))])

    def quantile(self, q: float) -> float:
        """Posterior quantile of ``tau``."""
        return float(self.grid[min(int(np.searchsorted(np.cumsum(self.weights), q)), len(self.grid) - 1)])

    def sample(self, n: int, seed: int) -> np.ndarray:
        """``n`` draws of ``tau`` from the grid posterior."""
        return np.random.default_rng(seed).choice(self.grid, size=n, p=self.weights)

    def describe(self) -> str:
        """One line for notes."""
        source = f"learned on {self.n_runs} internal held-out runs" if self.n_runs else "prior only (no internal held-out runs)"
        return (
            f"extrapolation growth rate tau ({source}; prior HalfNormal({self.prior_scale:g})): mean {self.mean:.3g}, "
            f"90% upper {self.quantile(0.9):.3g} per decade (log scale)"
        )


def learn_growth(
    preds: Sequence[Predictive],
    ys: Sequence[np.ndarray],
    distances: Sequence[np.ndarray],
    *,
    prior_scale: float = GROWTH_PRIOR_SCALE,
    grid: np.ndarray = GROWTH_GRID,
    seed: int = 0,
    point: bool = True,
) -> GrowthPosterior:
    """Posterior of ``tau`` given internal backtest forecasts ``preds`` of runs ``ys`` at ``distances``.

    With ``point=True`` (the default; see the module docstring) each internal
    forecast is scored by its point forecast and observation noise; with
    ``point=False`` by its full predictive. With no internal held-out runs the
    posterior is the prior.
    """
    if prior_scale <= 0:
        raise ValueError(f"prior_scale must be positive, got {prior_scale}")
    log_post = -0.5 * (grid / prior_scale) ** 2
    n_runs = int(sum(len(y) for y in ys))
    if preds:
        scored = [point_forecast(p) if point else p for p in preds]
        log_post = log_post + growth_loglik(scored, ys, distances, grid, seed)
    log_post = np.where(np.isfinite(log_post), log_post, -np.inf)
    if not np.isfinite(log_post).any():
        raise ValueError("the internal held-out runs have zero density at every growth rate")
    w = np.exp(log_post - log_post.max())
    return GrowthPosterior(grid=np.asarray(grid, dtype=float), weights=w / w.sum(), prior_scale=prior_scale, n_runs=n_runs)


def prior_growth(prior_scale: float = GROWTH_PRIOR_SCALE, grid: np.ndarray = GROWTH_GRID) -> GrowthPosterior:
    """The prior of ``tau`` alone, as a :class:`GrowthPosterior` (nothing learned)."""
    return learn_growth([], [], [], prior_scale=prior_scale, grid=grid)


@dataclass(frozen=True)
class Extrapolation:
    """A learned extrapolation discrepancy, to pass to :meth:`bayeslaw.Fit.forecast` (``extrapolation=``).

    Attributes
    ----------
    by
        The column along which distance is measured (``C``: compute, ``N``, ``D``, ``examples``, ...).
    train_max
        The largest training value of ``by``.
    growth
        Posterior of the growth rate ``tau``.
    notes
        How it was learned.
    train_inputs
        With ``distance="nearest"``: the training runs' law inputs; the distance
        is then :func:`decades_from_nearest` instead of decades beyond ``train_max``.
    """

    by: str
    train_max: float
    growth: GrowthPosterior
    notes: tuple[str, ...] = ()
    train_inputs: Mapping[str, np.ndarray] | None = None

    def distance(self, inputs: Mapping[str, Any]) -> np.ndarray:
        """Decades beyond the training range of points given by their inputs (``C`` from ``6 N D`` when needed)."""
        if self.train_inputs is not None:
            return decades_from_nearest(inputs, self.train_inputs)
        if self.by in inputs:
            values = np.asarray(inputs[self.by], dtype=float)
        elif self.by == "C" and {"N", "D"} <= set(inputs):
            values = FLOPS_PER_PARAM_TOKEN * np.asarray(inputs["N"], dtype=float) * np.asarray(inputs["D"], dtype=float)
        else:
            raise ValueError(f"the extrapolation is measured along {self.by!r}, which the forecast points lack (have {sorted(inputs)})")
        return decades_beyond(values, self.train_max)

    def widen_draws(self, draws: xr.Dataset, distance: np.ndarray, point_dim: str, seed: int) -> xr.Dataset:
        """``draws`` (``mean`` and ``observation`` over chain, draw and ``point_dim``) times ``exp(delta)``."""
        sample = [d for d in draws["mean"].dims if d != point_dim]
        shape = tuple(draws.sizes[d] for d in sample)
        n = int(np.prod(shape))
        tau = xr.DataArray(self.growth.sample(n, seed).reshape(shape), dims=sample)
        z = xr.DataArray(np.random.default_rng(seed + 1).standard_normal((*shape, draws.sizes[point_dim])), dims=(*sample, point_dim))
        dist = xr.DataArray(np.asarray(distance, dtype=float), dims=point_dim)
        factor = np.exp(tau * dist * z)
        return draws.assign(mean=draws["mean"] * factor, observation=draws["observation"] * factor)

    def describe(self) -> str:
        """One line for a forecast's notes."""
        where = (
            "by the distance to the nearest training run" if self.train_inputs is not None else f"beyond {self.by} <= {self.train_max:.4g}"
        )
        return f"widened {where}: " + self.growth.describe()
