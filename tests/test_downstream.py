"""Chained downstream forecasts (loss fit -> link fit -> error draws).

Most tests build fits from hand-made posterior draws (no sampling), so the
chaining arithmetic is checked exactly against a per-draw loop and against the
limits where one of the two posteriors is a point mass. One slow test chains
two real fits on synthetic data.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import bayeslaw as bl
from bayeslaw import results
from bayeslaw.constants import CREDIBLE_INTERVAL
from bayeslaw.data import ScalingData
from bayeslaw.diagnostics import ConvergenceWarning, Diagnostics
from bayeslaw.downstream import QUANTITIES, forecast_downstream, pair_indices
from bayeslaw.fit import Fit
from bayeslaw.laws import get_law
from bayeslaw.simulate import simulate
from bayeslaw.spec import resolve_spec

CHAINS, DRAWS = 2, 200
LOSS_REFS = {"N": 1.0e8, "D": 2.0e9}
LINK_REFS = {"loss": 3.5}
LOSS_TRUTH = {"E": 1.9, "a_M": 250.0, "b_M": 450.0, "eta": 0.14}
LINK_TRUTH = {"eps": 0.86, "k": 2.1, "gamma": 0.7}
NEW_N = np.array([1.4e9, 6.9e9])
NEW_D = np.array([9.2e11, 1.4e11])


def _draws(rng: np.random.Generator, centre: float, rel_sd: float) -> xr.DataArray:
    values = centre * np.exp(rel_sd * rng.standard_normal((CHAINS, DRAWS)))
    return xr.DataArray(values, dims=("chain", "draw"), coords={"chain": np.arange(CHAINS), "draw": np.arange(DRAWS)})


def _mock_fit(model: str, data: ScalingData, refs: dict[str, float], posterior: dict[str, xr.DataArray], seed: int = 0) -> Fit:
    diagnostics = Diagnostics(max_rhat=1.0, min_ess_bulk=1e4, min_ess_tail=1e4, n_divergent=0, n_draws=CHAINS * DRAWS)
    idata = results.from_datasets({"posterior": xr.Dataset(posterior)})
    return Fit(idata=idata, data=data, spec=resolve_spec(model), refs=refs, diagnostics=diagnostics, seed=seed)


def loss_fit(spread: float = 0.05, seed: int = 0) -> Fit:
    """An over-training fit whose posterior is hand-made around LOSS_TRUTH (relative spread ``spread``)."""
    rng = np.random.default_rng(seed)
    p = get_law("overtraining").from_raw(LOSS_TRUTH, LOSS_REFS, np)
    frame = pd.DataFrame({"N": [1e7, 1e8, 1e9], "D": [2e8, 2e9, 2e10], "loss": [5.0, 3.8, 3.0]})
    data = ScalingData.from_frame(frame)
    post = {k: _draws(rng, float(v), spread) for k, v in p.items()}
    post["sigma"] = _draws(rng, 0.01, 0.1)
    post["nu"] = _draws(rng, 20.0, 0.1)
    return _mock_fit("overtraining", data, LOSS_REFS, post)


def link_fit(spread: float = 0.05, seed: int = 1, truth: dict[str, float] | None = None, phi: float = 2000.0) -> Fit:
    """An error-link fit whose posterior is hand-made around LINK_TRUTH."""
    rng = np.random.default_rng(seed)
    p = get_law("error_link").from_raw(truth or LINK_TRUTH, LINK_REFS, np)
    frame = pd.DataFrame({"loss": [5.0, 3.8, 3.0], "error": [0.8, 0.7, 0.6]})
    data = ScalingData.from_frame(frame, target="error", inputs=["loss"])
    post = {k: _draws(rng, float(v), spread) for k, v in p.items()}
    post["phi"] = _draws(rng, phi, 0.1)
    return _mock_fit("error_link", data, LINK_REFS, post)


def test_pair_indices_is_a_seeded_permutation():
    idx = pair_indices(400, 400, seed=7)
    assert sorted(idx.tolist()) == list(range(400))
    np.testing.assert_array_equal(idx, pair_indices(400, 400, seed=7))
    assert not np.array_equal(idx, pair_indices(400, 400, seed=8))
    fewer = pair_indices(300, 400, seed=7)
    assert len(set(fewer.tolist())) == 300 and fewer.max() < 400
    more = pair_indices(500, 100, seed=7)
    assert len(more) == 500 and more.max() < 100 and more.min() >= 0
    with pytest.raises(ValueError, match="at least one draw"):
        pair_indices(0, 10, seed=1)


def test_chained_draws_match_a_per_draw_loop():
    lf, kf = loss_fit(), link_fit()
    forecast = forecast_downstream(lf, kf, NEW_N, NEW_D, seed=5)
    n = CHAINS * DRAWS
    idx = pair_indices(n, n, 5 + 13)
    loss_law, link_law = lf.law, kf.law
    flat = {k: lf.posterior[k].values.reshape(-1) for k in loss_law.parameters}
    link_flat = {k: kf.posterior[k].values.reshape(-1) for k in link_law.parameters}
    expected_loss = np.empty((n, 2))
    expected_err = np.empty((n, 2))
    for i in range(n):
        p_i = {k: v[i] for k, v in flat.items()}
        q_i = {k: v[idx[i]] for k, v in link_flat.items()}
        expected_loss[i] = loss_law.mean({"N": NEW_N, "D": NEW_D}, p_i, LOSS_REFS, np)
        expected_err[i] = q_i["eps"] - q_i["k_ref"] * np.exp(-q_i["gamma"] * (expected_loss[i] - LINK_REFS["loss"]))
    np.testing.assert_allclose(forecast.draws["loss_mean"].values, expected_loss, rtol=1e-12)
    np.testing.assert_allclose(forecast.draws["error_mean"].values, expected_err, rtol=1e-12)
    assert "seeded random permutation" in forecast.notes[0]
    # Same seed, same draws; the table has every quantity's interval.
    again = forecast_downstream(lf, kf, NEW_N, NEW_D, seed=5)
    xr.testing.assert_identical(forecast.draws, again.draws)
    table = forecast.intervals()
    assert list(table["N"]) == list(NEW_N)
    for name in QUANTITIES:
        assert (table[f"{name}_lower"] < table[f"{name}_median"]).all() and (table[f"{name}_median"] < table[f"{name}_upper"]).all()
    assert (table["n_invalid"] == 0).all()


def test_point_mass_link_gives_the_link_of_each_loss_draw():
    lf, kf = loss_fit(), link_fit(spread=0.0)
    forecast = forecast_downstream(lf, kf, NEW_N, NEW_D, seed=2)
    p = kf.law.from_raw(LINK_TRUTH, LINK_REFS, np)
    expected = kf.law.mean({"loss": forecast.draws["loss_mean"]}, p, LINK_REFS, np)
    np.testing.assert_allclose(forecast.draws["error_mean"].values, expected.values, rtol=1e-12)


def test_point_mass_loss_gives_every_link_draw_once():
    lf, kf = loss_fit(spread=0.0), link_fit()
    forecast = forecast_downstream(lf, kf, NEW_N[:1], NEW_D[:1], seed=2)
    loss = float(forecast.draws["loss_mean"].values[0, 0])
    np.testing.assert_allclose(forecast.draws["loss_mean"].values, loss, rtol=1e-12)
    all_link = kf.law.mean({"loss": loss}, kf.params(), LINK_REFS, np).values.reshape(-1)
    np.testing.assert_allclose(np.sort(forecast.draws["error_mean"].values[:, 0]), np.sort(all_link), rtol=1e-12)


def test_error_interval_carries_both_uncertainties():
    def width(lf: Fit, kf: Fit) -> np.ndarray:
        table = forecast_downstream(lf, kf, NEW_N, NEW_D, seed=3).intervals(CREDIBLE_INTERVAL)
        return (table["error_mean_upper"] - table["error_mean_lower"]).to_numpy()

    both = width(loss_fit(), link_fit())
    only_loss = width(loss_fit(), link_fit(spread=0.0))
    only_link = width(loss_fit(spread=0.0), link_fit())
    assert np.all(only_loss > 0) and np.all(only_link > 0)
    assert np.all(both > only_loss) and np.all(both > only_link)
    # Independent sources roughly add in quadrature (linearised link): within 25%.
    np.testing.assert_allclose(both, np.hypot(only_loss, only_link), rtol=0.25)


def test_observations_are_error_fractions_and_wider_than_the_curve():
    # phi = 50: Beta noise sd ~ 0.07 at error 0.5, large against the spread of the curve.
    forecast = forecast_downstream(loss_fit(), link_fit(phi=50.0), NEW_N, NEW_D, seed=4)
    obs = forecast.draws["error_observation"].values
    assert np.all((obs > 0) & (obs < 1))
    table = forecast.intervals()
    obs_width = table["error_observation_upper"] - table["error_observation_lower"]
    assert np.all(obs_width > table["error_mean_upper"] - table["error_mean_lower"])


def test_draws_outside_the_support_are_counted_and_warned_not_clipped():
    # Put the link's zero crossing at the forecast loss: about half the draws fall below 0.
    lf = loss_fit()
    loss = float(forecast_downstream(lf, link_fit(), NEW_N[:1], NEW_D[:1], seed=1).intervals()["loss_mean_median"].iloc[0])
    eps, gamma = 0.3, 0.7
    kf = link_fit(truth={"eps": eps, "k": eps * np.exp(gamma * loss), "gamma": gamma}, spread=0.05)
    with pytest.warns(UserWarning, match="outside the support of 'error'"):
        forecast = forecast_downstream(lf, kf, NEW_N[:1], NEW_D[:1], seed=1)
    invalid = forecast.draws["invalid"].values
    assert 0.2 < invalid.mean() < 0.8
    mean = forecast.draws["error_mean"].values
    assert (mean < 0).any()  # kept as the law's value, not clipped
    assert np.isnan(forecast.draws["error_observation"].values[invalid]).all()
    assert np.isfinite(forecast.draws["error_observation"].values[~invalid]).all()
    assert int(forecast.intervals()["n_invalid"].iloc[0]) == int(invalid.sum())
    assert any("outside the support" in n for n in forecast.notes)


def test_link_must_read_the_loss_fits_target():
    lf = loss_fit()
    with pytest.raises(ValueError, match="must read only the loss fit's target 'loss'"):
        forecast_downstream(lf, lf, NEW_N, NEW_D)


@pytest.mark.slow
def test_real_chained_forecast_covers_synthetic_truth():
    """Fit the over-training law and the link on synthetic data, chain to a held-out large run."""
    sim = simulate("overtraining", LOSS_TRUTH, sizes=np.geomspace(1e7, 4e8, 4), tokens_per_param=(20.0, 80.0, 320.0), sigma=0.01, seed=11)
    link = get_law("error_link")
    rng = np.random.default_rng(12)
    losses = sim.data.values("loss")
    refs = {"loss": float(np.exp(np.log(losses).mean()))}
    mu = link.mean({"loss": losses}, link.from_raw(LINK_TRUTH, refs, np), refs, np)
    frame = pd.DataFrame({"loss": losses, "error": rng.beta(mu * 3000, (1 - mu) * 3000)})
    link_data = ScalingData.from_frame(frame, target="error", inputs=["loss"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # conclusions below need converged fits
        lf = bl.fit(sim.data, "overtraining", draws=1000, tune=1000, chains=4, random_seed=1)
        kf = bl.fit(link_data, "error_link", draws=500, tune=500, chains=2, random_seed=1)
    forecast = forecast_downstream(lf, kf, [1.4e9], [2.8e10])
    table = forecast.intervals()
    p = get_law("overtraining").from_raw(LOSS_TRUTH, sim.refs, np)
    true_loss = float(get_law("overtraining").mean({"N": 1.4e9, "D": 2.8e10}, p, sim.refs, np))
    true_err = LINK_TRUTH["eps"] - LINK_TRUTH["k"] * np.exp(-LINK_TRUTH["gamma"] * true_loss)
    assert table["loss_mean_lower"][0] <= true_loss <= table["loss_mean_upper"][0]
    assert table["error_mean_lower"][0] <= true_err <= table["error_mean_upper"][0]


@pytest.mark.filterwarnings("ignore:All-NaN slice:RuntimeWarning")
def test_fit_predict_of_a_link_outside_its_support_warns_instead_of_crashing():
    # Fit.predict samples Beta noise: a mean below 0 (extrapolated far below the fitted losses) must not crash it.
    kf = link_fit(truth={"eps": 0.3, "k": 40.0, "gamma": 0.7}, spread=0.05)
    with pytest.warns(UserWarning, match="outside the support of 'error'"):
        table, draws = kf.predict(loss=[1.0, 8.0], return_draws=True)
    assert np.isnan(draws["observation"].isel(point=0)).all()  # every draw's mean is < 0 at loss 1
    assert (draws["mean"].isel(point=0) < 0).all()  # the curve itself is reported, not clipped
    assert np.isfinite(draws["observation"].isel(point=1)).all()
    assert 0 < table["observation_median"][1] < 1
