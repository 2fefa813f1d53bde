"""Sampler backends, chosen in one place.

``nutpie`` (default) compiles the PyMC model with Numba and runs NUTS with a
low-rank mass-matrix adaptation, which copes well with the strong correlations
between amplitudes, exponents and E. ``pymc`` is PyMC's own NUTS; ``numpyro``
runs through PyMC's JAX bridge when numpyro is installed.

**Stuck chains.** Scaling-law posteriors can have local modes of far lower
density (the Chinchilla law's N and D terms can swap roles on some data). A
chain started near one can stay there, and R-hat then fails although the other
chains agree. After sampling, :func:`bayeslaw.diagnostics.stuck_chains` compares
the chains' mean log densities; when a chain lies far below the best one, all
chains are rerun once with another seed (nutpie reuses the compiled model),
each started at a draw of the other chains, and the fit's notes say so with
the numbers. ``restart_stuck_chains=False`` keeps the first run. The rerun
fit is checked like any other; if a chain is still stuck, the notes say that too.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pymc as pm

from bayeslaw import interrupts, numba_cache, results
from bayeslaw.constants import (
    DEFAULT_BACKEND,
    DEFAULT_CHAINS,
    DEFAULT_DRAWS,
    DEFAULT_TARGET_ACCEPT,
    DEFAULT_TUNE,
    RESTART_SEED_OFFSET,
)
from bayeslaw.diagnostics import StuckChains, stuck_chains

BACKENDS = ("nutpie", "pymc", "numpyro")
#: Backends for which stuck chains are rerun (numpyro: detected and noted only).
RESTARTABLE_BACKENDS = ("nutpie", "pymc")


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

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown sampler backend {self.backend!r}; choose one of {BACKENDS}")
        for name in ("draws", "tune", "chains"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not 0 < self.target_accept < 1:
            raise ValueError(f"target_accept must be in (0, 1), got {self.target_accept}")


@dataclass(frozen=True)
class Sampled:
    """A sampler run: the results, and sentences for the fit's notes."""

    idata: results.Results
    notes: tuple[str, ...] = ()


