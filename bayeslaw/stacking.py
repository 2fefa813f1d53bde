"""Stacking of predictive distributions (Yao, Vehtari, Simpson & Gelman 2018), from leave-future-out densities.

Given ``lpd[i, k]``, the log predictive density of held-out run ``i`` under model
``k`` (each model fitted only on runs before ``i``'s cut), the stacking weights
maximise the log score of the mixture::

    w = argmax_{w in simplex}  sum_i log sum_k w_k exp(lpd[i, k])

They are found by L-BFGS over a softmax parameterisation. A stacked forecast mixes
the members' predictive draws by these weights (:func:`bayeslaw.predictive.mixture`).
Members whose fits did not converge are refused by default: stacking weights are
only as good as the densities they are computed from.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import optimize, special


class UnconvergedMemberError(ValueError):
    """Raised when a stacking or comparison member's fit did not converge."""


def stacking_weights(lpd: np.ndarray) -> np.ndarray:
    """Stacking weights from a ``(runs, models)`` matrix of held-out log predictive densities.

    Rows with a non-finite entry for every model are rejected; a ``-inf`` entry (a
    run a model gives zero density) is allowed.
    """
    lpd = np.asarray(lpd, dtype=float)
    if lpd.ndim != 2 or lpd.shape[0] == 0 or lpd.shape[1] == 0:
        raise ValueError(f"lpd must be a non-empty (runs, models) matrix; got shape {lpd.shape}")
    if np.isnan(lpd).any():
        rows = np.flatnonzero(np.isnan(lpd).any(axis=1))[:10].tolist()
        raise ValueError(f"lpd has NaN entries (rows {rows}); every member must score every held-out run")
    if not np.isfinite(lpd.max(axis=1)).all():
        rows = np.flatnonzero(~np.isfinite(lpd.max(axis=1)))[:10].tolist()
        raise ValueError(f"held-out rows {rows} have zero density under every model")
    k = lpd.shape[1]
    if k == 1:
        return np.ones(1)

    def negative(theta: np.ndarray) -> tuple[float, np.ndarray]:
        logw = theta - special.logsumexp(theta)
        terms = lpd + logw[None, :]
        per_row = special.logsumexp(terms, axis=1)
        resp = np.exp(terms - per_row[:, None])  # posterior share of each model per run
        w = np.exp(logw)
        grad = resp.sum(axis=0) - lpd.shape[0] * w
        return -float(per_row.sum()), -grad

    best = optimize.minimize(negative, np.zeros(k), jac=True, method="L-BFGS-B")
    w = special.softmax(best.x)
    w[w < 1e-6] = 0.0
    return w / w.sum()


def check_members(names: Sequence[str], converged: Sequence[bool], *, allow_unconverged: bool = False) -> list[str]:
    """Raise :class:`UnconvergedMemberError` naming unconverged members, or return warning lines if allowed."""
    bad = [n for n, ok in zip(names, converged, strict=True) if not ok]
    if not bad:
        return []
    message = f"member(s) {bad} did not converge: their predictive densities cannot be trusted for comparison or stacking"
    if not allow_unconverged:
        raise UnconvergedMemberError(message + " (refit with more draws, or pass allow_unconverged=True to include them, flagged)")
    return [f"WARNING: {message}"]
