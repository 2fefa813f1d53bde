"""Backtests: fit on the runs at or below a cut, forecast every run beyond it, and score the forecasts.

::

    result = bayeslaw.backtest(data, ["chinchilla", "kaplan"], cuts=(0.1, 0.01), by="C")
    result.table()        # per cut and model (and group): error, bias, coverage, width, CRPS, LPD
    result.forecasts      # per held-out run: forecast, 90% interval, scores, extrapolation factor

A cut is a fraction of the largest value of the ``by`` column (compute ``C`` by
default; any input column works, e.g. ``examples``). What is forecast is chosen
by *forecasters*; a plain model name (or spec) is a :class:`Model`, and
:class:`PointFitBootstrap` (the approach-3 fit with its bootstrap), :class:`Stack`
(LFO stacking of several models) and :class:`Growth` (a forecast widened by the
extrapolation discrepancy of :mod:`bayeslaw.extrapolation`) can be mixed in::

    backtest(data, ["chinchilla", PointFitBootstrap(), Growth(Stack(["chinchilla", "kaplan"]))])

Stack and Growth learn from the training runs only, by internal cuts at
``x_max / 10^k`` (``INNER_CUT_DECADES``) of the training range. Every fit is done
once per training set and reused (a cache keyed by model and training rows).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np
import pandas as pd
import xarray as xr

from bayeslaw.constants import CREDIBLE_INTERVAL, DEFAULT_SEED, FLOPS_PER_PARAM_TOKEN, RHAT_MAX
from bayeslaw.data import ScalingData
from bayeslaw.diagnostics import ConvergenceWarning
from bayeslaw.extrapolation import (
    Extrapolation,
    GrowthPosterior,
    decades_beyond,
    decades_from_nearest,
    learn_growth,
    prior_growth,
    widen,
)
from bayeslaw.fit import Fit, fit
from bayeslaw.forecast import POINT_DIM
from bayeslaw.pointfit import PointFit, bootstrap, fit_arrays, start_grid
from bayeslaw.predictive import COVERAGE_LEVELS, Predictive, mixture, score_points
from bayeslaw.result_contract import ResultContract
from bayeslaw.spec import ModelSpec
from bayeslaw.stacking import stacking_weights

ModelLike = str | Path | Mapping[str, Any] | ModelSpec

#: Internal cuts used by Stack and Growth: the training runs are cut at x_max / 10^k for each k.
INNER_CUT_DECADES: tuple[float, ...] = (0.5, 1.0)
#: An internal cut is used only if it keeps at least this many training runs.
INNER_MIN_TRAIN: int = 8
#: Sampler settings of backtest fits unless given: modest, since a backtest refits at every cut.
BACKTEST_SAMPLER: dict[str, int] = {"draws": 500, "tune": 500, "chains": 4}
#: A small grid of starts for the point fit in backtests (3 x 3 x 3 x 3 x 3 = 243 starts).
POINTFIT_STARTS: np.ndarray = start_grid(
    a=(0.0, 10.0, 20.0), b=(0.0, 10.0, 20.0), e=(-1.0, 0.0, 1.0), alpha=(0.2, 0.5, 1.0), beta=(0.2, 0.5, 1.0)
)


@dataclass(frozen=True)
class Split:
    """Training runs (``by`` at or below the cut) and the held-out runs beyond it."""

    train: ScalingData
    test: ScalingData
    by: str
    notes: tuple[str, ...] = ()

    @property
    def train_max(self) -> float:
        """Largest ``by`` value among the training runs."""
        return float(by_values(self.train, self.by).max())

    @property
    def distance(self) -> np.ndarray:
        """Decades beyond the training range of every held-out run."""
        return decades_beyond(by_values(self.test, self.by), self.train_max)


def _spans(data: ScalingData, by: str) -> bool:
    """Whether ``data`` has at least two distinct values of ``by`` (a law can be fitted along it)."""
    return np.unique(by_values(data, by)).size >= 2


def by_values(data: ScalingData, by: str) -> np.ndarray:
    """Column ``by`` of ``data``; compute ``C`` is ``6 N D`` when the data have ``N`` and ``D`` but no ``C`` column."""
    if by in data.frame:
        return data.values(by)
    if by == "C" and {"N", "D"} <= set(data.frame.columns):
        return FLOPS_PER_PARAM_TOKEN * data.values("N") * data.values("D")
    raise ValueError(f"by={by!r} is not a column of the data (columns: {list(data.frame.columns)})")


#: Columns of the per-run table that a group axis of the same name would overwrite.
RESERVED_COLUMNS: frozenset[str] = frozenset({"cut", "model", "run", "observed", "forecast", "extrapolation", "converged", "notes"})


def group_column(axis: str) -> str:
    """The per-run table's column holding group axis ``axis`` (``<axis>_group`` if ``axis`` is a reserved column)."""
    return f"{axis}_group" if axis in RESERVED_COLUMNS else axis


