"""Shared fixtures: the shipped Chinchilla data and a few short real fits, each sampled once per session.

Every distinct fit costs a Numba compilation (~5-10 s), so tests share these
fits instead of sampling their own. The short fit is converged at the seed
used here (checked in ``test_fit.py``); the tiny fit is deliberately not.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import bayeslaw as bl
from bayeslaw.datasets import load_dataset
from bayeslaw.diagnostics import ConvergenceWarning

#: Seed of the shared fits.
FIT_SEED = 1
#: Settings of the shared short fit on the 240 Chinchilla points (converges at FIT_SEED).
SHORT_FIT = {"draws": 800, "tune": 600, "chains": 2}
#: Settings of the deliberately non-converged fit.
TINY_FIT = {"draws": 20, "tune": 5, "chains": 2}

#: Epoch AI's (Besiroglu et al. 2024) replication of Chinchilla Approach 3, paper form.
EPOCH_PARAMS = {"E": 1.8172, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658}


@pytest.fixture(scope="session")
def chinchilla_data() -> bl.ScalingData:
    """The 240 Chinchilla runs Epoch AI fits (top 5 losses excluded)."""
    return load_dataset("chinchilla", exclude_top5=True)


@pytest.fixture(scope="session")
def chinchilla_fit(chinchilla_data: bl.ScalingData) -> bl.Fit:
    """One short, converged fit of the default model, shared by every test that needs a real posterior."""
    return bl.fit(chinchilla_data, random_seed=FIT_SEED, **SHORT_FIT)


@pytest.fixture(scope="session")
def tiny_fits(chinchilla_data: bl.ScalingData) -> tuple[bl.Fit, bl.Fit, list[warnings.WarningMessage]]:
    """Two deliberately non-converged fits with the same seed, plus the warnings the first one raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = bl.fit(chinchilla_data, random_seed=FIT_SEED, **TINY_FIT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        second = bl.fit(chinchilla_data, random_seed=FIT_SEED, **TINY_FIT)
    return first, second, list(caught)


@pytest.fixture
def small_frame() -> pd.DataFrame:
    """Six valid runs with row labels r0..r5 and columns N, D, C, loss."""
    n = [1e8, 2e8, 4e8, 8e8, 1.6e9, 3.2e9]
    d = [2e9, 4e9, 8e9, 1.6e10, 3.2e10, 6.4e10]
    frame = pd.DataFrame({"N": n, "D": d, "loss": [3.5, 3.2, 2.9, 2.7, 2.5, 2.4]}, index=[f"r{i}" for i in range(6)])
    frame["C"] = 6.0 * frame["N"] * frame["D"]
    return frame
