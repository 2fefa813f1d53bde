"""Generic group axes end to end: one selector (xarray ``.sel`` style) in params, compute_optimal, predict,
contrasts, sweeps and plots; ``skill=``/``datamix=`` are sugar; results keep their labels (no sampling)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import synthetic_fits
import xarray as xr

from bayeslaw import contrast_optima
from bayeslaw.fit import Fit
from bayeslaw.groups import check_labels, merge_select
from bayeslaw.mix import isoflop_curves, sweep_mix, two_skill_path
from bayeslaw.plotting import plot_optimum_fan

BUDGETS = [1e21, 1e23]


@pytest.fixture(scope="module")
def skills() -> Fit:
    return synthetic_fits.synthetic_fit()


@pytest.fixture(scope="module")
def models() -> Fit:
    """The same draws over the fine-tuning data's axes: ``model`` x ``dataset``."""
    return synthetic_fits.synthetic_fit("model", "dataset")


def test_merge_select_takes_a_mapping_and_sugar() -> None:
    assert merge_select({"skill": "code"}, datamix="dm1", model=None) == {"skill": "code", "datamix": "dm1"}
    assert merge_select({"skill": "code"}, skill="code") == {"skill": "code"}
    with pytest.raises(ValueError, match="skill is selected twice"):
        merge_select({"skill": "code"}, skill="text")
    with pytest.raises(ValueError, match=r"unknown skills in mix: \['math'\]; the fit has \['code'\]"):
        check_labels("skill", ["code", "math"], ["code"], "skills in mix")


def test_select_equals_the_sugar_in_params_optimum_and_predict(skills: Fit) -> None:
    sel = {"skill": "code", "datamix": "dm1"}
    for name, da in skills.params(select=sel).items():
        xr.testing.assert_identical(da, skills.params(skill="code", datamix="dm1")[name])
    by_select = skills.compute_optimal(BUDGETS, select=sel)
    by_sugar = skills.compute_optimal(BUDGETS, skill="code", datamix="dm1")
    xr.testing.assert_identical(by_select.draws, by_sugar.draws)
    forecast = skills.predict(1e9, 2e10, select=sel, seed=3)
    assert forecast.equals(skills.predict(1e9, 2e10, skill="code", datamix="dm1", seed=3))
    assert forecast.loc[0, "skill"] == "code" and forecast.loc[0, "datamix"] == "dm1"


def test_optimum_keeps_the_labels_it_was_computed_for(skills: Fit) -> None:
    result = skills.compute_optimal(BUDGETS, skill="code", datamix="dm2")
    assert dict(result.labels) == {"skill": "code", "datamix": "dm2"}
    summary = result.summary()
    assert (summary["skill"] == "code").all() and (summary["datamix"] == "dm2").all()
    table = result.table()
    assert table.index.names == ["skill", "datamix", "budget"]
    assert "code" in table.to_string()
    # A different group gives different numbers under its own label.
    other = skills.compute_optimal(BUDGETS, skill="text", datamix="dm2").summary()
    assert (other["skill"] == "text").all()
    assert not np.allclose(other["median"], summary["median"])


def test_any_axis_works_by_name(models: Fit, skills: Fit) -> None:
    sel = {"model": "code", "dataset": "dm1"}
    by_name = models.compute_optimal(BUDGETS, model="code", dataset="dm1")
    xr.testing.assert_identical(by_name.draws, models.compute_optimal(BUDGETS, select=sel).draws)
    # Same draws under other axis names give the same optimum.
    np.testing.assert_array_equal(
        by_name.draws["N_opt"].values, skills.compute_optimal(BUDGETS, skill="code", datamix="dm1").draws["N_opt"]
    )
    assert by_name.table().index.names == ["model", "dataset", "budget"]
    table = models.predict(params=[1e9, 2e9], tokens=2e10, model=["code", "text"], dataset="dm2")
    assert list(table["model"]) == ["code", "text"]


def test_contrast_accepts_the_model_axis(models: Fit) -> None:
    contrast = contrast_optima(models, BUDGETS, "code", "text", axis="model", select={"dataset": "dm1"})
    assert contrast.axis == "model" and contrast.labels == ("code", "text") and dict(contrast.fixed) == {"dataset": "dm1"}
    first = models.compute_optimal(BUDGETS, model="code", dataset="dm1").draws["N_opt"]
    np.testing.assert_array_equal(contrast.draws["a"].values, first.values)
    assert "P(code > text)" in contrast.table().columns
    same = contrast_optima(models, BUDGETS, "code", "text", axis="model", dataset="dm1")
    xr.testing.assert_identical(same.draws, contrast.draws)


def test_sweeps_and_curves_take_a_selector(skills: Fit) -> None:
    path = two_skill_path("code", "text", steps=3)
    by_select = sweep_mix(skills, [1e21], path, select={"datamix": "dm2"})
    xr.testing.assert_identical(by_select.draws, sweep_mix(skills, [1e21], path, datamix="dm2").draws)
    assert dict(by_select.labels) == {"datamix": "dm2"}
    assert (by_select.summary()["datamix"] == "dm2").all() and (by_select.wide()["datamix"] == "dm2").all()
    assert by_select.largest_shift()["datamix"] == "dm2"
    every = sweep_mix(skills, [1e21], path)
    assert not every.labels and "datamix" in every.draws.dims
    curves = isoflop_curves(skills, 1e22, {"code": 0.5, "text": 0.5}, select={"datamix": "dm1"}, points=20)
    xr.testing.assert_identical(curves.loss, isoflop_curves(skills, 1e22, {"code": 0.5, "text": 0.5}, datamix="dm1", points=20).loss)


def test_fan_chart_takes_a_selector_and_titles_the_group(models: Fit) -> None:
    fig = plot_optimum_fan(models, BUDGETS, select={"model": "text", "dataset": "dm2"})
    assert "model=text, dataset=dm2" in fig._suptitle.get_text()
    plt.close("all")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda f: f.compute_optimal(1e21, skill="math", datamix="dm1"), r"unknown skill: \['math'\]; the fit has"),
        (lambda f: f.compute_optimal(1e21, select={"model": "gpt2"}), "this fit has no 'model' axis"),
        (lambda f: f.params(select={"skill": "code"}), "differs by datamix: pass datamix="),
        (lambda f: contrast_optima(f, 1e21, "code", "text", axis="model"), "needs a fit with a 'model' axis"),
        (lambda f: contrast_optima(f, 1e21, "code", "math"), r"unknown skill: \['math'\]"),
    ],
)
def test_one_message_per_guard(skills: Fit, call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(skills)