def split_at(data: ScalingData, limit: float, by: str, min_train: int = 1) -> Split | None:
    """Split ``data`` at ``by <= limit``; ``None`` if fewer than ``min_train`` runs or no held-out run remain.

    Held-out runs of a group with no training run cannot be forecast; they are
    left out and the split's notes say how many.
    """
    values = by_values(data, by)
    mask = values <= limit
    if mask.sum() < min_train or mask.all():
        return None
    train = data.subset(mask, f"backtest: {by} <= {limit:.4g}")
    beyond = ~mask
    notes = []
    for axis in data.groups:
        known = data.frame[axis].isin(train.levels[axis]).to_numpy()
        lost = beyond & ~known
        if lost.any():
            notes.append(f"{int(lost.sum())} held-out run(s) of {axis} labels without training runs are not forecast")
        beyond &= known
    if not beyond.any():
        return None
    test = data.subset(beyond, f"backtest: held out, {by} > {limit:.4g}")
    return Split(train, test, by, tuple(notes))


@dataclass
class Context:
    """What every forecaster in one backtest shares: settings, seed and the fit cache."""

    by: str = "C"
    seed: int = DEFAULT_SEED
    sampler: Mapping[str, Any] = field(default_factory=lambda: dict(BACKTEST_SAMPLER))
    inner_decades: Sequence[float] = INNER_CUT_DECADES
    cache: dict[tuple[str, tuple[str, ...]], Fit] = field(default_factory=dict)

    def fit(self, model: ModelLike | Fit, train: ScalingData) -> Fit:
        """The fit of ``model`` on ``train`` (computed once per model and training set).

        A :class:`~bayeslaw.Fit` is refitted with its own spec, sampler settings and seed.
        """
        key = (_model_key(model), tuple(str(i) for i in train.frame.index))
        if key not in self.cache:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)  # recorded per fit in the results
                if isinstance(model, Fit):
                    self.cache[key] = model.refit(train)
                else:
                    self.cache[key] = fit(train, model, random_seed=self.seed, **self.sampler)
        return self.cache[key]

    def inner_splits(self, train: ScalingData) -> list[Split]:
        """Internal cuts of a training set at ``x_max / 10^k``, for learning from the training runs alone."""
        top = float(by_values(train, self.by).max())
        splits = [split_at(train, top / 10**k, self.by, INNER_MIN_TRAIN) for k in self.inner_decades]
        return [s for s in splits if s is not None and _spans(s.train, self.by)]


class Forecaster(Protocol):
    """Anything that forecasts the held-out runs of a :class:`Split`."""

    name: str

    def forecast(self, ctx: Context, split: Split) -> Predictive: ...

    def inner(self, ctx: Context, train: ScalingData) -> list[tuple[Predictive, Split]]: ...


def _model_key(model: ModelLike | Fit) -> str:
    if isinstance(model, Fit):
        return f"fit:{id(model)}"
    if isinstance(model, ModelSpec):
        return model.to_json()
    if isinstance(model, Mapping):
        return json.dumps(model, sort_keys=True, default=str)
    return str(model)


