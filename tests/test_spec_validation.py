"""Every spec value is checked before sampling: one SpecError line, never a traceback or a silent default (issue 11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bayeslaw.datasets import load_dataset
from bayeslaw.spec import ModelSpec, SpecError, resolve_spec
from bayeslaw.spec_validation import validate_sampler, validate_spec

BASE = {"name": "x", "law": "chinchilla"}


@pytest.fixture(scope="module")
def data():
    return load_dataset("chinchilla", exclude_top5=True)


def check(extra: dict, data=None) -> None:
    validate_spec(ModelSpec.from_dict({**BASE, **extra}), data)


def test_shipped_specs_validate(data) -> None:
    for name in ("chinchilla", "kaplan", "hierarchical", "shared_exponents"):
        validate_spec(resolve_spec(name), data)


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (
            {"likelihood": {"priors": {"sigma": {"dist": "HalfNormal", "sigma": -0.1}}}},
            r"likelihood prior 'sigma' HalfNormal\(sigma=-0.1\): log density nan",
        ),
        ({"priors": {"alpha": {"dist": "LogNormal", "mu": -1.0, "sigma": -0.5}}}, r"prior of 'alpha' LogNormal.*log density -inf"),
        ({"priors": {"alpha": {"dist": "LogNormal", "mu": -1.0, "sigm": 0.5}}}, r"unexpected keyword argument 'sigm'.*pymc.LogNormal"),
        ({"priors": {"alpha": {"dist": "LogNormal", "mu": float("inf"), "sigma": 0.5}}}, r"\['mu'\] must be finite"),
        ({"priors": {"alpha": {"dist": "Uniform", "lower": 1.0, "upper": 0.0}}}, r"Uniform\(lower=1, upper=0\): log density nan"),
    ],
)
def test_bad_prior_values(extra: dict, needle: str) -> None:
    with pytest.raises(SpecError, match=needle):
        check(extra)


def test_valid_priors_are_checked_once_and_bad_ones_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    from bayeslaw import spec_validation

    monkeypatch.setattr(spec_validation, "_VALID_PRIOR_SETS", set())
    calls = []
    real = spec_validation._check_priors
    monkeypatch.setattr(spec_validation, "_check_priors", lambda *a: (calls.append(1), real(*a)))
    good = {"priors": {"alpha": {"dist": "LogNormal", "mu": -1.0, "sigma": 0.5}}}
    bad = {"priors": {"alpha": {"dist": "LogNormal", "mu": -1.0, "sigma": -0.5}}}
    check(good)
    check(good)
    assert len(calls) == 1
    check({"priors": {"alpha": {"dist": "LogNormal", "mu": -1.0, "sigma": 0.6}}})  # another value: checked again
    assert len(calls) == 2
    for _ in range(2):
        with pytest.raises(SpecError, match="log density -inf"):
            check(bad)
    assert len(calls) == 4


def test_dist_naming_a_non_distribution() -> None:
    with pytest.raises(SpecError, match=r"'sample' is not a distribution \(pymc.sample is a function\)"):
        ModelSpec.from_dict({**BASE, "priors": {"alpha": {"dist": "sample"}}})
    with pytest.raises(SpecError, match="'Model' is not a distribution"):
        ModelSpec.from_dict({**BASE, "priors": {"alpha": {"dist": "Model"}}})


@pytest.mark.parametrize(
    ("sampler", "needle"),
    [
        ({"low_rank": "no"}, "low_rank must be true or false, got 'no'"),
        ({"restart_stuck_chains": 1}, "restart_stuck_chains must be true or false"),
        ({"robust_starts": "no"}, "robust_starts must be true or false, got 'no'"),
        ({"draws": 1.5}, "draws must be a positive integer, got 1.5"),
        ({"chains": True}, "chains must be a positive integer, got True"),
        ({"target_accept": 1.2}, "target_accept must be a number strictly between 0 and 1"),
        ({"backend": "stan"}, "unknown sampler backend 'stan'"),
        ({"backend": "jax"}, r"fit_many\(datasets, model, backend='jax'\)"),
    ],
)
def test_sampler_values_by_type(sampler: dict, needle: str) -> None:
    with pytest.raises(SpecError, match=needle):
        check({"sampler": sampler})


def test_numpyro_without_jax_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in ("jax", "numpyro") else real(name, *a))
    with pytest.raises(SpecError, match=r"backend 'numpyro' needs the packages \['jax', 'numpyro'\]"):
        validate_sampler({"backend": "numpyro"}, "sampler:")


def test_pooling_scale_true_is_not_one() -> None:
    with pytest.raises(SpecError, match=r"\[pooling_scale\] default must be a positive number, got True"):
        ModelSpec.from_dict({**BASE, "pooling_scale": {"default": True}})


def test_misspelt_pooling_axis_is_an_error(data) -> None:
    with pytest.raises(SpecError, match=r"unknown axis 'skils'.*did you mean 'skill'\?"):
        check({"pooling": {"E": {"skils": "partial"}}}, data)
    check({"pooling": {"E": {"skill": "partial"}}}, data)  # a known axis the data lacks: the builder's note, no error


def test_shipped_name_wins_over_a_folder_in_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "chinchilla").mkdir()
    assert resolve_spec("chinchilla").name == "chinchilla"
    (tmp_path / "kaplan").write_text("not toml at all [")
    assert resolve_spec("kaplan").name == "kaplan"
    with pytest.raises(SpecError, match="not valid TOML"):
        resolve_spec("./kaplan")  # looks like a path: the file is read
    with pytest.raises(SpecError, match="is a folder"):
        resolve_spec("./chinchilla")
