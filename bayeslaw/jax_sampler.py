"""Many same-shape fits in one vmapped JAX program (blackjax NUTS with a dense mass matrix), for accelerators.

This is a batch sampler, not a registered single-fit backend (:mod:`bayeslaw.backends`): single fits
stay on nutpie. :mod:`bayeslaw.batch_jax` turns its draws into Fits.
The model is built once with ``as_data=True`` (:func:`bayeslaw.model_builder.build_model`);
its log density is turned into a JAX function that takes the unconstrained point
*and the data containers* as arguments (the model's ``pm.Data`` shared variables
are replaced by symbolic inputs before PyTensor's JAX linker sees the graph).
One jitted program then runs, for every (dataset, chain) pair at once
(``jax.vmap``), blackjax's window adaptation with a dense inverse mass matrix
(``is_mass_matrix_diagonal=False``) followed by NUTS sampling. Each chain adapts
its own step size and mass matrix, as nutpie's chains do. Chains start at PyMC's
jittered initial points (the model's initial values, uniformly jittered by up to
1 on the unconstrained scale), redrawn where the log density is not finite.

On a CPU, once compiled, a batch took about nutpie's time per fit (vmapped NUTS steps
in lockstep, so a batch waits for its longest trajectory), and JAX's compile adds tens of
seconds. On a GPU one program should run many fits in about the time of a few; that is
not measured yet (``benchmarks/device_jax_batch.py`` measures it). Everything is in float64 (``jax_enable_x64``) so the
posteriors are those of the nutpie path, draw-for-draw different but the same
distribution. Draws are reproducible from the seeds for the same batch (datasets and order) on
one device and JAX version. The same dataset and seed in another batch gives draws of the same
posterior, not bit-identical ones: XLA vectorises a batch of another size differently, and
rounding differences grow along the chains (1e-4 in E after 80 draws, measured on CPU).

Needs the optional ``jax`` and ``blackjax`` (``pip install "bayeslaw[jax]"``).
JAX is imported only when a batch is prepared, so this module imports cheaply.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pymc as pm
import xarray as xr

from bayeslaw.model_builder import BuiltModel

#: The name ``fit_many(..., backend=JAX_BATCH)`` selects this path by.
JAX_BATCH = "jax"
#: Modules this path needs, and the extra that installs them.
REQUIRES = ("jax", "blackjax")
EXTRA = "jax"
#: Mixed into each dataset's seed for its starting points (the sampler's keys use the seed itself).
INIT_STREAM = 0x5EED
#: Fresh jittered starts tried per chain before giving up on a non-finite log density.
INIT_TRIES = 20


class JaxBatchUnavailable(ImportError):
    """Raised when jax or blackjax is not installed; the message names the extra."""


def missing() -> str | None:
    """Why the JAX batch path cannot run here (a missing module), or ``None`` if it can."""
    absent = [module for module in REQUIRES if importlib.util.find_spec(module) is None]
    if not absent:
        return None
    install = f'pip install "bayeslaw[{EXTRA}]"'
    return f"fit_many(backend={JAX_BATCH!r}) needs {' and '.join(absent)}, not installed here; install with: {install}"


@dataclass(frozen=True)
class BatchSettings:
    """Sampler settings of one batch (the same for every dataset)."""

    draws: int
    tune: int
    chains: int
    target_accept: float
    max_doublings: int = 10


@dataclass(frozen=True)
class BatchRun:
    """Draws of one dataset: the posterior and sampler statistics, dims ``chain``, ``draw`` and the model's dims."""

    posterior: xr.Dataset
    sample_stats: xr.Dataset


