"""``fit()``: data + spec -> PyMC model -> sampling -> :class:`Fit`; and ``load_fit()``.

A :class:`Fit` holds the InferenceData (posterior, observed and constant data, and
the posterior predictive and log likelihood, which are draws x rows and computed on
request by :mod:`bayeslaw.pointwise`; all with named coords), the validated
data, the spec, the reference scales and the convergence diagnostics. Its
methods post-process the posterior draws. Questions asked of a fit (mix sweeps,
contrasts, PPC coverage, comparison, the text report) are functions in the
modules above this one, and plots live in :mod:`bayeslaw.plotting`.
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayeslaw import plausibility, pointwise, results
from bayeslaw.compiled import sample_data
from bayeslaw.constants import CREDIBLE_INTERVAL, DEFAULT_SEED, SKILL_DIM
from bayeslaw.data import ScalingData
from bayeslaw.diagnostics import ConvergenceWarning, Diagnostics, check_convergence
from bayeslaw.extrapolation import Extrapolation
from bayeslaw.families import Family, get_family
from bayeslaw.forecast import (
    POINT_DIM,
    ForecastResult,
    as_points,
    mean_at_observations,
    predictive_draws,
    predictive_groups,
    predictive_table,
    resolve_inputs,
)
from bayeslaw.groups import check_select, merge_select, require_allocation, require_axis
from bayeslaw.laws import Law, get_law
from bayeslaw.model_builder import build_model
from bayeslaw.optimum import OptimumResult, as_budget_array, optimum_draws
from bayeslaw.posterior import family_params, law_params, varying_axes
from bayeslaw.result_contract import banner_html
from bayeslaw.sampling import SamplerConfig, run_sampler
from bayeslaw.seeds import stream_seed
from bayeslaw.spec import SAMPLER_KEYS, ModelSpec, resolve_spec
from bayeslaw.spec_validation import validate_sampler, validate_spec
from bayeslaw.summaries import interval_frame
from bayeslaw.version import __version__
from bayeslaw.weights import MixLike, mix_weights


@dataclass
class Fit:
    """A fitted scaling law: posterior draws plus everything needed to use them.

    Create with :func:`fit` or :func:`load_fit`.
    """

    idata: results.Results
    data: ScalingData
    spec: ModelSpec
    refs: dict[str, float]
    diagnostics: Diagnostics
    seed: int
    notes: tuple[str, ...] = field(default_factory=tuple)

    # ------------------------------------------------------------ basic access
    @property
    def law(self) -> Law:
        """The fitted law."""
        return get_law(self.spec.law)

    @property
    def family(self) -> Family:
        """The likelihood family."""
        return get_family(self.spec.family)

    @property
    def converged(self) -> bool:
        """Whether every convergence check passed."""
        return self.diagnostics.converged

    @property
    def posterior(self) -> xr.Dataset:
        """Posterior draws (dims ``chain``, ``draw`` and group axes)."""
        return results.posterior(self.idata)

    def params(
        self,
        skill: str | None = None,
        datamix: str | None = None,
        keep: Sequence[str] = (),
        *,
        select: Mapping[str, Any] | None = None,
        **groups: Any,
    ) -> dict[str, xr.DataArray]:
        """Law parameters per draw for one group, or keeping the axes in ``keep``.

        The group is a selector over any group axes (``select={"model": "gpt2"}``
        or ``model="gpt2"``); ``skill=`` and ``datamix=`` are sugar for the same.
        """
        chosen = self.select(select, skill=skill, datamix=datamix, **groups)
        return law_params(self.posterior, self.law, chosen, keep)

    def noise_params(self, select: Mapping[str, Any] | None = None, **groups: Any) -> dict[str, xr.DataArray]:
        """Likelihood parameters (``sigma``, ``nu``, ...) per draw for one group (needed only where they vary by group)."""
        return family_params(self.posterior, self.family, self.select(select, **groups))

    def select(self, select: Mapping[str, Any] | None = None, **labels: Any) -> dict[str, Any]:
        """One selector from ``select`` and keyword labels, checked against the data's axes and labels."""
        chosen = merge_select(select, **labels)
        check_select(chosen, self.data.groups, self.data.levels)
        return chosen

    # ------------------------------------------------------------ summaries
    def summary(self, prob: float = CREDIBLE_INTERVAL) -> pd.DataFrame:
        """Median and ``prob`` credible interval of every parameter, with r_hat and ESS.

        Rows are parameters (one per group element for grouped ones), derived
        quantities (e.g. raw amplitudes and the allocation exponent ``a``) and
        likelihood parameters. A ``flag`` column marks rows failing a
        convergence threshold; the table's ``attrs["diagnostics"]`` holds the
        banner, and an unconverged fit warns on every call. The text report with
        the posterior predictive coverage is :func:`bayeslaw.report.report`.
        """
        self.diagnostics.warn()
        post = self.posterior
        law = self.law
        names = list(law.parameters)
        derived = law.derived(law_params(post, law, keep=varying_axes(post, names)), self.refs, np)
        family_names = list(self.family.params)
        dataset = xr.Dataset({**{n: post[n] for n in names}, **derived, **{n: post[n] for n in family_names}})
        rhat = results.rhat(dataset)
        bulk = results.ess(dataset, "bulk")
        tail = results.ess(dataset, "tail")
        rows = []
        for name, da in dataset.data_vars.items():
            table = interval_frame({name: da}, prob, index=[d for d in da.dims if d not in ("chain", "draw")])
            extra_dims = [d for d in da.dims if d not in ("chain", "draw")]
            for i, row in table.iterrows():
                sel = {d: row[d] for d in extra_dims}
                label = name + ("[" + ", ".join(str(row[d]) for d in extra_dims) + "]" if extra_dims else "")
                r, eb, et = (float(stat[name].sel(sel)) for stat in (rhat, bulk, tail))
                kind = "parameter" if name in names else ("likelihood" if name in family_names else "derived")
                rows.append(
                    {
                        "parameter": label,
                        "kind": kind,
                        "median": row["median"],
                        "lower": row["lower"],
                        "upper": row["upper"],
                        "r_hat": r,
                        "ess_bulk": eb,
                        "ess_tail": et,
                    }
                )
                del i
        table = pd.DataFrame(rows).set_index("parameter")
        t = self.diagnostics.thresholds
        table["flag"] = [
            ",".join(
                f
                for f, bad in (("r_hat", r > t["rhat_max"]), ("ess_bulk", b < t["ess_bulk_min"]), ("ess_tail", e < t["ess_tail_min"]))
                if bad
            )
            for r, b, e in zip(table["r_hat"], table["ess_bulk"], table["ess_tail"], strict=True)
        ]
        table.attrs["diagnostics"] = self.diagnostics.banner()
        table.attrs["prob"] = prob
        return table

    def __repr__(self) -> str:
        status = "converged" if self.converged else "NOT CONVERGED"
        return f"<Fit model={self.spec.name!r} law={self.spec.law!r} n={len(self.data)} draws={results.n_draws(self.idata)} {status}>"

    # ------------------------------------------------------------ post-processing
    def compute_optimal(
        self,
        budget: float | Sequence[float],
        *,
        select: Mapping[str, Any] | None = None,
        skill: str | None = None,
        datamix: str | None = None,
        mix: MixLike | None = None,
        prob: float = CREDIBLE_INTERVAL,
        **groups: str,
    ) -> OptimumResult:
        """Compute-optimal N*, D*, tokens per parameter and loss at the optimum, per draw.

        Parameters
        ----------
        budget
            One FLOP budget or several.
        select, skill, datamix, **groups
            The group to optimise for (required where parameters differ by it):
            ``select={"skill": "code"}``, ``skill="code"`` or any axis by name.
            The result keeps these labels.
        mix
            ``{skill: weight}``: optimise the weighted sum of the skills' losses
            (several mixes at once: ``{label: {skill: weight}}`` or weights over
            ``(mix, skill)``, e.g. from :func:`bayeslaw.weights.two_skill_path`; the
            result then has a ``mix`` dim). Solved numerically per draw. Weights
            are normalised (with a warning).
        prob
            Interval probability of the returned result's summaries.
        """
        law = self.law
        require_allocation(law)
        self.diagnostics.warn()
        budgets = as_budget_array(budget)
        plausibility.check_budgets(budgets.values, self.data)
        chosen = self.select(select, skill=skill, datamix=datamix, **groups)
        weights, notes = None, []
        if mix is not None:
            if SKILL_DIM in chosen:
                raise ValueError("pass either skill= or mix=, not both")
            require_axis(SKILL_DIM, self.data.groups, "mix=")
            weights, notes = mix_weights(mix, self.data.levels[SKILL_DIM])
        params = law_params(self.posterior, law, chosen, keep=(SKILL_DIM,) if mix is not None else ())
        draws, found = optimum_draws(law, params, self.refs, budgets, weights)
        notes = [*notes, *found]
        labels = {axis: str(value) for axis, value in chosen.items() if np.ndim(value) == 0}
        plausibility.check_optimum(draws["tokens_per_param"].median(("chain", "draw")).values, self.data)
        return OptimumResult(
            draws=draws.transpose("chain", "draw", ...), prob=prob, notes=tuple(notes), labels=labels, banner=self.diagnostics.banner()
        )

    def predict(
        self,
        params: Any = None,
        tokens: Any = None,
        *,
        select: Mapping[str, Any] | None = None,
        skill: Any = None,
        datamix: Any = None,
        prob: float = CREDIBLE_INTERVAL,
        seed: int | None = None,
        return_draws: bool = False,
        **inputs: Any,
    ) -> pd.DataFrame | tuple[pd.DataFrame, xr.Dataset]:
        """Posterior predictive forecast at new inputs.

        Parameters
        ----------
        params, tokens
            Model sizes N and training tokens D (numbers or arrays that
            broadcast). Other laws take their inputs by canonical name, e.g.
            ``predict(examples=[1e5, 1e6], model="gpt2")``.
        select, skill, datamix
            Group labels (scalars, or arrays matching the inputs) as a selector
            ``{axis: labels}``, by keyword (any axis by name) or as sugar.
        prob
            Interval probability.
        seed
            Seed of the new-observation noise (default: the fit's seed).
        return_draws
            Also return the per-draw ``mean`` and ``observation``.

        Returns
        -------
        DataFrame
            One row per point: inputs, ``mean_{median,lower,upper}`` (the law's
            curve) and ``observation_{median,lower,upper}`` (a new measurement).
        """
        self.diagnostics.warn()
        law = self.law
        given = resolve_inputs(law, {"N": params, "D": tokens, **{k: v for k, v in inputs.items() if k not in self.data.groups}})
        labels = self.select(select, skill=skill, datamix=datamix, **{k: v for k, v in inputs.items() if k in self.data.groups})
        x, groups = as_points(given, labels)
        plausibility.check_points({k: v.values for k, v in x.items()}, self.data)
        seed = stream_seed(self.seed, "predict") if seed is None else seed
        draws = predictive_draws(law, self.family, self.posterior, self.refs, x, groups, seed)
        table = predictive_table(draws, x, groups, prob)
        return (table, draws) if return_draws else table

    def forecast(
        self,
        params: Any = None,
        tokens: Any = None,
        *,
        select: Mapping[str, Any] | None = None,
        skill: Any = None,
        datamix: Any = None,
        prob: float = CREDIBLE_INTERVAL,
        seed: int | None = None,
        extrapolation: Extrapolation | None = None,
        **inputs: Any,
    ) -> ForecastResult:
        """:meth:`predict` as a result object: per-draw ``mean`` and ``observation``, each point's inputs and labels as coordinates.

        ``.table()`` gives 'median [lower, upper]' strings, ``.summary()`` a tidy
        frame and ``.intervals()`` the numeric table :meth:`predict` returns.

        ``extrapolation``: the learned extrapolation discrepancy of this fit
        (:func:`bayeslaw.backtest.learn_extrapolation`). Points beyond the
        training range are then widened by it, more the further out they lie
        (the recommended forecast of a larger run; see the README's
        "Forecasting a larger run"). Without it, the band is the law's alone.
        """
        table, draws = self.predict(
            params, tokens, select=select, skill=skill, datamix=datamix, prob=prob, seed=seed, return_draws=True, **inputs
        )
        coords = {str(c): (POINT_DIM, table[c].to_numpy()) for c in table.columns if not c.startswith(("mean_", "observation_"))}
        notes: tuple[str, ...] = ()
        if extrapolation is not None:
            given = {c: table[c].to_numpy(dtype=float) for c in self.law.inputs}
            distance = extrapolation.distance(given)
            widen_seed = stream_seed(self.seed if seed is None else seed, "extrapolation")
            draws = extrapolation.widen_draws(draws, distance, POINT_DIM, widen_seed)
            coords["decades_beyond"] = (POINT_DIM, distance)
            notes = (extrapolation.describe(),)
        return ForecastResult(draws=draws.assign_coords(coords), prob=prob, notes=notes, banner=self.diagnostics.banner())

    def to_arviz(self) -> results.Results:
        """The fit's InferenceData with every group stored, for ArviZ functions (e.g. ``az.plot_ppc``).

        Fits above :data:`bayeslaw.pointwise.STORE_CELLS_MAX` draws x observations compute their
        log-likelihood and posterior predictive on request; this computes and stores them (memory:
        8 bytes per draw and observation, per group). Smaller fits already store them.
        """
        results.materialize(self.idata)
        return self.idata

    def _repr_html_(self) -> str:
        """Notebook view: the model, the data, the convergence banner, the notes and the parameter table."""
        summary = self.summary()
        cols = ["kind", "median", "lower", "upper", "r_hat", "ess_bulk", "flag"]
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in (*self.data.notes, *self.notes))
        return (
            f"<div class='bayeslaw-fit'><p><b>bayeslaw fit</b>: model <code>{html.escape(self.spec.name)}</code> "
            f"(law {html.escape(self.spec.law)}: {html.escape(self.law.formula)}; {html.escape(self.family.description)})<br>"
            f"data: {html.escape(repr(self.data))}</p>{banner_html(self.diagnostics.banner())}"
            f"<p>{summary.attrs['prob']:.0%} equal-tailed credible intervals</p>"
            f"{summary[cols].to_html(border=0, float_format=lambda v: f'{v:.4g}')}" + (f"<ul>{notes}</ul>" if notes else "") + "</div>"
        )

    def mean_at_observations(self) -> xr.DataArray:
        """The law's mean at every observation, per draw (dims chain, draw, obs)."""
        return mean_at_observations(self.posterior, self.data, self.law, self.refs)

    def refit(self, data: ScalingData | pd.DataFrame, **options: Any) -> Fit:
        """This fit's spec, sampler settings and seed on new data, reusing the compiled model (see :func:`refit`)."""
        return refit(self, data, **options)

    # ------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the fit (InferenceData, data, spec, diagnostics) to one NetCDF file."""
        return results.save(self.idata, path)


