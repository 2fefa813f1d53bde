"""Plot of a model-selection result: forecast loss of every candidate at the target budget, with P(best)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from bayeslaw.plotting.stamp import plain, stamp
from bayeslaw.selection import SelectionResult

if TYPE_CHECKING:
    from bayeslaw.fit import Fit


def plot_selection(
    result: SelectionResult, truth: Mapping[str, float] | None = None, title: str | None = None, fit: Fit | None = None
) -> Figure:
    """Forecast loss per candidate (best first): median, credible and observation intervals, P(best).

    Parameters
    ----------
    result
        From :func:`bayeslaw.selection.rank_candidates` (or :func:`~bayeslaw.selection.rank_draws`).
    truth
        Optional measured loss at the budget per candidate, drawn as crosses.
    title
        Figure title (default: the budget).
    fit
        The fit ranked: the title then names its model and data and states its trust signals.
    """
    table = result.ranking()
    y = np.arange(len(table))[::-1]
    fig, ax = plt.subplots(figsize=(7.5, 0.28 * len(table) + 2.2), constrained_layout=True)
    if "observation_lower" in table:
        ax.hlines(y, table["observation_lower"], table["observation_upper"], color="0.75", lw=5, label=f"{result.prob:.0%} new measurement")
    ax.hlines(y, table["loss_lower"], table["loss_upper"], color="C0", lw=2, label=f"{result.prob:.0%} forecast (law mean)")
    ax.plot(table["loss_median"], y, "o", color="C0", ms=3)
    if truth is not None:
        measured = np.array([truth.get(m, np.nan) for m in table.index], dtype=float)
        ax.plot(measured, y, "x", color="C3", ms=6, label="measured")
    labels = [f"{m}  (P(best) {p:.2f})" for m, p in zip(table.index, table["p_best"], strict=True)]
    ax.set_yticks(y, [plain(label) for label in labels], fontsize=7)
    ax.set_xlabel(f"loss at {result.budget:,.0f}" if np.isfinite(result.budget) else "loss")
    # Below the axes, so no candidate's interval is hidden behind it.
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=3, fontsize=7, frameon=False)
    stamp(fig, title or "Forecast loss at the target budget", fit=fit, prob=result.prob, status=result.status)
    return fig


__all__ = ["plot_selection"]
