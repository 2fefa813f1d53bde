"""Compile once, fit many: compiled models cached per spec and data shapes.

A model built with ``as_data=True`` (:func:`bayeslaw.model_builder.build_model`)
reads its inputs, observed target, group codes and reference scales from
``pm.Data`` containers. Compiled once by a backend that can swap data
(``swaps_data``: nutpie), it serves every dataset of the same spec and shapes:
only pointers to the new arrays change. This module keeps such compiled models in
the process, keyed by :func:`cache_key` (the spec's model part, the backend, the
container shapes, the number of levels of every group axis and the form each pooled axis
takes, see :func:`bayeslaw.model_builder.pooling_forms`), so the compile cost
is paid once per process and key. Long-lived workers of an executor
(:mod:`bayeslaw.batch`) keep their own cache across tasks.

The compiled log density of a data model does not embed the data, so PyTensor's
on-disk Numba cache (:mod:`bayeslaw.numba_cache`) serves it to a new process too,
whatever the dataset. nutpie's own C-callable wrapper is compiled once per process
(Numba cannot cache it: it embeds pointers), which is why workers are long-lived.

Draws of the data path are reproducible from the seed and identical whether the
compiled model came from the cache or was compiled for this dataset, but they are
*not* bit-identical to :func:`bayeslaw.fit`'s default path (data compiled in as
constants, which PyTensor folds into different floating-point operations); they
are draws of the same posterior.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

from bayeslaw.backends import Backend, get_backend
from bayeslaw.data import ScalingData
from bayeslaw.model_builder import BuiltModel, build_model, model_data, pooling_forms
from bayeslaw.sampling import Sampled, SamplerConfig, run_prepared, run_sampler
from bayeslaw.spec import ModelSpec

#: Compiled models kept per process (least recently used dropped first); each holds Numba code and a PyMC model.
CACHE_SIZE = 8


@dataclass(frozen=True)
class CompiledModel:
    """A backend-prepared model of ``as_data=True`` form, and the model it was built from.

    ``built`` holds the template dataset's reference scales; :func:`prepared_for`
    returns a copy with the reference scales of the dataset being fitted.
    """

    built: BuiltModel
    prepared: Any
    backend: Backend


class _Cache:
    """A small thread-safe LRU map from :func:`cache_key` to :class:`CompiledModel`, with hit/miss counts."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[tuple, CompiledModel] = OrderedDict()
        self.lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple) -> CompiledModel | None:
        with self.lock:
            entry = self.entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self.hits += 1
            self.entries.move_to_end(key)
            return entry

    def put(self, key: tuple, entry: CompiledModel) -> None:
        with self.lock:
            self.entries[key] = entry
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)


_CACHE = _Cache(CACHE_SIZE)


def cache_key(data: ScalingData, spec: ModelSpec, backend: str) -> tuple:
    """What a compiled data model depends on: the spec's model part, the backend, container shapes and group sizes."""
    model_part = {k: v for k, v in spec.to_dict().items() if k not in ("sampler", "description", "name")}
    shapes = tuple(sorted((name, value.shape, value.dtype.str) for name, value in model_data(data, spec).items()))
    levels = tuple((axis, len(data.levels[axis])) for axis in data.groups)
    return (json.dumps(model_part, sort_keys=True, default=str), backend, data.target, shapes, levels, pooling_forms(data, spec))


def cache_info() -> dict[str, int]:
    """Hits, misses and entries of this process's compiled-model cache."""
    return {"hits": _CACHE.hits, "misses": _CACHE.misses, "entries": len(_CACHE.entries)}


def clear_cache() -> None:
    """Drop every compiled model of this process (the next fit of each key compiles again)."""
    with _CACHE.lock:
        _CACHE.entries.clear()
        _CACHE.hits = _CACHE.misses = 0


def compiled_model(data: ScalingData, spec: ModelSpec, backend: str) -> CompiledModel:
    """The cached compiled data model for ``data``'s key, compiling (and caching) it on a miss."""
    key = cache_key(data, spec, backend)
    entry = _CACHE.get(key)
    if entry is None:
        sampler = get_backend(backend)
        built = build_model(data, spec, as_data=True)
        entry = CompiledModel(built=built, prepared=sampler.prepare(built.model), backend=sampler)
        _CACHE.put(key, entry)
    return entry


def prepared_for(data: ScalingData, spec: ModelSpec, backend: str) -> tuple[BuiltModel, Any]:
    """The compiled model of ``data``'s key reading ``data``, and the built model with ``data``'s reference scales."""
    entry = compiled_model(data, spec, backend)
    values = model_data(data, spec)
    prepared = entry.backend.with_data(entry.prepared, values, data.coords())
    refs = {key: float(values[f"ref_{key}"]) for key in entry.built.refs}
    return replace(entry.built, refs=refs), prepared


def sample_data(
    data: ScalingData, spec: ModelSpec, config: SamplerConfig, seed: int, check_vars: list[str] | None = None
) -> tuple[BuiltModel, Sampled]:
    """Sample the posterior of ``spec`` for ``data`` on the compile-once path (``check_vars`` as for :func:`run_sampler`).

    With a backend that cannot swap data (``swaps_data`` False: ``pymc``,
    ``numpyro``), this builds and samples the default (constants) model instead.
    """
    backend = get_backend(config.backend)
    if not backend.swaps_data:
        built = build_model(data, spec)
        return built, run_sampler(built.model, config, seed, check_vars)
    built, prepared = prepared_for(data, spec, config.backend)
    return built, run_prepared(backend, prepared, config, seed, check_vars)
