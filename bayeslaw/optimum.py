"""Compute-optimal allocation per posterior draw, vectorised over draws and budgets.

For a single skill with a closed form (Chinchilla), N*(C) comes from the law.
Otherwise — a weighted mix of skills, or a law without a closed form — the
(weighted) loss along the iso-FLOP curve C = 6 N D is minimised numerically in
u = log N, on whole numpy arrays at once (every budget, mix and group together, in
blocks of draws so that memory stays bounded; no Python loop per draw; each element's
search stops on its own, so blocks give the numbers of one piece), by a safeguarded
Newton iteration: Newton
steps from central differences, kept inside a bracket that shrinks with the sign
of the slope, and bisection wherever a step would leave it. It converges in a
handful of iterations where a bracketing search such as golden-section needs ~40.

The search bracket comes from the skills themselves where the law has a closed
form: each skill's loss along the curve is unimodal (for Chinchilla a sum of two
convex exponentials in u) with its minimum at the closed-form u_s, so the
weighted sum decreases left of min_s u_s and increases right of max_s u_s and its
minimum lies between them. Without a closed form a coarse grid over tokens per
parameter from e^-30 to e^30 brackets the minimum (assumed unimodal), and a
minimum at that boundary is reported.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import numpy as np
import pandas as pd
import xarray as xr

from bayeslaw.constants import CREDIBLE_INTERVAL, FLOPS_PER_PARAM_TOKEN
from bayeslaw.laws import Law
from bayeslaw.result_contract import ResultContract, with_scalar_labels

#: Half-width of the grid search in log N around sqrt(C/6): tokens per parameter from e^-30 to e^30.
SEARCH_HALF_WIDTH = 15.0
#: Points of the coarse grid that brackets the minimum when the law has no closed form (spacing 2.5 in log N).
GRID_POINTS = 13
#: Stop when every Newton step (or bracket) in log N is below this (N* to 1e-5 % relative).
SEARCH_TOLERANCE = 1e-7
#: Step of the central differences in log N.
DIFFERENCE_STEP = 1e-4
#: Most iterations of the safeguarded Newton search (bisection alone needs < 40 from the widest bracket).
MAX_ITERATIONS = 100
#: Skill, mix and draw dims of the search (the skill dim is summed over with the weights).
SKILL = "skill"

QUANTITIES = ("N_opt", "D_opt", "tokens_per_param", "loss_opt")
#: Cells (draws x budgets x mixes x skills x groups) of one block of the numeric search; its temporaries
#: are a few dozen float64 arrays of this size, so a block costs about 100 MB at most.
BLOCK_CELLS = 2**18
#: Threads that search blocks of draws at once (numpy releases the GIL in its array loops); each holds one block.
BLOCK_THREADS = min(4, os.cpu_count() or 1)

_T = TypeVar("_T")


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


def safeguarded_newton(
    objective: Callable[[np.ndarray], np.ndarray],
    lo: np.ndarray,
    hi: np.ndarray,
    tol: float = SEARCH_TOLERANCE,
    step: float = DIFFERENCE_STEP,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """Minimiser of a smooth unimodal ``objective`` in ``[lo, hi]``, elementwise over whole arrays.

    ``objective`` maps u of shape ``(3, *lo.shape)`` to values of that shape
    (the three points ``u - step, u, u + step`` are evaluated in one call). Each
    iteration takes the Newton step from central differences where it stays
    inside the bracket (and the curvature is positive), else bisects; the slope's
    sign shrinks the bracket. Each element stops when its bracket is below ``tol``
    (so its result does not depend on the other elements: a search in blocks gives
    the same numbers as one over the whole array). The search starts at ``start``
    (clipped to the bracket; default its midpoint).
    """
    lo, hi = np.broadcast_arrays(np.asarray(lo, dtype=float), np.asarray(hi, dtype=float))
    lo, hi = lo.copy(), hi.copy()
    u = (lo + hi) / 2 if start is None else np.clip(np.broadcast_to(start, lo.shape), lo, hi)
    offsets = np.array([-step, 0.0, step]).reshape((3,) + (1,) * u.ndim)
    for _ in range(MAX_ITERATIONS):
        active = hi - lo > tol
        if not np.any(active):
            break
        f_minus, f_mid, f_plus = objective(u + offsets)
        slope = (f_plus - f_minus) / (2 * step)
        curvature = (f_plus - 2 * f_mid + f_minus) / step**2
        np.copyto(hi, u, where=active & (slope > 0))
        np.copyto(lo, u, where=active & (slope <= 0))
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = u - slope / curvature
        # Newton steps may overshoot the bracket by rounding when already converged.
        inside = (curvature > 0) & (newton > lo - tol) & (newton < hi + tol)
        done = active & inside & (np.abs(newton - u) < tol)
        u = np.where(active, np.where(inside, np.clip(newton, lo, hi), (lo + hi) / 2), u)
        # A converged Newton step closes the bracket around u.
        np.copyto(lo, u, where=done)
        np.copyto(hi, u, where=done)
    return u


def grid_bracket(
    objective: Callable[[np.ndarray], np.ndarray], lo: np.ndarray, hi: np.ndarray, points: int = GRID_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """Bracket of a unimodal minimum from a coarse grid of ``points`` values between ``lo`` and ``hi``."""
    steps = np.linspace(0.0, 1.0, points)
    values = np.stack([objective(lo + s * (hi - lo)) for s in steps])
    best = np.argmin(values, axis=0)
    spacing = (hi - lo) / (points - 1)
    return lo + np.maximum(best - 1, 0) * spacing, lo + np.minimum(best + 1, points - 1) * spacing


def minimise_log_n(
    objective: Callable[[np.ndarray], np.ndarray],
    centre: np.ndarray,
    bracket: tuple[np.ndarray, np.ndarray] | None = None,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The u = log N minimising ``objective``, from ``bracket`` or a coarse grid around ``centre``.

    Returns the minimiser and a boolean array flagging minima at the grid's
    boundary (``centre`` ± :data:`SEARCH_HALF_WIDTH`; never set when a bracket is given).
    """
    centre = np.asarray(centre, dtype=float)
    if bracket is None:
        lo, hi = grid_bracket(objective, centre - SEARCH_HALF_WIDTH, centre + SEARCH_HALF_WIDTH)
        u = safeguarded_newton(objective, lo, hi)
        at_edge = np.abs(u - centre) > SEARCH_HALF_WIDTH - 1e-3
        return u, at_edge
    u = safeguarded_newton(objective, *bracket, start=start)
    return u, np.zeros(u.shape, dtype=bool)


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
        Cells of one block of draws (see :data:`BLOCK_CELLS`); the numbers do not depend on it.

    Returns
    -------
    Dataset with ``N_opt``, ``D_opt``, ``tokens_per_param``, ``loss_opt``, and notes.
    """
    if bracket not in ("auto", "grid"):
        raise ValueError(f"bracket must be 'auto' or 'grid', got {bracket!r}")
    arrays = [xr.DataArray(v) for v in params.values()] + [budgets] + ([weights] if weights is not None else [])
    blocks = draw_blocks(arrays, block_cells)
    counts: list[int] = []
    methods: list[str] = []

    def part(index: Mapping[str, slice]) -> xr.Dataset:
        block, edge, method = numeric_block(law, select_draws(params, index), refs, budgets, weights, bracket)
        counts.append(edge)
        methods.append(method)
        return block

    joined = join_draw_blocks(map_in_order(part, blocks), blocks, arrays)
    return joined, [methods[0], *edge_notes(sum(counts))]


def map_in_order(function: Callable[[Any], _T], items: Sequence[Any], threads: int = BLOCK_THREADS) -> Iterator[_T]:
    """``function`` of each item, in order, computed by up to ``threads`` threads with at most ``threads`` results waiting."""
    if threads <= 1 or len(items) <= 1:
        yield from map(function, items)
        return
    with ThreadPoolExecutor(threads) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(function, item))
            if len(pending) >= threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def edge_notes(n_edge: int) -> list[str]:
    """The note on optima found at the search boundary (none when ``n_edge`` is 0)."""
    return [f"{n_edge} draw(s) had their optimum at the search boundary (tokens/param beyond e^±30)"] if n_edge else []


def draw_blocks(arrays: Sequence[xr.DataArray], block_cells: int = BLOCK_CELLS) -> list[dict[str, slice]]:
    """``isel`` selectors of blocks of draws (chain-major, each within one chain) of at most ``block_cells`` cells.

    A cell is one element of the arrays broadcast together; one block when they have no ``chain`` and ``draw`` dims.
    """
    sizes: dict[str, int] = {}
    for da in arrays:
        sizes.update(da.sizes)
    if "chain" not in sizes or "draw" not in sizes:
        return [{}]
    per_draw = int(np.prod([n for d, n in sizes.items() if d not in ("chain", "draw")]))
    if sizes["chain"] * sizes["draw"] * per_draw <= block_cells:
        return [{}]
    step = max(1, min(sizes["draw"], block_cells // max(per_draw, 1)))
    return [
        {"chain": slice(c, c + 1), "draw": slice(a, min(a + step, sizes["draw"]))}
        for c in range(sizes["chain"])
        for a in range(0, sizes["draw"], step)
    ]


def select_draws(arrays: Mapping[str, xr.DataArray], index: Mapping[str, slice]) -> dict[str, xr.DataArray]:
    """Each array's block of draws ``index`` (arrays without those dims as they are)."""
    return {k: xr.DataArray(v).isel({d: s for d, s in index.items() if d in xr.DataArray(v).dims}) for k, v in arrays.items()}


