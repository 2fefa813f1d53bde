"""Accuracy of the numeric compute-optimal search (no sampling: posterior-like synthetic draws).

Checks the vectorised search against the closed form (single skill), an exact
closed form for mixes with shared exponents, and a dense brute-force grid for
mixes with skill-specific exponents, all to the issue's 0.1 % on N*.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from bayeslaw.isoflop_search import central_differences, safeguarded_newton
from bayeslaw.laws import get_law
from bayeslaw.laws.chinchilla import Chinchilla
from bayeslaw.optimum import as_budget_array, optimum_closed_form, optimum_numeric

#: The acceptance tolerance of the issue: 0.1 % on N*.
RTOL = 1e-3
REFS = {"N": 1.2e8, "D": 2.5e9}
BUDGETS = [1e19, 1e21, 1e23, 1e25]
SKILLS = ["code", "knowledge", "text"]


class NoClosedForm(Chinchilla):
    """Chinchilla without its closed form: forces the grid-bracketed numeric search (not registered)."""

    def compute_optimal(self, p, budget, refs, xp):
        return None


def posterior_draws(seed: int = 0, chains: int = 2, draws: int = 300, shared_exponents: bool = False) -> dict[str, xr.DataArray]:
    """Posterior-like Chinchilla draws per skill (dims chain, draw, skill), spread like a real posterior."""
    rng = np.random.default_rng(seed)
    shape = (chains, draws, len(SKILLS))
    coords = {"chain": np.arange(chains), "draw": np.arange(draws), "skill": SKILLS}

    def da(values: np.ndarray) -> xr.DataArray:
        return xr.DataArray(np.broadcast_to(values, shape).copy(), dims=("chain", "draw", "skill"), coords=coords)

    exp_shape = (chains, draws, 1) if shared_exponents else shape
    return {
        "E": da(np.exp(rng.normal([0.3, 0.6, 0.9], 0.1, shape))),
        "a_ref": da(np.exp(rng.normal([-1.5, -0.5, -1.0], 0.3, shape))),
        "b_ref": da(np.exp(rng.normal([-0.5, -1.5, -1.0], 0.3, shape))),
        "alpha": da(np.exp(rng.normal(np.log(0.34), 0.15, exp_shape))),
        "beta": da(np.exp(rng.normal(np.log(0.30), 0.15, exp_shape))),
    }


def mixes() -> xr.DataArray:
    weights = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.2, 0.3, 0.5], [0.0, 0.1, 0.9], [0.9, 0.0, 0.1]])
    return xr.DataArray(weights, dims=("mix", "skill"), coords={"mix": np.arange(len(weights)), "skill": SKILLS})


def brute_force_log_n(law, params, budgets, weights) -> xr.DataArray:
    """Dense grid minimum in log N: spacing 0.005 over +-10 around sqrt(C/6), then 2e-6 within +-0.01."""
    half = budgets / 6.0
    centre = 0.5 * np.log(half)

    def mix_loss(u: xr.DataArray) -> xr.DataArray:
        n = np.exp(u)
        return (law.loss_at(params, REFS, n, half / n, np) * weights).sum("skill")

    coarse = centre + xr.DataArray(np.arange(-10.0, 10.0, 5e-3), dims="grid")
    best = coarse.isel(grid=mix_loss(coarse).argmin("grid"))
    fine = best + xr.DataArray(np.arange(-1e-2, 1e-2, 2e-6), dims="grid")
    return fine.isel(grid=mix_loss(fine).argmin("grid"))


@pytest.fixture(scope="module")
def brute_case() -> tuple[dict[str, xr.DataArray], xr.DataArray, xr.DataArray]:
    """Skill-specific exponents (no closed form for the mix): draws, budgets and the brute-force log N*."""
    law = get_law("chinchilla")
    params = {k: v.isel(draw=slice(0, 15)) for k, v in posterior_draws(3).items()}
    budgets = as_budget_array(BUDGETS)
    return params, budgets, brute_force_log_n(law, params, budgets, mixes())


@pytest.mark.parametrize("law", [NoClosedForm(), get_law("chinchilla")], ids=["grid-bracket", "closed-form-bracket"])
def test_single_skill_matches_closed_form(law: Chinchilla) -> None:
    params = {k: v.sel(skill="knowledge", drop=True) for k, v in posterior_draws(1).items()}
    budgets = as_budget_array(BUDGETS)
    closed = optimum_closed_form(get_law("chinchilla"), params, REFS, budgets)
    numeric, notes = optimum_numeric(law, params, REFS, budgets, bracket="grid")
    rel = np.abs(numeric["N_opt"] / closed["N_opt"] - 1)
    assert float(rel.max()) < RTOL
    assert float(rel.max()) < 1e-6  # the search converges far below the acceptance tolerance
    np.testing.assert_allclose(numeric["D_opt"] * numeric["N_opt"] * 6, budgets.broadcast_like(numeric["N_opt"]), rtol=1e-12)
    np.testing.assert_allclose(numeric["loss_opt"], closed["loss_opt"], rtol=1e-9)
    assert not any("boundary" in n for n in notes)


def test_mix_with_shared_exponents_matches_its_closed_form() -> None:
    """With shared alpha, beta the mix is itself a Chinchilla law with A = sum w A_s, B = sum w B_s."""
    law = get_law("chinchilla")
    params = posterior_draws(2, shared_exponents=True)
    budgets = as_budget_array(BUDGETS)
    weights = mixes()
    numeric, _ = optimum_numeric(law, params, REFS, budgets, weights)
    pooled = {
        "E": (params["E"] * weights).sum("skill"),
        "a_ref": (params["a_ref"] * weights).sum("skill"),
        "b_ref": (params["b_ref"] * weights).sum("skill"),
        "alpha": params["alpha"].isel(skill=0, drop=True),
        "beta": params["beta"].isel(skill=0, drop=True),
    }
    exact = law.compute_optimal(pooled, budgets, REFS, np)["N_opt"]
    rel = np.abs(numeric["N_opt"] / exact - 1)
    assert float(rel.max()) < 1e-6


@pytest.mark.parametrize("bracket", ["auto", "grid"])
def test_mix_matches_dense_brute_force(bracket: str, brute_case: tuple) -> None:
    law = get_law("chinchilla")
    params, budgets, brute = brute_case
    weights = mixes()
    numeric, _ = optimum_numeric(law, params, REFS, budgets, weights, bracket=bracket)
    rel = np.abs(numeric["N_opt"] / np.exp(brute) - 1)
    assert float(rel.max()) < RTOL
    assert float(rel.max()) < 1e-5  # limited by the brute-force grid spacing (2e-6 in log N)
    # The search never does worse than the grid.
    n = np.exp(brute)
    brute_loss = (law.loss_at(params, REFS, n, budgets / 6 / n, np) * weights).sum("skill")
    assert float((numeric["loss_opt"] - brute_loss).max()) < 1e-12


def test_mix_optimum_lies_between_skill_optima_and_one_hot_is_exact() -> None:
    law = get_law("chinchilla")
    params = posterior_draws(4)
    budgets = as_budget_array([1e22])
    per_skill = optimum_closed_form(law, params, REFS, budgets)["N_opt"]
    numeric, _ = optimum_numeric(law, params, REFS, budgets, mixes())
    lo, hi = per_skill.min("skill"), per_skill.max("skill")
    assert bool(((numeric["N_opt"] >= lo * (1 - 1e-9)) & (numeric["N_opt"] <= hi * (1 + 1e-9))).all())
    one_hot = numeric["N_opt"].sel(mix=0)  # all weight on "code"
    np.testing.assert_allclose(one_hot, per_skill.sel(skill="code", drop=True), rtol=1e-9)


def test_optimum_beyond_the_search_range_is_reported() -> None:
    """No data term: the loss falls forever with N, so the optimum sits at the boundary and a note says so."""
    params = {k: v.sel(skill="text", drop=True) for k, v in posterior_draws(5, draws=10).items()}
    params["b_ref"] = params["b_ref"] * 0.0
    _, notes = optimum_numeric(NoClosedForm(), params, REFS, as_budget_array([1e21]))
    assert any("boundary" in n and "20 draw(s)" in n for n in notes)


def test_invalid_bracket_and_weights_without_skills() -> None:
    law = get_law("chinchilla")
    params = {k: v.sel(skill="text", drop=True) for k, v in posterior_draws(6, draws=5).items()}
    with pytest.raises(ValueError, match="bracket"):
        optimum_numeric(law, params, REFS, as_budget_array([1e21]), bracket="dense")
    weights = xr.DataArray([1.0], dims="skill", coords={"skill": ["text"]})
    with pytest.raises(ValueError, match="no parameter has a 'skill' dim"):
        optimum_numeric(law, params, REFS, as_budget_array([1e21]), weights)


def test_safeguarded_newton_finds_each_minimum_elementwise() -> None:
    centres = np.linspace(-3.0, 4.0, 50)
    scales = np.linspace(0.5, 3.0, 50)

    def objective(u: np.ndarray, cells: np.ndarray | None) -> np.ndarray:
        c, s = (centres, scales) if cells is None else (centres[cells], scales[cells])
        return np.exp(s * (u - c)) + np.exp(-(u - c))

    truth = centres - np.log(scales) / (scales + 1)
    lo, hi = np.full(50, -10.0), np.full(50, 10.0)
    np.testing.assert_allclose(safeguarded_newton(central_differences(objective), lo, hi), truth, atol=1e-7)


# ---------------------------------------------------------------- against a brute-force reference, law by law
class NoDerivatives(Chinchilla):
    """Chinchilla without its derivatives along C = 6ND: forces central differences (not registered)."""

    def loss_derivatives_along_compute(self, p, refs, log_n, log_half_compute, xp):
        return None


LAWS = {
    "chinchilla": get_law("chinchilla"),
    "chinchilla-fd": NoDerivatives(),
    "kaplan": get_law("kaplan"),
    "overtraining": get_law("overtraining"),
}


def law_draws(name: str, skills: list[str], seed: int, draws: int = 6) -> dict[str, xr.DataArray]:
    """Posterior-like draws of a law's parameters with skill-specific values (dims chain, draw, skill)."""
    rng = np.random.default_rng(seed)
    shape = (2, draws, len(skills))
    k = len(skills)

    def spread(centre: float, skill_step: float, sd: float) -> np.ndarray:
        return centre * np.exp(rng.normal(np.linspace(-skill_step, skill_step, k), sd, shape))

    if name.startswith("chinchilla"):
        raw = {"E": spread(1.8, 0.3, 0.1), "a_ref": spread(0.3, 0.8, 0.2), "b_ref": spread(0.3, -0.8, 0.2)}
        raw |= {"alpha": spread(0.33, 0.15, 0.1), "beta": spread(0.33, -0.15, 0.1)}
    elif name == "kaplan":
        paper = {"N_c": spread(6.4e13, 1.0, 0.3), "D_c": spread(1.8e13, -1.0, 0.3)}
        paper |= {"alpha_N": spread(0.076, 0.2, 0.1), "alpha_D": spread(0.103, -0.2, 0.1)}
        raw = LAWS[name].from_raw(paper, REFS, np)
    else:
        raw = {"E": spread(1.8, 0.3, 0.1), "a_ref": spread(0.3, 0.8, 0.2), "b_ref": spread(0.3, -0.8, 0.2), "eta": spread(0.16, 0.15, 0.1)}
    coords = {"chain": np.arange(2), "draw": np.arange(draws), "skill": skills}
    return {name: xr.DataArray(v, dims=("chain", "draw", "skill"), coords=coords) for name, v in raw.items()}


