"""Trust signals of a fit and of a forecast: CAUTION / WARNING lines like the convergence banner.

Green convergence checks do not make a forecast trustworthy. These lines flag
what the backtests showed to go with bad forecasts:

- Student-t ``nu`` below ``NU_MIN`` (heavy tails absorbing misfit: the
  predictive band becomes very wide, with draws that overflow float64 redrawn);
- a noise scale ``sigma`` above ``SIGMA_MAX`` on the log scale (tens of percent);
- residual scatter that differs between the groups of an axis (Fligner-Killeen
  test, p below ``NOISE_GROUPS_P``) while the likelihood has one noise scale for
  all: the quiet groups' bands are then too wide and the noisy groups' too narrow;
- training runs below the fitted floor ``E`` (the law treats the best runs as outliers);
- forecast points beyond ``EXTRAPOLATION_MAX`` times the largest training compute;
- runs with fewer than ``TOKENS_PER_PARAM_MIN`` tokens per parameter (where
  power laws in ``D`` are known to misbehave).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from bayeslaw.constants import FLOPS_PER_PARAM_TOKEN
from bayeslaw.posterior import law_params

if TYPE_CHECKING:
    from bayeslaw.fit import Fit

#: Posterior median of nu below which heavy tails are flagged.
NU_MIN: float = 2.0
#: Posterior median of the log-scale noise sigma above which the noise is flagged as implausibly large.
SIGMA_MAX: float = 0.1
#: p-value of the test of equal residual scatter across an axis's groups below which the noise is flagged.
NOISE_GROUPS_P: float = 1e-3
#: Groups with fewer observations are left out of that test.
NOISE_GROUP_MIN_ROWS: int = 3
#: Forecasts beyond this multiple of the largest training compute are flagged.
EXTRAPOLATION_MAX: float = 10.0
#: Runs with fewer tokens per parameter are flagged.
TOKENS_PER_PARAM_MIN: float = 1.0


def fit_signals(fit: Fit) -> list[str]:
    """CAUTION / WARNING lines about a fit itself (empty when nothing is flagged)."""
    lines: list[str] = []
    post = fit.posterior
    if not fit.converged:
        lines.append(f"WARNING: {fit.diagnostics.banner()}")
    if "nu" in post:
        nu = float(np.median(post["nu"].values))
        if nu < NU_MIN:
            lines.append(
                f"WARNING: Student-t nu = {nu:.2g} (< {NU_MIN:g}): heavy tails absorb misfit; "
                "forecast bands are very wide and predictive draws may overflow (those are redrawn). "
                "Check the law (backtest, compare_lfo)."
            )
    if "sigma" in post:
        sigma = float(np.median(post["sigma"].values))
        if sigma > SIGMA_MAX:
            lines.append(f"CAUTION: noise scale sigma = {sigma:.2g} on the log scale (> {SIGMA_MAX:g}): implausibly large for losses")
    lines += _noise_by_group(fit)
    law = fit.law
    data = fit.data
    if "E" in law.parameters and data.target == "loss":
        groups = {a: _labels(data, a) for a in data.groups}
        floor = law_params(post, law, groups)["E"]
        low = floor.quantile(0.05, dim=("chain", "draw")).values
        observed = data.values("loss")
        below = observed < np.broadcast_to(low, observed.shape)
        if below.any():
            lines.append(
                f"WARNING: {int(below.sum())} training run(s) lie below the fitted floor E (its 5% quantile): "
                "the law treats the best runs as outliers"
            )
    if {"N", "D"} <= set(data.frame.columns):
        ratio = data.values("D") / data.values("N")
        few = ratio < TOKENS_PER_PARAM_MIN
        if few.any():
            lines.append(
                f"CAUTION: {int(few.sum())} run(s) have fewer than {TOKENS_PER_PARAM_MIN:g} token per parameter (law unreliable there)"
            )
    return lines


def _noise_by_group(fit: Fit) -> list[str]:
    """A CAUTION per group axis whose groups' residual scatter differs, when the noise scale is shared by all groups."""
    data = fit.data
    post = fit.posterior
    scales = [name for name in fit.family.params if name in post]
    if not data.groups or any(post[name].ndim > 2 for name in scales):
        return []
    fitted = fit.mean_at_observations().median(("chain", "draw")).values
    with np.errstate(all="ignore"):
        residual = np.asarray(fit.family.transform(data.values(data.target)) - fit.family.transform(fitted), dtype=float)
    lines = []
    for axis in data.groups:
        labels = data.frame[axis].to_numpy(dtype=str)
        groups = [g for g in np.unique(labels) if (labels == g).sum() >= NOISE_GROUP_MIN_ROWS]
        samples = [residual[labels == g] for g in groups]
        if len(samples) < 2 or not all(np.isfinite(s).all() for s in samples):
            continue
        p_value = float(stats.fligner(*samples).pvalue)
        if p_value >= NOISE_GROUPS_P:
            continue
        spread = np.array([np.median(np.abs(s - np.median(s))) for s in samples])
        noisiest = [groups[k] for k in np.argsort(spread)[::-1][:3]]
        ratio = spread.max() / max(spread.min(), np.finfo(float).tiny)
        lines.append(
            f"CAUTION: residual scatter differs between {axis} groups under one noise scale: Fligner-Killeen p = {p_value:.1g}, "
            f"median absolute deviations {ratio:.3g}x apart, noisiest {', '.join(noisiest)}. Bands are too wide for the quiet "
            f'groups and too narrow for the noisy ones. A noise scale per group: [pooling] sigma = {{ {axis} = "partial" }}, '
            "with a LogNormal prior for sigma in [likelihood] priors"
        )
    return lines


def forecast_signals(fit: Fit, inputs: Mapping[str, Any]) -> list[str]:
    """Lines about forecasting ``fit`` at ``inputs`` (``N`` and ``D``, or ``C``): extrapolation beyond the training compute."""
    data = fit.data
    if "C" in inputs:
        compute = np.asarray(inputs["C"], dtype=float)
    elif {"N", "D"} <= set(inputs):
        compute = FLOPS_PER_PARAM_TOKEN * np.asarray(inputs["N"], dtype=float) * np.asarray(inputs["D"], dtype=float)
    else:
        return []
    if {"N", "D"} <= set(data.frame.columns):
        train = FLOPS_PER_PARAM_TOKEN * data.values("N") * data.values("D")
    elif "C" in data.frame.columns:
        train = data.values("C")
    else:
        return []
    factor = np.atleast_1d(compute) / float(train.max())
    far = factor > EXTRAPOLATION_MAX
    if not far.any():
        return []
    return [
        f"CAUTION: {int(far.sum())} forecast point(s) lie beyond {EXTRAPOLATION_MAX:g}x the largest training compute "
        f"(up to {factor.max():.3g}x): judge them by a backtest at that distance, and prefer a forecast widened for extrapolation"
    ]


def _labels(data: Any, axis: str) -> Any:
    import xarray as xr

    return xr.DataArray(data.frame[axis].to_numpy(dtype=str), dims="obs")
