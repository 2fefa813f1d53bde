"""Log likelihood and posterior predictive at the observations: computed on request, in blocks of draws, equal to one piece."""

from __future__ import annotations

import dataclasses
import pickle

import grouped_fits as g
import numpy as np
import pytest
import xarray as xr

import bayeslaw as bl
from bayeslaw import pointwise, results
from bayeslaw.fit import _add_predictive_groups
from bayeslaw.forecast import predictive_groups
from bayeslaw.seeds import stream_seed


def _eager(fit: bl.Fit) -> dict[str, xr.Dataset]:
    return predictive_groups(fit.posterior, fit.data, fit.law, fit.family, fit.refs, stream_seed(fit.seed, "posterior_predictive"))


@pytest.fixture
def lazy_fit(chinchilla_fit: bl.Fit, monkeypatch: pytest.MonkeyPatch) -> bl.Fit:
    """The Chinchilla fit as a fit above the storing threshold makes it: observation groups on request."""
    monkeypatch.setattr(pointwise, "STORE_CELLS_MAX", 0)
    copy = dataclasses.replace(chinchilla_fit, idata=chinchilla_fit.idata.copy())
    for group in pointwise.KINDS:
        results.drop_group(copy.idata, group)
    _add_predictive_groups(copy)
    return copy


def test_a_small_fit_stores_its_groups_and_a_large_one_says_they_are_on_request(chinchilla_fit: bl.Fit, lazy_fit: bl.Fit) -> None:
    assert results.lazy_groups(chinchilla_fit.idata) == ()
    assert {"log_likelihood", "posterior_predictive"} <= set(chinchilla_fit.idata.groups())
    assert not any("computed on request" in n for n in chinchilla_fit.notes)
    assert any("computed on request" in n and "fit.to_arviz()" in n for n in lazy_fit.notes)
    stored = lazy_fit.to_arviz()
    assert results.lazy_groups(stored) == ()
    for group in pointwise.KINDS:
        xr.testing.assert_identical(stored[group], chinchilla_fit.idata[group])


def test_draw_blocks_cover_every_draw_once_in_chain_major_order() -> None:
    blocks = list(pointwise.draw_blocks(3, 10, 5, block_bytes=8 * 5 * 4))
    seen = [(chain, d) for chain, draws in blocks for d in range(draws.start, draws.stop)]
    assert seen == [(c, d) for c in range(3) for d in range(10)]
    assert max(b.stop - b.start for _, b in blocks) == 4
    # a block never spans chains, and holds at least one draw however small the budget
    assert len(list(pointwise.draw_blocks(2, 3, 10**6, block_bytes=1))) == 6


def test_a_fit_computes_its_observation_groups_on_request(lazy_fit: bl.Fit) -> None:
    idata = lazy_fit.idata
    assert set(results.lazy_groups(idata)) == {"log_likelihood", "posterior_predictive"}
    assert "log_likelihood" not in idata.groups() and "posterior_predictive" not in idata.groups()
    assert results.has_group(idata, "log_likelihood") and results.has_group(idata, "posterior_predictive")
    # the recipe travels with the results (process pools, Dask)
    back = pickle.loads(pickle.dumps(idata))
    np.testing.assert_array_equal(results.get_group(back, "log_likelihood")["y"], results.get_group(idata, "log_likelihood")["y"])


@pytest.mark.parametrize("which", ["chinchilla", "hierarchical"])
def test_blocks_equal_one_piece_bit_for_bit(which: str, chinchilla_fit: bl.Fit) -> None:
    fit = chinchilla_fit if which == "chinchilla" else g.fit_of("shared", "hierarchical")
    eager = _eager(fit)
    seed = stream_seed(fit.seed, "posterior_predictive")
    n_obs = len(fit.data)
    for block_bytes in (8 * n_obs * 7, 8 * n_obs * 1000, pointwise.BLOCK_BYTES):  # many blocks, some, one per chain
        ll = pointwise.log_likelihood(fit.posterior, fit.data, fit.law, fit.family, fit.refs, block_bytes=block_bytes)
        pp = pointwise.posterior_predictive(fit.posterior, fit.data, fit.law, fit.family, fit.refs, seed, block_bytes=block_bytes)
        xr.testing.assert_identical(eager["log_likelihood"], xr.Dataset({"y": ll}))
        xr.testing.assert_identical(eager["posterior_predictive"], xr.Dataset({"y": pp}))
    for group in ("observed_data", "constant_data", "log_likelihood", "posterior_predictive"):
        xr.testing.assert_identical(eager[group], results.get_group(fit.idata, group))


def test_loo_of_a_lazy_log_likelihood_equals_the_stored_one(lazy_fit: bl.Fit) -> None:
    stored = lazy_fit.idata.copy()
    results.set_group(stored, "log_likelihood", _eager(lazy_fit)["log_likelihood"])
    assert "log_likelihood" not in results.lazy_groups(stored)
    lazy, eager = results.loo(lazy_fit.idata, "y"), results.loo(stored, "y")
    np.testing.assert_array_equal(np.asarray(lazy.loo_i), np.asarray(eager.loo_i))
    np.testing.assert_array_equal(np.asarray(lazy.pareto_k), np.asarray(eager.pareto_k))


def test_a_saved_fit_stores_the_groups_and_stays_lazy(lazy_fit: bl.Fit, tmp_path) -> None:
    path = lazy_fit.save(tmp_path / "fit.nc")
    assert set(results.lazy_groups(lazy_fit.idata)) == {"log_likelihood", "posterior_predictive"}
    assert "posterior_predictive" not in lazy_fit.idata.groups()
    back = bl.load_fit(path)
    assert results.lazy_groups(back.idata) == ()
    eager = _eager(lazy_fit)
    xr.testing.assert_identical(results.get_group(back.idata, "posterior_predictive"), eager["posterior_predictive"])


def test_an_unknown_group_kind_is_refused(chinchilla_fit: bl.Fit) -> None:
    with pytest.raises(ValueError, match="unknown observation group 'loglik'"):
        pointwise.ObservationGroup("loglik", chinchilla_fit.data, "chinchilla", "studentt", {}, 1)
