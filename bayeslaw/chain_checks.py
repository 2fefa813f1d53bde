"""Chains that sample different modes, told by where their draws sit rather than by log density.

:func:`bayeslaw.diagnostics.stuck_chains` catches a chain whose mean log density lies far
below the best chain's. A chain can also sit in another mode whose log density is close
to the main one's (on the Chinchilla law, the mode in which the N and D terms trade roles
can be only a few nats lower), and then the log-density gap says nothing. Its draws of
some parameter are still far from the other chains' draws.

:func:`chains_apart` compares, for every scalar element of every posterior variable, each
pair of chains' medians against the parameter's within-chain spread (a robust sd: the
interquartile range / 1.349, pooled over chains as the median). Chains that sample one
posterior have medians within a Monte Carlo error of each other: about
``sd * sqrt(2 * pi / 4 / ess_per_chain)``, a tenth of an sd at 100 effective draws per chain.
Two chains are *apart* when some element's medians differ by more than
``CHAIN_MEDIAN_SDS`` (4) such sds, i.e. their bulk of draws barely overlap. Chains are then
grouped (chains not apart from each other share a group) and one group is kept:

- a group whose mean log density lies clearly below the best group's (more than
  ``max(CHAIN_GROUP_MIN_GAP, CHAIN_GROUP_SD_MULTIPLE x within-chain sd)``, 5 nats or 2 sds)
  samples a lower mode and is never kept, however many chains it holds: on the over-training
  data two of four chains can settle in a mode 15 nats below the other two's, under the
  stuck-chain gap of 20 nats;
- of the groups left, the largest is kept (on a tie, the one of higher mean log density).

Every chain outside the kept group is reported, as stuck chains are. ``among`` restricts
the check to some chains (those the log-density check did not already flag).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from bayeslaw.constants import CHAIN_GROUP_MIN_GAP, CHAIN_GROUP_SD_MULTIPLE, CHAIN_MEDIAN_SDS
from bayeslaw.diagnostics import StuckChains

#: A robust sd from an interquartile range (Normal: IQR = 1.349 sd).
_IQR_PER_SD = 1.349


def median_gaps(draws: np.ndarray) -> np.ndarray:
    """Largest standardised gap between the medians of each pair of chains.

    Parameters
    ----------
    draws
        Array ``(chain, draw, element)`` of scalar draws.

    Returns
    -------
    ndarray
        ``(chain, chain)``: over elements, the largest ``|median_i - median_j| / sd``, with ``sd``
        the element's median over chains of the within-chain robust sd. Elements that do
        not vary within any chain (constants) are skipped.
    """
    medians = np.median(draws, axis=1)
    q75, q25 = np.percentile(draws, [75, 25], axis=1)
    sd = np.median((q75 - q25) / _IQR_PER_SD, axis=0)
    varying = np.isfinite(sd) & (sd > 0) & np.all(np.isfinite(medians), axis=0)
    if not varying.any():
        return np.zeros((draws.shape[0], draws.shape[0]))
    scaled = medians[:, varying] / sd[varying]
    return np.max(np.abs(scaled[:, None, :] - scaled[None, :, :]), axis=-1)


def stack_elements(posterior: xr.Dataset) -> tuple[np.ndarray, list[str]]:
    """Every scalar element of every variable as ``(chain, draw, element)``, with element labels."""
    arrays, labels = [], []
    for name, da in posterior.data_vars.items():
        if not {"chain", "draw"} <= set(da.dims) or not np.issubdtype(da.dtype, np.floating):
            continue
        other = [d for d in da.dims if d not in ("chain", "draw")]
        values = da.transpose("chain", "draw", *other).values.reshape(da.sizes["chain"], da.sizes["draw"], -1)
        arrays.append(values)
        labels += [_label(da, str(name), other, at) for at in np.ndindex(*[da.sizes[d] for d in other])]
    if not arrays:
        return np.zeros((posterior.sizes.get("chain", 0), posterior.sizes.get("draw", 0), 0)), []
    return np.concatenate(arrays, axis=-1), labels


def _label(da: xr.DataArray, name: str, dims: list[str], at: tuple[int, ...]) -> str:
    """``name[label, ...]`` of one element (coordinate labels where the dims have them)."""
    if not dims:
        return name
    return f"{name}[{', '.join(str(da[d].values[i]) if d in da.coords else str(i) for d, i in zip(dims, at, strict=True))}]"


def chain_groups(gaps: np.ndarray, threshold: float) -> list[list[int]]:
    """Chains joined when their gap is at most ``threshold`` (connected components), in order of first chain."""
    n = gaps.shape[0]
    group = list(range(n))

    def root(i: int) -> int:
        while group[i] != i:
            group[i] = group[group[i]]
            i = group[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            if gaps[i, j] <= threshold:
                group[root(j)] = root(i)
    out: dict[int, list[int]] = {}
    for i in range(n):
        out.setdefault(root(i), []).append(i)
    return list(out.values())


def chains_apart(
    posterior: xr.Dataset,
    log_density: xr.DataArray | None,
    *,
    threshold: float = CHAIN_MEDIAN_SDS,
    among: tuple[int, ...] | None = None,
) -> StuckChains:
    """Chains whose medians of some parameter sit far from the kept group's (see the module docstring).

    Parameters
    ----------
    posterior
        Posterior draws (dims ``chain``, ``draw`` and any others).
    log_density
        Log density per draw (``chain``, ``draw``), to choose the group kept.
    threshold
        Gap between two chains' medians, in within-chain sds, above which they are apart.
    among
        Indices of the chains to compare (default: all); the result names chains by their
        indices in ``posterior``.
    """
    chains = tuple(range(posterior.sizes.get("chain", 0))) if among is None else tuple(among)
    draws, labels = stack_elements(posterior)
    if len(chains) < 2 or draws.shape[-1] == 0:
        return StuckChains((), "")
    draws = draws[list(chains)]
    gaps = median_gaps(draws)
    groups = chain_groups(gaps, threshold)
    if len(groups) < 2:
        return StuckChains((), "")
    means = None if log_density is None else log_density.isel(chain=list(chains)).mean("draw").values
    kept = kept_group(groups, means, None if log_density is None else float(np.median(log_density.std("draw").values)))
    stuck = tuple(chains[c] for c in range(len(chains)) if c not in kept)
    worst_pair = np.unravel_index(int(np.argmax(gaps)), gaps.shape)
    element = _worst_element(draws, worst_pair)
    medians = np.median(draws[:, :, element], axis=1)
    compared = "" if among is None else f" (of chains {chains})"
    density = f"; mean log density per chain {', '.join(f'{m:.1f}' for m in means)}" if means is not None else ""
    description = (
        f"chains {stuck} sample away from chains {tuple(chains[c] for c in kept)}{compared}: {labels[element]} has median per chain "
        f"{', '.join(f'{m:.4g}' for m in medians)}, {gaps[worst_pair]:.1f} within-chain sds apart at most "
        f"(threshold {threshold:g}){density}"
    )
    return StuckChains(stuck, description)


def kept_group(groups: list[list[int]], means: np.ndarray | None, sd: float | None) -> list[int]:
    """The group of chains kept: the largest of those not clearly below the best group in mean log density.

    Parameters
    ----------
    groups
        Groups of chain positions (from :func:`chain_groups`).
    means
        Mean log density per chain (``None``: keep the largest group, the first on a tie).
    sd
        Typical within-chain sd of the log density; a group more than
        ``max(CHAIN_GROUP_MIN_GAP, CHAIN_GROUP_SD_MULTIPLE * sd)`` below the best group is never kept.
    """
    if means is None:
        return max(groups, key=len)
    density = [float(np.mean(means[g])) for g in groups]
    gap = max(CHAIN_GROUP_MIN_GAP, CHAIN_GROUP_SD_MULTIPLE * (sd or 0.0))
    candidates = [i for i, d in enumerate(density) if max(density) - d <= gap]
    return groups[max(candidates, key=lambda i: (len(groups[i]), density[i]))]


def _worst_element(draws: np.ndarray, pair: tuple[int, ...]) -> int:
    """The element whose standardised median gap between the two chains of ``pair`` is largest."""
    q75, q25 = np.percentile(draws, [75, 25], axis=1)
    sd = np.median((q75 - q25) / _IQR_PER_SD, axis=0)
    medians = np.median(draws, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.where(sd > 0, np.abs(medians[pair[0]] - medians[pair[1]]) / sd, 0.0)
    return int(np.nanargmax(gap))
