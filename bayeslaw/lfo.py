"""Compare laws by leave-future-out (LFO): how well each forecasts the runs beyond a cut.

LOO asks how well a law interpolates; a forecast is an extrapolation. Here each
model is refitted exactly on the runs with ``by <= cut * max(by)`` for every cut,
and scored by the log predictive density of every run beyond it (Buerkner, Gabry
& Vehtari 2020 describe this exact-refit LFO-CV; PSIS approximations are not
used). The table ranks models by ``elpd_lfo``, the summed log density over all
held-out runs of all cuts, with the standard error of each model's difference
to the best, and gives the stacking weights (Yao et al. 2018) of the same densities.

Members that did not converge at any cut are refused
(:class:`bayeslaw.stacking.UnconvergedMemberError`) unless ``allow_unconverged=True``,
in which case they are kept and flagged in the table and the notes.

:func:`stack_fits` turns the stacking weights into a :class:`StackedFit` whose
``compute_optimal`` mixes the members' per-draw optima by weight.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from bayeslaw.backtest import BACKTEST_SAMPLER, Context, Model, ModelLike, by_values, split_at
from bayeslaw.constants import CREDIBLE_INTERVAL, DEFAULT_SEED
from bayeslaw.data import ScalingData
from bayeslaw.fit import Fit
from bayeslaw.optimum import OptimumResult
from bayeslaw.result_contract import ResultContract
from bayeslaw.stacking import check_members, stacking_weights

#: Default LFO cuts (fractions of the largest ``by`` value).
LFO_CUTS: tuple[float, ...] = (0.3, 0.1)


@dataclass(frozen=True)
class LfoComparison(ResultContract):
    """Leave-future-out comparison of models.

    Its :meth:`summary` gives each model's ``elpd_lfo`` and its difference to
    the best with a normal-approximation interval (estimate +- z * standard
    error, as for PSIS-LOO); ``draws`` holds the pointwise log densities.

    Attributes
    ----------
    ranking
        One row per model, best first: ``elpd_lfo``, ``se``, ``elpd_diff``,
        ``se_diff`` (to the best), ``weight`` (stacking), ``n_held_out``, ``converged``.
    pointwise
        Log predictive density of every held-out run (rows) under each model (columns).
    notes
        Cuts used and WARNING lines for unconverged members.
    """

    ranking: pd.DataFrame
    pointwise: pd.DataFrame
    notes: tuple[str, ...] = ()
    prob: float = CREDIBLE_INTERVAL
    banner: str = ""
    title: ClassVar[str] = "leave-future-out model comparison (higher elpd_lfo is better)"

    @property
    def best(self) -> str:
        """Name of the model with the highest ``elpd_lfo``."""
        return str(self.ranking.index[0])

    @property
    def weights(self) -> dict[str, float]:
        """Stacking weights by model."""
        return {str(k): float(v) for k, v in self.ranking["weight"].items()}

    @property
    def draws(self) -> xr.Dataset:
        """Pointwise log predictive densities over ``heldout`` (cut/run labels) and ``model``."""
        index = self.pointwise.index.to_numpy(dtype=str)
        coords = {"heldout": index, "model": list(self.pointwise.columns), "cut": ("heldout", [i.split("/", 1)[0] for i in index])}
        return xr.Dataset({"lpd_i": xr.DataArray(self.pointwise.to_numpy(), dims=("heldout", "model"), coords=coords)})

    def summary(self, prob: float | None = None) -> pd.DataFrame:
        """Tidy: ``elpd_lfo`` and ``elpd_diff`` per model, median = estimate, lower/upper = estimate -+ z * se."""
        z = float(stats.norm.ppf(0.5 + (prob or self.prob) / 2))
        rows = []
        for name, row in self.ranking.iterrows():
            for quantity, se in (("elpd_lfo", "se"), ("elpd_diff", "se_diff")):
                est, err = float(row[quantity]), float(row[se]) if np.isfinite(row[se]) else 0.0
                rows.append({"quantity": quantity, "model": name, "median": est, "lower": est - z * err, "upper": est + z * err})
        return pd.DataFrame(rows)

    def extra_columns(self, table: pd.DataFrame) -> pd.DataFrame:
        """Stacking weight, held-out runs and convergence per model, best first."""
        table = table.loc[list(self.ranking.index)]
        for col in ("weight", "n_held_out", "converged"):
            table[col] = self.ranking[col].to_numpy()
        return table

    def report(self) -> str:
        """Plain-text ranking with the notes."""
        lines = [self.title, self.ranking.to_string(float_format=lambda v: f"{v:.4g}")]
        return "\n".join([*lines, *self.notes])

    def __repr__(self) -> str:
        return self.report()


def _named(models: Sequence[ModelLike | Fit] | Mapping[str, ModelLike | Fit]) -> dict[str, ModelLike | Fit]:
    if isinstance(models, Mapping):
        return dict(models)
    named: dict[str, ModelLike | Fit] = {}
    for m in models:
        name = m.spec.name if isinstance(m, Fit) else Model(m).name
        named[name] = m
    return named


def compare_lfo(
    data: ScalingData | pd.DataFrame,
    models: Sequence[ModelLike | Fit] | Mapping[str, ModelLike | Fit],
    *,
    cuts: Sequence[float] = LFO_CUTS,
    by: str = "C",
    seed: int = DEFAULT_SEED,
    sampler: Mapping[str, Any] | None = None,
    allow_unconverged: bool = False,
    context: Context | None = None,
) -> LfoComparison:
    """Rank ``models`` by their exact leave-future-out log predictive density along ``by``.

    Parameters
    ----------
    data
        The runs.
    models
        Model names / specs, or ``{label: model}``; a :class:`~bayeslaw.Fit` is
        refitted with its own spec, sampler settings and seed.
    cuts
        Fractions of the largest ``by`` value; every model is refitted on the runs at or below each.
    by
        Column along which the future is held out (``C`` is ``6 N D`` when the data have no ``C`` column).
    seed, sampler
        Seed and sampler settings of every refit of a named model (default 4 x 500 draws).
    allow_unconverged
        Keep members whose refits did not converge (flagged) instead of raising
        :class:`~bayeslaw.stacking.UnconvergedMemberError`.
    context
        Share fits with a backtest.
    """
    if isinstance(data, pd.DataFrame):
        data = ScalingData.from_frame(data)
    named = _named(models)
    if len(named) < 2:
        raise ValueError("compare at least two models")
    ctx = context or Context(by=by, seed=seed, sampler=dict(sampler or BACKTEST_SAMPLER))
    top = float(by_values(data, by).max())
    columns: dict[str, list[np.ndarray]] = {name: [] for name in named}
    converged = dict.fromkeys(named, True)
    index: list[str] = []
    notes: list[str] = []
    for cut in cuts:
        split = split_at(data, cut * top, by)
        if split is None:
            notes.append(f"cut {cut:g}: no training runs or nothing held out; skipped")
            continue
        y = split.test.values(split.test.target)
        index += [f"{cut:g}/{i}" for i in split.test.frame.index]
        for name, model in named.items():
            pred = Model(model, label=name).forecast(ctx, split)  # type: ignore[arg-type]
            converged[name] &= pred.converged
            columns[name].append(pred.log_density(y))
        notes.append(f"cut {cut:g}: {len(split.train)} training runs, {len(split.test)} held out")
    if not index:
        raise ValueError(f"no cut of {list(cuts)} left both training and held-out runs")
    notes += check_members(list(named), [converged[n] for n in named], allow_unconverged=allow_unconverged)
    pointwise = pd.DataFrame({name: np.concatenate(parts) for name, parts in columns.items()}, index=index)
    finite = np.isfinite(pointwise.to_numpy()).all(axis=1)
    if not finite.all():
        notes.append(f"{int((~finite).sum())} held-out run(s) have zero density under some model; elpd of that model is -inf")
    elpd = pointwise.sum()
    best = str(elpd.idxmax())
    diff = pointwise.sub(pointwise[best], axis=0)
    n = len(pointwise)
    ranking = pd.DataFrame(
        {
            "elpd_lfo": elpd,
            "se": np.sqrt(n) * pointwise.std(ddof=1),
            "elpd_diff": diff.sum(),
            "se_diff": np.sqrt(n) * diff.std(ddof=1),
            "weight": stacking_weights(pointwise.to_numpy()[np.isfinite(pointwise.to_numpy().max(axis=1))]),
            "n_held_out": n,
            "converged": pd.Series(converged),
        }
    ).sort_values("elpd_lfo", ascending=False)
    ranking.index.name = "model"
    notes += decisiveness_notes(ranking)
    banner = "" if all(converged.values()) else "NOT CONVERGED: " + ", ".join(k for k, ok in converged.items() if not ok)
    return LfoComparison(ranking=ranking, pointwise=pointwise, notes=tuple(notes), banner=banner)


#: A lead in elpd under this many standard errors of the difference does not tell two laws apart.
DECISIVE_SE: float = 2.0
#: Stacking weights from fewer held-out runs than this swing from one run to the next.
FEW_HELD_OUT: int = 10


def decisiveness_notes(ranking: pd.DataFrame) -> list[str]:
    """CAUTION lines for a ranking (sorted, best first) whose lead is within noise or rests on few held-out runs."""
    notes = []
    if len(ranking) >= 2:
        best, second = ranking.index[0], ranking.index[1]
        lead, se = -float(ranking["elpd_diff"].iloc[1]), float(ranking["se_diff"].iloc[1])
        if np.isfinite(lead) and np.isfinite(se) and lead < DECISIVE_SE * se:
            notes.append(
                f"CAUTION: {best} leads {second} by {lead:.1f} +/- {se:.1f} in elpd (under {DECISIVE_SE:g} standard errors): "
                "the held-out runs do not tell these laws apart; prefer the stack of both to either alone"
            )
    n = int(ranking["n_held_out"].iloc[0]) if len(ranking) else 0
    if n < FEW_HELD_OUT:
        notes.append(f"CAUTION: only {n} held-out run(s) over all cuts: the ranking and the stacking weights can swing with one run")
    return notes


@dataclass(frozen=True)
class StackedFit:
    """Several fits of the same runs with stacking weights; questions mix the members' per-draw answers by weight.

    Build with :func:`stack_fits`. ``compute_optimal`` draws each of ``n_draws``
    samples from member ``k`` with probability ``w_k`` and takes a random
    posterior draw of that member's optimum, so the result is the stacked
    (mixture) posterior of N*, D*, D*/N* and the loss at the optimum.
    """

    fits: Mapping[str, Fit]
    weights: Mapping[str, float]
    notes: tuple[str, ...] = field(default_factory=tuple)

    def compute_optimal(
        self,
        budget: float | Sequence[float],
        *,
        n_draws: int = 4000,
        seed: int = DEFAULT_SEED,
        prob: float = CREDIBLE_INTERVAL,
        **kwargs: Any,
    ) -> OptimumResult:
        """The members' :meth:`~bayeslaw.Fit.compute_optimal` draws mixed by weight (dims chain = 1, draw, budget, ...)."""
        names = [n for n in self.fits if self.weights.get(n, 0.0) > 0]
        w = np.array([self.weights[n] for n in names], dtype=float)
        w = w / w.sum()
        results = {n: self.fits[n].compute_optimal(budget, prob=prob, **kwargs) for n in names}
        shared = set.intersection(*(set(r.draws.data_vars) for r in results.values()))
        rng = np.random.default_rng(seed)
        which = rng.choice(len(names), size=n_draws, p=w)
        parts = []
        for k, name in enumerate(names):
            count = int((which == k).sum())
            if not count:
                continue
            flat = results[name].draws[sorted(shared)].stack(sample=("chain", "draw")).transpose("sample", ...)
            picked = flat.isel(sample=rng.integers(0, flat.sizes["sample"], size=count)).drop_vars(["sample", "chain", "draw"])
            parts.append(picked)
        mixed = xr.concat(parts, dim="sample").rename(sample="draw").expand_dims(chain=[0]).transpose("chain", "draw", ...)
        mixed = mixed.assign_coords(draw=np.arange(mixed.sizes["draw"]))
        first = results[names[0]]
        notes = (
            *self.notes,
            "stacked: " + ", ".join(f"{n} {wk:.2f}" for n, wk in zip(names, w, strict=True)),
            *(f"{n}: {note}" for n, r in results.items() for note in r.notes),
        )
        banners = {n: r.banner for n, r in results.items()}
        banner = "; ".join(f"{n}: {b}" for n, b in banners.items()) if len(set(banners.values())) > 1 else first.banner
        return OptimumResult(draws=mixed, prob=prob, notes=notes, labels=dict(first.labels), banner=banner)


