"""Posterior predictive checks: does the fitted model reproduce the observations?

For every observation, the fit's posterior predictive draws (a new measurement
at the same inputs and group) give a ``prob`` interval; :func:`ppc_table` says
whether the observed value falls inside it, and :func:`ppc_coverage` reports the
share inside per skill (or any grouping axis). A well-calibrated model covers
about ``prob`` of the observations; coverage outside
:data:`~bayeslaw.constants.PPC_COVERAGE_BOUNDS` on any group is flagged
(too low: the model misses structure or the noise is too narrow; too high: the
noise is inflated, often by unmodelled structure elsewhere).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bayeslaw import results
from bayeslaw.constants import OBS_DIM, OBSERVED, PPC_COVERAGE_BOUNDS, PPC_INTERVAL
from bayeslaw.summaries import interval

if TYPE_CHECKING:
    from bayeslaw.fit import Fit

#: Label of the single group when the data has no grouping axis to check by.
ALL = "all"


def ppc_table(fit: Fit, prob: float = PPC_INTERVAL) -> pd.DataFrame:
    """One row per observation: inputs, group labels, observed value, predictive median and ``prob`` interval, ``inside``.

    The interval is equal-tailed over the fit's posterior predictive draws
    (one new measurement per posterior draw, natural scale).
    """
    predictive = results.get_group(fit.idata, "posterior_predictive")[OBSERVED]
    stats = interval(predictive, prob).transpose(OBS_DIM)
    data = fit.data
    table = data.frame[[*data.inputs, *data.groups]].copy()
    table["observed"] = data.values(data.target)
    table["pred_median"] = stats["median"].values
    table["pred_lower"] = stats["lower"].values
    table["pred_upper"] = stats["upper"].values
    table["inside"] = (table["observed"] >= table["pred_lower"]) & (table["observed"] <= table["pred_upper"])
    table.attrs["prob"] = prob
    return table


@dataclass(frozen=True)
class CoverageCheck:
    """Per-group posterior predictive coverage.

    Attributes
    ----------
    table
        One row per group label: ``n`` observations, ``inside`` (count within the
        ``prob`` predictive interval), ``coverage`` (share) and ``flag``
        (``"low"``, ``"high"`` or ``""``).
    by
        Grouping axis (``"skill"``, ``"datamix"``), or ``"all"``.
    prob
        Probability of the predictive intervals.
    bounds
        Acceptable coverage range; groups outside it are flagged.
    overall
        Share of all observations inside their interval.
    """

    table: pd.DataFrame
    by: str
    prob: float
    bounds: tuple[float, float]
    overall: float
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """True when every group's coverage lies within ``bounds``."""
        return not self.problems

    def banner(self) -> str:
        """One line for reports: coverage per group, and a loud flag for groups out of bounds."""
        per = ", ".join(f"{label} {cov:.0%}" for label, cov in self.table["coverage"].items())
        head = f"PPC coverage of {self.prob:.0%} predictive intervals by {self.by}: overall {self.overall:.0%} ({per})"
        if self.ok:
            return f"{head}; all within [{self.bounds[0]:.0%}, {self.bounds[1]:.0%}]"
        return f"WARNING: PPC COVERAGE OUT OF BOUNDS: {'; '.join(self.problems)}. {head}"


def ppc_coverage(
    fit: Fit,
    prob: float = PPC_INTERVAL,
    by: str | None = "skill",
    bounds: tuple[float, float] = PPC_COVERAGE_BOUNDS,
) -> CoverageCheck:
    """Share of observations inside their ``prob`` posterior predictive interval, per group along ``by``.

    Parameters
    ----------
    fit
        A fitted model (its posterior predictive group is used).
    prob
        Probability of each observation's predictive interval.
    by
        Grouping axis; ``None`` or an axis the data does not have gives one group (``"all"``).
    bounds
        ``(low, high)``: coverage outside this range is flagged.
    """
    low, high = bounds
    if not 0 <= low < high <= 1:
        raise ValueError(f"bounds must satisfy 0 <= low < high <= 1, got {bounds}")
    table = ppc_table(fit, prob)
    axis = by if by is not None and by in fit.data.groups else ALL
    labels = table[axis] if axis != ALL else pd.Series(ALL, index=table.index)
    order = list(fit.data.levels[axis]) if axis != ALL else [ALL]
    grouped = table["inside"].groupby(labels, sort=False)
    out = pd.DataFrame({"n": grouped.size(), "inside": grouped.sum().astype(int)}).reindex(order)
    out.index.name = axis
    out["coverage"] = out["inside"] / out["n"]
    out["flag"] = np.where(out["coverage"] < low, "low", np.where(out["coverage"] > high, "high", ""))
    problems = tuple(
        f"{axis} {label!r} coverage {row.coverage:.0%} ({row.inside}/{row.n}) is {'below' if row.flag == 'low' else 'above'} "
        f"{low if row.flag == 'low' else high:.0%}"
        for label, row in out.iterrows()
        if row.flag
    )
    return CoverageCheck(table=out, by=axis, prob=prob, bounds=(low, high), overall=float(table["inside"].mean()), problems=problems)


__all__ = ["ALL", "CoverageCheck", "ppc_coverage", "ppc_table"]
