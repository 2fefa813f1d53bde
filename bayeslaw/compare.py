"""Model comparison by PSIS-LOO: which structure predicts held-out observations best?

``compare({"shared exponents": fit_a, "skill exponents": fit_b})`` ranks fits of
the *same* observations by their expected log pointwise predictive density
(ELPD), estimated with Pareto-smoothed importance-sampling leave-one-out
cross-validation (ArviZ). Observations whose Pareto k exceeds
:data:`~bayeslaw.constants.PARETO_K_MAX` make the estimate unreliable; they are
counted per fit, named, and warned about. Fits of different data, or with
likelihoods on different scales, are refused: their ELPDs are not comparable.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from bayeslaw import results
from bayeslaw.constants import CREDIBLE_INTERVAL, OBSERVED, PARETO_K_MAX
from bayeslaw.lfo import LfoComparison, compare_lfo
from bayeslaw.result_contract import ResultContract
from bayeslaw.stacking import check_members

if TYPE_CHECKING:
    from bayeslaw.fit import Fit

#: Number of bad-k observation labels listed in a warning.
_MAX_LISTED = 5


class ParetoKWarning(UserWarning):
    """Issued when some observations have Pareto k above the threshold (PSIS-LOO unreliable)."""


@dataclass(frozen=True)
class Comparison(ResultContract):
    """Result of :func:`compare`.

    Its :meth:`summary` gives each fit's ELPD and its difference to the best fit
    with a normal-approximation interval (estimate +- z * standard error; PSIS-LOO
    gives a point estimate and a standard error, not draws).

    Attributes
    ----------
    ranking
        One row per fit, best first: ``rank``, ``elpd_loo`` (higher is better),
        ``se``, ``p_loo`` (effective number of parameters), ``elpd_diff`` (to the
        best fit) and its standard error ``dse``, stacking ``weight``,
        ``n_bad_k`` (observations with Pareto k > ``pareto_k_max``) and ``max_k``.
    pointwise
        Per observation (rows, labelled like the data) and fit (columns): the
        pointwise ELPD contributions ``elpd_i`` and Pareto ``k`` (column MultiIndex).
    pareto_k_max
        The Pareto k threshold applied.
    warnings
        One sentence per fit with unreliable observations.
    """

    ranking: pd.DataFrame
    pointwise: pd.DataFrame
    pareto_k_max: float
    warnings: tuple[str, ...] = field(default_factory=tuple)
    prob: float = CREDIBLE_INTERVAL
    unconverged: tuple[str, ...] = field(default_factory=tuple)
    banner: str = ""
    title: ClassVar[str] = "PSIS-LOO model comparison (higher ELPD is better)"

    @property
    def notes(self) -> tuple[str, ...]:  # type: ignore[override]
        """WARNING lines for fits that did not converge, then the Pareto k warnings."""
        return (*self.unconverged, *self.warnings)

    @property
    def draws(self) -> xr.Dataset:
        """Pointwise ELPD contributions over ``obs`` and ``fit``, with each observation's group labels as coordinates."""
        elpd = self.pointwise["elpd_i"]
        obs_coords = {axis: ("obs", np.asarray(v)) for axis, v in self.pointwise.attrs.get("groups", {}).items()}
        coords = {"obs": elpd.index.to_numpy(), "fit": list(elpd.columns), **obs_coords}
        da = xr.DataArray(elpd.to_numpy(), dims=("obs", "fit"), coords=coords)
        return xr.Dataset({"elpd_i": da})

    def summary(self, prob: float | None = None) -> pd.DataFrame:
        """Tidy: ``elpd_loo`` and ``elpd_diff`` per fit, median = estimate, lower/upper = estimate -+ z * se."""
        z = float(stats.norm.ppf(0.5 + (prob or self.prob) / 2))
        rows = []
        for name, row in self.ranking.iterrows():
            for quantity, se in (("elpd_loo", "se"), ("elpd_diff", "dse")):
                est, err = float(row[quantity]), float(row[se])
                rows.append({"quantity": quantity, "fit": name, "median": est, "lower": est - z * err, "upper": est + z * err})
        return pd.DataFrame(rows)

    def extra_columns(self, table: pd.DataFrame) -> pd.DataFrame:
        """Rank, stacking weight and Pareto k counts per fit, best first."""
        table = table.loc[list(self.ranking.index)]
        for col in ("rank", "weight", "n_bad_k", "max_k"):
            table[col] = self.ranking[col].to_numpy()
        return table

    @property
    def best(self) -> str:
        """Name of the fit with the highest ELPD."""
        return str(self.ranking.index[0])

    @property
    def reliable(self) -> bool:
        """Whether every fit's PSIS-LOO estimate passed the Pareto k check."""
        return not self.warnings

    def difference(self, name: str) -> tuple[float, float]:
        """``(elpd_diff, dse)`` of fit ``name`` relative to the best fit (0 for the best)."""
        if name not in self.ranking.index:
            raise KeyError(f"no fit named {name!r}; compared: {list(self.ranking.index)}")
        row = self.ranking.loc[name]
        return float(row["elpd_diff"]), float(row["dse"])

    def pointwise_difference(self, a: str, b: str, by: str | None = None) -> pd.Series | float:
        """ELPD of fit ``a`` minus fit ``b``, summed (or per group label of column ``by``, e.g. ``"skill"``)."""
        diff = self.pointwise[("elpd_i", a)] - self.pointwise[("elpd_i", b)]
        if by is None:
            return float(diff.sum())
        if by not in self.pointwise.attrs.get("groups", {}):
            raise KeyError(f"no group column {by!r}; have {list(self.pointwise.attrs.get('groups', {}))}")
        labels = pd.Series(self.pointwise.attrs["groups"][by], index=self.pointwise.index)
        return diff.groupby(labels, sort=False).sum()

    def report(self) -> str:
        """Plain-text ranking with the reliability warnings."""
        cols = ["rank", "elpd_loo", "se", "elpd_diff", "dse", "p_loo", "weight", "n_bad_k", "max_k"]
        lines = [
            "PSIS-LOO model comparison (higher elpd_loo is better; elpd_diff is relative to the best fit)",
            self.ranking[cols].to_string(float_format=lambda v: f"{v:.4g}"),
        ]
        lines += list(self.unconverged)
        if self.warnings:
            lines += [f"WARNING: {w}" for w in self.warnings]
        else:
            lines.append(f"Pareto k OK: every observation has k <= {self.pareto_k_max} in every fit")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.report()