def stack_fits(
    fits: Mapping[str, Fit],
    *,
    weights: Mapping[str, float] | None = None,
    cuts: Sequence[float] = LFO_CUTS,
    by: str = "C",
    allow_unconverged: bool = False,
) -> StackedFit:
    """Stack fits of the same runs, with LFO stacking weights (from :func:`compare_lfo`) unless ``weights`` are given.

    Unconverged members are refused (:class:`~bayeslaw.stacking.UnconvergedMemberError`)
    unless ``allow_unconverged=True``, in which case the notes flag them.
    """
    if len(fits) < 2:
        raise ValueError("stack at least two fits")
    notes = check_members(list(fits), [f.converged for f in fits.values()], allow_unconverged=allow_unconverged)
    if weights is None:
        first = next(iter(fits.values()))
        cmp = compare_lfo(first.data, dict(fits), cuts=cuts, by=by, seed=first.seed, allow_unconverged=allow_unconverged)
        weights = cmp.weights
        notes += [n for n in cmp.notes if n.startswith("WARNING")]
    unknown = sorted(set(weights) - set(fits))
    if unknown:
        raise ValueError(f"weights name fits that are not stacked: {unknown}")
    total = float(sum(weights.values()))
    if total <= 0 or any(v < 0 for v in weights.values()):
        raise ValueError(f"weights must be non-negative with a positive sum; got {dict(weights)}")
    return StackedFit(fits=dict(fits), weights={k: float(v) / total for k, v in weights.items()}, notes=tuple(notes))