#: Sampler settings of :func:`fit` that override the spec's ``[sampler]`` table when set.
_SAMPLER_OVERRIDES = ("draws", "tune", "chains", "backend", "target_accept", "restart_stuck_chains", "robust_starts")


def fit(
    data: ScalingData | pd.DataFrame,
    model: str | Path | Mapping[str, Any] | ModelSpec = "chinchilla",
    *,
    draws: int | None = None,
    tune: int | None = None,
    chains: int | None = None,
    cores: int | None = None,
    random_seed: int = DEFAULT_SEED,
    backend: str | None = None,
    target_accept: float | None = None,
    progress: bool = False,
    check: bool = True,
    restart_stuck_chains: bool | None = None,
    robust_starts: bool | None = None,
    reuse_compiled: bool = False,
) -> Fit:
    """Fit a scaling law to data and return a :class:`Fit`.

    Parameters
    ----------
    data
        A :class:`ScalingData`, or a DataFrame with canonical columns
        (validated with :meth:`ScalingData.from_frame` defaults).
    model
        A shipped model name (see ``bayeslaw.available_models()``), a path to a
        TOML spec, a dict, or a :class:`ModelSpec`.
    draws, tune, chains, cores, backend, target_accept
        Sampler settings; unset ones come from the spec's ``[sampler]`` table,
        then bayeslaw's defaults (``nutpie``, 4 x 1000 draws after 1000 tuning).
        Without ``draws``, a run whose r_hat or ESS misses its target is sampled
        longer (more draws appended to its chains; after divergences, a rerun with a
        smaller step), within a cap of 8 x the configured draws per chain over all runs
        (:mod:`bayeslaw.run_length`; the notes say so); with ``draws``, exactly
        that many are drawn.
    random_seed
        Seed for sampling and predictive draws: the same seed gives the same fit.
    progress
        Show the sampler's progress bar.
    check
        Run convergence checks (always recommended); failures warn loudly and
        are recorded in the fit.
    restart_stuck_chains
        Default True (or the spec's ``[sampler]`` value). If a chain's mean log
        density lies far below the best chain's (a local mode with no real
        posterior mass), rerun only the stuck chains once, started at draws of the
        others (whose draws are kept), and say so in the fit's notes (see :mod:`bayeslaw.sampling`). Chains
        whose medians of some parameter lie far apart (another mode of similar
        log density) count as stuck too.
    robust_starts
        Default False (or the spec's ``[sampler]`` value). If True, chains start
        around the best of several optima of the log density instead of the
        sampler's random points (nutpie only; :mod:`bayeslaw.starts`).
    reuse_compiled
        Compile once, fit many (:mod:`bayeslaw.compiled`): the data enter the model
        as ``pm.Data`` and the compiled model is cached per spec and data shapes, so
        later fits of same-shaped data skip compilation. Draws are reproducible but
        not bit-identical to the default path. Used by :meth:`Fit.refit` and
        :func:`bayeslaw.batch.fit_many`.
    """
    result = fit_posterior(
        data,
        model,
        draws=draws,
        tune=tune,
        chains=chains,
        cores=cores,
        random_seed=random_seed,
        backend=backend,
        target_accept=target_accept,
        progress=progress,
        check=check,
        restart_stuck_chains=restart_stuck_chains,
        robust_starts=robust_starts,
        reuse_compiled=reuse_compiled,
    )
    _add_predictive_groups(result)
    return result


