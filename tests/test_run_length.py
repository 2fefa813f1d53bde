"""Run length by target (bayeslaw.run_length): when to sample longer, how much, and the fit that does it."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import bayeslaw as bl
from bayeslaw.run_length import APPEND_TUNE, MAX_EXTENSIONS, MAX_FACTOR, Plan, Shortfall, Targets, note, plan
from bayeslaw.spec import resolve_spec

TARGETS = Targets(rhat_max=1.01, ess_bulk_min=400, ess_tail_min=400, divergence_fraction_max=0.005, max_draws_factor=8)


def _short(rhat: float = 1.0, bulk: float = 1000, tail: float = 1000, div: int = 0) -> Shortfall:
    return Shortfall(max_rhat=rhat, min_ess_bulk=bulk, min_ess_tail=tail, n_divergent=div, n_draws=4000)


def test_targets_met_need_no_longer_run() -> None:
    step = plan(_short(), TARGETS, draws=1000, configured=1000, drawn=1000, round_=0)
    assert step.draws == 0 and step.reason == "targets met"


def test_ess_short_asks_for_draws_in_proportion_with_a_margin() -> None:
    # bulk ESS 200 of 400: twice the draws, times the 1.25 margin -> 2500 held, so 1500 more are appended
    more = plan(_short(bulk=200), TARGETS, 1000, 1000, 1000, 0)
    assert (more.draws, more.appended, more.target_accept) == (1500, True, None)
    # a small shortfall still grows the fit's draws by at least 1.5x; a huge one by at most 4x
    assert plan(_short(tail=390), TARGETS, 1000, 1000, 1000, 0).draws == 500
    assert plan(_short(bulk=20), TARGETS, 1000, 1000, 1000, 0).draws == int(1000 * (MAX_FACTOR - 1))
    # the factor applies to the draws the fit holds, appended ones included
    assert plan(_short(bulk=200), TARGETS, 1500, 1000, 1500, 1).draws == 2300


def test_rhat_over_its_threshold_doubles_the_draws() -> None:
    assert plan(_short(rhat=1.02), TARGETS, 1000, 1000, 1000, 0).draws == 1000


def test_divergences_the_cap_and_the_round_limit_stop_it() -> None:
    diverging = plan(_short(bulk=200, div=100), TARGETS, 1000, 1000, 1000, 0)
    assert diverging.draws == 0 and "divergent" in diverging.reason
    # holding 4000 draws after 7500 drawn, 2000 more (to 1.5 x 4000) would pass 8 x 1000, and the 500 left are
    # under half of what the fit holds
    capped = plan(_short(tail=390), TARGETS, draws=4000, configured=1000, drawn=7500, round_=1)
    assert capped.draws == 0 and "cap of 8000 draws per chain" in capped.reason
    # more draws that would pass the cap are cut to what is left when that is still half of what the fit holds
    shortened = plan(_short(bulk=100), TARGETS, draws=2000, configured=1000, drawn=5000, round_=1)
    assert (shortened.draws, shortened.appended) == (3000, True)
    assert plan(_short(bulk=200), TARGETS, 1000, 1000, 1000, MAX_EXTENSIONS).draws == 0


def test_divergences_raise_the_target_acceptance_rate_up_the_ladder() -> None:
    # ESS short with a few divergences (under the fit's threshold): a longer run at the next step of the ladder
    # replaces the draws (they may be biased where the step could not follow), it is not appended to them
    few = plan(_short(bulk=200, div=3), TARGETS, 1000, 1000, 1000, 0, target_accept=0.9)
    assert (few.draws, few.target_accept, few.appended) == (2500, 0.95, False)
    assert "3 divergent transitions" in few.reason
    # too divergent for the fit: rerun (at least 1.5 x) with a smaller step, which more draws alone would not give
    many = plan(_short(div=100), TARGETS, 1000, 1000, 1000, 0, target_accept=0.95)
    assert (many.draws, many.target_accept, many.appended) == (1500, 0.99, False)
    # at the top of the ladder a too-divergent run stops; without divergences the rate is kept and draws appended
    top = plan(_short(div=100), TARGETS, 1000, 1000, 1000, 0, target_accept=0.99)
    assert top.draws == 0 and "divergent" in top.reason
    clean = plan(_short(bulk=200), TARGETS, 1000, 1000, 1000, 0, target_accept=0.9)
    assert (clean.draws, clean.target_accept, clean.appended) == (1500, None, True)
    # near the cap: a raised-rate run takes what is left (3100 after 1000 + 3900), down to the configured draws
    late = plan(_short(tail=167, div=22), TARGETS, draws=3900, configured=1000, drawn=4900, round_=1, target_accept=0.95)
    assert (late.draws, late.target_accept) == (3100, 0.99)
    assert plan(_short(tail=167, div=22), TARGETS, draws=3900, configured=1000, drawn=7500, round_=1, target_accept=0.95).draws == 0
    # without divergences the same shortfall appends what the cap leaves (3100, over half of the 3900 held)
    appended = plan(_short(tail=167), TARGETS, draws=3900, configured=1000, drawn=4900, round_=1, target_accept=0.95)
    assert (appended.draws, appended.appended) == (3100, True)


def test_the_note_says_what_was_appended_and_what_was_replaced() -> None:
    appended, replacing = Plan(500, "short", appended=True), Plan(1500, "short", target_accept=0.95)
    text = note(_short(bulk=300), [(appended, 7, _short(div=2)), (replacing, 8, _short())], "targets met", 4, 1500, tune=1000)
    assert f"sampled 4 x 500 more draws (seed 7; chains started at draws of the last run, re-tuned for {APPEND_TUNE} steps)" in text
    assert "rerun with 4 x 1500 draws (seed 8, target_accept raised to 0.95 after divergences)" in text
    assert text.endswith("targets met; this fit reports 4 x 1500 draws")
    # a fit configured with fewer tuning steps than APPEND_TUNE re-tunes with its own, and says so
    short_tune = note(_short(bulk=300), [(appended, 7, _short())], "targets met", 2, 1500, tune=100)
    assert "re-tuned for 100 steps" in short_tune


def _chinchilla_spec(draws: int) -> dict:
    raw = resolve_spec("chinchilla").to_dict()
    return {**raw, "name": "chinchilla-short", "sampler": {**raw["sampler"], "draws": draws, "tune": 300, "chains": 2}}


@pytest.fixture(scope="module")
def short_fits(chinchilla_data: bl.ScalingData) -> tuple[bl.Fit, bl.Fit]:
    """A spec asking for 2 x 60 draws (too few for ESS 400), fitted without and with draws= in the call."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.ConvergenceWarning)
        default = bl.fit(chinchilla_data, _chinchilla_spec(60), random_seed=3)
        explicit = bl.fit(chinchilla_data, _chinchilla_spec(60), random_seed=3, draws=60)
    return default, explicit


