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
(within the training range), and take the ``tau`` that maximises the summed log
predictive density of those runs plus the log prior

    tau ~ HalfNormal(GROWTH_PRIOR_SCALE),   GROWTH_PRIOR_SCALE = 0.05 per decade,

a weakly informative prior: it puts 90% of its mass below 8% per decade (in the
range of published scaling-law extrapolation errors), and is dominated by a
handful of internal held-out runs. The maximum is found on a grid (the density
is smooth in ``tau`` because the standard-normal base draws are fixed by seed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from bayeslaw.predictive import Predictive

#: HalfNormal scale of the growth rate tau, in log-target units per decade beyond the training range.
GROWTH_PRIOR_SCALE: float = 0.05
#: Grid of tau values searched (per decade).
GROWTH_GRID: np.ndarray = np.linspace(0.0, 0.5, 201)


def decades_beyond(values: np.ndarray, train_max: float) -> np.ndarray:
    """``max(0, log10(values / train_max))``: decades beyond the largest training value."""
    values = np.asarray(values, dtype=float)
    if train_max <= 0 or not np.isfinite(train_max):
        raise ValueError(f"the training range's maximum must be finite and positive, got {train_max}")
    return np.maximum(0.0, np.log10(values / train_max))


def widen(pred: Predictive, distance: np.ndarray, tau: float, seed: int) -> Predictive:
    """Add the discrepancy ``Normal(0, tau * distance)`` (log scale) to every draw of ``pred``."""
    if tau < 0:
        raise ValueError(f"tau must be non-negative, got {tau}")
    z = np.random.default_rng(seed).standard_normal(pred.mean.shape)
    delta = tau * np.asarray(distance, dtype=float)[None, :] * z
    loc = None if pred.loc is None else pred.loc + delta
    note = f"extrapolation discrepancy: sd {tau:.3g} (log scale) per decade beyond the training range"
    return replace(
        pred,
        mean=pred.mean * np.exp(delta),
        observation=pred.observation * np.exp(delta),
        loc=loc,
        notes=(*pred.notes, note),
    )


def growth_objective(
    preds: Sequence[Predictive], ys: Sequence[np.ndarray], distances: Sequence[np.ndarray], taus: np.ndarray, seed: int
) -> np.ndarray:
    """Summed log predictive density of the internal held-out runs at each ``tau`` (without the prior)."""
    total = np.zeros(len(taus))
    for k, (pred, y, dist) in enumerate(zip(preds, ys, distances, strict=True)):
        if not pred.has_density:
            raise ValueError("learning the growth rate needs forecasts with a density (a fitted likelihood)")
        z = np.random.default_rng(seed + k).standard_normal(pred.loc.shape)
        for i, tau in enumerate(taus):
            shifted = replace(pred, loc=pred.loc + tau * np.asarray(dist)[None, :] * z)
            total[i] += float(np.sum(shifted.log_density(y)))
    return total


def learn_growth(
    preds: Sequence[Predictive],
    ys: Sequence[np.ndarray],
    distances: Sequence[np.ndarray],
    *,
    prior_scale: float = GROWTH_PRIOR_SCALE,
    grid: np.ndarray = GROWTH_GRID,
    seed: int = 0,
) -> float:
    """Posterior mode of ``tau`` given internal backtest forecasts ``preds`` of runs ``ys`` at ``distances``.

    With no internal held-out runs the prior alone decides: its mode, 0, i.e. no widening
    (the caller should say so).
    """
    if not preds:
        return 0.0
    log_prior = -0.5 * (grid / prior_scale) ** 2
    objective = growth_objective(preds, ys, distances, grid, seed) + log_prior
    objective = np.where(np.isfinite(objective), objective, -np.inf)
    return float(grid[int(np.argmax(objective))])