class BatchProgram:
    """The JAX log density and draw post-processing of one as-data model, with the data as arguments.

    Parameters
    ----------
    built
        A model built with ``as_data=True``; its containers fix the shapes every dataset must have.
    """

    def __init__(self, built: BuiltModel) -> None:
        why = missing()
        if why is not None:
            raise JaxBatchUnavailable(why)
        import jax
        import pytensor.tensor as pt
        from pymc.sampling.jax import get_jaxified_graph
        from pytensor.graph.replace import clone_replace

        jax.config.update("jax_enable_x64", True)
        model = built.model
        self.model = model
        self.data_names = [var.name for var in model.data_vars]
        self.data_shapes = {var.name: np.shape(var.get_value()) for var in model.data_vars}
        self.data_dtypes = {var.name: var.get_value().dtype for var in model.data_vars}
        symbols = {var: pt.tensor(name=var.name, dtype=var.dtype, shape=self.data_shapes[var.name]) for var in model.data_vars}
        point = model.initial_point()
        self.value_names = [var.name for var in model.value_vars]
        self.value_shapes = [np.shape(point[name]) for name in self.value_names]
        self.value_sizes = [int(np.prod(shape, dtype=int)) for shape in self.value_shapes]
        self.n_dim = int(sum(self.value_sizes))
        outputs = [
            var
            for var in model.unobserved_value_vars
            if var.name in set(pm.util.get_default_varnames([v.name for v in model.unobserved_value_vars], include_transformed=False))
        ]
        self.output_names = [var.name for var in outputs]
        self.output_dims = {name: tuple(model.named_vars_to_dims.get(name, ())) for name in self.output_names}
        inputs = [*model.value_vars, *symbols.values()]
        logp, *post = clone_replace([model.logp(), *outputs], replace=symbols)
        self._logp = get_jaxified_graph(inputs=inputs, outputs=[logp])
        self._post = get_jaxified_graph(inputs=inputs, outputs=post)
        self._programs: dict[BatchSettings, Any] = {}
        self._logp_per_start = jax.jit(jax.vmap(jax.vmap(self.logdensity, in_axes=(0, None))))
        self._post_per_draw = jax.jit(jax.vmap(jax.vmap(self.constrained, in_axes=(0, None)), in_axes=(0, None)))
        self._initial_point = pm.initial_point.make_initial_point_fn(model=model, jitter_rvs=set(model.free_RVs), return_transformed=True)

    # ------------------------------------------------------------ pieces of the program
    def split(self, x: Any) -> list[Any]:
        """The value variables of a flat unconstrained point ``x`` (a JAX array of length ``n_dim``)."""
        parts, start = [], 0
        for shape, size in zip(self.value_shapes, self.value_sizes, strict=True):
            parts.append(x[start : start + size].reshape(shape))
            start += size
        return parts

    def logdensity(self, x: Any, data: Sequence[Any]) -> Any:
        """The model's log density (with the transforms' Jacobians) at flat point ``x`` for one dataset's ``data``."""
        return self._logp(*self.split(x), *data)[0]

    def constrained(self, x: Any, data: Sequence[Any]) -> list[Any]:
        """The posterior variables (free variables on their own scale, and Deterministics) at ``x``."""
        return list(self._post(*self.split(x), *data))

    def stack_data(self, values: Sequence[Mapping[str, np.ndarray]]) -> list[np.ndarray]:
        """One array per container with the datasets stacked first; raise if a dataset's shapes differ from the model's."""
        stacked = []
        for name in self.data_names:
            rows = []
            for i, value in enumerate(values):
                array = np.asarray(value[name], dtype=self.data_dtypes[name])
                if array.shape != self.data_shapes[name]:
                    raise ValueError(
                        f"dataset {i}: data container {name!r} has shape {array.shape}; the batch's model has {self.data_shapes[name]} "
                        "(a JAX batch needs datasets of one shape)"
                    )
                rows.append(array)
            stacked.append(np.stack(rows))
        return stacked

    def initial_points(self, data: list[np.ndarray], n_chains: int, seeds: Sequence[int]) -> np.ndarray:
        """Jittered starts, shape (datasets, chains, n_dim), each with a finite log density for its dataset.

        Dataset ``i``'s starts depend only on ``seeds[i]`` (not on the rest of the batch).
        """
        n_sets = data[0].shape[0]
        rngs = [np.random.default_rng([INIT_STREAM, seed]) for seed in seeds]
        points = np.empty((n_sets, n_chains, self.n_dim))
        todo = np.ones((n_sets, n_chains), dtype=bool)
        check = self._logp_per_start
        for _ in range(INIT_TRIES):
            for i, c in zip(*np.nonzero(todo), strict=True):
                start = self._initial_point(int(rngs[i].integers(2**31)))
                points[i, c] = np.concatenate([np.ravel(start[name]) for name in self.value_names])
            todo = ~np.isfinite(np.asarray(check(points, data)))
            if not todo.any():
                return points
        bad = sorted({int(i) for i in np.nonzero(todo)[0]})
        raise ValueError(f"datasets {bad}: no starting point with a finite log density in {INIT_TRIES} jittered tries")

    # ------------------------------------------------------------ the batch
    def _program(self, settings: BatchSettings) -> Any:
        """The jitted, vmapped warm-up and sampling of one chain for ``settings`` (compiled once per settings and shapes)."""
        if settings in self._programs:
            return self._programs[settings]
        import blackjax
        import jax
        from blackjax.adaptation.base import get_filter_adapt_info_fn

        def one_chain(key: Any, x0: Any, chain_data: list[Any]) -> tuple[Any, ...]:
            def logdensity(x: Any) -> Any:
                return self.logdensity(x, chain_data)

            warmup = blackjax.window_adaptation(
                blackjax.nuts,
                logdensity,
                is_mass_matrix_diagonal=False,
                target_acceptance_rate=settings.target_accept,
                adaptation_info_fn=get_filter_adapt_info_fn(),
                max_num_doublings=settings.max_doublings,
            )
            warm_key, draw_key = jax.random.split(key)
            (state, parameters), _ = warmup.run(warm_key, x0, num_steps=settings.tune)
            step = blackjax.nuts(logdensity, **parameters).step

            def transition(state: Any, step_key: Any) -> tuple[Any, tuple[Any, ...]]:
                state, info = step(step_key, state)
                stats = (state.position, state.logdensity, info.is_divergent, info.num_integration_steps, info.num_trajectory_expansions)
                return state, (*stats, info.acceptance_rate)

            _, out = jax.lax.scan(transition, state, jax.random.split(draw_key, settings.draws))
            return (*out, parameters["step_size"])

        self._programs[settings] = jax.jit(jax.vmap(one_chain))
        return self._programs[settings]

    def sample(self, values: Sequence[Mapping[str, np.ndarray]], settings: BatchSettings, seeds: Sequence[int]) -> list[np.ndarray]:
        """Warm up and sample every (dataset, chain) in one vmapped program; dataset ``i`` from ``seeds[i]``.

        Returns flat unconstrained draws (datasets, chains, draws, n_dim) and statistics of
        the same leading shape: log density, divergence, leapfrog steps, tree depth,
        acceptance rate, and the adapted step size (datasets, chains).
        """
        import jax
        import jax.numpy as jnp

        data = self.stack_data(values)
        n_sets = data[0].shape[0]
        if len(seeds) != n_sets:
            raise ValueError(f"{len(seeds)} seeds for {n_sets} datasets")
        starts = self.initial_points(data, settings.chains, seeds)

        keys = jnp.concatenate([jax.random.split(jax.random.key(seed), settings.chains) for seed in seeds])
        flat_starts = jnp.asarray(starts.reshape(n_sets * settings.chains, self.n_dim))
        flat_data = [jnp.repeat(jnp.asarray(d), settings.chains, axis=0) for d in data]
        out = self._program(settings)(keys, flat_starts, flat_data)
        return [np.asarray(o).reshape(n_sets, settings.chains, *np.shape(o)[1:]) for o in out]

    def runs(
        self,
        values: Sequence[Mapping[str, np.ndarray]],
        coords: Sequence[Mapping[str, Sequence[Any]]],
        settings: BatchSettings,
        seeds: Sequence[int],
    ) -> list[BatchRun]:
        """:meth:`sample`, then each dataset's draws on the model's scale, labelled with its own ``coords``."""
        positions, logp, divergent, n_steps, depth, accept, step_size = self.sample(values, settings, seeds)
        data = self.stack_data(values)
        runs = []
        for i, labels in enumerate(coords):
            draws = [np.asarray(v) for v in self._post_per_draw(positions[i], [d[i] for d in data])]
            posterior = xr.Dataset(
                {
                    name: xr.DataArray(value, dims=("chain", "draw", *self.output_dims[name]))
                    for name, value in zip(self.output_names, draws, strict=True)
                },
                coords={
                    "chain": np.arange(settings.chains),
                    "draw": np.arange(settings.draws),
                    **{dim: list(level) for dim, level in labels.items() if any(dim in d for d in self.output_dims.values())},
                },
            )
            dims = ("chain", "draw")
            stats = xr.Dataset(
                {
                    "logp": (dims, logp[i]),
                    "diverging": (dims, divergent[i].astype(bool)),
                    "n_steps": (dims, n_steps[i]),
                    "depth": (dims, depth[i]),
                    "mean_tree_accept": (dims, accept[i]),
                    "step_size": (dims, np.broadcast_to(step_size[i][:, None], logp[i].shape).copy()),
                },
                coords={"chain": posterior["chain"], "draw": posterior["draw"]},
            )
            runs.append(BatchRun(posterior=posterior, sample_stats=stats))
        return runs


__all__ = ["EXTRA", "JAX_BATCH", "BatchProgram", "BatchRun", "BatchSettings", "JaxBatchUnavailable", "missing"]
