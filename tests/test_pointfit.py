"""The approach-3 point fit (Hoffmann et al. / Epoch AI): objective numerics, recovery, and the Chinchilla result."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayeslaw.data import ScalingData
from bayeslaw.pointfit import HUBER_DELTA, bootstrap, fit_arrays, fit_point, huber, objective, start_grid

#: Epoch AI's data notes: the full-grid fit on the 240 retained points.
EPOCH_GRID_RESULT = {"A": 477.5, "B": 2141.9, "E": 1.817, "alpha": 0.347, "beta": 0.367}
TRUE = {"E": 1.7, "A": 400.0, "B": 1500.0, "alpha": 0.33, "beta": 0.30}


def synthetic(params: dict[str, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Noiseless losses on a grid of 8 sizes x 5 tokens-per-parameter ratios."""
    n = np.repeat(np.geomspace(1e7, 3e9, 8), 5)
    d = n * np.tile([5.0, 10.0, 20.0, 40.0, 80.0], 8)
    loss = params["E"] + params["A"] / n ** params["alpha"] + params["B"] / d ** params["beta"]
    return n, d, loss


def test_grid_is_the_papers_4500_starts() -> None:
    grid = start_grid()
    assert grid.shape == (4500, 5)
    assert sorted(np.unique(grid[:, 0])) == [0, 5, 10, 15, 20, 25]
    assert sorted(np.unique(grid[:, 2])) == [-1, -0.5, 0, 0.5, 1]
    assert sorted(np.unique(grid[:, 3])) == [0, 0.5, 1, 1.5, 2]
    assert len(np.unique(grid, axis=0)) == 4500


def test_huber_quadratic_inside_linear_outside_and_continuous() -> None:
    delta = 1e-3
    r = np.array([-0.01, -delta, -2e-4, 0.0, 5e-4, delta, 0.02])
    expected = np.where(np.abs(r) <= delta, 0.5 * r**2, delta * (np.abs(r) - delta / 2))
    np.testing.assert_allclose(huber(r, delta), expected)
    eps = 1e-12
    assert huber(np.array([delta - eps]), delta)[0] == pytest.approx(huber(np.array([delta + eps]), delta)[0], rel=1e-6)
    assert huber(np.array([0.02]), delta)[0] == pytest.approx(delta * (0.02 - delta / 2))


def test_objective_matches_direct_formula_and_gradient_matches_finite_differences() -> None:
    n, d, loss = synthetic(TRUE)
    rng = np.random.default_rng(0)
    observed = loss * np.exp(rng.normal(0, 0.01, loss.size))
    log_n, log_d, log_loss = np.log(n), np.log(d), np.log(observed)
    theta = np.array([np.log(300.0), np.log(2000.0), np.log(1.6), 0.3, 0.35])
    value, grad = objective(theta, log_n, log_d, log_loss, HUBER_DELTA)
    direct = np.log(np.exp(theta[2]) + np.exp(theta[0]) / n ** theta[3] + np.exp(theta[1]) / d ** theta[4])
    assert value == pytest.approx(float(huber(direct - log_loss, HUBER_DELTA).sum()), rel=1e-12)
    step = 1e-7
    numeric = np.array(
        [
            (objective(theta + step * e, log_n, log_d, log_loss)[0] - objective(theta - step * e, log_n, log_d, log_loss)[0]) / (2 * step)
            for e in np.eye(5)
        ]
    )
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-9)


def test_objective_is_stable_at_extreme_starts() -> None:
    n, d, loss = synthetic(TRUE)
    value, grad = objective(np.array([25.0, 25.0, 1.0, 0.0, 0.0]), np.log(n), np.log(d), np.log(loss))
    assert np.isfinite(value) and np.all(np.isfinite(grad))


def test_recovers_known_parameters_from_noiseless_data_with_a_reduced_grid() -> None:
    n, d, loss = synthetic(TRUE)
    starts = start_grid(a=(0.0, 5.0, 10.0), b=(0.0, 5.0, 10.0), e=(0.0, 0.5), alpha=(0.5,), beta=(0.5,))
    result = fit_arrays(n, d, loss, starts=starts)
    assert result.n_starts == 18
    for key, true in TRUE.items():
        assert result.params[key] == pytest.approx(true, rel=0.02), key
    np.testing.assert_allclose(result.loss(n, d), loss, rtol=1e-3)


def test_compute_optimal_lies_on_the_budget_and_minimises_loss() -> None:
    n, d, loss = synthetic(TRUE)
    result = fit_arrays(n, d, loss, starts=[[np.log(400), np.log(1500), np.log(1.7), 0.33, 0.3]])
    budget = 1e22
    opt = result.compute_optimal(budget)
    assert 6 * opt["N_opt"] * opt["D_opt"] == pytest.approx(budget, rel=1e-10)
    grid = np.geomspace(opt["N_opt"] / 10, opt["N_opt"] * 10, 2001)
    along = result.loss(grid, budget / (6 * grid))
    assert grid[np.argmin(along)] == pytest.approx(opt["N_opt"], rel=0.01)


def test_bad_inputs_are_named() -> None:
    n, d, loss = synthetic(TRUE)
    bad = loss.copy()
    bad[3] = -1.0
    with pytest.raises(ValueError, match=r"loss must be finite and positive.*\[3\]"):
        fit_arrays(n, d, bad, starts=start_grid()[:1])
    with pytest.raises(ValueError, match="equal length"):
        fit_arrays(n[:-1], d, loss)
    with pytest.raises(ValueError, match="5 columns"):
        fit_arrays(n, d, loss, starts=np.zeros((2, 4)))


def test_reduced_grid_on_chinchilla_reaches_epochs_optimum(chinchilla_data: ScalingData) -> None:
    result = fit_point(chinchilla_data, starts=start_grid()[::45])
    for key, value in EPOCH_GRID_RESULT.items():
        assert result.params[key] == pytest.approx(value, rel=0.02), key


def test_bootstrap_is_seeded_and_spreads(chinchilla_data: ScalingData) -> None:
    start = np.array([[np.log(477.5), np.log(2141.9), np.log(1.817), 0.347, 0.367]])
    first = bootstrap(chinchilla_data, 6, seed=3, starts=start)
    again = bootstrap(chinchilla_data, 6, seed=3, starts=start)
    assert isinstance(first, pd.DataFrame) and len(first) == 6
    assert list(first.columns) == ["E", "A", "B", "alpha", "beta", "objective"]
    pd.testing.assert_frame_equal(first, again)
    assert first["alpha"].between(0.2, 0.5).all()
    # Refits must actually move: with scipy's default tolerances they stopped at their start
    # (spread of log A ~3e-4); Epoch's 95% bootstrap interval for A is 285-744 (spread ~0.25).
    assert np.log(first["A"]).std() > 0.05
    # A PointFit is accepted as the start: same resamples, same refits.
    point = fit_arrays(chinchilla_data.values("N"), chinchilla_data.values("D"), chinchilla_data.values("loss"), starts=start)
    from_fit = bootstrap(chinchilla_data, 6, seed=3, starts=point)
    pd.testing.assert_frame_equal(from_fit, bootstrap(chinchilla_data, 6, seed=3, starts=point.theta[None, :]))


@pytest.mark.slow
def test_full_grid_on_chinchilla_matches_epochs_published_fit(chinchilla_data: ScalingData) -> None:
    result = fit_point(chinchilla_data)
    assert result.n_starts == 4500
    for key, value in EPOCH_GRID_RESULT.items():
        assert result.params[key] == pytest.approx(value, rel=0.01), key
