"""Minimise a law's (skill-weighted) loss along iso-FLOP curves C = 6 N D, on plain numpy arrays.

The search runs in u = log N, elementwise over every cell (draw x budget x mix x group),
by a safeguarded Newton iteration: Newton steps from the law's own slope and curvature
along the curve where it gives them (:meth:`bayeslaw.laws.base.Law.loss_derivatives_along_compute`,
one evaluation per step), else from central differences of its loss (three), kept inside a
bracket that shrinks with the sign of the slope, and bisection wherever a step would
leave it. A cell stops once a step is below the tolerance, or once quadratic convergence
puts the error after its step far below it: about two steps per cell from the skills'
closed-form optima, where a bracketing search such as golden-section needs ~40.

Speed comes from the memory layout as much as from the steps:

- the cells are searched in blocks of :data:`BLOCK_CELLS` cells x skills, so that every
  temporary of the law's loss stays in the CPU cache (on arrays of a few MB each numpy
  pass costs 5-20 times more), with the skills on the leading axis so that numpy's inner
  loops run along the cells, and by :data:`BLOCK_THREADS` threads (numpy releases the
  GIL in its loops);
- each cell stops on its own, and later iterations evaluate the law only at the cells
  still searching (the arrays are compacted), so a cell costs its own iterations, not
  the slowest cell's;
- the results are written into the output arrays block by block, so memory grows with
  the answer only.

Every step is elementwise (the weighted sum over skills is a sum within a cell), so a
cell's result does not depend on the other cells or on the blocks it was searched in.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import Any, TypeVar

import numpy as np

from bayeslaw.laws import Law

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
#: Cells x skills searched at once: big enough that numpy's per-call overhead is small, small enough for the cache.
BLOCK_CELLS = 2**15
#: Threads that search blocks at once (numpy releases the GIL in its array loops), where there are spare cores:
#: on 2 shared cores a second thread cost 1.8x the CPU time and ran slower than one.
BLOCK_THREADS = max(1, min(4, (os.cpu_count() or 1) // 2))
#: Compact the search's arrays when fewer than this share of their elements are still searching.
COMPACT_BELOW = 0.75
#: What the search returns per cell.
QUANTITIES = ("N_opt", "D_opt", "tokens_per_param", "loss_opt")

#: ``objective(u, cells)``: the loss at ``u`` (shape ``(..., m)``) of the ``m`` cells ``cells`` (``None``: all, in order).
Objective = Callable[[np.ndarray, np.ndarray | None], np.ndarray]
#: ``derivatives(u, cells)``: the slope and curvature of the loss at ``u`` (shape ``(m,)``) of the cells ``cells``.
Derivatives = Callable[[np.ndarray, np.ndarray | None], tuple[np.ndarray, np.ndarray]]
_T = TypeVar("_T")


def central_differences(objective: Objective, step: float = DIFFERENCE_STEP) -> Derivatives:
    """Slope and curvature of ``objective`` from central differences: three evaluations ``u - step, u, u + step`` in one call."""
    offsets = np.array([[-step], [0.0], [step]])

    def derivatives(u: np.ndarray, cells: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        f_minus, f_mid, f_plus = objective(u + offsets, cells)
        return (f_plus - f_minus) / (2 * step), (f_plus - 2 * f_mid + f_minus) / step**2

    return derivatives


def safeguarded_newton(
    derivatives: Derivatives,
    lo: np.ndarray,
    hi: np.ndarray,
    tol: float = SEARCH_TOLERANCE,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """Minimiser of a smooth unimodal function in ``[lo, hi]`` from its ``derivatives``, elementwise over whole arrays.

    ``derivatives(u, cells)`` gives the slope and curvature at u (shape ``(m,)``) of the
    ``m`` flat elements ``cells`` of ``lo`` (``None``: all of them, in order; the same
    array object until the set changes), e.g. :func:`central_differences` of the function.
    Each iteration takes the Newton step where it stays inside the bracket (and the
    curvature is positive), else bisects; the slope's sign shrinks the bracket. Each
    element stops when its bracket is below ``tol``: a Newton step closes it when the step
    is below ``tol``, or when it is at most a quarter of the previous Newton step and
    quadratic convergence (next step ~ step^2 x step / previous step^2) puts the error
    after it below ``tol / 100``; its bracket then holds it at u. Once fewer than
    :data:`COMPACT_BELOW` of the elements are searching, later iterations evaluate only
    those. Either way an element's result does not depend on the others. The search
    starts at ``start`` (clipped to the bracket; default its midpoint).
    """
    lo, hi = np.broadcast_arrays(np.asarray(lo, dtype=float), np.asarray(hi, dtype=float))
    shape = lo.shape
    lo, hi = lo.ravel().copy(), hi.ravel().copy()
    u = (lo + hi) / 2 if start is None else np.clip(np.broadcast_to(start, shape).ravel(), lo, hi)
    result = u.copy()
    last = np.full(u.shape, np.nan)  # each element's previous Newton step (none at first and after a bisection)
    cells: np.ndarray | None = None
    active = hi - lo > tol
    for _ in range(MAX_ITERATIONS):
        searching = np.count_nonzero(active)
        if searching < COMPACT_BELOW * active.size:
            # Elements whose bracket has closed are final; the search goes on with the others.
            result[slice(None) if cells is None else cells] = u
            cells = np.flatnonzero(active) if cells is None else cells[active]
            if cells.size == 0:
                return result.reshape(shape)
            u, lo, hi, last = u[active], lo[active], hi[active], last[active]
        elif searching < active.size:
            # A few are final: a bracket closed onto u keeps them there, cheaper than compacting the rest.
            lo, hi = np.where(active, lo, u), np.where(active, hi, u)
        slope, curvature = derivatives(u, cells)
        rising = slope > 0
        hi = np.where(rising, u, hi)
        lo = np.where(rising, lo, u)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = u - slope / curvature
        # Newton steps may overshoot the bracket by rounding when already converged.
        inside = (curvature > 0) & (newton > lo - tol) & (newton < hi + tol)
        size = np.abs(newton - u)
        # Converged: a step below tol, or a step that follows a 4x larger one and whose quadratic
        # convergence (next step ~ step^2 x step / previous step^2) puts the error after it below tol / 100.
        with np.errstate(invalid="ignore"):
            done = inside & ((size < tol) | ((4 * size <= last) & (size * size * size < (0.01 * tol) * (last * last))))
        last = np.where(inside, size, np.nan)
        u = np.where(inside, np.clip(newton, lo, hi), (lo + hi) / 2)
        # A converged Newton step closes the bracket around u.
        active = ~done & (hi - lo > tol)
    result[slice(None) if cells is None else cells] = u
    return result.reshape(shape)


def grid_bracket(objective: Objective, lo: np.ndarray, hi: np.ndarray, points: int = GRID_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Bracket of a unimodal minimum from a coarse grid of ``points`` values between ``lo`` and ``hi`` (1-D arrays)."""
    steps = np.linspace(0.0, 1.0, points)[:, None]
    values = objective(lo + steps * (hi - lo), None)
    best = np.argmin(values, axis=0)
    spacing = (hi - lo) / (points - 1)
    return lo + np.maximum(best - 1, 0) * spacing, lo + np.minimum(best + 1, points - 1) * spacing


