"""The one module that touches ArviZ's InferenceData.

Groups, attributes, NetCDF I/O, diagnostics and LOO all go through here, so the
move to ArviZ 1.x (DataTree) changes this file only. Everything else works with
the plain :class:`xarray.Dataset` objects these functions return.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import arviz as az
import numpy as np
import xarray as xr

from bayeslaw import fast_diagnostics
from bayeslaw.constants import ATTR_PREFIX

Results = az.InferenceData

#: A group computed from the posterior on request (e.g. :class:`bayeslaw.pointwise.ObservationGroup`); picklable.
LazyGroup = Callable[[xr.Dataset], xr.Dataset]
#: Attribute of an InferenceData holding its lazy groups by name (travels with it when pickled).
_LAZY_ATTR = "_bayeslaw_lazy_groups"


class FitFileError(ValueError):
    """Raised when a file is not a readable bayeslaw fit."""


def posterior(idata: Results) -> xr.Dataset:
    """The posterior group (dims ``chain``, ``draw`` and any parameter dims)."""
    return idata.posterior


def sample_stats(idata: Results) -> xr.Dataset:
    """The sampler statistics group."""
    return idata.sample_stats


def _lazy(idata: Results) -> dict[str, LazyGroup]:
    """The lazy groups of ``idata`` by name (an empty dict when it has none)."""
    return vars(idata).get(_LAZY_ATTR, {})


def has_group(idata: Results, group: str) -> bool:
    """Whether ``idata`` holds ``group``, stored or computed on request."""
    return group in idata.groups() or group in _lazy(idata)


def lazy_groups(idata: Results) -> tuple[str, ...]:
    """Names of the groups of ``idata`` that are computed on request (not stored)."""
    return tuple(_lazy(idata))


def get_group(idata: Results, group: str) -> xr.Dataset:
    """Return ``group`` (computing a lazy one from the posterior), raising a clear error when it is missing."""
    if group in idata.groups():
        return idata[group]
    if group in _lazy(idata):
        return _lazy(idata)[group](posterior(idata))
    raise KeyError(f"the results hold no {group!r} group (have {[*idata.groups(), *_lazy(idata)]})")


def set_group(idata: Results, group: str, dataset: xr.Dataset) -> None:
    """Add or replace ``group`` (a stored group replaces a lazy one of that name)."""
    drop_group(idata, group)
    idata.add_groups({group: dataset})


def set_lazy_group(idata: Results, group: str, compute: LazyGroup) -> None:
    """Make ``group`` one computed on request by ``compute(posterior)`` (replacing a stored one of that name).

    The group is computed each time it is asked for and not kept, so results hold
    draws x observations arrays only while a caller uses them.
    """
    if group in idata.groups():
        del idata[group]
    vars(idata)[_LAZY_ATTR] = {**_lazy(idata), group: compute}


def materialize(idata: Results) -> None:
    """Compute every lazy group of ``idata`` and store it (the same values :func:`get_group` gives)."""
    for group in lazy_groups(idata):
        set_group(idata, group, get_group(idata, group))


def drop_group(idata: Results, group: str) -> None:
    """Remove ``group``, stored or lazy (nothing when absent)."""
    if group in idata.groups():
        del idata[group]
    if group in _lazy(idata):
        vars(idata)[_LAZY_ATTR] = {k: v for k, v in _lazy(idata).items() if k != group}


def drop_warmup(idata: Results) -> None:
    """Remove warm-up groups (nutpie stores them); they are not needed downstream."""
    for group in list(idata.groups()):
        if group.startswith("warmup"):
            del idata[group]


def divergences(idata: Results) -> int:
    """Number of divergent post-warm-up transitions."""
    stats = sample_stats(idata)
    key = "diverging" if "diverging" in stats else None
    return int(stats[key].sum()) if key else 0


def log_density(idata: Results) -> xr.DataArray | None:
    """Log density of each draw (``chain``, ``draw``): nutpie's ``logp`` or PyMC's ``lp``; None if absent."""
    stats = sample_stats(idata)
    for key in ("logp", "lp"):
        if key in stats:
            return stats[key]
    return None


def pop_unconstrained_draws(idata: Results) -> np.ndarray | None:
    """Remove and return nutpie's ``unconstrained_draw`` stat, shape (chain, draw, n_dim); None if absent."""
    stats = sample_stats(idata)
    if "unconstrained_draw" not in stats:
        return None
    values = stats["unconstrained_draw"].transpose("chain", "draw", ...).values
    set_group(idata, "sample_stats", stats.drop_vars("unconstrained_draw"))
    return values


def replace_chains(idata: Results, new: Results, chains: Sequence[int]) -> Results:
    """``idata`` with its ``chains`` replaced, in order, by the chains of ``new`` (every group with a ``chain`` dim).

    The other chains keep their draws. Groups only ``idata`` holds, or without chains, are kept as they are.
    """
    chains = list(chains)

    def merge(group: str, dataset: xr.Dataset, fresh: xr.Dataset) -> xr.Dataset:
        if fresh.sizes["chain"] != len(chains):
            raise ValueError(f"{group}: {fresh.sizes['chain']} new chains for {len(chains)} replaced ones")
        pieces = [fresh.isel(chain=[chains.index(c)]) if c in chains else dataset.isel(chain=[c]) for c in range(dataset.sizes["chain"])]
        return _concat(pieces, "chain").assign_coords(chain=dataset["chain"].values)

    return _merge_groups(idata, new, {"chain"}, merge)


