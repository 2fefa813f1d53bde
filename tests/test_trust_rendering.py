"""Trust signals (:mod:`bayeslaw.trust`) where a user reads them: the report (text, HTML, markdown) and the figures' titles.

Two fits: a heavy-tailed one built from posterior-like draws with Student-t nu
about 1 (no sampling; its diagnostics are clean, so only the trust line can flag
it), and the suite's real Chinchilla fit, forecast far beyond its largest run.
Also: a ``$`` in a group label is shown as written, not read as TeX.
"""

from __future__ import annotations

import dataclasses
import re
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib import cbook
from matplotlib.text import Text
from test_plots_real_data import tiny_scale_fit

import bayeslaw as bl
from bayeslaw.fit import Fit
from bayeslaw.plotting import plot_optimum_fan, plot_posterior, plot_ppc, plot_ppc_coverage, title_figure
from bayeslaw.plotting.stamp import ALARM_COLOUR, literal_texts, plain, short_signal
from bayeslaw.trust import EXTRAPOLATION_MAX, NU_MIN, fit_signals

HEAVY_NU = 1.0


@pytest.fixture(scope="module")
def heavy_fit() -> Fit:
    """A fit whose Student-t nu is about 1 (heavy tails); its predictive draws overflow and are redrawn (warned)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*overflowed float64.*", category=UserWarning)
        return tiny_scale_fit(nu=HEAVY_NU, sigma=0.3)


@pytest.fixture(autouse=True)
def _close() -> None:
    yield
    plt.close("all")


def section(page: str, slug: str) -> str:
    """The HTML of one report section."""
    match = re.search(rf"<section id='{slug}'>(.*?)</section>", page, flags=re.S)
    assert match, f"no section {slug!r}"
    return match.group(1)


def test_heavy_tails_are_flagged_in_every_form_of_the_report(heavy_fit: Fit) -> None:
    assert heavy_fit.converged and float(np.median(heavy_fit.posterior["nu"].values)) < NU_MIN
    report = bl.report(heavy_fit, prior_draws=0)
    assert "WARNING: Student-t nu" in str(report)
    trust = section(report.to_html(), "how-far-to-trust-it")
    line = re.search(r'<p style="([^"]*)">(WARNING: Student-t nu[^<]*)</p>', trust)
    assert line and "#b00020" in line.group(1), "the nu warning is not a red banner in 'How far to trust it'"
    markdown = report.to_markdown()
    trust_md = markdown.split("## How far to trust it")[1].split("## Results")[0]
    assert "> **WARNING: Student-t nu" in trust_md


def test_clean_fit_says_what_the_trust_checks_looked_at() -> None:
    clean = tiny_scale_fit()
    assert fit_signals(clean) == []
    trust = section(bl.report(clean, prior_draws=0).to_html(), "how-far-to-trust-it")
    assert "Trust checks (those that apply to this fit) flag nothing" in trust


def test_heavy_tails_are_stated_on_every_figure_title(heavy_fit: Fit) -> None:
    for fig in (plot_posterior(heavy_fit), plot_ppc(heavy_fit), plot_optimum_fan(heavy_fit)):
        title = fig._suptitle
        assert "WARNING: Student-t nu" in title.get_text() and title.get_color() == ALARM_COLOUR
        assert "heavy tails absorb" not in title.get_text(), "the title carries the short form of the line"


def test_far_forecasts_and_budgets_are_flagged_beside_their_tables(chinchilla_fit: Fit) -> None:
    data = chinchilla_fit.data
    n, d = data.values("N"), data.values("D")
    top = int(np.argmax(n * d))
    near, far = (n[top], d[top]), (n[top] * 10, d[top] * 10)  # 1x and 100x the largest run's compute
    largest = float(data.values("C").max())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = bl.report(chinchilla_fit, budgets=[largest, 100 * largest], predict=[near, far], prior_draws=0)
        page, markdown = report.to_html(), report.to_markdown()
    results = section(page, "results")
    assert f"Forecasts: CAUTION: 1 forecast point(s) lie beyond {EXTRAPOLATION_MAX:g}x" in results
    assert f"Budgets: CAUTION: 1 forecast point(s) lie beyond {EXTRAPOLATION_MAX:g}x" in results
    assert "color:#8a4b00" in results, "a CAUTION line is shown in amber"
    assert re.search(r"multiple of the largest training compute, at \(N, D\): \([^)]*\): 1x; \([^)]*\): 100x", results)
    assert "> **Forecasts: CAUTION" in markdown and "> **Budgets: CAUTION" in markdown
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        close = section(bl.report(chinchilla_fit, budgets=[largest], predict=[near], prior_draws=0).to_html(), "results")
    assert "CAUTION: 1 forecast point" not in close and f"every point within {EXTRAPOLATION_MAX:g}x" in close


def test_fan_chart_title_flags_a_budget_far_beyond_the_data(chinchilla_fit: Fit) -> None:
    largest = float(chinchilla_fit.data.values("C").max())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        far = plot_optimum_fan(chinchilla_fit, mark_budget=100 * largest)._suptitle.get_text()
        near = plot_optimum_fan(chinchilla_fit, mark_budget=largest)._suptitle.get_text()
    assert f"beyond {EXTRAPOLATION_MAX:g}x the largest training compute" in far
    assert "forecast point" not in near


def test_short_signal_keeps_level_and_first_clause() -> None:
    line = "WARNING: Student-t nu = 1.3 (< 2): heavy tails absorb misfit; forecast bands are very wide"
    assert short_signal(line) == "WARNING: Student-t nu = 1.3 (< 2)"
    caution = "CAUTION: 3 run(s) have fewer than 1 token per parameter"
    assert short_signal(caution) == caution


def test_dollar_in_labels_is_shown_not_read_as_tex() -> None:
    assert plain("$5 and $6$") == r"\$5 and \$6\$" and plain(r"\$x") == r"\$x"
    fit = tiny_scale_fit()
    frame = fit.data.frame.copy()
    frame["skill"] = ["$cheap$" if i % 2 else "$dear$" for i in range(len(frame))]
    grouped = Fit(
        idata=fit.idata,
        data=bl.ScalingData.from_frame(frame[["N", "D", "loss", "skill"]], groups=["skill"], name="costs $ in $"),
        spec=fit.spec,
        refs=fit.refs,
        diagnostics=fit.diagnostics,
        seed=0,
    )
    for fig in (plot_ppc(grouped), plot_ppc_coverage(grouped)):
        fig.canvas.draw()
        texts = [t for t in fig.findobj(Text) if "$" in t.get_text() and "mathdefault" not in t.get_text()]
        assert texts, "the labels are on the figure"
        assert not [t.get_text() for t in texts if cbook.is_math_text(t.get_text())], "a label with $ is read as TeX"
    with_ticks = plt.figure()
    ax = with_ticks.add_subplot()
    ax.plot([1, 10, 100], [1, 2, 3], label="$x$")
    ax.set_xscale("log")
    ax.set_title("$a$")
    literal_texts(with_ticks)
    with_ticks.canvas.draw()
    assert ax.get_title() == r"\$a\$" and ax.get_lines()[0].get_label() == r"\$x\$"
    assert any(cbook.is_math_text(t.get_text()) for t in ax.get_xticklabels()), "log tick labels keep their TeX"


def test_title_figure_names_several_fits_and_counts_the_unconverged(heavy_fit: Fit) -> None:
    clean = tiny_scale_fit()
    failed = Fit(
        idata=clean.idata,
        data=clean.data,
        spec=clean.spec,
        refs=clean.refs,
        diagnostics=dataclasses.replace(clean.diagnostics, problems=("r_hat 1.2 > 1.01",)),
        seed=0,
    )
    assert not failed.converged
    fig = plt.figure(figsize=(8, 3))
    fig.add_subplot().plot([1, 2], [1, 2])
    title_figure(fig, "my comparison", [clean, failed, heavy_fit], 0.8)
    text = fig._suptitle.get_text()
    assert text.startswith("my comparison") and "model 'chinchilla'" in text and "80% intervals" in text
    assert "NOT CONVERGED: 1 of 3 fits" in text and "WARNING: Student-t nu" in text and fig._suptitle.get_color() == ALARM_COLOUR
    calm = plt.figure(figsize=(8, 3))
    title_figure(calm, "one clean fit", clean, 0.9)
    assert "NOT CONVERGED" not in calm._suptitle.get_text() and calm._suptitle.get_color() == "black"
