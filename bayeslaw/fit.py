"""``fit()``: data + spec -> PyMC model -> sampling -> :class:`Fit`; and ``load_fit()``.

A :class:`Fit` holds the InferenceData (posterior, posterior predictive, log
likelihood, observed and constant data, all with named coords), the validated
data, the spec, the reference scales and the convergence diagnostics. Its
methods post-process the posterior draws; plots live in :mod:`bayeslaw.plotting`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayeslaw import __version__, plausibility, results
from bayeslaw.constants import CREDIBLE_INTERVAL, DEFAULT_SEED, OBS_DIM, PPC_INTERVAL
from bayeslaw.data import ScalingData
from bayeslaw.diagnostics import ConvergenceWarning, Diagnostics, check_convergence
from bayeslaw.families import Family, get_family
from bayeslaw.forecast import as_points, predictive_draws, predictive_table, sample_observations
from bayeslaw.laws import Law, get_law
from bayeslaw.mix import MixLike, mix_weights
from bayeslaw.model_builder import OBSERVED, build_model
from bayeslaw.optimum import OptimumResult, as_budget_array, optimum_closed_form, optimum_numeric
from bayeslaw.posterior import law_params, varying_axes
from bayeslaw.ppc import CoverageCheck, ppc_coverage
from bayeslaw.sampling import SamplerConfig, run_sampler
from bayeslaw.spec import SAMPLER_KEYS, ModelSpec, resolve_spec
from bayeslaw.spec_validation import validate_sampler, validate_spec
from bayeslaw.summaries import interval_frame

_INPUT_ALIASES = {"params": "N", "tokens": "D", "compute": "C"}


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
        self, skill: str | None = None, datamix: str | None = None, keep: Sequence[str] = (), **groups: str
    ) -> dict[str, xr.DataArray]:
        """Law parameters per draw for one group (labels), or keeping the axes in ``keep``."""
        select = {k: v for k, v in {"skill": skill, "datamix": datamix, **groups}.items() if v is not None}
        self._check_labels(select)
        return law_params(self.posterior, self.law, select, keep)

    def _check_labels(self, labels: Mapping[str, Any]) -> None:
        """Raise for a group axis the data lacks or a label it does not have (never ignore them silently)."""
        for axis, value in labels.items():
            if value is None:
                continue
            if axis not in self.data.groups:
                raise ValueError(f"this fit has no {axis!r} axis (its data's group axes: {list(self.data.groups)}); drop {axis}=")
            unknown = sorted(set(np.atleast_1d(np.asarray(value, dtype=str)).ravel()) - set(self.data.levels[axis]))
            if unknown:
                raise ValueError(f"unknown {axis} {unknown}; the fit has {list(self.data.levels[axis])}")

    def _warn_if_unconverged(self) -> None:
        if not self.converged:
            warnings.warn(self.diagnostics.banner(), ConvergenceWarning, stacklevel=3)

    # ------------------------------------------------------------ summaries
    def summary(self, prob: float = CREDIBLE_INTERVAL) -> pd.DataFrame:
        """Median and ``prob`` credible interval of every parameter, with r_hat and ESS.

        Rows are parameters (one per group element for grouped ones), derived
        quantities (e.g. raw amplitudes and the allocation exponent ``a``) and
        likelihood parameters. A ``flag`` column marks rows failing a
        convergence threshold; the table's ``attrs["diagnostics"]`` holds the
        banner, and an unconverged fit warns on every call.
        """
        self._warn_if_unconverged()
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
        check = self.ppc_coverage()
        if check is not None:
            table.attrs["ppc"] = check.banner()
            table.attrs["ppc_ok"] = check.ok
            table.attrs["ppc_coverage"] = check.table["coverage"].to_dict()
        return table

    def ppc_coverage(self, prob: float = PPC_INTERVAL, by: str | None = "skill") -> CoverageCheck | None:
        """Share of observations inside their ``prob`` posterior predictive interval, per ``by`` group.

        Groups outside ``PPC_COVERAGE_BOUNDS`` are flagged (also in :meth:`summary`
        attrs and :meth:`report`). ``None`` when the results hold no posterior predictive draws.
        """
        if not results.has_group(self.idata, "posterior_predictive"):
            return None
        return ppc_coverage(self, prob, by)

    def report(self, prob: float = CREDIBLE_INTERVAL) -> str:
        """Plain-text report: model, data, diagnostics banner and parameter table."""
        summary = self.summary(prob)
        lines = [
            f"bayeslaw fit: model {self.spec.name!r} (law {self.spec.law}, {self.family.description})",
            f"data: {self.data!r}",
            self.diagnostics.banner(),
            *([summary.attrs["ppc"]] if "ppc" in summary.attrs else []),
            *[f"note: {n}" for n in (*self.data.notes, *self.notes)],
            f"{prob:.0%} credible intervals (equal-tailed):",
            summary.to_string(float_format=lambda v: f"{v:.4g}"),
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        status = "converged" if self.converged else "NOT CONVERGED"
        return f"<Fit model={self.spec.name!r} law={self.spec.law!r} n={len(self.data)} draws={results.n_draws(self.idata)} {status}>"

    # ------------------------------------------------------------ post-processing
    def compute_optimal(
        self,
        budget: float | Sequence[float],
        *,
        skill: str | None = None,
        datamix: str | None = None,
        mix: MixLike | None = None,
        prob: float = CREDIBLE_INTERVAL,
    ) -> OptimumResult:
        """Compute-optimal N*, D*, tokens per parameter and loss at the optimum, per draw.

        Parameters
        ----------
        budget
            One FLOP budget or several.
        skill, datamix
            The group to optimise for (required where parameters differ by it).
        mix
            ``{skill: weight}``: optimise the weighted sum of the skills' losses
            (several mixes at once: ``{label: {skill: weight}}`` or weights over
            ``(mix, skill)``, e.g. from :func:`bayeslaw.mix.two_skill_path`; the
            result then has a ``mix`` dim). Solved numerically per draw. Weights
            are normalised (with a warning).
        prob
            Interval probability of the returned result's summaries.
        """
        law = self.law
        if not law.allocates_compute():
            raise ValueError(f"law {law.lookup_name!r} does not model (N, D): compute-optimal allocation is undefined")
        self._warn_if_unconverged()
        budgets = as_budget_array(budget)
        plausibility.check_budgets(budgets.values, self.data)
        notes: list[str] = []
        if mix is not None:
            if skill is not None:
                raise ValueError("pass either skill= or mix=, not both")
            if "skill" not in self.data.groups:
                raise ValueError("mix= needs a fit with a skill axis; this data has no skills")
            weights, notes = mix_weights(mix, self.data.levels["skill"])
            params = self.params(datamix=datamix, keep=("skill",))
            draws, more = optimum_numeric(law, params, self.refs, budgets, weights)
            notes += more
        else:
            params = self.params(skill=skill, datamix=datamix)
            draws = optimum_closed_form(law, params, self.refs, budgets)
            if draws is None:
                draws, notes = optimum_numeric(law, params, self.refs, budgets)
        plausibility.check_optimum(draws["tokens_per_param"].median(("chain", "draw")).values, self.data)
        return OptimumResult(draws=draws.transpose("chain", "draw", ...), prob=prob, notes=tuple(notes))

    def predict(
        self,
        params: Any = None,
        tokens: Any = None,
        *,
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
        skill, datamix
            Group labels (scalars, or arrays matching the inputs).
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
        self._warn_if_unconverged()
        law = self.law
        given = {"N": params, "D": tokens, **{_INPUT_ALIASES.get(k, k): v for k, v in inputs.items() if k not in self.data.groups}}
        labels = {"skill": skill, "datamix": datamix, **{k: v for k, v in inputs.items() if k in self.data.groups}}
        given = {k: v for k, v in given.items() if v is not None}
        if set(law.inputs) <= {"N", "D"} and "C" in given and len(given) == 2:
            known = "N" if "N" in given else "D"
            other = "D" if known == "N" else "N"
            given[other] = np.asarray(given.pop("C"), dtype=float) / (6.0 * np.asarray(given[known], dtype=float))
        missing = [k for k in law.inputs if k not in given]
        extra = [k for k in given if k not in law.inputs]
        if missing or extra:
            raise ValueError(f"law {law.lookup_name!r} needs inputs {list(law.inputs)}; missing {missing}, unexpected {extra}")
        self._check_labels(labels)
        x, groups = as_points({k: given[k] for k in law.inputs}, labels)
        plausibility.check_points({k: v.values for k, v in x.items()}, self.data)
        draws = predictive_draws(law, self.family, self.posterior, self.refs, x, groups, self.seed + 7 if seed is None else seed)
        table = predictive_table(draws, x, groups, prob)
        return (table, draws) if return_draws else table

    def mean_at_observations(self) -> xr.DataArray:
        """The law's mean at every observation, per draw (dims chain, draw, obs)."""
        x, groups = observation_points(self.data, self.law)
        params = law_params(self.posterior, self.law, groups)
        return self.law.mean(x, params, self.refs, np)

    # ------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the fit (InferenceData, data, spec, diagnostics) to one NetCDF file."""
        return results.save(self.idata, path)