def join_draw_blocks(parts: Iterable[xr.Dataset], blocks: Sequence[Mapping[str, slice]], arrays: Sequence[xr.DataArray]) -> xr.Dataset:
    """One dataset from the results of :func:`draw_blocks`' blocks (each with ``chain``, ``draw`` as its first dims).

    ``parts`` may be a generator: each block is written into the result as it comes, so only
    the result and one block are held at a time.
    """
    parts = iter(parts)
    if len(blocks) == 1 and not blocks[0]:
        return next(parts)
    full = {}
    for d in ("chain", "draw"):
        source = next(da for da in arrays if d in da.dims)
        full[d] = source[d].values if d in source.coords else np.arange(source.sizes[d])
    out: dict[str, xr.DataArray] = {}
    for part, index in zip(parts, blocks, strict=True):
        if not out:
            for name, da in part.data_vars.items():
                if da.dims[:2] != ("chain", "draw"):
                    raise ValueError(f"{name}: a block's dims {da.dims} do not start with (chain, draw)")
                values = np.empty((full["chain"].size, full["draw"].size, *da.shape[2:]), dtype=da.dtype)
                coords = {k: v for k, v in da.coords.items() if "chain" not in v.dims and "draw" not in v.dims}
                out[str(name)] = xr.DataArray(values, dims=da.dims, coords={**coords, "chain": full["chain"], "draw": full["draw"]})
        for name, da in out.items():
            da.values[index["chain"], index["draw"]] = part[name].values
    return xr.Dataset(out)


