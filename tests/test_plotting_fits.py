"""Fit plots: data with fitted curves and bands, the N*(C) fan chart and the parameter posteriors."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.figure import Figure

import bayeslaw as bl
from bayeslaw.constants import CHINCHILLA_BUDGET, CREDIBLE_INTERVAL, FAN_INNER_INTERVAL
from bayeslaw.plotting import plot_fit, plot_optimum_fan, plot_posterior


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _median_lines(ax) -> list:
    """The solid median curves of a fit panel (the dotted lines are the predictive band's edges)."""
    return [line for line in ax.get_lines() if line.get_linestyle() == "-"]


def _data_axes(fig: Figure) -> list:
    """Axes that hold data (not colour bars)."""
    return [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]


def test_plot_fit_draws_the_data_and_one_band_per_curve(chinchilla_fit: bl.Fit) -> None:
    fig = plot_fit(chinchilla_fit, n_curves=4)
    assert isinstance(fig, Figure)
    (ax,) = _data_axes(fig)
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "loss"
    scatter = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(scatter) == 1 and len(scatter[0].get_offsets()) == len(chinchilla_fit.data)
    lines = _median_lines(ax)
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert 3 <= len(lines) == len(bands) <= 4
    observed = chinchilla_fit.data.values("loss")
    for line in lines:
        _, median = line.get_data()
        assert np.all(np.isfinite(median))
        assert observed.min() - 0.3 < np.median(median) < observed.max() + 0.3
    assert len(fig.axes) == 2  # plus the colour bar of compute


def test_plot_fit_median_curve_is_the_predicted_median(chinchilla_fit: bl.Fit) -> None:
    fig = plot_fit(chinchilla_fit, by="tokens_per_param", n_curves=3)
    (ax,) = _data_axes(fig)
    line = ax.get_lines()[0]
    n_grid, median = line.get_data()
    band = ax.collections[0]  # the band of the same curve, drawn first
    assert isinstance(band, PolyCollection)
    # The first curve is at the lowest ratio: the data's 2% quantile of tokens per parameter.
    ratios = chinchilla_fit.data.values("D") / chinchilla_fit.data.values("N")
    ratio = np.geomspace(*np.quantile(ratios, (0.02, 0.98)), 3)[0]
    expected = chinchilla_fit.predict(n_grid, ratio * n_grid, prob=CREDIBLE_INTERVAL)["mean_median"].to_numpy()
    np.testing.assert_allclose(median, expected, rtol=1e-10)
    assert "tokens per parameter" in fig.axes[-1].get_ylabel()


def test_plot_fit_rejects_bad_options(chinchilla_fit: bl.Fit) -> None:
    with pytest.raises(ValueError, match="by must be 'auto'"):
        plot_fit(chinchilla_fit, by="size")
    with pytest.raises(ValueError, match="no data for"):
        plot_fit(chinchilla_fit, select={"skill": "code"})


def test_fan_chart_bands_are_nested_and_median_matches_compute_optimal(chinchilla_fit: bl.Fit) -> None:
    budgets = np.geomspace(1e20, 1e25, 12)
    fig = plot_optimum_fan(chinchilla_fit, budgets, mark_budget=CHINCHILLA_BUDGET)
    axes = _data_axes(fig)
    assert [ax.get_title() for ax in axes] == [
        "compute-optimal model size",
        "compute-optimal training tokens",
        "compute-optimal tokens per parameter",
    ]
    assert all(ax.get_xscale() == "log" and ax.get_yscale() == "log" for ax in axes)
    summary = chinchilla_fit.compute_optimal(np.union1d(budgets, [CHINCHILLA_BUDGET])).summary(CREDIBLE_INTERVAL)
    for ax, name in zip(axes, ("N_opt", "D_opt", "tokens_per_param"), strict=True):
        median = ax.get_lines()[0]
        x, y = median.get_data()
        expected = summary[summary["quantity"] == name].sort_values("budget")
        np.testing.assert_allclose(x, expected["budget"].to_numpy())
        np.testing.assert_allclose(y, expected["median"].to_numpy(), rtol=1e-10)
        outer, inner = [c for c in ax.collections if isinstance(c, PolyCollection)][:2]
        assert outer.get_label() == f"{CREDIBLE_INTERVAL:.0%}" and inner.get_label() == f"{FAN_INNER_INTERVAL:.0%}"
        out_y, in_y = outer.get_paths()[0].vertices[:, 1], inner.get_paths()[0].vertices[:, 1]
        assert out_y.min() <= in_y.min() <= np.median(y) and np.median(y) <= in_y.max() <= out_y.max()
        assert out_y.min() < in_y.min()  # the 90% band is wider than the 50% band
    mark = [line for line in axes[0].get_lines() if line.get_marker() == "o"]
    n_star = summary[(summary["quantity"] == "N_opt") & (summary["budget"] == CHINCHILLA_BUDGET)]["median"].item()
    assert mark[0].get_ydata()[0] == pytest.approx(n_star)


def test_fan_chart_validates_its_options(chinchilla_fit: bl.Fit) -> None:
    with pytest.raises(ValueError, match="inner < outer"):
        plot_optimum_fan(chinchilla_fit, [1e22], inner=0.9, outer=0.5)
    with pytest.raises(ValueError, match="unknown quantities"):
        plot_optimum_fan(chinchilla_fit, [1e22], quantities=("N_star",))


def test_posterior_panels_show_paper_form_parameters(chinchilla_fit: bl.Fit) -> None:
    fig = plot_posterior(chinchilla_fit)
    titles = [ax.get_title() for ax in _data_axes(fig)]
    assert [t.split(" = ")[0] for t in titles] == ["E", "A", "B", "alpha", "beta", "a"]
    summary = chinchilla_fit.summary()
    assert (
        titles[3]
        == f"alpha = {summary.loc['alpha', 'median']:.3g} [{summary.loc['alpha', 'lower']:.3g}, {summary.loc['alpha', 'upper']:.3g}]"
    )
    with pytest.raises(ValueError, match="unknown quantities"):
        plot_posterior(chinchilla_fit, ["gamma"])


def test_grouped_fit_has_one_panel_per_group_and_one_colour_bar() -> None:
    import grouped_fits as g

    hier = g.fit_of("shared", "hierarchical")
    fig = plot_fit(hier)
    assert "tokens-per-parameter" in fig.get_suptitle()  # a designed sweep: curves at its own ratios
    axes = _data_axes(fig)
    expected = [f"skill={s}, datamix={m}" for s in g.SKILLS for m in g.DATAMIXES]
    assert [ax.get_title() for ax in axes] == expected
    assert len(fig.axes) == len(expected) + 1  # one shared colour bar
    for ax, title in zip(axes, expected, strict=True):
        skill, datamix = (part.split("=")[1] for part in title.split(", "))
        frame = hier.data.frame
        n_points = int(((frame["skill"] == skill) & (frame["datamix"] == datamix)).sum())
        (points,) = [c for c in ax.collections if isinstance(c, PathCollection)]
        assert len(points.get_offsets()) == n_points
        assert len(_median_lines(ax)) == len(g.TOKENS_PER_PARAM)
        for line, ratio in zip(_median_lines(ax), g.TOKENS_PER_PARAM, strict=True):  # each curve runs at one of the design's ratios
            n_grid, median = line.get_data()
            expected = hier.predict(n_grid, ratio * n_grid, skill=skill, datamix=datamix)["mean_median"].to_numpy()
            np.testing.assert_allclose(median, expected, rtol=1e-10)
    only = plot_fit(hier, select={"skill": g.SPARSE_SKILL})
    assert [ax.get_title() for ax in _data_axes(only)] == [f"skill={g.SPARSE_SKILL}, datamix={m}" for m in g.DATAMIXES]
    with pytest.raises(ValueError, match="pass skill="):
        plot_optimum_fan(hier, [1e21])
    fan = plot_optimum_fan(hier, [1e20, 1e21, 1e22], skill="s1", datamix="m2")
    assert "skill=s1, datamix=m2" in fan.get_suptitle()
    posterior = plot_posterior(hier)
    (legend,) = posterior.legends
    assert [t.get_text() for t in legend.get_texts()] == [f"{s}, {m}" for s in g.SKILLS for m in g.DATAMIXES]
