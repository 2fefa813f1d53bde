"""Validation mixes: the compute-optimal N* of a weighted mix of skills, swept along paths of mixes.

A validation set is a mix of skills; its loss is the weighted sum of the skills'
predicted losses. Mixes live on a ``mix`` dim next to ``skill`` (a weights array
over ``(mix, skill)``), so every draw, budget, mix (and datamix) is optimised in
one vectorised call of :func:`bayeslaw.optimum.optimum_numeric`. The relative
shift of N* against a reference mix is computed per draw, so its credible
interval carries the posterior correlation between the two optima::

    path = two_skill_path("code", "text")            # 21 weights of "text" from 0 to 1
    sweep = sweep_mix(fit, [1e20, 1e22, 1e24], path)  # reference: the first mix (all code)
    sweep.table()                                     # N*, D*, tokens/param, shift: 'median [lower, upper]'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
import xarray as xr

from bayeslaw.constants import CREDIBLE_INTERVAL, FLOPS_PER_PARAM_TOKEN, SKILL_DIM
from bayeslaw.groups import require_allocation, require_axis
from bayeslaw.laws import Law
from bayeslaw.optimum import BLOCK_CELLS, as_budget_array, edge_notes, numeric_search, optimum_numeric
from bayeslaw.result_contract import ResultContract, with_scalar_labels
from bayeslaw.summaries import interval, interval_frame
from bayeslaw.weights import MIX_DIM, MixLike, mix_path, mix_weights, two_skill_path

if TYPE_CHECKING:
    from bayeslaw.fit import Fit

#: Quantities of a sweep, per draw.
SWEEP_QUANTITIES = ("N_opt", "D_opt", "tokens_per_param", "loss_opt", "shift")


@dataclass(frozen=True)
class MixSweep(ResultContract):
    """Compute-optimal allocation along a set of mixes, per posterior draw.

    Attributes
    ----------
    draws
        Dataset over ``chain``, ``draw``, ``budget``, ``mix`` (and any kept
        group axis such as ``datamix``): ``N_opt``, ``D_opt``,
        ``tokens_per_param``, ``loss_opt`` and ``shift`` = N*(mix) / N*(reference) - 1.
    weights
        The mixes' normalised weights over ``(mix, skill)``.
    reference
        The reference mix's weights over ``skill``.
    prob
        Default interval probability.
    notes
        What was assumed (normalisation, search method, boundary hits).
    labels
        Labels of the other group axes the sweep was computed for (e.g.
        ``{"datamix": "rpj"}``); kept as coordinates of ``draws`` and as leading
        columns of the tables.
    banner
        The fit's convergence banner.
    """

    draws: xr.Dataset
    weights: xr.DataArray
    reference: xr.DataArray
    prob: float = CREDIBLE_INTERVAL
    notes: tuple[str, ...] = field(default_factory=tuple)
    labels: Mapping[str, str] = field(default_factory=dict)
    banner: str = ""
    title: ClassVar[str] = "compute-optimal allocation along validation mixes (shift = N*(mix) / N*(reference) - 1)"

    def __post_init__(self) -> None:
        object.__setattr__(self, "draws", with_scalar_labels(self.draws, self.labels))

    @property
    def group_dims(self) -> list[str]:
        """Dims besides the draws (budget, mix and any group axis)."""
        return [d for d in self.draws.dims if d not in ("chain", "draw")]

    def summary_draws(self) -> xr.Dataset:
        """The sweep's quantities, in table order."""
        return self.draws[list(SWEEP_QUANTITIES)]

    def summary(self, prob: float | None = None) -> pd.DataFrame:
        """Tidy table: one row per budget, mix (and group) and quantity, with median, lower and upper."""
        tidy = super().summary(prob)
        return tidy.sort_values(["quantity", *self.group_dims], kind="stable").reset_index(drop=True)

    def wide(self, prob: float | None = None) -> pd.DataFrame:
        """One row per budget, mix (and group); columns ``<quantity>_{median,lower,upper}``."""
        tidy = self.summary(prob)
        wide = tidy.pivot(index=[*self.labels, *self.group_dims], columns="quantity", values=["median", "lower", "upper"])
        wide.columns = [f"{q}_{stat}" for stat, q in wide.columns]
        order = [f"{q}_{s}" for q in SWEEP_QUANTITIES for s in ("median", "lower", "upper")]
        return wide[order].reset_index()

    def largest_shift(self, prob: float | None = None) -> dict[str, Any]:
        """The budget and mix (and group) whose posterior-median |shift| is largest, with its interval.

        Returns ``{"median", "lower", "upper", "prob", <dim>: label, ...,
        "p_positive"}``; ``p_positive`` is the posterior probability that the shift is > 0.
        """
        prob = prob or self.prob
        stats = interval(self.draws["shift"], prob)
        where = np.unravel_index(int(np.argmax(np.abs(stats["median"].values))), stats["median"].shape)
        index = dict(zip(stats["median"].dims, where, strict=True))
        chosen = self.draws["shift"].isel(index)
        out: dict[str, Any] = {**self.labels, **{d: chosen[d].item() for d in index}}
        out.update({k: float(stats[k].isel(index)) for k in ("median", "lower", "upper")})
        out["prob"] = prob
        out["p_positive"] = float((chosen > 0).mean())
        return out


