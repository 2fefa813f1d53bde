"""The report: sections, embedded images, markdown, the ``bayeslaw report`` command, and a headless-browser screenshot.

Three fits are reported on: the demo's Chinchilla fit (the shared short fit), a
hierarchical over-training fit (three evaluation sets) and a fine-tuning fit
(four models); the last two use few draws, and the tests check what the report
shows, including that it flags a fit that did not converge.
"""

from __future__ import annotations

import base64
import html
import io
import re
import shutil
import subprocess
import warnings
from functools import cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from PIL import Image

import bayeslaw as bl
from bayeslaw.cli import main
from bayeslaw.constants import CHINCHILLA_BUDGET

FEW = {"draws": 150, "tune": 200, "chains": 2, "random_seed": 3}
SECTIONS = ("what-was-fitted", "how-far-to-trust-it", "results", "reproducibility")


@cache
def overtraining_fit() -> bl.Fit:
    """A hierarchical fit of three evaluation sets of one training set (few draws)."""
    skills = ["c4_val", "paloma_ptb", "paloma_dolma_100_programing_languages"]
    data = bl.load_dataset("overtraining", eval_sets=skills, train_datasets=["rpj"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.ConvergenceWarning)
        return bl.fit(data, "hierarchical", **FEW)


@cache
def finetune_fit() -> bl.Fit:
    """A fine-tuning fit of four models on FLAN up to 51,200 examples (few draws)."""
    models = ["gpt2", "facebook/opt-350m", "t5-small", "facebook/bart-base"]
    data = bl.load_dataset("finetune", dataset="flan", max_examples=51200, models=models)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.ConvergenceWarning)
        return bl.fit(data, "rectified_finetune", **FEW)


def images(page: str) -> list[np.ndarray]:
    """The embedded PNG images of an HTML page, decoded to RGB arrays."""
    found = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(b))).convert("RGB")) for b in found]


def assert_not_blank(pixels: np.ndarray, min_ink: float = 0.02) -> None:
    """A rendered image is not uniform and has a share of non-white pixels above ``min_ink``."""
    assert pixels.std() > 5, "uniform image"
    ink = (pixels.min(axis=2) < 230).mean()
    assert ink > min_ink, f"only {ink:.1%} non-white pixels"


def check_page(page: str, fit: bl.Fit, n_images: int) -> None:
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    for section in SECTIONS:
        assert f"<section id='{section}'>" in page, section
    assert "http://" not in page and "https://" not in page, "the report must not load anything from the network"
    pictures = images(page)
    assert len(pictures) >= n_images
    for pixels in pictures:
        assert_not_blank(pixels)
    banner = fit.diagnostics.banner()
    assert banner.split(":")[0] in page
    if not fit.converged:
        assert "NOT CONVERGED" in page
    assert fit.data.name in page and fit.spec.name in page
    assert re.search(r"data hash \(sha256\)</th>\s*<td>[0-9a-f]{16}</td>", page)


def test_report_of_the_demo_fit(chinchilla_fit: bl.Fit, tmp_path: Path) -> None:
    made = bl.report(chinchilla_fit, budgets=[CHINCHILLA_BUDGET, 1e24], predict=["7e10:1.4e12", (1e9, 2e10)], prior_draws=200)
    page = made.to_html()
    # prior predictive, PPC, prior vs posterior, fit curves, fan chart
    check_page(page, chinchilla_fit, 5)
    assert "5.76e+23" in page and "Forecasts at 2 point(s)" in page
    assert html.escape("excluded Epoch AI's 5 highest-loss runs") in page
    assert "LogNormal(mu=0.5, sigma=0.5)" in page
    markdown = made.to_markdown()
    assert markdown.count("![") >= 5 and "## How far to trust it" in markdown and "| budget |" in markdown
    assert "Convergence OK" in str(made) and made == bl.report(chinchilla_fit)
    saved = made.save(tmp_path / "r.md")
    assert len(list((tmp_path / "r_files").glob("*.png"))) >= 5 and "r_files/figure_01.png" in saved.read_text()
    with pytest.raises(ValueError, match=r"\.html or \.md"):
        made.save(tmp_path / "r.pdf")
    assert "<div class='bayeslaw-report'>" in made._repr_html_()


