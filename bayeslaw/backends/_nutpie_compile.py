"""Compile a PyMC model for nutpie without Numba's once-per-process error-path compile.

nutpie 0.16 wraps the model's log density in a C-callable Numba function that
copies the gradient with a broadcasting slice assignment (``out[...] = grad``).
Numba compiles the general broadcasting code of that assignment, including the
shape-mismatch error path, the first time a process compiles such a wrapper:
about 2.4 s on a quiet 2-core machine (issue 13), paid by every new process (a
notebook, a CLI call, each worker of a pool). The shapes always agree here, so an
element loop does the same copy; the values and hence the draws are bit-identical
(tested against nutpie's own compile).

nutpie has no option for this, and its installed files are not patched: this
module builds the same :class:`nutpie.compile_pymc.CompiledPyMCModel` as
``nutpie.compile_pymc_model(model)`` (the numba backend, default options) from
nutpie's own building blocks, with loop-copying wrappers. Those blocks are
internal to nutpie; when they are missing or differ (another nutpie version),
:func:`compile_model` falls back to ``nutpie.compile_pymc_model`` and says so in
the log at INFO level.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
import pymc as pm

_log = logging.getLogger(__name__)


def compile_model(model: pm.Model) -> Any:
    """``nutpie.compile_pymc_model(model)``, with loop copies in the C wrappers (falls back to nutpie's own)."""
    import nutpie

    try:
        return _compile(model)
    except (ImportError, AttributeError, TypeError) as err:
        _log.info("nutpie's internals differ from 0.16 (%s); using nutpie.compile_pymc_model", err)
        return nutpie.compile_pymc_model(model)


def _compile(model: pm.Model) -> Any:
    """The body of nutpie 0.16's ``compile_pymc_model`` + ``_compile_pymc_model_numba`` for the numba backend."""
    import numba
    from nutpie import compile_pymc as cp
    from pymc.initial_point import make_initial_point_fn

    initial_point_fn = cp._wrap_with_lock(
        make_initial_point_fn(
            model=model, overrides=None, default_strategy="support_point", jitter_rvs=set(model.free_RVs), return_transformed=True
        )
    )
    n_dim, n_expanded, logp_fn_pt, expand_fn_pt, initial_point_fn, shape_info = cp._make_functions(
        model, mode="NUMBA", compute_grad=True, join_expanded=True, pymc_initial_point_fn=initial_point_fn, var_names=None
    )
    shared_data: dict[str, np.ndarray] = {}
    shared_vars: dict[str, Any] = {}
    seen: set[Any] = set()
    for val in [*logp_fn_pt.get_shared(), *expand_fn_pt.get_shared()]:
        if val.name in shared_data and val not in seen:
            raise ValueError(f"Shared variables must have unique names: {val.name}")
        shared_data[val.name] = np.array(val.get_value(), order="C", copy=True)
        shared_vars[val.name] = val
        seen.add(val)
    for val in shared_data.values():
        val.flags.writeable = False
    user_data = cp.make_user_data(shared_vars, shared_data)

    logp_extract = cp.make_extraction_fn(logp_fn_pt.vm.jit_fn, shared_data, [v.name for v in logp_fn_pt.get_shared()], user_data.dtype)
    expand_extract = cp.make_extraction_fn(
        expand_fn_pt.vm.jit_fn, shared_data, [v.name for v in expand_fn_pt.get_shared()], user_data.dtype
    )
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Cannot cache compiled function .* as it uses dynamic globals", category=numba.NumbaWarning
        )
        logp_numba = numba.cfunc(_logp_signature())(_logp_wrapper(n_dim, logp_extract))
        expand_numba = numba.cfunc(_expand_signature())(_expand_wrapper(n_dim, n_expanded, expand_extract))
    dims, coords = cp._prepare_dims_and_coords(model, shape_info)
    return cp.CompiledPyMCModel(
        _n_dim=n_dim,
        dims=dims,
        _coords=coords,
        _shapes={name: tuple(shape) for name, _, shape in zip(*shape_info, strict=True)},
        compiled_logp_func=logp_numba,
        compiled_expand_func=expand_numba,
        initial_point_func=initial_point_fn,
        shared_data=shared_data,
        user_data=user_data,
        n_expanded=n_expanded,
        shape_info=shape_info,
        logp_func=logp_fn_pt,
        expand_func=expand_fn_pt,
    )


def _logp_signature() -> Any:
    from numba import types

    return types.int64(
        types.uint64, types.CPointer(types.double), types.CPointer(types.double), types.CPointer(types.double), types.voidptr
    )


def _expand_signature() -> Any:
    from numba import types

    pointer = types.CPointer(types.double)
    return types.int64(types.uint64, types.uint64, pointer, pointer, types.voidptr)


def _logp_wrapper(n_dim: int, extract: Any) -> Any:
    """nutpie's C log-density wrapper (same return codes), copying the gradient element by element."""
    import numba

    def logp_numba(dim, x_, out_, logp_, user_data_):  # pragma: no cover (compiled by Numba)
        if dim != n_dim:
            return -1
        try:
            x = numba.carray(x_, (n_dim,))
            out = numba.carray(out_, (n_dim,))
            logp = numba.carray(logp_, ())
            logp_val, grad = extract(x, user_data_)
            logp[()] = logp_val
            for i in range(n_dim):
                out[i] = grad[i]
            if not np.all(np.isfinite(out)):
                return 3
            if not np.isfinite(logp_val):
                return 4
        except Exception:  # any error is code 1 for nutpie, as in its own wrapper
            return 1
        return 0

    return logp_numba


def _expand_wrapper(n_dim: int, n_expanded: int, extract: Any) -> Any:
    """nutpie's C expand wrapper (same return codes), copying the values element by element."""
    import numba

    def expand_numba(dim, expanded, x_, out_, user_data_):  # pragma: no cover (compiled by Numba)
        if dim != n_dim:
            return -1
        if expanded != n_expanded:
            return -1
        try:
            x = numba.carray(x_, (n_dim,))
            out = numba.carray(out_, (n_expanded,))
            (values,) = extract(x, user_data_)
            for i in range(n_expanded):
                out[i] = values[i]
        except Exception:  # any error is code -2, as in nutpie's own wrapper
            return -2
        return 0

    return expand_numba
