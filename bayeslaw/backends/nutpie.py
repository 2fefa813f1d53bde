"""``nutpie`` (the default): the model compiled with Numba, NUTS with a low-rank mass-matrix adaptation.

The low-rank adaptation copes well with the strong correlations between
amplitudes, exponents and E. A rerun reuses the compiled model, with each
chain started at an unconstrained draw of the first run.
"""

from __future__ import annotations

import ctypes
import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pymc as pm

from bayeslaw import numba_cache, results
from bayeslaw.backends._nutpie_compile import compile_model
from bayeslaw.backends.base import Backend, Run
from bayeslaw.starts import LogpGrad


class NutpieBackend(Backend):
    """nutpie on a Numba-compiled model; start points are unconstrained draws kept from the first run."""

    lookup_name = "nutpie"
    description = "nutpie's NUTS on a Numba-compiled model (low-rank mass matrix)"
    restarts = True
    requires = ("nutpie",)
    swaps_data = True

    def prepare(self, model: pm.Model) -> Any:
        """Compile ``model`` for nutpie (Numba), with the model's log density cacheable on disk.

        The compiled model is nutpie's own (:mod:`bayeslaw.backends._nutpie_compile`: the same
        functions, without Numba's once-per-process compile of a broadcasting error path).
        """
        numba_cache.enable()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*BLAS.*")
            return compile_model(model)

    def sample(self, prepared: Any, config: Any, seed: int, cores: int, *, starts: Any = None, keep_state: bool = False) -> Run:
        import nutpie

        compiled = prepared if starts is None else _started_at(prepared, starts)
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
            store_unconstrained=keep_state,
        )
        unconstrained = results.pop_unconstrained_draws(idata)
        no_restart = "this nutpie does not store unconstrained draws" if keep_state and unconstrained is None else None
        return Run(idata=idata, state=unconstrained, no_restart=no_restart)

    def with_data(self, prepared: Any, values: Mapping[str, np.ndarray], coords: Mapping[str, Sequence[Any]]) -> Any:
        """nutpie's ``with_data`` (the compiled functions read the new arrays by pointer) plus the new labels."""
        import pandas as pd

        read = {name: value for name, value in values.items() if name in prepared.shared_data}
        for name, value in read.items():
            compiled_shape = prepared.shared_data[name].shape
            if np.shape(value) != compiled_shape:
                raise ValueError(f"data container {name!r} has shape {np.shape(value)}; the compiled model has {compiled_shape}")
        swapped = prepared.with_data(**read)
        labels = {**prepared.coords, **{name: pd.Index(list(level)) for name, level in coords.items() if name in prepared.coords}}
        return dataclasses.replace(swapped, _coords=labels)

    def unconstrained_names(self, prepared: Any) -> list[tuple[str, slice, tuple[int, ...]]]:
        """(value variable, slice of the unconstrained vector, shape) of every free variable, in order."""
        names, slices, shapes = prepared.shape_info
        return [(n, s, tuple(shape)) for n, s, shape in zip(names, slices, shapes, strict=False) if s.stop <= prepared.n_dim]

    def start_points(self, prepared: Any, run: Run, chains: list[int], n_chains: int, seed: int) -> np.ndarray:
        """The unconstrained draws (second half) of ``chains``, one row per point; nutpie picks a row per chain."""
        unconstrained = run.state
        return unconstrained[chains, unconstrained.shape[1] // 2 :].reshape(-1, unconstrained.shape[-1])

    def logp_grad(self, prepared: Any) -> LogpGrad:
        """The compiled model's own Numba log density and gradient, called through ctypes (no new compile).

        ``None`` where either is not finite or the log density fails (nutpie's non-zero return codes).
        """
        function = prepared.compiled_logp_func.ctypes
        n_dim = int(prepared.n_dim)
        pointer = ctypes.POINTER(ctypes.c_double)
        data = prepared.user_data  # kept alive by the closure: the function reads the model's data through it
        user_data = ctypes.c_void_p(data.ctypes.data)

        def logp_grad(x: np.ndarray) -> tuple[float, np.ndarray] | None:
            x = np.ascontiguousarray(x, dtype=np.float64)
            grad, logp = np.empty(n_dim), np.empty(())
            code = function(n_dim, x.ctypes.data_as(pointer), grad.ctypes.data_as(pointer), logp.ctypes.data_as(pointer), user_data)
            return (float(logp), grad) if code == 0 and data is not None else None

        return logp_grad

    def initial_point(self, prepared: Any, seed: int) -> np.ndarray:
        """nutpie's random initial point for ``seed`` (the model's initial values, jittered)."""
        return np.asarray(prepared.initial_point_func(seed), dtype=np.float64)


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