def fit_posterior(
    data: ScalingData | pd.DataFrame,
    model: str | Path | Mapping[str, Any] | ModelSpec = "chinchilla",
    *,
    random_seed: int = DEFAULT_SEED,
    progress: bool = False,
    check: bool = True,
    reuse_compiled: bool = False,
    **settings: Any,
) -> Fit:
    """:func:`fit` without the observation groups (log-likelihood and posterior predictive, draws x rows each).

    :func:`fit` is this plus :func:`_add_predictive_groups`; an executor's worker
    (:func:`bayeslaw.batch.fit_small`) stops here, so the groups are computed once, by the caller.
    ``settings``: :func:`fit`'s sampler keywords (``draws``, ``tune``, ``chains``, ``cores``, ``backend``,
    ``target_accept``, ``restart_stuck_chains``, ``robust_starts``).
    """
    if isinstance(data, pd.DataFrame):
        data = ScalingData.from_frame(data)
    spec = resolve_spec(model)
    validate_spec(spec, data)  # every spec value and prior, before building the model (bayeslaw.spec_validation)
    plausibility.check_data(data, len(get_law(spec.law).parameters))
    unknown = sorted(set(settings) - {*_SAMPLER_OVERRIDES, "cores"})
    if unknown:
        raise TypeError(f"fit() got unexpected keyword arguments {unknown}")
    overrides = {k: settings.get(k) for k in _SAMPLER_OVERRIDES}
    merged = {**spec.sampler, **{k: v for k, v in overrides.items() if v is not None}}
    cores = settings.get("cores")
    validate_sampler({**merged, "cores": cores}, "sampler:")
    config = SamplerConfig(**merged, cores=cores, progress=progress, extend_to_targets=settings.get("draws") is None)
    names = list(get_law(spec.law).parameters) + list(get_family(spec.family).params)
    if reuse_compiled:
        built, sampled = sample_data(data, spec, config, random_seed, check_vars=names)
    else:
        built = build_model(data, spec)
        sampled = run_sampler(built.model, config, random_seed, check_vars=names)
    idata = sampled.idata
    notes = (*built.notes, *sampled.notes)
    diagnostics = check_convergence(idata, names, warn=check)
    result = Fit(idata=idata, data=data, spec=spec, refs=built.refs, diagnostics=diagnostics, seed=random_seed, notes=notes)
    results.set_attrs(
        idata,
        {
            "version": __version__,
            "spec": spec.to_json(),
            "data": data.to_json(),
            "refs": built.refs,
            "diagnostics": diagnostics.to_dict(),
            "seed": random_seed,
            "notes": list(notes),
            "sampler": {**{k: getattr(config, k) for k in SAMPLER_KEYS}, "extend_to_targets": config.extend_to_targets},
        },
    )
    return result


