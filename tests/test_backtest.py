"""Backtests, scores, stacking and extrapolation widening (fast: no sampling unless marked slow)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bayeslaw.backtest import Context, Growth, PointFitBootstrap, Split, Stack, backtest, split_at
from bayeslaw.data import ScalingData
from bayeslaw.extrapolation import decades_beyond, learn_growth, prior_growth, widen
from bayeslaw.predictive import Predictive, crps_log, mixture, score_points
from bayeslaw.simulate import simulate
from bayeslaw.stacking import UnconvergedMemberError, check_members, stacking_weights


def normal_predictive(loc: np.ndarray, sd: float, n_draws: int, seed: int) -> Predictive:
    """Draws whose log is loc + Normal(0, sd) for the observation, and exactly loc for the mean."""
    rng = np.random.default_rng(seed)
    loc = np.asarray(loc, dtype=float)
    mean = np.broadcast_to(np.exp(loc), (n_draws, loc.size)).copy()
    obs = np.exp(loc[None, :] + sd * rng.standard_normal((n_draws, loc.size)))
    return Predictive(
        mean=mean,
        observation=obs,
        loc=np.broadcast_to(loc, (n_draws, loc.size)).copy(),
        scale=np.full((n_draws, 1), sd),
        df=np.full((n_draws, 1), np.inf),
    )


def test_crps_matches_the_normal_closed_form():
    rng = np.random.default_rng(0)
    draws = np.exp(0.2 * rng.standard_normal((40000, 1)))
    y = np.exp(np.array([0.1]))
    z = 0.1 / 0.2
    exact = 0.2 * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi))
    assert crps_log(draws, y)[0] == pytest.approx(exact, rel=0.02)


def test_scores_coverage_width_and_density():
    pred = normal_predictive(np.log([1.0, 2.0, 3.0]), 0.1, 20000, seed=1)
    y = np.array([1.0, 2.0 * np.exp(0.3), 3.0 * np.exp(-0.05)])  # inside, 3 sd above, inside
    scores = score_points(pred, y)
    assert scores["cover_obs_90"].tolist() == [True, False, True]
    assert scores["cover_mean_90"].tolist() == [True, False, False]  # the mean curve has no spread here
    assert scores["width_90"].iloc[0] == pytest.approx(2 * np.sinh(1.645 * 0.1), rel=0.03)
    assert scores["lpd"].to_numpy() == pytest.approx(stats.norm.logpdf(np.log(y), np.log([1, 2, 3]), 0.1), rel=1e-6)
    assert scores["abs_pct_error"].iloc[1] == pytest.approx(100 * (1 - np.exp(-0.3)), rel=0.02)
    assert scores["signed_pct_error"].iloc[1] < 0


def test_mixture_uses_only_positive_weights_and_checks_them():
    a = normal_predictive(np.zeros(2), 0.1, 500, seed=2)
    b = normal_predictive(np.full(2, 5.0), 0.1, 500, seed=3)
    mixed = mixture([a, b], [1.0, 0.0], 300, seed=0)
    assert mixed.n_draws == 300
    assert np.all(np.abs(np.log(mixed.observation)) < 1.0)
    half = mixture([a, b], [0.5, 0.5], 2000, seed=0)
    assert 0.4 < np.mean(np.log(half.observation[:, 0]) > 2.5) < 0.6
    with pytest.raises(ValueError, match="sum to 1"):
        mixture([a, b], [0.5, 0.6], 10, seed=0)


def test_stacking_weights():
    rng = np.random.default_rng(4)
    good, bad = rng.normal(1.0, 0.1, 30), rng.normal(-3.0, 0.1, 30)
    assert stacking_weights(np.column_stack([good, bad])) == pytest.approx([1.0, 0.0], abs=1e-3)
    # Each model is right on half of the runs: the mixture needs both.
    split = np.column_stack([np.r_[np.zeros(15), np.full(15, -8.0)], np.r_[np.full(15, -8.0), np.zeros(15)]])
    assert stacking_weights(split) == pytest.approx([0.5, 0.5], abs=0.01)
    with pytest.raises(ValueError, match="NaN"):
        stacking_weights(np.array([[0.0, np.nan]]))


def test_unconverged_members_are_refused_or_flagged():
    with pytest.raises(UnconvergedMemberError, match="kaplan"):
        check_members(["chinchilla", "kaplan"], [True, False])
    assert "WARNING" in check_members(["chinchilla", "kaplan"], [True, False], allow_unconverged=True)[0]


def test_widen_grows_with_distance_only():
    pred = normal_predictive(np.zeros(3), 0.01, 4000, seed=5)
    wide = widen(pred, np.array([0.0, 1.0, 2.0]), tau=0.1, seed=0)
    assert np.array_equal(wide.mean[:, 0], pred.mean[:, 0])
    sd = np.log(wide.mean).std(axis=0)
    assert sd[1] == pytest.approx(0.1, rel=0.05) and sd[2] == pytest.approx(0.2, rel=0.05)
    assert decades_beyond(np.array([1.0, 100.0]), 10.0).tolist() == [0.0, 1.0]


def test_learn_growth_recovers_the_discrepancy_rate():
    rng = np.random.default_rng(6)
    dist = rng.uniform(0.2, 1.0, 300)
    truth = 0.08 * dist * rng.standard_normal(300)  # the law misses by Normal(0, 0.08 per decade)
    pred = normal_predictive(np.zeros(300), 0.01, 400, seed=7)
    y = np.exp(truth + 0.01 * rng.standard_normal(300))
    growth = learn_growth([pred], [y], [dist], seed=0)
    assert growth.mean == pytest.approx(0.08, abs=0.015) and growth.n_runs == 300
    assert growth.quantile(0.05) > 0.05  # 300 runs pin it down
    exact = normal_predictive(np.log(y), 0.01, 400, seed=8)  # a law that is right: no widening
    assert learn_growth([exact], [y], [dist], seed=0).mean < 0.01


def test_growth_is_learned_from_point_forecasts_not_absorbed_by_parameter_spread():
    """A wide internal fit (parameter spread 0.1 around a biased point forecast) covers its errors by itself;
    the growth rate must still see that its point forecast misses by 0.08 per decade."""
    rng = np.random.default_rng(9)
    dist = rng.uniform(0.3, 1.0, 200)
    y = np.exp(0.08 * dist * rng.standard_normal(200))
    spread = Predictive(
        mean=np.exp(0.1 * rng.standard_normal((400, 200))),
        observation=np.ones((400, 200)),
        loc=0.1 * rng.standard_normal((400, 200)),
        scale=np.full((400, 1), 0.01),
        df=np.full((400, 1), np.inf),
    )
    assert learn_growth([spread], [y], [dist], point=False).mean < 0.03
    assert learn_growth([spread], [y], [dist]).mean == pytest.approx(0.08, abs=0.02)


def test_without_internal_runs_the_prior_widens_and_draws_get_their_own_tau():
    prior = prior_growth()
    assert prior.n_runs == 0 and prior.mean == pytest.approx(0.05 * np.sqrt(2 / np.pi), rel=0.05)
    pred = normal_predictive(np.zeros(2), 0.001, 4000, seed=5)
    wide = widen(pred, np.array([0.0, 2.0]), prior.sample(4000, seed=1), seed=0)
    sd = np.log(wide.mean[:, 1]).std()
    assert sd == pytest.approx(2 * 0.05, rel=0.1)  # E[tau^2] = 0.05^2 under HalfNormal(0.05)
    assert np.array_equal(wide.mean[:, 0], pred.mean[:, 0])
    with pytest.raises(ValueError, match="one per draw"):
        widen(pred, np.array([0.0, 2.0]), np.full(3, 0.1), seed=0)


def frame(n: int = 40) -> ScalingData:
    c = np.geomspace(1e18, 1e22, n)
    n_params = np.sqrt(c / 120)
    df = pd.DataFrame({"N": n_params, "D": c / (6 * n_params), "loss": 2.0 + 1e3 * c**-0.15})
    df["skill"] = np.where(np.arange(n) % 2 == 0, "a", "b")
    df.loc[df.index[-1], "skill"] = "late"  # a group with no training run
    return ScalingData.from_frame(df)


def test_split_at_drops_groups_without_training_runs_and_says_so():
    data = frame()
    split = split_at(data, 1e21, "C")
    assert isinstance(split, Split)
    assert split.train.values("C").max() <= 1e21 < split.test.values("C").min()
    assert "late" not in set(split.test.frame["skill"])
    assert any("without training runs" in n for n in split.notes)
    assert split_at(data, 1e10, "C") is None


@dataclass(frozen=True)
class Oracle:
    """A fake forecaster: the true loss times exp(bias), with log-normal noise ``sd``."""

    name: str
    bias: float = 0.0
    sd: float = 0.01

    def forecast(self, ctx: Context, split: Split) -> Predictive:
        y = split.test.values("loss")
        return normal_predictive(np.log(y) + self.bias, self.sd, 400, seed=0)

    def inner(self, ctx: Context, train: ScalingData) -> list[tuple[Predictive, Split]]:
        return [(self.forecast(ctx, s), s) for s in ctx.inner_splits(train)]


def test_backtest_table_and_stacking_with_fake_forecasters():
    data = frame(80)
    good, off = Oracle("good"), Oracle("off", bias=0.2)
    stack = Stack([good, off], label="stack")
    result = backtest(data, [good, off, stack, Growth(off, label="off+growth")], cuts=(0.1, 0.01), by="C")
    table = result.table().set_index(["cut", "model"])
    assert set(table.index.get_level_values("cut")) == {0.1, 0.01}
    assert table.loc[(0.1, "good"), "cover_obs_90"] == 1.0
    assert table.loc[(0.1, "off"), "cover_obs_90"] == 0.0
    assert table.loc[(0.1, "off"), "median_signed_pct_error"] == pytest.approx(100 * (np.exp(0.2) - 1), rel=0.05)
    assert table.loc[(0.1, "stack"), "crps"] == pytest.approx(table.loc[(0.1, "good"), "crps"], rel=0.05)
    notes = result.forecasts.query("model == 'stack'")["notes"].iloc[0]
    assert "good 1.00" in notes
    # An off-centre law widened by internal backtests covers more than before.
    assert table.loc[(0.01, "off+growth"), "cover_obs_90"] > table.loc[(0.01, "off"), "cover_obs_90"]
    assert (result.forecasts["extrapolation"] > 1).all()
    by_group = result.table(group="skill")
    assert {"a", "b"} <= set(by_group["skill"])


def test_backtest_rejects_bad_cuts_and_columns():
    with pytest.raises(ValueError, match="fractions"):
        backtest(frame(), [Oracle("x")], cuts=(2.0,))
    with pytest.raises(ValueError, match="not a column"):
        backtest(frame(), [Oracle("x")], by="Q")


def test_point_fit_bootstrap_forecasts_simulated_runs():
    sim = simulate("chinchilla", {"E": 1.7, "A": 400.0, "B": 2000.0, "alpha": 0.34, "beta": 0.28}, sigma=0.005, seed=1)
    result = backtest(sim.data, [PointFitBootstrap(n_boot=30)], cuts=(0.1,))
    row = result.table().iloc[0]
    assert row["median_abs_pct_error"] < 2.0
    assert np.isnan(row["lpd"]) and row["crps"] > 0


@pytest.mark.slow
def test_backtest_of_real_fits_on_simulated_data():
    sim = simulate("chinchilla", {"E": 1.7, "A": 400.0, "B": 2000.0, "alpha": 0.34, "beta": 0.28}, sigma=0.01, seed=2)
    result = backtest(sim.data, ["chinchilla", Growth("chinchilla")], cuts=(0.1,), sampler={"draws": 500, "tune": 500, "chains": 4})
    table = result.table().set_index("model")
    assert table["converged"].all()
    assert table.loc["chinchilla", "median_abs_pct_error"] < 3.0
    assert table.loc["chinchilla", "cover_obs_90"] >= 0.6


def test_calibration_plots_draw_every_model():
    from bayeslaw.plotting.calibration import plot_coverage, plot_error_vs_extrapolation, plot_pit

    result = backtest(frame(80), [Oracle("good"), Oracle("off", bias=0.2)], cuts=(0.1,), by="C")
    fig = plot_coverage(result)
    assert len(fig.axes[0].lines) == 2 * 2 + 1
    assert len(plot_pit(result).axes) == 2
    assert len(plot_error_vs_extrapolation(result).axes[0].collections) == 2
    with pytest.raises(ValueError, match="unknown models"):
        plot_pit(result, models=["nope"])


@dataclass(frozen=True)
class Flawed(Oracle):
    """An Oracle whose fits fail a convergence check: on ESS only (chains agree) or on r_hat."""

    chains_agree: bool = True

    def forecast(self, ctx: Context, split: Split) -> Predictive:
        pred = super().forecast(ctx, split)
        return Predictive(pred.mean, pred.observation, pred.loc, pred.scale, pred.df, converged=False, chains_agree=self.chains_agree)


def test_stack_leaves_out_disagreeing_chains_and_flags_short_ones():
    data = frame(80)
    stack = Stack([Oracle("good"), Flawed("rhat", bias=0.1, chains_agree=False), Flawed("ess", bias=0.05)], label="s")
    result = backtest(data, [stack], cuts=(0.1,), by="C")
    notes = result.forecasts["notes"].iloc[0]
    assert "'rhat' left out" in notes and "WARNING" in notes
    assert "CAUTION: stack member 'ess' kept" in notes
    assert not result.forecasts["converged"].any()


def test_a_group_axis_named_model_does_not_overwrite_the_forecaster_column():
    data = frame(80)
    renamed = ScalingData.from_frame(data.frame.rename(columns={"skill": "model"}).drop(columns="C"), groups=["model"])
    result = backtest(renamed, [Oracle("good")], cuts=(0.1,), by="N")
    assert set(result.forecasts["model"]) == {"good"}
    assert {"a", "b"} <= set(result.table(group="model")["model_group"])


def test_distance_to_the_nearest_training_run_sees_a_ratio_extrapolation():
    from bayeslaw.extrapolation import decades_from_nearest

    train = {"N": np.array([1e8, 1e9]), "D": np.array([2e9, 2e10])}  # 20 tokens per parameter
    points = {"N": np.array([1e8, 1e10, 1e9]), "D": np.array([2e9, 2e11, 2e9])}
    d = decades_from_nearest(points, train)
    assert d[0] == 0 and d[1] == pytest.approx(np.sqrt(2))
    assert d[2] == pytest.approx(1.0)  # 2 tokens per parameter, inside the training compute: 1 decade off in D
    with pytest.raises(ValueError, match="lack"):
        decades_from_nearest({"N": np.array([1.0])}, train)