def reference_log_n(law, params, budgets, weights) -> tuple[xr.DataArray, xr.DataArray]:
    """The brute-force minimum of a dense grid (spacing 5e-3 in log N over +-10 around sqrt(C/6)), and the pre-block
    safeguarded Newton search (central differences, whole arrays, steps below 1e-7) run inside that grid cell."""
    half = budgets / 6.0
    spacing = 5e-3

    def mix_loss(u: xr.DataArray) -> xr.DataArray:
        n = np.exp(u)
        return (law.loss_at(params, REFS, n, half / n, np) * weights).sum("skill")

    offsets = xr.DataArray(np.arange(-10.0, 10.0, spacing), dims="grid")
    grid = 0.5 * np.log(half) + offsets
    at = mix_loss(grid).argmin("grid")
    assert int(at.min()) > 0 and int(at.max()) < offsets.size - 1, "the grid must hold every minimum inside"
    best = grid.isel(grid=at)
    lo, hi = best - spacing, best + spacing
    u = (lo + hi) / 2
    tol, step = 1e-7, 1e-4
    for _ in range(100):
        active = hi - lo > tol
        if not bool(active.any()):
            break
        f_minus, f_mid, f_plus = mix_loss(u - step), mix_loss(u), mix_loss(u + step)
        slope, curvature = (f_plus - f_minus) / (2 * step), (f_plus - 2 * f_mid + f_minus) / step**2
        hi = xr.where(active & (slope > 0), u, hi)
        lo = xr.where(active & (slope <= 0), u, lo)
        newton = u - slope / curvature
        inside = (curvature > 0) & (newton > lo - tol) & (newton < hi + tol)
        done = active & inside & (np.abs(newton - u) < tol)
        u = xr.where(active, xr.where(inside, np.minimum(np.maximum(newton, lo), hi), (lo + hi) / 2), u)
        lo, hi = xr.where(done, u, lo), xr.where(done, u, hi)
    return best, u


