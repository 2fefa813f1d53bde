"""Rank-normalised split R-hat and bulk/tail ESS for many quantities at once, with ArviZ's numbers.

ArviZ (0.23) computes ``rhat(method="rank")``, ``ess(method="bulk")`` and
``ess(method="tail")`` one quantity at a time in Python; a grouped model with
thousands of quantities spends seconds there. The functions here run the same
algorithm (Vehtari et al. 2021, as ArviZ implements it) on all quantities at once
with numpy, keeping ArviZ's operations and their order wherever the floating-point
result depends on it: its variance is a sequential sum and sum of squares (the
Numba ``stats_variance_1d``, reproduced with ``cumsum``), its means, FFT
autocovariance and ``mquantiles`` (type 7) quantiles are the same calls along the
last axis, and Geyer's initial positive and monotone sequences are stepped for all
quantities together. The results are tested to equal ArviZ's. Quantities ArviZ
treats specially (any NaN; a constant chain set, whose ESS is the draw count) are
handed to ArviZ itself.

Arrays are ``(chain, draw, *shape)``; results have ``shape``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import xarray as xr
from scipy import stats
from scipy.fft import next_fast_len

#: ArviZ's default tail probabilities of the tail ESS.
TAIL_PROBS = (0.05, 0.95)
#: Fewer draws than this per chain: ArviZ returns NaN.
MIN_DRAWS = 4


def rhat(values: np.ndarray) -> np.ndarray:
    """Rank-normalised split R-hat of each quantity (``az.rhat(..., method="rank")``)."""
    return _per_quantity(values, _rhat_rank, min_chains=2, special=_arviz("rhat"))


def ess_bulk(values: np.ndarray) -> np.ndarray:
    """Bulk effective sample size of each quantity (``az.ess(..., method="bulk")``)."""
    return _per_quantity(values, lambda x: _ess(_z_scale(_split_chains(x))), min_chains=1, special=_arviz("bulk"))


def ess_tail(values: np.ndarray) -> np.ndarray:
    """Tail effective sample size of each quantity (``az.ess(..., method="tail")``): min over the 5% and 95% quantiles."""

    def tail(x: np.ndarray) -> np.ndarray:
        low, high = (_ess(_split_chains((x <= _quantile(x, p)[:, None, None]).astype(float))) for p in TAIL_PROBS)
        return np.minimum(low, high)

    return _per_quantity(values, tail, min_chains=1, special=_arviz("tail"))


def rhat_dataset(dataset: xr.Dataset) -> xr.Dataset:
    """:func:`rhat` of every variable of a posterior dataset (dims ``chain``, ``draw``, ...)."""
    return _over_dataset(dataset, rhat)


def ess_dataset(dataset: xr.Dataset, method: str) -> xr.Dataset:
    """:func:`ess_bulk` or :func:`ess_tail` (``method`` ``"bulk"`` or ``"tail"``) of every variable."""
    functions = {"bulk": ess_bulk, "tail": ess_tail}
    if method not in functions:
        raise ValueError(f"ESS method {method!r} is not vectorised here; use one of {sorted(functions)}")
    return _over_dataset(dataset, functions[method])


def _over_dataset(dataset: xr.Dataset, function: Callable[[np.ndarray], np.ndarray]) -> xr.Dataset:
    out = {}
    for name, da in dataset.data_vars.items():
        rest = [d for d in da.dims if d not in ("chain", "draw")]
        values = da.transpose("chain", "draw", *rest).values
        out[name] = xr.DataArray(function(values), dims=rest, coords={d: da[d] for d in rest if d in da.coords})
    return xr.Dataset(out)


def _per_quantity(
    values: np.ndarray, function: Callable[[np.ndarray], np.ndarray], *, min_chains: int, special: Callable[[np.ndarray], float]
) -> np.ndarray:
    """Apply ``function`` to quantities stacked as ``(quantity, chain, draw)``; special ones go to ArviZ."""
    values = np.asarray(values, dtype=float)
    n_chain, n_draw, *shape = values.shape
    stacked = np.ascontiguousarray(np.moveaxis(values.reshape(n_chain, n_draw, -1), -1, 0))
    out = np.full(stacked.shape[0], np.nan)
    if n_draw < MIN_DRAWS or n_chain < min_chains:
        return out.reshape(shape)
    flat = stacked.reshape(stacked.shape[0], -1)
    odd = np.isnan(flat).any(axis=1) | (flat.max(axis=1) - flat.min(axis=1) < np.finfo(float).resolution)
    if (~odd).any():
        out[~odd] = function(stacked[~odd])
    for index in np.flatnonzero(odd):
        out[index] = special(stacked[index])
    return out.reshape(shape)


def _arviz(method: str) -> Callable[[np.ndarray], float]:
    """ArviZ's own per-quantity function for a ``(chain, draw)`` array."""
    from arviz.stats import diagnostics

    functions = {"rhat": diagnostics._rhat_rank, "bulk": diagnostics._ess_bulk, "tail": diagnostics._ess_tail}
    return lambda x: float(functions[method](x))


def _split_chains(x: np.ndarray) -> np.ndarray:
    """``(q, chain, draw)`` -> ``(q, 2 chain, draw // 2)``: first halves, then second halves (ArviZ's order)."""
    half = x.shape[-1] // 2
    return np.concatenate([x[:, :, :half], x[:, :, x.shape[-1] - half :]], axis=1)


def _z_scale(x: np.ndarray) -> np.ndarray:
    """Rank-normalise each quantity over all its chains and draws (average ranks, Blom's offset, normal quantiles)."""
    flat = x.reshape(x.shape[0], -1)
    rank = stats.rankdata(flat, method="average", axis=1)
    c = 3 / 8
    return stats.norm.ppf((rank - c) / (flat.shape[1] - 2 * c + 1)).reshape(x.shape)


