"""Sampling: the sampler settings, dispatch to a backend, and the policy (stuck chains, starts, run length).

The backends themselves (``nutpie``, the default; ``pymc``; ``numpyro`` when
installed) live in :mod:`bayeslaw.backends`; this module only chooses one by
name and decides whether to rerun, where to start and how long to sample.

**Stuck chains.** Scaling-law posteriors can have local modes (the Chinchilla
law's N and D terms can swap roles on some data). A chain started near one can
stay there, and R-hat then fails although the other chains agree. After
sampling, :func:`bayeslaw.diagnostics.stuck_chains` compares the chains' mean log
densities, then :func:`bayeslaw.chain_checks.chains_apart` the other chains' medians of
every parameter against their within-chain spreads (a chain in another mode of
nearly equal log density, or of a lower one under the log-density gap: chains in
two different wrong modes are all found in one round). When chains are stuck either way, only those chains are
rerun, once, with another seed (nutpie reuses the compiled model), each started at a
draw of the good chains; the good chains keep their draws, the new chains take the
stuck ones' places, and the fit's notes say so with the numbers. A fit with no stuck
chain never reruns, so its draws are those of the first run.
``restart_stuck_chains=False`` keeps the first run. The rerun fit is checked like
any other; if a chain is still stuck, the notes say that too.

**Robust starts** (opt-in: ``robust_starts=True``, backends exposing
:meth:`~bayeslaw.backends.Backend.logp_grad`, i.e. nutpie). Chains start around the
best of several local optima of the log density, jittered by its curvature
(:mod:`bayeslaw.starts`), instead of the sampler's random points near the prior's centre.

**Run length by target.** When a run's r_hat or ESS misses its target but its
chains agree, more draws are sampled from its own draws and appended to its chains
(after divergences, a longer run with a smaller step replaces it), within a cap on
draws (:mod:`bayeslaw.run_length`); fit() asks for this only when the call did not set ``draws``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pymc as pm

from bayeslaw import interrupts, results, run_length, starts
from bayeslaw.backends import Backend, Run, backend_names, get_backend
from bayeslaw.chain_checks import chains_apart
from bayeslaw.constants import (
    DEFAULT_BACKEND,
    DEFAULT_CHAINS,
    DEFAULT_DRAWS,
    DEFAULT_TARGET_ACCEPT,
    DEFAULT_TUNE,
    RESTART_SEED_OFFSET,
)
from bayeslaw.diagnostics import StuckChains, stuck_chains
from bayeslaw.seeds import SEED_STREAMS, stream_seed


@dataclass(frozen=True)
class SamplerConfig:
    """Sampler settings, merged from defaults, the spec and the call (in that order)."""

    backend: str = DEFAULT_BACKEND
    draws: int = DEFAULT_DRAWS
    tune: int = DEFAULT_TUNE
    chains: int = DEFAULT_CHAINS
    cores: int | None = None
    target_accept: float = DEFAULT_TARGET_ACCEPT
    low_rank: bool = True
    progress: bool = False
    restart_stuck_chains: bool = True
    robust_starts: bool = False
    extend_to_targets: bool = False

    def __post_init__(self) -> None:
        if self.backend not in backend_names():
            raise ValueError(f"unknown sampler backend {self.backend!r}; choose one of {backend_names()}")
        for name in ("draws", "tune", "chains"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("low_rank", "restart_stuck_chains", "robust_starts", "extend_to_targets"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if not 0 < self.target_accept < 1:
            raise ValueError(f"target_accept must be in (0, 1), got {self.target_accept}")


@dataclass(frozen=True)
class Sampled:
    """A sampler run: the results, and sentences for the fit's notes."""

    idata: results.Results
    notes: tuple[str, ...] = ()


def run_sampler(model: pm.Model, config: SamplerConfig, seed: int, check_vars: list[str] | None = None) -> Sampled:
    """Sample ``model`` with the configured backend; rerun once if a chain is stuck, then sample longer if targets are missed.

    ``check_vars`` are the variables whose r_hat and ESS decide the run length (every
    posterior variable when ``None``); fit() passes the ones its convergence check reads.
    See the module docstring.
    """
    backend = get_backend(config.backend)
    return run_prepared(backend, backend.prepare(model), config, seed, check_vars)


