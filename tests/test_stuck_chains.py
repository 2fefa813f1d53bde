"""Chains stuck far below the others in log density: detection, and the one rerun fit() makes."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import bayeslaw as bl
from bayeslaw import sampling
from bayeslaw.constants import RESTART_SEED_OFFSET, STUCK_CHAIN_MIN_GAP
from bayeslaw.diagnostics import StuckChains, stuck_chains

pytestmark = pytest.mark.filterwarnings("ignore::bayeslaw.diagnostics.ConvergenceWarning")  # short fits, mechanics only

SEED = 5
#: Short real fits (2 chains): the restart mechanics, not the posterior, are under test.
SHORT = {"draws": 200, "tune": 300, "chains": 2}


def _log_density(shifts: list[float], sd: float = 3.0) -> xr.DataArray:
    rng = np.random.default_rng(0)
    values = 100.0 + sd * rng.standard_normal((len(shifts), 500)) + np.asarray(shifts)[:, None]
    return xr.DataArray(values, dims=("chain", "draw"))


def test_a_chain_far_below_the_others_is_stuck() -> None:
    found = stuck_chains(_log_density([0.0, -90.0, 0.0, 0.5]))
    assert found.chains == (1,)
    assert "chain 1 9" in found.description and "best chain (3)" in found.description


def test_chains_within_noise_or_under_the_gap_are_not_stuck() -> None:
    assert stuck_chains(_log_density([0.0, -2.0, 1.0, 0.0])).chains == ()
    # 15 nats is over 5 within-chain sds (sd 1) but under the minimum gap
    assert STUCK_CHAIN_MIN_GAP > 15
    assert stuck_chains(_log_density([0.0, -15.0], sd=1.0)).chains == ()
    # 40 nats is over the minimum gap but under 5 within-chain sds (sd 10)
    assert stuck_chains(_log_density([0.0, -40.0], sd=10.0)).chains == ()


def _force_first_run_stuck(monkeypatch: pytest.MonkeyPatch) -> list[StuckChains]:
    """Make the first check report chain 0 as stuck; later checks are real. Returns the real results seen."""
    calls: list[StuckChains] = []
    real = sampling.stuck_chains

    def fake(log_density: xr.DataArray) -> StuckChains:
        if not calls:
            calls.append(StuckChains((0,), "forced by the test"))
            return calls[0]
        calls.append(real(log_density))
        return calls[-1]

    monkeypatch.setattr(sampling, "stuck_chains", fake)
    return calls


@pytest.mark.parametrize("backend", ["nutpie", "pymc"])
def test_a_stuck_chain_reruns_only_itself_once_and_says_so(
    chinchilla_data: bl.ScalingData, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    calls = _force_first_run_stuck(monkeypatch)
    fitted = bl.fit(chinchilla_data, random_seed=SEED, backend=backend, **SHORT)
    assert len(calls) == 2  # the first run, then the rerun (checked, not rerun again)
    notes = [n for n in fitted.notes if "rerun once" in n]
    assert len(notes) == 1 and f"seed {SEED + RESTART_SEED_OFFSET}" in notes[0] and "forced by the test" in notes[0]
    # the rerun started at draws of chain 1: both chains are in the posterior, next to each other
    alpha = fitted.posterior["alpha"].median("draw").values
    assert np.all(np.abs(alpha - 0.35) < 0.05), alpha
    assert "unconstrained_draw" not in bl.results.sample_stats(fitted.idata)
    assert "Those 1 chain(s) were rerun" in notes[0] and "chains [1], whose draws are kept" in notes[0]


def test_the_good_chains_keep_their_draws(chinchilla_data: bl.ScalingData, monkeypatch: pytest.MonkeyPatch) -> None:
    first = bl.fit(chinchilla_data, random_seed=SEED, restart_stuck_chains=False, **SHORT)  # the first run, never rerun
    _force_first_run_stuck(monkeypatch)
    rerun = bl.fit(chinchilla_data, random_seed=SEED, **SHORT)
    for name in ("alpha", "E", "sigma"):
        kept, old = rerun.posterior[name].sel(chain=1).values, first.posterior[name].sel(chain=1).values
        np.testing.assert_array_equal(kept, old)  # chain 1 was good: its draws are the first run's
        assert not np.array_equal(rerun.posterior[name].sel(chain=0).values, first.posterior[name].sel(chain=0).values)
    assert list(rerun.posterior["chain"].values) == [0, 1]
    stats = bl.results.sample_stats(rerun.idata)
    np.testing.assert_array_equal(stats["logp"].sel(chain=1).values, bl.results.sample_stats(first.idata)["logp"].sel(chain=1).values)


def test_the_rerun_is_reproducible(chinchilla_data: bl.ScalingData, monkeypatch: pytest.MonkeyPatch) -> None:
    draws = []
    for _ in range(2):
        _force_first_run_stuck(monkeypatch)
        draws.append(bl.fit(chinchilla_data, random_seed=SEED, **SHORT).posterior["alpha"].values)
    np.testing.assert_array_equal(draws[0], draws[1])


def test_restart_can_be_turned_off(chinchilla_data: bl.ScalingData, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _force_first_run_stuck(monkeypatch)
    fitted = bl.fit(chinchilla_data, random_seed=SEED, restart_stuck_chains=False, **SHORT)
    assert len(calls) == 1
    assert any("not rerun (restart_stuck_chains=False)" in n for n in fitted.notes), fitted.notes
    unforced = bl.fit(chinchilla_data, random_seed=SEED, restart_stuck_chains=False, **SHORT)
    np.testing.assert_array_equal(fitted.posterior["alpha"].values, unforced.posterior["alpha"].values)


def _run(alpha_shifts: list[float], density_shifts: list[float]) -> bl.results.Results:
    """A fake run: alpha per chain (unit within-chain sd x 0.02, shifted) and a log density per chain."""
    rng = np.random.default_rng(3)
    alpha = 0.3 + 0.02 * (rng.standard_normal((len(alpha_shifts), 500)) + np.asarray(alpha_shifts)[:, None])
    posterior = xr.Dataset({"alpha": (("chain", "draw"), alpha)})
    stats = xr.Dataset({"logp": _log_density(density_shifts)})
    return bl.results.from_datasets({"posterior": posterior, "sample_stats": stats})


def test_chains_in_a_second_lower_mode_are_found_with_a_chain_far_below() -> None:
    # chain 1 is 25 nats below the best (stuck by log density); chains 0 and 2 sit 15 nats below in another
    # mode (under the stuck-chain gap): all three are rerun in one round, from chain 3
    found = sampling._stuck(_run([8, 16, 8, 0], [-15, -25, -15, 0]))
    assert found.chains == (0, 1, 2)
    assert "chain 1 2" in found.description and "chains (0, 2) sample away from chains (3,)" in found.description


def test_a_chain_far_below_alone_is_reported_as_before() -> None:
    found = sampling._stuck(_run([0, 16, 0, 0], [0, -90, 0, 0]))
    assert found.chains == (1,)
    assert "sample away" not in found.description
