"""Contracts every registered law, family, pooling mode and backend must keep, one test id per ``lookup_name``.

A new entry in any registry is picked up here without editing this file.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import pytest
from scipy import stats

import bayeslaw as bl
from bayeslaw.backends import backend_names, get_backend
from bayeslaw.backends.base import BACKENDS as _BACKENDS
from bayeslaw.families import FAMILIES, Family
from bayeslaw.laws import Law, registered_laws
from bayeslaw.links import LINKS, get_link
from bayeslaw.model_builder import build_model
from bayeslaw.pooling import registered_modes
from bayeslaw.priors import Prior, PriorError
from bayeslaw.sampling import SamplerConfig
from bayeslaw.simulate import simulate
from bayeslaw.spec import resolve_spec
from bayeslaw.variables import get_variable

SEED = 11
N_POINTS = 40
N_PARAM_DRAWS = 5
#: Sampler settings of the smoke fits: mechanics only (the posterior is not judged).
SMOKE = {"draws": 30, "tune": 30, "chains": 2, "cores": 1, "check": False}

LAWS = sorted(registered_laws())
FAMILY_NAMES = sorted(FAMILIES)
MODES = sorted(registered_modes())
BACKENDS = list(backend_names())


def _draw_prior(prior: Prior, rng: np.random.Generator, size: int) -> np.ndarray:
    dist = getattr(pm, prior.dist).dist(**prior.kwargs)
    return np.asarray(pm.draw(dist, draws=size, random_seed=rng)).reshape(size)


def _law_point(law: Law, rng: np.random.Generator) -> tuple[dict, dict, dict]:
    """Inputs spread over a factor e^2 around random reference scales, and parameters within one prior sd of the
    default priors' centres on their link scale (the far tails of some priors overflow the paper forms)."""
    scales = {key: float(np.exp(rng.uniform(0.0, 3.0))) for key in law.inputs}
    refs = {key: scales[key] for key in law.centred_inputs}
    x = {key: scale * np.exp(rng.uniform(-1.0, 1.0, N_POINTS)) for key, scale in scales.items()}
    for key, values in x.items():
        assert get_variable(key).in_support(values).all()
    p = {}
    for name, par in law.parameters.items():
        link = get_link(par.link)
        try:
            mu, sigma = par.prior.link_normal(link, f"default prior of {name!r}")
        except PriorError:  # not a Normal on the link scale: a plain prior draw
            p[name] = float(_draw_prior(par.prior, rng, 1)[0])
            continue
        p[name] = float(link.inverse(mu + sigma * rng.uniform(-1.0, 1.0)))
    return x, p, refs


def _paper_form(law: Law, p: dict, refs: dict) -> dict:
    """``p`` with the paper-form quantities that ``from_raw`` accepts (``law.raw_form``) added from ``derived``."""
    derived = law.derived(p, refs, np)
    return {**p, **{key: derived[key] for key in law.raw_form}}


def _finite_share(values: np.ndarray) -> float:
    return float(np.isfinite(values).mean())


def _law_points(name: str) -> Iterator[tuple[Law, dict, dict, dict]]:
    """The law ``name`` with ``N_PARAM_DRAWS`` seeded (inputs, parameters, reference scales)."""
    law = registered_laws()[name]()
    rng = np.random.default_rng(SEED)
    for _ in range(N_PARAM_DRAWS):
        yield law, *_law_point(law, rng)


# --------------------------------------------------------------------------- laws
@pytest.mark.parametrize("name", LAWS, ids=LAWS)
def test_law_numpy_mean_equals_pytensor_mean(name: str) -> None:
    for law, x, p, refs in _law_points(name):
        by_numpy = law.mean(x, p, refs, np)
        tensors = {k: pt.as_tensor_variable(v) for k, v in {**x, **p}.items()}
        symbolic = law.mean({k: tensors[k] for k in x}, {k: tensors[k] for k in p}, refs, pt)
        assert _finite_share(by_numpy) > 0.5, (name, p)
        np.testing.assert_allclose(symbolic.eval(), by_numpy, rtol=1e-9)


@pytest.mark.parametrize("name", LAWS, ids=LAWS)
def test_law_from_raw_inverts_derived(name: str) -> None:
    for law, _, p, refs in _law_points(name):
        back = law.from_raw(_paper_form(law, p, refs), refs, np)
        for key, value in p.items():
            np.testing.assert_allclose(back[key], value, rtol=1e-9, err_msg=f"{name}: {key}")


