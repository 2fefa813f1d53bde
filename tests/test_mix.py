"""Validation mixes: weights, paths, sweeps, iso-FLOP curves and their plots (no sampling).

The fit used here wraps posterior-like synthetic draws (skill-specific
parameters, a datamix axis) in a :class:`bayeslaw.Fit`, so every check runs on
a real Fit object in well under a second.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import matplotlib
import numpy as np
import pytest
import xarray as xr

matplotlib.use("Agg")

import synthetic_fits

from bayeslaw.fit import Fit
from bayeslaw.laws import get_law
from bayeslaw.mix import MIX_DIM, isoflop_curves, mix_path, mix_weights, sweep_mix, sweep_params, two_skill_path
from bayeslaw.optimum import as_budget_array, optimum_closed_form
from bayeslaw.plotting.mix import plot_isoflop_mix, plot_mix_sweep

SKILLS = synthetic_fits.SKILLS
BUDGETS = [1e20, 1e21, 1e22, 1e23, 1e24]


@pytest.fixture(scope="module")
def synthetic_fit() -> Fit:
    """A Fit whose posterior is synthetic draws over skill x datamix (chinchilla law, 2 chains x 200 draws)."""
    return synthetic_fits.synthetic_fit()


# ---------------------------------------------------------------- weights and paths
def test_mix_weights_validates_and_normalises() -> None:
    weights, notes = mix_weights({"code": 0.25, "text": 0.75}, SKILLS)
    assert weights.dims == ("skill",)
    np.testing.assert_allclose(weights.values, [0.25, 0.0, 0.75])
    assert notes == []
    with pytest.warns(UserWarning, match="summed to 2; normalised"):
        weights, notes = mix_weights({"code": 1.0, "text": 1.0}, SKILLS)
    np.testing.assert_allclose(weights.values, [0.5, 0.0, 0.5])
    assert notes and "normalised" in notes[0]
    with pytest.raises(ValueError, match=r"unknown skills in mix: \['math'\]"):
        mix_weights({"math": 1.0}, SKILLS)
    with pytest.raises(ValueError, match=r"non-negative.*'code': -0\.5"):
        mix_weights({"code": -0.5, "text": 1.0}, SKILLS)
    with pytest.raises(ValueError, match="non-negative"):
        mix_weights({"code": float("nan")}, SKILLS)
    with pytest.raises(ValueError, match="sum to zero"):
        mix_weights({"code": 0.0}, SKILLS)
    with pytest.raises(ValueError, match="must be a number"):
        mix_weights({"code": "lots"}, SKILLS)
    with pytest.raises(ValueError, match="sum to zero \\(mix 'b'\\)"):
        mix_weights({"a": {"code": 1.0}, "b": {"text": 0.0}}, SKILLS)


def test_several_mixes_and_dataarray_weights() -> None:
    with pytest.warns(UserWarning, match=r"mix weights \(mix 'even'\) summed to 3"):
        weights, _ = mix_weights({"coding": {"code": 1.0}, "even": {"code": 1.0, "knowledge": 1.0, "text": 1.0}}, SKILLS)
    assert weights.dims == (MIX_DIM, "skill")
    assert list(weights[MIX_DIM].values) == ["coding", "even"]
    np.testing.assert_allclose(weights.sel(mix="even").values, [1 / 3] * 3)
    path = two_skill_path("text", "code", steps=5)
    again, _ = mix_weights(path, SKILLS)
    np.testing.assert_allclose(again.sel(skill="code").values, [0.0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(again.sel(skill="knowledge").values, 0.0)
    with pytest.raises(ValueError, match="dims"):
        mix_weights(xr.DataArray([1.0], dims="what"), SKILLS)


def test_paths() -> None:
    path = two_skill_path("code", "text")
    assert path.sizes == {MIX_DIM: 21, "skill": 2}
    np.testing.assert_allclose(path[MIX_DIM].values, np.linspace(0, 1, 21))
    np.testing.assert_allclose(path.sel(skill="text").values, path[MIX_DIM].values)
    np.testing.assert_allclose(path.sum("skill").values, 1.0)
    with pytest.warns(UserWarning, match="summed to 4"):
        general = mix_path({"code": 1.0}, {"knowledge": 1.0, "text": 3.0}, steps=3)
    np.testing.assert_allclose(general.sel(mix=0.5).values, [0.5, 0.125, 0.375])
    with pytest.raises(ValueError, match="two different skills"):
        two_skill_path("code", "code")
    with pytest.raises(ValueError, match="at least 2 steps"):
        mix_path({"code": 1.0}, {"text": 1.0}, steps=1)


# ---------------------------------------------------------------- sweeps
def test_sweep_shapes_shift_and_reference(synthetic_fit: Fit) -> None:
    path = two_skill_path("code", "knowledge")
    sweep = sweep_mix(synthetic_fit, BUDGETS, path, datamix="dm1")
    n_opt = sweep.draws["N_opt"]
    assert n_opt.dims == ("chain", "draw", "budget", MIX_DIM)
    assert n_opt.shape == (2, 200, 5, 21)
    # The shift is per draw against the reference (first) mix: exactly zero there.
    np.testing.assert_array_equal(sweep.draws["shift"].isel(mix=0).values, 0.0)
    expected = n_opt / n_opt.isel(mix=0) - 1
    np.testing.assert_allclose(sweep.draws["shift"], expected, rtol=1e-12)
    # End points are the skills' own closed-form optima.
    law = get_law("chinchilla")
    params = synthetic_fit.params(datamix="dm1", keep=("skill",))
    closed = optimum_closed_form(law, params, synthetic_fit.refs, as_budget_array(BUDGETS))["N_opt"]
    np.testing.assert_allclose(n_opt.isel(mix=-1), closed.sel(skill="knowledge", drop=True).transpose(*n_opt.isel(mix=-1).dims), rtol=1e-6)
    # Along a two-skill path N* moves monotonically from one optimum to the other (per draw).
    steps = np.sign(n_opt.diff(MIX_DIM))
    direction = np.sign(n_opt.isel(mix=-1) - n_opt.isel(mix=0))
    assert bool(((steps == direction) | (np.abs(n_opt.diff(MIX_DIM)) < 1e-9 * n_opt.isel(mix=0))).all())
    # A reference by label, and by mapping, agree.
    by_label = sweep_mix(synthetic_fit, BUDGETS, path, datamix="dm1", reference=1.0)
    by_mix = sweep_mix(synthetic_fit, BUDGETS, path, datamix="dm1", reference={"knowledge": 1.0})
    np.testing.assert_allclose(by_label.draws["shift"], by_mix.draws["shift"], rtol=1e-12)
    np.testing.assert_allclose(by_label.draws["shift"].isel(mix=-1), 0.0, atol=1e-6)
    with pytest.raises(ValueError, match=r"reference 0\.33 is not a mix"):
        sweep_mix(synthetic_fit, BUDGETS, path, datamix="dm1", reference=0.33)


def test_sweep_tables_and_largest_shift(synthetic_fit: Fit) -> None:
    sweep = sweep_mix(synthetic_fit, [1e20, 1e24], two_skill_path("code", "knowledge", steps=5), datamix="dm2")
    tidy = sweep.summary()
    assert list(tidy.columns) == ["quantity", "datamix", "budget", MIX_DIM, "median", "lower", "upper"]
    assert set(tidy["quantity"]) == {"N_opt", "D_opt", "tokens_per_param", "loss_opt", "shift"}
    assert len(tidy) == 5 * 2 * 5
    assert (tidy["lower"] <= tidy["median"]).all() and (tidy["median"] <= tidy["upper"]).all()
    wide = sweep.wide()
    assert len(wide) == 10 and "shift_lower" in wide
    largest = sweep.largest_shift()
    shift = sweep.draws["shift"].sel(budget=largest["budget"], mix=largest[MIX_DIM])
    assert largest["median"] == pytest.approx(float(shift.median()))
    assert largest["lower"] == pytest.approx(float(shift.quantile(0.05)))
    all_medians = np.abs(sweep.draws["shift"].median(("chain", "draw")))
    assert abs(largest["median"]) == pytest.approx(float(all_medians.max()))
    assert 0.0 <= largest["p_positive"] <= 1.0


def test_sweep_keeps_datamix_and_matches_per_datamix(synthetic_fit: Fit) -> None:
    path = two_skill_path("text", "code", steps=4)
    both = sweep_mix(synthetic_fit, [1e21], path)
    assert "datamix" in both.draws.dims
    one = sweep_mix(synthetic_fit, [1e21], path, datamix="dm2")
    np.testing.assert_allclose(both.draws["N_opt"].sel(datamix="dm2"), one.draws["N_opt"], rtol=1e-9)


def test_fit_compute_optimal_several_mixes(synthetic_fit: Fit) -> None:
    path = two_skill_path("code", "text", steps=3)
    result = synthetic_fit.compute_optimal([1e21, 1e23], mix=path, datamix="dm1")
    assert result.draws["N_opt"].dims == ("chain", "draw", "budget", MIX_DIM)
    single = synthetic_fit.compute_optimal([1e21, 1e23], mix={"code": 0.5, "text": 0.5}, datamix="dm1")
    np.testing.assert_allclose(result.draws["N_opt"].sel(mix=0.5), single.draws["N_opt"], rtol=1e-9)
    summary = result.summary()
    assert MIX_DIM in summary.columns
    with pytest.raises(ValueError, match="pass datamix="):
        synthetic_fit.compute_optimal(1e21, mix={"code": 1.0})


def test_sweep_params_needs_a_mix_dim(synthetic_fit: Fit) -> None:
    params = synthetic_fit.params(datamix="dm1", keep=("skill",))
    single, _ = mix_weights({"code": 1.0}, SKILLS)
    with pytest.raises(ValueError, match="'mix' dim"):
        sweep_params(get_law("chinchilla"), params, synthetic_fit.refs, [1e21], single, single)


def test_sweep_21_weights_5_budgets_4000_draws_runs() -> None:
    """The benchmark's size runs (its timing is in benchmarks/bench_mix.py, measured on a quiet machine)."""
    rng = np.random.default_rng(0)
    shape = (4, 1000, 2)
    coords = {"skill": ["code", "text"]}

    def da(lo: float, hi: float) -> xr.DataArray:
        return xr.DataArray(rng.uniform(lo, hi, shape), dims=("chain", "draw", "skill"), coords=coords)

    params = {"E": da(1, 2), "a_ref": da(0.2, 1), "b_ref": da(0.2, 1), "alpha": da(0.25, 0.45), "beta": da(0.25, 0.45)}
    path = two_skill_path("code", "text")
    sweep = sweep_params(get_law("chinchilla"), params, {"N": 1e8, "D": 2e9}, BUDGETS, path, path.isel(mix=0, drop=True))
    assert sweep.draws["N_opt"].shape == (4, 1000, 5, 21)
    assert bool(np.isfinite(sweep.draws["shift"]).all())


