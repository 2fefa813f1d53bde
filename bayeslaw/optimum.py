"""Compute-optimal allocation per posterior draw, vectorised over draws and budgets.

For a single skill with a closed form (Chinchilla), N*(C) comes from the law.
Otherwise — a weighted mix of skills, or a law without a closed form — the
(weighted) loss along the iso-FLOP curve C = 6 N D is minimised numerically in
u = log N by golden-section search, run on whole arrays at once (every draw,
budget and mix together; no Python loop per draw). The loss along that curve is
convex in log N for the laws here (a sum of exponentials in u), so the search
finds the global minimum; a minimum at the search boundary is reported.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from bayeslaw.constants import FLOPS_PER_PARAM_TOKEN
from bayeslaw.laws import Law
from bayeslaw.summaries import format_interval, interval_frame

_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0
#: Half-width of the search in log N around sqrt(C/6): tokens per parameter from e^-30 to e^30.
SEARCH_HALF_WIDTH = 15.0
#: Iterations of golden-section search: the bracket shrinks to 30 * 0.618^50 ~ 1e-9 in log N.
SEARCH_ITERATIONS = 50

QUANTITIES = ("N_opt", "D_opt", "tokens_per_param", "loss_opt")


@dataclass(frozen=True)
class OptimumResult:
    """Compute-optimal allocation per posterior draw.

    Attributes
    ----------
    draws
        Dataset with ``N_opt``, ``D_opt``, ``tokens_per_param``, ``loss_opt``
        (and ``a`` where the law has a closed form), dims ``chain``, ``draw``,
        ``budget`` (and ``mix`` for several mixes).
    prob
        Interval probability used by :meth:`summary`.
    notes
        What was assumed (normalised weights, numeric search, boundary hits).
    """

    draws: xr.Dataset
    prob: float
    notes: tuple[str, ...] = field(default_factory=tuple)

    def summary(self, prob: float | None = None) -> pd.DataFrame:
        """Tidy table: quantity, budget (and mix), median, lower, upper."""
        index = [d for d in self.draws.dims if d not in ("chain", "draw")]
        return interval_frame(self.draws, prob or self.prob, index=index)

    def table(self, prob: float | None = None) -> pd.DataFrame:
        """Wide, human-readable table: one row per budget, 'median [lower, upper]' cells."""
        tidy = self.summary(prob)
        tidy["value"] = [format_interval(m, lo, hi) for m, lo, hi in zip(tidy["median"], tidy["lower"], tidy["upper"], strict=True)]
        index = [c for c in tidy.columns if c not in ("quantity", "median", "lower", "upper", "value")]
        return tidy.pivot(index=index, columns="quantity", values="value")[
            [q for q in ("N_opt", "D_opt", "tokens_per_param", "loss_opt", "a") if q in set(tidy["quantity"])]
        ]


def as_budget_array(budget: float | Sequence[float] | np.ndarray) -> xr.DataArray:
    """Validate FLOP budgets and return them as a DataArray over dim ``budget``."""
    values = np.atleast_1d(np.asarray(budget, dtype=float))
    if values.ndim != 1 or values.size == 0:
        raise ValueError("budget must be a number or a 1-D list of numbers")
    bad = ~np.isfinite(values) | (values <= 0)
    if bad.any():
        raise ValueError(f"budgets must be finite and positive; got {values[bad].tolist()}")
    return xr.DataArray(values, dims="budget", coords={"budget": values})


def normalise_mix(mix: Mapping[str, float], skills: Sequence[str]) -> tuple[xr.DataArray, list[str]]:
    """Validate skill weights and return them (summing to 1) over dim ``skill``, plus notes."""
    notes = []
    unknown = [s for s in mix if s not in skills]
    if unknown:
        raise ValueError(f"unknown skills in mix: {unknown}; the fit has {list(skills)}")
    weights = {s: float(w) for s, w in mix.items()}
    bad = {s: w for s, w in weights.items() if not np.isfinite(w) or w < 0}
    if bad:
        raise ValueError(f"mix weights must be finite and non-negative; got {bad}")
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("mix weights sum to zero")
    if not np.isclose(total, 1.0):
        notes.append(f"mix weights summed to {total:g}; normalised to 1")
        warnings.warn(notes[-1], UserWarning, stacklevel=3)
    values = [weights.get(s, 0.0) / total for s in skills]
    return xr.DataArray(values, dims="skill", coords={"skill": list(skills)}), notes


def minimise_log_n(objective: Callable[[xr.DataArray], xr.DataArray], centre: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray]:
    """Golden-section search for the u = log N minimising ``objective`` near ``centre``.

    Returns the minimiser and a boolean array flagging minima at the search boundary.
    """
    lo = centre - SEARCH_HALF_WIDTH
    hi = centre + SEARCH_HALF_WIDTH
    c = hi - _GOLDEN * (hi - lo)
    d = lo + _GOLDEN * (hi - lo)
    fc, fd = objective(c), objective(d)
    for _ in range(SEARCH_ITERATIONS):
        left = fc < fd  # minimum in [lo, d]
        hi = xr.where(left, d, hi)
        lo = xr.where(left, lo, c)
        new_c = hi - _GOLDEN * (hi - lo)
        new_d = lo + _GOLDEN * (hi - lo)
        # Reuse the surviving interior point; evaluate only the new one.
        c, d = xr.where(left, new_c, d), xr.where(left, c, new_d)
        probe = xr.where(left, c, d)
        f_probe = objective(probe)
        fc, fd = xr.where(left, f_probe, fd), xr.where(left, fc, f_probe)
    u = (lo + hi) / 2
    at_edge = (u < centre - SEARCH_HALF_WIDTH + 1e-3) | (u > centre + SEARCH_HALF_WIDTH - 1e-3)
    return u, at_edge


def optimum_closed_form(
    law: Law, params: Mapping[str, xr.DataArray], refs: Mapping[str, float], budgets: xr.DataArray
) -> xr.Dataset | None:
    """Closed-form optimum of a single skill, or ``None`` if the law has none."""
    closed = law.compute_optimal(params, budgets, refs, np)
    if closed is None:
        return None
    n_opt, d_opt = closed["N_opt"], closed["D_opt"]
    out = {
        "N_opt": n_opt,
        "D_opt": d_opt,
        "tokens_per_param": d_opt / n_opt,
        "loss_opt": law.loss_at(params, refs, n_opt, d_opt, np),
    }
    derived = law.derived(params, refs, np)
    if "a" in derived:
        out["a"] = derived["a"] + 0.0 * n_opt  # broadcast over budgets
    return xr.Dataset(out)


def optimum_numeric(
    law: Law,
    params: Mapping[str, xr.DataArray],
    refs: Mapping[str, float],
    budgets: xr.DataArray,
    weights: xr.DataArray | None = None,
) -> tuple[xr.Dataset, list[str]]:
    """Numeric optimum of the (``weights``-weighted, over ``skill``) loss along C = 6 N D."""
    half_compute = budgets / FLOPS_PER_PARAM_TOKEN

    def loss_of_log_n(u: xr.DataArray) -> xr.DataArray:
        n = np.exp(u)
        loss = law.loss_at(params, refs, n, half_compute / n, np)
        return loss if weights is None else (loss * weights).sum("skill")

    centre = 0.5 * np.log(half_compute)
    u_opt, at_edge = minimise_log_n(loss_of_log_n, centre + xr.zeros_like(loss_of_log_n(centre)))
    n_opt = np.exp(u_opt)
    d_opt = half_compute / n_opt
    notes = ["optimum found numerically (golden-section search in log N along C = 6ND)"]
    n_edge = int(at_edge.sum())
    if n_edge:
        notes.append(f"{n_edge} draw(s) had their optimum at the search boundary (tokens/param beyond e^±30)")
    return xr.Dataset({"N_opt": n_opt, "D_opt": d_opt, "tokens_per_param": d_opt / n_opt, "loss_opt": loss_of_log_n(u_opt)}), notes
