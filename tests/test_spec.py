"""Model specs: resolution, priors that really reach the PyMC model, and clear errors."""

from __future__ import annotations

import tomllib

import numpy as np
import pymc as pm
import pytest
from scipy import stats

from bayeslaw.families import get_family
from bayeslaw.laws import get_law
from bayeslaw.model_builder import build_model
from bayeslaw.priors import Prior, PriorError
from bayeslaw.sampling import SamplerConfig
from bayeslaw.simulate import simulate
from bayeslaw.spec import DEFAULT_POOLING_SCALE, ModelSpec, SpecError, available_specs, resolve_spec

TRUE = {"E": 1.8, "A": 480.0, "B": 2000.0, "alpha": 0.34, "beta": 0.36}

USER_TOML = """
name = "mine"
law = "chinchilla"
description = "tighter alpha"

[likelihood]
family = "normal"
priors = { sigma = { dist = "HalfNormal", sigma = 0.5 } }

[priors]
alpha = { dist = "LogNormal", mu = -2.0, sigma = 0.1 }

[pooling]
E = { skill = "partial" }
alpha = { skill = "independent" }

[pooling_scale]
default = 0.3
E = 0.2

[sampler]
draws = 10
chains = 1
"""


@pytest.fixture(scope="module")
def plain_data():
    return simulate("chinchilla", TRUE, seed=0).data


@pytest.fixture(scope="module")
def skill_data():
    return simulate("chinchilla", {**TRUE, "E": {"code": 1.2, "web": 1.9, "math": 1.5}}, skills=["code", "web", "math"], seed=0).data


def _logp(model: pm.Model, name: str, value: float | np.ndarray) -> float:
    return float(np.sum(pm.logp(model[name], value).eval()))


# ---------------------------------------------------------------- defaults live in the law
@pytest.mark.parametrize("name", sorted(available_specs()))
def test_shipped_spec_holds_only_overrides_of_the_defaults(name):
    """A spec's effective priors are the law's (and family's) defaults merged with its overrides, and it overrides
    nothing with a copy of the default: default priors are written once, in the law class."""
    spec = resolve_spec(name)
    law = get_law(spec.law)
    family = get_family(spec.family)
    defaults = {k: par.prior for k, par in law.parameters.items()} | dict(family.params)
    overrides = {**spec.priors, **spec.likelihood_priors}
    assert spec.effective_priors() == defaults | overrides
    assert all(prior != defaults[k] for k, prior in overrides.items()), overrides
    assert all(value != getattr(SamplerConfig(), key) for key, value in spec.sampler.items()), spec.sampler
    assert spec.pooling_scale.get("default", DEFAULT_POOLING_SCALE + 1) != DEFAULT_POOLING_SCALE
    raw = tomllib.loads(available_specs()[name].read_text())
    assert raw.get("likelihood", {}).get("family", "") != law.default_family


def test_effective_priors_merge_overrides_with_law_defaults():
    spec = ModelSpec.from_dict(tomllib.loads(USER_TOML))
    effective = spec.effective_priors()
    assert effective["alpha"] == Prior("LogNormal", {"mu": -2.0, "sigma": 0.1})  # the spec's
    assert effective["beta"] == get_law("chinchilla").parameters["beta"].prior  # the law's
    assert effective["sigma"] == Prior("HalfNormal", {"sigma": 0.5})  # the spec's likelihood prior
    assert set(effective) == {"E", "a_ref", "b_ref", "alpha", "beta", "sigma"}  # normal: no nu


# ---------------------------------------------------------------- resolution
def test_resolve_by_name():
    spec = resolve_spec("chinchilla")
    assert spec.name == "chinchilla" and spec.law == "chinchilla" and spec.family == "studentt"
    assert spec.source.endswith("chinchilla.toml")
    assert "chinchilla" in available_specs()
    assert spec.sampler == {} and SamplerConfig(**spec.sampler).target_accept == 0.9  # bayeslaw's defaults