@pytest.mark.parametrize("name", LAWS, ids=LAWS)
def test_law_results_do_not_depend_on_the_reference_scale(name: str) -> None:
    """The same law re-expressed at other reference scales (through its paper form) predicts the same values."""
    rng = np.random.default_rng(SEED + 1)
    for law, x, p, refs in _law_points(name):
        other = {key: value * float(np.exp(rng.uniform(-3.0, 3.0))) for key, value in refs.items()}
        moved = law.from_raw(_paper_form(law, p, refs), other, np)
        moved = {key: moved[key] for key in law.parameters}
        np.testing.assert_allclose(law.mean(x, moved, other, np), law.mean(x, p, refs, np), rtol=1e-9)
        if law.allocates_compute():
            budget = 6.0 * refs["N"] * refs["D"] * np.geomspace(0.1, 10.0, 5)
            here, there = law.compute_optimal(p, budget, refs, np), law.compute_optimal(moved, budget, other, np)
            if here is not None:
                for key in here:
                    np.testing.assert_allclose(there[key], here[key], rtol=1e-9)


# --------------------------------------------------------------------------- links
@pytest.mark.parametrize("name", sorted(LINKS), ids=sorted(LINKS))
def test_link_inverse_undoes_forward_in_numpy_and_pytensor(name: str) -> None:
    link = LINKS[name]
    values = np.linspace(0.05, 0.95, 7)
    np.testing.assert_allclose(link.inverse(link.forward(values)), values, rtol=1e-12)
    symbolic = link.inverse(link.forward(pt.as_tensor_variable(values), pt), pt).eval()
    np.testing.assert_allclose(symbolic, values, rtol=1e-12)
    np.testing.assert_allclose(link.forward(pt.as_tensor_variable(values), pt).eval(), link.forward(values), rtol=1e-12)


