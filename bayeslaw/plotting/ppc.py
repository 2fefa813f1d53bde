"""Posterior predictive check plots: observed values against their predictive intervals, per skill.

:func:`plot_ppc` draws one row per skill and one column per input (``N`` and
``D`` by default): every observation is a dot, its ``prob`` posterior predictive
interval a vertical bar, and observations outside their interval are marked.
:func:`plot_ppc_coverage` shows the per-skill coverage against the nominal
probability and the flagging bounds. The numbers come from :mod:`bayeslaw.ppc`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from bayeslaw.constants import PPC_COVERAGE_BOUNDS, PPC_INTERVAL, SKILL_DIM
from bayeslaw.groups import check_labels
from bayeslaw.plotting.stamp import plain, stamp
from bayeslaw.ppc import ALL, CoverageCheck, ppc_coverage, ppc_table

if TYPE_CHECKING:
    from bayeslaw.fit import Fit

#: Most groups drawn by :func:`plot_ppc` in one figure.
MAX_ROWS = 16
#: Panels per row of :func:`plot_ppc` (a group's inputs stay side by side).
PANEL_COLUMNS = 4
_INSIDE_COLOUR = "tab:blue"
_OUTSIDE_COLOUR = "tab:red"


def plot_ppc(
    fit: Fit,
    *,
    inputs: Sequence[str] | None = None,
    skills: Sequence[str] | None = None,
    by: str = SKILL_DIM,
    prob: float = PPC_INTERVAL,
) -> Figure:
    """Observed target against its ``prob`` posterior predictive interval, one panel per group and input.

    Panels are laid out on a grid of :data:`PANEL_COLUMNS` columns, each group's
    inputs side by side, so 2 to 16 groups stay readable; the y axis is
    logarithmic where the target spans more than a decade.

    Parameters
    ----------
    fit
        A fitted model.
    inputs
        Inputs on the x axes (log scale); default ``N`` and ``D`` where the data has them, else the law's inputs.
    skills
        Labels to draw (default: all, up to :data:`MAX_ROWS`).
    by
        Grouping axis (``"skill"``, ``"datamix"``, ``"model"``, ...); data without it give one group.
    prob
        Probability of the predictive intervals.
    """
    table = ppc_table(fit, prob)
    if inputs is None:
        inputs = [k for k in ("N", "D") if k in fit.data.inputs] or list(fit.law.inputs)[:2]
    missing = [k for k in inputs if k not in table]
    if missing:
        raise ValueError(f"inputs {missing} are not in the data (have {list(fit.data.inputs)})")
    axis = by if by in fit.data.groups else (fit.data.groups[0] if fit.data.groups and by == SKILL_DIM else ALL)
    levels = list(fit.data.levels[axis]) if axis != ALL else [ALL]
    if skills is not None:
        check_labels(axis, list(skills), levels)
        levels = list(skills)
    if len(levels) > MAX_ROWS:
        raise ValueError(f"{len(levels)} {axis} levels; pick at most {MAX_ROWS} with skills=[...]")
    coverage = ppc_coverage(fit, prob, by=axis if axis != ALL else None).per_group["coverage"]
    n_panels = len(levels) * len(inputs)
    per_row = max(len(inputs), (PANEL_COLUMNS // len(inputs)) * len(inputs)) if n_panels > len(inputs) else len(inputs)
    cols = min(per_row, n_panels)
    rows = int(np.ceil(n_panels / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.7 * rows + 0.6), squeeze=False, constrained_layout=True)
    flat = axes.ravel()
    for ax in flat[n_panels:]:
        ax.set_visible(False)
    target_values = table["observed"].to_numpy(float)
    wide = bool((target_values > 0).all() and target_values.max() / target_values.min() > 10)
    for g, label in enumerate(levels):
        rows_of = table if axis == ALL else table[table[axis] == label]
        for i, key in enumerate(inputs):
            ax = flat[g * len(inputs) + i]
            x = rows_of[key].to_numpy()
            for inside, colour, name in ((True, _INSIDE_COLOUR, "inside"), (False, _OUTSIDE_COLOUR, "outside")):
                sel = rows_of["inside"].to_numpy() == inside
                if not sel.any():
                    continue
                mid = rows_of["pred_median"].to_numpy()[sel]
                err = np.vstack([mid - rows_of["pred_lower"].to_numpy()[sel], rows_of["pred_upper"].to_numpy()[sel] - mid])
                ax.errorbar(x[sel], mid, yerr=err, fmt="none", ecolor=colour, alpha=0.35, lw=1.5)
                ax.scatter(x[sel], rows_of["observed"].to_numpy()[sel], s=10, color=colour, zorder=3, label=f"observed ({name})")
            ax.set_xscale("log")
            if wide:
                ax.set_yscale("log")
            ax.set_xlabel(key, fontsize=8)
            ax.tick_params(labelsize=7)
            if i == 0:
                ax.set_ylabel(fit.data.target, fontsize=8)
            ax.set_title(f"{label}: {coverage[label]:.0%} inside", fontsize=8)
    flat[0].legend(fontsize=6, loc="best")
    stamp(fig, f"Posterior predictive check by {axis}: bars = {prob:.0%} predictive intervals of each observation", fit, prob)
    return fig


def plot_ppc_coverage(result: Fit | CoverageCheck, *, prob: float = PPC_INTERVAL, by: str = SKILL_DIM) -> Figure:
    """Bar chart of per-group predictive coverage with the nominal ``prob`` and the flagging bounds.

    ``result`` is a fit (coverage computed with ``prob`` and ``by``) or a :class:`CoverageCheck`.
    """
    check = result if isinstance(result, CoverageCheck) else ppc_coverage(result, prob, by=by)
    table = check.per_group
    fig, ax = plt.subplots(figsize=(max(4.0, 0.7 * len(table) + 2), 3.4), constrained_layout=True)
    colours = [_OUTSIDE_COLOUR if flag else _INSIDE_COLOUR for flag in table["flag"]]
    positions = np.arange(len(table))
    ax.bar(positions, table["coverage"], color=colours)
    ax.axhline(check.prob, color="k", lw=1, ls="--", label=f"nominal {check.prob:.0%}")
    low, high = check.bounds if check.bounds else PPC_COVERAGE_BOUNDS
    ax.axhspan(low, high, color="0.9", zorder=0, label=f"accepted [{low:.0%}, {high:.0%}]")
    ax.set_xticks(positions)
    ax.set_xticklabels([plain(i) for i in table.index], rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("share inside interval")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(f"PPC coverage by {check.by} (overall {check.overall:.0%})", fontsize=10)
    stamp(fig, "Posterior predictive coverage per group", prob=check.prob, status=check.fit_banner)
    return fig


__all__ = ["plot_ppc", "plot_ppc_coverage"]