def _seq_var(x: np.ndarray) -> np.ndarray:
    """ArviZ's Numba variance along the last axis (ddof 1): sequential sum and sum of squares."""
    n = x.shape[-1]
    total = np.cumsum(x, axis=-1)[..., -1]
    squares = np.cumsum(x * x, axis=-1)[..., -1]
    var = squares / n - (total / n) ** 2
    return var * (n / (n - 1))


def _mean_last(x: np.ndarray) -> np.ndarray:
    """Mean along the last axis of a contiguous copy (numpy's per-row pairwise sum, as in a 1-D call)."""
    return np.ascontiguousarray(x).mean(axis=-1)


def _rhat_plain(x: np.ndarray) -> np.ndarray:
    """ArviZ's ``_rhat`` for ``(q, chain, draw)``."""
    n = x.shape[-1]
    chain_mean = _mean_last(x)
    chain_var = _seq_var(x)
    between = n * _seq_var(chain_mean)
    within = _mean_last(chain_var)
    return np.sqrt((between / within + n - 1) / n)


def _rhat_rank(x: np.ndarray) -> np.ndarray:
    split = _split_chains(x)
    bulk = _rhat_plain(_z_scale(split))
    median = np.median(split.reshape(split.shape[0], -1), axis=1)
    tail = _rhat_plain(_z_scale(np.abs(split - median[:, None, None])))
    return np.maximum(bulk, tail)


def _quantile(x: np.ndarray, p: float) -> np.ndarray:
    """``mquantiles(x, p, alphap=1, betap=1)`` over each quantity's chains and draws (R's type 7)."""
    data = np.sort(x.reshape(x.shape[0], -1), axis=1)
    n = data.shape[1]
    m = 1.0 + p * (1.0 - 1.0 - 1.0)
    aleph = np.atleast_1d(n * p + m)
    k = np.floor(aleph.clip(1, n - 1)).astype(int)
    gamma = (aleph - k).clip(0, 1)
    return ((1.0 - gamma) * data[:, k - 1] + gamma * data[:, k])[:, 0]


def _ess(x: np.ndarray) -> np.ndarray:
    """ArviZ's ``_ess`` (absolute) for ``(q, chain, draw)`` with no NaN and no constant quantity."""
    n_q, n_chain, n_draw = x.shape
    with np.errstate(divide="ignore", invalid="ignore"):  # constant quantities (set to the draw count below)
        return _ess_unchecked(x, n_q, n_chain, n_draw)


def _ess_unchecked(x: np.ndarray, n_q: int, n_chain: int, n_draw: int) -> np.ndarray:
    centred = x - x.mean(axis=-1, keepdims=True)
    size = next_fast_len(2 * n_draw)
    spectrum = np.fft.rfft(centred, n=size, axis=-1)
    spectrum *= np.conjugate(spectrum)
    acov = np.fft.irfft(spectrum, n=size, axis=-1)[..., :n_draw]
    acov /= n_draw
    chain_mean = x.mean(axis=-1)
    mean_var = _mean_last(acov[:, :, 0]) * n_draw / (n_draw - 1.0)
    var_plus = mean_var * (n_draw - 1.0) / n_draw
    if n_chain > 1:
        var_plus += _seq_var(chain_mean)

    rho = np.zeros((n_q, n_draw))
    even = np.ones(n_q)
    rho[:, 0] = even
    odd = 1.0 - (mean_var - _mean_last(acov[:, :, 1])) / var_plus
    rho[:, 1] = odd
    # Geyer's initial positive sequence: all quantities step together while their pair sum stays positive.
    t = 1
    t_end = np.ones(n_q, dtype=int)
    active = np.full(n_q, t < n_draw - 3) & (even + odd > 0.0)
    while active.any():
        idx = np.flatnonzero(active)
        even[idx] = 1.0 - (mean_var[idx] - _mean_last(acov[idx, :, t + 1])) / var_plus[idx]
        odd[idx] = 1.0 - (mean_var[idx] - _mean_last(acov[idx, :, t + 2])) / var_plus[idx]
        keep = idx[(even[idx] + odd[idx]) >= 0]
        rho[keep, t + 1] = even[keep]
        rho[keep, t + 2] = odd[keep]
        t += 2
        t_end[idx] = t
        active[idx] = (t < n_draw - 3) & (even[idx] + odd[idx] > 0.0)
    max_t = t_end - 2
    positive = np.flatnonzero(even > 0)
    rho[positive, max_t[positive] + 1] = even[positive]
    # Geyer's initial monotone sequence.
    t = 1
    while (t <= max_t - 2).any():
        idx = np.flatnonzero(t <= max_t - 2)
        rising = idx[(rho[idx, t + 1] + rho[idx, t + 2]) > (rho[idx, t - 1] + rho[idx, t])]
        rho[rising, t + 1] = (rho[rising, t - 1] + rho[rising, t]) / 2.0
        rho[rising, t + 2] = rho[rising, t + 1]
        t += 2
    total = n_chain * n_draw
    out = np.empty(n_q)
    flat = x.reshape(n_q, -1)
    constant = flat.max(axis=1) - flat.min(axis=1) < np.finfo(float).resolution  # ArviZ: ESS = draw count
    for q in range(n_q):  # ArviZ's pairwise sums over each quantity's own prefix length
        tau = -1.0 + 2.0 * np.sum(rho[q, : max_t[q] + 1]) + np.sum(rho[q, max_t[q] + 1 : max_t[q] + 2])
        tau = max(tau, 1 / np.log10(total))
        out[q] = total / tau
    out[np.isnan(rho).any(axis=1)] = np.nan
    out[constant] = total
    return out
