"""bayeslaw: Bayesian scaling laws for language models, on PyMC and ArviZ."""

from __future__ import annotations

from bayeslaw.backtest import backtest
from bayeslaw.batch import fit_many
from bayeslaw.compare import Comparison, ParetoKWarning, compare
from bayeslaw.data import DataValidationError, ScalingData
from bayeslaw.datasets import load_dataset
from bayeslaw.diagnostics import ConvergenceWarning
from bayeslaw.fit import Fit, fit, load_fit
from bayeslaw.lfo import compare_lfo
from bayeslaw.mix import isoflop_curves, mix_path, mix_weights, sweep_mix, two_skill_path
from bayeslaw.ppc import ppc_coverage, ppc_table
from bayeslaw.prior_predictive import PriorPredictive, prior_predictive
from bayeslaw.report import Report, report
from bayeslaw.results import FitFileError
from bayeslaw.skills import contrast_optima
from bayeslaw.spec import ModelSpec, SpecError
from bayeslaw.spec import available_specs as available_models
from bayeslaw.version import __version__

__all__ = [
    "Comparison",
    "ConvergenceWarning",
    "DataValidationError",
    "Fit",
    "FitFileError",
    "ModelSpec",
    "ParetoKWarning",
    "PriorPredictive",
    "Report",
    "ScalingData",
    "SpecError",
    "__version__",
    "available_models",
    "backtest",
    "compare",
    "compare_lfo",
    "contrast_optima",
    "fit",
    "fit_many",
    "isoflop_curves",
    "load_dataset",
    "load_fit",
    "mix_path",
    "mix_weights",
    "ppc_coverage",
    "ppc_table",
    "prior_predictive",
    "report",
    "sweep_mix",
    "two_skill_path",
]