def check_same_data(fits: Mapping[str, Fit]) -> None:
    """Raise ``ValueError`` unless all fits saw the same observations (labels, inputs, target, groups) on the same scale."""
    names = list(fits)
    first = fits[names[0]]
    ref = first.data.frame
    for name in names[1:]:
        other = fits[name].data.frame
        if fits[name].data.target != first.data.target:
            raise ValueError(f"cannot compare: {names[0]!r} models {first.data.target!r} but {name!r} models {fits[name].data.target!r}")
        if len(other) != len(ref) or not other.index.equals(ref.index):
            raise ValueError(
                f"cannot compare fits of different data: {names[0]!r} has {len(ref)} observations, {name!r} has {len(other)}"
                + ("" if len(other) != len(ref) else " with different row labels")
            )
        shared = [c for c in ref.columns if c in other.columns]
        missing = sorted(set(ref.columns) ^ set(other.columns))
        if missing:
            raise ValueError(f"cannot compare fits of different data: columns {missing} are in only one of {names[0]!r}, {name!r}")
        for col in shared:
            a, b = ref[col].to_numpy(), other[col].to_numpy()
            same = np.array_equal(a, b) if a.dtype.kind in "OUS" or b.dtype.kind in "OUS" else np.allclose(a, b, rtol=1e-12, atol=0)
            if not same:
                raise ValueError(f"cannot compare fits of different data: column {col!r} differs between {names[0]!r} and {name!r}")
        if fits[name].family.link != first.family.link:
            raise ValueError(
                f"cannot compare: {names[0]!r} scores the target on the {first.family.link!r} scale, {name!r} on the "
                f"{fits[name].family.link!r} scale; PSIS-LOO values on different scales are not comparable"
            )


