"""Contrasts between two groups' compute-optimal allocations, per posterior draw.

``contrast_optima(fit, 1e22, "code", "c4_val")`` computes each skill's N* (or
D*, tokens per parameter, loss at the optimum) on the same posterior draws and
returns the per-draw difference and ratio, their credible intervals and the
posterior probability that the first exceeds the second. Because both optima
come from the same joint draws, the contrast keeps their correlation (shared
exponents make two skills' N* strongly correlated; the ratio is then much
tighter than either N* alone). Everything is vectorised over draws and budgets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from bayeslaw.constants import CREDIBLE_INTERVAL, SKILL_DIM
from bayeslaw.groups import check_labels, merge_select, require_axis
from bayeslaw.optimum import QUANTITIES
from bayeslaw.summaries import format_interval, interval_frame

if TYPE_CHECKING:
    from bayeslaw.fit import Fit


@dataclass(frozen=True)
class OptimumContrast:
    """Per-draw comparison of one optimum quantity between groups ``a`` and ``b``.

    Attributes
    ----------
    draws
        Dataset with ``a`` and ``b`` (the quantity for each group),
        ``difference`` (a - b), ``ratio`` (a / b) and ``log_ratio``; dims
        ``chain``, ``draw``, ``budget``.
    quantity
        ``N_opt``, ``D_opt``, ``tokens_per_param`` or ``loss_opt``.
    axis, labels
        The grouping axis and the two labels compared (``labels = (a, b)``).
    fixed
        Labels held fixed on other axes (e.g. ``{"datamix": "rpj"}``).
    prob
        Interval probability of :meth:`summary`.
    notes
        Notes of the underlying optimum computations.
    """

    draws: xr.Dataset
    quantity: str
    axis: str
    labels: tuple[str, str]
    fixed: Mapping[str, str] = field(default_factory=dict)
    prob: float = CREDIBLE_INTERVAL
    notes: tuple[str, ...] = ()

    @property
    def prob_greater(self) -> xr.DataArray:
        """Posterior probability that ``a``'s quantity exceeds ``b``'s, per budget."""
        return (self.draws["a"] > self.draws["b"]).mean(("chain", "draw"))

    def summary(self, prob: float | None = None) -> pd.DataFrame:
        """Tidy table: quantity (a, b, difference, ratio, log_ratio), budget, median, lower, upper."""
        return interval_frame(self.draws, prob or self.prob, index=["budget"])

    def table(self, prob: float | None = None) -> pd.DataFrame:
        """One row per budget: 'median [lower, upper]' of a, b, the ratio and the difference, plus P(a > b)."""
        tidy = self.summary(prob)
        tidy["value"] = [format_interval(m, lo, hi) for m, lo, hi in zip(tidy["median"], tidy["lower"], tidy["upper"], strict=True)]
        wide = tidy.pivot(index="budget", columns="quantity", values="value")[["a", "b", "ratio", "difference"]]
        a, b = self.labels
        wide.columns = [f"{self.quantity}[{a}]", f"{self.quantity}[{b}]", "ratio a/b", "difference a-b"]
        wide[f"P({a} > {b})"] = self.prob_greater.sel(budget=wide.index.to_numpy()).values
        return wide


def contrast_optima(
    fit: Fit,
    budget: float | Sequence[float],
    a: str,
    b: str,
    *,
    axis: str = SKILL_DIM,
    quantity: str = "N_opt",
    prob: float = CREDIBLE_INTERVAL,
    select: Mapping[str, str] | None = None,
    **fixed: str,
) -> OptimumContrast:
    """Compare the compute-optimal ``quantity`` of groups ``a`` and ``b`` along ``axis``, per draw.

    Parameters
    ----------
    fit
        A fit whose parameters vary along ``axis``.
    budget
        FLOP budget(s).
    a, b
        The two labels to compare (e.g. two skills).
    axis
        Any group axis of the fit's data: ``"skill"`` (default), ``"datamix"``,
        the fine-tuning data's ``"model"``, ...
    quantity
        One of ``N_opt``, ``D_opt``, ``tokens_per_param``, ``loss_opt``.
    prob
        Interval probability of the result's summaries.
    select, **fixed
        Labels of other axes the parameters vary along, e.g. ``select={"datamix": "rpj"}``
        or ``datamix="rpj"``.

    Returns
    -------
    OptimumContrast
        Draws of ``a``, ``b``, ``difference``, ``ratio``, ``log_ratio`` and ``P(a > b)``.
    """
    if quantity not in QUANTITIES:
        raise ValueError(f"quantity must be one of {QUANTITIES}, got {quantity!r}")
    require_axis(axis, fit.data.groups, "a contrast along " + repr(axis))
    check_labels(axis, [a, b], fit.data.levels[axis])
    if a == b:
        raise ValueError(f"compare two different {axis} labels; got {a!r} twice")
    fixed = merge_select(select, **fixed)
    if axis in fixed:
        raise ValueError(f"{axis}= is given by a and b; do not pass it as a fixed label")
    first = fit.compute_optimal(budget, prob=prob, select={**fixed, axis: a})
    second = fit.compute_optimal(budget, prob=prob, select={**fixed, axis: b})
    va, vb = first.draws[quantity], second.draws[quantity]
    draws = xr.Dataset({"a": va, "b": vb, "difference": va - vb, "ratio": va / vb, "log_ratio": np.log(va) - np.log(vb)})
    notes = tuple(dict.fromkeys((*first.notes, *second.notes)))
    return OptimumContrast(draws=draws, quantity=quantity, axis=axis, labels=(a, b), fixed=dict(fixed), prob=prob, notes=notes)


__all__ = ["OptimumContrast", "contrast_optima"]
