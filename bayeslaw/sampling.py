"""Sampling: the sampler settings, dispatch to a backend, and the stuck-chain rerun policy.

The backends themselves (``nutpie``, the default; ``pymc``; ``numpyro`` when
installed) live in :mod:`bayeslaw.backends`; this module only chooses one by
name and decides whether to rerun.

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

from dataclasses import dataclass

import pymc as pm

from bayeslaw import results
from bayeslaw.backends import Backend, Run, backend_names, get_backend
from bayeslaw.constants import (
    DEFAULT_BACKEND,
    DEFAULT_CHAINS,
    DEFAULT_DRAWS,
    DEFAULT_TARGET_ACCEPT,
    DEFAULT_TUNE,
    RESTART_SEED_OFFSET,
)
from bayeslaw.diagnostics import StuckChains, stuck_chains


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
        if self.backend not in backend_names():
            raise ValueError(f"unknown sampler backend {self.backend!r}; choose one of {backend_names()}")
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
    """Sample ``model`` with the configured backend; rerun once if a chain is stuck (see the module docstring)."""
    backend = get_backend(config.backend)
    return run_prepared(backend, backend.prepare(model), config, seed)


def run_prepared(backend: Backend, prepared: object, config: SamplerConfig, seed: int) -> Sampled:
    """:func:`run_sampler` on a model ``backend`` has already prepared (e.g. a cached compiled model with new data)."""
    cores = config.cores or min(config.chains, 2)
    run = backend.sample(prepared, config, seed, cores, keep_state=_may_restart(backend, config))
    run, notes = _rerun_stuck(backend, prepared, run, config, seed, cores)
    idata = run.idata
    results.drop_warmup(idata)
    return Sampled(idata=idata, notes=tuple(notes))


def _may_restart(backend: Backend, config: SamplerConfig) -> bool:
    """Whether the policy may rerun stuck chains with this backend and these settings."""
    return config.restart_stuck_chains and config.chains > 1 and backend.restarts


def _no_restart_reason(backend: Backend, config: SamplerConfig, run: Run) -> str | None:
    """Why stuck chains of ``run`` would not be rerun, or ``None`` if they would."""
    if not config.restart_stuck_chains:
        return "restart_stuck_chains=False"
    if not backend.restarts:
        return f"no rerun with backend {backend.lookup_name!r}"
    return run.no_restart


def _rerun_stuck(backend: Backend, prepared: object, run: Run, config: SamplerConfig, seed: int, cores: int) -> tuple[Run, list[str]]:
    """The stuck-chain policy: detect chains far below the best in log density; rerun all once from the others' draws.

    Returns the run the fit reports (the rerun, if there was one) and the notes saying what happened.
    """
    stuck = _stuck(run.idata)
    if not stuck.chains:
        return run, []
    why = _no_restart_reason(backend, config, run)
    if why is not None:
        return run, [f"chains {list(stuck.chains)} sat far below the best chain's log density ({stuck.description}); not rerun ({why})"]
    rerun_seed = seed + RESTART_SEED_OFFSET
    good = [c for c in range(config.chains) if c not in stuck.chains]
    starts = backend.start_points(prepared, run, good, config.chains, rerun_seed)
    rerun = backend.sample(prepared, config, rerun_seed, cores, starts=starts)
    note = (
        f"chains {list(stuck.chains)} sat far below the best chain's log density ({stuck.description}), as in a local "
        f"mode with no real posterior mass. All {config.chains} chains were rerun once (seed {rerun_seed}), each started "
        "at a draw of the other chains; the rerun is what this fit reports (restart_stuck_chains=False keeps the first run)"
    )
    again = _stuck(rerun.idata)
    if again.chains:
        note += f". The rerun still has chains {list(again.chains)} far below: {again.description}"
    return rerun, [note]


def _stuck(idata: results.Results) -> StuckChains:
    """Stuck chains of a run (none when there is one chain or no log density in the sampler stats)."""
    log_density = results.log_density(idata)
    if log_density is None or log_density.sizes["chain"] < 2:
        return StuckChains((), "")
    return stuck_chains(log_density)
