"""Robust starting points: the best of several local optima, with jitter from its local curvature.

Scaling-law posteriors can have local modes that hold little mass (the Chinchilla law's
N and D terms trading roles). NUTS started at random points near the prior's centre can
settle in one. Before sampling, :func:`find_starts` runs ``n_starts`` L-BFGS
optimisations of the log density (on the unconstrained scale, with the Jacobian terms,
i.e. the density the sampler sees) from the sampler's own random initial points, keeps
those that converged and picks the one of highest log density. Chains then start at
draws from a Normal around it whose sds come from the log density's curvature there
(per coordinate, by central differences of the gradient: a diagonal Laplace
approximation), capped at ``MAX_JITTER_SD``: spread over the mode's bulk, not piled
on its peak.

Some densities have no finite optimum: centred offsets (the density grows without
bound as a group spread shrinks to zero with its offsets), or a noise scale that can
shrink to zero when each group's curve has nearly as many parameters as points (the
fine-tuning fits). Such optimisations do not converge and are not used. When no optimisation converges, the sampler's default
starts are used and the result says so.

Opt-in (``fit(..., robust_starts=True)`` or the spec's ``[sampler]`` table), with a backend
that exposes its log density (:meth:`bayeslaw.backends.Backend.logp_grad`); the seeds come
from the ``starts`` stream of :mod:`bayeslaw.seeds`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

#: Optimisations from different random initial points.
N_STARTS: int = 8
#: L-BFGS iterations allowed per optimisation (a converging one needs ~100-300 on scaling-law models).
MAX_ITER: int = 1000
#: Largest jitter sd on the unconstrained scale (directions the curvature barely constrains).
MAX_JITTER_SD: float = 1.0
#: Two optima whose log densities differ by less than this (nats) count as the same.
SAME_OPTIMUM_NATS: float = 0.5

LogpGrad = Callable[[np.ndarray], tuple[float, np.ndarray] | None]


@dataclass(frozen=True)
class Starts:
    """Starting points (rows), the best optimum, and the distinct optima found (log densities, best first)."""

    points: np.ndarray | None
    best: np.ndarray | None
    optima: tuple[float, ...]
    n_converged: int
    n_starts: int

    def note(self) -> str | None:
        """A sentence for the fit's notes when there is something to say (several optima, or none found)."""
        if self.points is None:
            return (
                f"robust starts: none of {self.n_starts} optimisations of the log density converged (a density with no "
                "finite peak, e.g. centred offsets or a noise scale free to shrink to zero, has no optimum to find); "
                "chains started at the sampler's default points"
            )
        if len(self.optima) > 1:
            found = ", ".join(f"{v:.1f}" for v in self.optima)
            return (
                f"robust starts: {self.n_converged} of {self.n_starts} optimisations converged to {len(self.optima)} local optima "
                f"(log density {found}); chains started around the best one"
            )
        return None


def find_starts(logp_grad: LogpGrad, initial: Callable[[int], np.ndarray], seed: int, n_points: int, n_starts: int = N_STARTS) -> Starts:
    """Optimise from ``n_starts`` initial points and draw ``n_points`` starts around the best optimum.

    Parameters
    ----------
    logp_grad
        Log density and its gradient at an unconstrained point, or ``None`` where it is not finite.
    initial
        The sampler's random initial point for a seed.
    seed
        Seed of the initial points and of the jitter.
    n_points
        Rows of starting points to return.
    n_starts
        Number of optimisations.
    """
    found: list[tuple[float, np.ndarray, np.ndarray]] = []
    for k in range(n_starts):
        result = _optimise(logp_grad, np.asarray(initial(seed + k), dtype=np.float64))
        if result is not None:
            found.append(result)
    if not found:
        return Starts(None, None, (), 0, n_starts)
    found.sort(key=lambda r: -r[0])
    optima: list[float] = []
    for logp, _, _ in found:
        if all(abs(logp - v) > SAME_OPTIMUM_NATS for v in optima):
            optima.append(logp)
    _, best, sd = found[0]
    rng = np.random.default_rng(seed)
    points = best + rng.standard_normal((n_points, best.size)) * sd
    ok = [p for p in points if _finite(logp_grad, p)]
    points = np.array(ok) if ok else best[None, :]
    return Starts(points, best, tuple(optima), len(found), n_starts)


def _finite(logp_grad: LogpGrad, x: np.ndarray) -> bool:
    value = logp_grad(x)
    return value is not None and bool(np.isfinite(value[0]))


def _optimise(logp_grad: LogpGrad, x0: np.ndarray) -> tuple[float, np.ndarray, np.ndarray] | None:
    """One L-BFGS run: (log density, optimum, jitter sds), or ``None`` if it did not converge."""
    if not _finite(logp_grad, x0):
        return None

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        value = logp_grad(x)
        if value is None or not np.isfinite(value[0]):
            return 1e300, np.zeros_like(x)
        return -value[0], -value[1]

    with np.errstate(all="ignore"):
        result = minimize(objective, x0, jac=True, method="L-BFGS-B", options={"maxiter": MAX_ITER})
    if not result.success or not np.all(np.isfinite(result.x)):
        return None
    return float(-result.fun), np.asarray(result.x), curvature_sd(logp_grad, np.asarray(result.x))


def curvature_sd(logp_grad: LogpGrad, x: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Per-coordinate sd ``1 / sqrt(-d2 logp / dx_i2)`` at ``x`` (central differences of the gradient), capped.

    The conditional sd of each coordinate under a Laplace approximation: at most the
    marginal sd, so jitter of this size stays inside the mode even when coordinates correlate.
    """
    sd = np.full(x.size, MAX_JITTER_SD)
    for i in range(x.size):
        up, down = x.copy(), x.copy()
        up[i] += step
        down[i] -= step
        g_up, g_down = logp_grad(up), logp_grad(down)
        if g_up is None or g_down is None:
            continue
        second = (g_up[1][i] - g_down[1][i]) / (2 * step)
        if np.isfinite(second) and second < 0:
            sd[i] = min(1.0 / np.sqrt(-second), MAX_JITTER_SD)
    return sd