def blocks(shape: tuple[int, ...], cells: int) -> list[tuple[Any, ...]]:
    """Indices of rectangular blocks covering an array of ``shape``, each of at most ``cells`` elements
    (but at least one element), split along one axis into pieces of near-equal length."""
    inner, axis = 1, len(shape)
    while axis > 0 and inner * shape[axis - 1] <= cells:
        axis -= 1
        inner *= shape[axis]
    if axis == 0:
        return [()]
    split = axis - 1
    pieces = -(-shape[split] // max(1, cells // inner))
    edges = np.linspace(0, shape[split], pieces + 1).round().astype(int)
    return [(*lead, slice(a, b)) for lead in np.ndindex(*shape[:split]) for a, b in pairwise(edges)]


def map_in_order(function: Callable[[Any], _T], items: Sequence[Any], threads: int = BLOCK_THREADS) -> Iterator[_T]:
    """``function`` of each item, in order, computed by up to ``threads`` threads with at most ``2 * threads`` results waiting."""
    if threads <= 1 or len(items) <= 1:
        yield from map(function, items)
        return
    with ThreadPoolExecutor(threads) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(function, item))
            if len(pending) >= 2 * threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


class _Block:
    """One block of cells: its parameters, weights (skills x cells each) and C / 6 as rows of one
    table, and the loss and its derivatives at the cells still searching (the table compacted
    once per set of cells)."""

    def __init__(self, law: Law, refs: Mapping[str, float], pieces: Mapping[str, np.ndarray], half: np.ndarray, width: int | None) -> None:
        """``pieces``: the block of each parameter (and ``weights``), cells x skills (``width`` of them; ``None``: no skill
        axis); ``half``: the block of C / 6, cells."""
        self.law, self.refs, self.width = law, refs, width or 1
        self.sizes = {**dict.fromkeys(pieces, self.width), "half_compute": 1, "log_half_compute": 1}
        self.table = np.empty((sum(self.sizes.values()), half.size))
        at = 0
        for v in pieces.values():
            np.copyto(self.table[at : at + self.width].reshape(self.width, *half.shape), np.moveaxis(v, -1, 0) if width else v)
            at += self.width
        self.table[at] = half.ravel()
        np.log(self.table[at], out=self.table[at + 1])
        self.cached: tuple[np.ndarray | None, np.ndarray] = (None, self.table)

    def rows(self, cells: np.ndarray | None) -> dict[str, np.ndarray]:
        """Each row group (name -> skills x cells) of the cells ``cells`` (``None``: all)."""
        if cells is None:
            table = self.table
        elif cells is self.cached[0]:
            table = self.cached[1]
        else:
            table = self.table.take(cells, axis=1)
            self.cached = (cells, table)
        out, at = {}, 0
        for k, size in self.sizes.items():
            out[k] = table[at : at + size]
            at += size
        return out

    def derivatives(self, u: np.ndarray, cells: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Slope and curvature in u (weighted over skills) at log N = ``u`` (shape ``(m,)``) of the ``cells``:
        the law's own where it gives them (:meth:`~bayeslaw.laws.base.Law.loss_derivatives_along_compute`),
        else central differences of the loss."""
        rows = self.rows(cells)
        log_half, w = rows.pop("log_half_compute")[0], rows.pop("weights", None)
        del rows["half_compute"]
        exact = self.law.loss_derivatives_along_compute(rows, self.refs, u, log_half, np)
        if exact is None:
            return central_differences(self.loss)(u, cells)
        slope, curvature = (_over_skills(np.broadcast_to(v, (self.width, u.shape[-1])), w) for v in exact)
        return slope, curvature

    def loss(self, u: np.ndarray, cells: np.ndarray | None) -> np.ndarray:
        """Loss (weighted over skills) at log N = ``u`` (shape ``(..., m)``) of the ``cells``."""
        rows = self.rows(cells)
        half, w = rows.pop("half_compute")[0], rows.pop("weights", None)
        del rows["log_half_compute"]
        n = np.exp(u)[..., None, :]
        loss = np.broadcast_to(self.law.loss_at(rows, self.refs, n, half / n, np), (*u.shape[:-1], self.width, u.shape[-1]))
        return _over_skills(loss, w)


def _over_skills(values: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """``values`` (skills on the second-last axis) summed with the skill weights ``w`` (skills x cells), or its one skill."""
    if w is None:
        return values[..., 0, :]
    total = values[..., 0, :] * w[0]
    for k in range(1, w.shape[0]):
        total += values[..., k, :] * w[k]
    return total


def optimum_along_compute(
    law: Law,
    p: Mapping[str, np.ndarray],
    refs: Mapping[str, float],
    half_compute: np.ndarray,
    weights: np.ndarray | None,
    log_n_skill: np.ndarray | None,
    shape: tuple[int, ...],
    *,
    block_cells: int = BLOCK_CELLS,
    threads: int = BLOCK_THREADS,
) -> tuple[dict[str, np.ndarray], int]:
    """The compute-optimal allocation along N D = ``half_compute`` (= C / 6) in every cell of ``shape``.

    Parameters
    ----------
    law, refs
        The law and its reference scales.
    p
        Parameters, numpy arrays broadcastable to ``shape`` plus a trailing skill axis
        when ``weights`` is given.
    half_compute
        C / 6, broadcastable to ``shape``.
    weights
        Skill weights (laid out like ``p``) whose weighted sum of the skills' losses is
        minimised; ``None`` minimises each cell's own loss.
    log_n_skill
        Each skill's own optimal log N (laid out like ``p``), from the law's closed form:
        the minimum lies between those of the skills with positive weight (each skill's
        loss is unimodal along the curve) and the search starts at their weighted mean.
        ``None``: a coarse grid over ``sqrt(C/6)`` ± :data:`SEARCH_HALF_WIDTH` brackets it.
    block_cells, threads
        Cells x skills searched at once, and threads searching blocks; the numbers do not depend on either.

    Returns
    -------
    Arrays of ``shape``: ``N_opt``, ``D_opt``, ``tokens_per_param``, ``loss_opt``; and the
    number of minima at the grid's boundary (always 0 with ``log_n_skill``).
    """
    skills = None if weights is None else np.broadcast_shapes(np.shape(weights), *(np.shape(v) for v in p.values()))[-1]
    width = skills or 1
    full = shape if skills is None else (*shape, skills)
    views = {k: np.broadcast_to(v, full) for k, v in p.items()}
    if weights is not None:
        views["weights"] = np.broadcast_to(weights, full)
    skill_view = None if log_n_skill is None else np.broadcast_to(log_n_skill, full)
    half_view = np.broadcast_to(half_compute, shape)
    out = {q: np.empty(shape) for q in QUANTITIES}
    edges = np.zeros(shape, dtype=bool)

    def search(index: tuple[Any, ...]) -> None:
        half = half_view[index]
        block = _Block(law, refs, {k: v[index] for k, v in views.items()}, half, skills)
        rows = block.rows(None)
        log_half = rows["log_half_compute"][0]
        if skill_view is None:
            centre = 0.5 * log_half
            lo, hi = grid_bracket(block.loss, centre - SEARCH_HALF_WIDTH, centre + SEARCH_HALF_WIDTH)
            u = safeguarded_newton(block.derivatives, lo, hi)
            edges[index] = (np.abs(u - centre) > SEARCH_HALF_WIDTH - 1e-3).reshape(half.shape)
        else:
            log_n = (np.moveaxis(skill_view[index], -1, 0) if skills else skill_view[index]).reshape(width, -1)
            if weights is None:
                lo = hi = start = log_n[0]
            else:
                # Skills with zero weight do not bound the minimum.
                w = rows["weights"]
                used = w > 0
                lo = np.min(np.where(used, log_n, np.inf), axis=0)
                hi = np.max(np.where(used, log_n, -np.inf), axis=0)
                start = np.sum(w * log_n, axis=0) / np.sum(w, axis=0)
            pad = 1e-9 * (1.0 + np.abs(lo))
            u = safeguarded_newton(block.derivatives, lo - pad, hi + pad, start=start)
        n_opt, d_opt = np.exp(u), np.exp(log_half - u)
        for name, values in zip(QUANTITIES, (n_opt, d_opt, d_opt / n_opt, block.loss(u, None)), strict=True):
            out[name][index] = values.reshape(half.shape)

    for _ in map_in_order(search, blocks(shape, max(1, block_cells // width)), threads):
        pass
    return out, int(edges.sum())