def run_sampler(model: pm.Model, config: SamplerConfig, seed: int) -> Sampled:
    """Sample ``model``; rerun once if a chain is stuck in a far lower mode (see the module docstring)."""
    cores = config.cores or min(config.chains, 2)
    restart = config.restart_stuck_chains and config.chains > 1 and config.backend in RESTARTABLE_BACKENDS
    compiled = _compile_nutpie(model) if config.backend == "nutpie" else None
    unconstrained = None
    if compiled is not None:
        idata = _sample_nutpie(compiled, config, seed, cores, store_unconstrained=restart)
        unconstrained = results.pop_unconstrained_draws(idata)
        restart = restart and unconstrained is not None  # a nutpie without the stat: detect, do not rerun
    else:
        idata = _sample_pymc(model, config, seed, cores)
    stuck = _stuck(idata)
    notes: list[str] = []
    if stuck.chains and not restart:
        if not config.restart_stuck_chains:
            why = "restart_stuck_chains=False"
        elif config.backend not in RESTARTABLE_BACKENDS:
            why = f"no rerun with backend {config.backend!r}"
        else:
            why = "this nutpie does not store unconstrained draws"
        notes.append(f"chains {list(stuck.chains)} sat far below the best chain's log density ({stuck.description}); not rerun ({why})")
    elif stuck.chains:
        rerun_seed = seed + RESTART_SEED_OFFSET
        good = [c for c in range(config.chains) if c not in stuck.chains]
        if compiled is not None:
            starts = unconstrained[good, unconstrained.shape[1] // 2 :].reshape(-1, unconstrained.shape[-1])
            idata = _sample_nutpie(_started_at(compiled, starts), config, rerun_seed, cores, store_unconstrained=False)
        else:
            initvals = _pymc_initvals(model, idata, good, config.chains, rerun_seed)
            idata = _sample_pymc(model, config, rerun_seed, cores, initvals=initvals)
        note = (
            f"chains {list(stuck.chains)} sat far below the best chain's log density ({stuck.description}), as in a local "
            f"mode with no real posterior mass. All {config.chains} chains were rerun once (seed {rerun_seed}), each started "
            "at a draw of the other chains; the rerun is what this fit reports (restart_stuck_chains=False keeps the first run)"
        )
        again = _stuck(idata)
        if again.chains:
            note += f". The rerun still has chains {list(again.chains)} far below: {again.description}"
        notes.append(note)
    results.drop_warmup(idata)
    return Sampled(idata=idata, notes=tuple(notes))


def _stuck(idata: results.Results) -> StuckChains:
    """Stuck chains of a run (none when there is one chain or no log density in the sampler stats)."""
    log_density = results.log_density(idata)
    if log_density is None or log_density.sizes["chain"] < 2:
        return StuckChains((), "")
    return stuck_chains(log_density)


def _compile_nutpie(model: pm.Model) -> Any:
    """Compile ``model`` for nutpie (Numba), with the model's log density cacheable on disk."""
    import nutpie

    numba_cache.enable()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*BLAS.*")
        return nutpie.compile_pymc_model(model)


def _sample_nutpie(compiled: Any, config: SamplerConfig, seed: int, cores: int, *, store_unconstrained: bool) -> results.Results:
    """Run nutpie on a compiled model."""
    import nutpie

    with interrupts.watch() as seen:  # nutpie returns partial draws on Ctrl-C: raise instead (bayeslaw.interrupts)
        idata = nutpie.sample(
            compiled,
            draws=config.draws,
            tune=config.tune,
            chains=config.chains,
            cores=cores,
            seed=seed,
            progress_bar=config.progress,
            low_rank_modified_mass_matrix=config.low_rank,
            target_accept=config.target_accept,
            save_warmup=False,
            store_unconstrained=store_unconstrained,
        )
    interrupts.raise_if_incomplete(seen, results.posterior(idata), config.draws, config.chains, idata)
    return idata


def _started_at(compiled: Any, starts: np.ndarray) -> Any:
    """A copy of a compiled nutpie model whose chains start at rows of ``starts`` (unconstrained points).

    nutpie asks for each chain's start with a per-chain seed derived from the run's
    seed, so picking the row with that seed keeps reruns reproducible whatever order
    the chains start in.
    """

    def initial_point(seed: int) -> np.ndarray:
        row = np.random.default_rng(seed).integers(len(starts))
        return np.array(starts[row], dtype=np.float64)

    return dataclasses.replace(compiled, initial_point_func=initial_point)


def _pymc_initvals(model: pm.Model, idata: results.Results, good: list[int], chains: int, seed: int) -> list[dict[str, np.ndarray]]:
    """Per-chain initial values for PyMC: draws (second half) of the chains in ``good``."""
    post = results.posterior(idata)
    rng = np.random.default_rng(seed)
    n_draws = post.sizes["draw"]
    picks = [(good[rng.integers(len(good))], int(rng.integers(n_draws // 2, n_draws))) for _ in range(chains)]
    names = [rv.name for rv in model.free_RVs]
    return [{name: post[name].isel(chain=c, draw=d).values for name in names} for c, d in picks]


def _sample_pymc(
    model: pm.Model, config: SamplerConfig, seed: int, cores: int, initvals: list[dict[str, np.ndarray]] | None = None
) -> results.Results:
    """Run PyMC's NUTS (or numpyro through PyMC's JAX bridge)."""
    kwargs: dict[str, Any] = {"nuts_sampler": "numpyro"} if config.backend == "numpyro" else {}
    if initvals is not None:
        kwargs["initvals"] = initvals
    with _pymc_logging(config.progress), interrupts.watch() as seen:  # PyMC too returns partial draws on Ctrl-C
        idata = pm.sample(
            draws=config.draws,
            tune=config.tune,
            chains=config.chains,
            cores=cores,
            random_seed=seed,
            target_accept=config.target_accept,
            progressbar=config.progress,
            compute_convergence_checks=False,
            model=model,
            **kwargs,
        )
    interrupts.raise_if_incomplete(seen, results.posterior(idata), config.draws, config.chains, idata)
    return idata


@contextmanager
def _pymc_logging(progress: bool) -> Iterator[None]:
    """Silence PyMC's INFO logging unless a progress bar was asked for."""
    logger = logging.getLogger("pymc")
    level = logger.level
    if not progress:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
