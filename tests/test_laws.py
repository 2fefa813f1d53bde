"""Law numerics: the Chinchilla mean, its pytensor twin, derived quantities and the registry."""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
import pytest
import xarray as xr

from bayeslaw.laws import Law, get_law, registered_laws
from bayeslaw.laws.chinchilla import Chinchilla

#: Epoch AI's (Besiroglu et al. 2024) replication of Chinchilla Approach 3, paper form.
EPOCH_PARAMS = {"E": 1.8172, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658}
REFS = {"N": 3.1e8, "D": 7.4e9}
N = np.array([4.4e7, 4.0e8, 7.0e10, 2.8e11])
D = np.array([1.0e9, 8.0e9, 1.4e12, 3.0e11])
PARAM_SETS = [
    EPOCH_PARAMS,
    {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28},  # Hoffmann et al. 2022
    {"E": 0.5, "A": 50.0, "B": 1.0e5, "alpha": 0.15, "beta": 0.6},
]


def _by_hand(raw: dict[str, float], n: np.ndarray, d: np.ndarray) -> np.ndarray:
    return np.array([raw["E"] + raw["A"] / ni ** raw["alpha"] + raw["B"] / di ** raw["beta"] for ni, di in zip(n, d, strict=True)])


@pytest.mark.parametrize("raw", PARAM_SETS)
def test_mean_matches_hand_computation_with_raw_amplitudes(raw):
    law = get_law("chinchilla")
    p = law.from_raw(raw, REFS, np)
    assert set(p) == {"E", "a_ref", "b_ref", "alpha", "beta"}
    got = law.mean({"N": N, "D": D}, p, REFS, np)
    np.testing.assert_allclose(got, _by_hand(raw, N, D), rtol=1e-12)


def test_mean_does_not_depend_on_reference_scales():
    law = get_law("chinchilla")
    other = {"N": 1.0e10, "D": 2.0e8}
    a = law.mean({"N": N, "D": D}, law.from_raw(EPOCH_PARAMS, REFS, np), REFS, np)
    b = law.mean({"N": N, "D": D}, law.from_raw(EPOCH_PARAMS, other, np), other, np)
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_reference_amplitudes_are_the_terms_at_the_reference_point():
    law = get_law("chinchilla")
    p = law.from_raw(EPOCH_PARAMS, REFS, np)
    assert p["a_ref"] == pytest.approx(EPOCH_PARAMS["A"] / REFS["N"] ** EPOCH_PARAMS["alpha"], rel=1e-12)
    assert p["b_ref"] == pytest.approx(EPOCH_PARAMS["B"] / REFS["D"] ** EPOCH_PARAMS["beta"], rel=1e-12)
    at_ref = law.mean({"N": np.array([REFS["N"]]), "D": np.array([REFS["D"]])}, p, REFS, np)
    assert at_ref[0] == pytest.approx(p["E"] + p["a_ref"] + p["b_ref"], rel=1e-12)


@pytest.mark.parametrize("raw", PARAM_SETS)
def test_numpy_and_pytensor_agree(raw):
    law = get_law("chinchilla")
    p = law.from_raw(raw, REFS, np)
    expected = law.mean({"N": N, "D": D}, p, REFS, np)
    symbolic_p = {k: pt.as_tensor_variable(np.float64(v)) for k, v in p.items()}
    symbolic_x = {"N": pt.as_tensor_variable(N), "D": pt.as_tensor_variable(D)}
    graph = law.mean(symbolic_x, symbolic_p, REFS, pt)
    np.testing.assert_allclose(graph.eval(), expected, rtol=1e-12)
    # Derived quantities and the closed-form optimum work on pytensor graphs too.
    derived_np = law.derived(p, REFS, np)
    derived_pt = law.derived(symbolic_p, REFS, pt)
    for key, value in derived_np.items():
        assert float(derived_pt[key].eval()) == pytest.approx(float(value), rel=1e-12)
    budget = np.array([1e21, 1e24])
    opt_np = law.compute_optimal(p, budget, REFS, np)
    opt_pt = law.compute_optimal(symbolic_p, pt.as_tensor_variable(budget), REFS, pt)
    np.testing.assert_allclose(opt_pt["N_opt"].eval(), opt_np["N_opt"], rtol=1e-12)