# --------------------------------------------------------------------------- families
def _family_case(family: Family, rng: np.random.Generator, n: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Link-scale means (for a mean on the natural scale: inside (0, 1)) and parameters drawn from the default priors."""
    mu = rng.uniform(0.2, 0.8, n) if family.link == "identity" else rng.normal(1.0, 0.5, n)
    params = {key: _draw_prior(prior, rng, n) for key, prior in family.params.items()}
    return mu, params


def _pymc_observation(family: Family, mu: np.ndarray, params: dict, observed: np.ndarray | None) -> tuple[pm.Model, object]:
    with pm.Model(coords={"obs": range(len(mu))}) as model:
        rv = family.pymc("y", mu, params, observed, ("obs",))
    return model, rv


@pytest.mark.parametrize("name", FAMILY_NAMES, ids=FAMILY_NAMES)
def test_family_numpy_logpdf_equals_pymc_logp(name: str) -> None:
    family = FAMILIES[name]
    rng = np.random.default_rng(SEED)
    mu, params = _family_case(family, rng, 200)
    y = family.sample(rng, mu, params)
    model, rv = _pymc_observation(family, mu, params, y)
    by_pymc = model.compile_logp(vars=[rv], sum=False)(model.initial_point())[0]
    by_numpy = family.logpdf(y, mu, params)
    assert np.isfinite(by_numpy).all()
    np.testing.assert_allclose(by_numpy, by_pymc, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", FAMILY_NAMES, ids=FAMILY_NAMES)
def test_family_sampler_matches_pymc_draws(name: str) -> None:
    """The numpy sampler and PyMC's draw give the same distribution (two-sample KS test at fixed seeds)."""
    family = FAMILIES[name]
    rng = np.random.default_rng(SEED)
    mu1, params1 = _family_case(family, rng, 1)
    n = 4000
    mu = np.full(n, mu1[0])
    params = {key: np.full(n, value[0]) for key, value in params1.items()}
    _, rv = _pymc_observation(family, mu, params, None)
    by_pymc = np.asarray(pm.draw(rv, random_seed=SEED))
    by_numpy = family.sample(np.random.default_rng(SEED + 1), mu, params)
    assert stats.ks_2samp(by_numpy, by_pymc).pvalue > 1e-3, (name, mu1[0], params1)
    # and a wrong location is detected at this sample size
    shifted = by_numpy + 0.5 * np.std(by_pymc)
    assert stats.ks_2samp(shifted, by_pymc).pvalue < 1e-3


# --------------------------------------------------------------------------- pooling modes
@pytest.fixture(scope="module")
def grouped_data() -> bl.ScalingData:
    """A small 3-skill x 2-datamix design from the Chinchilla law."""
    truth = {"E": {"s1": 1.7, "s2": 1.9, "s3": 2.2}, "A": 400.0, "B": 2000.0, "alpha": 0.34, "beta": 0.36}
    design = {"sizes": np.geomspace(1e7, 1e9, 4), "tokens_per_param": (5.0, 40.0), "skills": ["s1", "s2", "s3"], "datamixes": ["m1", "m2"]}
    return simulate("chinchilla", truth, **design, seed=SEED).data


@pytest.mark.parametrize("mode", MODES, ids=MODES)
def test_pooling_mode_smoke_fit(mode: str, grouped_data: bl.ScalingData) -> None:
    """Each mode builds, samples and stores E with the axis as a dim exactly when E varies along it."""
    cls = registered_modes()[mode]
    axes = {"skill": mode}
    if cls.hierarchical:
        axes["skill:datamix"] = mode  # modes with a population spread also serve interaction axes
    spec = resolve_spec({"name": f"smoke_{mode}", "law": "chinchilla", "pooling": {"E": axes}})
    built = build_model(grouped_data, spec)
    varies = cls.varies
    assert built.param_dims["E"] == (("skill", "datamix") if cls.hierarchical else ("skill",) if varies else ())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = bl.fit(grouped_data, spec, backend="nutpie", random_seed=SEED, **SMOKE)
    e = fitted.idata.posterior["E"]
    assert e.sizes["chain"] == 2 and e.sizes["draw"] == 30 and np.isfinite(e.values).all()
    if varies:
        assert e.sizes["skill"] == 3 and float(e.std("skill").mean()) > 0


# --------------------------------------------------------------------------- backends
@pytest.mark.parametrize("name", BACKENDS, ids=BACKENDS)
def test_backend_lookup_name_is_its_module_name(name: str) -> None:
    """The CLI lists backends by module name without importing them (fast argument errors): the two must agree."""
    from bayeslaw.cli import _BackendChoices

    assert _BACKENDS.get(name).__module__ == f"bayeslaw.backends.{name}"
    assert tuple(_BackendChoices()) == tuple(sorted(BACKENDS))


@pytest.mark.parametrize("name", BACKENDS, ids=BACKENDS)
def test_backend_smoke_fit_and_restart(name: str, chinchilla_data: bl.ScalingData) -> None:
    """Each installed backend samples a small model; a backend that restarts chains samples again from start points."""
    why = _BACKENDS.get(name).missing()
    if why is not None:
        extra = _BACKENDS.get(name).extra
        install = re.escape(f'"bayeslaw[{extra}]"') if extra else ".+"
        with pytest.raises(ImportError, match=rf"not installed here; install with: pip install {install}"):
            get_backend(name)
        pytest.skip(why)
    backend = get_backend(name)
    data = chinchilla_data.subset(np.arange(len(chinchilla_data)) % 4 == 0, "every 4th run")
    model = build_model(data, resolve_spec("chinchilla")).model
    config = SamplerConfig(backend=name, draws=30, tune=30, chains=2, cores=1)
    prepared = backend.prepare(model)
    run = backend.sample(prepared, config, SEED, 1, keep_state=backend.restarts)
    post = run.idata.posterior
    assert post.sizes["chain"] == 2 and np.isfinite(post["alpha"].values).all()
    if not backend.restarts:
        return
    assert run.no_restart is None
    starts = backend.start_points(prepared, run, [1], 2, SEED)
    rerun = backend.sample(prepared, config, SEED + 1, 1, starts=starts)
    assert rerun.idata.posterior.sizes["chain"] == 2 and np.isfinite(rerun.idata.posterior["alpha"].values).all()


def test_unknown_backend_and_mode_name_the_known_ones() -> None:
    with pytest.raises(ValueError, match="choose one of"):
        SamplerConfig(backend="stan")
    with pytest.raises(bl.SpecError, match="choose one of"):
        resolve_spec({"name": "x", "law": "chinchilla", "pooling": {"E": {"skill": "semi"}}})


def test_data_support_uses_each_variables_own_check() -> None:
    frame = pd.DataFrame({"loss": [2.0, 3.0], "error": [0.5, 1.2]})
    with pytest.raises(bl.DataValidationError, match=r"'error'.*outside \(0, 1\)"):
        bl.ScalingData.from_frame(frame, target="error", inputs=["loss"])
    assert get_variable("error").in_support(np.array([0.5, 1.2, np.nan])).tolist() == [True, False, False]
