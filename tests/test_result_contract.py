"""Every posterior-derived result follows one contract: draws with labels kept, tidy summary, string table, markdown, HTML.

The results are built from hand-made posteriors (no sampling), so the contract
is checked on every result class in well under a second each.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from synthetic_fits import synthetic_fit
from test_downstream import link_fit, loss_fit

import bayeslaw as bl
from bayeslaw import results
from bayeslaw.constants import CREDIBLE_INTERVAL
from bayeslaw.diagnostics import Diagnostics
from bayeslaw.downstream import forecast_downstream
from bayeslaw.fit import Fit
from bayeslaw.forecast import predictive_groups
from bayeslaw.mix import sweep_mix, two_skill_path
from bayeslaw.result_contract import ResultContract, markdown_table
from bayeslaw.selection import rank_candidates
from bayeslaw.skills import contrast_optima

BUDGETS = [1e20, 1e22]


def with_predictive(fit: Fit, seed: int = 3) -> Fit:
    """``fit`` with observed data, log likelihood and posterior predictive groups from its posterior."""
    for group, dataset in predictive_groups(fit.posterior, fit.data, fit.law, fit.family, fit.refs, seed).items():
        results.set_group(fit.idata, group, dataset)
    return fit


def unconverged(fit: Fit) -> Fit:
    """``fit`` with diagnostics that fail (a banner that says NOT CONVERGED)."""
    fit.diagnostics = Diagnostics(
        max_rhat=1.5,
        min_ess_bulk=10.0,
        min_ess_tail=10.0,
        n_divergent=3,
        n_draws=400,
        problems=("max r_hat 1.5 > 1.01",),
        thresholds={"rhat_max": 1.01, "ess_bulk_min": 400.0, "ess_tail_min": 400.0},
    )
    return fit


def finetune_candidates() -> Fit:
    """A synthetic fit over ``model`` x ``dataset`` (Chinchilla law) to rank the models of one dataset."""
    return synthetic_fit("model", "dataset")


#: name -> (builder of the result, the labels its draws must keep as coordinates).
CASES: dict[str, tuple[Callable[[], ResultContract], dict[str, str]]] = {
    "optimum": (lambda: synthetic_fit().compute_optimal(BUDGETS, skill="code", datamix="dm1"), {"skill": "code", "datamix": "dm1"}),
    "contrast": (lambda: contrast_optima(synthetic_fit(), BUDGETS, "code", "text", datamix="dm2"), {"datamix": "dm2"}),
    "relative_to": (
        lambda: (
            (f := synthetic_fit())
            .compute_optimal(BUDGETS, skill="code", datamix="dm1")
            .relative_to(f.compute_optimal(BUDGETS, skill="text", datamix="dm1"))
        ),
        {"datamix": "dm1"},
    ),
    "mix_sweep": (lambda: sweep_mix(synthetic_fit(), BUDGETS, two_skill_path("code", "text", steps=3), datamix="dm2"), {"datamix": "dm2"}),
    "forecast": (lambda: synthetic_fit().forecast([1e9, 1e10], [2e10, 2e11], skill="knowledge", datamix="dm1"), {}),
    "downstream_forecast": (lambda: forecast_downstream(loss_fit(), link_fit(), [1e9, 3e9], [2e10, 6e10]), {}),
    "ranking": (lambda: _ranking(), {"dataset": "dm2"}),
    "ppc_coverage": (lambda: bl.ppc_coverage(with_predictive(synthetic_fit())), {}),
    "comparison": (lambda: _comparison(), {}),
    "backtest": (lambda: _backtest(), {}),
    "lfo_comparison": (lambda: _lfo_comparison(), {}),
}


def _backtest() -> ResultContract:
    """A backtest of two fake forecasters (no sampling): an exact one and one 20% too high."""
    from test_backtest import Oracle, frame

    return bl.backtest(frame(60), [Oracle("good"), Oracle("off", bias=0.2)], cuts=(0.1, 0.01), by="C")


def _lfo_comparison() -> ResultContract:
    """An LFO comparison of the same two fake forecasters, scored at one cut (no sampling)."""
    from test_backtest import Oracle, frame

    from bayeslaw.backtest import Context, split_at
    from bayeslaw.lfo import LfoComparison

    data = frame(60)
    split = split_at(data, 0.1 * data.values("C").max(), "C")
    assert split is not None
    y = split.test.values("loss")
    ctx = Context()
    pointwise = pd.DataFrame({m.name: m.forecast(ctx, split).log_density(y) for m in (Oracle("good"), Oracle("off", bias=0.2))})
    pointwise.index = [f"0.1/{i}" for i in split.test.frame.index]
    n = len(pointwise)
    diff = pointwise.sub(pointwise["good"], axis=0)
    ranking = pd.DataFrame(
        {
            "elpd_lfo": pointwise.sum(),
            "se": np.sqrt(n) * pointwise.std(),
            "elpd_diff": diff.sum(),
            "se_diff": np.sqrt(n) * diff.std(),
            "weight": [1.0, 0.0],
            "n_held_out": n,
            "converged": True,
        }
    )
    return LfoComparison(ranking=ranking, pointwise=pointwise, notes=("cut 0.1",))


def _ranking() -> ResultContract:
    """Rank the three models of dataset dm2 by their forecast at N = 1e9 (D = 2e10)."""
    fit = finetune_candidates()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return rank_candidates(fit, 1e9, prob=CREDIBLE_INTERVAL, variable="N", inputs={"D": 2e10}, select={"dataset": "dm2"})


def _comparison() -> ResultContract:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bl.compare({"seed 7": with_predictive(synthetic_fit(seed=7)), "seed 8": with_predictive(synthetic_fit(seed=8))}, warn=False)


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> tuple[str, ResultContract, dict[str, str]]:
    build, labels = CASES[request.param]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return request.param, build(), labels


def test_draws_prob_notes_and_labels_kept(case: tuple[str, ResultContract, dict[str, str]]) -> None:
    name, result, labels = case
    assert isinstance(result, ResultContract), name
    assert isinstance(result.draws, xr.Dataset) and result.draws.data_vars
    assert 0 < result.prob < 1
    assert isinstance(tuple(result.notes), tuple)
    for axis, label in labels.items():
        assert str(result.draws.coords[axis].item()) == label, f"{name}: draws lost the label {axis}={label}"


def test_summary_is_tidy_and_keeps_labels(case: tuple[str, ResultContract, dict[str, str]]) -> None:
    name, result, labels = case
    tidy = result.summary(prob=0.5)
    wide = result.summary(prob=0.95)
    assert list(tidy.columns[:1]) == ["quantity"] and list(tidy.columns[-3:]) == ["median", "lower", "upper"], name
    for axis, label in labels.items():
        assert (tidy[axis] == label).all(), f"{name}: summary lost the label {axis}={label}"
    finite = np.isfinite(tidy[["median", "lower", "upper"]]).all(axis=1)
    assert finite.any(), name
    ok = tidy.loc[finite]
    assert (ok["lower"] <= ok["median"]).all() and (ok["median"] <= ok["upper"]).all()
    # A wider interval contains the narrower one (the prob= argument is used).
    assert (wide.loc[finite, "lower"] <= tidy.loc[finite, "lower"] + 1e-12).all()
    assert (wide.loc[finite, "upper"] >= tidy.loc[finite, "upper"] - 1e-12).all()
    assert (wide["upper"] - wide["lower"]).sum() > (tidy["upper"] - tidy["lower"]).sum()


def test_table_is_strings_and_markdown_and_html_render(case: tuple[str, ResultContract, dict[str, str]]) -> None:
    name, result, labels = case
    table = result.table()
    assert isinstance(table, pd.DataFrame) and len(table) > 0
    text_cells = [c for c in table.columns if table[c].map(lambda v: isinstance(v, str)).all()]
    assert text_cells, f"{name}: table() has no string columns"
    listed = table.reset_index().to_string()
    for label in labels.values():
        assert label in listed, f"{name}: table lost the label {label}"
    markdown = result.to_markdown()
    assert markdown.startswith("**") and "|---|" in markdown and f"{result.prob:.0%}" in markdown
    page = result._repr_html_()
    assert page.startswith("<div") and "<table" in page and f"{result.prob:.0%}" in page


def test_html_carries_a_failed_convergence_banner() -> None:
    fit = unconverged(synthetic_fit())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.ConvergenceWarning)
        result = fit.compute_optimal(BUDGETS, skill="code", datamix="dm1")
        page = result._repr_html_()
        fit_page = fit._repr_html_()
    assert "NOT CONVERGED" in page and "#b00020" in page
    assert "NOT CONVERGED" in result.to_markdown()
    assert "NOT CONVERGED" in fit_page and "<table" in fit_page


def test_relative_to_is_the_contrast_and_the_sweep_shift() -> None:
    fit = synthetic_fit()
    code = fit.compute_optimal(BUDGETS, skill="code", datamix="dm1")
    text = fit.compute_optimal(BUDGETS, skill="text", datamix="dm1")
    rel = code.relative_to(text)
    np.testing.assert_allclose(rel.draws["ratio"], code.draws["N_opt"] / text.draws["N_opt"])
    np.testing.assert_allclose(rel.draws["shift"], rel.draws["ratio"] - 1)
    assert rel.labels == ("code", "text") and rel.axis == "skill"
    xr.testing.assert_allclose(rel.draws, contrast_optima(fit, BUDGETS, "code", "text", datamix="dm1").draws)
    p = rel.prob_greater
    assert ((0 <= p) & (p <= 1)).all()
    # The sweep's shift at a pure-skill mix is the same per-draw contrast against the reference mix.
    sweep = sweep_mix(fit, BUDGETS, {"code": {"code": 1.0}, "text": {"text": 1.0}}, reference={"text": 1.0}, datamix="dm1")
    np.testing.assert_allclose(sweep.draws["shift"].sel(mix="code").transpose(*rel.draws["shift"].dims), rel.draws["shift"], rtol=1e-6)
    with pytest.raises(ValueError, match="quantity must be one of"):
        code.relative_to(text, quantity="nope")


def test_markdown_table_escapes_pipes() -> None:
    text = markdown_table(pd.DataFrame({"a": ["x|y"], "b": [1.23456]}))
    assert "x\\|y" in text and "1.235" in text
