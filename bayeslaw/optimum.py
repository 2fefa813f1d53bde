"""Compute-optimal allocation per posterior draw, vectorised over draws and budgets.

For a single skill with a closed form (Chinchilla), N*(C) comes from the law.
Otherwise — a weighted mix of skills, or a law without a closed form — the
(weighted) loss along the iso-FLOP curve C = 6 N D is minimised numerically in
u = log N for every draw, budget, mix and group at once (no Python loop per draw)
by :mod:`bayeslaw.isoflop_search`: a safeguarded Newton iteration in blocks of cells,
each cell stopping on its own, so blocks give the numbers of one piece and memory
grows with the answer only.

The search bracket comes from the skills themselves where the law has a closed
form: each skill's loss along the curve is unimodal (for Chinchilla a sum of two
convex exponentials in u) with its minimum at the closed-form u_s, so the
weighted sum decreases left of min_s u_s and increases right of max_s u_s and its
minimum lies between them. Without a closed form a coarse grid over tokens per
parameter from e^-30 to e^30 brackets the minimum (assumed unimodal), and a
minimum at that boundary is reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
import xarray as xr

from bayeslaw.constants import CREDIBLE_INTERVAL, FLOPS_PER_PARAM_TOKEN
from bayeslaw.isoflop_search import BLOCK_CELLS, QUANTITIES, optimum_along_compute
from bayeslaw.laws import Law
from bayeslaw.result_contract import ResultContract, with_scalar_labels

#: Skill, mix and draw dims of the search (the skill dim is summed over with the weights).
SKILL = "skill"


@dataclass(frozen=True)
class OptimumResult(ResultContract):
    """Compute-optimal allocation per posterior draw.

    Attributes
    ----------
    draws
        Dataset with ``N_opt``, ``D_opt``, ``tokens_per_param``, ``loss_opt``
        (and ``a`` where the law has a closed form), dims ``chain``, ``draw``,
        ``budget`` (and ``mix`` for several mixes); the group labels are scalar
        coordinates.
    prob
        Interval probability used by :meth:`summary`.
    notes
        What was assumed (normalised weights, numeric search, boundary hits).
    labels
        The group the optimum was computed for (e.g. ``{"skill": "code"}``);
        kept as coordinates of ``draws`` and as leading columns of the tables.
    banner
        The fit's convergence banner.
    """

    draws: xr.Dataset
    prob: float
    notes: tuple[str, ...] = field(default_factory=tuple)
    labels: Mapping[str, str] = field(default_factory=dict)
    banner: str = ""
    title: ClassVar[str] = "compute-optimal allocation"

    def __post_init__(self) -> None:
        object.__setattr__(self, "draws", with_scalar_labels(self.draws, self.labels))

    def relative_to(self, other: OptimumResult, quantity: str = "N_opt", axis: str | None = None) -> OptimumContrast:
        """Per-draw contrast of ``quantity`` between this optimum (a) and ``other`` (b), on the same draws.

        Gives ``a``, ``b``, ``difference`` (a - b), ``ratio`` (a / b), ``shift``
        (a / b - 1) and ``log_ratio``, and ``P(a > b)``. Both results must come
        from the same posterior draws (the same fit), so the contrast keeps
        their correlation.
        """
        if quantity not in QUANTITIES:
            raise ValueError(f"quantity must be one of {QUANTITIES}, got {quantity!r}")
        va, vb = self.draws[quantity], other.draws[quantity]
        if va.sizes.get("draw") != vb.sizes.get("draw") or va.sizes.get("chain") != vb.sizes.get("chain"):
            raise ValueError("relative_to compares optima from the same posterior draws (the same fit)")
        differing = [k for k in self.labels if other.labels.get(k) != self.labels[k]]
        axis = axis or (differing[0] if differing else "group")
        a, b = self.labels.get(axis, "a"), other.labels.get(axis, "b")
        fixed = {k: v for k, v in self.labels.items() if k != axis and other.labels.get(k) == v}
        draws = relative_draws(va.drop_vars(list(self.labels), errors="ignore"), vb.drop_vars(list(other.labels), errors="ignore"))
        notes = tuple(dict.fromkeys((*self.notes, *other.notes)))
        return OptimumContrast(
            draws=with_scalar_labels(draws, fixed),
            quantity=quantity,
            axis=axis,
            labels=(a, b),
            fixed=fixed,
            prob=self.prob,
            notes=notes,
            banner=self.banner,
        )


def relative_draws(a: xr.DataArray, b: xr.DataArray) -> xr.Dataset:
    """Per-draw contrast of ``a`` against ``b``: both, difference, ratio, shift (ratio - 1) and log ratio."""
    ratio = a / b
    return xr.Dataset({"a": a, "b": b, "difference": a - b, "ratio": ratio, "shift": ratio - 1.0, "log_ratio": np.log(a) - np.log(b)})


@dataclass(frozen=True)
class OptimumContrast(ResultContract):
    """Per-draw comparison of one optimum quantity between groups ``a`` and ``b``.

    Attributes
    ----------
    draws
        Dataset with ``a`` and ``b`` (the quantity for each group),
        ``difference`` (a - b), ``ratio`` (a / b), ``shift`` (a / b - 1) and
        ``log_ratio``; dims ``chain``, ``draw``, ``budget``; the labels held
        fixed are scalar coordinates.
    quantity
        ``N_opt``, ``D_opt``, ``tokens_per_param`` or ``loss_opt``.
    axis, labels
        The grouping axis and the two labels compared (``labels = (a, b)``).
    fixed
        Labels held fixed on other axes (e.g. ``{"datamix": "rpj"}``).
    prob
        Interval probability of :meth:`summary`.
    notes
        Notes of the underlying optimum computations.
    banner
        The fit's convergence banner.
    """

    draws: xr.Dataset
    quantity: str
    axis: str
    labels: tuple[str, str]
    fixed: Mapping[str, str] = field(default_factory=dict)
    prob: float = CREDIBLE_INTERVAL
    notes: tuple[str, ...] = ()
    banner: str = ""
    title: ClassVar[str] = "contrast of compute-optimal allocations"

    @property
    def prob_greater(self) -> xr.DataArray:
        """Posterior probability that ``a``'s quantity exceeds ``b``'s, per budget."""
        return (self.draws["a"] > self.draws["b"]).mean(("chain", "draw"))

    def heading(self, prob: float | None = None) -> str:
        a, b = self.labels
        return f"{self.quantity}: {self.axis} {a} (a) against {b} (b); " + super().heading(prob).split(": ", 1)[1]

    def table(self, prob: float | None = None) -> pd.DataFrame:
        """One row per budget: 'median [lower, upper]' of a, b, the ratio and the difference, plus P(a > b)."""
        wide = super().table(prob)
        a, b = self.labels
        out = wide[["a", "b", "ratio", "difference"]].copy()
        out.columns = [f"{self.quantity}[{a}]", f"{self.quantity}[{b}]", "ratio a/b", "difference a-b"]
        budgets = out.index.get_level_values("budget").to_numpy()
        out[f"P({a} > {b})"] = self.prob_greater.sel(budget=budgets).values
        return out


def as_budget_array(budget: float | Sequence[float] | np.ndarray) -> xr.DataArray:
    """Validate FLOP budgets and return them as a DataArray over dim ``budget``."""
    values = np.atleast_1d(np.asarray(budget, dtype=float))
    if values.ndim != 1 or values.size == 0:
        raise ValueError("budget must be a number or a 1-D list of numbers")
    bad = ~np.isfinite(values) | (values <= 0)
    if bad.any():
        raise ValueError(f"budgets must be finite and positive; got {values[bad].tolist()}")
    return xr.DataArray(values, dims="budget", coords={"budget": values})


def optimum_draws(
    law: Law,
    params: Mapping[str, xr.DataArray],
    refs: Mapping[str, float],
    budgets: xr.DataArray,
    weights: xr.DataArray | None = None,
) -> tuple[xr.Dataset, list[str]]:
    """The optimum per draw and the notes on how it was found: the law's closed form where it has one
    and no mix is asked for, else the numeric search (of the ``weights``-weighted loss over skills)."""
    if weights is None:
        draws = optimum_closed_form(law, params, refs, budgets)
        if draws is not None:
            return draws, []
    return optimum_numeric(law, params, refs, budgets, weights)


def optimum_closed_form(
    law: Law, params: Mapping[str, xr.DataArray], refs: Mapping[str, float], budgets: xr.DataArray
) -> xr.Dataset | None:
    """Closed-form optimum of a single skill, or ``None`` if the law has none."""
    closed = law.compute_optimal(params, budgets, refs, np)
    if closed is None:
        return None
    n_opt, d_opt = closed["N_opt"], closed["D_opt"]
    out = {
        "N_opt": n_opt,
        "D_opt": d_opt,
        "tokens_per_param": d_opt / n_opt,
        "loss_opt": law.loss_at(params, refs, n_opt, d_opt, np),
    }
    derived = law.derived(params, refs, np)
    if "a" in derived:
        out["a"] = derived["a"] + 0.0 * n_opt  # broadcast over budgets
    return xr.Dataset(out)


def _layout(arrays: Sequence[xr.DataArray], last: str | None) -> tuple[list[str], dict[str, int], dict[str, xr.DataArray]]:
    """Common dim order (chain, draw, others in order of appearance, ``last`` at the end), sizes and coords."""
    aligned = xr.align(*arrays, join="exact")
    dims: list[str] = []
    for da in aligned:
        dims += [d for d in da.dims if d not in dims]
    dims = [d for d in ("chain", "draw") if d in dims] + [d for d in dims if d not in ("chain", "draw", last)]
    if last is not None and any(last in da.dims for da in aligned):
        dims.append(last)
    sizes: dict[str, int] = {}
    coords: dict[str, xr.DataArray] = {}
    for da in aligned:
        sizes.update(da.sizes)
        coords.update({d: da[d] for d in da.dims if d in da.coords})
    return dims, sizes, coords


def _aligned_values(da: xr.DataArray, dims: Sequence[str]) -> np.ndarray:
    """``da``'s values with axes in ``dims`` order and size-1 axes for dims it lacks (a broadcastable view)."""
    present = [d for d in dims if d in da.dims]
    return np.asarray(da.transpose(*present).values, dtype=float).reshape([da.sizes[d] if d in da.dims else 1 for d in dims])