def test_a_default_run_that_misses_ess_samples_more_keeps_its_draws_and_says_so(short_fits: tuple[bl.Fit, bl.Fit]) -> None:
    short, explicit = short_fits
    notes = [n for n in short.notes if n.startswith("run length:")]
    assert len(notes) == 1, short.notes
    added = [int(d) for d in re.findall(r"sampled 2 x (\d+) more draws", notes[0])]
    held = int(re.search(r"this fit reports 2 x (\d+) draws", notes[0]).group(1))
    assert added and held == 60 + sum(added)
    assert short.diagnostics.n_draws == 2 * held
    first = float(re.search(r"first run reached .*?min bulk ESS (\d+)", notes[0]).group(1))
    assert short.diagnostics.min_ess_bulk > first
    # draws given in the call: exactly that many, no longer run
    assert explicit.diagnostics.n_draws == 120
    assert not any(n.startswith("run length:") for n in explicit.notes)
    # the first run's draws are kept: the same seed's 2 x 60 draws open each chain of the longer fit
    np.testing.assert_array_equal(short.posterior["alpha"].isel(draw=slice(0, 60)).values, explicit.posterior["alpha"].values)


@pytest.mark.slow
def test_fine_tuning_fits_at_default_settings_converge_at_both_ends_of_the_budget() -> None:
    """Lin et al.'s Gigaword curves (residual scatter 5-10x apart between models) at budgets 1/16 and 1/512."""
    from bayeslaw.datasets import FINETUNE_FULL_BUDGET

    for ratio in (16, 512):
        data = bl.load_dataset("finetune", dataset="gigaword", max_examples=FINETUNE_FULL_BUDGET / ratio)
        fitted = bl.fit(data, "rectified_finetune")
        assert fitted.converged, (ratio, fitted.diagnostics.banner())
        notes = [n for n in fitted.notes if n.startswith("run length:")]
        assert all("targets met" in n for n in notes), notes


def test_a_run_with_divergences_is_rerun_with_a_smaller_step_and_converges() -> None:
    """Chinchilla's law on Kaplan-law runs (no loss floor): a curved E-alpha ridge where the first run diverges."""
    from bayeslaw.simulate import simulate

    truth = {"N_c": 8.8e13, "D_c": 5.4e13, "alpha_N": 0.076, "alpha_D": 0.095}
    sim = simulate("kaplan", truth, sigma=0.01, seed=1, sizes=tuple(np.geomspace(3e6, 3e9, 10)), tokens_per_param=(2.0, 10.0, 50.0, 250.0))
    frame = sim.data.frame
    compute = 6 * frame["N"] * frame["D"]
    train = bl.ScalingData.from_frame(frame[compute <= 0.1 * compute.max()])
    fitted = bl.fit(train, "chinchilla", random_seed=1)
    note = next(n for n in fitted.notes if n.startswith("run length:"))
    first = int(re.search(r"first run reached .*?, (\d+) divergent transitions", note).group(1))
    assert first > 0, note
    assert "target_accept raised to 0.95 after divergences" in note
    assert fitted.converged, fitted.diagnostics.banner()


def test_a_longer_run_is_reproducible_from_the_seed(chinchilla_data: bl.ScalingData, short_fits: tuple[bl.Fit, bl.Fit]) -> None:
    """The cap counts draws, not seconds: the same seed gives the same extended fit."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.ConvergenceWarning)
        again = bl.fit(chinchilla_data, _chinchilla_spec(60), random_seed=3)
    assert again.notes == short_fits[0].notes
    np.testing.assert_array_equal(again.posterior["alpha"].values, short_fits[0].posterior["alpha"].values)