def predictive_from_fit(fit_: Fit, test: ScalingData, seed: int) -> Predictive:
    """Posterior predictive draws of ``fit_`` at the runs of ``test`` (with densities for log-link families)."""
    law = fit_.law
    x = {k: test.values(k) for k in law.inputs}
    labels = {a: test.frame[a].to_numpy(dtype=str) for a in fit_.data.groups}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        _, draws = fit_.predict(return_draws=True, seed=seed, **x, **labels)
    mean = draws["mean"].stack(sample=("chain", "draw")).transpose("sample", ...).values
    obs = draws["observation"].stack(sample=("chain", "draw")).transpose("sample", ...).values
    family = fit_.family
    loc = scale = df = names = None
    if family.link == "log" and "sigma" in family.params:
        points = {a: xr.DataArray(v, dims=POINT_DIM) for a, v in labels.items()}
        noise = {
            k: v.broadcast_like(draws["mean"]).stack(sample=("chain", "draw")).transpose("sample", ...).values
            for k, v in fit_.noise_params(points).items()
        }
        scale = noise["sigma"]
        df = noise["nu"] if "nu" in noise else np.full_like(scale, np.inf)
        names = np.full((mean.shape[0], 1), family.name)
        with np.errstate(invalid="ignore", divide="ignore"):
            loc = np.log(mean)
    notes = () if fit_.converged else (f"WARNING: fit of {fit_.spec.name!r} did not converge: {fit_.diagnostics.banner()}",)
    diag = fit_.diagnostics
    agree = bool(diag.max_rhat <= diag.thresholds.get("rhat_max", RHAT_MAX))
    return Predictive(
        mean=mean, observation=obs, loc=loc, scale=scale, df=df, converged=fit_.converged, notes=notes, chains_agree=agree, family=names
    )


def _inner_default(forecaster: Forecaster, ctx: Context, train: ScalingData) -> list[tuple[Predictive, Split]]:
    return [(forecaster.forecast(ctx, s), s) for s in ctx.inner_splits(train)]


@dataclass(frozen=True)
class Model:
    """A model spec fitted by :func:`bayeslaw.fit` (shipped name, TOML path, dict or :class:`ModelSpec`)."""

    model: ModelLike
    label: str | None = None

    @property
    def name(self) -> str:
        if self.label:
            return self.label
        if isinstance(self.model, Fit):
            return self.model.spec.name
        return self.model.name if isinstance(self.model, ModelSpec) else str(self.model)

    def forecast(self, ctx: Context, split: Split) -> Predictive:
        return predictive_from_fit(ctx.fit(self.model, split.train), split.test, ctx.seed + 11)

    def inner(self, ctx: Context, train: ScalingData) -> list[tuple[Predictive, Split]]:
        return _inner_default(self, ctx, train)


@dataclass(frozen=True)
class PointFitBootstrap:
    """The approach-3 point fit (Huber on log loss) with a bootstrap of the observations.

    Mean-curve draws are the bootstrap refits' curves; a new observation adds a
    log residual of the full-data fit, drawn at random. Needs inputs ``N``, ``D``
    and target ``loss``; grouped data are fitted one group at a time. It has no
    density (its LPD is NaN); CRPS compares it with the Bayesian forecasts.
    """

    n_boot: int = 100
    name: str = "pointfit"

    def forecast(self, ctx: Context, split: Split) -> Predictive:
        test, train = split.test, split.train
        mean = np.full((self.n_boot, len(test)), np.nan)
        obs = np.full_like(mean, np.nan)
        rng = np.random.default_rng(ctx.seed + 13)
        axes = list(train.groups)
        keys = test.frame[axes].astype(str).agg("|".join, axis=1).to_numpy() if axes else np.zeros(len(test), dtype=str)
        train_keys = train.frame[axes].astype(str).agg("|".join, axis=1).to_numpy() if axes else np.zeros(len(train), dtype=str)
        for key in np.unique(keys):
            rows = train_keys == key
            n, d, loss = (train.values(k)[rows] for k in ("N", "D", "loss"))
            best: PointFit = fit_arrays(n, d, loss, starts=POINTFIT_STARTS)
            residuals = np.log(loss) - np.log(best.loss(n, d))
            group = train.subset(rows, f"point fit group {key}")
            boots = bootstrap(group, self.n_boot, seed=ctx.seed + 17, starts=best)
            cols = keys == key
            tn, td = test.values("N")[cols], test.values("D")[cols]
            for b, row in enumerate(boots.itertuples()):
                m = row.E + row.A / tn**row.alpha + row.B / td**row.beta
                mean[b, cols] = m
                obs[b, cols] = m * np.exp(rng.choice(residuals, size=m.size))
        return Predictive(mean=mean, observation=obs, notes=(f"approach-3 point fit, {self.n_boot} bootstrap refits",))

    def inner(self, ctx: Context, train: ScalingData) -> list[tuple[Predictive, Split]]:
        return _inner_default(self, ctx, train)


