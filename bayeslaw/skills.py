"""Contrasts between two groups' compute-optimal allocations, per posterior draw.

``contrast_optima(fit, 1e22, "code", "c4_val")`` (a thin wrapper of
:meth:`bayeslaw.optimum.OptimumResult.relative_to`) computes each skill's N* (or
D*, tokens per parameter, loss at the optimum) on the same posterior draws and
returns the per-draw difference and ratio, their credible intervals and the
posterior probability that the first exceeds the second. Because both optima
come from the same joint draws, the contrast keeps their correlation (shared
exponents make two skills' N* strongly correlated; the ratio is then much
tighter than either N* alone). Everything is vectorised over draws and budgets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from bayeslaw.constants import CREDIBLE_INTERVAL, SKILL_DIM
from bayeslaw.groups import check_labels, merge_select, require_axis
from bayeslaw.optimum import QUANTITIES, OptimumContrast

if TYPE_CHECKING:
    from bayeslaw.fit import Fit


def contrast_optima(
    fit: Fit,
    budget: float | Sequence[float],
    a: str,
    b: str,
    *,
    axis: str = SKILL_DIM,
    quantity: str = "N_opt",
    prob: float = CREDIBLE_INTERVAL,
    select: Mapping[str, str] | None = None,
    **fixed: str,
) -> OptimumContrast:
    """Compare the compute-optimal ``quantity`` of groups ``a`` and ``b`` along ``axis``, per draw.

    Parameters
    ----------
    fit
        A fit whose parameters vary along ``axis``.
    budget
        FLOP budget(s).
    a, b
        The two labels to compare (e.g. two skills).
    axis
        Any group axis of the fit's data: ``"skill"`` (default), ``"datamix"``,
        the fine-tuning data's ``"model"``, ...
    quantity
        One of ``N_opt``, ``D_opt``, ``tokens_per_param``, ``loss_opt``.
    prob
        Interval probability of the result's summaries.
    select, **fixed
        Labels of other axes the parameters vary along, e.g. ``select={"datamix": "rpj"}``
        or ``datamix="rpj"``.

    Returns
    -------
    OptimumContrast
        Draws of ``a``, ``b``, ``difference``, ``ratio``, ``log_ratio`` and ``P(a > b)``.
    """
    if quantity not in QUANTITIES:
        raise ValueError(f"quantity must be one of {QUANTITIES}, got {quantity!r}")
    require_axis(axis, fit.data.groups, "a contrast along " + repr(axis))
    check_labels(axis, [a, b], fit.data.levels[axis])
    if a == b:
        raise ValueError(f"compare two different {axis} labels; got {a!r} twice")
    fixed = merge_select(select, **fixed)
    if axis in fixed:
        raise ValueError(f"{axis}= is given by a and b; do not pass it as a fixed label")
    first = fit.compute_optimal(budget, prob=prob, select={**fixed, axis: a})
    second = fit.compute_optimal(budget, prob=prob, select={**fixed, axis: b})
    return first.relative_to(second, quantity=quantity, axis=axis)


__all__ = ["OptimumContrast", "contrast_optima"]
