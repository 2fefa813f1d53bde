"""Plots survive real data: three shipped datasets and a synthetic one on a very different scale.

Checked on every figure: log axes where the quantity spans decades, finite axis
limits, the title (model, data, interval level, NOT CONVERGED when so) inside the
figure, and the fit panels' y range kept near the data.
"""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
from matplotlib.figure import Figure
from test_report import finetune_fit, overtraining_fit

import bayeslaw as bl
from bayeslaw import results
from bayeslaw.constants import DIVERGENCE_FRACTION_MAX, ESS_BULK_MIN, ESS_TAIL_MIN, RHAT_MAX
from bayeslaw.diagnostics import Diagnostics
from bayeslaw.fit import Fit
from bayeslaw.forecast import predictive_groups
from bayeslaw.laws import get_law
from bayeslaw.plotting import plot_fit, plot_optimum_fan, plot_posterior, plot_ppc, plot_ppc_coverage
from bayeslaw.plotting.priors import plot_prior_posterior, plot_prior_predictive
from bayeslaw.prior_predictive import prior_predictive
from bayeslaw.simulate import simulate
from bayeslaw.spec import resolve_spec

#: A law far from language-model scale: N from 1e3 to 3e5, losses from about 0.5 down to 0.03.
TINY_TRUTH = {"E": 0.02, "A": 5.0, "B": 20.0, "alpha": 0.5, "beta": 0.5}


def tiny_scale_fit(nu: float = 20.0, sigma: float = 0.02) -> Fit:
    """Posterior-like draws around TINY_TRUTH (no sampling) with predictive draws at the simulated data.

    ``nu`` and ``sigma`` centre the Student-t's draws (a small ``nu`` makes a heavy-tailed fit).
    """
    sim = simulate("chinchilla", TINY_TRUTH, sizes=[1e3, 3e3, 1e4, 3e4, 1e5, 3e5], tokens_per_param=[5, 20, 80], sigma=0.02, seed=4)
    law = get_law("chinchilla")
    rng = np.random.default_rng(5)
    p = law.from_raw(TINY_TRUTH, sim.refs, np)
    coords = {"chain": np.arange(2), "draw": np.arange(200)}

    def draws(centre: float, spread: float) -> xr.DataArray:
        return xr.DataArray(centre * np.exp(spread * rng.standard_normal((2, 200))), dims=("chain", "draw"), coords=coords)

    post = {k: draws(float(v), 0.03) for k, v in p.items()}
    post.update(sigma=draws(sigma, 0.05), nu=draws(nu, 0.05))
    thresholds = {
        "rhat_max": RHAT_MAX,
        "ess_bulk_min": ESS_BULK_MIN,
        "ess_tail_min": ESS_TAIL_MIN,
        "divergence_fraction_max": DIVERGENCE_FRACTION_MAX,
    }
    diagnostics = Diagnostics(max_rhat=1.0, min_ess_bulk=1e4, min_ess_tail=1e4, n_divergent=0, n_draws=400, thresholds=thresholds)
    fit = Fit(
        idata=results.from_datasets({"posterior": xr.Dataset(post)}),
        data=sim.data,
        spec=resolve_spec("chinchilla"),
        refs=sim.refs,
        diagnostics=diagnostics,
        seed=0,
    )
    for group, dataset in predictive_groups(fit.posterior, fit.data, fit.law, fit.family, fit.refs, 1).items():
        results.set_group(fit.idata, group, dataset)
    return fit


FITS = {
    "chinchilla": lambda request: request.getfixturevalue("chinchilla_fit"),
    "overtraining": lambda request: overtraining_fit(),
    "finetune": lambda request: finetune_fit(),
    "tiny_scale": lambda request: tiny_scale_fit(),
}


@pytest.fixture(params=sorted(FITS))
def any_fit(request: pytest.FixtureRequest) -> Fit:
    return FITS[request.param](request)


@pytest.fixture(autouse=True)
def _close() -> None:
    yield
    plt.close("all")


