"""The seeded simulator: reproducibility, design, groups, thinning and the truth it reports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayeslaw.laws import get_law
from bayeslaw.simulate import DEFAULT_SIZES, DEFAULT_TOKENS_PER_PARAM, simulate

TRUE = {"E": 1.8, "A": 480.0, "B": 2000.0, "alpha": 0.34, "beta": 0.36}
LAW = get_law("chinchilla")


def _law_by_hand(raw: dict[str, float], n: np.ndarray, d: np.ndarray) -> np.ndarray:
    return raw["E"] + raw["A"] / n ** raw["alpha"] + raw["B"] / d ** raw["beta"]


def test_same_seed_same_data_other_seed_other_data():
    a = simulate("chinchilla", TRUE, seed=3)
    b = simulate("chinchilla", TRUE, seed=3)
    c = simulate("chinchilla", TRUE, seed=4)
    pd.testing.assert_frame_equal(a.data.frame, b.data.frame)
    assert not np.array_equal(a.data.values("loss"), c.data.values("loss"))
    np.testing.assert_array_equal(a.data.values("N"), c.data.values("N"))  # same design


def test_default_design_and_noise_free_values():
    sim = simulate("chinchilla", TRUE, sigma=0.0)
    data = sim.data
    assert len(data) == len(DEFAULT_SIZES) * len(DEFAULT_TOKENS_PER_PARAM) == 40
    assert data.groups == () and data.target == "loss"
    assert list(data.frame.index[:2]) == ["sim0", "sim1"]
    n, d = data.values("N"), data.values("D")
    assert set(np.round(d / n, 9)) == set(DEFAULT_TOKENS_PER_PARAM)
    np.testing.assert_allclose(np.unique(n), DEFAULT_SIZES)
    np.testing.assert_allclose(data.values("C"), 6 * n * d)
    np.testing.assert_allclose(data.values("loss"), _law_by_hand(TRUE, n, d), rtol=1e-12)
    assert sim.law == "chinchilla" and sim.noise == {"sigma": 0.0, "nu": np.inf}


def test_noise_is_multiplicative_with_the_given_sigma():
    sim = simulate("chinchilla", TRUE, sizes=np.geomspace(1e7, 1e10, 40), tokens_per_param=np.geomspace(2, 200, 25), sigma=0.02, seed=1)
    n, d = sim.data.values("N"), sim.data.values("D")
    residual = np.log(sim.data.values("loss")) - np.log(_law_by_hand(TRUE, n, d))
    assert residual.size == 1000
    assert abs(residual.mean()) < 0.003  # 5 standard errors of the mean
    assert residual.std() == pytest.approx(0.02, rel=0.1)
    heavy = simulate("chinchilla", TRUE, sizes=np.geomspace(1e7, 1e10, 40), tokens_per_param=np.geomspace(2, 200, 25), sigma=0.02, nu=2.0)
    heavy_residual = np.log(heavy.data.values("loss")) - np.log(_law_by_hand(TRUE, n, d))
    assert np.abs(heavy_residual).max() > 5 * np.abs(residual).max()  # Student-t(2) tails


def test_grouping_by_skill_and_datamix():
    params = {**TRUE, "E": {"code": 1.2, "web": 1.9}, "B": {("code", "c4"): 1500.0, ("code", "rpj"): 1800.0, "web": 2500.0}}
    sim = simulate("chinchilla", params, skills=["web", "code"], datamixes=["rpj", "c4"], sigma=0.0)
    data = sim.data
    assert data.groups == ("skill", "datamix")
    assert data.levels == {"skill": ("code", "web"), "datamix": ("c4", "rpj")}
    assert len(data) == 4 * 40
    assert data.frame.groupby(["skill", "datamix"]).size().eq(40).all()
    for skill, mix in [("code", "c4"), ("code", "rpj"), ("web", "c4"), ("web", "rpj")]:
        rows = data.frame[(data.frame["skill"] == skill) & (data.frame["datamix"] == mix)]
        raw = sim.raw_truth(skill, mix)
        expected_b = {("code", "c4"): 1500.0, ("code", "rpj"): 1800.0}.get((skill, mix), 2500.0)
        assert raw == {**TRUE, "E": {"code": 1.2, "web": 1.9}[skill], "B": expected_b}
        np.testing.assert_allclose(rows["loss"], _law_by_hand(raw, rows["N"].to_numpy(), rows["D"].to_numpy()), rtol=1e-12)
    with pytest.raises(KeyError, match="no true value of 'E' for skill='math'"):
        sim.raw_truth("math", "c4")


def test_runs_thin_one_skill_reproducibly():
    params = {**TRUE, "E": {"code": 1.2, "web": 1.9}}
    sim = simulate("chinchilla", params, skills=["code", "web"], runs={"code": 6}, seed=7)
    again = simulate("chinchilla", params, skills=["code", "web"], runs={"code": 6}, seed=7)
    other = simulate("chinchilla", params, skills=["code", "web"], runs={"code": 6}, seed=8)
    counts = sim.data.frame["skill"].value_counts()
    assert counts["code"] == 6 and counts["web"] == 40
    pd.testing.assert_frame_equal(sim.data.frame, again.data.frame)
    code = sim.data.frame[sim.data.frame["skill"] == "code"]
    other_code = other.data.frame[other.data.frame["skill"] == "code"]
    assert not np.array_equal(code["N"].to_numpy() * code["D"].to_numpy(), other_code["N"].to_numpy() * other_code["D"].to_numpy())
    # Thinned runs are distinct points of the design grid.
    grid = {(n, n * m) for n in DEFAULT_SIZES for m in DEFAULT_TOKENS_PER_PARAM}
    kept = set(zip(code["N"], code["D"], strict=True))
    assert len(kept) == 6
    assert all(any(np.isclose(n, gn) and np.isclose(d, gd) for gn, gd in grid) for n, d in kept)


def test_truth_conversion_and_reference_scales():
    sim = simulate("chinchilla", {**TRUE, "E": {"code": 1.2, "web": 1.9}}, skills=["code", "web"], runs={"web": 9}, seed=2)
    refs = sim.data.reference_scales(["N", "D"])
    assert sim.refs == refs  # what a fit of these data will centre at
    truth = sim.truth("code")
    assert set(truth) == {"E", "a_ref", "b_ref", "alpha", "beta"}
    assert truth["a_ref"] == pytest.approx(TRUE["A"] * refs["N"] ** -TRUE["alpha"], rel=1e-12)
    assert truth["b_ref"] == pytest.approx(TRUE["B"] * refs["D"] ** -TRUE["beta"], rel=1e-12)
    assert truth["E"] == 1.2 and sim.truth("web")["E"] == 1.9
    derived = LAW.derived(truth, sim.refs, np)
    assert derived["A"] == pytest.approx(TRUE["A"], rel=1e-12)
    assert derived["B"] == pytest.approx(TRUE["B"], rel=1e-12)


def test_true_optimum_is_the_closed_form_of_the_raw_parameters():
    sim = simulate("chinchilla", TRUE)
    budget = 1e23
    opt = sim.optimum(budget)
    a = TRUE["beta"] / (TRUE["alpha"] + TRUE["beta"])
    g = (TRUE["alpha"] * TRUE["A"] / (TRUE["beta"] * TRUE["B"])) ** (1 / (TRUE["alpha"] + TRUE["beta"]))
    assert opt["N_opt"] == pytest.approx(g * (budget / 6) ** a, rel=1e-10)
    assert opt["D_opt"] == pytest.approx(budget / (6 * opt["N_opt"]), rel=1e-12)


def test_simulator_accepts_a_law_instance():
    sim = simulate(LAW, TRUE, sizes=[1e8, 1e9], tokens_per_param=[20.0], sigma=0.0)
    assert len(sim.data) == 2
    np.testing.assert_allclose(sim.data.values("loss"), _law_by_hand(TRUE, np.array([1e8, 1e9]), np.array([2e9, 2e10])), rtol=1e-12)