def _add_predictive_groups(result: Fit, *, eager: bool = False) -> None:
    """Add the observed and constant data, and the log-likelihood and posterior predictive groups, of ``result``.

    The last two are draws x observations: they are computed on request, in blocks of
    draws (:mod:`bayeslaw.pointwise`), from the seed's own stream. ``eager=True``
    computes and stores them in one piece, as earlier versions did (same values; kept to
    measure the difference, see ``benchmarks/bench_scale.py``).
    """
    seed = stream_seed(result.seed, "posterior_predictive")
    if eager:
        groups = predictive_groups(result.posterior, result.data, result.law, result.family, result.refs, seed)
        for group, dataset in groups.items():
            results.set_group(result.idata, group, dataset)
        return
    for group, dataset in pointwise.data_groups(result.data, result.law).items():
        results.set_group(result.idata, group, dataset)
    for kind in pointwise.KINDS:
        recipe = pointwise.ObservationGroup(kind, result.data, result.spec.law, result.spec.family, dict(result.refs), seed)
        results.set_lazy_group(result.idata, kind, recipe)
    cells = results.n_draws(result.idata) * len(result.data)
    if cells <= pointwise.STORE_CELLS_MAX:
        results.materialize(result.idata)
    else:
        result.notes = (
            *result.notes,
            f"log_likelihood and posterior_predictive ({cells:,} draws x observations) are computed on request, in blocks; "
            "fit.to_arviz() stores them for ArviZ functions that read them directly (e.g. az.plot_ppc)",
        )


