"""fit_many(backend="jax"): many same-shape fits in one vmapped JAX program (blackjax, dense mass matrix), on CPU with tiny batches.

The sampling tests skip when jax or blackjax is not installed (``pip install "bayeslaw[jax]"``);
the error for a missing extra is tested everywhere.
"""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest

import bayeslaw as bl
from bayeslaw import jax_sampler, results
from bayeslaw.simulate import simulate

TRUTH = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
HAS_JAX = all(importlib.util.find_spec(m) is not None for m in jax_sampler.REQUIRES)
needs_jax = pytest.mark.skipif(not HAS_JAX, reason='jax and blackjax are not installed (pip install "bayeslaw[jax]")')
#: Long enough for both samplers to converge on these 40-row datasets, short enough for the default suite.
AGREE = {"draws": 1000, "tune": 500, "chains": 4}
#: Far too short to converge: for checks of structure and flagging only.
TINY = {"draws": 40, "tune": 40, "chains": 2}


def _data(seed: int, scale: float = 1.0, **kwargs) -> bl.ScalingData:
    return simulate("chinchilla", {**TRUTH, "E": TRUTH["E"] * scale}, sigma=0.02, seed=seed, **kwargs).data


def test_missing_extra_is_named(monkeypatch):
    """Without jax or blackjax the batch path says which extra installs them (runs whether or not jax is here)."""
    monkeypatch.setattr(jax_sampler, "REQUIRES", ("jax", "no_such_module_bayeslaw"))
    with pytest.raises(jax_sampler.JaxBatchUnavailable, match=r"bayeslaw\[jax\]"):
        bl.fit_many([_data(1)], "chinchilla", backend="jax", **TINY)


@needs_jax
def test_options_it_cannot_honour_raise():
    with pytest.raises(TypeError, match="robust_starts"):
        bl.fit_many([_data(1)], "chinchilla", backend="jax", robust_starts=True, **TINY)
    with pytest.raises(ValueError, match="executor"):
        bl.fit_many([_data(1)], "chinchilla", backend="jax", executor=object(), **TINY)


@pytest.fixture(scope="module")
def agreement():
    """Two datasets fitted by the JAX batch and by nutpie's fit_many, same seeds and run lengths."""
    if not HAS_JAX:
        pytest.skip('jax and blackjax are not installed (pip install "bayeslaw[jax]")')
    datasets = [_data(0), _data(1, 1.1)]
    seeds = [11, 12]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.ConvergenceWarning)  # convergence is asserted below, per fit
        jax_fits = bl.fit_many(datasets, "chinchilla", backend="jax", random_seed=seeds, **AGREE)
        nutpie_fits = bl.fit_many(datasets, "chinchilla", random_seed=seeds, **AGREE)
    return jax_fits, nutpie_fits


@needs_jax
def test_jax_batch_posteriors_agree_with_nutpie(agreement):
    """Both samplers converge, and each parameter's posterior median agrees within Monte Carlo error (and its sd within 25%)."""
    jax_fits, nutpie_fits = agreement
    for jf, nf in zip(jax_fits, nutpie_fits, strict=True):
        assert jf.converged, jf.diagnostics.banner()
        assert nf.converged, nf.diagnostics.banner()
        js, ns = jf.summary(), nf.summary()
        for name in [*jf.law.parameters, "sigma"]:
            j, n = jf.posterior[name].values.ravel(), nf.posterior[name].values.ravel()
            # MC error of a median: about 1.25 sd / sqrt(ESS); allow 4 combined standard errors
            se = np.hypot(1.25 * j.std() / np.sqrt(js.loc[name, "ess_bulk"]), 1.25 * n.std() / np.sqrt(ns.loc[name, "ess_bulk"]))
            assert abs(np.median(j) - np.median(n)) < 4 * se, (name, np.median(j), np.median(n), se)
            assert 0.8 < j.std() / n.std() < 1.25, (name, j.std(), n.std())


@needs_jax
def test_jax_fits_are_ordinary_fits(agreement, tmp_path):
    """Each member is a Fit with every group, its own seed, the batch path's note and a usable forecast; it saves and loads."""
    jax_fits, _ = agreement
    assert [f.seed for f in jax_fits] == [11, 12]
    for fitted in jax_fits:
        assert {"posterior", "sample_stats", "posterior_predictive", "log_likelihood", "observed_data"} <= set(fitted.idata.groups())
        assert fitted.posterior.sizes["chain"] == AGREE["chains"] and fitted.posterior.sizes["draw"] == AGREE["draws"]
        assert any("JAX batch" in note for note in fitted.notes)
        assert results.get_json_attr(fitted.idata, "sampler")["backend"] == "jax"
        table = fitted.predict(params=1e9, tokens=2e10)
        assert table["mean_median"].iloc[0] > 0
    loaded = bl.load_fit(jax_fits[0].save(tmp_path / "jax_fit.nc"))
    assert np.array_equal(loaded.posterior["E"].values, jax_fits[0].posterior["E"].values)
    assert loaded.converged == jax_fits[0].converged
    e0, e1 = (float(f.posterior["E"].median()) for f in jax_fits)
    assert e1 > e0  # the second dataset's E is 10% larger


@needs_jax
def test_same_seed_same_draws_and_unconverged_members_are_flagged():
    """A seed reproduces a batch draw for draw; different row counts run as separate programs; tiny runs warn and are flagged."""
    datasets = [_data(2), _data(3), _data(4, tokens_per_param=(5.0, 20.0, 80.0))]
    with pytest.warns(bl.ConvergenceWarning):
        first = bl.fit_many(datasets, "chinchilla", backend="jax", random_seed=5, **TINY)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.ConvergenceWarning)
        again = bl.fit_many(datasets, "chinchilla", backend="jax", random_seed=5, **TINY)
        other = bl.fit_many(datasets[:1], "chinchilla", backend="jax", random_seed=6, **TINY)
    assert [len(f.data) for f in first] == [40, 40, 24]
    assert not any(f.converged for f in first)  # 80 draws cannot reach the ESS target
    for a, b in zip(first, again, strict=True):
        assert all(np.array_equal(a.posterior[v].values, b.posterior[v].values) for v in a.posterior.data_vars)
    assert not np.array_equal(first[0].posterior["E"].values, other[0].posterior["E"].values)
