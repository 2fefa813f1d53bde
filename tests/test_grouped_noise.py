"""A likelihood parameter that varies by group: a noise scale ``sigma`` per skill.

Some groups of runs are measured more noisily than others (a noisier evaluation
set, a less stable architecture). One shared ``sigma`` then fits the quiet groups
badly, and a Student-t likelihood pays for it with heavy tails. A spec can pool
``sigma`` over a group axis like a law parameter: ``sigma = { skill = "independent" }``
with a LogNormal population prior.
"""

from __future__ import annotations

import numpy as np
import pytest

import bayeslaw as bl
from bayeslaw.simulate import SimulatedData, simulate
from bayeslaw.spec import ModelSpec, SpecError

TRUE_SIGMA = {"quiet": 0.004, "noisy": 0.04}
SPEC = {
    "name": "noise_by_skill",
    "law": "chinchilla",
    "likelihood": {"family": "normal", "priors": {"sigma": {"dist": "LogNormal", "mu": -4.0, "sigma": 1.5}}},
    "pooling": {"E": {"skill": "independent"}, "sigma": {"skill": "independent"}},
}

#: The same law with one noise scale for every skill.
SHARED_NOISE_SPEC = {**SPEC, "name": "shared_noise", "likelihood": {"family": "normal"}, "pooling": {"E": {"skill": "independent"}}}


@pytest.fixture(scope="module")
def sim() -> SimulatedData:
    params = {"E": {"quiet": 1.8, "noisy": 2.2}, "A": 400.0, "B": 2000.0, "alpha": 0.34, "beta": 0.36}
    return simulate(
        "chinchilla",
        params,
        sizes=np.geomspace(1e7, 3e9, 6),
        tokens_per_param=(5.0, 20.0, 80.0),
        skills=("quiet", "noisy"),
        sigma=TRUE_SIGMA,
        seed=4,
    )


@pytest.fixture(scope="module")
def fitted(sim) -> bl.Fit:
    return bl.fit(sim.data, SPEC, draws=1000, tune=1000, chains=2, random_seed=5)


def test_spec_refuses_a_pooled_likelihood_parameter_without_a_lognormal_prior() -> None:
    raw = {**SPEC, "likelihood": {"family": "normal"}}
    with pytest.raises(SpecError, match=r"sigma varies by group.*LogNormal.*HalfNormal"):
        ModelSpec.from_dict(raw)


def test_spec_names_law_and_family_parameters_for_an_unknown_pooling_key() -> None:
    raw = {**SPEC, "pooling": {"tau": {"skill": "partial"}}}
    with pytest.raises(SpecError, match=r"'tau' is not a parameter of law 'chinchilla'.*nor of family 'normal'.*sigma"):
        ModelSpec.from_dict(raw)


def test_each_group_gets_its_own_noise_scale(fitted, sim) -> None:
    assert fitted.converged, fitted.diagnostics.banner()
    sigma = fitted.posterior["sigma"]
    assert sigma.dims == ("chain", "draw", "skill")
    for skill, truth in TRUE_SIGMA.items():
        lo, hi = np.quantile(sigma.sel(skill=skill).values, [0.05, 0.95])
        assert lo < truth < hi, (skill, lo, hi)
    ratio = (sigma.sel(skill="noisy") / sigma.sel(skill="quiet")).values
    assert np.quantile(ratio, 0.05) > 3.0  # a tenfold difference is resolved


def test_predictive_bands_follow_each_groups_noise(fitted) -> None:
    table = fitted.predict(params=[1e8, 1e8], tokens=[2e9, 2e9], skill=["quiet", "noisy"])
    noise_width = (table["observation_upper"] - table["observation_lower"]) - (table["mean_upper"] - table["mean_lower"])
    assert noise_width.iloc[1] > 3 * noise_width.iloc[0]


def test_new_points_need_the_group_whose_noise_they_share(fitted) -> None:
    with pytest.raises(ValueError, match=r"differs by skill"):
        fitted.predict(params=1e8, tokens=2e9)


def test_pointwise_log_likelihood_uses_each_rows_group(fitted, sim) -> None:
    from bayeslaw.pointwise import log_likelihood

    ll = log_likelihood(fitted.posterior, sim.data, fitted.law, fitted.family, fitted.refs)
    assert ll.shape[-1] == len(sim.data)
    skills = sim.data.frame["skill"].to_numpy()
    # A quiet row is fitted to a narrow density: its log density per row is higher than a noisy row's.
    assert float(ll.values[..., skills == "quiet"].mean()) > float(ll.values[..., skills == "noisy"].mean()) + 1.5


def test_a_partially_pooled_noise_scale_has_a_population_and_a_spread(sim) -> None:
    from bayeslaw.model_builder import build_model, pooling_forms
    from bayeslaw.spec import resolve_spec

    spec = resolve_spec({**SPEC, "pooling": {"sigma": {"skill": "partial"}}, "pooling_scale": {"sigma": 0.7}})
    built = build_model(sim.data, spec)
    names = set(built.model.named_vars)
    assert {"log_sigma_base", "log_sigma_skill_sd", "log_sigma_skill_z", "sigma"} <= names
    assert built.param_dims["sigma"] == ("skill",)
    assert ("sigma", "skill", "partial") in pooling_forms(sim.data, spec)
    # the spread's prior is the spec's pooling scale for sigma
    sd = built.model["log_sigma_skill_sd"]
    assert float(sd.owner.inputs[-1].eval()) == pytest.approx(0.7)


def test_one_shared_noise_scale_over_groups_that_scatter_differently_is_flagged(sim) -> None:
    from bayeslaw.trust import fit_signals

    one_sigma = bl.fit(sim.data, SHARED_NOISE_SPEC, random_seed=5)
    assert one_sigma.converged, one_sigma.diagnostics.banner()
    flagged = [line for line in fit_signals(one_sigma) if "residual scatter differs between skill groups" in line]
    assert len(flagged) == 1, fit_signals(one_sigma)
    assert "noisiest noisy" in flagged[0]


def test_a_noise_scale_per_group_is_not_flagged(fitted) -> None:
    from bayeslaw.trust import fit_signals

    assert not [line for line in fit_signals(fitted) if "residual scatter" in line]


def test_groups_with_equal_noise_are_not_flagged() -> None:
    from bayeslaw.trust import fit_signals

    params = {"E": {"a": 1.8, "b": 2.2}, "A": 400.0, "B": 2000.0, "alpha": 0.34, "beta": 0.36}
    equal = simulate(
        "chinchilla", params, sizes=np.geomspace(1e7, 3e9, 6), tokens_per_param=(5.0, 20.0, 80.0), skills=("a", "b"), sigma=0.02, seed=4
    )
    one_sigma = bl.fit(equal.data, SHARED_NOISE_SPEC, random_seed=5)
    assert one_sigma.converged, one_sigma.diagnostics.banner()
    assert not [line for line in fit_signals(one_sigma) if "residual scatter" in line], fit_signals(one_sigma)
