"""Mix sweeps and numeric optima searched in blocks of cells give the numbers of one piece."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from bayeslaw.isoflop_search import blocks, central_differences, safeguarded_newton
from bayeslaw.laws import get_law
from bayeslaw.mix import sweep_params, two_skill_path
from bayeslaw.optimum import optimum_numeric

REFS = {"N": 1.2e8, "D": 2.5e9}
BUDGETS = [1e19, 1e21, 1e23, 1e25]


def _params(chains: int = 3, draws: int = 50, seed: int = 0) -> dict[str, xr.DataArray]:
    """Chinchilla parameters for two skills with different exponents (no closed form for their mix)."""
    rng = np.random.default_rng(seed)
    coords = {"chain": np.arange(chains), "draw": np.arange(draws), "skill": ["code", "text"]}

    def lognormal(mu: list[float], sd: float) -> xr.DataArray:
        values = np.exp(rng.normal(mu, sd, (chains, draws, 2)))
        return xr.DataArray(values, dims=("chain", "draw", "skill"), coords=coords)

    return {
        "E": lognormal([0.2, 0.9], 0.05),
        "a_ref": lognormal([-1.6, -0.9], 0.2),
        "b_ref": lognormal([-0.5, -1.1], 0.2),
        "alpha": lognormal([np.log(0.30), np.log(0.36)], 0.1),
        "beta": lognormal([np.log(0.36), np.log(0.30)], 0.1),
    }


@pytest.mark.parametrize("cells", [1, 5, 12, 37, 120, 10**9])
def test_blocks_cover_every_cell_once(cells: int) -> None:
    shape = (3, 10, 4)
    seen = np.zeros(shape, dtype=int)
    for index in blocks(shape, cells):
        assert seen[index].size <= max(cells, 1)
        seen[index] += 1
    assert (seen == 1).all()
    assert blocks(shape, 10**9) == [()]  # small enough: one piece


def test_the_newton_search_of_one_element_does_not_depend_on_the_others() -> None:
    centres = np.array([0.3, -2.0, 5.0, 1e-3])
    scales = np.array([1.0, 1e3, 1e-2, 50.0])

    def objective(u: np.ndarray, cells: np.ndarray | int) -> np.ndarray:
        return scales[cells] * (np.exp(u - centres[cells]) - (u - centres[cells]))  # convex, minimum at u = centre

    every = np.arange(4)
    together = safeguarded_newton(
        central_differences(lambda u, cells: objective(u, every if cells is None else cells)), np.full(4, -10.0), np.full(4, 10.0)
    )
    for i in range(4):
        alone = safeguarded_newton(central_differences(lambda u, cells, i=i: objective(u, i)), -10.0, 10.0)
        assert alone == together[i]
    np.testing.assert_allclose(together, centres, atol=1e-6)


@pytest.mark.parametrize("block_cells", [1, 97, 2_000])
def test_a_sweep_in_blocks_equals_one_piece(block_cells: int) -> None:
    law, params = get_law("chinchilla"), _params()
    path = two_skill_path("code", "text", steps=11)
    reference = path.isel(mix=3, drop=True)
    whole = sweep_params(law, params, REFS, BUDGETS, path, reference, block_cells=10**9)
    blocked = sweep_params(law, params, REFS, BUDGETS, path, reference, block_cells=block_cells)
    xr.testing.assert_identical(whole.draws, blocked.draws)
    assert whole.notes == blocked.notes
    assert (blocked.draws["shift"].isel(mix=3) == 0).all()  # the reference on the path: shift exactly 0


@pytest.mark.parametrize("bracket", ["auto", "grid"])
def test_numeric_optima_in_blocks_equal_one_piece(bracket: str) -> None:
    law, params = get_law("chinchilla"), _params(chains=2, draws=40, seed=3)
    budgets = xr.DataArray(BUDGETS, dims="budget", coords={"budget": BUDGETS})
    weights = xr.DataArray([0.25, 0.75], dims="skill", coords={"skill": ["code", "text"]})
    whole, notes = optimum_numeric(law, params, REFS, budgets, weights, bracket, block_cells=10**9)
    blocked, blocked_notes = optimum_numeric(law, params, REFS, budgets, weights, bracket, block_cells=7)
    xr.testing.assert_identical(whole, blocked)
    assert notes == blocked_notes
