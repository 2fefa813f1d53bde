"""Data with fitted curves and credible bands, N*(C) fan charts, and parameter posteriors.

Every function takes a :class:`~bayeslaw.fit.Fit` and returns a matplotlib
Figure; the numbers come from the fit's own post-processing
(:meth:`Fit.predict`, :meth:`Fit.compute_optimal`, :meth:`Fit.params`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, ScalarFormatter

from bayeslaw.constants import CREDIBLE_INTERVAL, FAN_INNER_INTERVAL, FLOPS_PER_PARAM_TOKEN
from bayeslaw.diagnostics import ConvergenceWarning
from bayeslaw.plotting.stamp import LOG_AXIS_RATIO, stamp
from bayeslaw.posterior import varying_axes
from bayeslaw.summaries import interval
from bayeslaw.trust import EXTRAPOLATION_MAX

if TYPE_CHECKING:
    from bayeslaw.fit import Fit

#: Most panels (group combinations) drawn by :func:`plot_fit`.
MAX_PANELS = 12
#: Points along each fitted curve.
CURVE_POINTS = 60
#: Colour map of compute / tokens-per-parameter.
CMAP = "viridis"
#: Data with at most this many distinct tokens-per-parameter ratios count as a designed sweep.
MAX_DESIGN_RATIOS = 8
#: Quantiles of the data's compute (or tokens per parameter) spanned by the curves.
LEVEL_QUANTILES = (0.02, 0.98)
#: Log axes spanning less than this ratio get plain-number tick labels.
NARROW_LOG_RANGE = 30.0
#: How far (as a factor of the largest budget in the data) the default fan extends.
FAN_EXTRAPOLATION = 1e4

#: Fan-chart panels: quantity -> (title, y label).
FAN_TITLES = {
    "N_opt": ("compute-optimal model size", "N* (parameters)"),
    "D_opt": ("compute-optimal training tokens", "D* (tokens)"),
    "tokens_per_param": ("compute-optimal tokens per parameter", "D*/N*"),
    "loss_opt": ("loss at the optimum", "loss at (N*, D*)"),
}

_LABELS = {
    "N": "model size N (parameters)",
    "D": "training tokens D",
    "C": "training compute C (FLOPs)",
    "tokens_per_param": "tokens per parameter D/N",
}


def _group_panels(fit: Fit) -> list[dict[str, str]]:
    """One dict of group labels per panel: every (skill, datamix, ...) combination present in the data."""
    groups = list(fit.data.groups)
    if not groups:
        return [{}]
    combos = fit.data.frame[groups].drop_duplicates()
    order = {axis: {label: i for i, label in enumerate(fit.data.levels[axis])} for axis in groups}
    combos = combos.sort_values(groups, key=lambda col: col.map(order[col.name]))
    panels = [dict(zip(groups, (str(v) for v in row), strict=True)) for row in combos.itertuples(index=False)]
    if len(panels) > MAX_PANELS:
        raise ValueError(f"the data has {len(panels)} group combinations; plot_fit draws at most {MAX_PANELS}: pass select=")
    return panels


def _subplots(n: int, width: float = 5.2, height: float = 4.0) -> tuple[Figure, np.ndarray]:
    cols = min(n, 3)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False, constrained_layout=True)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()


def _colour_values(frame: pd.DataFrame, by: str) -> np.ndarray:
    """Compute 6ND or tokens per parameter of each row (what the points are coloured by)."""
    n, d = frame["N"].to_numpy(float), frame["D"].to_numpy(float)
    return FLOPS_PER_PARAM_TOKEN * n * d if by == "compute" else d / n


def design_ratios(frame: pd.DataFrame) -> np.ndarray | None:
    """The distinct tokens-per-parameter ratios of a designed sweep, or ``None`` for scattered data.

    Ratios equal to 2 decimals in log10 (within about 2.3%) count as one; a sweep has at most
    ``MAX_DESIGN_RATIOS`` of them.
    """
    log_ratio = np.log10(frame["D"].to_numpy(float) / frame["N"].to_numpy(float))
    keys, group = np.unique(np.round(log_ratio, 2), return_inverse=True)
    if len(keys) > MAX_DESIGN_RATIOS:
        return None
    # Each ratio is the geometric mean of the runs sharing it (exactly the design's value when they agree).
    return np.array([10.0 ** log_ratio[group == i].mean() for i in range(len(keys))])


def _curves(frame: pd.DataFrame, by: str, n_curves: int, ratios: np.ndarray | None) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """(level, N grid, D grid) of each curve: iso-FLOP (``by="compute"``) or fixed tokens per parameter.

    Tokens-per-parameter curves sit at ``ratios`` (a designed sweep's own ratios) when given,
    else at ``n_curves`` ratios spread over the data; each spans the model sizes trained near it.
    """
    n, d = frame["N"].to_numpy(float), frame["D"].to_numpy(float)
    ratio = d / n
    curves = []
    if by == "compute":
        compute = FLOPS_PER_PARAM_TOKEN * n * d
        for c in np.geomspace(*np.quantile(compute, LEVEL_QUANTILES), n_curves):
            # Stay inside the data's N range and tokens-per-parameter range along the iso-FLOP curve.
            lo = max(n.min(), np.sqrt(c / (FLOPS_PER_PARAM_TOKEN * ratio.max())))
            hi = min(n.max(), np.sqrt(c / (FLOPS_PER_PARAM_TOKEN * ratio.min())))
            if hi > lo:
                grid = np.geomspace(lo, hi, CURVE_POINTS)
                curves.append((float(c), grid, c / (FLOPS_PER_PARAM_TOKEN * grid)))
        return curves
    if ratios is not None:
        levels, tolerance = ratios, np.log(1.03)
    else:
        levels = np.geomspace(*np.quantile(ratio, LEVEL_QUANTILES), n_curves)
        step = float(np.sqrt(levels[1] / levels[0])) if n_curves > 1 else 2.0
        tolerance = max(np.log(step), np.log(2.0))  # half a curve spacing, at least x2
    for r in levels:
        near = np.abs(np.log(ratio / r)) <= tolerance
        if near.any():
            lo, hi = n[near].min(), n[near].max()
            if lo == hi:  # one run at this ratio: span the panel's sizes instead of a single point
                lo, hi = n.min(), n.max()
            grid = np.geomspace(lo, hi, CURVE_POINTS)
            curves.append((float(r), grid, r * grid))
    return curves


def plot_fit(
    fit: Fit,
    *,
    by: str = "auto",
    n_curves: int = 6,
    prob: float = CREDIBLE_INTERVAL,
    select: Mapping[str, str] | None = None,
) -> Figure:
    """The data with the fitted law's curves and credible bands.

    For laws of model size N and tokens D: the target against N (log axis), data
    points coloured by compute (or tokens per parameter), and the posterior
    median of the law with its ``prob`` band along ``n_curves`` iso-FLOP curves
    (``by="compute"``) or fixed tokens-per-parameter ratios
    (``by="tokens_per_param"``), each kept inside the data's range. The default
    ``by="auto"`` draws a designed sweep (at most ``MAX_DESIGN_RATIOS`` distinct
    ratios, e.g. over-training multipliers) at its own ratios, and scattered
    data (e.g. Chinchilla's) along iso-FLOP curves. For laws of
    one input: the target against that input. One panel per group combination
    (skill, datamix) in the data, or only ``select``.

    Parameters
    ----------
    fit
        A fitted model.
    by
        ``"auto"``, ``"compute"`` or ``"tokens_per_param"``.
    n_curves
        Number of curves per panel (a designed sweep's ratios are all drawn).
    prob
        Probability of the credible band of the law's mean.
    select
        Group labels to restrict to, e.g. ``{"skill": "code"}``.
    """
    law = fit.law
    panels = [p for p in _group_panels(fit) if all(p.get(k) == v for k, v in (select or {}).items())]
    if not panels:
        raise ValueError(f"no data for {dict(select or {})}; groups in the data: {_group_panels(fit)}")
    two_inputs = set(law.inputs) == {"N", "D"}
    if not two_inputs and len(law.inputs) != 1:
        raise ValueError(f"plot_fit draws laws of (N, D) or of one input; law {law.lookup_name!r} has inputs {law.inputs}")
    if not fit.converged:
        warnings.warn(fit.diagnostics.banner(), ConvergenceWarning, stacklevel=2)
    fig, axes = _subplots(len(panels))
    norm, ratios = None, None
    if two_inputs:
        if by not in ("auto", "compute", "tokens_per_param"):
            raise ValueError(f"by must be 'auto', 'compute' or 'tokens_per_param', got {by!r}")
        ratios = design_ratios(fit.data.frame)
        if by == "auto":
            by = "compute" if ratios is None else "tokens_per_param"
        values = _colour_values(fit.data.frame, by)
        norm = LogNorm(values.min(), values.max())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # warned once above, not once per curve
        for ax, labels in zip(axes, panels, strict=False):
            _draw_panel(ax, fit, labels, by, n_curves, prob, norm, ratios)
    if norm is not None:
        mappable = plt.cm.ScalarMappable(norm=norm, cmap=CMAP)
        fig.colorbar(mappable, ax=list(axes[: len(panels)]), label=_LABELS["C" if by == "compute" else "tokens_per_param"])
    what = "iso-FLOP curves" if by == "compute" else "fixed tokens-per-parameter curves"
    stamp(
        fig,
        f"Posterior median, {prob:.0%} band of the law (shaded) and of a new run (dotted)"
        + (f" along {what}" if two_inputs else "")
        + "; curves within the data's range",
        fit,
        prob,
    )
    return fig


def _draw_panel(
    ax: plt.Axes, fit: Fit, labels: dict[str, str], by: str, n_curves: int, prob: float, norm: LogNorm | None, ratios: np.ndarray | None
) -> None:
    """One panel of :func:`plot_fit`: the group's data and fitted curves (``norm``: colour scale of (N, D) laws)."""
    law, data, target = fit.law, fit.data, fit.data.target
    mask = np.ones(len(data), dtype=bool)
    for axis, label in labels.items():
        mask &= data.frame[axis].to_numpy(str) == label
    frame = data.frame[mask]
    if norm is not None:
        colour = _colour_values(frame, by)
        curves = _curves(frame, by, n_curves, ratios)
        cmap = plt.get_cmap(CMAP)
        for level, n_grid, d_grid in curves:
            table = fit.predict(n_grid, d_grid, prob=prob, **labels)
            c = cmap(norm(level))
            ax.fill_between(n_grid, table["mean_lower"], table["mean_upper"], color=c, alpha=0.25, linewidth=0)
            ax.plot(n_grid, table["mean_median"], color=c, linewidth=1.6)
            for edge in ("observation_lower", "observation_upper"):
                ax.plot(n_grid, table[edge], color=c, linewidth=0.8, linestyle=":", label="_predictive")
        ax.scatter(frame["N"], frame[target], c=colour, cmap=CMAP, norm=norm, s=14, edgecolors="black", linewidths=0.3, zorder=3)
        ax.set_xlabel(_LABELS["N"])
    else:
        key = law.inputs[0]
        x = frame[key].to_numpy(float)
        grid = np.geomspace(x.min(), x.max(), CURVE_POINTS)
        table = fit.predict(prob=prob, **{key: grid}, **labels)
        ax.fill_between(grid, table["mean_lower"], table["mean_upper"], color="C0", alpha=0.25, linewidth=0)
        ax.plot(grid, table["mean_median"], color="C0", linewidth=1.6)
        for edge in ("observation_lower", "observation_upper"):
            ax.plot(grid, table[edge], color="C0", linewidth=0.8, linestyle=":", label="_predictive")
        ax.scatter(x, frame[target], s=14, color="black", zorder=3)
        ax.set_xlabel(_LABELS.get(key, key))
    observed = frame[target].to_numpy(float)
    _limit_to_data(ax, observed)
    ax.set_xscale("log")
    ax.set_ylabel(target)
    title = ", ".join(f"{k}={v}" for k, v in labels.items())
    ax.set_title(title or f"{data.name}: {len(frame)} runs", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)


#: Displayed y range of a fit panel: the data's range widened by this share of it on each side.
Y_MARGIN = 0.25


def _limit_to_data(ax: plt.Axes, observed: np.ndarray) -> None:
    """Keep the y axis near the data (log when the data span a decade): bands beyond it are cut, and the panel says so."""
    lo, hi = float(np.nanmin(observed)), float(np.nanmax(observed))
    if lo > 0 and hi / lo > 10:
        ax.set_yscale("log")
        span = np.log(hi / lo)
        limits = (lo * np.exp(-Y_MARGIN * span), hi * np.exp(Y_MARGIN * span))
    else:
        pad = Y_MARGIN * (hi - lo if hi > lo else abs(hi) or 1.0)
        # A positive target (a loss) keeps a positive axis: at most down to half its smallest value.
        limits = (max(lo - pad, 0.5 * lo) if lo > 0 else lo - pad, hi + pad)
    drawn = [np.asarray(line.get_ydata(), dtype=float) for line in ax.get_lines()]
    values = np.concatenate(drawn) if drawn else np.array([])
    if values.size and (np.nanmin(values) < limits[0] or np.nanmax(values) > limits[1]):
        ax.text(0.99, 0.01, "bands cut at the data's range", transform=ax.transAxes, ha="right", va="bottom", fontsize=7, color="0.35")
    ax.set_ylim(*limits)


def plot_optimum_fan(
    fit: Fit,
    budgets: Sequence[float] | np.ndarray | None = None,
    *,
    inner: float = FAN_INNER_INTERVAL,
    outer: float = CREDIBLE_INTERVAL,
    quantities: Sequence[str] = ("N_opt", "D_opt", "tokens_per_param"),
    select: Mapping[str, str] | None = None,
    skill: str | None = None,
    datamix: str | None = None,
    mix: Mapping[str, float] | None = None,
    mark_budget: float | Sequence[float] | None = None,
) -> Figure:
    """Fan chart of the compute-optimal N*(C) (and D*(C), D*/N*) over a range of budgets.

    Nested ``inner`` and ``outer`` credible bands around the posterior median, on
    log axes. The budget range covered by the data is shaded, so extrapolation
    is visible; the default range stops at ``FAN_EXTRAPOLATION`` times the
    data's largest budget (stated on the figure).

    Parameters
    ----------
    fit
        A fitted law that allocates compute over (N, D).
    budgets
        FLOP budgets (default: from the data's smallest budget to
        ``FAN_EXTRAPOLATION`` times its largest).
    inner, outer
        Probabilities of the two bands (``inner < outer``).
    quantities
        Panels to draw: any of ``N_opt``, ``D_opt``, ``tokens_per_param``, ``loss_opt``.
    select, skill, datamix, mix
        Passed to :meth:`Fit.compute_optimal` (``select={"model": "gpt2"}`` names any
        group axis; ``skill=`` and ``datamix=`` are sugar).
    mark_budget
        The user's budget(s): a vertical line at each, annotated with the median and interval there.
    """
    if not 0 < inner < outer < 1:
        raise ValueError(f"need 0 < inner < outer < 1, got inner={inner}, outer={outer}")
    compute = fit.data.values("C") if "C" in fit.data.frame else None
    marks = [] if mark_budget is None else [float(b) for b in np.atleast_1d(np.asarray(mark_budget, dtype=float))]
    limit_note = ""
    if budgets is None:
        if compute is None:
            raise ValueError("the data has no compute column: pass budgets=")
        top = compute.max() * FAN_EXTRAPOLATION
        if marks:
            top = max(top, max(marks) * 3)
        limit_note = f"budgets up to {top / compute.max():.0e} x the data's largest"
        budgets = np.geomspace(min(compute.min(), *marks) if marks else compute.min(), top, 40)
    budgets = np.sort(np.asarray(budgets, dtype=float))
    if marks:
        budgets = np.union1d(budgets, marks)
    result = fit.compute_optimal(budgets, select=select, skill=skill, datamix=datamix, mix=mix, prob=outer)
    unknown = [q for q in quantities if q not in FAN_TITLES]
    if unknown:
        raise ValueError(f"unknown quantities {unknown}; choose from {list(FAN_TITLES)}")
    fig, axes = _subplots(len(quantities), width=5.0, height=4.2)
    for ax, name in zip(axes, quantities, strict=True):
        draws = result.draws[name]
        extra = [d for d in draws.dims if d not in ("chain", "draw", "budget")]
        if extra:
            raise ValueError(f"{name} varies along {extra}: pass select={{axis: label}} or a single mix")
        bands = {p: interval(draws, p).transpose("budget") for p in (outer, inner)}
        ax.fill_between(budgets, bands[outer]["lower"], bands[outer]["upper"], color="C0", alpha=0.18, linewidth=0, label=f"{outer:.0%}")
        ax.fill_between(budgets, bands[inner]["lower"], bands[inner]["upper"], color="C0", alpha=0.38, linewidth=0, label=f"{inner:.0%}")
        median = bands[outer]["median"]
        ax.plot(budgets, median, color="C0", linewidth=1.8, label="median")
        if compute is not None:
            ax.axvspan(compute.min(), compute.max(), color="0.85", zorder=0, label="budgets in the data")
            far = EXTRAPOLATION_MAX * compute.max()
            if budgets.max() > far:  # beyond it, forecasts are flagged (bayeslaw.trust)
                ax.axvline(far, color="0.45", linestyle=":", linewidth=1)
                ax.annotate(
                    f"{EXTRAPOLATION_MAX:g}x the data's largest",
                    (far, 0.02),
                    xycoords=("data", "axes fraction"),
                    rotation=90,
                    ha="right",
                    va="bottom",
                    fontsize=7,
                    color="0.45",
                )
        rising = np.gradient(np.log(median.values), np.log(budgets))
        for k, mark in enumerate(marks):
            at = float(median.sel(budget=mark))
            lo = float(bands[outer]["lower"].sel(budget=mark))
            hi = float(bands[outer]["upper"].sel(budget=mark))
            ax.axvline(mark, color="0.3", linestyle="--", linewidth=1)
            ax.plot([mark], [at], marker="o", color="C3", zorder=4)
            # Off the curve: below-right (or, for a second mark, above-left) of a rising median; mirrored for a falling one.
            right = k % 2 == 0
            below = right == (rising[int(np.searchsorted(budgets, mark))] >= 0)
            ax.annotate(
                f"C={mark:.2g}: {at:.3g}\n[{lo:.3g}, {hi:.3g}]",
                (mark, at),
                textcoords="offset points",
                xytext=(8 if right else -8, -8 if below else 8),
                ha="left" if right else "right",
                va="top" if below else "bottom",
                fontsize=8,
                color="C3",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(_LABELS["C"])
        low, high = ax.get_ylim()
        if high / low < NARROW_LOG_RANGE:  # under ~1.5 decades: plain numbers on minor ticks too
            ax.yaxis.set_major_formatter(ScalarFormatter())
            ax.yaxis.set_minor_formatter(ScalarFormatter())
        ax.set_ylabel(FAN_TITLES[name][1])
        ax.set_title(FAN_TITLES[name][0], fontsize=10)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(loc="best", fontsize=8, frameon=False)
    group = ", ".join(f"{k}={v}" for k, v in result.labels.items())
    if mix is not None:
        group = "mix " + ", ".join(f"{k}:{w:g}" for k, w in mix.items())
    title = f"Compute-optimal allocation with {inner:.0%} / {outer:.0%} credible bands" + (f" ({group})" if group else "")
    if limit_note:
        title += f"; {limit_note}"
    stamp(fig, title, fit, outer, forecast={"C": marks} if marks else None)
    return fig


def plot_posterior(fit: Fit, names: Sequence[str] | None = None, *, prob: float = CREDIBLE_INTERVAL, bins: int = 40) -> Figure:
    """Histograms of the posterior of key parameters, with median and ``prob`` interval marked.

    Parameters
    ----------
    fit
        A fitted model.
    names
        Parameters or derived quantities to show (default: the law's
        parameters in paper form where it has one, e.g. E, A, B, alpha, beta
        and the allocation exponent a for Chinchilla).
    prob
        Interval probability marked on each panel.
    bins
        Histogram bins.
    """
    law = fit.law
    post = fit.posterior
    axes_kept = varying_axes(post, list(law.parameters))
    params = fit.params(keep=axes_kept)
    derived = law.derived(params, fit.refs, np)
    available = {**params, **derived}
    if names is None:
        raw = [n for n in ("A", "B") if n in derived]
        names = [n for n in law.parameters if not (raw and n in ("a_ref", "b_ref"))]
        names = names[:1] + raw + names[1:] + (["a"] if "a" in derived else [])
    unknown = [n for n in names if n not in available]
    if unknown:
        raise ValueError(f"unknown quantities {unknown}; available: {sorted(available)}")
    fig, axes = _subplots(len(names), width=3.4, height=2.7)
    legend_axis = None
    for ax, name in zip(axes, names, strict=False):
        da = available[name]
        groups = [d for d in da.dims if d not in ("chain", "draw")]
        stacked = da.stack(_group=groups) if groups else da.expand_dims(_group=[""])
        every = np.ravel(stacked.values)
        # Amplitudes of several groups can differ by decades: a log axis keeps each group's histogram visible.
        wide = bool((every > 0).all() and every.max() / every.min() > LOG_AXIS_RATIO)
        edges = np.geomspace(every.min(), every.max(), bins + 1)
        if wide:
            ax.set_xscale("log")
        for i, label in enumerate(stacked["_group"].values):
            values = np.ravel(stacked.isel(_group=i).values)
            stats = interval(stacked.isel(_group=i), prob)
            colour = f"C{i % 10}"
            text = "" if not groups else (", ".join(map(str, label)) if isinstance(label, tuple) else str(label))
            ax.hist(values, bins=edges if wide else bins, density=not wide, color=colour, alpha=0.45, label=text or None)
            ax.axvline(float(stats["median"]), color=colour, linewidth=1.5)
            for edge in ("lower", "upper"):
                ax.axvline(float(stats[edge]), color=colour, linewidth=1, linestyle=":")
        if not groups:
            ax.set_title(
                f"{name} = {format_number(float(stats['median']))} [{format_number(float(stats['lower']))}, "
                f"{format_number(float(stats['upper']))}]",
                fontsize=9,
            )
        else:
            ax.set_title(name, fontsize=10)
            legend_axis = legend_axis or ax
        ax.set_yticks([])
        if not wide:
            ax.xaxis.set_major_locator(MaxNLocator(4))
    if legend_axis is not None:
        handles, texts = legend_axis.get_legend_handles_labels()
        fig.legend(handles, texts, loc="outside lower center", ncols=min(len(texts), 4), fontsize=8, frameon=False)
    stamp(fig, f"Posterior (median solid, {prob:.0%} interval dotted)", fit, prob)  # last: it makes every text literal
    return fig


def format_number(value: float) -> str:
    """Three significant figures."""
    return f"{value:.3g}"


__all__ = ["plot_fit", "plot_optimum_fan", "plot_posterior"]
