"""Prior predictive check and priors against posteriors."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from bayeslaw.constants import CREDIBLE_INTERVAL
from bayeslaw.plotting.stamp import log_if_wide, stamp
from bayeslaw.summaries import interval

if TYPE_CHECKING:
    from bayeslaw.fit import Fit
    from bayeslaw.prior_predictive import PriorPredictive

#: Most groups overlaid per panel of :func:`plot_prior_posterior`.
MAX_GROUPS_SHOWN = 8
#: Histogram bins.
BINS = 40


def plot_prior_predictive(prior: PriorPredictive, fit: Fit | None = None, prob: float | None = None) -> Figure:
    """Each observation against its prior predictive ``prob`` interval, over the data's first input (log axes where wide).

    Observations outside their interval are drawn in red: priors that miss many
    observations are too narrow or misplaced.
    """
    prob = prob or prior.prob
    y = prior.draws["y_prior"]
    stats = interval(y, prob)
    inputs = [c for c in y.coords if c not in y.dims and y.coords[c].dims == ("obs",) and np.issubdtype(y.coords[c].dtype, np.number)]
    key = "N" if "N" in inputs else inputs[0]
    x = y.coords[key].values.astype(float)
    observed = prior.observed.values
    lower, upper, median = stats["lower"].values, stats["upper"].values, stats["median"].values
    inside = (observed >= lower) & (observed <= upper)
    fig, ax = plt.subplots(figsize=(7.0, 4.2), constrained_layout=True)
    order = np.argsort(x)
    ax.vlines(x[order], lower[order], upper[order], color="0.6", alpha=0.5, lw=2, label=f"{prob:.0%} prior predictive interval")
    ax.scatter(x, median, s=8, color="0.3", label="prior predictive median", zorder=2)
    ax.scatter(x[inside], observed[inside], s=12, color="tab:blue", label="observed (inside)", zorder=3)
    if (~inside).any():
        ax.scatter(x[~inside], observed[~inside], s=14, color="tab:red", label="observed (outside)", zorder=3)
    log_if_wide(ax, x, "x")
    finite = np.concatenate([lower[np.isfinite(lower)], upper[np.isfinite(upper)], observed])
    if not log_if_wide(ax, finite[finite > 0] if (finite > 0).any() else finite):
        pass
    ax.set_xlabel(key)
    ax.set_ylabel(f"{prior.target} (natural scale)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    title = f"Prior predictive check: {inside.mean():.0%} of observations inside (before fitting)"
    if fit is not None:
        stamp(fig, title, fit, prob)
    else:
        stamp(fig, f"{title}\nmodel {prior.model!r} | data {prior.data_name!r} (n = {len(observed)}) | {prob:.0%} intervals")
    return fig


def plot_prior_posterior(fit: Fit, prior: PriorPredictive, *, prob: float = CREDIBLE_INTERVAL) -> Figure:
    """Histograms of each law parameter's prior (grey) and posterior (colour; one per group, up to 8), log x where wide."""
    names = [n for n in fit.law.parameters if n in prior.parameters and n in fit.posterior]
    cols = min(len(names), 3)
    rows = int(np.ceil(len(names) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.0 * cols, 3.0 * rows), squeeze=False, constrained_layout=True)
    for ax in axes.ravel()[len(names) :]:
        ax.set_visible(False)
    for ax, name in zip(axes.ravel(), names, strict=False):
        prior_values = np.ravel(prior.parameters[name].values)
        post = fit.posterior[name]
        groups = [d for d in post.dims if d not in ("chain", "draw")]
        stacked = post.stack(_g=groups) if groups else post.expand_dims(_g=[""])
        shown = min(stacked.sizes["_g"], MAX_GROUPS_SHOWN)
        post_values = [np.ravel(stacked.isel(_g=i).values) for i in range(shown)]
        everything = np.concatenate([prior_values, *post_values])
        positive = (everything > 0).all()
        lo, hi = np.quantile(prior_values, [0.005, 0.995])
        lo, hi = min(lo, *(v.min() for v in post_values)), max(hi, *(v.max() for v in post_values))
        use_log = positive and hi / lo > 10
        bins = np.geomspace(lo, hi, BINS) if use_log else np.linspace(lo, hi, BINS)
        ax.hist(np.clip(prior_values, lo, hi), bins=bins, density=True, color="0.7", alpha=0.8, label="prior")
        for i, values in enumerate(post_values):
            label = stacked["_g"].values[i]
            text = ", ".join(map(str, label)) if isinstance(label, tuple) else str(label)
            ax.hist(values, bins=bins, density=True, color=f"C{i % 10}", alpha=0.6, label=f"posterior {text}".strip())
        if use_log:
            ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_yticks([])
        ax.set_title(name + (f" (by {', '.join(groups)}; first {shown})" if groups and shown < stacked.sizes["_g"] else ""), fontsize=9)
        ax.legend(fontsize=6, loc="best")
    stamp(fig, "Prior (grey) against posterior (colour) of the law's parameters; density on a log axis", fit, prob)
    return fig


__all__ = ["plot_prior_posterior", "plot_prior_predictive"]
