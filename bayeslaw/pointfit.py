"""The Chinchilla "approach 3" point fit, as Hoffmann et al. (2022) and Epoch AI did it.

This is the non-Bayesian baseline bayeslaw is compared against. The law
``L(N, D) = E + A / N^alpha + B / D^beta`` is fitted in log-sum-exp form,

    log L_hat = LSE(a - alpha log N, b - beta log D, e),   a = log A, b = log B, e = log E,

by minimising ``sum_i Huber_delta(log L_hat_i - log L_i)`` (delta = 1e-3) with
L-BFGS from every point of a grid of starts, keeping the best optimum. The
default grid is the paper's 4,500 starts: alpha, beta in {0, 0.5, ..., 2},
e in {-1, -0.5, ..., 1}, a, b in {0, 5, ..., 25}. Each start is an independent
``scipy.optimize.minimize(method="L-BFGS-B")`` run. Two gradients are offered:
``gradient="exact"`` (default here: an analytic gradient, vectorised over
observations) and ``gradient="finite-difference"``, which passes only the objective
(written as Epoch AI's code writes it: the log of a sum of exponentials and a
``np.where`` Huber) and lets scipy difference it numerically, as the widely copied
form of Epoch's fitting loop does. Both reach the same optimum; the second is the
cost a user of that code pays. BLAS is held to one thread (its thread pool only
slows L-BFGS's 5-dimensional steps). :func:`bootstrap` resamples observations to get the
spread Epoch reports as confidence intervals.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

from bayeslaw.constants import FLOPS_PER_PARAM_TOKEN
from bayeslaw.data import ScalingData

#: Huber threshold on log loss used by Hoffmann et al. and Epoch AI.
HUBER_DELTA: float = 1e-3

#: The paper's grid of starting values (4,500 starts).
GRID_ALPHA: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5, 2.0)
GRID_BETA: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5, 2.0)
GRID_E: tuple[float, ...] = (-1.0, -0.5, 0.0, 0.5, 1.0)
GRID_A: tuple[float, ...] = (0.0, 5.0, 10.0, 15.0, 20.0, 25.0)
GRID_B: tuple[float, ...] = (0.0, 5.0, 10.0, 15.0, 20.0, 25.0)

#: Order of the optimised vector.
THETA_NAMES: tuple[str, ...] = ("a", "b", "e", "alpha", "beta")


def start_grid(
    a: Sequence[float] = GRID_A,
    b: Sequence[float] = GRID_B,
    e: Sequence[float] = GRID_E,
    alpha: Sequence[float] = GRID_ALPHA,
    beta: Sequence[float] = GRID_BETA,
) -> np.ndarray:
    """Every combination of the given start values, as rows ``(a, b, e, alpha, beta)``.

    With the defaults this is the paper's 6 x 6 x 5 x 5 x 5 = 4,500 starts.
    """
    return np.array(list(itertools.product(a, b, e, alpha, beta)), dtype=float)


def huber(residual: np.ndarray, delta: float) -> np.ndarray:
    """Huber loss: ``r^2 / 2`` for ``|r| <= delta``, else ``delta (|r| - delta / 2)``."""
    absolute = np.abs(residual)
    return np.where(absolute <= delta, 0.5 * residual**2, delta * (absolute - 0.5 * delta))


def log_loss_prediction(theta: np.ndarray, log_n: np.ndarray, log_d: np.ndarray) -> np.ndarray:
    """``LSE(a - alpha log N, b - beta log D, e)``: the law's log loss at ``theta``."""
    a, b, e, alpha, beta = theta
    return np.logaddexp(np.logaddexp(a - alpha * log_n, b - beta * log_d), e)


def objective(
    theta: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, log_loss: np.ndarray, delta: float = HUBER_DELTA
) -> tuple[float, np.ndarray]:
    """Summed Huber loss of the log-loss residuals and its exact gradient in ``theta``.

    Parameters
    ----------
    theta
        ``(a, b, e, alpha, beta)``.
    log_n, log_d, log_loss
        Logs of model size, tokens and observed loss (one entry per observation).
    delta
        Huber threshold.

    Returns
    -------
    value, gradient
    """
    a, b, e, alpha, beta = theta
    terms = np.stack([a - alpha * log_n, b - beta * log_d, np.full_like(log_n, e)])
    top = terms.max(axis=0)
    weights = np.exp(terms - top)
    total = weights.sum(axis=0)
    prediction = top + np.log(total)
    weights /= total  # softmax: d prediction / d term
    residual = prediction - log_loss
    value = float(huber(residual, delta).sum())
    slope = np.clip(residual, -delta, delta)  # Huber'(r)
    gradient = np.array(
        [
            slope @ weights[0],
            slope @ weights[1],
            slope @ weights[2],
            -(slope * weights[0]) @ log_n,
            -(slope * weights[1]) @ log_d,
        ]
    )
    return value, gradient


