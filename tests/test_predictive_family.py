"""Predictive densities follow each draw's likelihood family (Student-t, Normal, logistic), also in mixtures."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest
from scipy import special, stats

from bayeslaw.families import get_family
from bayeslaw.predictive import Predictive, mixture

N_DRAWS, N_POINTS = 300, 4


def _forecast(rng: np.random.Generator, family: str | None, df: float) -> Predictive:
    loc = rng.normal(np.log(2.0), 0.01, size=(N_DRAWS, N_POINTS))
    scale = rng.uniform(0.01, 0.03, size=(N_DRAWS, 1))
    names = None if family is None else np.full((N_DRAWS, 1), family)
    return Predictive(mean=np.exp(loc), observation=np.exp(loc), loc=loc, scale=scale, df=np.full((N_DRAWS, 1), df), family=names)


def test_logistic_family_density_matches_pymc_and_its_draws_have_the_logistic_spread() -> None:
    family = get_family("logistic")
    y, mu, s = np.array([0.1, 0.35, -0.2]), 0.05, 0.08
    expected = pm.logp(pm.Logistic.dist(mu=mu, s=s), y).eval()
    np.testing.assert_allclose(family.logpdf(y, mu, {"sigma": s}), expected, rtol=1e-10)
    draws = family.sample(np.random.default_rng(0), np.zeros(200_000), {"sigma": s})
    assert np.std(draws) == pytest.approx(s * np.pi / np.sqrt(3), rel=0.02)


def test_a_logistic_forecast_is_scored_with_the_logistic_density() -> None:
    pred = _forecast(np.random.default_rng(1), "logistic", np.inf)
    y = np.array([1.98, 2.0, 2.05, 2.3])
    expected = special.logsumexp(stats.logistic.logpdf(np.log(y), pred.loc, pred.scale), axis=0) - np.log(N_DRAWS)
    np.testing.assert_allclose(pred.log_density(y), expected)
    normal = Predictive(pred.mean, pred.observation, pred.loc, pred.scale, pred.df)
    assert not np.allclose(normal.log_density(y), expected)  # the Normal rule (df = inf) would score it differently


def test_a_mixture_keeps_each_draws_own_family() -> None:
    rng = np.random.default_rng(2)
    student, logistic = _forecast(rng, None, 3.0), _forecast(rng, "logistic", np.inf)
    mixed = mixture([student, logistic], [0.5, 0.5], 400, seed=3)
    names = np.broadcast_to(mixed.family_names(), mixed.loc.shape)
    assert set(np.unique(names)) == {"studentt", "logistic"}
    y = np.array([1.9, 2.0, 2.1, 2.6])
    log_y = np.log(y)[None, :]
    t = names == "studentt"
    by_hand = np.where(
        t,
        stats.t.logpdf(log_y, np.broadcast_to(mixed.df, mixed.loc.shape), mixed.loc, np.broadcast_to(mixed.scale, mixed.loc.shape)),
        stats.logistic.logpdf(log_y, mixed.loc, np.broadcast_to(mixed.scale, mixed.loc.shape)),
    )
    np.testing.assert_allclose(mixed.pointwise_log_density(y), by_hand)