def optimum_numeric(
    law: Law,
    params: Mapping[str, xr.DataArray],
    refs: Mapping[str, float],
    budgets: xr.DataArray,
    weights: xr.DataArray | None = None,
    bracket: str = "auto",
    *,
    block_cells: int = BLOCK_CELLS,
) -> tuple[xr.Dataset, list[str]]:
    """Numeric optimum of the loss along C = 6 N D, weighted over ``skill`` by ``weights``.

    Parameters
    ----------
    law, params, refs
        The law, its parameters per draw (DataArrays; a ``skill`` dim when
        ``weights`` is given, any other dims are kept) and reference scales.
    budgets
        FLOP budgets over dim ``budget``.
    weights
        Skill weights over ``skill`` (and optionally ``mix`` for several mixes
        at once); ``None`` optimises each group's own loss.
    bracket
        ``"auto"``: bracket each mix's minimum by its skills' closed-form optima
        where the law has a closed form, else by a coarse grid; ``"grid"``:
        always the coarse grid.
    block_cells
        Cells x skills searched at once (see :data:`BLOCK_CELLS`); the numbers do not depend on it.

    Returns
    -------
    Dataset with ``N_opt``, ``D_opt``, ``tokens_per_param``, ``loss_opt`` (dims ``chain``
    and ``draw`` first, then the others in order of appearance), and notes.
    """
    draws, n_edge, note = numeric_search(law, params, refs, budgets, weights, bracket, block_cells=block_cells)
    return draws, [note, *edge_notes(n_edge)]


