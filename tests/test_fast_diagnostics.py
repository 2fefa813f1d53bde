"""Vectorised r_hat and bulk/tail ESS equal ArviZ's, quantity by quantity."""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest
import xarray as xr

from bayeslaw import fast_diagnostics as fd


def _chains(rng: np.random.Generator, shape: tuple[int, ...], n_chain: int = 4, n_draw: int = 500) -> np.ndarray:
    """AR(1) chains with per-quantity autocorrelation, chain offsets on some quantities, heavy tails on others."""
    phi = rng.uniform(0.0, 0.95, size=shape)
    noise = rng.standard_t(5, size=(n_chain, n_draw, *shape))
    x = np.empty_like(noise)
    x[:, 0] = noise[:, 0]
    for t in range(1, n_draw):
        x[:, t] = phi * x[:, t - 1] + noise[:, t]
    offsets = rng.normal(size=(n_chain, 1, *shape)) * (rng.uniform(size=shape) < 0.3)
    return x + offsets


@pytest.mark.parametrize(("shape", "n_chain", "n_draw"), [((40,), 4, 500), ((3, 7), 2, 101), ((5,), 8, 64), ((), 4, 1000)])
def test_equal_to_arviz(shape, n_chain, n_draw):
    rng = np.random.default_rng(n_draw)
    values = _chains(rng, shape, n_chain, n_draw)
    dims = [f"d{i}" for i in range(len(shape))]
    ds = xr.Dataset({"x": (["chain", "draw", *dims], values)})
    for ours, theirs in (
        (fd.rhat(values), az.rhat(ds)["x"].values),
        (fd.ess_bulk(values), az.ess(ds, method="bulk")["x"].values),
        (fd.ess_tail(values), az.ess(ds, method="tail")["x"].values),
    ):
        assert np.array_equal(ours, theirs)


def test_special_quantities_follow_arviz():
    """A constant quantity, one with a NaN and one with ties all give ArviZ's values (NaN where ArviZ says NaN)."""
    rng = np.random.default_rng(1)
    values = _chains(rng, (4,))
    values[..., 0] = 2.0
    values[1, 7, 1] = np.nan
    values[..., 2] = np.round(values[..., 2])
    ds = xr.Dataset({"x": (["chain", "draw", "k"], values)})
    np.testing.assert_array_equal(fd.rhat(values), az.rhat(ds)["x"].values)
    np.testing.assert_array_equal(fd.ess_bulk(values), az.ess(ds, method="bulk")["x"].values)
    np.testing.assert_array_equal(fd.ess_tail(values), az.ess(ds, method="tail")["x"].values)


def test_dataset_form_keeps_dims_and_coords():
    rng = np.random.default_rng(2)
    ds = xr.Dataset(
        {"a": (["chain", "draw", "skill"], _chains(rng, (3,))), "b": (["chain", "draw"], _chains(rng, ()))},
        coords={"skill": ["x", "y", "z"]},
    )
    out = fd.ess_dataset(ds, "bulk")
    assert list(out["a"].coords["skill"].values) == ["x", "y", "z"]
    xr.testing.assert_equal(out, az.ess(ds, method="bulk"))
    xr.testing.assert_equal(fd.rhat_dataset(ds), az.rhat(ds))
    with pytest.raises(ValueError, match="not vectorised"):
        fd.ess_dataset(ds, "mean")
