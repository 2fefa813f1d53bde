"""Plausibility checks: no confident answer from impossible or implausible input.

Impossible input raises :class:`~bayeslaw.data.DataValidationError` (or
``ValueError`` for a question asked of a fit). Implausible input warns with a
:class:`PlausibilityWarning` that names its check and the range it applies;
nothing is ever changed. Each warning can be silenced explicitly, by name:

>>> from bayeslaw import plausibility
>>> with plausibility.silence("magnitude"):          # doctest: +SKIP
...     fit = bayeslaw.fit(data)

On the command line: ``--allow magnitude`` (repeatable). Standard
``warnings`` filters on :class:`PlausibilityWarning` work as well.

Checks and their ranges (all inclusive; see :data:`CHECKS`):

========================  ===============================================================
``magnitude``             N (parameters) and D (tokens) in [1e4, 1e14] and [1e4, 1e16]:
                          values outside look like millions/billions or a unit error.
``few_runs``              at least as many runs as the law has parameters.
``constant_input``        every input takes at least two distinct values.
``duplicate_rows``        no two rows identical in every column.
``extrapolation``         forecast inputs within [smallest / 10, largest x 1000] of the
                          data; FLOP budgets within [smallest C / 100, largest C x 1e4].
``tokens_per_param``      D/N of a forecast point or an optimum (median) within
                          [smallest D/N / 10, largest D/N x 10] of the data.
========================  ===============================================================

Errors (cannot be silenced): fewer than two runs; all runs at the same inputs;
a budget below 6 FLOPs (one parameter trained on one token).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np

from bayeslaw.constants import FLOPS_PER_PARAM_TOKEN
from bayeslaw.data import DataValidationError, ScalingData

#: Plausible ranges of parameters (N) and tokens (D) of one training run.
N_RANGE = (1e4, 1e14)
D_RANGE = (1e4, 1e16)
#: Forecast inputs may lie this far below the smallest / above the largest value in the data.
INPUT_BELOW, INPUT_ABOVE = 10.0, 1e3
#: FLOP budgets may lie this far below the smallest / above the largest training compute in the data.
BUDGET_BELOW, BUDGET_ABOVE = 1e2, 1e4
#: Tokens per parameter may lie this far outside the data's range.
RATIO_FACTOR = 10.0
#: Smallest possible budget: one parameter trained on one token.
MIN_BUDGET = FLOPS_PER_PARAM_TOKEN

#: Check name -> what it checks (shown in warnings and ``--allow`` help).
CHECKS: dict[str, str] = {
    "magnitude": f"N in [{N_RANGE[0]:.0e}, {N_RANGE[1]:.0e}] parameters and D in [{D_RANGE[0]:.0e}, {D_RANGE[1]:.0e}] tokens",
    "few_runs": "at least as many runs as the law has parameters",
    "constant_input": "each input takes at least two distinct values",
    "duplicate_rows": "no two rows identical in every column",
    "extrapolation": (
        f"forecast inputs within [min/{INPUT_BELOW:g}, max x {INPUT_ABOVE:g}] of the data; "
        f"budgets within [min C/{BUDGET_BELOW:g}, max C x {BUDGET_ABOVE:g}]"
    ),
    "tokens_per_param": f"D/N of forecasts and optima within [min/{RATIO_FACTOR:g}, max x {RATIO_FACTOR:g}] of the data's D/N",
}

_silenced: ContextVar[frozenset[str]] = ContextVar("bayeslaw_plausibility_silenced", default=frozenset())


class PlausibilityWarning(UserWarning):
    """Input that is possible but implausible; ``check`` names the check (see :data:`CHECKS`)."""

    def __init__(self, message: str, check: str) -> None:
        super().__init__(message)
        self.check = check


def _known(checks: tuple[str, ...]) -> frozenset[str]:
    unknown = sorted(set(checks) - set(CHECKS))
    if unknown:
        raise ValueError(f"unknown plausibility checks {unknown}; known: {sorted(CHECKS)}")
    return frozenset(checks)


@contextmanager
def silence(*checks: str) -> Iterator[None]:
    """Inside the block, do not warn for the named checks (unknown names raise ``ValueError``)."""
    token = _silenced.set(_silenced.get() | _known(checks))
    try:
        yield
    finally:
        _silenced.reset(token)


def warn(check: str, message: str) -> None:
    """Issue a :class:`PlausibilityWarning` for ``check`` unless it is silenced."""
    if check in _silenced.get():
        return
    text = f"{message} [check {check!r}: {CHECKS[check]}; silence it with --allow {check} or bayeslaw.plausibility.silence({check!r})]"
    warnings.warn(PlausibilityWarning(text, check), stacklevel=3)


def _span(values: np.ndarray) -> str:
    return f"[{values.min():.3g}, {values.max():.3g}]"


# --------------------------------------------------------------------------- data
def check_data(data: ScalingData, n_parameters: int) -> None:
    """Errors for data no law can be fitted to; warnings for implausible data (before any sampling).

    Parameters
    ----------
    data
        Validated data.
    n_parameters
        Number of parameters of the law to be fitted.
    """
    frame = data.frame
    inputs = [k for k in data.inputs if k in frame and k != "C"]
    if len(frame) < 2:
        raise DataValidationError(f"{len(frame)} run: a scaling law needs at least two runs at different inputs")
    distinct = frame[inputs].drop_duplicates()
    if len(distinct) < 2:
        raise DataValidationError(f"all {len(frame)} runs have the same inputs {inputs}: nothing to fit a scaling law to")
    for key, (low, high) in (("N", N_RANGE), ("D", D_RANGE)):
        if key in frame:
            values = frame[key].to_numpy(dtype=float)
            if values.min() < low or values.max() > high:
                unit, example = ("parameters", "7e10, not 70 for 70B") if key == "N" else ("tokens", "1.4e12, not 1.4 for 1.4T")
                warn(
                    "magnitude",
                    f"{key} spans {_span(values)} {unit}, outside the plausible [{low:.0e}, {high:.0e}]: "
                    f"give {key} as a count (e.g. {example})",
                )
    if len(frame) < n_parameters:
        warn("few_runs", f"{len(frame)} runs for a law with {n_parameters} parameters: the posterior will mostly repeat the priors")
    for key in inputs:
        if frame[key].nunique() < 2:
            warn("constant_input", f"{key} is {frame[key].iloc[0]:g} in every run: its effect is set by the prior alone")
    duplicated = frame.duplicated(keep="first")
    if duplicated.any():
        rows = [repr(r) for r in frame.index[duplicated][:10]]
        warn("duplicate_rows", f"{int(duplicated.sum())} rows repeat an earlier row exactly (rows {', '.join(rows)}): copied twice?")


# --------------------------------------------------------------------------- questions
def check_budgets(budgets: Any, data: ScalingData) -> None:
    """Budgets below one parameter-token are impossible; budgets far outside the data's compute warn."""
    values = np.atleast_1d(np.asarray(budgets, dtype=float))
    tiny = values[values < MIN_BUDGET]
    if tiny.size:
        raise ValueError(f"budget {tiny[0]:g} FLOPs is below {MIN_BUDGET:g} (one parameter trained on one token)")
    if "N" not in data.frame or "D" not in data.frame:
        return
    compute = FLOPS_PER_PARAM_TOKEN * data.values("N") * data.values("D")
    low, high = compute.min() / BUDGET_BELOW, compute.max() * BUDGET_ABOVE
    _warn_outside(
        "extrapolation", values, low, high, lambda listed: f"budgets {listed} FLOPs lie far outside the data's compute {_span(compute)}"
    )