def _as_forecaster(model: ModelLike | Forecaster) -> Forecaster:
    return model if hasattr(model, "forecast") else Model(model)  # type: ignore[return-value]


@dataclass(frozen=True)
class Stack:
    """Stacking of several models with weights from leave-future-out densities on the training runs.

    The weights maximise the summed log predictive density of the mixture over
    the runs held out by internal cuts of the training set (see
    :mod:`bayeslaw.stacking`); the forecast mixes the members' draws by weight.
    A member whose chains disagree (r_hat) at an internal cut is left out, and
    the forecast's notes say so in a WARNING line; a member that fails only on
    effective sample size is kept with a CAUTION line, and the forecast is
    flagged as not converged. If no member is usable, all are kept, flagged.
    """

    members: Sequence[ModelLike | Forecaster]
    label: str | None = None
    n_draws: int = 2000

    @property
    def name(self) -> str:
        return self.label or "stack(" + "+".join(_as_forecaster(m).name for m in self.members) + ")"

    def weights(
        self, ctx: Context, train: ScalingData
    ) -> tuple[list[Forecaster], np.ndarray, list[tuple[list[Predictive], Split]], list[str]]:
        """Members used, their weights, the internal forecasts they came from, and notes."""
        members = [_as_forecaster(m) for m in self.members]
        inner = [(split, [m.forecast(ctx, split) for m in members]) for split in ctx.inner_splits(train)]
        ok = [all(preds[k].chains_agree for _, preds in inner) for k in range(len(members))]
        short = [all(preds[k].converged for _, preds in inner) for k in range(len(members))]
        notes = [
            f"CAUTION: stack member {members[k].name!r} kept: its chains agree (r_hat) but a fit at an internal cut has too few "
            "effective draws; the forecast is flagged as not converged"
            for k in range(len(members))
            if ok[k] and not short[k]
        ]
        notes += [
            f"WARNING: stack member {members[k].name!r} left out: its chains disagree (r_hat) at an internal cut"
            for k in range(len(members))
            if not ok[k]
        ]
        keep = [k for k in range(len(members)) if ok[k]]
        if not keep:
            keep = list(range(len(members)))
            notes = [f"WARNING: no member of {self.name} converged on the internal cuts; all are stacked and the forecast is flagged"]
        if not inner:
            w = np.full(len(keep), 1.0 / len(keep))
            notes.append("no internal cut had enough training runs: equal weights")
        else:
            lpd = np.concatenate(
                [np.column_stack([preds[k].log_density(s.test.values(s.test.target)) for k in keep]) for s, preds in inner]
            )
            w = stacking_weights(lpd)
        used = [members[k] for k in keep]
        notes.append("stacking weights: " + ", ".join(f"{m.name} {wk:.2f}" for m, wk in zip(used, w, strict=True)))
        return used, w, [([preds[k] for k in keep], s) for s, preds in inner], notes

    def forecast(self, ctx: Context, split: Split) -> Predictive:
        used, w, _, notes = self.weights(ctx, split.train)
        preds = [m.forecast(ctx, split) for m in used]
        for m, p in zip(used, preds, strict=True):
            if not p.converged:
                notes.append(f"WARNING: stack member {m.name!r} did not converge on the full training set")
        mixed = mixture(preds, w, self.n_draws, ctx.seed + 19)
        converged = mixed.converged and not any(n.startswith(("WARNING: no member", "CAUTION: stack member")) for n in notes)
        return replace(mixed, converged=converged, notes=tuple(notes), chains_agree=True)

    def inner(self, ctx: Context, train: ScalingData) -> list[tuple[Predictive, Split]]:
        _, w, inner, _ = self.weights(ctx, train)
        return [(mixture(preds, w, self.n_draws, ctx.seed + 23), s) for preds, s in inner]


