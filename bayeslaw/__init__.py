"""bayeslaw: Bayesian scaling laws for language models, on PyMC and ArviZ."""

from __future__ import annotations

__version__ = "0.1.0"

from bayeslaw.data import DataValidationError, ScalingData
from bayeslaw.datasets import load_dataset
from bayeslaw.diagnostics import ConvergenceWarning
from bayeslaw.fit import Fit, fit, load_fit
from bayeslaw.results import FitFileError
from bayeslaw.spec import ModelSpec, SpecError
from bayeslaw.spec import available_specs as available_models

__all__ = [
    "ConvergenceWarning",
    "DataValidationError",
    "Fit",
    "FitFileError",
    "ModelSpec",
    "ScalingData",
    "SpecError",
    "__version__",
    "available_models",
    "fit",
    "load_dataset",
    "load_fit",
]