def edge_notes(n_edge: int) -> list[str]:
    """The note on optima found at the search boundary (none when ``n_edge`` is 0)."""
    return [f"{n_edge} draw(s) had their optimum at the search boundary (tokens/param beyond e^±30)"] if n_edge else []


def numeric_search(
    law: Law,
    params: Mapping[str, xr.DataArray],
    refs: Mapping[str, float],
    budgets: xr.DataArray,
    weights: xr.DataArray | None,
    bracket: str,
    *,
    block_cells: int = BLOCK_CELLS,
) -> tuple[xr.Dataset, int, str]:
    """:func:`optimum_numeric`'s dataset, with the number of optima at the search boundary and the method's note."""
    if bracket not in ("auto", "grid"):
        raise ValueError(f"bracket must be 'auto' or 'grid', got {bracket!r}")
    half_compute_da = budgets / FLOPS_PER_PARAM_TOKEN
    names = list(params)
    arrays = [xr.DataArray(params[k]) for k in names] + [half_compute_da] + ([weights] if weights is not None else [])
    reduce_skill = weights is not None
    dims, sizes, coords = _layout(arrays, SKILL if reduce_skill else None)
    if reduce_skill and not any(SKILL in xr.DataArray(v).dims for v in params.values()):
        raise ValueError("weights are over 'skill', but no parameter has a 'skill' dim")
    p = {k: _aligned_values(xr.DataArray(params[k]), dims) for k in names}
    half_compute = _aligned_values(half_compute_da, dims)
    w = _aligned_values(weights, dims) if reduce_skill else None
    out_dims = dims[:-1] if reduce_skill else dims
    out_shape = tuple(sizes[d] for d in out_dims)
    note = "optimum found numerically (safeguarded Newton search in log N along C = 6ND)"
    closed = law.compute_optimal(p, FLOPS_PER_PARAM_TOKEN * half_compute, refs, np) if bracket == "auto" else None
    log_n_skill = None if closed is None else np.log(closed["N_opt"])
    if closed is not None:
        note += ", bracketed by the skills' closed-form optima"
    half = half_compute[..., 0] if reduce_skill else half_compute
    values, n_edge = optimum_along_compute(law, p, refs, half, w, log_n_skill, out_shape, block_cells=block_cells)
    out_coords = {d: coords[d] for d in out_dims if d in coords}
    dataset = xr.Dataset({name: xr.DataArray(v, dims=out_dims, coords=out_coords) for name, v in values.items()})
    return dataset, n_edge, note