#: Sampler settings that :func:`fit` takes as keywords (the rest stay in the spec), carried over by :func:`refit`.
_REFIT_KEYWORDS = ("backend", "draws", "tune", "chains", "target_accept", "restart_stuck_chains", "robust_starts")


def refit(fitted: Fit, data: ScalingData | pd.DataFrame, **options: Any) -> Fit:
    """``fitted``'s spec, sampler settings and seed on new ``data``, on the compile-once path.

    Keywords in ``options`` override the stored settings (e.g. ``random_seed=``, ``draws=``).
    """
    stored = _sampler_settings(fitted)
    merged = {"random_seed": fitted.seed, **stored, **options}
    return fit(data, fitted.spec, reuse_compiled=True, **merged)


def _sampler_settings(fitted: Fit) -> dict[str, Any]:
    """The sampler settings a fit was run with, as keywords of :func:`bayeslaw.fit`."""
    try:
        settings = results.get_json_attr(fitted.idata, "sampler")
    except results.FitFileError:
        return {}
    unused = set(settings) - {*SAMPLER_KEYS, "extend_to_targets"}
    if unused:
        raise ValueError(f"unknown sampler settings {sorted(unused)} in the fit's attributes")
    keywords = {key: settings[key] for key in _REFIT_KEYWORDS if key in settings}
    if settings.get("extend_to_targets"):
        keywords.pop("draws", None)  # a fit that did not set draws sampled longer where its targets were missed; so does the refit
    return keywords


