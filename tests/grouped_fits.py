"""Grouped synthetic data and hierarchical fits shared by the hierarchical, compare and PPC tests.

Each fit costs a Numba compilation, so every fit here is computed once per test
session (``functools.cache``) and reused by all test modules that import it.
The data: 3 skills x 3 datamixes, known population and group parameters drawn
with :func:`bayeslaw.simulate.draw_group_params` (additive offsets on the log
scale, as the hierarchical model assumes); skill ``s3`` has only a few runs.
"""

from __future__ import annotations

import warnings
from functools import cache

import numpy as np

import bayeslaw as bl
from bayeslaw.simulate import SimulatedData, draw_group_params, simulate

SKILLS = ("s1", "s2", "s3")
DATAMIXES = ("m1", "m2", "m3")
#: The skill with few runs (per datamix), to show partial pooling at work.
SPARSE_SKILL = "s3"
SPARSE_RUNS = 5
#: Population values in paper form (Chinchilla-like) and group spreads on the log scale.
POPULATION = {"E": 1.8, "A": 400.0, "B": 2000.0, "alpha": 0.34, "beta": 0.36}
SPREADS = {"E": {"skill": 0.25, "datamix": 0.1}, "A": {"skill": 0.3, "datamix": 0.15}, "B": {"skill": 0.3, "datamix": 0.15}}
#: Skill-specific exponents (for the comparison in the other direction).
SKILL_ALPHA = {"s1": 0.26, "s2": 0.34, "s3": 0.44}
SKILL_BETA = {"s1": 0.42, "s2": 0.36, "s3": 0.30}
SIZES = tuple(np.geomspace(1e7, 3e9, 6))
TOKENS_PER_PARAM = (5.0, 20.0, 80.0)
SIGMA = 0.01
DATA_SEED = 3
#: Sampler settings of the suite's fits (short; target_accept 0.95 removes the odd divergence of centred offsets; 1500 draws,
#: as the max r_hat of 2 chains x 1000 draws over ~60 parameters is noisy near the 1.01 threshold).
FIT = {"draws": 1500, "tune": 700, "chains": 2, "target_accept": 0.95}
FIT_SEED = 3


def largest_compute(sim: SimulatedData) -> float:
    """Largest 6ND among the simulated runs."""
    return float(sim.data.values("C").max())


def _group_params() -> dict:
    """Population and group parameters drawn with the suite's data seed."""
    return draw_group_params(POPULATION, SPREADS, skills=SKILLS, datamixes=DATAMIXES, seed=DATA_SEED)


def _simulate(params: dict, runs: dict[str, int] | None = None) -> SimulatedData:
    """Simulate the suite's 3 x 3 design from ``params`` (``runs``: fewer runs for some skills)."""
    return simulate(
        "chinchilla",
        params,
        sizes=SIZES,
        tokens_per_param=TOKENS_PER_PARAM,
        skills=SKILLS,
        datamixes=DATAMIXES,
        runs=runs,
        sigma=SIGMA,
        seed=DATA_SEED,
    )


@cache
def shared_exponent_data() -> SimulatedData:
    """Truth: exponents shared by every skill and datamix; E, A, B vary by skill and datamix."""
    return _simulate(_group_params(), runs={SPARSE_SKILL: SPARSE_RUNS})


@cache
def skill_exponent_data() -> SimulatedData:
    """Truth: each skill has its own exponents (otherwise as :func:`shared_exponent_data`, all skills fully observed)."""
    params = _group_params()
    params["alpha"], params["beta"] = dict(SKILL_ALPHA), dict(SKILL_BETA)
    return _simulate(params)


def _fit(data: bl.ScalingData, model: str) -> bl.Fit:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.ConvergenceWarning)  # convergence is asserted explicitly by the tests
        return bl.fit(data, model, random_seed=FIT_SEED, **FIT)


@cache
def fit_of(data_name: str, model: str) -> bl.Fit:
    """The fit of ``model`` to ``"shared"`` or ``"skill"`` exponent data (computed once per session)."""
    sim = {"shared": shared_exponent_data, "skill": skill_exponent_data}[data_name]()
    return _fit(sim.data, model)