def append_draws(idata: Results, more: Results) -> Results:
    """``idata`` with ``more``'s draws appended to each chain (every group both hold with ``chain`` and ``draw`` dims).

    Chain ``c`` of the result is chain ``c`` of ``idata`` followed by chain ``c`` of ``more``; draws are renumbered
    from 0. Groups only ``idata`` holds, or without draws, are kept as they are.
    """

    def merge(group: str, dataset: xr.Dataset, extra: xr.Dataset) -> xr.Dataset:
        if extra.sizes["chain"] != dataset.sizes["chain"]:
            raise ValueError(f"{group}: {extra.sizes['chain']} chains to append to {dataset.sizes['chain']}")
        merged = _concat([dataset, extra.assign_coords(chain=dataset["chain"].values)], "draw")
        return merged.assign_coords(draw=np.arange(merged.sizes["draw"]))

    return _merge_groups(idata, more, {"chain", "draw"}, merge)


def _merge_groups(idata: Results, other: Results, dims: set[str], merge: Callable[[str, xr.Dataset, xr.Dataset], xr.Dataset]) -> Results:
    """``idata`` with ``merge(group, its dataset, other's)`` for every group both hold with all of ``dims``; the rest kept.

    Each merged group keeps ``idata``'s attributes.
    """
    groups = {}
    for group in idata.groups():
        dataset = idata[group]
        if not dims <= set(dataset.dims) or group not in other.groups():
            groups[group] = dataset
            continue
        merged = merge(group, dataset, other[group])
        merged.attrs = dataset.attrs
        groups[group] = merged
    return az.InferenceData(**groups)


def _concat(pieces: list[xr.Dataset], dim: str) -> xr.Dataset:
    return xr.concat(pieces, dim=dim, data_vars="all", coords="minimal", compat="override", join="exact")


def n_draws(idata: Results) -> int:
    """Total post-warm-up draws over all chains."""
    post = posterior(idata)
    return int(post.sizes["chain"] * post.sizes["draw"])


def rhat(dataset: xr.Dataset) -> xr.Dataset:
    """Rank-normalised split R-hat of every variable (ArviZ's numbers, vectorised: :mod:`bayeslaw.fast_diagnostics`)."""
    return fast_diagnostics.rhat_dataset(dataset)


def ess(dataset: xr.Dataset, method: str) -> xr.Dataset:
    """Effective sample size (``bulk`` or ``tail``: ArviZ's numbers, vectorised; other methods by ArviZ)."""
    if method in ("bulk", "tail"):
        return fast_diagnostics.ess_dataset(dataset, method)
    return az.ess(dataset, method=method)


def set_attrs(idata: Results, values: Mapping[str, Any]) -> None:
    """Stamp bayeslaw attributes (JSON-encoded when not a string) on the posterior group."""
    post = posterior(idata)
    for key, value in values.items():
        post.attrs[ATTR_PREFIX + key] = value if isinstance(value, str) else json.dumps(value)


def get_attr(idata: Results, key: str) -> str:
    """Read a bayeslaw attribute stamped with :func:`set_attrs`."""
    try:
        return posterior(idata).attrs[ATTR_PREFIX + key]
    except KeyError:
        raise FitFileError(f"missing attribute {ATTR_PREFIX + key!r}: not a bayeslaw fit") from None


def get_json_attr(idata: Results, key: str) -> Any:
    """Read and decode a JSON attribute."""
    return json.loads(get_attr(idata, key))


#: Groups every bayeslaw fit file holds; a file missing one is refused.
REQUIRED_GROUPS = ("posterior", "sample_stats", "observed_data", "constant_data", "log_likelihood", "posterior_predictive")
#: Attribute holding the SHA-256 digest of the draws and the bayeslaw attributes.
DIGEST_ATTR = "digest"


def digest(idata: Results) -> str:
    """SHA-256 over every group's variables (names, dtypes, shapes, values) and the bayeslaw attributes."""
    h = hashlib.sha256()
    for group in sorted(idata.groups()):
        dataset = idata[group]
        for name in sorted(dataset.data_vars):
            values = np.ascontiguousarray(dataset[name].values)
            h.update(f"{group}/{name}/{values.dtype.str}/{values.shape}".encode())
            h.update(values.tobytes() if values.dtype.kind != "O" else repr(values.tolist()).encode())
    attrs = posterior(idata).attrs
    for key in sorted(attrs):
        if key.startswith(ATTR_PREFIX) and key != ATTR_PREFIX + DIGEST_ATTR:
            h.update(f"{key}={attrs[key]}".encode())
    return h.hexdigest()