def load_fit(path: str | Path) -> Fit:
    """Load a fit written by :meth:`Fit.save`; raises ``FitFileError`` for foreign or corrupt files."""
    idata = results.load(path)
    try:
        spec = ModelSpec.from_json(results.get_attr(idata, "spec"))
        data = ScalingData.from_json(results.get_attr(idata, "data"))
        refs = results.get_json_attr(idata, "refs")
        diagnostics = Diagnostics.from_dict(results.get_json_attr(idata, "diagnostics"))
        seed = int(results.get_json_attr(idata, "seed"))
        notes = tuple(results.get_json_attr(idata, "notes"))
    except results.FitFileError as err:
        raise results.FitFileError(f"{path}: {err}") from None
    except (ValueError, KeyError, TypeError) as err:
        raise results.FitFileError(f"{path}: bayeslaw metadata is unreadable ({err})") from None
    if not results.has_digest(idata):  # no save-time digest (older file): trust only checks recomputed from the draws
        diagnostics = check_convergence(idata, list(get_law(spec.law).parameters) + list(get_family(spec.family).params), warn=False)
    loaded = Fit(idata=idata, data=data, spec=spec, refs=refs, diagnostics=diagnostics, seed=seed, notes=notes)
    if not loaded.converged:
        warnings.warn(f"{path}: {diagnostics.banner()}", ConvergenceWarning, stacklevel=2)
    return loaded