@dataclass(frozen=True)
class Growth:
    """A forecaster widened by the extrapolation discrepancy, its growth rate learned by internal backtests.

    The growth rate's posterior (:func:`bayeslaw.extrapolation.learn_growth`) is
    learned from the base forecaster's internal backtests of the training runs;
    every forecast draw gets its own ``tau`` from it. Without an internal cut
    that keeps enough training runs, the prior alone widens the forecast.
    """

    base: ModelLike | Forecaster
    label: str | None = None

    @property
    def name(self) -> str:
        return self.label or _as_forecaster(self.base).name + "+growth"

    def growth_rate(self, ctx: Context, train: ScalingData) -> tuple[GrowthPosterior, list[str]]:
        """The growth rate's posterior (log scale per decade) and notes."""
        inner = _as_forecaster(self.base).inner(ctx, train)
        if not inner:
            growth = prior_growth()
            return growth, ["no internal cut had enough training runs: " + growth.describe()]
        growth = learn_growth(
            [p for p, _ in inner], [s.test.values(s.test.target) for _, s in inner], [s.distance for _, s in inner], seed=ctx.seed
        )
        return growth, [growth.describe()]

    def forecast(self, ctx: Context, split: Split) -> Predictive:
        growth, notes = self.growth_rate(ctx, split.train)
        base = _as_forecaster(self.base).forecast(ctx, split)
        out = widen(base, split.distance, growth.sample(base.n_draws, ctx.seed + 31), ctx.seed + 29)
        return replace(out, notes=(*out.notes, *notes))

    def inner(self, ctx: Context, train: ScalingData) -> list[tuple[Predictive, Split]]:
        raise NotImplementedError("Growth is the outermost forecaster; stack the bases, then widen")


def learn_extrapolation(
    fit_: Fit, by: str = "C", *, distance: str = "by", inner_decades: Sequence[float] = INNER_CUT_DECADES
) -> Extrapolation:
    """Learn the extrapolation discrepancy of ``fit_`` from internal backtests of its own runs.

    The runs are cut at ``max(by) / 10^k`` for each ``k`` in ``inner_decades``;
    ``fit_`` is refitted on the runs below each cut (same spec, sampler settings
    and seed, see :meth:`bayeslaw.Fit.refit`) and forecasts the runs above, and
    the growth rate's posterior is learned from those forecasts
    (:func:`bayeslaw.extrapolation.learn_growth`). Pass the result to
    :meth:`bayeslaw.Fit.forecast` as ``extrapolation=``. Costs one refit per cut.

    Parameters
    ----------
    fit_
        The fit to forecast with.
    by
        The column along which extrapolation is measured: ``C`` (compute, from
        ``6 N D`` when the data have no ``C`` column), or any input column.
    distance
        ``"by"``: decades beyond the largest training value of ``by``.
        ``"nearest"``: decades (log10 of the law's inputs, Euclidean) to the
        nearest training run, for forecasts that extrapolate in a ratio of the
        inputs (tokens per parameter) inside the training compute.
    inner_decades
        Decades below the largest training value at which the internal cuts lie.
    """
    if distance not in ("by", "nearest"):
        raise ValueError(f"distance must be 'by' or 'nearest', got {distance!r}")
    inputs = list(fit_.law.inputs)

    def train_points(d: ScalingData) -> dict[str, np.ndarray]:
        return {k: d.values(k) for k in inputs}

    data = fit_.data
    top = float(by_values(data, by).max())
    preds, ys, dists, notes = [], [], [], []
    for k in inner_decades:
        split = split_at(data, top / 10**k, by, INNER_MIN_TRAIN)
        if split is None or not _spans(split.train, by):
            notes.append(
                f"internal cut at 1/10^{k:g} of the largest {by}: too few training runs (or one {by} value) or nothing beyond; skipped"
            )
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            inner_fit = fit_.refit(split.train)
        pred = predictive_from_fit(inner_fit, split.test, fit_.seed + 11)
        if not pred.converged:
            notes.append(f"WARNING: the refit at the internal cut 1/10^{k:g} did not converge: {inner_fit.diagnostics.banner()}")
        preds.append(pred)
        ys.append(split.test.values(split.test.target))
        dists.append(split.distance if distance == "by" else decades_from_nearest(train_points(split.test), train_points(split.train)))
        notes.append(f"internal cut at 1/10^{k:g}: {len(split.train)} training runs, {len(split.test)} held out")
    growth = learn_growth(preds, ys, dists, seed=fit_.seed) if preds else prior_growth()
    nearest = train_points(data) if distance == "nearest" else None
    return Extrapolation(by=by, train_max=top, growth=growth, notes=tuple(notes), train_inputs=nearest)