def _size_hint(idata: Results) -> int:
    return int(sum(idata[g][v].nbytes for g in idata.groups() for v in idata[g].variables))


def save(idata: Results, path: str | Path) -> Path:
    """Write ``idata`` to NetCDF at ``path`` atomically, with a digest checked by :func:`load`.

    The file is written to a temporary file in the same folder and renamed over
    ``path`` (see :mod:`bayeslaw.atomic`): an interrupted or failed save, or a
    full disk, leaves any earlier file at ``path`` untouched.
    Lazy groups are computed and written like stored ones, then dropped from memory again.
    """
    from bayeslaw.atomic import atomic_write

    lazy = _lazy(idata)
    for group, compute in lazy.items():
        idata.add_groups({group: compute(posterior(idata))})
    try:
        posterior(idata).attrs[ATTR_PREFIX + DIGEST_ATTR] = digest(idata)
        return atomic_write(path, lambda tmp: idata.to_netcdf(str(tmp)), size_hint=_size_hint(idata))
    finally:
        for group in lazy:
            if group in idata.groups():
                del idata[group]


def load(path: str | Path, *, required: Sequence[str] = REQUIRED_GROUPS) -> Results:
    """Read a NetCDF file written by :func:`save`, refusing damaged or altered files.

    Raises
    ------
    FitFileError
        If the file is unreadable, lacks a group of ``required``, holds non-finite
        posterior draws, or its content does not match the digest stored at save time.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such fit file: {path}")
    try:
        idata = az.from_netcdf(str(path))
    except Exception as err:  # netCDF/HDF5 raise many types on corrupt input
        raise FitFileError(f"{path} is not a readable NetCDF fit file ({type(err).__name__}: {err})") from None
    if not has_group(idata, "posterior"):
        raise FitFileError(f"{path} has no posterior group: not a bayeslaw fit")
    if not any(key.startswith(ATTR_PREFIX) for key in posterior(idata).attrs):
        raise FitFileError(f"{path} holds no bayeslaw attributes: not a bayeslaw fit")
    missing = [g for g in required if not has_group(idata, g)]
    if missing:
        raise FitFileError(f"{path} lacks the groups {missing}: an incomplete or damaged fit file")
    post = posterior(idata)
    if post.sizes.get("chain", 0) * post.sizes.get("draw", 0) == 0:
        raise FitFileError(f"{path} holds no posterior draws")
    for name, values in post.data_vars.items():
        array = np.asarray(values.values)
        if array.dtype.kind in "fc" and not np.isfinite(array).all():
            share = float((~np.isfinite(array)).mean())
            raise FitFileError(f"{path}: {share:.1%} of the posterior draws of {name!r} are not finite: an interrupted or damaged fit")
    stored = post.attrs.get(ATTR_PREFIX + DIGEST_ATTR)
    if stored is not None and stored != digest(idata):
        raise FitFileError(f"{path}: the content does not match the digest stored when it was saved: the file was altered or damaged")
    return idata


def has_digest(idata: Results) -> bool:
    """Whether ``idata`` carries a save-time digest (files from bayeslaw < 0.1.1 do not)."""
    return ATTR_PREFIX + DIGEST_ATTR in posterior(idata).attrs


def from_datasets(groups: Mapping[str, xr.Dataset]) -> Results:
    """Assemble results from datasets (used by tests and simulators)."""
    return az.InferenceData(**groups)


def loo(idata: Results, var_name: str) -> Any:
    """PSIS-LOO of ``idata`` (pointwise, with Pareto k); a lazy log likelihood is computed for the call only."""
    if "log_likelihood" in _lazy(idata):
        idata = az.InferenceData(posterior=posterior(idata), log_likelihood=get_group(idata, "log_likelihood"))
    return az.loo(idata, var_name=var_name, pointwise=True)


def compare_loo(elpds: Mapping[str, Any]) -> Any:
    """ArviZ comparison table of already computed PSIS-LOO results (from :func:`loo`), stacking weights."""
    return az.compare(dict(elpds), ic="loo")


def loo_pointwise(elpd: Any) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise ``(elpd_loo_i, pareto_k)`` arrays of a :func:`loo` result, in observation order."""
    return np.asarray(elpd.loo_i).ravel(), np.asarray(elpd.pareto_k).ravel()


def flatten_draws(dataset: xr.Dataset | xr.DataArray, dim: str) -> xr.Dataset | xr.DataArray:
    """Stack ``chain`` and ``draw`` into one ``dim`` with a plain integer index."""
    stacked = dataset.stack({dim: ("chain", "draw")})
    return stacked.drop_vars([dim, "chain", "draw"]).assign_coords({dim: np.arange(stacked.sizes[dim])})


def select_vars(dataset: xr.Dataset, names: Sequence[str]) -> xr.Dataset:
    """Keep only ``names`` (error naming what is missing)."""
    missing = [n for n in names if n not in dataset]
    if missing:
        raise KeyError(f"results have no variables {missing}; have {list(dataset.data_vars)}")
    return dataset[list(names)]