def test_resolve_by_path_dict_and_spec(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(USER_TOML)
    spec = resolve_spec(path)
    assert spec.name == "mine" and spec.source == str(path)
    assert resolve_spec(str(path)) == spec
    assert spec.family == "normal"
    assert spec.prior("alpha") == Prior("LogNormal", {"mu": -2.0, "sigma": 0.1})
    assert spec.prior("beta") == Prior("LogNormal", {"mu": -1.2, "sigma": 0.5})  # the law's default
    assert spec.family_prior("sigma") == Prior("HalfNormal", {"sigma": 0.5})
    assert spec.pooling_of("E") == {"skill": "partial"} and spec.pooling_of("beta") == {}
    assert spec.scale_of("E") == 0.2 and spec.scale_of("alpha") == 0.3
    assert spec.sampler == {"draws": 10, "chains": 1}
    assert resolve_spec(spec) is spec
    as_dict = resolve_spec(spec.to_dict())
    assert as_dict.to_dict() == spec.to_dict()
    assert ModelSpec.from_json(spec.to_json()) == spec


def test_shared_pooling_is_dropped():
    spec = resolve_spec({"name": "x", "law": "chinchilla", "pooling": {"E": {"skill": "shared", "datamix": "partial"}}})
    assert spec.pooling_of("E") == {"datamix": "partial"}


# ---------------------------------------------------------------- priors reach the model
def test_spec_priors_override_law_defaults_in_the_built_model(plain_data, tmp_path):
    default = build_model(plain_data, resolve_spec("chinchilla")).model
    path = tmp_path / "mine.toml"
    path.write_text(USER_TOML.split("[pooling]")[0])
    custom = build_model(plain_data, resolve_spec(path)).model
    value = 0.15
    expected_custom = stats.lognorm(s=0.1, scale=np.exp(-2.0)).logpdf(value)
    expected_default = stats.lognorm(s=0.5, scale=np.exp(-1.2)).logpdf(value)
    assert _logp(custom, "alpha", value) == pytest.approx(expected_custom, rel=1e-6)
    assert _logp(default, "alpha", value) == pytest.approx(expected_default, rel=1e-6)
    assert _logp(custom, "beta", value) == pytest.approx(_logp(default, "beta", value), rel=1e-12)
    # Likelihood: normal family with a wider sigma prior; no nu.
    assert _logp(custom, "sigma", 0.2) == pytest.approx(stats.halfnorm(scale=0.5).logpdf(0.2), rel=1e-6)
    assert "nu" in default.named_vars and "nu" not in custom.named_vars


def test_pooled_parameter_structure_and_priors(skill_data, tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(USER_TOML)
    built = build_model(skill_data, resolve_spec(path))
    model = built.model
    assert built.param_dims == {"E": ("skill",), "alpha": ("skill",), "a_ref": (), "b_ref": (), "beta": (), "sigma": ()}
    names = set(model.named_vars)
    assert {"log_E_base", "log_E_skill_sd", "log_E_skill_z", "log_alpha_base"} <= names
    assert "log_alpha_skill_sd" not in names  # independent: no spread
    assert model.named_vars_to_dims["E"] == ("skill",)
    assert model.named_vars_to_dims["alpha"] == ("skill",)
    assert model.named_vars_to_dims["log_alpha_base"] == ("skill",)
    assert list(model.coords["skill"]) == ["code", "math", "web"]
    # The spec's alpha prior is used on the log scale for the independent per-skill bases.
    u = np.array([-2.1, -1.9, -2.0])
    assert _logp(model, "log_alpha_base", u) == pytest.approx(stats.norm(-2.0, 0.1).logpdf(u).sum(), rel=1e-6)
    # E keeps the law's default prior for its base, and the spec's pooling scale for its spread.
    assert _logp(model, "log_E_base", 0.4) == pytest.approx(stats.norm(0.5, 0.5).logpdf(0.4), rel=1e-6)
    assert _logp(model, "log_E_skill_sd", 0.1) == pytest.approx(stats.halfnorm(scale=0.2).logpdf(0.1), rel=1e-6)


def test_pooling_over_missing_axis_is_noted(plain_data):
    spec = resolve_spec({"name": "x", "law": "chinchilla", "pooling": {"E": {"skill": "partial"}}})
    built = build_model(plain_data, spec)
    assert built.param_dims["E"] == ()
    assert any("pooling over 'skill' ignored" in note for note in built.notes)


def test_pooled_parameter_needs_a_link_normal_prior(skill_data):
    spec = resolve_spec(
        {
            "name": "bad",
            "law": "chinchilla",
            "priors": {"E": {"dist": "Gamma", "alpha": 2, "beta": 1}},
            "pooling": {"E": {"skill": "partial"}},
        }
    )
    with pytest.raises(PriorError, match=r"pooled 'E'.*LogNormal"):
        build_model(skill_data, spec)


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("raw", "fragments"),
    [
        ({"name": "x", "law": "nope"}, ["unknown law 'nope'", "chinchilla"]),
        ({"name": "x"}, ["'law' must be a non-empty string"]),
        ({"law": "chinchilla"}, ["'name' must be a non-empty string"]),
        ({"name": "x", "law": "chinchilla", "prior": {}}, ["unknown top-level keys ['prior']"]),
        ({"name": "x", "law": "chinchilla", "priors": {"gamma": {"dist": "Normal", "mu": 0, "sigma": 1}}}, ["[priors] 'gamma'", "alpha"]),
        ({"name": "x", "law": "chinchilla", "pooling": {"gamma": {"skill": "partial"}}}, ["[pooling] 'gamma'"]),
        ({"name": "x", "law": "chinchilla", "pooling": {"E": {"skill": "partly"}}}, ["E.skill = 'partly'", "partial"]),
        ({"name": "x", "law": "chinchilla", "pooling": {"E": "partial"}}, ["[pooling] E must be a table"]),
        ({"name": "x", "law": "chinchilla", "pooling_scale": {"E": -1}}, ["[pooling_scale] E must be a positive number"]),
        ({"name": "x", "law": "chinchilla", "pooling_scale": {"zeta": 1}}, ["'zeta' is neither 'default' nor a parameter"]),
        ({"name": "x", "law": "chinchilla", "sampler": {"draw": 10}}, ["unknown keys in [sampler]: ['draw']"]),
        ({"name": "x", "law": "chinchilla", "likelihood": {"famly": "normal"}}, ["unknown keys in [likelihood]"]),
        ({"name": "x", "law": "chinchilla", "likelihood": {"family": "cauchy"}}, ["unknown likelihood family 'cauchy'"]),
        (
            {
                "name": "x",
                "law": "chinchilla",
                "likelihood": {"priors": {"nu": {"dist": "Gamma", "alpha": 2, "beta": 1}}, "family": "normal"},
            },
            ["'nu' is not a parameter of family 'normal'"],
        ),
        (
            {"name": "x", "law": "chinchilla", "priors": {"E": {"dist": "NoSuchDist"}}},
            ["prior of 'E'", "unknown distribution 'NoSuchDist'"],
        ),
        ({"name": "x", "law": "chinchilla", "priors": {"E": {"dist": "Normal", "mu": "zero"}}}, ["prior of 'E'", "'mu' must be a number"]),
        ({"name": "x", "law": "chinchilla", "priors": {"E": 1.0}}, ["prior of 'E'", "'dist' key"]),
    ],
)
def test_bad_specs_raise_spec_error(raw, fragments):
    with pytest.raises(SpecError) as err:
        ModelSpec.from_dict(raw, source="my_spec.toml")
    message = str(err.value)
    assert message.startswith("my_spec.toml: ")
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_bad_toml_names_the_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('name = "x"\nlaw = chinchilla\n')
    with pytest.raises(SpecError, match=r"broken.toml: not valid TOML"):
        resolve_spec(path)


def test_unknown_key_in_file_names_the_file(tmp_path):
    path = tmp_path / "extra.toml"
    path.write_text(USER_TOML + "\n[extras]\nfoo = 1\n")
    with pytest.raises(SpecError, match=r"extra.toml: unknown top-level keys \['extras'\]"):
        resolve_spec(path)


def test_missing_spec_file_and_unknown_name(tmp_path):
    with pytest.raises(SpecError, match="no such spec file"):
        resolve_spec(tmp_path / "absent.toml")
    with pytest.raises(SpecError, match=r"no model named 'chinchila'.*shipped models are"):
        resolve_spec("chinchila")
