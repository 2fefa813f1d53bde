"""Calibration plots of a backtest: coverage against nominal, PIT histograms, error against extrapolation.

Every function takes a :class:`~bayeslaw.backtest.BacktestResult` (forecasts of
held-out runs computed from fits) and returns a matplotlib Figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from bayeslaw.predictive import COVERAGE_LEVELS

if TYPE_CHECKING:
    from bayeslaw.backtest import BacktestResult

__all__ = ["plot_coverage", "plot_error_vs_extrapolation", "plot_pit"]


def _models(result: BacktestResult, models: Sequence[str] | None) -> list[str]:
    known = list(dict.fromkeys(result.forecasts["model"]))
    if models is None:
        return known
    unknown = [m for m in models if m not in known]
    if unknown:
        raise ValueError(f"unknown models {unknown}; the backtest has {known}")
    return list(models)


def plot_coverage(result: BacktestResult, models: Sequence[str] | None = None, levels: Sequence[float] = COVERAGE_LEVELS) -> Figure:
    """Coverage of the held-out runs against the nominal probability, per model (pooled over cuts).

    Solid: new-observation intervals; dashed: mean-curve intervals. A calibrated
    forecast lies on the diagonal; below it, the intervals are too narrow.
    """
    names = _models(result, models)
    fig, ax = plt.subplots(figsize=(5, 5))
    nominal = np.asarray(levels)
    for i, name in enumerate(names):
        rows = result.forecasts[result.forecasts["model"] == name]
        colour = f"C{i}"
        obs = [rows[f"cover_obs_{round(100 * p)}"].mean() for p in levels]
        mean = [rows[f"cover_mean_{round(100 * p)}"].mean() for p in levels]
        ax.plot(nominal, obs, "o-", color=colour, label=f"{name} (new observation)")
        ax.plot(nominal, mean, "s--", color=colour, alpha=0.6, label=f"{name} (mean curve)")
    ax.plot([0, 1], [0, 1], color="grey", lw=1)
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="nominal probability", ylabel="share of held-out runs inside", title="Backtest coverage")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def plot_pit(result: BacktestResult, models: Sequence[str] | None = None, bins: int = 10) -> Figure:
    """Histogram of the probability integral transform of every held-out run (flat = calibrated), per model."""
    names = _models(result, models)
    fig, axes = plt.subplots(1, len(names), figsize=(3 * len(names), 2.8), squeeze=False, sharey=True)
    for ax, name in zip(axes[0], names, strict=True):
        pit = result.forecasts.loc[result.forecasts["model"] == name, "pit"].to_numpy()
        ax.hist(pit, bins=np.linspace(0, 1, bins + 1), density=True, color="tab:blue", alpha=0.7)
        ax.axhline(1.0, color="grey", lw=1)
        ax.set(title=name, xlabel="PIT")
    axes[0][0].set_ylabel("density")
    fig.tight_layout()
    return fig


def plot_error_vs_extrapolation(result: BacktestResult, models: Sequence[str] | None = None) -> Figure:
    """Absolute % error of each held-out run against its extrapolation factor (``by`` / training maximum).

    Dots: errors; line: each model's median half-width of the 90% new-observation
    interval in bins of the factor, so an interval narrower than the errors shows at once.
    """
    names = _models(result, models)
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, name in enumerate(names):
        rows = result.forecasts[result.forecasts["model"] == name]
        factor = rows["extrapolation"].to_numpy()
        ax.scatter(factor, rows["abs_pct_error"], s=10, color=f"C{i}", alpha=0.6, label=f"{name}: |error|")
        edges = np.geomspace(factor.min(), factor.max() * 1.0001, 7)
        which = np.digitize(factor, edges) - 1
        centres, half = [], []
        for b in range(len(edges) - 1):
            inside = which == b
            if inside.any():
                centres.append(np.sqrt(edges[b] * edges[b + 1]))
                half.append(50 * np.median(rows["width_90"].to_numpy()[inside]))
        ax.plot(centres, half, "-", color=f"C{i}", lw=2, label=f"{name}: 90% half-width")
    ax.set(xscale="log", yscale="log", xlabel=f"extrapolation factor ({result.by} / largest training {result.by})", ylabel="%")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