def two_or_three_skill_mixes(skills: list[str]) -> xr.DataArray:
    """Mixes with zero and non-zero weights, including single skills (first and last)."""
    if len(skills) == 3:
        weights = np.vstack([mixes().values, [0.0, 0.0, 1.0]])
    else:
        weights = np.array([[1.0, 0.0], [0.8, 0.2], [0.5, 0.5], [0.1, 0.9], [0.0, 1.0]])
    return xr.DataArray(weights, dims=("mix", "skill"), coords={"mix": np.arange(len(weights)), "skill": skills})


@pytest.mark.parametrize("skills", [["code", "text"], SKILLS], ids=["2-skills", "3-skills"])
@pytest.mark.parametrize("name", list(LAWS))
def test_search_matches_brute_force_and_the_reference_newton(name: str, skills: list[str]) -> None:
    law = LAWS[name]
    params = law_draws(name, skills, seed=len(skills) + len(name))
    budgets = as_budget_array(BUDGETS)
    weights = two_or_three_skill_mixes(skills)
    numeric, notes = optimum_numeric(law, params, REFS, budgets, weights)
    assert not any("boundary" in n for n in notes)
    grid_best, reference = reference_log_n(law, params, budgets, weights)
    log_n = np.log(numeric["N_opt"])
    assert float(np.abs(log_n - grid_best).max()) <= 5e-3  # inside the brute-force grid cell
    assert float(np.abs(log_n - reference).max()) < 1e-7  # the search tolerance, against the reference search
    n = np.exp(reference)
    reference_loss = (law.loss_at(params, REFS, n, budgets / 6 / n, np) * weights).sum("skill")
    np.testing.assert_allclose(numeric["loss_opt"], reference_loss, rtol=1e-12)
    np.testing.assert_allclose(numeric["D_opt"] * numeric["N_opt"] * 6, budgets.broadcast_like(numeric["N_opt"]), rtol=1e-12)
    # A mix of one skill is that skill's own optimum: its closed form where the law has one.
    for skill in (skills[0], skills[-1]):
        one_hot = int(np.flatnonzero(weights.sel(skill=skill).values == 1.0)[0])
        own = {k: v.sel(skill=skill, drop=True) for k, v in params.items()}
        closed = law.compute_optimal(own, budgets, REFS, np)
        alone = closed["N_opt"] if closed is not None else optimum_numeric(law, own, REFS, budgets)[0]["N_opt"]
        np.testing.assert_allclose(np.log(numeric["N_opt"].isel(mix=one_hot)), np.log(alone), atol=1e-7, rtol=0, err_msg=skill)


def test_chinchilla_derivatives_along_compute_are_those_of_its_loss() -> None:
    law = get_law("chinchilla")
    params = {k: v.isel(draw=slice(0, 20)) for k, v in posterior_draws(7).items()}
    half = as_budget_array(BUDGETS) / 6
    log_n = 0.5 * np.log(half) + xr.DataArray(np.linspace(-3, 3, 7), dims="u")
    slope, curvature = law.loss_derivatives_along_compute(params, REFS, log_n, np.log(half), np)

    def loss(u: xr.DataArray) -> xr.DataArray:
        return law.loss_at(params, REFS, np.exp(u), half / np.exp(u), np)

    step = 1e-4
    np.testing.assert_allclose(slope, (loss(log_n + step) - loss(log_n - step)) / (2 * step), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(curvature, (loss(log_n + step) - 2 * loss(log_n) + loss(log_n - step)) / step**2, rtol=1e-5, atol=1e-7)
    assert get_law("kaplan").loss_derivatives_along_compute(params, REFS, log_n, np.log(half), np) is None
