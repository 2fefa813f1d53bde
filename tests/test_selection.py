"""Selection logic on synthetic posterior draws: P(best), expected loss, intervals and input checks."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from bayeslaw.constants import CREDIBLE_INTERVAL, DRAW_DIM
from bayeslaw.selection import rank_draws

MODELS = ["a", "b", "c", "d"]


def draws(means: list[float], sd: float, n: int = 4000, seed: int = 0, dims: tuple[str, ...] = ("chain", "draw")) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    values = np.asarray(means)[None, :] + sd * rng.standard_normal((n, len(means)))
    if dims == ("chain", "draw"):
        return xr.DataArray(values.reshape(4, n // 4, len(means)), dims=("chain", "draw", "model"), coords={"model": MODELS})
    return xr.DataArray(values, dims=(DRAW_DIM, "model"), coords={"model": MODELS})


def test_p_best_sums_to_one_and_matches_a_direct_count() -> None:
    loss = draws([1.0, 1.05, 1.1, 1.2], sd=0.05)
    result = rank_draws(loss, "model", prob=CREDIBLE_INTERVAL)
    p = result.p_best()
    assert float(p.sum()) == pytest.approx(1.0)
    flat = loss.values.reshape(-1, 4)
    counts = np.bincount(flat.argmin(axis=1), minlength=4) / flat.shape[0]
    np.testing.assert_allclose(p.sel(model=MODELS).values, counts)
    assert p.sel(model="a") > p.sel(model="b") > p.sel(model="c") > p.sel(model="d")


def test_well_separated_candidates_pick_the_best_with_certainty() -> None:
    result = rank_draws(draws([2.0, 1.5, 1.0, 3.0], sd=0.01, dims=(DRAW_DIM,)), "model", prob=CREDIBLE_INTERVAL)
    assert result.best() == "c"
    assert result.best(by="p_best") == "c"
    table = result.ranking()
    assert list(table.index) == ["c", "b", "a", "d"]
    assert list(table["rank"]) == [1, 2, 3, 4]
    assert table.loc["c", "p_best"] == 1.0
    assert table.loc["c", "expected_loss"] == pytest.approx(1.0, abs=0.002)
    assert table.loc["c", "loss_lower"] < 1.0 < table.loc["c", "loss_upper"]


def test_interval_has_the_requested_mass() -> None:
    result = rank_draws(draws([1.0, 2.0, 3.0, 4.0], sd=0.1, n=40000, dims=(DRAW_DIM,)), "model", prob=0.9)
    table = result.ranking()
    # 90% equal-tailed interval of Normal(mean, 0.1): mean -/+ 0.1645.
    np.testing.assert_allclose(table["loss_upper"] - table["loss_lower"], 2 * 0.1645, rtol=0.03)


def test_expected_loss_and_p_best_can_disagree() -> None:
    """A candidate with a lower mean but a wide posterior can be best less often than a tight rival."""
    rng = np.random.default_rng(1)
    wide = 1.0 + np.where(rng.random(4000) < 0.3, -0.5, 0.2)  # mean 0.99, best in 30% of draws
    tight = np.full(4000, 1.05)
    loss = xr.DataArray(np.stack([wide, tight], axis=1), dims=(DRAW_DIM, "model"), coords={"model": ["wide", "tight"]})
    result = rank_draws(loss, "model", prob=CREDIBLE_INTERVAL)
    assert result.best() == "wide"
    assert result.best(by="p_best") == "tight"
    with pytest.raises(ValueError, match="by must be"):
        result.best(by="median")


def test_observation_interval_is_reported() -> None:
    loss = draws([1.0, 1.1, 1.2, 1.3], sd=0.01)
    observation = loss + 0.2 * xr.DataArray(np.random.default_rng(2).standard_normal(loss.shape), dims=loss.dims)
    table = rank_draws(loss, "model", prob=CREDIBLE_INTERVAL, observation=observation).ranking()
    assert (table["observation_lower"] < table["loss_lower"]).all()
    assert (table["observation_upper"] > table["loss_upper"]).all()


def test_bad_inputs_are_refused() -> None:
    loss = draws([1.0, 1.1, 1.2, 1.3], sd=0.01)
    with pytest.raises(ValueError, match="no candidate dimension 'candidate'"):
        rank_draws(loss, "candidate", prob=CREDIBLE_INTERVAL)
    with pytest.raises(ValueError, match="at least two candidates"):
        rank_draws(loss.isel(model=[0]), "model", prob=CREDIBLE_INTERVAL)
    with pytest.raises(ValueError, match="plus 'model' only"):
        rank_draws(loss.expand_dims(dataset=["x", "y"]), "model", prob=CREDIBLE_INTERVAL)
    broken = loss.copy()
    broken[0, 3, 2] = np.nan
    with pytest.raises(ValueError, match=r"loss has non-finite forecasts for model \['c'\]"):
        rank_draws(broken, "model", prob=CREDIBLE_INTERVAL)
    with pytest.raises(ValueError, match=r"observation has non-finite forecasts for model \['c'\]"):
        rank_draws(loss, "model", prob=CREDIBLE_INTERVAL, observation=broken)
    overflowed = loss.copy()
    overflowed[0, 3, 1] = np.inf
    table = rank_draws(loss, "model", prob=CREDIBLE_INTERVAL, observation=overflowed).ranking()
    assert np.isfinite(table.loc["b", "observation_upper"])