def sweep_params(
    law: Law,
    params: Mapping[str, xr.DataArray],
    refs: Mapping[str, float],
    budget: float | Sequence[float],
    mixes: xr.DataArray,
    reference: xr.DataArray,
    prob: float = CREDIBLE_INTERVAL,
    notes: Sequence[str] = (),
    *,
    block_cells: int = BLOCK_CELLS,
) -> MixSweep:
    """:func:`sweep_mix` on parameter draws (DataArrays with a ``skill`` dim) instead of a fit.

    ``mixes`` are normalised weights over ``(mix, skill)``, ``reference`` over ``skill``.
    The search runs in blocks of about ``block_cells`` cells (draws x budgets x mixes x
    skills; see :data:`bayeslaw.isoflop_search.BLOCK_CELLS`); the numbers do not depend on it.
    """
    if MIX_DIM not in mixes.dims:
        raise ValueError(f"mixes must have a {MIX_DIM!r} dim (use mix_path, two_skill_path or mix_weights)")
    budgets = as_budget_array(budget)
    # The reference rides along as one more mix, so a reference on the path gives a shift of exactly 0.
    n_mixes = mixes.sizes[MIX_DIM]
    skills = list(mixes[SKILL_DIM].values)
    outside = [str(s) for s, w in zip(reference[SKILL_DIM].values, reference.values, strict=True) if w > 0 and s not in skills]
    if outside:
        raise ValueError(f"the reference mix weighs skills {outside} that the mixes do not have ({skills})")
    reference = reference.reindex({SKILL_DIM: skills}, fill_value=0.0)
    stacked = xr.DataArray(
        np.vstack([mixes.transpose(MIX_DIM, SKILL_DIM).values, reference.values[None, :]]),
        dims=(MIX_DIM, SKILL_DIM),
        coords={MIX_DIM: np.arange(n_mixes + 1), SKILL_DIM: skills},
    )
    every, n_edge, method = numeric_search(law, params, refs, budgets, stacked, "auto", block_cells=block_cells)
    draws = every.isel({MIX_DIM: slice(0, n_mixes)})
    n_opt = every["N_opt"]
    at = n_opt.dims.index(MIX_DIM)
    ratio = np.divide(draws["N_opt"].values, n_opt.values[(slice(None),) * at + (slice(n_mixes, None),)])
    draws["shift"] = draws["N_opt"].copy(data=np.subtract(ratio, 1.0, out=ratio))  # in place: the sweep's largest arrays
    found = [method, *edge_notes(n_edge)]
    extra = {k: v for k, v in mixes.coords.items() if k != SKILL_DIM and MIX_DIM in v.dims}
    draws = draws.drop_vars(MIX_DIM).assign_coords(extra).transpose("chain", "draw", "budget", MIX_DIM, ...)
    return MixSweep(draws=draws, weights=mixes, reference=reference, prob=prob, notes=(*notes, *found))


def _resolve_reference(reference: Any, weights: xr.DataArray, skills: Sequence[str]) -> tuple[xr.DataArray, list[str]]:
    """The reference mix: ``None`` = first mix of ``weights``, a ``mix`` coordinate value, or a ``{skill: weight}`` mapping."""
    if reference is None:
        return weights.isel({MIX_DIM: 0}, drop=True), []
    if isinstance(reference, Mapping | xr.DataArray):
        return mix_weights(reference, skills)
    labels = list(weights[MIX_DIM].values)
    matches = [i for i, label in enumerate(labels) if label == reference or (isinstance(label, float) and np.isclose(label, reference))]
    if not matches:
        raise ValueError(f"reference {reference!r} is not a mix of the sweep ({labels}); pass a mix label or {{skill: weight}}")
    return weights.isel({MIX_DIM: matches[0]}, drop=True), []


def sweep_mix(
    fit: Fit,
    budget: float | Sequence[float],
    mixes: MixLike,
    *,
    reference: Any = None,
    select: Mapping[str, Any] | None = None,
    datamix: str | None = None,
    prob: float = CREDIBLE_INTERVAL,
    **groups: str,
) -> MixSweep:
    """Compute-optimal N*, D*, tokens per parameter and the shift of N* along a set of mixes.

    Parameters
    ----------
    fit
        A fit with a ``skill`` axis (and a law over N and D).
    budget
        One FLOP budget or several.
    mixes
        Several mixes: a path from :func:`two_skill_path` / :func:`mix_path`, a
        DataArray over ``(mix, skill)`` or ``{label: {skill: weight}}``.
    reference
        The mix N* shifts are measured against: ``None`` (the first mix), a
        ``mix`` coordinate value (e.g. ``0.0`` on a path) or ``{skill: weight}``.
    select, datamix, **groups
        Labels of the other group axes whose parameters are used (``datamix=``
        is sugar for ``select={"datamix": ...}``); every axis left unselected
        (e.g. each datamix) stays a dim of the result.
    prob
        Interval probability of the result's tables.
    """
    law = fit.law
    require_allocation(law)
    require_axis(SKILL_DIM, fit.data.groups, "a mix sweep")
    chosen = fit.select(select, datamix=datamix, **groups)
    skills = fit.data.levels[SKILL_DIM]
    weights, notes = mix_weights(mixes, skills)
    if MIX_DIM not in weights.dims:
        weights = weights.expand_dims({MIX_DIM: [0]})
    ref, more = _resolve_reference(reference, weights, skills)
    keep = tuple(a for a in fit.data.groups if a not in chosen)
    params = fit.params(select=chosen, keep=keep)
    fit.diagnostics.warn()
    sweep = sweep_params(law, params, fit.refs, budget, weights, ref, prob, (*notes, *more))
    return replace(sweep, labels={axis: str(label) for axis, label in chosen.items()}, banner=fit.diagnostics.banner())


