"""Chains in different modes told apart by their parameter medians (bayeslaw.chain_checks)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from bayeslaw.chain_checks import chain_groups, chains_apart, kept_group, median_gaps
from bayeslaw.constants import CHAIN_MEDIAN_SDS


def _posterior(shifts: list[float], *, n_draws: int = 500, rho: float = 0.0, seed: int = 0) -> xr.Dataset:
    """Draws of alpha (AR(1) with coefficient rho, unit sd) and of a 3-element E, one chain per shift of alpha."""
    rng = np.random.default_rng(seed)
    n_chains = len(shifts)
    noise = rng.standard_normal((n_chains, n_draws))
    alpha = np.empty_like(noise)
    alpha[:, 0] = noise[:, 0]
    for t in range(1, n_draws):
        alpha[:, t] = rho * alpha[:, t - 1] + np.sqrt(1 - rho**2) * noise[:, t]
    alpha = 0.3 + 0.02 * (alpha + np.asarray(shifts)[:, None])
    e = 1.8 + 0.05 * rng.standard_normal((n_chains, n_draws, 3))
    return xr.Dataset(
        {"alpha": (("chain", "draw"), alpha), "E": (("chain", "draw", "skill"), e)},
        coords={"skill": ["a", "b", "c"]},
    )


def _log_density(means: list[float], n_draws: int = 500) -> xr.DataArray:
    rng = np.random.default_rng(1)
    return xr.DataArray(np.asarray(means)[:, None] + 3.0 * rng.standard_normal((len(means), n_draws)), dims=("chain", "draw"))


def test_chains_in_one_mode_are_not_apart_even_when_mixing_slowly() -> None:
    assert chains_apart(_posterior([0, 0, 0, 0]), _log_density([0, 0, 0, 0])).chains == ()
    # strongly autocorrelated chains (about 25 effective draws each): medians wander but stay within the threshold
    slow = _posterior([0, 0, 0, 0], rho=0.95)
    assert median_gaps(np.stack([slow["alpha"].values], axis=-1)).max() < CHAIN_MEDIAN_SDS
    assert chains_apart(slow, None).chains == ()


def test_a_chain_in_another_mode_is_found_although_its_log_density_is_as_high() -> None:
    found = chains_apart(_posterior([0, 0, 8, 0]), _log_density([0, 0, 0.5, 0]))
    assert found.chains == (2,)
    assert "alpha" in found.description and "(0, 1, 3)" in found.description


def test_a_two_two_split_keeps_the_chains_of_higher_log_density() -> None:
    found = chains_apart(_posterior([0, 8, 0, 8]), _log_density([0, -4, 0, -4]))
    assert found.chains == (1, 3)
    found = chains_apart(_posterior([0, 8, 0, 8]), _log_density([-4, 0, -4, 0]))
    assert found.chains == (0, 2)


def test_a_grouped_element_apart_is_named() -> None:
    post = _posterior([0, 0, 0, 0])
    e = post["E"].values.copy()
    e[3, :, 1] += 0.5  # 10 within-chain sds
    post["E"] = (("chain", "draw", "skill"), e)
    found = chains_apart(post, None)
    assert found.chains == (3,)
    assert "E[b]" in found.description


def test_chain_groups_joins_chains_transitively() -> None:
    gaps = np.array([[0, 1, 9, 9], [1, 0, 2, 9], [9, 2, 0, 9], [9, 9, 9, 0]], dtype=float)
    assert chain_groups(gaps, 3.0) == [[0, 1, 2], [3]]


def test_one_chain_or_no_variables_gives_nothing() -> None:
    assert chains_apart(_posterior([0]), None).chains == ()
    assert chains_apart(xr.Dataset(), None).chains == ()


def test_a_larger_group_in_a_clearly_lower_mode_is_not_kept() -> None:
    # two chains apart from the other two, 15 nats lower: under the stuck-chain gap (20), far over the group gap
    found = chains_apart(_posterior([0, 8, 8, 0]), _log_density([0, -15, -15, 0]))
    assert found.chains == (1, 2)
    # three chains in the lower mode, one in the higher: the single chain is kept
    found = chains_apart(_posterior([8, 8, 0, 8]), _log_density([-15, -15, 0, -15]))
    assert found.chains == (0, 1, 3)
    assert "from chains (2,)" in found.description


def test_groups_of_close_log_density_keep_the_largest() -> None:
    # 3 nats lower (within the group gap of max(5, 2 x sd 3) = 6 nats): the three chains are kept
    assert chains_apart(_posterior([8, 8, 0, 8]), _log_density([-3, -3, 0, -3])).chains == (2,)


def test_kept_group_rule() -> None:
    groups = [[0, 1, 2], [3]]
    assert kept_group(groups, None, None) == [0, 1, 2]
    assert kept_group(groups, np.array([0.0, 0.0, 0.0, 10.0]), 1.0) == [3]
    assert kept_group(groups, np.array([0.0, 0.0, 0.0, 4.0]), 1.0) == [0, 1, 2]
    # a larger within-chain sd widens the gap: 10 nats is within 2 x sd 6
    assert kept_group(groups, np.array([0.0, 0.0, 0.0, 10.0]), 6.0) == [0, 1, 2]


def test_among_compares_only_those_chains_and_names_them_by_their_index() -> None:
    post = _posterior([30, 0, 8, 0])
    found = chains_apart(post, _log_density([-90, 0, 0, 0]), among=(1, 2, 3))
    assert found.chains == (2,)
    assert "from chains (1, 3) (of chains (1, 2, 3))" in found.description
    assert chains_apart(post, None, among=(1, 3)).chains == ()
