"""Run length by target (bayeslaw.run_length): when to sample longer, how much, and the fit that does it."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import bayeslaw as bl
from bayeslaw.run_length import MAX_EXTENSIONS, MAX_FACTOR, Shortfall, Targets, plan
from bayeslaw.spec import resolve_spec

TARGETS = Targets(rhat_max=1.01, ess_bulk_min=400, ess_tail_min=400, divergence_fraction_max=0.005, max_draws_factor=8)


def _short(rhat: float = 1.0, bulk: float = 1000, tail: float = 1000, div: int = 0) -> Shortfall:
    return Shortfall(max_rhat=rhat, min_ess_bulk=bulk, min_ess_tail=tail, n_divergent=div, n_draws=4000)


def test_targets_met_need_no_longer_run() -> None:
    step = plan(_short(), TARGETS, draws=1000, configured=1000, drawn=1000, round_=0)
    assert step.draws == 0 and step.reason == "targets met"


def test_ess_short_asks_for_draws_in_proportion_with_a_margin() -> None:
    # bulk ESS 200 of 400: twice the draws, times the 1.25 margin -> 2500
    assert plan(_short(bulk=200), TARGETS, 1000, 1000, 1000, 0).draws == 2500
    # a small shortfall still grows the run by at least 1.5x; a huge one by at most 4x
    assert plan(_short(tail=390), TARGETS, 1000, 1000, 1000, 0).draws == 1500
    assert plan(_short(bulk=20), TARGETS, 1000, 1000, 1000, 0).draws == int(1000 * MAX_FACTOR)


def test_rhat_over_its_threshold_doubles_the_run() -> None:
    assert plan(_short(rhat=1.02), TARGETS, 1000, 1000, 1000, 0).draws == 2000


def test_divergences_the_cap_and_the_round_limit_stop_it() -> None:
    diverging = plan(_short(bulk=200, div=100), TARGETS, 1000, 1000, 1000, 0)
    assert diverging.draws == 0 and "divergent" in diverging.reason
    # after 1000 + 4000 draws, 6000 more (1.5 x 4000) would pass 8 x 1000; the 3000 left are under 1.5 x 4000
    capped = plan(_short(tail=390), TARGETS, draws=4000, configured=1000, drawn=5000, round_=1)
    assert capped.draws == 0 and "cap of 8000 draws per chain" in capped.reason
    # a run that would pass the cap is shortened to what is left when that is still 1.5 x the last run
    shortened = plan(_short(bulk=100), TARGETS, draws=1500, configured=1000, drawn=2500, round_=1)
    assert shortened.draws == 5500
    assert plan(_short(bulk=200), TARGETS, 1000, 1000, 1000, MAX_EXTENSIONS).draws == 0


def test_divergences_raise_the_target_acceptance_rate_up_the_ladder() -> None:
    # ESS short with a few divergences (under the fit's threshold): longer, at the next step of the ladder
    few = plan(_short(bulk=200, div=3), TARGETS, 1000, 1000, 1000, 0, target_accept=0.9)
    assert (few.draws, few.target_accept) == (2500, 0.95)
    assert "3 divergent transitions" in few.reason
    # too divergent for the fit: rerun (at least 1.5 x) with a smaller step, which more draws alone would not give
    many = plan(_short(div=100), TARGETS, 1000, 1000, 1000, 0, target_accept=0.95)
    assert (many.draws, many.target_accept) == (1500, 0.99)
    # at the top of the ladder a too-divergent run stops; without divergences the rate is kept
    top = plan(_short(div=100), TARGETS, 1000, 1000, 1000, 0, target_accept=0.99)
    assert top.draws == 0 and "divergent" in top.reason
    clean = plan(_short(bulk=200), TARGETS, 1000, 1000, 1000, 0, target_accept=0.9)
    assert clean.draws == 2500 and clean.target_accept is None
    # near the cap: a raised-rate run takes what is left (3100 after 1000 + 3900), down to the configured draws
    late = plan(_short(tail=167, div=22), TARGETS, draws=3900, configured=1000, drawn=4900, round_=1, target_accept=0.95)
    assert (late.draws, late.target_accept) == (3100, 0.99)
    assert plan(_short(tail=167, div=22), TARGETS, draws=3900, configured=1000, drawn=7500, round_=1, target_accept=0.95).draws == 0
    assert plan(_short(tail=167), TARGETS, draws=3900, configured=1000, drawn=4900, round_=1, target_accept=0.95).draws == 0


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


def test_a_default_run_that_misses_ess_is_rerun_longer_and_says_so(short_fits: tuple[bl.Fit, bl.Fit]) -> None:
    short, explicit = short_fits
    notes = [n for n in short.notes if n.startswith("run length:")]
    assert len(notes) == 1, short.notes
    ran = [int(d) for d in re.findall(r"2 x (\d+) draws", notes[0])]
    assert ran and all(d > 60 for d in ran)
    assert short.diagnostics.n_draws == 2 * ran[-1]
    first = float(re.search(r"first run reached .*?min bulk ESS (\d+)", notes[0]).group(1))
    assert short.diagnostics.min_ess_bulk > first
    # draws given in the call: exactly that many, no longer run
    assert explicit.diagnostics.n_draws == 120
    assert not any(n.startswith("run length:") for n in explicit.notes)


@pytest.mark.slow
def test_a_fine_tuning_fit_at_default_settings_converges_by_sampling_longer() -> None:
    """Lin et al.'s FLAN curves at budget 1/512: the first 4 x 1000 draws reach bulk ESS ~190 (r_hat 1.03)."""
    from bayeslaw.datasets import FINETUNE_FULL_BUDGET

    data = bl.load_dataset("finetune", dataset="flan", max_examples=FINETUNE_FULL_BUDGET / 512)
    fitted = bl.fit(data, "rectified_finetune")
    assert fitted.converged, fitted.diagnostics.banner()
    note = next(n for n in fitted.notes if n.startswith("run length:"))
    assert "targets met" in note


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
