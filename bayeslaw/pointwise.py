"""Log likelihood and posterior predictive at every observation, computed on request in blocks of draws.

Both are arrays of draws x observations: 4,000 draws of 100,000 rows are 3.2 GB each in
float64, and computing them in one piece needs several such temporaries. A fit therefore
does not hold them: it holds an :class:`ObservationGroup` for each (see
:func:`bayeslaw.results.set_lazy_group`), which computes the group when it is asked for
(LOO, the PPC, saving), block by block over the draws, into one float64 array. Each
block is a run of draws of one chain, so the predictive noise is drawn from one
generator in the same order as in one piece: the values equal those of
:func:`bayeslaw.forecast.predictive_groups`, which computes them in one piece (the
eager path, kept for comparison).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import xarray as xr

from bayeslaw.constants import OBS_DIM, OBSERVED
from bayeslaw.data import ScalingData
from bayeslaw.families import Family, get_family
from bayeslaw.forecast import in_support, mean_at_observations, observation_points
from bayeslaw.laws import Law, get_law
from bayeslaw.posterior import family_params
from bayeslaw.variables import get_variable

#: Bytes of one float64 draws x observations block; the temporaries of a block are a few times this.
BLOCK_BYTES = 32 * 2**20
#: The groups an :class:`ObservationGroup` computes.
KINDS = ("log_likelihood", "posterior_predictive")
#: Draws x observations up to which a fit stores these groups (80 MB each in float64), so that its
#: InferenceData works with every ArviZ function as it is; larger fits compute them on request.
STORE_CELLS_MAX = 10_000_000


def draw_blocks(n_chain: int, n_draw: int, n_obs: int, block_bytes: int = BLOCK_BYTES) -> Iterator[tuple[int, slice]]:
    """``(chain, draws)`` blocks in chain-major order, each at most ``block_bytes`` of float64 per observation row set."""
    per_block = max(1, min(n_draw, block_bytes // (8 * max(n_obs, 1))))
    for chain in range(n_chain):
        for start in range(0, n_draw, per_block):
            yield chain, slice(start, min(start + per_block, n_draw))


def observation_coords(data: ScalingData, law: Law) -> dict[str, object]:
    """Coordinates of the ``obs`` dim: observation labels and each observation's group labels."""
    x, groups = observation_points(data, law)
    return {OBS_DIM: x[data.inputs[0]][OBS_DIM].values, **{a: (OBS_DIM, g.values) for a, g in groups.items()}}


def data_groups(data: ScalingData, law: Law) -> dict[str, xr.Dataset]:
    """``observed_data`` (the target, natural scale) and ``constant_data`` (the inputs) over ``obs``."""
    x, _ = observation_points(data, law)
    coords = observation_coords(data, law)
    return {
        "observed_data": xr.Dataset({OBSERVED: xr.DataArray(data.values(data.target), dims=OBS_DIM, coords=coords)}),
        "constant_data": xr.Dataset({k: v.assign_coords(coords) for k, v in x.items()}),
    }


def _blockwise(
    posterior: xr.Dataset,
    data: ScalingData,
    law: Law,
    family: Family,
    refs: Mapping[str, float],
    fill: callable,  # type: ignore[valid-type]
    block_bytes: int,
) -> xr.DataArray:
    """Apply ``fill(mean_block, noise_block) -> (values, dims)`` per block of draws into one float64 array."""
    n_chain, n_draw, n_obs = posterior.sizes["chain"], posterior.sizes["draw"], len(data)
    out: np.ndarray | None = None
    dims: tuple[str, ...] = ()
    blocks = list(draw_blocks(n_chain, n_draw, n_obs, block_bytes))
    labels = observation_points(data, law)[1]
    for chain, draws in blocks:
        part = posterior.isel(chain=slice(chain, chain + 1), draw=draws)
        mean = mean_at_observations(part, data, law, refs)
        values, dims = fill(mean, family_params(part, family, labels))
        if dims[:2] != ("chain", "draw"):
            if len(blocks) > 1:  # the noise's order would differ from one piece's: compute in one piece
                return _blockwise(posterior, data, law, family, refs, fill, block_bytes=2**62)
            out = values
            break
        if out is None:
            out = np.empty((n_chain, n_draw, *values.shape[2:]), dtype=np.float64)
        out[chain : chain + 1, draws] = values
    assert out is not None
    coords = {"chain": posterior["chain"].values, "draw": posterior["draw"].values}
    return xr.DataArray(out, dims=dims, coords={k: v for k, v in coords.items() if k in dims}).assign_coords(observation_coords(data, law))