@dataclass
class BacktestResult(ResultContract):
    """Per-run forecasts and their scores; :meth:`table` aggregates them.

    Follows the results contract: ``draws`` holds every forecast's predictive
    draws (``mean`` and ``observation`` over ``sample`` and ``forecast``, one
    ``forecast`` per cut, model and held-out run, labelled by coordinates
    ``cut``, ``model``, ``run``, ``observed`` and ``extrapolation``);
    :meth:`summary` gives their medians and intervals, :meth:`table` the scores.
    """

    forecasts: pd.DataFrame
    predictives: dict[tuple[float, str], Predictive]
    splits: dict[float, Split]
    by: str
    notes: tuple[str, ...] = ()
    prob: float = CREDIBLE_INTERVAL
    title: ClassVar[str] = "backtest: forecasts of held-out larger runs"

    @property
    def draws(self) -> xr.Dataset:
        """Every forecast's draws (NaN-padded to the largest number of draws), labelled along ``forecast``."""
        n = max(p.n_draws for p in self.predictives.values())
        parts = []
        for (cut, model), pred in self.predictives.items():
            rows = self.forecasts[(self.forecasts["cut"] == cut) & (self.forecasts["model"] == model)]

            def pad(a: np.ndarray) -> np.ndarray:
                return np.vstack([a, np.full((n - a.shape[0], a.shape[1]), np.nan)])

            labels = [f"{cut:g}|{model}|{r}" for r in rows["run"]]
            coords = {
                "forecast": labels,
                "cut": ("forecast", rows["cut"].to_numpy(dtype=float)),
                "model": ("forecast", rows["model"].to_numpy(dtype=str)),
                "run": ("forecast", rows["run"].to_numpy(dtype=str)),
                "observed": ("forecast", rows["observed"].to_numpy(dtype=float)),
                "extrapolation": ("forecast", rows["extrapolation"].to_numpy(dtype=float)),
            }
            parts.append(
                xr.Dataset(
                    {
                        "mean": xr.DataArray(pad(pred.mean), dims=("sample", "forecast"), coords=coords),
                        "observation": xr.DataArray(pad(pred.observation), dims=("sample", "forecast"), coords=coords),
                    }
                )
            )
        return xr.concat(parts, dim="forecast")

    def table(  # type: ignore[override]
        self, prob: float | None = None, group: str | None = None, levels: Sequence[float] = COVERAGE_LEVELS
    ) -> pd.DataFrame:
        """Per cut and model (and ``group`` label): summary scores of the held-out runs.

        Columns: ``n``, ``median_abs_pct_error``, ``median_signed_pct_error`` (bias;
        positive = forecast too high), ``cover_mean_<p>`` and ``cover_obs_<p>`` for
        each level (``prob`` is added to ``levels``), ``median_width_90`` (relative),
        ``crps`` (mean, log scale), ``lpd`` (mean), ``max_extrapolation`` (factor in
        ``by``), ``converged``, ``inf_draws``. A group axis whose name is taken by a
        column of the table (such as ``model``, the fine-tuning data's axis) is
        stored as ``<axis>_group``.
        """
        levels = tuple(sorted({*levels, *((prob,) if prob else ())}))
        missing = [p for p in levels if f"cover_obs_{round(100 * p)}" not in self.forecasts]
        if missing:
            raise ValueError(f"coverage at {missing} was not scored; scored levels: {list(COVERAGE_LEVELS)}")
        return summarise(self.forecasts, ["cut", "model", *([group_column(group)] if group else [])], levels)

    def heading(self, prob: float | None = None) -> str:
        """One line: what was backtested, along which column."""
        return f"{self.title} (held out along {self.by}; coverage of {prob or self.prob:.0%} and other intervals)"