def epoch_objective(theta: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, log_loss: np.ndarray, delta: float = HUBER_DELTA) -> float:
    """The objective value only, in the form of Epoch AI's code (no gradient; used with finite differences)."""
    a, b, e, alpha, beta = theta
    prediction = np.log(np.exp(a - alpha * log_n) + np.exp(b - beta * log_d) + np.exp(e))
    return float(np.sum(huber(log_loss - prediction, delta)))


#: L-BFGS-B tolerances for bootstrap refits. Started at the full-data optimum, a resample's
#: Huber(1e-3) objective changes by ~1e-9 per step, under scipy's default ``ftol``: with the
#: defaults 939 of 1,000 refits stopped where they started and the bootstrap spread collapsed.
BOOTSTRAP_OPTIONS: dict[str, float] = {"ftol": 1e-15, "gtol": 1e-12, "maxiter": 20000}

#: Gradient options of :func:`fit_arrays`.
GRADIENTS: tuple[str, ...] = ("exact", "finite-difference")


@dataclass(frozen=True)
class PointFit:
    """Best approach-3 optimum over the grid of starts.

    Attributes
    ----------
    theta
        Optimum ``(a, b, e, alpha, beta)`` (``a = log A``, ``b = log B``, ``e = log E``).
    objective
        Summed Huber loss at the optimum.
    n_starts
        Starts tried.
    n_failed
        Starts whose L-BFGS run did not report success (they still compete for the best).
    delta
        Huber threshold used.
    """

    theta: np.ndarray
    objective: float
    n_starts: int
    n_failed: int
    delta: float = HUBER_DELTA
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def params(self) -> dict[str, float]:
        """``E``, ``A``, ``B``, ``alpha``, ``beta`` in the paper's form."""
        a, b, e, alpha, beta = (float(v) for v in self.theta)
        return {"E": float(np.exp(e)), "A": float(np.exp(a)), "B": float(np.exp(b)), "alpha": alpha, "beta": beta}

    def loss(self, n: np.ndarray | float, d: np.ndarray | float) -> np.ndarray:
        """Predicted loss at model sizes ``n`` and tokens ``d``."""
        return np.exp(log_loss_prediction(self.theta, np.log(np.asarray(n, dtype=float)), np.log(np.asarray(d, dtype=float))))

    def compute_optimal(self, budget: np.ndarray | float) -> dict[str, np.ndarray]:
        """Closed-form ``N_opt``, ``D_opt`` and ``tokens_per_param`` at FLOP ``budget`` (C = 6ND)."""
        p = self.params
        alpha, beta = p["alpha"], p["beta"]
        scale = (alpha * p["A"] / (beta * p["B"])) ** (1.0 / (alpha + beta))
        half = np.asarray(budget, dtype=float) / FLOPS_PER_PARAM_TOKEN
        n_opt = scale * half ** (beta / (alpha + beta))
        d_opt = half / n_opt
        return {"N_opt": n_opt, "D_opt": d_opt, "tokens_per_param": d_opt / n_opt}


