"""Many fits: :func:`fit_many` over datasets, in this process or on any executor; :func:`refit` (from :mod:`bayeslaw.fit`).

Every fit here takes the compile-once path (:mod:`bayeslaw.compiled`): the first
dataset of a spec and shape compiles the model, the others reuse it. With an
``executor`` (anything with ``submit(fn, *args, **kwargs)`` returning a future
with ``result()``: :class:`concurrent.futures.ProcessPoolExecutor`, Dask
distributed's ``Client``, ...), each dataset is one task. A compiled nutpie
model holds Numba function pointers and cannot be pickled, so it never travels:
each worker keeps its own compiled models in its module-level cache for as long
as the worker lives, and the executor's workers should be long-lived (a
``ProcessPoolExecutor`` keeps its processes; so does a Dask cluster).

Results come back small: a worker returns the fit without its posterior
predictive and log-likelihood groups (draws x rows each), and they are
computed here from the posterior, the data and the seed, exactly as
:func:`bayeslaw.fit` computes them. Fits on an executor are therefore identical
to sequential :func:`fit_many` fits with the same seeds.

Pointing it at a cluster (Dask)::

    from dask.distributed import Client
    client = Client("tcp://scheduler:8786")   # or Client(LocalCluster(n_workers=4, threads_per_worker=1))
    fits = bayeslaw.fit_many(datasets, "chinchilla", executor=client)
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from bayeslaw.batch_jax import fit_many_jax
from bayeslaw.constants import DEFAULT_SEED
from bayeslaw.data import ScalingData
from bayeslaw.diagnostics import ConvergenceWarning
from bayeslaw.fit import Fit, _add_predictive_groups, fit, fit_posterior, refit
from bayeslaw.jax_sampler import JAX_BATCH
from bayeslaw.spec import ModelSpec, resolve_spec


def fit_many(
    datasets: Sequence[ScalingData | pd.DataFrame],
    model: str | Path | Mapping[str, Any] | ModelSpec = "chinchilla",
    *,
    random_seed: int | Sequence[int] = DEFAULT_SEED,
    executor: Any = None,
    **options: Any,
) -> list[Fit]:
    """Fit one spec to many datasets, compiling the model once per data shape (per worker).

    Parameters
    ----------
    datasets
        ScalingData objects or DataFrames (validated as :func:`bayeslaw.fit` does).
    model
        The spec, as for :func:`bayeslaw.fit`.
    random_seed
        One seed for every fit, or one per dataset.
    executor
        ``None``: fit here, one after another. Otherwise any object with
        ``submit(fn, *args, **kwargs)`` returning futures with ``result()``
        (``ProcessPoolExecutor``, a Dask ``Client``); one task per dataset.
    **options
        Other keywords of :func:`bayeslaw.fit` (``draws``, ``chains``, ``check``, ...).
        ``backend="jax"``: every same-shape group of datasets in one vmapped JAX
        program, for accelerators (:mod:`bayeslaw.batch_jax`; needs the ``jax`` extra).

    Returns
    -------
    list of Fit
        In the order of ``datasets``. Each carries its own diagnostics; an unconverged
        fit warns (``ConvergenceWarning``) as :func:`bayeslaw.fit` does.
    """
    if "reuse_compiled" in options:
        raise TypeError("fit_many always reuses compiled models; drop reuse_compiled=")
    spec = resolve_spec(model)
    frames = [ScalingData.from_frame(d) if isinstance(d, pd.DataFrame) else d for d in datasets]
    seeds = _seeds(random_seed, len(frames))
    if options.get("backend") == JAX_BATCH:
        if executor is not None:
            raise ValueError(f"backend={JAX_BATCH!r} runs the whole batch as one program here; drop executor=")
        return fit_many_jax(frames, spec, seeds, options)
    if executor is None:
        return [fit(data, spec, random_seed=seed, reuse_compiled=True, **options) for data, seed in zip(frames, seeds, strict=True)]
    futures = [executor.submit(fit_small, data, spec, seed, options) for data, seed in zip(frames, seeds, strict=True)]
    return [restore(future.result(), warn=options.get("check", True)) for future in futures]


def fit_small(data: ScalingData, spec: ModelSpec, seed: int, options: Mapping[str, Any]) -> Fit:
    """A worker's task: the compile-once fit, without the groups :func:`restore` computes (they are never computed here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the caller's restore() warns, where the user sees it
        return fit_posterior(data, spec, random_seed=seed, reuse_compiled=True, **options)


def restore(small: Fit, *, warn: bool = True) -> Fit:
    """A fit from :func:`fit_small` with its observation groups (predictive, log-likelihood) added as :func:`bayeslaw.fit` does.

    ``warn``: issue the fit's ``ConvergenceWarning`` here, if it did not converge (the worker's went unseen).
    """
    _add_predictive_groups(small)
    if warn and not small.converged:
        warnings.warn(small.diagnostics.banner(), ConvergenceWarning, stacklevel=3)
    return small


def _seeds(random_seed: int | Sequence[int], n: int) -> list[int]:
    """One seed per dataset."""
    if isinstance(random_seed, int):
        return [random_seed] * n
    seeds = [int(s) for s in random_seed]
    if len(seeds) != n:
        raise ValueError(f"random_seed has {len(seeds)} seeds for {n} datasets")
    return seeds


__all__ = ["fit_many", "fit_small", "refit", "restore"]