@pytest.mark.parametrize("raw", PARAM_SETS)
def test_derived_round_trip(raw):
    law = get_law("chinchilla")
    p = law.from_raw(raw, REFS, np)
    derived = law.derived(p, REFS, np)
    assert derived["A"] == pytest.approx(raw["A"], rel=1e-12)
    assert derived["B"] == pytest.approx(raw["B"], rel=1e-12)
    assert derived["a"] == pytest.approx(raw["beta"] / (raw["alpha"] + raw["beta"]), rel=1e-12)
    assert derived["b"] == pytest.approx(raw["alpha"] / (raw["alpha"] + raw["beta"]), rel=1e-12)
    assert derived["a"] + derived["b"] == pytest.approx(1.0)


def test_from_raw_leaves_sampled_form_alone_and_does_not_mutate():
    law = get_law("chinchilla")
    sampled = {"E": 1.8, "a_ref": 0.9, "b_ref": 0.8, "alpha": 0.3, "beta": 0.35}
    assert law.from_raw(sampled, REFS, np) == sampled
    raw = dict(EPOCH_PARAMS)
    law.from_raw(raw, REFS, np)
    assert raw == EPOCH_PARAMS


def test_mean_broadcasts_over_xarray_draws():
    law = get_law("chinchilla")
    alpha = xr.DataArray([0.30, 0.35], dims="draw")
    p = {**law.from_raw(EPOCH_PARAMS, REFS, np), "alpha": alpha}
    p["a_ref"] = EPOCH_PARAMS["A"] * np.exp(-alpha * np.log(REFS["N"]))
    x = {"N": xr.DataArray(N, dims="point"), "D": xr.DataArray(D, dims="point")}
    out = law.mean(x, p, REFS, np)
    assert set(out.dims) == {"draw", "point"}
    for i, a in enumerate([0.30, 0.35]):
        np.testing.assert_allclose(out.isel(draw=i).transpose("point").values, _by_hand({**EPOCH_PARAMS, "alpha": a}, N, D), rtol=1e-12)


def test_loss_at_equals_mean():
    law = get_law("chinchilla")
    p = law.from_raw(EPOCH_PARAMS, REFS, np)
    np.testing.assert_allclose(law.loss_at(p, REFS, N, D, np), _by_hand(EPOCH_PARAMS, N, D), rtol=1e-12)


def test_registry():
    assert registered_laws()["chinchilla"] is Chinchilla
    assert isinstance(get_law("chinchilla"), Chinchilla)
    with pytest.raises(KeyError, match=r"unknown law 'nope'; registered laws: \[.*'chinchilla'"):
        get_law("nope")
    with pytest.raises(ValueError, match="already registered"):
        type("Impostor", (Law,), {"lookup_name": "chinchilla", "inputs": ("N", "D"), "parameters": {}})
    assert registered_laws()["chinchilla"] is Chinchilla


def test_law_metadata():
    law = get_law("chinchilla")
    assert law.allocates_compute()
    assert law.inputs == ("N", "D") and law.target == "loss" and law.centred_inputs == ("N", "D")
    assert {name: par.link for name, par in law.parameters.items()} == dict.fromkeys(("E", "a_ref", "b_ref", "alpha", "beta"), "log")
    text = law.describe()
    assert "E + A / N^alpha + B / D^beta" in text
    assert all(name in text for name in law.parameters)


def test_base_law_defaults():
    law = Law()
    assert law.compute_optimal({}, 1.0, {}, np) is None
    assert law.derived({}, {}, np) == {}
    assert law.from_raw({"x": 1.0}, {}, np) == {"x": 1.0}
    with pytest.raises(NotImplementedError):
        law.mean({}, {}, {}, np)