def run_prepared(backend: Backend, prepared: object, config: SamplerConfig, seed: int, check_vars: list[str] | None = None) -> Sampled:
    """:func:`run_sampler` on a model ``backend`` has already prepared (e.g. a cached compiled model with new data)."""
    cores = config.cores or min(config.chains, 2)
    first_starts, notes = _robust_starts(backend, prepared, config, seed) if config.robust_starts else (None, [])
    keep_state = _may_restart(backend, config) or _may_extend(backend, config)
    run = _sample(backend, prepared, config, seed, cores, starts=first_starts, keep_state=keep_state)
    run, rerun_notes, stuck = _rerun_stuck(backend, prepared, run, config, seed, cores)
    notes += rerun_notes
    if _may_extend(backend, config) and not stuck.chains:
        run, extend_notes = _extend_to_targets(backend, prepared, run, config, seed, cores, check_vars)
        notes += extend_notes
    idata = run.idata
    results.drop_warmup(idata)
    return Sampled(idata=idata, notes=tuple(notes))


def _may_restart(backend: Backend, config: SamplerConfig) -> bool:
    """Whether the policy may rerun stuck chains with this backend and these settings."""
    return config.restart_stuck_chains and config.chains > 1 and backend.restarts


def _may_extend(backend: Backend, config: SamplerConfig) -> bool:
    """Whether the policy may sample longer to reach the targets with this backend and these settings."""
    return config.extend_to_targets and backend.restarts


def _robust_starts(backend: Backend, prepared: object, config: SamplerConfig, seed: int) -> tuple[object, list[str]]:
    """Starting points around the best optimum of the log density (:mod:`bayeslaw.starts`), and notes."""
    logp_grad = backend.logp_grad(prepared)
    if logp_grad is None:
        why = f"robust starts: backend {backend.lookup_name!r} does not expose its log density; chains started at its default points"
        return None, [why]
    found = starts.find_starts(
        logp_grad, lambda s: backend.initial_point(prepared, s), stream_seed(seed, "starts"), n_points=4 * config.chains
    )
    note = found.note()
    return found.points, [note] if note else []


def _sample(backend: Backend, prepared: object, config: SamplerConfig, seed: int, cores: int, **kwargs: Any) -> Run:
    """One backend run of ``config.chains`` x ``config.draws``; raise :class:`bayeslaw.interrupts.FitInterrupted` on Ctrl-C.

    nutpie and PyMC return the draws made so far when interrupted: a SIGINT during the run, or a
    posterior short of draws or holding NaN (unfinished chains), raises instead of becoming a fit.
    """
    with interrupts.watch() as seen:
        run = backend.sample(prepared, config, seed, cores, **kwargs)
    interrupts.raise_if_incomplete(seen, results.posterior(run.idata), config.draws, config.chains, run.idata)
    return run


def _no_restart_reason(backend: Backend, config: SamplerConfig, run: Run) -> str | None:
    """Why stuck chains of ``run`` would not be rerun, or ``None`` if they would."""
    if not config.restart_stuck_chains:
        return "restart_stuck_chains=False"
    if not backend.restarts:
        return f"no rerun with backend {backend.lookup_name!r}"
    return run.no_restart


def _rerun_stuck(
    backend: Backend, prepared: object, run: Run, config: SamplerConfig, seed: int, cores: int
) -> tuple[Run, list[str], StuckChains]:
    """The stuck-chain policy: detect stuck chains (:func:`_stuck`); rerun only those, once, from the others' draws.

    The other chains keep their draws; the new chains take the stuck ones' places.
    Returns the run the fit reports (the merged run, if there was a rerun), the notes
    saying what happened, and the stuck chains of the returned run.
    """
    stuck = _stuck(run.idata)
    if not stuck.chains:
        return run, [], stuck
    why = _no_restart_reason(backend, config, run)
    if why is not None:
        return run, [f"chains {list(stuck.chains)} were stuck ({stuck.description}); not rerun ({why})"], stuck
    rerun_seed = seed + RESTART_SEED_OFFSET
    bad = list(stuck.chains)
    good = [c for c in range(config.chains) if c not in stuck.chains]
    points = backend.start_points(prepared, run, good, len(bad), rerun_seed)
    keep_state = _may_extend(backend, config)
    subset = replace(config, chains=len(bad))
    with interrupts.watch() as seen:
        fresh = backend.sample_chains(prepared, config, rerun_seed, cores, points, len(bad), keep_state=keep_state)
    interrupts.raise_if_incomplete(seen, results.posterior(fresh.idata), subset.draws, subset.chains, fresh.idata)
    merged = Run(
        idata=results.replace_chains(run.idata, fresh.idata, bad),
        state=_replace_state(run.state, fresh.state, bad) if keep_state else None,
        no_restart=fresh.no_restart or run.no_restart,
    )
    note = (
        f"chains {bad} were stuck ({stuck.description}), as in a local mode with no real posterior "
        f"mass. Those {len(bad)} chain(s) were rerun once (seed {rerun_seed}), each started at a draw of chains {good}, "
        "whose draws are kept; the merged chains are what this fit reports (restart_stuck_chains=False keeps the first run)"
    )
    again = _stuck(merged.idata)
    if again.chains:
        note += f". After the rerun chains {list(again.chains)} are still stuck: {again.description}"
    return merged, [note], again


