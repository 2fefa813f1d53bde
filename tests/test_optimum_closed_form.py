"""Compute-optimal allocation: the closed form against brute-force minimisation along C = 6ND.

The brute force never uses the closed form: a dense grid over every model size
from 1 parameter to C/6 parameters (D >= 1 token) locates the minimum, then
bounded Brent refines it. It minimises the reducible loss A/N^alpha + B/D^beta,
which differs from the full loss only by the constant E, so the argmin is the
same while floating-point resolution in log N stays ~1e-8 at any budget.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy.optimize import minimize_scalar

from bayeslaw.constants import CHINCHILLA_BUDGET, CREDIBLE_INTERVAL
from bayeslaw.laws import get_law
from bayeslaw.optimum import as_budget_array, optimum_closed_form, optimum_numeric

LAW = get_law("chinchilla")
REFS = {"N": 3.1e8, "D": 7.4e9}
PARAM_SETS = [
    {"E": 1.8172, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658},  # Epoch AI 2024
    {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28},  # Hoffmann et al. 2022
    {"E": 1.2, "A": 2.0e3, "B": 5.0e2, "alpha": 0.45, "beta": 0.25},  # data-hungry: a < 1/2
    {"E": 2.5, "A": 1.0e2, "B": 1.0e4, "alpha": 0.20, "beta": 0.50},  # size-hungry: a > 1/2
]
BUDGETS = np.array([1e18, 1e21, CHINCHILLA_BUDGET, 1e26])
#: Points of the coarse grid in log N (spacing < 3e-3 over the widest range tested).
GRID = 20001


def _reducible(u: np.ndarray, log_half: np.ndarray, raw: dict[str, np.ndarray]) -> np.ndarray:
    return raw["A"] * np.exp(-raw["alpha"] * u) + raw["B"] * np.exp(-raw["beta"] * (log_half - u))


def brute_force_n_opt(raw: dict[str, np.ndarray], budget: np.ndarray) -> np.ndarray:
    """N* minimising A/N^alpha + B/D^beta with D = C/(6N), for each element (grid, then Brent)."""
    raw = {k: np.atleast_1d(np.asarray(v, dtype=float)) for k, v in raw.items()}
    shape = np.broadcast_shapes(*(v.shape for v in raw.values()), np.shape(budget))
    raw = {k: np.broadcast_to(v, shape).ravel() for k, v in raw.items()}
    log_half = np.broadcast_to(np.log(np.asarray(budget, dtype=float) / 6.0), shape).ravel()
    steps = np.linspace(0.0, 1.0, GRID)
    grid = steps[None, :] * log_half[:, None]  # log N from 0 to log(C/6)
    values = _reducible(grid, log_half[:, None], {k: v[:, None] for k, v in raw.items()})
    best = np.argmin(values, axis=1)
    assert np.all((best > 0) & (best < GRID - 1)), "the brute-force grid does not contain the minimum"
    out = np.empty(log_half.size)
    for i in range(log_half.size):
        one = {k: v[i] for k, v in raw.items()}
        res = minimize_scalar(
            lambda u, i=i, one=one: _reducible(u, log_half[i], one),
            bounds=(grid[i, best[i] - 1], grid[i, best[i] + 1]),
            method="bounded",
            options={"xatol": 1e-10},
        )
        out[i] = np.exp(res.x)
    return out.reshape(shape)


@pytest.mark.parametrize("raw", PARAM_SETS)
def test_closed_form_matches_brute_force(raw):
    p = LAW.from_raw(raw, REFS, np)
    closed = LAW.compute_optimal(p, BUDGETS, REFS, np)
    brute = brute_force_n_opt(raw, BUDGETS)
    np.testing.assert_allclose(closed["N_opt"], brute, rtol=1e-6)
    np.testing.assert_allclose(6.0 * closed["N_opt"] * closed["D_opt"], BUDGETS, rtol=1e-12)
    # The full loss (with E) at N* is no higher than anywhere on a dense grid along the iso-FLOP curve.
    for budget, n_star in zip(BUDGETS, closed["N_opt"], strict=True):
        n_grid = np.geomspace(n_star / 1e3, n_star * 1e3, 20001)
        loss_grid = LAW.loss_at(p, REFS, n_grid, budget / (6.0 * n_grid), np)
        loss_star = LAW.loss_at(p, REFS, n_star, budget / (6.0 * n_star), np)
        assert loss_star <= loss_grid.min() + 1e-13


@pytest.mark.parametrize("raw", PARAM_SETS)
def test_closed_form_scales_as_compute_to_the_a(raw):
    p = LAW.from_raw(raw, REFS, np)
    n_opt = LAW.compute_optimal(p, BUDGETS, REFS, np)["N_opt"]
    a = raw["beta"] / (raw["alpha"] + raw["beta"])
    np.testing.assert_allclose(n_opt[1:] / n_opt[:-1], (BUDGETS[1:] / BUDGETS[:-1]) ** a, rtol=1e-10)


def test_epoch_values_at_chinchilla_budget():
    # Sanity anchor: Epoch AI's parameters put the optimum for Chinchilla's budget at
    # roughly 20-30 tokens per parameter and tens of billions of parameters.
    p = LAW.from_raw(PARAM_SETS[0], REFS, np)
    closed = LAW.compute_optimal(p, np.array([CHINCHILLA_BUDGET]), REFS, np)
    tokens_per_param = closed["D_opt"][0] / closed["N_opt"][0]
    assert 1e10 < closed["N_opt"][0] < 1e11
    assert 15 < tokens_per_param < 40


def test_optimum_closed_form_dataset():
    p = {k: xr.DataArray(np.full((1, 3), v), dims=("chain", "draw")) for k, v in LAW.from_raw(PARAM_SETS[0], REFS, np).items()}
    budgets = as_budget_array(BUDGETS)
    ds = optimum_closed_form(LAW, p, REFS, budgets)
    assert set(ds.data_vars) == {"N_opt", "D_opt", "tokens_per_param", "loss_opt", "a"}
    assert set(ds["N_opt"].dims) == {"chain", "draw", "budget"}
    n = ds["N_opt"].isel(chain=0, draw=0).values
    np.testing.assert_allclose(n, brute_force_n_opt(PARAM_SETS[0], BUDGETS), rtol=1e-6)
    np.testing.assert_allclose(ds["tokens_per_param"], ds["D_opt"] / ds["N_opt"])
    raw = PARAM_SETS[0]
    d = ds["D_opt"].isel(chain=0, draw=0).values
    np.testing.assert_allclose(
        ds["loss_opt"].isel(chain=0, draw=0).values, raw["E"] + raw["A"] / n ** raw["alpha"] + raw["B"] / d ** raw["beta"], rtol=1e-12
    )
    np.testing.assert_allclose(ds["a"], raw["beta"] / (raw["alpha"] + raw["beta"]))


@pytest.mark.parametrize("bracket", ["auto", "grid"])
@pytest.mark.parametrize("raw", PARAM_SETS)
def test_numeric_optimum_agrees_with_closed_form(raw, bracket):
    p = {k: xr.DataArray(np.atleast_1d(v), dims="draw") for k, v in LAW.from_raw(raw, REFS, np).items()}
    budgets = as_budget_array(BUDGETS)
    numeric, notes = optimum_numeric(LAW, p, REFS, budgets, bracket=bracket)
    closed = optimum_closed_form(LAW, p, REFS, budgets)
    rel = np.abs(numeric["N_opt"] / closed["N_opt"] - 1.0)
    assert float(rel.max()) < 1e-3  # the acceptance bound (0.1 %)
    assert float(rel.max()) < 1e-5  # what golden-section search to 1e-7 in log N actually delivers
    np.testing.assert_allclose(6.0 * numeric["N_opt"] * numeric["D_opt"], budgets.broadcast_like(numeric["N_opt"]), rtol=1e-10)
    assert np.all(numeric["loss_opt"] >= closed["loss_opt"] - 1e-12)
    np.testing.assert_allclose(numeric["loss_opt"], closed["loss_opt"], rtol=1e-10)
    assert any("numerically" in note for note in notes)
    assert not any("boundary" in note for note in notes)


def test_numeric_optimum_reports_a_minimum_at_the_search_boundary():
    # A huge size amplitude pushes N* to ~C/6 (tokens per parameter far below e^-30).
    raw = {"E": 1.0, "A": 1e60, "B": 1.0, "alpha": 0.5, "beta": 0.5}
    p = {k: xr.DataArray(np.atleast_1d(v), dims="draw") for k, v in LAW.from_raw(raw, REFS, np).items()}
    _, notes = optimum_numeric(LAW, p, REFS, as_budget_array([1e21]), bracket="grid")
    assert any("search boundary" in note for note in notes)


def test_fit_compute_optimal_matches_brute_force_per_draw(chinchilla_fit):
    budgets = [1e21, CHINCHILLA_BUDGET, 1e25]
    result = chinchilla_fit.compute_optimal(budgets)
    draws = result.draws.isel(draw=slice(0, 40))
    params = {k: v.isel(draw=slice(0, 40)) for k, v in chinchilla_fit.params().items()}
    derived = LAW.derived(params, chinchilla_fit.refs, np)
    raw = {
        "A": derived["A"].values[..., None],
        "B": derived["B"].values[..., None],
        "alpha": params["alpha"].values[..., None],
        "beta": params["beta"].values[..., None],
    }
    brute = brute_force_n_opt(raw, np.array(budgets))
    got = draws["N_opt"].transpose("chain", "draw", "budget").values
    np.testing.assert_allclose(got, brute, rtol=1e-6)
    # The result's intervals are the draws' quantiles, at the default probability.
    assert result.prob == CREDIBLE_INTERVAL
    summary = result.summary()
    row = summary[(summary["quantity"] == "N_opt") & (summary["budget"] == CHINCHILLA_BUDGET)].iloc[0]
    all_n = result.draws["N_opt"].sel(budget=CHINCHILLA_BUDGET).values.ravel()
    assert row["lower"] == pytest.approx(np.quantile(all_n, 0.05))
    assert row["upper"] == pytest.approx(np.quantile(all_n, 0.95))
    table = result.table()
    assert list(table.columns) == ["N_opt", "D_opt", "tokens_per_param", "loss_opt", "a"]
    assert len(table) == 3


def test_fit_numeric_path_agrees_with_closed_form_on_posterior(chinchilla_fit):
    params = chinchilla_fit.params()
    budgets = as_budget_array([1e20, CHINCHILLA_BUDGET, 1e27])
    numeric, _ = optimum_numeric(LAW, params, chinchilla_fit.refs, budgets, bracket="grid")
    closed = chinchilla_fit.compute_optimal(budgets.values).draws
    rel = np.abs(numeric["N_opt"] / closed["N_opt"] - 1.0)
    assert float(rel.max()) < 1e-3


def test_budget_validation():
    for bad in ([], [1e21, -1.0], [np.inf], [[1e21]]):
        with pytest.raises(ValueError, match="budget"):
            as_budget_array(bad)
