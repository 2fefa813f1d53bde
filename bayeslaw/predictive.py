"""Predictive draws at held-out points, and the scores that judge them.

A :class:`Predictive` holds, for ``P`` points, ``S`` draws of the law's mean
curve and of a new observation (natural scale), plus, where the likelihood has
a density on the log scale (a family of log link with a scale ``sigma``:
Student-t, Normal, logistic), each draw's family, location, scale and degrees
of freedom, so the log predictive density of an observed value is
``log mean_s p(y | draw s)``. Forecasts of every kind (one
fit, a bootstrap of the point fit, a stack of laws, a widened forecast) are
:class:`Predictive` objects and are scored the same way.

Scores (all per point):

- ``abs_pct_error`` / ``signed_pct_error``: the median new-observation draw
  against the observed value, in % of the observed value;
- ``cover_mean_<p>`` / ``cover_obs_<p>``: whether the observed value lies in the
  equal-tailed ``p`` interval of the mean curve / of a new observation;
- ``width_<p>``: that new-observation interval's width relative to its median;
- ``crps``: the continuous ranked probability score of the new-observation
  draws on the log scale (lower is better; scale-free, so pooled across
  datasets); estimated from the sorted draws;
- ``lpd``: log predictive density of the observed log value (higher is
  better; NaN where the forecast carries no density, e.g. the point fit's bootstrap).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import special

from bayeslaw.families import get_family

#: Interval probabilities whose coverage every backtest reports.
COVERAGE_LEVELS: tuple[float, ...] = (0.5, 0.8, 0.9, 0.95)


@dataclass(frozen=True)
class Predictive:
    """``S`` predictive draws at ``P`` points.

    Attributes
    ----------
    mean, observation
        Arrays ``(S, P)`` on the natural scale; NaN marks a draw outside the
        target's support (never clipped).
    loc, scale, df
        Per-draw log-scale location ``(S, P)``, scale and Student-t degrees of
        freedom (``(S, 1)`` or ``(S, P)``; ``df = inf`` for a Normal), or ``None``
        where the forecast has no density.
    family
        Per-draw likelihood family name (:data:`bayeslaw.families.FAMILIES`),
        shape ``(S, 1)``; ``None`` means Student-t where ``df`` is finite and
        Normal where it is infinite. Mixtures of fits of different families keep
        each draw's own.
    converged
        Whether every fit behind the forecast passed its convergence checks.
    chains_agree
        Whether every fit behind it passed the r_hat check (a fit may fail on
        effective sample size alone: its draws are then few, not wrong).
    notes
        What was done to make it (members, weights, widening), for reports.
    """

    mean: np.ndarray
    observation: np.ndarray
    loc: np.ndarray | None = None
    scale: np.ndarray | None = None
    df: np.ndarray | None = None
    converged: bool = True
    notes: tuple[str, ...] = field(default_factory=tuple)
    chains_agree: bool = True
    family: np.ndarray | None = None

    @property
    def n_draws(self) -> int:
        """Number of draws ``S``."""
        return int(self.mean.shape[0])

    @property
    def has_density(self) -> bool:
        """Whether :meth:`log_density` is defined."""
        return self.loc is not None

    def pointwise_log_density(self, y: np.ndarray) -> np.ndarray:
        """``log p(log y | draw s)`` per draw and point, shape ``(S, P)`` (density of the log value)."""
        if self.loc is None or self.scale is None or self.df is None:
            raise ValueError("this forecast carries no density (e.g. a bootstrap of the point fit)")
        shape = self.loc.shape
        log_y = np.broadcast_to(np.log(np.asarray(y, dtype=float))[None, :], shape)
        df = np.broadcast_to(self.df, shape)
        scale = np.broadcast_to(self.scale, shape)
        names = self.family_names()
        out = np.empty(shape)
        for name in np.unique(names):
            rows = np.broadcast_to(names == name, shape)
            out[rows] = get_family(str(name)).logpdf(log_y[rows], self.loc[rows], {"sigma": scale[rows], "nu": df[rows]})
        return np.where(np.isfinite(self.loc), out, -np.inf)

    def family_names(self) -> np.ndarray:
        """Each draw's likelihood family, shape ``(S, 1)`` or ``(S, P)`` (see the ``family`` attribute)."""
        if self.family is not None:
            return self.family
        if self.df is None:
            raise ValueError("this forecast carries no density (e.g. a bootstrap of the point fit)")
        return np.where(np.isinf(self.df), "normal", "studentt")

    def log_density(self, y: np.ndarray) -> np.ndarray:
        """Log predictive density of the observed log values, ``log mean_s p(log y | s)``, per point."""
        return special.logsumexp(self.pointwise_log_density(y), axis=0) - np.log(self.n_draws)

    def take(self, index: np.ndarray) -> Predictive:
        """The draws at rows ``index`` (resampling, used by mixtures)."""

        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else np.broadcast_to(a, (self.n_draws, a.shape[1]))[index]

        return replace(
            self,
            mean=self.mean[index],
            observation=self.observation[index],
            loc=pick(self.loc),
            scale=pick(self.scale),
            df=pick(self.df),
            family=None if self.family is None else pick(self.family),
        )


