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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bayeslaw.backtest import BACKTEST_SAMPLER, Context, Model, ModelLike, by_values, split_at
from bayeslaw.constants import DEFAULT_SEED
from bayeslaw.data import ScalingData
from bayeslaw.stacking import check_members, stacking_weights

#: Default LFO cuts (fractions of the largest ``by`` value).
LFO_CUTS: tuple[float, ...] = (0.3, 0.1)


@dataclass(frozen=True)
class LfoComparison:
    """Leave-future-out comparison of models.

    Attributes
    ----------
    table
        One row per model, best first: ``elpd_lfo``, ``se``, ``elpd_diff``,
        ``se_diff`` (to the best), ``weight`` (stacking), ``n_held_out``, ``converged``.
    pointwise
        Log predictive density of every held-out run (rows) under each model (columns).
    notes
        Cuts used and WARNING lines for unconverged members.
    """

    table: pd.DataFrame
    pointwise: pd.DataFrame
    notes: tuple[str, ...]

    @property
    def best(self) -> str:
        """Name of the model with the highest ``elpd_lfo``."""
        return str(self.table.index[0])


def compare_lfo(
    data: ScalingData | pd.DataFrame,
    models: Sequence[ModelLike] | Mapping[str, ModelLike],
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
        Model names / specs, or ``{label: model}``.
    cuts
        Fractions of the largest ``by`` value; every model is refitted on the runs at or below each.
    by
        Column along which the future is held out.
    seed, sampler
        Seed and sampler settings of every refit (default 4 x 500 draws).
    allow_unconverged
        Keep members whose refits did not converge (flagged) instead of raising.
    context
        Share fits with a backtest.
    """
    if isinstance(data, pd.DataFrame):
        data = ScalingData.from_frame(data)
    named = dict(models) if isinstance(models, Mapping) else {Model(m).name: m for m in models}
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
            pred = Model(model, label=name).forecast(ctx, split)
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
    table = pd.DataFrame(
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
    return LfoComparison(table=table, pointwise=pointwise, notes=tuple(notes))
