"""compare(method=...), refusal or flagging of unconverged members, stacked optima, and the widened forecast of a Fit."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import bayeslaw as bl
from bayeslaw.backtest import learn_extrapolation
from bayeslaw.extrapolation import Extrapolation, GrowthPosterior, prior_growth
from bayeslaw.lfo import LfoComparison, stack_fits
from bayeslaw.stacking import UnconvergedMemberError


def test_compare_flags_unconverged_fits_loudly_and_refuses_them_on_request(tiny_fits):
    first, second, _ = tiny_fits
    assert not first.converged
    with pytest.warns(UserWarning, match="did not converge"):
        result = bl.compare({"a": first, "b": second}, warn=False)
    assert not result.ranking["converged"].any()
    assert any(n.startswith("WARNING") and "did not converge" in n for n in result.notes)
    assert "did not converge" in result.report()
    with pytest.raises(UnconvergedMemberError, match="did not converge"):
        bl.compare({"a": first, "b": second}, allow_unconverged=False)


def test_compare_lfo_refuses_unconverged_fits_before_refitting(tiny_fits):
    first, second, _ = tiny_fits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(UnconvergedMemberError):
            bl.compare({"a": first, "b": second}, method="lfo")
    with pytest.raises(ValueError, match="'loo' or 'lfo'"):
        bl.compare({"a": first, "b": second}, method="waic")


def test_stacked_optimum_mixes_the_members_draws_by_weight(chinchilla_fit, tiny_fits):
    other = tiny_fits[0]
    with pytest.raises(UnconvergedMemberError):
        stack_fits({"good": chinchilla_fit, "short": other}, weights={"good": 0.7, "short": 0.3})
    stacked = stack_fits({"good": chinchilla_fit, "short": other}, weights={"good": 0.7, "short": 0.3}, allow_unconverged=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mixed = stacked.compute_optimal(1e22, n_draws=2000, seed=3)
        good = chinchilla_fit.compute_optimal(1e22).draws["N_opt"].values.ravel()
        short = other.compute_optimal(1e22).draws["N_opt"].values.ravel()
    values = mixed.draws["N_opt"].values.ravel()
    assert values.size == 2000 and mixed.draws.sizes["chain"] == 1
    from_good = np.isin(values, good)
    assert (from_good | np.isin(values, short)).all()  # every draw is one member's draw
    assert from_good.mean() == pytest.approx(0.7, abs=0.04)
    assert any("stacked: good 0.70, short 0.30" in n for n in mixed.notes)
    assert "[" in mixed.table().iloc[0, 0]
    with pytest.raises(ValueError, match="not stacked"):
        stack_fits({"good": chinchilla_fit, "short": other}, weights={"nope": 1.0}, allow_unconverged=True)


def test_fit_forecast_is_widened_beyond_the_training_range_only(chinchilla_fit):
    data = chinchilla_fit.data
    top = float(data.values("C").max())
    growth = GrowthPosterior(grid=np.array([0.05]), weights=np.array([1.0]), n_runs=10)
    ext = Extrapolation(by="C", train_max=top, growth=growth)
    n = np.array([1e8, 7e10, 7e11])
    d = np.array([2e9, 1.4e12, 1.4e14])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = chinchilla_fit.forecast(n, d, seed=1)
        wide = chinchilla_fit.forecast(n, d, seed=1, extrapolation=ext)
    dist = wide.draws["decades_beyond"].values
    assert dist[0] == 0 and dist[2] > dist[1] > 0
    np.testing.assert_allclose(wide.draws["mean"].isel(point=0), plain.draws["mean"].isel(point=0))
    sd_plain = np.log(plain.draws["observation"]).std(("chain", "draw")).values
    sd_wide = np.log(wide.draws["observation"]).std(("chain", "draw")).values
    expected = np.sqrt(sd_plain**2 + (0.05 * dist) ** 2)
    np.testing.assert_allclose(sd_wide[1:], expected[1:], rtol=0.1)
    assert wide.notes[0].startswith("widened beyond C <= ") and "learned on 10 internal held-out runs" in wide.notes[0]
    with pytest.raises(ValueError, match="lack"):
        Extrapolation(by="examples", train_max=1.0, growth=prior_growth()).distance({"N": n, "D": d})


@pytest.mark.slow
def test_learn_extrapolation_refits_internal_cuts_of_a_fit(chinchilla_fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ext = learn_extrapolation(chinchilla_fit)
    assert ext.by == "C" and ext.growth.n_runs > 20
    assert sum("internal cut" in n for n in ext.notes) == 2
    assert 0 < ext.growth.mean < 0.05  # the Chinchilla law's point forecasts drift little per decade


def test_lfo_comparison_weights_and_best():
    import pandas as pd

    ranking = pd.DataFrame(
        {"elpd_lfo": [-1.0, -5.0], "se": [1.0, 1.0], "elpd_diff": [0.0, -4.0], "se_diff": [0.0, 1.0], "weight": [0.9, 0.1]},
        index=["a", "b"],
    ).assign(n_held_out=3, converged=True)
    cmp = LfoComparison(
        ranking=ranking, pointwise=pd.DataFrame({"a": [0.0, -0.5, -0.5], "b": [-1.0, -2.0, -2.0]}, index=["0.1/x", "0.1/y", "0.1/z"])
    )
    assert cmp.best == "a" and cmp.weights == {"a": 0.9, "b": 0.1}
    assert set(cmp.summary()["quantity"]) == {"elpd_lfo", "elpd_diff"}
    assert cmp.draws["lpd_i"].sizes == {"heldout": 3, "model": 2}


def test_a_lead_within_noise_or_few_held_out_runs_gets_a_caution():
    import pandas as pd

    from bayeslaw.lfo import decisiveness_notes

    def ranking(diff: float, se: float, n: int) -> pd.DataFrame:
        return pd.DataFrame({"elpd_diff": [0.0, diff], "se_diff": [0.0, se]}, index=["a", "b"]).assign(n_held_out=n)

    tie = decisiveness_notes(ranking(-1.1, 1.8, 40))
    assert len(tie) == 1 and "a leads b by 1.1 +/- 1.8" in tie[0] and tie[0].startswith("CAUTION")
    assert decisiveness_notes(ranking(-4.0, 1.0, 40)) == []
    few = decisiveness_notes(ranking(-4.0, 1.0, 4))
    assert len(few) == 1 and "only 4 held-out run(s)" in few[0]
