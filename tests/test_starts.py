"""Robust starting points (bayeslaw.starts): the best of several optima, jittered by its curvature."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import bayeslaw as bl
from bayeslaw import sampling
from bayeslaw.backends import get_backend
from bayeslaw.model_builder import build_model
from bayeslaw.spec import resolve_spec
from bayeslaw.starts import MAX_JITTER_SD, find_starts

#: Two modes: a narrow high one at (2, 2) and a broad lower one at (-2, -2) (10 nats below at its peak).
HIGH, LOW = np.array([2.0, 2.0]), np.array([-2.0, -2.0])


def _two_modes(x: np.ndarray) -> tuple[float, np.ndarray]:
    a = -0.5 * np.sum(((x - HIGH) / 0.1) ** 2)
    b = -10.0 - 0.5 * np.sum(((x - LOW) / 1.0) ** 2)
    m = max(a, b)
    wa, wb = np.exp(a - m), np.exp(b - m)
    grad = (wa * (-(x - HIGH) / 0.01) + wb * (-(x - LOW))) / (wa + wb)
    return float(m + np.log(wa + wb)), grad


def _initial(seed: int) -> np.ndarray:
    """Random initial points over both basins (as a sampler's jittered starts would be)."""
    return np.random.default_rng(seed).uniform(-3.5, 3.5, 2)


def test_starts_sit_around_the_best_optimum_with_its_own_spread() -> None:
    found = find_starts(_two_modes, _initial, seed=0, n_points=200, n_starts=12)
    assert found.best is not None and np.allclose(found.best, HIGH, atol=1e-3)
    assert len(found.optima) == 2 and found.optima[0] > found.optima[1]
    # jitter follows the high mode's curvature (sd 0.1), not a fixed width
    assert np.all(np.abs(found.points.mean(axis=0) - HIGH) < 0.05)
    assert np.all((found.points.std(axis=0) > 0.03) & (found.points.std(axis=0) <= MAX_JITTER_SD))
    assert "2 local optima" in found.note()


def test_no_converged_optimum_falls_back_and_says_so() -> None:
    def unbounded(x: np.ndarray) -> tuple[float, np.ndarray]:
        return float(np.sum(x)), np.ones_like(x)  # grows without bound: no optimum

    found = find_starts(unbounded, _initial, seed=0, n_points=4, n_starts=3)
    assert found.points is None and found.n_converged == 0
    assert "none of 3 optimisations" in found.note()


def test_starts_are_reproducible_from_the_seed() -> None:
    a = find_starts(_two_modes, _initial, seed=5, n_points=8, n_starts=6)
    b = find_starts(_two_modes, _initial, seed=5, n_points=8, n_starts=6)
    assert np.array_equal(a.points, b.points)


# --------------------------------------------------------------------------- through the backend protocol
SHORT = {"draws": 100, "tune": 200, "chains": 2}


def test_nutpie_exposes_its_compiled_log_density_and_gradient(chinchilla_data: bl.ScalingData) -> None:
    backend = get_backend("nutpie")
    prepared = backend.prepare(build_model(chinchilla_data, resolve_spec("chinchilla")).model)
    logp_grad = backend.logp_grad(prepared)
    x = backend.initial_point(prepared, 1)
    logp, grad = logp_grad(x)
    assert np.isfinite(logp) and grad.shape == x.shape
    step = 1e-6
    numeric = [(logp_grad(x + step * e)[0] - logp_grad(x - step * e)[0]) / (2 * step) for e in np.eye(x.size)]
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-4)
    assert get_backend("pymc").logp_grad(prepared) is None


def test_robust_starts_are_opt_in_and_reproducible(chinchilla_data: bl.ScalingData, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = sampling.starts.find_starts

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(sampling.starts, "find_starts", counted)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.ConvergenceWarning)
        bl.fit(chinchilla_data, random_seed=4, **SHORT)
        assert not calls  # off by default
        fits = [bl.fit(chinchilla_data, random_seed=4, robust_starts=True, **SHORT) for _ in range(2)]
    assert len(calls) == 2
    np.testing.assert_array_equal(fits[0].posterior["alpha"].values, fits[1].posterior["alpha"].values)
    assert np.all(np.abs(fits[0].posterior["alpha"].median("draw").values - 0.35) < 0.05)


def test_robust_starts_in_a_spec_must_be_a_boolean(chinchilla_data: bl.ScalingData) -> None:
    raw = resolve_spec("chinchilla").to_dict()
    with pytest.raises(ValueError, match="robust_starts must be true or false, got 'yes'"):
        bl.fit(chinchilla_data, {**raw, "sampler": {**raw["sampler"], "robust_starts": "yes"}})
