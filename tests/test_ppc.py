"""Posterior predictive checks: per-observation intervals, per-skill coverage, flags in summary/report, plots."""

from __future__ import annotations

import warnings
from dataclasses import replace

import grouped_fits as g
import matplotlib
import numpy as np
import pytest
import xarray as xr

import bayeslaw as bl
from bayeslaw import plotting, results
from bayeslaw.constants import PPC_COVERAGE_BOUNDS, PPC_INTERVAL
from bayeslaw.model_builder import OBSERVED

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def hier() -> bl.Fit:
    return g.fit_of("shared", "hierarchical")


def _with_predictive(fit: bl.Fit, predictive: np.ndarray) -> bl.Fit:
    """A copy of ``fit`` whose posterior predictive draws are replaced (the original is untouched)."""
    idata = fit.idata.copy()
    old = results.get_group(idata, "posterior_predictive")[OBSERVED]
    results.set_group(idata, "posterior_predictive", xr.Dataset({OBSERVED: old.copy(data=predictive)}))
    return replace(fit, idata=idata)


def test_ppc_table_intervals_and_inside(hier: bl.Fit) -> None:
    table = bl.ppc_table(hier, PPC_INTERVAL)
    assert len(table) == len(hier.data)
    assert list(table.index) == list(hier.data.frame.index)
    assert {"N", "D", "skill", "datamix", "observed", "pred_lower", "pred_median", "pred_upper", "inside"} <= set(table.columns)
    assert (table["pred_lower"] <= table["pred_median"]).all() and (table["pred_median"] <= table["pred_upper"]).all()
    expected = (table["observed"] >= table["pred_lower"]) & (table["observed"] <= table["pred_upper"])
    assert (table["inside"] == expected).all()
    # Direct check of one observation against its own draws.
    draws = results.get_group(hier.idata, "posterior_predictive")[OBSERVED].isel(obs=7).values.ravel()
    lo, hi = np.quantile(draws, [(1 - PPC_INTERVAL) / 2, (1 + PPC_INTERVAL) / 2])
    assert table["pred_lower"].iloc[7] == pytest.approx(lo) and table["pred_upper"].iloc[7] == pytest.approx(hi)


def test_coverage_per_skill_of_a_well_specified_fit(hier: bl.Fit) -> None:
    check = bl.ppc_coverage(hier, PPC_INTERVAL, by="skill")
    table = check.per_group
    assert list(table.index) == list(g.SKILLS)
    assert table["n"].sum() == len(hier.data)
    inside = bl.ppc_table(hier, PPC_INTERVAL)["inside"]
    assert check.overall == pytest.approx(inside.mean())
    assert table.loc["s1", "coverage"] == pytest.approx(inside[hier.data.frame["skill"] == "s1"].mean())
    # The model that generated the data covers close to the nominal 90% overall.
    assert 0.8 <= check.overall <= 0.99, check.banner()
    by_mix = bl.ppc_coverage(hier, PPC_INTERVAL, by="datamix")
    assert list(by_mix.per_group.index) == list(g.DATAMIXES)
    everything = bl.ppc_coverage(hier, PPC_INTERVAL, by=None)
    assert list(everything.per_group.index) == ["all"] and everything.overall == pytest.approx(check.overall)


def test_coverage_flags_groups_outside_bounds(hier: bl.Fit) -> None:
    check = bl.ppc_coverage(hier, PPC_INTERVAL, bounds=(0.999, 1.0))
    low = check.per_group["coverage"] < 0.999
    assert list(check.per_group.index[low]) == [s for s in check.per_group.index if check.per_group.loc[s, "flag"] == "low"]
    assert check.ok == (not low.any())
    with pytest.raises(ValueError, match="bounds"):
        bl.ppc_coverage(hier, PPC_INTERVAL, bounds=(0.9, 0.8))


def test_report_carries_the_coverage_flag(hier: bl.Fit) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.ConvergenceWarning)
        assert set(bl.ppc_coverage(hier).per_group.index) == set(g.SKILLS)
        assert "PPC coverage of 90% predictive intervals by skill" in bl.report(hier)
        # Predictive draws that all sit 50% above skill s2's observations: its coverage drops to 0 and is flagged.
        observed = hier.data.values("loss")
        pred = results.get_group(hier.idata, "posterior_predictive")[OBSERVED].values.copy()
        is_s2 = hier.data.frame["skill"].to_numpy() == "s2"
        pred[..., is_s2] = 1.5 * observed[is_s2]
        broken = _with_predictive(hier, pred)
        check = bl.ppc_coverage(broken)
        assert check.per_group.loc["s2", "coverage"] == 0.0 and check.per_group.loc["s2", "flag"] == "low"
        assert not check.ok
        text = bl.report(broken)
        assert "PPC COVERAGE OUT OF BOUNDS" in text and "'s2'" in text
        # Draws spread so wide that everything is covered: flagged as too high (above the upper bound).
        wide = _with_predictive(hier, np.where(np.arange(pred.shape[1])[None, :, None] % 2 == 0, 0.01, 100.0) + 0 * pred)
        high = bl.ppc_coverage(wide)
        assert (high.per_group["flag"] == "high").all() and high.per_group["coverage"].min() > PPC_COVERAGE_BOUNDS[1]
    assert results.has_group(hier.idata, "posterior_predictive")  # the shared fit is untouched
    assert bl.ppc_coverage(hier).per_group.loc["s2", "coverage"] > 0


def test_ppc_plots(hier: bl.Fit) -> None:
    fig = plotting.plot_ppc(hier)
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 2 * len(g.SKILLS)  # a grid: spare cells hidden
    fig = plotting.plot_ppc(hier, inputs=("C",), skills=["s3"])
    assert len(fig.axes) == 1
    fig = plotting.plot_ppc_coverage(hier)
    assert len(fig.axes[0].patches) >= len(g.SKILLS)
    fig = plotting.plot_ppc_coverage(bl.ppc_coverage(hier, by="datamix"))
    assert fig.axes[0].get_title().startswith("PPC coverage by datamix")
    with pytest.raises(ValueError, match="unknown skill"):
        plotting.plot_ppc(hier, skills=["nope"])
