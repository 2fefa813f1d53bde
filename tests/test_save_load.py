"""Saving and loading fits: everything round-trips; foreign or broken files fail clearly."""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import bayeslaw as bl
from bayeslaw import results
from bayeslaw.constants import ATTR_PREFIX, CHINCHILLA_BUDGET
from bayeslaw.diagnostics import ConvergenceWarning


@pytest.fixture(scope="module")
def saved(chinchilla_fit, tmp_path_factory):
    path = tmp_path_factory.mktemp("fits") / "chinchilla.nc"
    written = chinchilla_fit.save(path)
    assert written == path
    return path


@pytest.fixture(scope="module")
def loaded(saved):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a converged fit must load silently
        return bl.load_fit(saved)


def test_round_trip_posterior_and_groups(chinchilla_fit, loaded):
    original, back = chinchilla_fit.idata, loaded.idata
    for group in ("posterior", "posterior_predictive", "log_likelihood", "observed_data", "constant_data", "sample_stats"):
        assert results.has_group(back, group), group
        xr.testing.assert_identical(results.get_group(back, group), results.get_group(original, group))


def test_round_trip_metadata(chinchilla_fit, loaded):
    pd.testing.assert_frame_equal(loaded.data.frame, chinchilla_fit.data.frame)
    assert loaded.data.notes == chinchilla_fit.data.notes
    assert loaded.data.inputs == chinchilla_fit.data.inputs and loaded.data.target == chinchilla_fit.data.target
    assert loaded.spec.to_dict() == chinchilla_fit.spec.to_dict()
    assert loaded.spec.source == chinchilla_fit.spec.source
    assert loaded.refs == chinchilla_fit.refs
    assert loaded.diagnostics == chinchilla_fit.diagnostics
    assert loaded.seed == chinchilla_fit.seed
    assert loaded.notes == chinchilla_fit.notes
    assert repr(loaded) == repr(chinchilla_fit)


def test_round_trip_results_are_identical(chinchilla_fit, loaded):
    budgets = [1e21, CHINCHILLA_BUDGET]
    xr.testing.assert_identical(loaded.compute_optimal(budgets).draws, chinchilla_fit.compute_optimal(budgets).draws)
    pd.testing.assert_frame_equal(
        loaded.predict(params=[1e9, 7e10], tokens=[2e10, 1.4e12]), chinchilla_fit.predict(params=[1e9, 7e10], tokens=[2e10, 1.4e12])
    )
    pd.testing.assert_frame_equal(loaded.summary(), chinchilla_fit.summary())
    assert bl.report(loaded) == bl.report(chinchilla_fit)
    xr.testing.assert_identical(loaded.mean_at_observations(), chinchilla_fit.mean_at_observations())


def test_saving_creates_folders(chinchilla_fit, tmp_path):
    path = chinchilla_fit.save(tmp_path / "a" / "b" / "fit.nc")
    assert path.exists()


def test_unconverged_fit_warns_on_load(tiny_fits, tmp_path):
    fit_, _, _ = tiny_fits
    path = fit_.save(tmp_path / "tiny.nc")
    with pytest.warns(ConvergenceWarning, match="NOT CONVERGED"):
        back = bl.load_fit(path)
    assert not back.converged
    assert back.diagnostics.problems == fit_.diagnostics.problems


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such fit file"):
        bl.load_fit(tmp_path / "absent.nc")


@pytest.mark.parametrize("content", [b"", b"\x00\x01garbage bytes, not NetCDF\xff" * 50, b"\x89HDF\r\n\x1a\n" + b"\x00" * 100])
def test_corrupt_file(tmp_path, content):
    path = tmp_path / "corrupt.nc"
    path.write_bytes(content)
    with pytest.raises(bl.FitFileError, match=r"corrupt\.nc"):
        bl.load_fit(path)


def test_truncated_fit_file(saved, tmp_path):
    path = tmp_path / "truncated.nc"
    path.write_bytes(saved.read_bytes()[:5000])
    with pytest.raises(bl.FitFileError, match=r"truncated\.nc"):
        bl.load_fit(path)


def test_foreign_plain_netcdf(tmp_path):
    path = tmp_path / "plain.nc"
    xr.Dataset({"x": ("t", np.arange(5.0))}).to_netcdf(path)
    with pytest.raises(bl.FitFileError, match=r"plain\.nc"):
        bl.load_fit(path)


def test_foreign_inference_data(tmp_path):
    path = tmp_path / "foreign.nc"
    az.from_dict(posterior={"mu": np.random.default_rng(0).normal(size=(2, 10))}).to_netcdf(str(path))
    with pytest.raises(bl.FitFileError, match="not a bayeslaw fit") as err:
        bl.load_fit(path)
    assert "foreign.nc" in str(err.value)


def test_fit_file_with_damaged_metadata(chinchilla_fit, tmp_path):
    idata = chinchilla_fit.idata.copy()
    results.posterior(idata).attrs[ATTR_PREFIX + "spec"] = "{not json"
    path = results.save(idata, tmp_path / "damaged.nc")
    with pytest.raises(bl.FitFileError, match=r"damaged\.nc: bayeslaw metadata is unreadable"):
        bl.load_fit(path)
    # The shared fit is untouched.
    assert results.get_attr(chinchilla_fit.idata, "spec").startswith("{")