def _logs(n: np.ndarray, d: np.ndarray, loss: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    arrays = [np.asarray(v, dtype=float).ravel() for v in (n, d, loss)]
    if len({a.size for a in arrays}) != 1 or arrays[0].size == 0:
        raise ValueError(f"N, D and loss must be non-empty and of equal length; got {[a.size for a in arrays]}")
    for name, values in zip(("N", "D", "loss"), arrays, strict=True):
        bad = ~np.isfinite(values) | (values <= 0)
        if bad.any():
            raise ValueError(f"{name} must be finite and positive; bad values at positions {np.flatnonzero(bad)[:10].tolist()}")
    return np.log(arrays[0]), np.log(arrays[1]), np.log(arrays[2])


def fit_arrays(
    n: np.ndarray,
    d: np.ndarray,
    loss: np.ndarray,
    *,
    starts: np.ndarray | None = None,
    delta: float = HUBER_DELTA,
    gradient: str = "exact",
    options: dict[str, float] | None = None,
) -> PointFit:
    """Approach-3 fit to arrays of model sizes, tokens and losses.

    Parameters
    ----------
    n, d, loss
        Observations (positive).
    starts
        Rows ``(a, b, e, alpha, beta)`` to start L-BFGS from; default :func:`start_grid` (4,500 starts).
    delta
        Huber threshold.
    gradient
        ``"exact"`` (analytic gradient) or ``"finite-difference"`` (objective only, as in Epoch AI's code).
    options
        ``scipy.optimize.minimize`` options for L-BFGS-B (default: scipy's, as Epoch used).
    """
    if gradient not in GRADIENTS:
        raise ValueError(f"gradient must be one of {GRADIENTS}, got {gradient!r}")
    log_n, log_d, log_loss = _logs(n, d, loss)
    starts = start_grid() if starts is None else np.atleast_2d(np.asarray(starts, dtype=float))
    if starts.shape[1] != len(THETA_NAMES):
        raise ValueError(f"starts must have {len(THETA_NAMES)} columns {THETA_NAMES}; got shape {starts.shape}")
    best_value, best_theta, failed = np.inf, None, 0
    # One BLAS thread: L-BFGS-B's tiny 5-dimensional linear algebra is many times slower with
    # OpenBLAS's thread pool (about 4 ms vs well under 0.1 ms per step, profiled on a busy 2-core machine).
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow in exp at wild starts; handled by LSE
        for start in starts:
            if gradient == "exact":
                result = minimize(objective, start, args=(log_n, log_d, log_loss, delta), jac=True, method="L-BFGS-B", options=options)
            else:
                result = minimize(epoch_objective, start, args=(log_n, log_d, log_loss, delta), method="L-BFGS-B", options=options)
            failed += not result.success
            if np.isfinite(result.fun) and result.fun < best_value:
                best_value, best_theta = float(result.fun), np.asarray(result.x, dtype=float)
    if best_theta is None:
        raise RuntimeError("no start gave a finite objective")
    return PointFit(theta=best_theta, objective=best_value, n_starts=len(starts), n_failed=failed, delta=delta)


def fit_point(data: ScalingData, *, starts: np.ndarray | None = None, delta: float = HUBER_DELTA, gradient: str = "exact") -> PointFit:
    """Approach-3 fit to validated data with ``N``, ``D`` and ``loss`` (see :func:`fit_arrays`)."""
    missing = [k for k in ("N", "D") if k not in data.inputs]
    if missing or data.target != "loss":
        raise ValueError(f"the approach-3 fit needs inputs N, D and target 'loss'; data has {data.inputs} -> {data.target!r}")
    return fit_arrays(data.values("N"), data.values("D"), data.values("loss"), starts=starts, delta=delta, gradient=gradient)


def bootstrap(
    data: ScalingData,
    n_boot: int,
    *,
    seed: int,
    starts: PointFit | np.ndarray | None = None,
    delta: float = HUBER_DELTA,
) -> pd.DataFrame:
    """Refit on ``n_boot`` resamples of the observations (drawn with replacement).

    Each resample is fitted from ``starts``: a :class:`PointFit` (its optimum is
    the single start), rows ``(a, b, e, alpha, beta)``, or by default the
    optimum of a full-grid fit to all the data computed here (pass the full-data
    :class:`PointFit` to avoid refitting it). One start keeps the cost at one
    L-BFGS run per resample; pass a grid to refit each resample from many
    starts, as Epoch AI did.

    Returns
    -------
    DataFrame
        One row per resample: ``E``, ``A``, ``B``, ``alpha``, ``beta``, ``objective``.
    """
    if n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot}")
    n, d, loss = data.values("N"), data.values("D"), data.values("loss")
    if starts is None:
        starts = fit_arrays(n, d, loss, delta=delta)
    if isinstance(starts, PointFit):
        starts = starts.theta[None, :]
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n_boot):
        pick = rng.integers(0, len(n), size=len(n))
        result = fit_arrays(n[pick], d[pick], loss[pick], starts=starts, delta=delta, options=BOOTSTRAP_OPTIONS)
        rows.append({**result.params, "objective": result.objective})
    return pd.DataFrame(rows)


__all__ = [
    "BOOTSTRAP_OPTIONS",
    "GRADIENTS",
    "HUBER_DELTA",
    "PointFit",
    "bootstrap",
    "epoch_objective",
    "fit_arrays",
    "fit_point",
    "huber",
    "objective",
    "start_grid",
]