def compare(
    fits: Mapping[str, Fit],
    *,
    method: str = "loo",
    pareto_k_max: float = PARETO_K_MAX,
    warn: bool = True,
    allow_unconverged: bool | None = None,
    **lfo_options: Any,
) -> Comparison | LfoComparison:
    """Rank fits of the same data by PSIS-LOO (``method="loo"``) or leave-future-out (``method="lfo"``).

    Parameters
    ----------
    fits
        ``{name: Fit}``, at least two, all fitted to the same observations.
    method
        ``"loo"``: PSIS-LOO on the fits' draws (how well each law interpolates).
        ``"lfo"``: exact leave-future-out (:func:`bayeslaw.lfo.compare_lfo`): each
        fit is refitted, with its own spec, sampler settings and seed, on the
        runs at or below each cut and scored on every run beyond (how well each
        law extrapolates, which is what a forecast does). ``lfo_options`` (``cuts``,
        ``by``) go to it.
    pareto_k_max
        Pareto k above which an observation's LOO estimate is unreliable.
    warn
        Issue a :class:`ParetoKWarning` per fit with unreliable observations
        (the warnings are kept in the result either way).
    allow_unconverged
        Whether fits that did not pass their convergence checks may be compared.
        ``True``: they are ranked and flagged (a ``WARNING`` note, the ranking's
        ``converged`` column and a warning); ``False``: they are refused with
        :class:`~bayeslaw.stacking.UnconvergedMemberError`. Default: flag for
        ``"loo"`` (the fits are given), refuse for ``"lfo"`` (its refits at the
        cuts must converge, or the law choice rests on bad densities).

    Returns
    -------
    Comparison or LfoComparison
        The ranking table, pointwise contributions and reliability notes.

    Raises
    ------
    ValueError
        Fewer than two fits, or fits of different observations / likelihood scales.
    UnconvergedMemberError
        A fit (or, for LFO, a refit) did not converge and ``allow_unconverged`` is False.
    """
    if not isinstance(fits, Mapping) or len(fits) < 2:
        raise ValueError("compare needs a mapping {name: Fit} with at least two fits")
    if method not in ("loo", "lfo"):
        raise ValueError(f"method must be 'loo' or 'lfo', got {method!r}")
    check_same_data(fits)
    allow = (method == "loo") if allow_unconverged is None else allow_unconverged
    unconverged = check_members(list(fits), [f.converged for f in fits.values()], allow_unconverged=allow)
    for line in unconverged:
        warnings.warn(line, UserWarning, stacklevel=2)
    if method == "lfo":
        first = next(iter(fits.values()))
        return compare_lfo(first.data, dict(fits), seed=first.seed, allow_unconverged=allow, **lfo_options)
    if lfo_options:
        raise ValueError(f"options {sorted(lfo_options)} apply only to method='lfo'")
    first = next(iter(fits.values()))
    obs = [str(i) for i in first.data.frame.index]
    elpds = {}
    pointwise = {}
    notes = []
    stats = {}
    for name, fit_ in fits.items():
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*Pareto distribution.*")
            elpd = results.loo(fit_.idata, OBSERVED)
        elpds[name] = elpd
        loo_i, k = results.loo_pointwise(elpd)
        pointwise[("elpd_i", name)] = loo_i
        pointwise[("k", name)] = k
        bad = k > pareto_k_max
        stats[name] = {"n_bad_k": int(bad.sum()), "max_k": float(np.max(k))}
        if bad.any():
            labels = [obs[i] for i in np.flatnonzero(bad)[:_MAX_LISTED]]
            more = int(bad.sum()) - len(labels)
            notes.append(
                f"{name!r}: {int(bad.sum())} of {len(k)} observations have Pareto k > {pareto_k_max} "
                f"(max {float(np.max(k)):.2f}; e.g. {labels}{f' and {more} more' if more > 0 else ''}); "
                "its PSIS-LOO estimate is unreliable (refit without them or use exact cross-validation)"
            )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Pareto distribution.*")
        warnings.filterwarnings("ignore", message=".*scale is now set to log.*")
        raw = results.compare_loo(elpds)
    table = raw[["rank", "elpd_loo", "se", "p_loo", "elpd_diff", "dse", "weight"]].astype(float)
    table["rank"] = table["rank"].astype(int)
    table["n_bad_k"] = [stats[n]["n_bad_k"] for n in table.index]
    table["max_k"] = [stats[n]["max_k"] for n in table.index]
    table["converged"] = [fits[n].converged for n in table.index]
    table.index.name = "fit"
    frame = pd.DataFrame(pointwise, index=pd.Index(obs, name="obs"))
    frame.columns = pd.MultiIndex.from_tuples(frame.columns, names=["quantity", "fit"])
    frame.attrs["groups"] = {axis: first.data.frame[axis].to_numpy(dtype=str) for axis in first.data.groups}
    if warn:
        for note in notes:
            warnings.warn(note, ParetoKWarning, stacklevel=2)
    banners = {fit_.diagnostics.banner() for fit_ in fits.values()}
    banner = "; ".join(f"{name}: {fit_.diagnostics.banner()}" for name, fit_ in fits.items()) if len(banners) > 1 else banners.pop()
    return Comparison(
        ranking=table, pointwise=frame, pareto_k_max=pareto_k_max, warnings=tuple(notes), banner=banner, unconverged=tuple(unconverged)
    )


__all__ = ["Comparison", "ParetoKWarning", "check_same_data", "compare"]
