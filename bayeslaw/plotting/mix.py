"""Plots of validation-mix optima: N* along a sweep of mixes, and iso-FLOP curves of skills and a mix.

Both functions take results computed from a fit (:class:`bayeslaw.mix.MixSweep`,
:class:`bayeslaw.mix.IsoflopCurves`) and return a matplotlib Figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from bayeslaw.constants import CREDIBLE_INTERVAL
from bayeslaw.mix import MIX_CURVE, MIX_DIM, IsoflopCurves, MixSweep
from bayeslaw.plotting.stamp import plain, stamp
from bayeslaw.summaries import interval

if TYPE_CHECKING:
    from bayeslaw.fit import Fit

_LABELS = {
    "N_opt": "compute-optimal parameters N*",
    "D_opt": "compute-optimal tokens D*",
    "tokens_per_param": "tokens per parameter D*/N*",
    "loss_opt": "validation loss at N*",
    "shift": "shift of N* vs reference mix",
}


def _mix_positions(sweep: MixSweep) -> tuple[np.ndarray, list[str] | None]:
    labels = sweep.draws[MIX_DIM].values
    if np.issubdtype(np.asarray(labels).dtype, np.number):
        return np.asarray(labels, dtype=float), None
    return np.arange(len(labels), dtype=float), [str(v) for v in labels]


def plot_mix_sweep(
    sweep: MixSweep,
    quantities: Sequence[str] = ("N_opt", "shift"),
    *,
    prob: float = CREDIBLE_INTERVAL,
    select: Mapping[str, Any] | None = None,
    xlabel: str = "mix weight",
    title: str | None = None,
    shift_scale: str = "linear",
    fit: Fit | None = None,
) -> Figure:
    """N* (and other quantities) against the mix, median and ``prob`` credible band, one line per budget.

    Parameters
    ----------
    sweep
        Result of :func:`bayeslaw.mix.sweep_mix`.
    quantities
        One panel per quantity (``N_opt``, ``D_opt``, ``tokens_per_param``,
        ``loss_opt``, ``shift``); ``shift`` is drawn in percent.
    prob
        Probability of the bands.
    select
        Labels of any other dims of the sweep (e.g. ``{"datamix": "rpj"}``).
    xlabel, title
        Axis label of the mix coordinate and an optional figure title.
    shift_scale
        ``"linear"``: the shift in percent; ``"log"``: the ratio N*(mix) / N*(reference)
        on a log axis (symmetric for shifts by a factor either way).
    fit
        The fit the sweep was computed from: the title then names its model and
        data and states its trust signals (without it: the level and convergence only).
    """
    if shift_scale not in ("linear", "log"):
        raise ValueError(f"shift_scale must be 'linear' or 'log', got {shift_scale!r}")
    draws = sweep.draws.sel(dict(select or {}))
    extra = [d for d in draws.dims if d not in ("chain", "draw", "budget", MIX_DIM)]
    if extra:
        raise ValueError(f"the sweep also varies over {extra}: pass select={{...}} with one label each")
    unknown = [q for q in quantities if q not in draws]
    if unknown:
        raise ValueError(f"unknown quantities {unknown}; choose from {list(_LABELS)}")
    x, ticks = _mix_positions(sweep)
    fig, axes = plt.subplots(1, len(quantities), figsize=(5.2 * len(quantities), 4.0), squeeze=False, constrained_layout=True)
    colours = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, draws.sizes["budget"]))
    for ax, quantity in zip(axes[0], quantities, strict=True):
        ratio = quantity == "shift" and shift_scale == "log"
        scale, offset = (100.0, 0.0) if quantity == "shift" and not ratio else (1.0, 1.0 if ratio else 0.0)
        stats = interval(draws[quantity] + offset, prob)
        for colour, budget in zip(colours, draws["budget"].values, strict=True):
            row = stats.sel(budget=budget)
            ax.plot(x, scale * row["median"].values, color=colour, label=f"C = {budget:.0e}")
            ax.fill_between(x, scale * row["lower"].values, scale * row["upper"].values, color=colour, alpha=0.2, linewidth=0)
        if ratio:
            ax.axhline(1.0, color="grey", linewidth=0.8)
            ax.set_yscale("log")
            ax.set_ylabel("N*(mix) / N*(reference mix)")
        elif quantity == "shift":
            ax.axhline(0.0, color="grey", linewidth=0.8)
            ax.set_ylabel(_LABELS[quantity] + " (%)")
        else:
            ax.set_yscale("log")
            ax.set_ylabel(_LABELS.get(quantity, quantity))
        ax.set_xlabel(xlabel)
        if ticks is not None:
            ax.set_xticks(x, [plain(t) for t in ticks], rotation=30, ha="right")
        ax.grid(alpha=0.3)
    axes[0][0].legend(title=f"budget (FLOPs); {prob:.0%} bands", fontsize=8)
    labels = ", ".join(f"{k}={v}" for k, v in {**sweep.labels, **dict(select or {})}.items())
    stamp(
        fig,
        title or "Compute-optimal allocation along validation mixes" + (f" ({labels})" if labels else ""),
        fit=fit,
        prob=prob,
        status=sweep.status,
    )
    return fig


def plot_isoflop_mix(curves: IsoflopCurves, *, prob: float = CREDIBLE_INTERVAL, title: str | None = None, fit: Fit | None = None) -> Figure:
    """Loss along C = 6ND of each skill and of the mix, with ``prob`` bands and each curve's optimum marked.

    The marker is at the posterior-median N* and loss at N*; the horizontal bar is N*'s ``prob`` interval.
    ``fit``, the fit the curves were computed from, puts its model, data,
    convergence and trust signals in the title (the curves alone carry none of them).
    """
    fig, ax = plt.subplots(figsize=(6.5, 4.5), constrained_layout=True)
    n = curves.loss["N"].values
    stats = interval(curves.loss, prob)
    opt = {k: interval(v, prob) for k, v in curves.optimum.items()}
    names = [str(c) for c in curves.loss["curve"].values]
    colours = plt.get_cmap("tab10")(np.arange(len(names)))
    for colour, name in zip(colours, names, strict=True):
        is_mix = name == MIX_CURVE
        colour = "black" if is_mix else colour
        row = stats.sel(curve=name)
        label = (
            "mix ("
            + ", ".join(f"{float(w):.2g} {s}" for s, w in zip(curves.weights["skill"].values, curves.weights.values, strict=True) if w > 0)
            + ")"
        )
        ax.plot(n, row["median"], color=colour, linestyle="--" if is_mix else "-", label=label if is_mix else name)
        ax.fill_between(n, row["lower"], row["upper"], color=colour, alpha=0.15, linewidth=0)
        n_opt, loss_opt = opt["N_opt"].sel(curve=name), opt["loss_opt"].sel(curve=name)
        xerr = [[float(n_opt["median"] - n_opt["lower"])], [float(n_opt["upper"] - n_opt["median"])]]
        ax.errorbar(float(n_opt["median"]), float(loss_opt["median"]), xerr=xerr, color=colour, marker="o", capsize=3)
    ax.set_xscale("log")
    ax.set_xlabel("parameters N (D = C / 6N)")
    ax.set_ylabel("predicted loss")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    stamp(fig, title or f"iso-FLOP curves at C = {curves.budget:.2e} FLOPs (bands; bars: N* interval)", fit=fit, prob=prob)
    return fig


__all__ = ["plot_isoflop_mix", "plot_mix_sweep"]