# ---------------------------------------------------------------- iso-FLOP curves
@dataclass(frozen=True)
class IsoflopCurves:
    """Loss along the iso-FLOP curve C = 6ND of each skill and of a mix, per draw, with their optima.

    Attributes
    ----------
    loss
        DataArray over ``chain``, ``draw``, ``curve`` (the skills, then ``"mix"``) and ``N``.
    optimum
        Dataset over ``chain``, ``draw``, ``curve``: ``N_opt`` and ``loss_opt``.
    budget
        The FLOP budget.
    weights
        The mix's weights over ``skill``.
    prob
        Default interval probability.
    """

    loss: xr.DataArray
    optimum: xr.Dataset
    budget: float
    weights: xr.DataArray
    prob: float = CREDIBLE_INTERVAL

    def optimum_table(self, prob: float | None = None) -> pd.DataFrame:
        """Median and interval of N* and the loss at N* per curve."""
        return interval_frame(self.optimum, prob or self.prob, index=["curve"])


MIX_CURVE = "mix"


def isoflop_curves(
    fit: Fit,
    budget: float,
    mix: Mapping[str, float],
    *,
    select: Mapping[str, Any] | None = None,
    datamix: str | None = None,
    points: int = 200,
    span: float = 30.0,
    prob: float = CREDIBLE_INTERVAL,
) -> IsoflopCurves:
    """The loss of every skill and of ``mix`` along C = 6ND at one ``budget``, per draw.

    Parameters
    ----------
    fit
        A fit with a ``skill`` axis.
    budget
        One FLOP budget.
    mix
        ``{skill: weight}``; the curves shown are the skills with a positive weight and the mix.
    select, datamix
        Labels of the other group axes (required where the parameters differ
        by them): ``select={"datamix": "rpj"}`` or the sugar ``datamix="rpj"``.
    points, span
        Grid of ``points`` model sizes spanning a factor ``span`` either side of
        the posterior-median optima.
    prob
        Interval probability of the result's tables.
    """
    require_allocation(fit.law)
    require_axis(SKILL_DIM, fit.data.groups, "isoflop_curves")
    budgets = as_budget_array(budget)
    if budgets.size != 1:
        raise ValueError("isoflop_curves takes one budget")
    skills = fit.data.levels[SKILL_DIM]
    weights, _ = mix_weights(mix, skills)
    used = [s for s in skills if float(weights.sel({SKILL_DIM: s})) > 0]
    params = fit.params(select=select, datamix=datamix, keep=(SKILL_DIM,))
    params = {k: v.sel({SKILL_DIM: used}) if SKILL_DIM in v.dims else v for k, v in params.items()}
    w_used = weights.sel({SKILL_DIM: used})
    one_hot = xr.DataArray(np.eye(len(used)), dims=(MIX_DIM, SKILL_DIM), coords={MIX_DIM: used, SKILL_DIM: used})
    all_mixes = xr.concat([one_hot, w_used.expand_dims({MIX_DIM: [MIX_CURVE]})], dim=MIX_DIM)
    fit.diagnostics.warn()
    opt, _ = optimum_numeric(fit.law, params, fit.refs, budgets, all_mixes)
    opt = opt.isel(budget=0, drop=True).rename({MIX_DIM: "curve"})
    centre = np.log(opt["N_opt"]).median(("chain", "draw"))
    grid = np.exp(np.linspace(float(centre.min()) - np.log(span), float(centre.max()) + np.log(span), int(points)))
    n = xr.DataArray(grid, dims="N", coords={"N": grid})
    d = float(budgets[0]) / FLOPS_PER_PARAM_TOKEN / n
    per_skill = fit.law.loss_at(params, fit.refs, n, d, np)
    loss = (per_skill * all_mixes).sum(SKILL_DIM).rename({MIX_DIM: "curve"}).transpose("chain", "draw", "curve", "N")
    return IsoflopCurves(loss=loss, optimum=opt[["N_opt", "loss_opt"]], budget=float(budgets[0]), weights=weights, prob=prob)


__all__ = [
    "MIX_DIM",
    "IsoflopCurves",
    "MixSweep",
    "isoflop_curves",
    "mix_path",
    "mix_weights",
    "sweep_mix",
    "sweep_params",
    "two_skill_path",
]
