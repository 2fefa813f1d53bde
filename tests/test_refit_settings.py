"""Fit.refit carries the original fit's sampler settings, including whether its run length followed the targets."""

from __future__ import annotations

from types import SimpleNamespace

import arviz as az
import numpy as np
import pytest

from bayeslaw import results
from bayeslaw.fit import _sampler_settings

STORED = {"backend": "nutpie", "draws": 1000, "tune": 1000, "chains": 4, "target_accept": 0.9, "low_rank": True}


def _fitted(sampler: dict) -> SimpleNamespace:
    idata = az.from_dict(posterior={"x": np.zeros((1, 2))})
    results.set_attrs(idata, {"sampler": sampler})
    return SimpleNamespace(idata=idata)


def test_explicit_draws_are_kept():
    settings = _sampler_settings(_fitted({**STORED, "restart_stuck_chains": True, "robust_starts": True, "extend_to_targets": False}))
    assert settings == {**{k: v for k, v in STORED.items() if k != "low_rank"}, "restart_stuck_chains": True, "robust_starts": True}


def test_a_fit_that_extended_to_its_targets_refits_without_fixed_draws():
    settings = _sampler_settings(_fitted({**STORED, "extend_to_targets": True}))
    assert "draws" not in settings
    assert settings["tune"] == 1000


def test_unknown_stored_settings_are_an_error():
    with pytest.raises(ValueError, match="unknown sampler settings"):
        _sampler_settings(_fitted({**STORED, "warp": 9}))