def _replace_state(state: Any, fresh: Any, chains: list[int]) -> Any:
    """A run's restart state (an array with chains first, e.g. nutpie's unconstrained draws) with ``chains`` replaced by ``fresh``'s."""
    if state is None or fresh is None:
        return None
    merged = np.array(state, copy=True)
    merged[chains] = fresh
    return merged


def _extend_to_targets(
    backend: Backend, prepared: object, run: Run, config: SamplerConfig, seed: int, cores: int, check_vars: list[str] | None
) -> tuple[Run, list[str]]:
    """Sample more while r_hat or ESS miss their targets, within the cap on draws (:mod:`bayeslaw.run_length`).

    More draws are appended to the chains; after divergences a longer run at a raised target
    acceptance rate replaces them.
    """
    targets = run_length.Targets()
    first = shortfall = run_length.measure(run.idata, check_vars)
    if first.met(targets) or run.no_restart is not None:
        return run, []
    held, drawn, done = config.draws, config.draws, []
    chains = list(range(config.chains))
    accept = config.target_accept
    while True:
        step = run_length.plan(shortfall, targets, held, config.draws, drawn, len(done), accept)
        if not step.draws:
            break
        accept = step.target_accept or accept
        new_seed = stream_seed(seed, "run_length") + len(done) * SEED_STREAMS["run_length"]
        points = backend.start_points(prepared, run, chains, config.chains, new_seed)
        if step.appended:
            more = replace(config, draws=step.draws, tune=run_length.append_tune(config.tune), target_accept=accept)
            run = _appended(run, _sample(backend, prepared, more, new_seed, cores, starts=points, keep_state=True))
            held += step.draws
        else:
            longer = replace(config, draws=step.draws, target_accept=accept)
            run = _sample(backend, prepared, longer, new_seed, cores, starts=points, keep_state=True)
            held = step.draws
        drawn += step.draws
        shortfall = run_length.measure(run.idata, check_vars)
        done.append((step, new_seed, shortfall))
        stuck = _stuck(run.idata)
        if stuck.chains:
            why = f"the longer run has stuck chains {list(stuck.chains)}: {stuck.description}"
            return run, [run_length.note(first, done, why, config.chains, held, config.tune)]
    return run, [run_length.note(first, done, step.reason, config.chains, held, config.tune)]


def _appended(run: Run, more: Run) -> Run:
    """``run`` with ``more``'s draws appended to each chain (and to the restart state, draws on axis 1)."""
    state = None if run.state is None or more.state is None else np.concatenate([run.state, more.state], axis=1)
    return Run(idata=results.append_draws(run.idata, more.idata), state=state, no_restart=more.no_restart or run.no_restart)


def _stuck(idata: results.Results) -> StuckChains:
    """Stuck chains of a run: far below in log density, and of the others those apart in some parameter's medians.

    Both checks run: the chains the log-density check leaves are compared by their medians, so that
    chains in a second, less-low mode (under the log-density gap) are rerun in the same round.
    """
    log_density = results.log_density(idata)
    posterior = results.posterior(idata)
    if log_density is None or log_density.sizes["chain"] < 2:
        return chains_apart(posterior, log_density)
    by_density = stuck_chains(log_density)
    if not by_density.chains:
        return chains_apart(posterior, log_density)
    rest = tuple(c for c in range(log_density.sizes["chain"]) if c not in by_density.chains)
    apart = chains_apart(posterior, log_density, among=rest)
    if not apart.chains:
        return by_density
    return StuckChains(tuple(sorted(by_density.chains + apart.chains)), f"{by_density.description}; and {apart.description}")
