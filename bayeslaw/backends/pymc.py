"""``pymc``: PyMC's own NUTS sampler (no extra dependency); chains can be restarted at given points."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar

import numpy as np
import pymc as pm

from bayeslaw import results
from bayeslaw.backends.base import Backend, Run


class PymcBackend(Backend):
    """PyMC's NUTS; start points are per-chain ``initvals`` taken from earlier draws."""

    lookup_name = "pymc"
    description = "PyMC's own NUTS"
    restarts = True
    #: Keyword arguments added to ``pm.sample`` (subclasses pick another ``nuts_sampler``).
    sample_kwargs: ClassVar[Mapping[str, Any]] = {}

    def sample(self, prepared: Any, config: Any, seed: int, cores: int, *, starts: Any = None, keep_state: bool = False) -> Run:
        kwargs = dict(self.sample_kwargs)
        if starts is not None:
            kwargs["initvals"] = starts
        with _pymc_logging(config.progress):
            idata = pm.sample(
                draws=config.draws,
                tune=config.tune,
                chains=config.chains,
                cores=cores,
                random_seed=seed,
                target_accept=config.target_accept,
                progressbar=config.progress,
                compute_convergence_checks=False,
                model=prepared,
                **kwargs,
            )
        return Run(idata=idata)

    def start_points(self, prepared: Any, run: Run, chains: list[int], n_chains: int, seed: int) -> list[dict[str, np.ndarray]]:
        """Per-chain initial values: random draws (second half) of ``chains``, seeded."""
        post = results.posterior(run.idata)
        rng = np.random.default_rng(seed)
        n_draws = post.sizes["draw"]
        picks = [(chains[rng.integers(len(chains))], int(rng.integers(n_draws // 2, n_draws))) for _ in range(n_chains)]
        names = [rv.name for rv in prepared.free_RVs]
        return [{name: post[name].isel(chain=c, draw=d).values for name in names} for c, d in picks]


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
