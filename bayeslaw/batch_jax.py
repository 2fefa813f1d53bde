"""``fit_many(datasets, model, backend="jax")``: same-shape datasets fitted in one vmapped JAX program, returned as Fits.

The sampler is :mod:`bayeslaw.jax_sampler` (blackjax NUTS, dense mass
matrix, one program for every dataset and chain). This module turns its draws into
ordinary :class:`~bayeslaw.fit.Fit` objects: each dataset gets its own convergence
diagnostics (r_hat, bulk and tail ESS, divergences, from the same functions
:func:`bayeslaw.fit` uses), its posterior predictive and log-likelihood groups, and
the same stamped attributes, so an unconverged member warns and is flagged like any fit.

Datasets are grouped by what the model's shapes depend on (:func:`bayeslaw.compiled.cache_key`:
rows, group levels); each group is one JAX program. The batch runs the configured
draws once: stuck chains and missed r_hat/ESS targets are flagged in the diagnostics
and notes, not rerun (nutpie's :func:`bayeslaw.fit` reruns them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from bayeslaw import plausibility, results
from bayeslaw.chain_checks import chains_apart
from bayeslaw.compiled import cache_key
from bayeslaw.data import ScalingData
from bayeslaw.diagnostics import check_convergence, stuck_chains
from bayeslaw.families import get_family
from bayeslaw.fit import Fit, _add_predictive_groups
from bayeslaw.jax_sampler import JAX_BATCH, BatchProgram, BatchRun, BatchSettings, JaxBatchUnavailable, missing
from bayeslaw.laws import get_law
from bayeslaw.model_builder import BuiltModel, build_model, model_data
from bayeslaw.sampling import SamplerConfig
from bayeslaw.spec import ModelSpec
from bayeslaw.spec_validation import validate_pooling, validate_sampler, validate_spec
from bayeslaw.version import __version__

#: Keywords of :func:`bayeslaw.fit_many` this path takes (besides ``backend``, ``random_seed``).
OPTIONS = ("draws", "tune", "chains", "target_accept", "check", "restart_stuck_chains")
#: Batch programs kept per process (oldest dropped first), keyed like :mod:`bayeslaw.compiled`'s models.
PROGRAM_CACHE_SIZE = 4
_PROGRAMS: dict[tuple, tuple[BuiltModel, BatchProgram]] = {}


def fit_many_jax(datasets: Sequence[ScalingData], spec: ModelSpec, seeds: Sequence[int], options: Mapping[str, Any]) -> list[Fit]:
    """Fit ``spec`` to every dataset with the JAX batch sampler; one :class:`Fit` per dataset, in order.

    ``options``: keywords of :func:`bayeslaw.fit` in :data:`OPTIONS` (others raise); unset
    sampler settings come from the spec's ``[sampler]`` table, then bayeslaw's defaults.
    """
    why = missing()
    if why is not None:
        raise JaxBatchUnavailable(why)
    unknown = sorted(set(options) - {*OPTIONS, "backend"})
    if unknown:
        raise TypeError(f"fit_many(backend={JAX_BATCH!r}) does not take {unknown}; it takes {list(OPTIONS)}")
    if spec.sampler.get("robust_starts"):
        raise ValueError(f"robust_starts is a nutpie option; fit_many(backend={JAX_BATCH!r}) starts at PyMC's jittered initial points")
    settings = _settings(spec, options)
    check = bool(options.get("check", True))
    validate_spec(spec)  # the priors and sampler table, once: they do not depend on the data
    for data in datasets:
        validate_pooling(spec, data)
        plausibility.check_data(data, len(get_law(spec.law).parameters))
    fits: list[Fit | None] = [None] * len(datasets)
    for key, members in _same_shape(datasets, spec).items():
        group = [datasets[i] for i in members]
        built, program = _program(key, group[0], spec)
        runs = program.runs([model_data(d, spec) for d in group], [d.coords() for d in group], settings, [seeds[i] for i in members])
        for i, data, run in zip(members, group, runs, strict=True):
            fits[i] = _as_fit(run, data, spec, built, settings, seeds[i], check)
    return [f for f in fits if f is not None]


def _program(key: tuple, data: ScalingData, spec: ModelSpec) -> tuple[BuiltModel, BatchProgram]:
    """The batch program of ``key`` (kept in this process, so a later batch of the same shapes skips JAX's compile)."""
    if key not in _PROGRAMS:
        built = build_model(data, spec, as_data=True)
        _PROGRAMS[key] = (built, BatchProgram(built))
        while len(_PROGRAMS) > PROGRAM_CACHE_SIZE:
            _PROGRAMS.pop(next(iter(_PROGRAMS)))
    return _PROGRAMS[key]


def _settings(spec: ModelSpec, options: Mapping[str, Any]) -> BatchSettings:
    """The batch's draws, tune, chains and target_accept: the call's, else the spec's, else bayeslaw's defaults."""
    chosen = {key: options.get(key, spec.sampler.get(key)) for key in ("draws", "tune", "chains", "target_accept")}
    validate_sampler(chosen, "sampler:")
    defaults = SamplerConfig()
    return BatchSettings(**{key: getattr(defaults, key) if value is None else value for key, value in chosen.items()})


def _same_shape(datasets: Sequence[ScalingData], spec: ModelSpec) -> dict[tuple, list[int]]:
    """Dataset indices grouped by the model shapes they need (one JAX program per group)."""
    groups: dict[tuple, list[int]] = {}
    for i, data in enumerate(datasets):
        groups.setdefault(cache_key(data, spec, JAX_BATCH), []).append(i)
    return groups


def _as_fit(run: BatchRun, data: ScalingData, spec: ModelSpec, built: BuiltModel, settings: BatchSettings, seed: int, check: bool) -> Fit:
    """One dataset's batch draws as a :class:`Fit`, with its own diagnostics, predictive groups and attributes."""
    idata = results.from_datasets({"posterior": run.posterior, "sample_stats": run.sample_stats})
    values = model_data(data, spec)
    refs = {key: float(values[f"ref_{key}"]) for key in built.refs}
    names = list(get_law(spec.law).parameters) + list(get_family(spec.family).params)
    notes = (*built.notes, *_stuck_notes(idata, settings))
    diagnostics = check_convergence(idata, names, warn=check)
    result = Fit(idata=idata, data=data, spec=spec, refs=refs, diagnostics=diagnostics, seed=seed, notes=notes)
    _add_predictive_groups(result)
    sampler = {**asdict(settings), "backend": JAX_BATCH, "low_rank": False, "restart_stuck_chains": False, "robust_starts": False}
    sampler.pop("max_doublings")
    results.set_attrs(
        idata,
        {
            "version": __version__,
            "spec": spec.to_json(),
            "data": data.to_json(),
            "refs": refs,
            "diagnostics": diagnostics.to_dict(),
            "seed": seed,
            "notes": list(notes),
            "sampler": {**sampler, "extend_to_targets": False},
        },
    )
    return result


def _stuck_notes(idata: results.Results, settings: BatchSettings) -> list[str]:
    """What the batch path says about its run: its sampler, and any stuck chains (flagged, not rerun)."""
    notes = [
        f"sampled by the JAX batch path (blackjax NUTS, dense mass matrix): {settings.chains} chains x {settings.draws} draws "
        f"after {settings.tune} warm-up; stuck chains and missed r_hat/ESS targets are flagged, not rerun"
    ]
    log_density = results.log_density(idata)
    stuck = stuck_chains(log_density) if log_density is not None and log_density.sizes["chain"] >= 2 else None
    if stuck is None or not stuck.chains:
        stuck = chains_apart(results.posterior(idata), log_density)
    if stuck.chains:
        notes.append(f"chains {list(stuck.chains)} were stuck ({stuck.description}); not rerun (JAX batch path)")
    return notes


__all__ = ["OPTIONS", "fit_many_jax"]
