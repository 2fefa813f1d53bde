"""A real short fit of the default model on the 240 Chinchilla points, and a deliberately broken one."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

import bayeslaw as bl
from bayeslaw import results
from bayeslaw.constants import CHINCHILLA_BUDGET, CREDIBLE_INTERVAL, OBS_DIM
from bayeslaw.diagnostics import ConvergenceWarning

SUMMARY_ROWS = ["E", "a_ref", "b_ref", "alpha", "beta", "A", "B", "a", "b", "sigma", "nu"]


@pytest.fixture(scope="module")
def summary(chinchilla_fit):
    return chinchilla_fit.summary()


def test_short_fit_converged(chinchilla_fit):
    diag = chinchilla_fit.diagnostics
    assert diag.converged, diag.banner()
    assert diag.banner().startswith("Convergence OK")
    assert diag.n_draws == 2 * 800
    assert diag.max_rhat <= 1.01 and diag.min_ess_bulk >= 400 and diag.n_divergent == 0
    assert "converged" in repr(chinchilla_fit) and "NOT" not in repr(chinchilla_fit)


def test_summary_rows_and_default_interval(chinchilla_fit, summary):
    assert list(summary.index) == SUMMARY_ROWS
    assert list(summary["kind"]) == ["parameter"] * 5 + ["derived"] * 4 + ["likelihood"] * 2
    assert summary.attrs["prob"] == CREDIBLE_INTERVAL == 0.90
    assert summary.attrs["diagnostics"].startswith("Convergence OK")
    assert (summary["flag"] == "").all()
    # The interval is the equal-tailed 90 % interval of the draws.
    alpha = chinchilla_fit.posterior["alpha"].values.ravel()
    assert summary.loc["alpha", "lower"] == pytest.approx(np.quantile(alpha, 0.05))
    assert summary.loc["alpha", "upper"] == pytest.approx(np.quantile(alpha, 0.95))
    assert summary.loc["alpha", "median"] == pytest.approx(np.median(alpha))
    assert (summary["lower"] < summary["median"]).all() and (summary["median"] < summary["upper"]).all()
    with pytest.raises(ValueError, match="interval probability must be in \\(0, 1\\), got 90"):
        chinchilla_fit.summary(prob=90)
    wider = chinchilla_fit.summary(prob=0.99)
    assert wider.attrs["prob"] == 0.99
    assert (wider["lower"] <= summary["lower"]).all() and (wider["upper"] >= summary["upper"]).all()


def test_posterior_medians_are_plausible(summary):
    # Epoch AI's replication: E 1.82, A 482, B 2085, alpha 0.348, beta 0.366.
    median = summary["median"]
    assert 0.30 < median["alpha"] < 0.40
    assert 0.30 < median["beta"] < 0.42
    assert 1.7 < median["E"] < 1.95
    assert 200 < median["A"] < 1200
    assert 800 < median["B"] < 6000
    assert 0.45 < median["a"] < 0.56
    assert median["a"] + median["b"] == pytest.approx(1.0)
    assert 0.001 < median["sigma"] < 0.05


def test_derived_rows_are_consistent_with_parameters(chinchilla_fit, summary):
    post = chinchilla_fit.posterior
    a = (post["beta"] / (post["alpha"] + post["beta"])).values.ravel()
    assert summary.loc["a", "median"] == pytest.approx(np.median(a))
    big_a = (post["a_ref"] * chinchilla_fit.refs["N"] ** post["alpha"]).values.ravel()
    assert summary.loc["A", "median"] == pytest.approx(np.median(big_a), rel=1e-10)


def test_idata_groups_and_coords(chinchilla_fit, chinchilla_data):
    idata = chinchilla_fit.idata
    for group in ("posterior", "posterior_predictive", "log_likelihood", "observed_data", "constant_data", "sample_stats"):
        assert results.has_group(idata, group), group
    labels = [str(i) for i in chinchilla_data.frame.index]
    for group in ("posterior_predictive", "log_likelihood", "observed_data"):
        y = results.get_group(idata, group)["y"]
        assert y.dims[-1] == OBS_DIM
        assert list(y[OBS_DIM].values) == labels
    observed = results.get_group(idata, "observed_data")["y"].values
    np.testing.assert_array_equal(observed, chinchilla_data.values("loss"))
    constant = results.get_group(idata, "constant_data")
    np.testing.assert_array_equal(constant["N"].values, chinchilla_data.values("N"))
    pp = results.get_group(idata, "posterior_predictive")["y"]
    assert pp.sizes == {"chain": 2, "draw": 800, OBS_DIM: 240}
    assert np.all(pp.values > 0)
    # Stamped metadata.
    assert results.get_json_attr(idata, "seed") == chinchilla_fit.seed
    assert results.get_json_attr(idata, "sampler")["draws"] == 800


def test_log_likelihood_is_the_student_t_on_log_loss(chinchilla_fit, chinchilla_data):
    post = chinchilla_fit.posterior
    ll = results.get_group(chinchilla_fit.idata, "log_likelihood")["y"]
    chain, draw = 1, 123
    p = {k: float(post[k].isel(chain=chain, draw=draw)) for k in ("E", "a_ref", "b_ref", "alpha", "beta", "sigma", "nu")}
    n, d = chinchilla_data.values("N"), chinchilla_data.values("D")
    refs = chinchilla_fit.refs
    mean = p["E"] + p["a_ref"] * (n / refs["N"]) ** -p["alpha"] + p["b_ref"] * (d / refs["D"]) ** -p["beta"]
    expected = stats.t.logpdf(np.log(chinchilla_data.values("loss")), df=p["nu"], loc=np.log(mean), scale=p["sigma"])
    np.testing.assert_allclose(ll.isel(chain=chain, draw=draw).values, expected, rtol=1e-10)
    np.testing.assert_allclose(chinchilla_fit.mean_at_observations().isel(chain=chain, draw=draw).values, mean, rtol=1e-12)


def test_posterior_predictive_covers_the_data(chinchilla_fit, chinchilla_data):
    pp = results.get_group(chinchilla_fit.idata, "posterior_predictive")["y"]
    lower = pp.quantile(0.05, dim=("chain", "draw")).values
    upper = pp.quantile(0.95, dim=("chain", "draw")).values
    y = chinchilla_data.values("loss")
    coverage = np.mean((y >= lower) & (y <= upper))
    assert 0.80 < coverage <= 1.0


def test_predict_mean_and_observation_intervals(chinchilla_fit):
    n = np.array([1e8, 7e10])
    d = np.array([2e9, 1.4e12])
    table = chinchilla_fit.predict(params=n, tokens=d)
    assert list(table.columns) == [
        "N",
        "D",
        "mean_median",
        "mean_lower",
        "mean_upper",
        "observation_median",
        "observation_lower",
        "observation_upper",
    ]
    np.testing.assert_array_equal(table["N"], n)
    for name in ("mean", "observation"):
        assert (table[f"{name}_lower"] < table[f"{name}_median"]).all()
        assert (table[f"{name}_median"] < table[f"{name}_upper"]).all()
    mean_width = table["mean_upper"] - table["mean_lower"]
    obs_width = table["observation_upper"] - table["observation_lower"]
    assert (obs_width > mean_width).all()
    # Chinchilla itself (70B, 1.4T tokens): a loss near 1.9-2.0 nats.
    assert 1.85 < table.loc[1, "mean_median"] < 2.05
    # The mean draws are the law at the posterior draws.
    _, draws = chinchilla_fit.predict(params=n, tokens=d, return_draws=True)
    post = chinchilla_fit.posterior.isel(chain=0, draw=5)
    refs = chinchilla_fit.refs
    by_hand = (
        float(post["E"])
        + float(post["a_ref"]) * (n / refs["N"]) ** -float(post["alpha"])
        + float(post["b_ref"]) * (d / refs["D"]) ** -float(post["beta"])
    )
    np.testing.assert_allclose(draws["mean"].isel(chain=0, draw=5).values, by_hand, rtol=1e-12)


def test_predict_from_compute_and_seeding(chinchilla_fit):
    by_tokens = chinchilla_fit.predict(params=[1e9], tokens=[2e10])
    by_compute = chinchilla_fit.predict(params=[1e9], compute=[6 * 1e9 * 2e10])
    np.testing.assert_allclose(by_compute["mean_median"], by_tokens["mean_median"], rtol=1e-12)
    np.testing.assert_allclose(by_compute["observation_lower"], by_tokens["observation_lower"], rtol=1e-12)
    again = chinchilla_fit.predict(params=[1e9], tokens=[2e10])
    assert again.equals(by_tokens)
    other = chinchilla_fit.predict(params=[1e9], tokens=[2e10], seed=99)
    assert other["observation_lower"].iloc[0] != by_tokens["observation_lower"].iloc[0]
    assert other["mean_median"].iloc[0] == by_tokens["mean_median"].iloc[0]


def test_predict_rejects_bad_inputs(chinchilla_fit):
    with pytest.raises(ValueError, match="missing \\['D'\\]"):
        chinchilla_fit.predict(params=[1e9])
    with pytest.raises(ValueError, match="finite and positive"):
        chinchilla_fit.predict(params=[1e9, -1.0], tokens=[1e10, 1e10])
    with pytest.raises(ValueError, match="matching lengths"):
        chinchilla_fit.predict(params=[1e9, 2e9], tokens=[1e10, 2e10, 3e10])


def test_group_labels_the_fit_lacks_are_rejected(chinchilla_fit):
    # The Chinchilla data have no skill axis: a skill label must not be silently ignored.
    with pytest.raises(ValueError, match="this fit has no 'skill' axis"):
        chinchilla_fit.predict(params=1e9, tokens=2e10, skill="code")
    with pytest.raises(ValueError, match="this fit has no 'skill' axis"):
        chinchilla_fit.compute_optimal(CHINCHILLA_BUDGET, skill="code")
    with pytest.raises(ValueError, match="this fit has no 'datamix' axis"):
        chinchilla_fit.params(datamix="c4")


def test_compute_optimal_at_chinchilla_budget(chinchilla_fit):
    result = chinchilla_fit.compute_optimal(CHINCHILLA_BUDGET)
    summary = result.summary().set_index("quantity")
    assert 1e10 < summary.loc["N_opt", "median"] < 2e11
    assert 5 < summary.loc["tokens_per_param", "median"] < 60
    assert summary.loc["N_opt", "lower"] < summary.loc["N_opt", "median"] < summary.loc["N_opt", "upper"]


def test_report_contains_banner_and_table(chinchilla_fit):
    text = bl.report(chinchilla_fit)
    assert "Convergence OK" in text
    assert "90% credible intervals" in text
    assert "excluded Epoch AI's 5 highest-loss runs" in text
    for row in SUMMARY_ROWS:
        assert row in text


# --------------------------------------------------------------- non-converged fit, reproducibility
def test_unconverged_fit_is_flagged_loudly(tiny_fits):
    fit_, _, caught = tiny_fits
    convergence = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert convergence, "fitting a non-converged model must raise a ConvergenceWarning"
    assert str(convergence[0].message).startswith("WARNING: NOT CONVERGED")
    assert not fit_.diagnostics.converged
    assert not fit_.converged
    assert fit_.diagnostics.problems
    assert "NOT CONVERGED" in repr(fit_)
    with pytest.warns(ConvergenceWarning, match="NOT CONVERGED"):
        summary = fit_.summary()
    assert summary.attrs["diagnostics"].startswith("WARNING: NOT CONVERGED")
    assert (summary["flag"] != "").any()
    with pytest.warns(ConvergenceWarning):
        report = bl.report(fit_)
    assert "WARNING: NOT CONVERGED" in report
    assert "Do not trust these results" in report
    with pytest.warns(ConvergenceWarning):
        fit_.compute_optimal(CHINCHILLA_BUDGET)
    with pytest.warns(ConvergenceWarning):
        fit_.predict(params=1e9, tokens=2e10)


def test_same_seed_gives_identical_fit(tiny_fits):
    first, second, _ = tiny_fits
    for name in ("E", "a_ref", "b_ref", "alpha", "beta", "sigma", "nu"):
        np.testing.assert_array_equal(first.posterior[name].values, second.posterior[name].values)
    np.testing.assert_array_equal(
        results.get_group(first.idata, "posterior_predictive")["y"].values,
        results.get_group(second.idata, "posterior_predictive")["y"].values,
    )
    assert first.diagnostics == second.diagnostics


def test_different_seed_gives_different_fit(tiny_fits, chinchilla_data):
    first, _, _ = tiny_fits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        other = bl.fit(chinchilla_data, random_seed=2, draws=20, tune=5, chains=2)
    assert not np.array_equal(first.posterior["alpha"].values, other.posterior["alpha"].values)


def test_fit_accepts_a_dataframe_and_rejects_bad_settings(chinchilla_data):
    frame = chinchilla_data.frame.assign(loss=lambda f: f["loss"].where(f.index != f.index[3], -1.0))
    with pytest.raises(bl.DataValidationError, match="zero or negative"):
        bl.fit(frame)
    with pytest.raises(ValueError, match="unknown sampler backend"):
        bl.fit(chinchilla_data, backend="nope")
    with pytest.raises(ValueError, match="draws must be a positive integer"):
        bl.fit(chinchilla_data, draws=0)
    with pytest.raises(bl.SpecError, match="no model named"):
        bl.fit(chinchilla_data, model="no_such_model")
