"""Shared by the benchmark scripts: time one fit, compilation included, with convergence reported later."""

from __future__ import annotations

import time
import warnings
from typing import Any


def timed_fit(data: Any, model: str, seed: int, **options: Any) -> tuple[Any, float]:
    """Return ``bayeslaw.fit(data, model, random_seed=seed, **options)`` and its wall time in seconds.

    ``ConvergenceWarning`` is silenced here: each script reports the fit's diagnostics itself.
    """
    import bayeslaw

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bayeslaw.ConvergenceWarning)
        fitted = bayeslaw.fit(data, model, random_seed=seed, **options)
    return fitted, time.perf_counter() - start
