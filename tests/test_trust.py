"""Trust signals on fits and forecasts."""

from __future__ import annotations

import numpy as np

from bayeslaw.trust import EXTRAPOLATION_MAX, fit_signals, forecast_signals


def test_chinchilla_fit_flags_heavy_tails(chinchilla_fit):
    nu = float(np.median(chinchilla_fit.posterior["nu"].values))
    lines = fit_signals(chinchilla_fit)
    assert any("nu" in line and line.startswith("WARNING") for line in lines) == (nu < 2.0)


def test_unconverged_fit_is_flagged(tiny_fits):
    first, _, _ = tiny_fits
    assert fit_signals(first)[0].startswith("WARNING")


def test_forecast_far_beyond_training_compute_is_flagged(chinchilla_fit):
    data = chinchilla_fit.data
    n, d = data.values("N"), data.values("D")
    top = int(np.argmax(n * d))
    assert forecast_signals(chinchilla_fit, {"N": n[top], "D": d[top]}) == []
    far = forecast_signals(chinchilla_fit, {"N": n[top] * 10, "D": d[top] * 10})
    assert len(far) == 1 and f"{EXTRAPOLATION_MAX:g}x" in far[0]
