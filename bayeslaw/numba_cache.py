"""Make bayeslaw's models cacheable by PyTensor's Numba backend.

PyTensor (>= 2.32) caches the Numba code it generates on disk
(``~/.pytensor/numba``), per operation and for a model's whole log density. The
whole-function key includes the data, which bayeslaw compiles in as constants,
so refitting the same model to the same data in a new process (rerunning a
notebook, ``bayeslaw demo``, a case study, the benchmark) skips most of the
compilation; a new dataset reuses the cached operations. One operation
bayeslaw's models need broke the whole-function cache: ``digamma`` (PyTensor's ``Psi``), which appears in the
gradient of every Student-t likelihood with a free ``nu`` and every Beta
likelihood. PyTensor compiles it as a call into SciPy's Cython ``psi`` through
a function pointer looked up at compile time, and Numba refuses to cache code
that embeds such a pointer. One uncacheable operation makes the whole
log-density function uncacheable, so every fit recompiled it.

:func:`enable` registers, for ``Psi`` on float64, a Numba function that calls
*the same* SciPy ``psi`` through a pointer that is looked up at run time and
kept in a global (PyTensor's own mechanism for its LAPACK calls,
``_call_cached_ptr``). The values are therefore bit-identical to before
(tested), and the code is cacheable. Other dtypes keep PyTensor's default
implementation. Registration only changes PyTensor's *Numba* backend; the C and
JAX backends are untouched. :func:`bayeslaw.sampling.run_sampler` calls it
before compiling a model for nutpie.
"""

from __future__ import annotations

import logging

_log = logging.getLogger(__name__)

#: Part of the on-disk cache key: bump it whenever the registered implementation changes.
PSI_CACHE_VERSION: str = "bayeslaw-psi-scipy-pointer-1"

#: SciPy's exported float64 ``psi`` (``double psi(double, int skip_dispatch)``).
SCIPY_PSI_MODULE: str = "scipy.special.cython_special"
SCIPY_PSI_FLOAT64: str = "__pyx_fuse_1psi"

_registered = False


def _scipy_psi_address() -> int:
    """Address of SciPy's Cython float64 ``psi``."""
    from numba.core.extending import get_cython_function_address

    return get_cython_function_address(SCIPY_PSI_MODULE, SCIPY_PSI_FLOAT64)


def enable() -> bool:
    """Register the cacheable Numba implementation of PyTensor's ``Psi`` (idempotent).

    Returns
    -------
    bool
        Whether the registration is in place. If this PyTensor lacks the hooks it uses
        (they are internal), nothing is registered: fits stay correct and only lose the
        cache, and the reason is logged at INFO level.
    """
    global _registered
    if _registered:
        return True
    try:
        _register()
    except (ImportError, AttributeError, TypeError) as err:
        _log.info("PyTensor's Numba cache cannot be enabled for digamma (%s); fits recompile it each time", err)
        return False
    _registered = True
    return True


def _register() -> None:
    """Register :func:`enable`'s ``Psi`` implementation with PyTensor's Numba dispatcher."""
    import numba
    from numba import types
    from pytensor.link.numba.cache import _call_cached_ptr
    from pytensor.link.numba.dispatch import basic as numba_basic
    from pytensor.link.numba.dispatch.basic import register_funcify_and_cache_key
    from pytensor.link.numba.dispatch.scalar import numba_funcify_ScalarOp, scalar_op_cache_key
    from pytensor.scalar.math import Psi

    psi_type = types.FunctionType(types.float64(types.float64, types.intc))

    @numba_basic.numba_njit
    def get_psi_pointer():
        with numba.objmode(ptr=types.intp):
            ptr = _scipy_psi_address()
        return ptr

    @register_funcify_and_cache_key(Psi)
    def numba_funcify_psi(op, node, **kwargs):
        dtypes = [variable.type.dtype for variable in (*node.inputs, *node.outputs)]
        if dtypes != ["float64", "float64"]:
            return numba_funcify_ScalarOp(op, node=node, **kwargs)

        @numba_basic.numba_njit
        def psi(x):
            scipy_psi = _call_cached_ptr(
                get_ptr_func=get_psi_pointer,
                func_type_ref=psi_type,
                unique_func_name_lit="scipy.special.psi_float64",
            )
            return scipy_psi(x, numba.intc(1))

        return psi, scalar_op_cache_key(op, cache_version=PSI_CACHE_VERSION)
