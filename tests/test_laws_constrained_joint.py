"""The data-constrained law (Muennighoff et al. 2023) and Chinchilla with a joint exponent: numerics and recovery."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytensor.tensor as pt
import pytest

import bayeslaw
from bayeslaw.laws import get_law
from bayeslaw.simulate import simulate

REFS = {"N": 3e8, "D": 6e9}
CHIN = {"E": 1.7, "a_ref": 0.4, "b_ref": 0.35, "alpha": 0.34, "beta": 0.28}
N = np.array([1e7, 1e8, 1e9, 1e10])
D = np.array([2e8, 2e9, 2e10, 2e11])


def joint_params(q: float) -> dict[str, float]:
    """CHIN's law in the joint law's parameters (the same A, B, alpha, beta, E) with joint exponent q."""
    raw = {"E": CHIN["E"], "A": CHIN["a_ref"] * REFS["N"] ** CHIN["alpha"], "B": CHIN["b_ref"] * REFS["D"] ** CHIN["beta"]}
    return get_law("chinchilla_joint").from_raw({**raw, "alpha": CHIN["alpha"], "beta": CHIN["beta"], "q": q}, REFS, np)


def test_joint_law_is_chinchilla_at_q_1():
    joint, chin = get_law("chinchilla_joint"), get_law("chinchilla")
    x = {"N": N, "D": D}
    p = joint_params(1.0)
    assert joint.mean(x, p, REFS, np) == pytest.approx(chin.mean(x, CHIN, REFS, np), rel=1e-12)
    derived = joint.derived(p, REFS, np)
    assert derived["A"] == pytest.approx(CHIN["a_ref"] * REFS["N"] ** CHIN["alpha"], rel=1e-10)


def test_joint_law_is_kaplan_at_e_0_and_q_alpha_d():
    n_c, d_c, a_n, a_d = 8.8e13, 5.4e13, 0.076, 0.095
    kaplan = get_law("kaplan")
    refs = REFS
    kp = kaplan.from_raw({"N_c": n_c, "D_c": d_c, "alpha_N": a_n, "alpha_D": a_d}, refs, np)
    joint = get_law("chinchilla_joint")
    raw = {"E": 0.0, "A": n_c**a_n, "B": d_c**a_d, "alpha": a_n, "beta": a_d, "q": a_d}
    p = joint.from_raw(raw, refs, np)
    x = {"N": N, "D": D}
    assert joint.mean(x, p, refs, np) == pytest.approx(kaplan.mean(x, kp, refs, np), rel=1e-9)


def test_joint_law_stays_finite_for_small_q_and_matches_pytensor():
    joint = get_law("chinchilla_joint")
    p = joint_params(0.02)
    x = {"N": N, "D": D}
    values = joint.mean(x, p, REFS, np)
    assert np.isfinite(values).all()
    # q -> 0: the bracket tends to the larger of the two terms
    size = CHIN["a_ref"] * (N / REFS["N"]) ** -CHIN["alpha"]
    data = CHIN["b_ref"] * (D / REFS["D"]) ** -CHIN["beta"]
    assert values == pytest.approx(CHIN["E"] + np.maximum(size, data), rel=0.02)
    tensor = joint.mean({k: pt.as_tensor(v) for k, v in x.items()}, {k: pt.as_tensor(v) for k, v in p.items()}, REFS, pt).eval()
    assert tensor == pytest.approx(values, rel=1e-10)


DC = {**CHIN, "R_D_star": 15.4, "R_N_star": 5.3}


def test_data_constrained_is_chinchilla_with_one_epoch():
    law, chin = get_law("data_constrained"), get_law("chinchilla")
    n = np.array([1e7, 1e8])
    d = n * 40.0  # U = D: one epoch, and N <= U / 20
    assert law.mean({"N": n, "D": d, "U": d}, DC, REFS, np) == pytest.approx(chin.mean({"N": n, "D": d}, CHIN, REFS, np), rel=1e-12)


def test_data_constrained_repeats_lose_value():
    law = get_law("data_constrained")
    u, n = 1e9, 1e7  # few parameters: no excess-parameter penalty
    epochs = np.array([1.0, 2.0, 4.0, 40.0, 4000.0])
    loss = law.mean({"N": np.full(5, n), "D": u * epochs, "U": np.full(5, u)}, DC, REFS, np)
    fresh = get_law("chinchilla").mean({"N": np.full(5, n), "D": u * epochs}, CHIN, REFS, np)
    assert np.all(np.diff(loss) < 0)  # more epochs still help
    assert loss[1] == pytest.approx(fresh[1], rel=0.002)  # 2 epochs are worth almost 2 fresh ones
    assert loss[3] > fresh[3] * 1.01  # 40 epochs are worth much less than 40 fresh ones
    saturated = CHIN["E"] + CHIN["a_ref"] * (n / REFS["N"]) ** -CHIN["alpha"]
    saturated += CHIN["b_ref"] * (u * (1 + DC["R_D_star"]) / REFS["D"]) ** -CHIN["beta"]
    assert loss[4] == pytest.approx(saturated, rel=1e-6)  # D' -> U (1 + R_D*)


def test_data_constrained_excess_parameters_lose_value():
    law = get_law("data_constrained")
    u = 1e9  # the unique data support U / 20 = 5e7 parameters
    n = np.array([5e7, 5e9])
    loss = law.mean({"N": n, "D": np.full(2, u), "U": np.full(2, u)}, DC, REFS, np)
    fresh = get_law("chinchilla").mean({"N": n, "D": np.full(2, u)}, CHIN, REFS, np)
    assert loss[0] == pytest.approx(fresh[0], rel=1e-12)
    assert loss[1] > fresh[1]


def test_unique_tokens_column_is_recognised():
    frame = pd.DataFrame({"N": [1e8, 2e8], "D": [4e9, 8e9], "unique_tokens": [1e9, 1e9], "loss": [3.0, 2.9]})
    data = bayeslaw.ScalingData.from_frame(frame, inputs=["N", "D", "U"])
    assert data.values("U").tolist() == [1e9, 1e9]


@pytest.mark.slow
def test_joint_law_recovers_q():
    truth = {"E": 1.7, "A": 400.0, "B": 2000.0, "alpha": 0.34, "beta": 0.28, "q": 0.6}
    # q is identified only where one term dominates in parts of the design: 3 decades of N, 2-512 tokens/parameter.
    # (On the default 2-decade, 5-80 tokens/parameter grid the chains do not mix.)
    design = {"sizes": tuple(np.geomspace(1e7, 1e10, 10)), "tokens_per_param": (2.0, 8.0, 32.0, 128.0, 512.0)}
    sim = simulate("chinchilla_joint", truth, sigma=0.005, seed=3, **design)
    fit = bayeslaw.fit(sim.data, "chinchilla_joint", draws=1000, tune=1000, chains=4, random_seed=3)
    assert fit.converged
    row = fit.summary().loc["q"]
    assert row["lower"] <= truth["q"] <= row["upper"]


@pytest.mark.slow
def test_data_constrained_recovers_repetition_decay():
    rng = np.random.default_rng(4)
    law = get_law("data_constrained")
    n = np.repeat(np.geomspace(3e7, 1e9, 6), 6)
    u = 20.0 * np.repeat(np.geomspace(3e7, 1e9, 6), 6) / 4  # unique data for a quarter of the optimum
    d = u * np.tile([1.0, 2.0, 4.0, 8.0, 16.0, 64.0], 6)
    data = pd.DataFrame({"N": n, "D": d, "unique_tokens": u})
    refs = {"N": float(np.exp(np.log(n).mean())), "D": float(np.exp(np.log(d).mean()))}
    truth = law.from_raw({"E": 1.7, "A": 400.0, "B": 2000.0, "alpha": 0.34, "beta": 0.28, "R_D_star": 10.0, "R_N_star": 5.3}, refs, np)
    data["loss"] = law.mean({"N": n, "D": d, "U": u}, truth, refs, np) * np.exp(0.005 * rng.standard_normal(n.size))
    scaling = bayeslaw.ScalingData.from_frame(data, inputs=["N", "D", "U"])
    fit = bayeslaw.fit(scaling, "data_constrained", draws=1000, tune=1000, chains=4, random_seed=4)
    assert fit.converged
    row = fit.summary().loc["R_D_star"]
    assert row["lower"] <= 10.0 <= row["upper"]
