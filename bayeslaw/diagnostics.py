"""Convergence checks run after every fit; failures are loud, never hidden."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from bayeslaw import results
from bayeslaw.constants import (
    DIVERGENCE_FRACTION_MAX,
    ESS_BULK_MIN,
    ESS_TAIL_MIN,
    RHAT_MAX,
    STUCK_CHAIN_MIN_GAP,
    STUCK_CHAIN_SD_MULTIPLE,
)


class ConvergenceWarning(UserWarning):
    """Issued when a fit fails its convergence checks."""


@dataclass(frozen=True)
class Diagnostics:
    """Worst-case convergence statistics over the checked parameters.

    Attributes
    ----------
    max_rhat, min_ess_bulk, min_ess_tail
        Extremes over every checked parameter (and group element).
    n_divergent, n_draws
        Divergent transitions and total post-warm-up draws.
    problems
        One sentence per failed check; empty when the fit converged.
    thresholds
        The thresholds that were applied.
    """

    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    n_divergent: int
    n_draws: int
    problems: tuple[str, ...] = ()
    thresholds: dict[str, float] = field(default_factory=dict)
    cautions: tuple[str, ...] = ()

    @property
    def converged(self) -> bool:
        """True when every check passed."""
        return not self.problems

    def banner(self) -> str:
        """One line for reports: OK, or a loud warning listing the failures."""
        stats = (
            f"max r_hat {self.max_rhat:.3f}, min bulk ESS {self.min_ess_bulk:.0f}, "
            f"min tail ESS {self.min_ess_tail:.0f}, divergences {self.n_divergent}/{self.n_draws}"
        )
        if self.converged:
            caution = "; CAUTION: " + "; ".join(self.cautions) if self.cautions else ""
            return f"Convergence OK: {stats}{caution}"
        return "WARNING: NOT CONVERGED: " + "; ".join(self.problems) + f" ({stats}). Do not trust these results."

    def warn(self, stacklevel: int = 3) -> None:
        """Issue a :class:`ConvergenceWarning` with the banner when the fit did not converge (else do nothing).

        The default ``stacklevel`` points at the caller of the function that calls this method,
        e.g. at the user's line that asked a question of an unconverged fit.
        """
        if not self.converged:
            warnings.warn(self.banner(), ConvergenceWarning, stacklevel=stacklevel)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (saved with the fit)."""
        return {
            "max_rhat": self.max_rhat,
            "min_ess_bulk": self.min_ess_bulk,
            "min_ess_tail": self.min_ess_tail,
            "n_divergent": self.n_divergent,
            "n_draws": self.n_draws,
            "problems": list(self.problems),
            "cautions": list(self.cautions),
            "thresholds": self.thresholds,
        }

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> Diagnostics:
        """Inverse of :meth:`to_dict`."""
        return cls(**{**payload, "problems": tuple(payload["problems"]), "cautions": tuple(payload.get("cautions", ()))})


@dataclass(frozen=True)
class StuckChains:
    """Chains whose mean log density lies far below the best chain's.

    Attributes
    ----------
    chains
        Indices of the stuck chains (empty when none is).
    description
        One sentence with the numbers (empty when none is).
    """

    chains: tuple[int, ...]
    description: str


def stuck_chains(
    log_density: xr.DataArray,
    *,
    min_gap: float = STUCK_CHAIN_MIN_GAP,
    sd_multiple: float = STUCK_CHAIN_SD_MULTIPLE,
) -> StuckChains:
    """Find chains sitting in a local mode of much lower log density than the best chain's.

    Chains that sample the same posterior have mean log densities within a few Monte
    Carlo errors of each other (a fraction of the within-chain sd). A chain whose mean
    lies more than ``max(min_gap, sd_multiple * sd)`` below the best chain's, with ``sd``
    the median within-chain sd, sits in another mode; a mode that much lower holds no
    real posterior mass unless its volume is larger by a factor of at least ``e**gap``.

    Parameters
    ----------
    log_density
        Log density of each draw, dims ``chain`` and ``draw``.
    min_gap, sd_multiple
        The threshold, in nats and in within-chain sds.
    """
    means = log_density.mean("draw").values
    sd = float(np.median(log_density.std("draw").values))
    best = int(np.argmax(means))
    threshold = max(min_gap, sd_multiple * sd)
    stuck = tuple(int(c) for c in np.flatnonzero(means[best] - means > threshold))
    if not stuck:
        return StuckChains((), "")
    gaps = ", ".join(f"chain {c} {means[best] - means[c]:.1f} below" for c in stuck)
    description = (
        f"mean log density per chain {', '.join(f'{m:.1f}' for m in means)}: {gaps} the best chain ({best}), "
        f"more than the threshold max({min_gap:g}, {sd_multiple:g} x within-chain sd {sd:.1f}) = {threshold:.1f}"
    )
    return StuckChains(stuck, description)


