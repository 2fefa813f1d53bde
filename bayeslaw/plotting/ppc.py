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
from bayeslaw.ppc import ALL, CoverageCheck, ppc_coverage, ppc_table

if TYPE_CHECKING:
    from bayeslaw.fit import Fit

#: Most skills (rows) drawn by :func:`plot_ppc`.
MAX_ROWS = 10
_INSIDE_COLOUR = "tab:blue"
_OUTSIDE_COLOUR = "tab:red"


def plot_ppc(
    fit: Fit,
    *,
    inputs: Sequence[str] = ("N", "D"),
    skills: Sequence[str] | None = None,
    by: str = SKILL_DIM,
    prob: float = PPC_INTERVAL,
) -> Figure:
    """Observed target against its ``prob`` posterior predictive interval, per skill (rows) and input (columns).

    Parameters
    ----------
    fit
        A fitted model.
    inputs
        Inputs on the x axes (log scale), one column each.
    skills
        Labels to draw (default: all, up to :data:`MAX_ROWS`).
    by
        Grouping axis of the rows (``"skill"`` or ``"datamix"``); data without it give one row.
    prob
        Probability of the predictive intervals.
    """
    table = ppc_table(fit, prob)
    missing = [k for k in inputs if k not in table]
    if missing:
        raise ValueError(f"inputs {missing} are not in the data (have {list(fit.data.inputs)})")
    axis = by if by in fit.data.groups else ALL
    levels = list(fit.data.levels[axis]) if axis != ALL else [ALL]
    if skills is not None:
        check_labels(axis, list(skills), levels)
        levels = list(skills)
    if len(levels) > MAX_ROWS:
        raise ValueError(f"{len(levels)} {axis} levels; pick at most {MAX_ROWS} with skills=[...]")
    coverage = ppc_coverage(fit, prob, by=axis if axis != ALL else None).per_group["coverage"]
    fig, axes = plt.subplots(len(levels), len(inputs), figsize=(4.2 * len(inputs), 2.8 * len(levels)), squeeze=False, sharey="row")
    for row, label in enumerate(levels):
        rows = table if axis == ALL else table[table[axis] == label]
        for col, key in enumerate(inputs):
            ax = axes[row, col]
            x = rows[key].to_numpy()
            for inside, colour, name in ((True, _INSIDE_COLOUR, "inside"), (False, _OUTSIDE_COLOUR, "outside")):
                sel = rows["inside"].to_numpy() == inside
                if not sel.any():
                    continue
                mid = rows["pred_median"].to_numpy()[sel]
                err = np.vstack([mid - rows["pred_lower"].to_numpy()[sel], rows["pred_upper"].to_numpy()[sel] - mid])
                ax.errorbar(x[sel], mid, yerr=err, fmt="none", ecolor=colour, alpha=0.35, lw=1.5)
                ax.scatter(x[sel], rows["observed"].to_numpy()[sel], s=12, color=colour, zorder=3, label=f"observed ({name})")
            ax.set_xscale("log")
            ax.set_xlabel(key)
            if col == 0:
                ax.set_ylabel(fit.data.target)
            ax.set_title(f"{label}: {coverage[label]:.0%} inside {prob:.0%} PPI", fontsize=9)
    axes[0, 0].legend(fontsize=7, loc="best")
    fig.suptitle(f"Posterior predictive check ({fit.spec.name}): bars = {prob:.0%} predictive intervals", fontsize=10)
    fig.tight_layout()
    return fig


def plot_ppc_coverage(result: Fit | CoverageCheck, *, prob: float = PPC_INTERVAL, by: str = SKILL_DIM) -> Figure:
    """Bar chart of per-group predictive coverage with the nominal ``prob`` and the flagging bounds.

    ``result`` is a fit (coverage computed with ``prob`` and ``by``) or a :class:`CoverageCheck`.
    """
    check = result if isinstance(result, CoverageCheck) else ppc_coverage(result, prob, by=by)
    table = check.per_group
    fig, ax = plt.subplots(figsize=(max(4.0, 0.7 * len(table) + 2), 3.2))
    colours = [_OUTSIDE_COLOUR if flag else _INSIDE_COLOUR for flag in table["flag"]]
    positions = np.arange(len(table))
    ax.bar(positions, table["coverage"], color=colours)
    ax.axhline(check.prob, color="k", lw=1, ls="--", label=f"nominal {check.prob:.0%}")
    low, high = check.bounds if check.bounds else PPC_COVERAGE_BOUNDS
    ax.axhspan(low, high, color="0.9", zorder=0, label=f"accepted [{low:.0%}, {high:.0%}]")
    ax.set_xticks(positions)
    ax.set_xticklabels([str(i) for i in table.index], rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("share inside interval")
    ax.set_title(f"PPC coverage by {check.by} (overall {check.overall:.0%})", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


__all__ = ["plot_ppc", "plot_ppc_coverage"]