def observation_points(data: ScalingData, law: Law) -> tuple[dict[str, xr.DataArray], dict[str, xr.DataArray]]:
    """Inputs and group labels of every observation as DataArrays over ``obs``."""
    obs = [str(i) for i in data.frame.index]
    x = {k: xr.DataArray(data.values(k), dims=OBS_DIM, coords={OBS_DIM: obs}) for k in law.inputs}
    groups = {a: xr.DataArray(data.frame[a].to_numpy(dtype=str), dims=OBS_DIM, coords={OBS_DIM: obs}) for a in data.groups}
    return x, groups


def _add_predictive_groups(fit_: Fit) -> None:
    """Add observed_data, constant_data, log_likelihood and posterior_predictive (numpy, per draw)."""
    data, family, post = fit_.data, fit_.family, fit_.posterior
    x, groups = observation_points(data, fit_.law)
    mean = fit_.mean_at_observations()
    family_params = {k: post[k] for k in family.params}
    b_mean, *b_fam = xr.broadcast(family.transform(mean), *family_params.values())
    fam_values = dict(zip(family_params, (b.values for b in b_fam), strict=True))
    observed = data.values(data.target)
    y_link = family.transform(observed)
    log_lik = b_mean.copy(data=family.logpdf(y_link[None, None, :], b_mean.values, fam_values))
    predicted = sample_observations(family, mean, family_params, data.target, fit_.seed + 1)
    coords = {OBS_DIM: x[data.inputs[0]][OBS_DIM].values, **{a: (OBS_DIM, g.values) for a, g in groups.items()}}
    obs_da = xr.DataArray(observed, dims=OBS_DIM, coords=coords)
    results.set_group(fit_.idata, "observed_data", xr.Dataset({OBSERVED: obs_da}))
    results.set_group(fit_.idata, "constant_data", xr.Dataset({k: v.assign_coords(coords) for k, v in x.items()}))
    results.set_group(fit_.idata, "log_likelihood", xr.Dataset({OBSERVED: log_lik.assign_coords(coords)}))
    results.set_group(fit_.idata, "posterior_predictive", xr.Dataset({OBSERVED: predicted.assign_coords(coords)}))


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
        posterior mass), rerun all chains once, started at draws of the others,
        and say so in the fit's notes (see :mod:`bayeslaw.sampling`).
    """
    if isinstance(data, pd.DataFrame):
        data = ScalingData.from_frame(data)
    spec = resolve_spec(model)
    validate_spec(spec, data)  # every spec value and prior, before building the model (bayeslaw.spec_validation)
    plausibility.check_data(data, len(get_law(spec.law).parameters))
    built = build_model(data, spec)
    overrides = {
        "draws": draws,
        "tune": tune,
        "chains": chains,
        "backend": backend,
        "target_accept": target_accept,
        "restart_stuck_chains": restart_stuck_chains,
    }
    merged = {**spec.sampler, **{k: v for k, v in overrides.items() if v is not None}}
    validate_sampler({**merged, "cores": cores}, "sampler:")
    config = SamplerConfig(**merged, cores=cores, progress=progress)
    sampled = run_sampler(built.model, config, random_seed)
    idata = sampled.idata
    notes = (*built.notes, *sampled.notes)
    names = list(built.law.parameters) + list(get_family(spec.family).params)
    diagnostics = check_convergence(idata, names, warn=check)
    result = Fit(idata=idata, data=data, spec=spec, refs=built.refs, diagnostics=diagnostics, seed=random_seed, notes=notes)
    _add_predictive_groups(result)
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
            "sampler": {k: getattr(config, k) for k in SAMPLER_KEYS},
        },
    )
    return result


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


def with_idata(fit_: Fit, idata: results.Results) -> Fit:
    """A copy of ``fit_`` holding other results (used by tests that mock sampling)."""
    return replace(fit_, idata=idata)