def check_figure(fig: Figure, fit: Fit, prob: float | None = 0.9) -> None:
    """Finite limits, the title inside the figure and stating model, data, level and convergence."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    title = fig._suptitle
    assert title is not None, "figure has no title"
    text = title.get_text()
    assert f"model {fit.spec.name!r}" in text and f"data {fit.data.name!r}" in text
    if prob is not None:
        assert f"{prob:.0%} intervals" in text
    assert ("NOT CONVERGED" in text) == (not fit.converged)
    for artist in [title, *(ax.title for ax in fig.axes if ax.get_visible())]:
        if not artist.get_text():
            continue
        extent = artist.get_window_extent(renderer)
        assert extent.x0 >= box.x0 - 1 and extent.x1 <= box.x1 + 1 and extent.y0 >= box.y0 - 1 and extent.y1 <= box.y1 + 1, (
            f"title {artist.get_text()!r} is clipped: {extent} outside {box}"
        )
    for ax in fig.axes:
        if ax.get_visible():
            assert np.all(np.isfinite(ax.get_xlim())) and np.all(np.isfinite(ax.get_ylim())), ax.get_title()


def spans_decades(values: np.ndarray) -> bool:
    return bool((values > 0).all() and values.max() / values.min() > 10)


def test_plot_fit_scales_and_limits(any_fit: Fit) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.ConvergenceWarning)
        select = {"model": any_fit.data.levels["model"][0]} if "model" in any_fit.data.groups else None
        fig = plot_fit(any_fit, select=select)
    check_figure(fig, any_fit)
    observed = any_fit.data.values(any_fit.data.target)
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
    for ax in panels:
        assert ax.get_xscale() == "log"
        if not spans_decades(observed):  # a panel's own data may span decades when the whole data set does
            assert ax.get_yscale() == "linear"
        low, high = ax.get_ylim()
        # The y range stays near the data: extrapolated bands never stretch it (loss 100-250 on a loss-3 plot).
        assert low >= observed.min() / 3 and high <= observed.max() * 3, (low, high)
        assert any(line.get_linestyle() == ":" for line in ax.get_lines()), "no predictive band"


def test_plot_ppc_and_coverage(any_fit: Fit) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.ConvergenceWarning)
        axis = next(iter(any_fit.data.groups), "skill")
        labels = list(any_fit.data.levels[axis])[:16] if any_fit.data.groups else None
        fig = plot_ppc(any_fit, by=axis, skills=labels)
    check_figure(fig, any_fit)
    observed = any_fit.data.values(any_fit.data.target)
    for ax in (a for a in fig.axes if a.get_visible()):
        assert ax.get_xscale() == "log"
        assert ax.get_yscale() == ("log" if spans_decades(observed) else "linear")
    coverage = plot_ppc_coverage(bl.ppc_coverage(any_fit, by=axis))
    coverage.canvas.draw()
    assert "90% intervals" in coverage._suptitle.get_text()


def test_plot_ppc_is_readable_with_16_groups() -> None:
    fit = tiny_scale_fit()
    frame = fit.data.frame.copy()
    frame["skill"] = [f"group {i % 16:02d}" for i in range(len(frame))]
    grouped = Fit(
        idata=fit.idata,
        data=bl.ScalingData.from_frame(frame[["N", "D", "loss", "skill"]], groups=["skill"]),
        spec=fit.spec,
        refs=fit.refs,
        diagnostics=fit.diagnostics,
        seed=0,
    )
    fig = plot_ppc(grouped)
    check_figure(fig, grouped)
    width, height = fig.get_size_inches()
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 32 and width <= 16 and height <= 24
    for ax in panels:  # each panel keeps a readable size
        bbox = ax.get_position()
        assert bbox.width * width > 2.0 and bbox.height * height > 1.2


def test_fan_chart_marks_the_users_budgets_and_states_its_range(any_fit: Fit) -> None:
    if not any_fit.law.allocates_compute():
        pytest.skip("no compute-optimal allocation for a one-input law")
    select = {a: any_fit.data.levels[a][0] for a in any_fit.data.groups}
    top = float(any_fit.data.values("C").max())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.ConvergenceWarning)
        fig = plot_optimum_fan(any_fit, select=select or None, mark_budget=[top * 10, top * 100])
    check_figure(fig, any_fit)
    assert "budgets up to 1e+04 x the data's largest" in fig._suptitle.get_text()
    for ax in fig.axes:
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        marks = [line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == "--"]
        np.testing.assert_allclose(sorted(marks), [top * 10, top * 100])
        texts = " ".join(t.get_text() for t in ax.texts)
        assert "5.76e+23" not in texts and "5.8e+23" not in texts


def test_posterior_and_prior_plots(any_fit: Fit) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_figure(plot_posterior(any_fit), any_fit)
        prior = prior_predictive(any_fit.data, any_fit.spec, draws=100, seed=2)
        check_figure(plot_prior_predictive(prior, fit=any_fit), any_fit)
        check_figure(plot_prior_posterior(any_fit, prior), any_fit)
    assert 0.0 <= prior.coverage() <= 1.0 and prior.decades() > 0