def check_points(points: Mapping[str, Any], data: ScalingData) -> None:
    """Forecast points far outside the data's inputs, or with unseen tokens per parameter, warn."""
    for key, given in points.items():
        if key not in data.frame or key not in data.inputs:
            continue
        values = np.atleast_1d(np.asarray(given, dtype=float))
        seen = data.values(key)
        positive = seen[seen > 0]
        if positive.size == 0 or not np.isfinite(values).all():
            continue
        low, high = positive.min() / INPUT_BELOW, positive.max() * INPUT_ABOVE
        _warn_outside(
            "extrapolation",
            values,
            low,
            high,
            lambda listed, key=key, seen=seen: f"{key} = {listed} lies far outside the data's {key} {_span(seen)}",
        )
    if "N" in points and "D" in points and "N" in data.frame and "D" in data.frame:
        n, d = np.broadcast_arrays(np.asarray(points["N"], dtype=float), np.asarray(points["D"], dtype=float))
        _check_ratio(np.atleast_1d(d / n), data, "forecast points have")


def check_optimum(tokens_per_param: Any, data: ScalingData) -> None:
    """An optimum (posterior median D*/N*) far outside the data's tokens per parameter warns."""
    if "N" not in data.frame or "D" not in data.frame:
        return
    _check_ratio(np.atleast_1d(np.asarray(tokens_per_param, dtype=float)), data, "the optimum has")


def _check_ratio(ratio: np.ndarray, data: ScalingData, what: str) -> None:
    seen = data.values("D") / data.values("N")
    low, high = seen.min() / RATIO_FACTOR, seen.max() * RATIO_FACTOR
    _warn_outside(
        "tokens_per_param",
        ratio[np.isfinite(ratio)],
        low,
        high,
        lambda listed: f"{what} {listed} tokens per parameter, far outside the data's D/N {_span(seen)}",
    )


def _warn_outside(check: str, values: np.ndarray, low: float, high: float, describe: Callable[[str], str]) -> None:
    """Warn (``check``) about the values outside ``[low, high]``, the first five listed by ``describe``, with the range."""
    far = values[(values < low) | (values > high)]
    if far.size:
        listed = ", ".join(f"{v:.3g}" for v in far[:5])
        warn(check, f"{describe(listed)} (plausible range [{low:.3g}, {high:.3g}])")