def log_likelihood(
    posterior: xr.Dataset, data: ScalingData, law: Law, family: Family, refs: Mapping[str, float], *, block_bytes: int = BLOCK_BYTES
) -> xr.DataArray:
    """Log likelihood of every observation per draw (``chain``, ``draw``, ``obs``), on the family's link scale."""
    y_link = family.transform(data.values(data.target))

    def fill(mean: xr.DataArray, noise: Mapping[str, xr.DataArray]) -> tuple[np.ndarray, tuple[str, ...]]:
        b_mean, *b_fam = xr.broadcast(family.transform(mean), *noise.values())
        values = dict(zip(noise, (b.values for b in b_fam), strict=True))
        return family.logpdf(y_link[None, None, :], b_mean.values, values), b_mean.dims

    return _blockwise(posterior, data, law, family, refs, fill, block_bytes)


def posterior_predictive(
    posterior: xr.Dataset,
    data: ScalingData,
    law: Law,
    family: Family,
    refs: Mapping[str, float],
    seed: int,
    *,
    block_bytes: int = BLOCK_BYTES,
) -> xr.DataArray:
    """A new observation per draw at every observation's inputs (natural scale), NaN where the mean leaves the target's support.

    The noise comes from one generator seeded with ``seed``, drawn block after block in
    chain-major order, as :func:`bayeslaw.forecast.sample_observations` draws it in one piece.
    """
    rng = np.random.default_rng(seed)
    target = data.target
    inside = get_variable(target).support.inside
    outside = [0, 0]

    def fill(mean: xr.DataArray, noise: Mapping[str, xr.DataArray]) -> tuple[np.ndarray, tuple[str, ...]]:
        valid = in_support(mean, target)
        safe = xr.where(valid, mean, inside)
        b_mean, *b_fam = xr.broadcast(family.transform(safe), *noise.values())
        noisy = family.sample(rng, b_mean.values, dict(zip(noise, (b.values for b in b_fam), strict=True)))
        outside[0] += int((~valid).sum())
        outside[1] += int(valid.size)
        return b_mean.copy(data=family.inverse(noisy)).where(valid.broadcast_like(b_mean)).values, b_mean.dims

    predicted = _blockwise(posterior, data, law, family, refs, fill, block_bytes)
    n_bad, n_all = outside
    if n_bad:
        warnings.warn(
            f"{n_bad} draw(s) ({n_bad / n_all:.2%}) of the law's mean fall outside the support of {target!r} "
            "(the law is extrapolated beyond its valid range); their observations are NaN and intervals use the rest",
            UserWarning,
            stacklevel=3,
        )
    return predicted


@dataclass(frozen=True)
class ObservationGroup:
    """The recipe of a fit's ``log_likelihood`` or ``posterior_predictive`` group, computed from its posterior on request.

    Small and picklable (the data, the law's and family's names, the reference scales
    and the predictive seed), so it travels with the results to and from worker processes.
    """

    kind: str
    data: ScalingData
    law: str
    family: str
    refs: Mapping[str, float]
    seed: int

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown observation group {self.kind!r}; known: {KINDS}")

    def __call__(self, posterior: xr.Dataset) -> xr.Dataset:
        """The group as a Dataset with variable ``y`` over ``chain``, ``draw`` and ``obs``."""
        law, family = get_law(self.law), get_family(self.family)
        if self.kind == "log_likelihood":
            values = log_likelihood(posterior, self.data, law, family, self.refs)
        else:
            values = posterior_predictive(posterior, self.data, law, family, self.refs, self.seed)
        return xr.Dataset({OBSERVED: values})


__all__ = ["BLOCK_BYTES", "ObservationGroup", "data_groups", "draw_blocks", "log_likelihood", "posterior_predictive"]