def numeric_block(
    law: Law,
    params: Mapping[str, xr.DataArray],
    refs: Mapping[str, float],
    budgets: xr.DataArray,
    weights: xr.DataArray | None,
    bracket: str,
) -> tuple[xr.Dataset, int, str]:
    """:func:`optimum_numeric` on one block of draws: the dataset, the number of optima at the search boundary, and the method's note."""
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

    def loss_of_log_n(u: np.ndarray) -> np.ndarray:
        uu = u[..., None] if reduce_skill else u
        n = np.exp(uu)
        loss = law.loss_at(p, refs, n, half_compute / n, np)
        return np.sum(loss * w, axis=-1) if reduce_skill else np.broadcast_to(loss, u.shape)

    log_half = np.log(half_compute)
    centre = np.broadcast_to(0.5 * (log_half[..., 0] if reduce_skill else log_half), out_shape)
    notes = ["optimum found numerically (safeguarded Newton search in log N along C = 6ND)"]
    closed = law.compute_optimal(p, FLOPS_PER_PARAM_TOKEN * half_compute, refs, np) if bracket == "auto" else None
    if closed is not None:
        log_n_skill = np.broadcast_to(np.log(closed["N_opt"]), out_shape + ((sizes[SKILL],) if reduce_skill else ()))
        if reduce_skill:
            # Skills with zero weight do not bound the minimum.
            used = np.broadcast_to(w > 0, log_n_skill.shape)
            lo = np.min(np.where(used, log_n_skill, np.inf), axis=-1)
            hi = np.max(np.where(used, log_n_skill, -np.inf), axis=-1)
            start = np.sum(w * log_n_skill, axis=-1) / np.sum(w, axis=-1)
        else:
            lo = hi = start = log_n_skill
        pad = 1e-9 * (1.0 + np.abs(lo))
        u_opt, at_edge = minimise_log_n(loss_of_log_n, centre, (lo - pad, hi + pad), start)
        notes[0] += ", bracketed by the skills' closed-form optima"
    else:
        u_opt, at_edge = minimise_log_n(loss_of_log_n, centre)
    n_opt = np.exp(u_opt)
    d_opt = np.exp(2 * centre - u_opt)
    out_coords = {d: coords[d] for d in out_dims if d in coords}

    def wrap(values: np.ndarray) -> xr.DataArray:
        return xr.DataArray(values, dims=out_dims, coords=out_coords)

    dataset = xr.Dataset(
        {"N_opt": wrap(n_opt), "D_opt": wrap(d_opt), "tokens_per_param": wrap(d_opt / n_opt), "loss_opt": wrap(loss_of_log_n(u_opt))}
    )
    return dataset, int(at_edge.sum()), notes[0]
