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
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd
import xarray as xr

from bayeslaw import results
from bayeslaw.constants import OBS_DIM, OBSERVED, PPC_COVERAGE_BOUNDS, PPC_INTERVAL
from bayeslaw.result_contract import ResultContract
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
class CoverageCheck(ResultContract):
    """Per-group posterior predictive coverage.

    Its :meth:`summary` is the predictive interval of every observation (with
    its group labels); its :meth:`table` the coverage per group.

    Attributes
    ----------
    per_group
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

    per_group: pd.DataFrame
    by: str
    prob: float
    bounds: tuple[float, float]
    overall: float
    problems: tuple[str, ...] = field(default_factory=tuple)
    draws: xr.Dataset = field(default_factory=xr.Dataset)
    notes: tuple[str, ...] = ()
    fit_banner: str = ""
    title: ClassVar[str] = "posterior predictive coverage"

    @property
    def status(self) -> str:
        """The fit's convergence banner and this check's coverage banner."""
        return "; ".join(b for b in (self.fit_banner, self.banner()) if b)

    def heading(self, prob: float | None = None) -> str:
        return f"{self.title} of {self.prob:.0%} predictive intervals by {self.by}: overall {self.overall:.0%}"

    def table(self, prob: float | None = None) -> pd.DataFrame:
        """Per group: ``inside/n``, the coverage and the flag, as strings (``prob`` is fixed by the check)."""
        del prob
        out = pd.DataFrame(index=self.per_group.index)
        out["inside / n"] = [f"{i}/{n}" for i, n in zip(self.per_group["inside"], self.per_group["n"], strict=True)]
        out["coverage"] = [f"{c:.0%}" for c in self.per_group["coverage"]]
        lo, hi = self.bounds
        out["flag"] = [f"{flag} (bounds {lo:.0%}-{hi:.0%})" if flag else "" for flag in self.per_group["flag"]]
        return out

    @property
    def ok(self) -> bool:
        """True when every group's coverage lies within ``bounds``."""
        return not self.problems

    def banner(self) -> str:
        """One line for reports: coverage per group, and a loud flag for groups out of bounds."""
        per = ", ".join(f"{label} {cov:.0%}" for label, cov in self.per_group["coverage"].items())
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
    predictive = results.get_group(fit.idata, "posterior_predictive")[OBSERVED]
    return CoverageCheck(
        per_group=out,
        by=axis,
        prob=prob,
        bounds=(low, high),
        overall=float(table["inside"].mean()),
        problems=problems,
        draws=xr.Dataset({"y_predictive": predictive}),
        fit_banner=fit.diagnostics.banner(),
    )


__all__ = ["ALL", "CoverageCheck", "ppc_coverage", "ppc_table"]