# ---------------------------------------------------------------- iso-FLOP curves and plots
def test_isoflop_curves_mark_the_minimum(synthetic_fit: Fit) -> None:
    curves = isoflop_curves(synthetic_fit, 1e22, {"code": 0.3, "text": 0.7}, datamix="dm1", points=400)
    assert [str(c) for c in curves.loss["curve"].values] == ["code", "text", "mix"]
    # No grid point beats the optimum of any curve, per draw.
    assert bool((curves.loss.min("N") >= curves.optimum["loss_opt"] - 1e-12).all())
    # The mix curve is the weighted sum of the skills'.
    mixed = 0.3 * curves.loss.sel(curve="code") + 0.7 * curves.loss.sel(curve="text")
    np.testing.assert_allclose(curves.loss.sel(curve="mix"), mixed, rtol=1e-12)
    table = curves.optimum_table()
    assert set(table["curve"]) == {"code", "text", "mix"}
    with pytest.raises(ValueError, match="one budget"):
        isoflop_curves(synthetic_fit, [1e21, 1e22], {"code": 1.0}, datamix="dm1")


def test_plots_return_figures(synthetic_fit: Fit) -> None:
    sweep = sweep_mix(synthetic_fit, [1e20, 1e22, 1e24], two_skill_path("code", "text", steps=5))
    with pytest.raises(ValueError, match="select"):
        plot_mix_sweep(sweep)
    fig = plot_mix_sweep(sweep, select={"datamix": "dm1"}, xlabel="weight of text")
    axes = fig.get_axes()
    assert len(axes) == 2
    assert len(axes[0].get_lines()) == 3  # one line per budget
    assert axes[0].get_yscale() == "log"
    assert "90% intervals" in fig.get_suptitle() and "NOT CONVERGED" not in fig.get_suptitle()
    unconverged = replace(sweep, banner="WARNING: NOT CONVERGED: r_hat 1.2 > 1.01")
    assert "NOT CONVERGED" in plot_mix_sweep(unconverged, select={"datamix": "dm1"}).get_suptitle()
    ratio = plot_mix_sweep(sweep, ["shift"], select={"datamix": "dm1"}, shift_scale="log")
    assert ratio.get_axes()[0].get_yscale() == "log"
    with pytest.raises(ValueError, match="shift_scale"):
        plot_mix_sweep(sweep, select={"datamix": "dm1"}, shift_scale="percent")
    curves = isoflop_curves(synthetic_fit, 1e22, {"code": 0.5, "knowledge": 0.5}, datamix="dm2", points=50)
    fig2 = plot_isoflop_mix(curves)
    assert len(fig2.get_axes()[0].get_lines()) >= 3
    matplotlib.pyplot.close("all")


def test_unconverged_fit_warns(synthetic_fit: Fit) -> None:
    from dataclasses import replace

    bad = replace(synthetic_fit, diagnostics=replace(synthetic_fit.diagnostics, problems=("r_hat 1.2 > 1.01",)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sweep_mix(bad, [1e21], two_skill_path("code", "text", steps=2), datamix="dm1")
    assert any("NOT CONVERGED" in str(w.message) for w in caught)
