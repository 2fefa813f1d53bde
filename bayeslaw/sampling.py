"""Sampler backends, chosen in one place.

``nutpie`` (default) compiles the PyMC model with Numba and runs NUTS with a
low-rank mass-matrix adaptation, which copes well with the strong correlations
between amplitudes, exponents and E. ``pymc`` is PyMC's own NUTS; ``numpyro``
runs through PyMC's JAX bridge when numpyro is installed.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import pymc as pm

from bayeslaw import numba_cache, results
from bayeslaw.constants import DEFAULT_BACKEND, DEFAULT_CHAINS, DEFAULT_DRAWS, DEFAULT_TARGET_ACCEPT, DEFAULT_TUNE

BACKENDS = ("nutpie", "pymc", "numpyro")


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

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown sampler backend {self.backend!r}; choose one of {BACKENDS}")
        for name in ("draws", "tune", "chains"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not 0 < self.target_accept < 1:
            raise ValueError(f"target_accept must be in (0, 1), got {self.target_accept}")


def run_sampler(model: pm.Model, config: SamplerConfig, seed: int) -> results.Results:
    """Sample ``model`` and return the raw results (posterior and sample stats)."""
    cores = config.cores or min(config.chains, 2)
    if config.backend == "nutpie":
        import nutpie

        numba_cache.enable()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*BLAS.*")
            compiled = nutpie.compile_pymc_model(model)
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
        )
    else:
        kwargs = {"nuts_sampler": "numpyro"} if config.backend == "numpyro" else {}
        pymc_logger = logging.getLogger("pymc")
        level = pymc_logger.level
        if not config.progress:
            pymc_logger.setLevel(logging.WARNING)
        try:
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
        finally:
            pymc_logger.setLevel(level)
    results.drop_warmup(idata)
    return idata