def worst_rhat_detail(post: xr.Dataset, rhat: xr.Dataset) -> str:
    """Name the element with the largest r_hat and its median in each chain.

    Chain medians that sit apart (``0.315, 0.123, 0.115, 0.115``) point to chains in
    different modes; medians that agree point to slow mixing (more draws help).
    """
    worst = max(
        ((float(np.nanmax(r.values)), name) for name, r in rhat.data_vars.items() if np.any(np.isfinite(r.values))),
        default=None,
    )
    if worst is None:
        return "r_hat is undefined for every parameter"
    _, name = worst
    r = rhat[name]
    at = np.unravel_index(int(np.nanargmax(r.values)), r.shape)
    where = {dim: r[dim].values[i] if dim in r.coords else int(i) for dim, i in zip(r.dims, at, strict=True)}
    element = post[name].isel({dim: int(i) for dim, i in zip(r.dims, at, strict=True)})
    medians = element.median([dim for dim in element.dims if dim != "chain"]).values
    label = name + (f"[{', '.join(str(v) for v in where.values())}]" if where else "")
    return f"worst: {label}, median per chain {', '.join(f'{m:.4g}' for m in np.atleast_1d(medians))}"


def check_convergence(
    idata: results.Results,
    var_names: list[str],
    *,
    rhat_max: float = RHAT_MAX,
    ess_bulk_min: float = ESS_BULK_MIN,
    ess_tail_min: float = ESS_TAIL_MIN,
    divergence_fraction_max: float = DIVERGENCE_FRACTION_MAX,
    warn: bool = True,
) -> Diagnostics:
    """Check r_hat, bulk/tail ESS and divergences of ``var_names``; warn loudly on failure."""
    post = results.select_vars(results.posterior(idata), var_names)
    rhat = results.rhat(post)
    max_rhat = float(rhat.to_array().max())
    min_bulk = float(results.ess(post, "bulk").to_array().min())
    min_tail = float(results.ess(post, "tail").to_array().min())
    n_div = results.divergences(idata)
    n_draws = results.n_draws(idata)
    problems = []
    if not max_rhat <= rhat_max:
        problems.append(f"r_hat {max_rhat:.3f} > {rhat_max} ({worst_rhat_detail(post, rhat)})")
    if not min_bulk >= ess_bulk_min:
        problems.append(f"bulk ESS {min_bulk:.0f} < {ess_bulk_min:.0f}")
    if not min_tail >= ess_tail_min:
        problems.append(f"tail ESS {min_tail:.0f} < {ess_tail_min:.0f}")
    cautions = []
    if n_div > divergence_fraction_max * n_draws:
        problems.append(f"{n_div} divergent transitions ({n_div / n_draws:.2%} of draws > {divergence_fraction_max:.1%})")
    elif n_div:
        cautions.append(
            f"{n_div} divergent transition(s) ({n_div / n_draws:.2%} of draws, under the {divergence_fraction_max:.1%} threshold): "
            "inspect them (e.g. a pairs plot) before trusting tail quantities"
        )
    diag = Diagnostics(
        max_rhat=max_rhat,
        min_ess_bulk=min_bulk,
        min_ess_tail=min_tail,
        n_divergent=n_div,
        n_draws=n_draws,
        problems=tuple(problems),
        cautions=tuple(cautions),
        thresholds={
            "rhat_max": rhat_max,
            "ess_bulk_min": ess_bulk_min,
            "ess_tail_min": ess_tail_min,
            "divergence_fraction_max": divergence_fraction_max,
        },
    )
    if warn:
        diag.warn(stacklevel=4)
    return diag