def test_report_of_a_hierarchical_overtraining_fit() -> None:
    fit = overtraining_fit()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.ConvergenceWarning)
        made = bl.report(fit, budgets=[1e22], predict=["1e9:2e10"], prior_draws=100)
        page = made.to_html()
    check_page(page, fit, 5)
    for skill in fit.data.levels["skill"]:
        assert skill in page
    assert "PPC coverage of 90% predictive intervals by skill" in page
    assert page.count("<figcaption>N*(C) fan chart (") == 3


def test_report_of_a_finetuning_fit() -> None:
    fit = finetune_fit()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.ConvergenceWarning)
        made = bl.report(fit, predict=["1638400"], prior_draws=100)
        page = made.to_html()
    check_page(page, fit, 3)
    assert "Compute-optimal allocation" not in page  # no (N, D): no optimum section
    for model in fit.data.levels["model"]:
        assert model in page
    with pytest.raises(ValueError, match="forecast point"):
        bl.report(fit, predict=["a:b"])
    broken = bl.report(fit, predict=["1e9:2e10"], prior_draws=0).to_html()
    assert "forecasts not shown" in broken and "takes 1 input(s)" in broken


def test_report_command_writes_html_and_markdown(chinchilla_fit: bl.Fit, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = chinchilla_fit.save(tmp_path / "fit.nc")
    out = tmp_path / "report.html"
    status = main(["report", str(path), "--out", str(out), "--budget", "1e23", "--predict", "7e10:1.4e12", "--prior-draws", "100"])
    assert status == 0 and f"wrote {out}" in capsys.readouterr().out
    check_page(out.read_text(), chinchilla_fit, 5)
    assert main(["report", str(path), "--out", str(tmp_path / "r.md"), "--prior-draws", "0", "--prob", "0.8"]) == 0
    assert "80%" in (tmp_path / "r.md").read_text()
    assert main(["report", str(path), "--out", str(tmp_path / "r.txt")]) == 2


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium)")
def test_report_renders_in_headless_chromium(chinchilla_fit: bl.Fit, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    bl.report(chinchilla_fit, budgets=[1e24], prior_draws=100).save(page)
    shot = tmp_path / "shot.png"
    command = [
        str(CHROMIUM),
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--window-size=1200,4000",
        f"--screenshot={shot}",
        page.as_uri(),
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.shape[:2] == (4000, 1200)
    assert_not_blank(pixels, min_ink=0.05)
    # The embedded figures rendered: matplotlib's default blue (C0) and viridis colours are on the page.
    blue = (np.abs(pixels.astype(int) - [31, 119, 180]).sum(axis=2) < 40).sum()
    assert blue > 2000, f"only {blue} pixels of the figures' blue: images did not render"


def test_report_drops_pymcs_sampling_log_line_only_while_it_draws(chinchilla_fit) -> None:
    import logging

    from bayeslaw.prior_predictive import prior_predictive
    from bayeslaw.report import PYMC_FORWARD_LOGGER

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger(PYMC_FORWARD_LOGGER)
    logger.addHandler(handler)
    pymc_logger = logging.getLogger("pymc")
    level = pymc_logger.level
    pymc_logger.setLevel(logging.INFO)  # as PyMC sets it outside pytest (pytest's root handler keeps it at WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert bl.report(chinchilla_fit, prior_draws=50).prior.prob  # the prior predictive check is drawn
        assert not [r for r in records if "Sampling" in r.getMessage()]
        prior_predictive(chinchilla_fit.data, chinchilla_fit.spec, draws=10, seed=1)  # elsewhere PyMC's logging is untouched
        assert [r for r in records if "Sampling" in r.getMessage()]
    finally:
        logger.removeHandler(handler)
        pymc_logger.setLevel(level)
