"""Posterior predictive draws stay finite, so ``fit.idata`` works with ArviZ (``az.plot_ppc``).

A Student-t on log loss with small nu can draw noise so large that ``exp`` overflows
(``inf``) or underflows (``0``). Those draws are drawn again from the same
distribution (the family truncated to the float64 range), stated in a warning, and
every other draw is left exactly as it was.
"""

from __future__ import annotations

import warnings

import arviz as az
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
from test_plots_real_data import tiny_scale_fit

from bayeslaw.families import get_family
from bayeslaw.fit import Fit
from bayeslaw.forecast import sample_observations


def heavy_draws(seed: int = 1) -> tuple[xr.DataArray, list[warnings.WarningMessage], np.ndarray]:
    """New observations with nu = 0.4, sigma = 0.5 around a loss of 2, the warnings, and the raw draws without redrawing."""
    family = get_family("studentt")
    shape = (2, 500, 40)
    mean = xr.DataArray(np.full(shape, 2.0), dims=("chain", "draw", "obs"))
    params = {
        "nu": xr.DataArray(np.full(shape[:2], 0.4), dims=("chain", "draw")),
        "sigma": xr.DataArray(np.full(shape[:2], 0.5), dims=("chain", "draw")),
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = sample_observations(family, mean, params, "loss", seed)
    with np.errstate(over="ignore"):
        raw = np.exp(np.log(2.0) + 0.5 * np.random.default_rng(seed).standard_t(np.full(shape, 0.4)))
    return out, caught, raw


def test_overflowing_draws_are_redrawn_and_said() -> None:
    out, caught, raw = heavy_draws()
    values = out.values
    overflowed = ~np.isfinite(raw) | (raw == 0)
    assert overflowed.sum() > 100, "the setting must overflow for this test to mean anything"
    assert np.isfinite(values).all() and (values > 0).all()
    assert out.attrs["redrawn"] == overflowed.sum()
    messages = [str(w.message) for w in caught if "overflowed float64" in str(w.message)]
    assert len(messages) == 1 and f"{overflowed.sum()} new-observation draw(s)" in messages[0]
    np.testing.assert_array_equal(values[~overflowed], raw[~overflowed])  # the rest untouched
    redrawn = values[overflowed]
    # Redrawn, not clipped: fresh draws of the same distribution, so mostly moderate values, not piled at an edge.
    assert np.unique(redrawn).size == redrawn.size
    assert np.median(np.abs(np.log(redrawn / 2.0))) < 50


def test_redraws_are_reproducible_from_the_seed() -> None:
    first, _, _ = heavy_draws(seed=7)
    again, _, _ = heavy_draws(seed=7)
    np.testing.assert_array_equal(first.values, again.values)


def test_light_tails_draw_exactly_as_before() -> None:
    family = get_family("studentt")
    mean = xr.DataArray(np.full((2, 50, 10), 2.0), dims=("chain", "draw", "obs"))
    params = {
        "nu": xr.DataArray(np.full((2, 50), 5.0), dims=("chain", "draw")),
        "sigma": xr.DataArray(np.full((2, 50), 0.05), dims=("chain", "draw")),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = sample_observations(family, mean, params, "loss", 3)
    expected = np.exp(np.log(2.0) + 0.05 * np.random.default_rng(3).standard_t(np.full((2, 50, 10), 5.0)))
    np.testing.assert_allclose(out.values, expected, rtol=1e-12)
    assert "redrawn" not in out.attrs


@pytest.fixture(autouse=True)
def _close() -> None:
    yield
    plt.close("all")


def check_plot_ppc(fit: Fit) -> None:
    """``az.plot_ppc`` on the fit's InferenceData: finite draws, one line per predictive draw shown, finite limits."""
    predicted = fit.idata.posterior_predictive["y"].values
    assert np.isfinite(predicted).all()
    ax = az.plot_ppc(fit.idata, num_pp_samples=40, random_seed=0)
    ax = np.ravel(ax)[0]
    assert len(ax.get_lines()) >= 40
    assert np.isfinite(ax.get_xlim()).all() and np.isfinite(ax.get_ylim()).all()


def test_az_plot_ppc_works_on_a_fit(chinchilla_fit: Fit) -> None:
    check_plot_ppc(chinchilla_fit)


def test_az_plot_ppc_works_on_a_heavy_tailed_fit() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        heavy = tiny_scale_fit(nu=0.7, sigma=0.3)
    assert any("overflowed float64" in str(w.message) for w in caught), "nu = 0.7, sigma = 0.3 should overflow some draws"
    assert heavy.idata.posterior_predictive["y"].attrs["redrawn"] > 0  # the InferenceData says so too
    check_plot_ppc(heavy)
