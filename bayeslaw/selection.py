"""Bayesian model selection: rank candidates by their forecast at a target budget.

Given a fit whose parameters vary along a candidate axis (e.g. one fine-tuning
curve per pretrained ``model``), every posterior draw gives a forecast loss for
every candidate at the target budget (e.g. the full fine-tuning set). Per draw
the candidate with the lowest forecast is the best one; averaging over draws
gives the posterior probability that each candidate is best, ``P(best)``.
Everything is computed over all draws at once (xarray broadcasting).

``P(best)`` and the expected loss rank by the law's mean (the noise-free curve);
the ``observation`` interval adds the likelihood's noise and is the one to hold
a new measurement (e.g. the loss actually reached after full fine-tuning).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import xarray as xr

from bayeslaw import results
from bayeslaw.constants import DRAW_DIM
from bayeslaw.forecast import POINT_DIM, predictive_draws, resolve_inputs
from bayeslaw.groups import require_axis
from bayeslaw.result_contract import ResultContract, with_scalar_labels
from bayeslaw.seeds import stream_seed
from bayeslaw.summaries import interval


@dataclass(frozen=True)
class SelectionResult(ResultContract):
    """Forecasts of every candidate at one budget, per posterior draw.

    Attributes
    ----------
    loss
        Forecast mean loss (the law's curve), dims ``(sample, axis)``.
    observation
        Forecast of a new measurement (mean plus likelihood noise), same dims,
        or ``None`` when only the mean is known.
    axis
        Name of the candidate dimension (e.g. ``"model"``).
    budget
        The target budget the forecasts are at (``nan`` if not given).
    prob
        Interval probability of :meth:`table`.
    notes
        What was assumed.
    banner
        The fit's convergence banner.
    labels
        Labels of other group axes the forecasts were made for (e.g. ``{"dataset": "flan"}``).
    """

    loss: xr.DataArray
    observation: xr.DataArray | None
    axis: str
    budget: float
    prob: float
    notes: tuple[str, ...] = ()
    banner: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    title: ClassVar[str] = "ranking of candidates by forecast loss"

    @property
    def draws(self) -> xr.Dataset:
        """``loss`` (and ``observation``) per draw and candidate, with the budget and labels as scalar coordinates."""
        out = xr.Dataset({"loss": self.loss, **({"observation": self.observation} if self.observation is not None else {})})
        return with_scalar_labels(out.assign_coords(budget=self.budget), self.labels)

    def extra_columns(self, table: pd.DataFrame) -> pd.DataFrame:
        """``P(best)`` per candidate, rows best first (by expected loss)."""
        index = list(table.index.names)
        flat = table.reset_index()
        flat["P(best)"] = self.p_best().sel({self.axis: flat[self.axis].to_numpy()}).values
        order = {label: i for i, label in enumerate(self.ranking().index)}
        return flat.sort_values(self.axis, key=lambda col: col.map(order)).set_index(index)

    @property
    def candidates(self) -> list[str]:
        """Candidate labels, in the order of the ``axis`` coordinate."""
        return [str(v) for v in self.loss[self.axis].values]

    def p_best(self) -> xr.DataArray:
        """Posterior probability that each candidate has the lowest forecast loss (sums to 1)."""
        winner = self.loss.argmin(self.axis)
        index = xr.DataArray(np.arange(self.loss.sizes[self.axis]), dims=self.axis, coords={self.axis: self.loss[self.axis]})
        return (winner == index).mean(DRAW_DIM)

    def expected_loss(self) -> xr.DataArray:
        """Posterior mean of the forecast loss of each candidate."""
        return self.loss.mean(DRAW_DIM)

    def best(self, by: str = "expected_loss") -> str:
        """The selected candidate: lowest expected loss (``by="expected_loss"``) or highest ``P(best)`` (``by="p_best"``)."""
        if by == "expected_loss":
            return str(self.expected_loss().idxmin(self.axis).item())
        if by == "p_best":
            return str(self.p_best().idxmax(self.axis).item())
        raise ValueError(f"by must be 'expected_loss' or 'p_best', got {by!r}")

    def ranking(self, prob: float | None = None) -> pd.DataFrame:
        """Numeric table, one row per candidate, best first: ``p_best``, ``expected_loss``, the loss median and interval, rank.

        Columns ``observation_lower`` / ``observation_upper`` (when available)
        bound a new measurement at the budget with probability ``prob``.
        """
        prob = prob or self.prob
        stats = interval(self.loss, prob)
        frame = pd.DataFrame(
            {
                "p_best": self.p_best().values,
                "expected_loss": self.expected_loss().values,
                "loss_median": stats["median"].values,
                "loss_lower": stats["lower"].values,
                "loss_upper": stats["upper"].values,
            },
            index=pd.Index(self.candidates, name=self.axis),
        )
        if self.observation is not None:
            obs = interval(self.observation, prob)
            frame["observation_lower"] = obs["lower"].values
            frame["observation_upper"] = obs["upper"].values
        frame = frame.sort_values("expected_loss")
        frame.insert(0, "rank", np.arange(1, len(frame) + 1))
        frame.attrs.update({"prob": prob, "budget": self.budget})
        return frame


def rank_draws(
    loss: xr.DataArray, axis: str, *, prob: float, observation: xr.DataArray | None = None, budget: float = float("nan")
) -> SelectionResult:
    """Rank candidates from per-draw forecast losses.

    Parameters
    ----------
    loss
        Forecast loss per draw and candidate: dims ``chain`` and ``draw`` (or a
        flattened ``sample``) plus ``axis``, and nothing else.
    axis
        The candidate dimension.
    prob
        Interval probability of the result's table (e.g. ``CREDIBLE_INTERVAL``).
    observation
        Optional per-draw forecast of a new measurement, with the same dims.
    budget
        The budget the forecasts are at (recorded only).

    Raises
    ------
    ValueError
        If ``axis`` is missing, other dims are present, fewer than two
        candidates are given, or any forecast loss is not finite (an
        ``observation`` may be ``+inf``: a heavy-tailed draw that overflowed).
    """
    arrays = {"loss": loss, "observation": observation}
    flat: dict[str, xr.DataArray | None] = {}
    for name, da in arrays.items():
        if da is None:
            flat[name] = None
            continue
        if axis not in da.dims:
            raise ValueError(f"{name} has no candidate dimension {axis!r}; dims are {da.dims}")
        if da.sizes[axis] < 2:
            raise ValueError(f"need at least two candidates along {axis!r} to rank, got {da.sizes[axis]}")
        if "chain" in da.dims and "draw" in da.dims:
            da = results.flatten_draws(da, DRAW_DIM)
        extra = [d for d in da.dims if d not in (DRAW_DIM, axis)]
        if extra or DRAW_DIM not in da.dims:
            raise ValueError(f"{name} must have dims (chain, draw) or ({DRAW_DIM!r}) plus {axis!r} only; got {da.dims}")
        # A new measurement drawn from a heavy-tailed likelihood may overflow to +inf; that is a draw, not an error.
        bad = np.isnan(da.values) | (~np.isfinite(da.values) if name == "loss" else np.isneginf(da.values))
        if bad.any():
            labels = sorted({str(v) for v in da[axis].values[np.nonzero(bad.any(axis=da.get_axis_num(DRAW_DIM)))[0]]})
            raise ValueError(f"{name} has non-finite forecasts for {axis} {labels}")
        flat[name] = da.transpose(DRAW_DIM, axis)
    return SelectionResult(loss=flat["loss"], observation=flat["observation"], axis=axis, budget=float(budget), prob=prob)


def rank_candidates(
    fit: Any,
    budget: float,
    *,
    prob: float,
    axis: str = "model",
    variable: str | None = None,
    inputs: Mapping[str, float] | None = None,
    select: Mapping[str, str] | None = None,
    seed: int | None = None,
) -> SelectionResult:
    """Forecast every candidate of ``fit`` at ``budget`` and rank them.

    Parameters
    ----------
    fit
        A :class:`bayeslaw.Fit` whose data has the group axis ``axis``.
    budget
        Value of the input ``variable`` to forecast at (e.g. 1,638,400 examples).
    prob
        Interval probability of the result's table (e.g. ``CREDIBLE_INTERVAL``).
    axis
        The candidate axis (default ``"model"``).
    variable
        The law input the budget applies to; default: the law's only input.
    inputs
        Values of the law's other inputs, if it has several.
    select
        Labels of other group axes the parameters vary by (e.g. ``{"dataset": "flan"}``).
    seed
        Seed of the observation noise (default: the fit's seed).
    """
    law = fit.law
    require_axis(axis, fit.data.groups, "ranking candidates")
    chosen = fit.select(select)
    if variable is None:
        if len(law.inputs) != 1:
            raise ValueError(f"law {law.lookup_name!r} has inputs {list(law.inputs)}: say which one the budget is with variable=")
        variable = law.inputs[0]
    given = resolve_inputs(law, {variable: budget, **dict(inputs or {})})
    value = float(budget)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"budget must be finite and nonnegative, got {budget!r}")
    levels = list(fit.data.levels[axis])
    n = len(levels)
    x = {k: xr.DataArray(np.full(n, float(v)), dims=POINT_DIM) for k, v in given.items()}
    groups = {axis: xr.DataArray(np.asarray(levels, dtype=str), dims=POINT_DIM)}
    groups.update({k: xr.DataArray(np.full(n, str(v)), dims=POINT_DIM) for k, v in chosen.items()})
    fit.diagnostics.warn()
    seed = stream_seed(fit.seed, "selection") if seed is None else seed
    draws = predictive_draws(law, fit.family, fit.posterior, fit.refs, x, groups, seed)
    relabel = {POINT_DIM: axis}
    loss = draws["mean"].rename(relabel).assign_coords({axis: levels})
    observation = draws["observation"].rename(relabel).assign_coords({axis: levels})
    ranked = rank_draws(loss, axis, prob=prob, observation=observation, budget=value)
    return replace(ranked, banner=fit.diagnostics.banner(), labels={k: str(v) for k, v in chosen.items()})


__all__ = ["SelectionResult", "rank_candidates", "rank_draws"]