def summarise(forecasts: pd.DataFrame, keys: Sequence[str], levels: Sequence[float] = COVERAGE_LEVELS) -> pd.DataFrame:
    """Aggregate per-run scores over ``keys`` (see :meth:`BacktestResult.table`)."""
    agg: dict[str, tuple[str, Any]] = {
        "n": ("observed", "size"),
        "median_abs_pct_error": ("abs_pct_error", "median"),
        "median_signed_pct_error": ("signed_pct_error", "median"),
    }
    for p in levels:
        key = f"{round(100 * p)}"
        agg[f"cover_mean_{key}"] = (f"cover_mean_{key}", "mean")
        agg[f"cover_obs_{key}"] = (f"cover_obs_{key}", "mean")
    agg.update(
        {
            "median_width_90": ("width_90", "median"),
            "crps": ("crps", "mean"),
            "lpd": ("lpd", "mean"),
            "max_extrapolation": ("extrapolation", "max"),
            "converged": ("converged", "all"),
            "inf_draws": ("inf_draws", "sum"),
        }
    )
    return forecasts.groupby(list(keys), sort=False).agg(**agg).reset_index()


def backtest(
    data: ScalingData | pd.DataFrame,
    models: Sequence[ModelLike | Forecaster],
    *,
    cuts: Sequence[float] = (0.1, 0.01),
    by: str = "C",
    seed: int = DEFAULT_SEED,
    sampler: Mapping[str, Any] | None = None,
    context: Context | None = None,
) -> BacktestResult:
    """Fit every model on the runs with ``by <= cut * max(by)`` and forecast every run beyond, at each cut.

    Parameters
    ----------
    data
        Validated data (or a DataFrame with canonical columns).
    models
        Model names / specs, or forecasters (:class:`PointFitBootstrap`, :class:`Stack`, :class:`Growth`).
    cuts
        Fractions of the largest ``by`` value.
    by
        The column along which runs are held out (``C`` by default; ``N``, ``D``, ``examples``, ...).
    seed
        Seed of every fit and predictive draw.
    sampler
        Sampler settings of every fit (default :data:`BACKTEST_SAMPLER`, 4 x 500 draws).
    context
        A :class:`Context` to share fits between backtests (its ``by``, ``seed`` and ``sampler`` win).

    Returns
    -------
    BacktestResult
    """
    if isinstance(data, pd.DataFrame):
        data = ScalingData.from_frame(data)
    if not models:
        raise ValueError("give at least one model")
    for cut in cuts:
        if not 0 < cut < 1:
            raise ValueError(f"cuts are fractions of the largest {by!r} in (0, 1); got {cut}")
    top = float(by_values(data, by).max())
    ctx = context or Context(by=by, seed=seed, sampler=dict(sampler or BACKTEST_SAMPLER))
    forecasters = [_as_forecaster(m) for m in models]
    names = [f.name for f in forecasters]
    if len(set(names)) != len(names):
        raise ValueError(f"forecaster names must be unique; got {names} (give a label=)")
    rows, predictives, splits, notes = [], {}, {}, []
    for cut in cuts:
        split = split_at(data, cut * top, by)
        if split is None:
            notes.append(f"cut {cut:g}: no training runs or nothing held out; skipped")
            continue
        splits[cut] = split
        notes += [f"cut {cut:g}: {n}" for n in split.notes]
        y = split.test.values(split.test.target)
        for forecaster in forecasters:
            pred = forecaster.forecast(ctx, split)
            predictives[(cut, forecaster.name)] = pred
            scores = score_points(pred, y)
            scores.insert(0, "run", [str(i) for i in split.test.frame.index])
            scores.insert(0, "model", forecaster.name)
            scores.insert(0, "cut", cut)
            for axis in split.test.groups:
                scores[group_column(axis)] = split.test.frame[axis].to_numpy(dtype=str)
            scores[by] = by_values(split.test, by)
            scores["extrapolation"] = scores[by] / split.train_max
            scores["n_train"] = len(split.train)
            scores["converged"] = pred.converged
            scores["notes"] = "; ".join(pred.notes)
            rows.append(scores)
    if not rows:
        raise ValueError(f"no cut of {list(cuts)} left both training and held-out runs")
    return BacktestResult(pd.concat(rows, ignore_index=True), predictives, splits, by, tuple(notes))
