"""The cacheable digamma registered for PyTensor's Numba backend (bayeslaw.numba_cache)."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
import scipy.special
from pytensor.link.numba.dispatch.basic import numba_funcify_and_cache_key
from pytensor.scalar.basic import Composite, float64
from pytensor.scalar.math import psi as scalar_psi

from bayeslaw import numba_cache

ARGUMENTS = np.array(
    [0.0, -0.0, -1.0, -2.0, -0.5, -2.7, 1e-300, 1e-8, 0.3, 1.0, 1.4616321449683622, 2.5, 7.0, 10.0, 123.4, 1e20, np.inf, -np.inf, np.nan]
)


@pytest.fixture(scope="module", autouse=True)
def registered() -> None:
    assert numba_cache.enable()


def test_enable_is_idempotent() -> None:
    assert numba_cache.enable()
    assert numba_cache.enable()


def test_numba_psi_is_bit_identical_to_scipy() -> None:
    x = pt.dvector("x")
    compiled = pytensor.function([x], pt.psi(x), mode="NUMBA")
    np.testing.assert_array_equal(compiled(ARGUMENTS), scipy.special.psi(ARGUMENTS))


def test_gradient_of_gammaln_uses_it() -> None:
    """The Student-t log density's gradient in nu is where digamma enters bayeslaw's models."""
    nu = pt.dscalar("nu")
    compiled = pytensor.function([nu], pytensor.grad(pt.gammaln(nu / 2.0), nu), mode="NUMBA")
    for value in (0.7, 3.0, 25.0):
        assert compiled(value) == 0.5 * scipy.special.psi(value / 2.0)


def test_float32_falls_back_to_pytensor_default() -> None:
    x = pt.fvector("x")
    compiled = pytensor.function([x], pt.psi(x), mode="NUMBA")
    values = np.array([0.5, 3.0], dtype=np.float32)
    np.testing.assert_allclose(compiled(values), scipy.special.psi(values), rtol=1e-6)


def test_composite_with_psi_gets_a_cache_key() -> None:
    """Without the registration PyTensor returns no key: the whole log density then escapes the cache."""
    x = float64("x")
    composite = Composite([x], [scalar_psi(x) + x])
    node = composite.make_node(float64("y"))
    _, key = numba_funcify_and_cache_key(composite, node=node)
    assert key is not None
    assert numba_cache.PSI_CACHE_VERSION  # part of the key, bumped on change