def quantiles(draws: np.ndarray, probs: Sequence[float]) -> np.ndarray:
    """Quantiles over draws (axis 0) ignoring NaN draws; shape ``(len(probs), P)``."""
    with np.errstate(all="ignore"):
        return np.nanquantile(draws, probs, axis=0)


def crps_log(draws: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sample CRPS of ``log draws`` against ``log y`` per point (NaN draws dropped; inf draws kept as huge)."""
    log_draws = np.log(draws)
    log_y = np.log(np.asarray(y, dtype=float))
    out = np.full(log_y.shape, np.nan)
    for j in range(log_y.size):
        x = np.sort(log_draws[:, j][~np.isnan(log_draws[:, j])])
        x = np.clip(x, -1e6, 1e6)
        m = x.size
        if m == 0:
            continue
        rank = np.arange(1, m + 1)
        spread = np.sum((2 * rank - m - 1) * x) / m**2
        out[j] = np.mean(np.abs(x - log_y[j])) - spread
    return out


def score_points(pred: Predictive, y: np.ndarray, levels: Sequence[float] = COVERAGE_LEVELS) -> pd.DataFrame:
    """Per-point scores of a forecast against observed values ``y`` (see the module docstring)."""
    y = np.asarray(y, dtype=float)
    obs_median = quantiles(pred.observation, [0.5])[0]
    table = {
        "observed": y,
        "forecast": obs_median,
        "abs_pct_error": 100 * np.abs(obs_median - y) / y,
        "signed_pct_error": 100 * (obs_median - y) / y,
    }
    for p in levels:
        lo, hi = (1 - p) / 2, (1 + p) / 2
        m_lo, m_hi = quantiles(pred.mean, [lo, hi])
        o_lo, o_hi = quantiles(pred.observation, [lo, hi])
        key = f"{round(100 * p)}"
        table[f"cover_mean_{key}"] = (y >= m_lo) & (y <= m_hi)
        table[f"cover_obs_{key}"] = (y >= o_lo) & (y <= o_hi)
        table[f"width_{key}"] = (o_hi - o_lo) / obs_median
        if p == 0.9:
            table["lower_90"], table["upper_90"] = o_lo, o_hi
    table["pit"] = np.nanmean(pred.observation <= y[None, :], axis=0)
    table["crps"] = crps_log(pred.observation, y)
    table["lpd"] = pred.log_density(y) if pred.has_density else np.full(y.shape, np.nan)
    table["inf_draws"] = np.isinf(pred.observation).sum(axis=0)
    return pd.DataFrame(table)


def mixture(members: Sequence[Predictive], weights: Sequence[float], n_draws: int, seed: int) -> Predictive:
    """Mix members' draws by ``weights``: each of ``n_draws`` draws comes from member k with probability w_k.

    Members must have the same points; a member with a density keeps it, and the
    mixture has a density only if every member with positive weight has one.
    """
    w = np.asarray(weights, dtype=float)
    if len(members) != w.size or w.size == 0:
        raise ValueError(f"need one weight per member; got {w.size} weights for {len(members)} members")
    if (w < 0).any() or not np.isclose(w.sum(), 1.0):
        raise ValueError(f"weights must be non-negative and sum to 1; got {w.tolist()}")
    points = {m.mean.shape[1] for m in members}
    if len(points) != 1:
        raise ValueError(f"members forecast different numbers of points: {sorted(points)}")
    rng = np.random.default_rng(seed)
    which = rng.choice(w.size, size=n_draws, p=w)
    parts = [members[k].take(rng.integers(0, members[k].n_draws, size=int((which == k).sum()))) for k in range(w.size)]
    parts = [p for p in parts if p.n_draws]
    dense = all(p.has_density for p in parts)

    def stack(name: str) -> np.ndarray | None:
        if name in ("loc", "scale", "df", "family") and not dense:
            return None
        arrays = [p.family_names() if name == "family" else getattr(p, name) for p in parts]
        width = max(a.shape[1] for a in arrays)
        return np.concatenate([np.broadcast_to(a, (a.shape[0], width)) for a in arrays])

    return Predictive(
        mean=stack("mean"),
        observation=stack("observation"),
        loc=stack("loc"),
        scale=stack("scale"),
        df=stack("df"),
        family=stack("family"),
        converged=all(m.converged for m, wk in zip(members, w, strict=True) if wk > 0),
        chains_agree=all(m.chains_agree for m, wk in zip(members, w, strict=True) if wk > 0),
    )
