"""bayeslaw: Bayesian scaling laws for language models, on PyMC and ArviZ."""

from __future__ import annotations

import sys
import types

from bayeslaw.version import __version__

# Public names -> defining module, imported on first use so that ``import bayeslaw`` (and the command
# line's argument and data errors) do not wait for PyMC and ArviZ to load.
_LAZY = {
    "backtest": "bayeslaw.backtest",
    "Comparison": "bayeslaw.compare",
    "ParetoKWarning": "bayeslaw.compare",
    "compare": "bayeslaw.compare",
    "DataValidationError": "bayeslaw.data",
    "ScalingData": "bayeslaw.data",
    "load_dataset": "bayeslaw.datasets",
    "ConvergenceWarning": "bayeslaw.diagnostics",
    "Fit": "bayeslaw.fit",
    "fit": "bayeslaw.fit",
    "load_fit": "bayeslaw.fit",
    "fit_many": "bayeslaw.batch",
    "compare_lfo": "bayeslaw.lfo",
    "stack_fits": "bayeslaw.lfo",
    "learn_extrapolation": "bayeslaw.backtest",
    "isoflop_curves": "bayeslaw.mix",
    "mix_path": "bayeslaw.mix",
    "mix_weights": "bayeslaw.mix",
    "sweep_mix": "bayeslaw.mix",
    "two_skill_path": "bayeslaw.mix",
    "ppc_coverage": "bayeslaw.ppc",
    "ppc_table": "bayeslaw.ppc",
    "report": "bayeslaw.report",
    "Report": "bayeslaw.report",
    "prior_predictive": "bayeslaw.prior_predictive",
    "PriorPredictive": "bayeslaw.prior_predictive",
    "FitFileError": "bayeslaw.results",
    "contrast_optima": "bayeslaw.skills",
    "ModelSpec": "bayeslaw.spec",
    "SpecError": "bayeslaw.spec",
    "available_models": "bayeslaw.spec:available_specs",
}


def __getattr__(name: str) -> object:
    """Import a public name from its module on first access (PEP 562)."""
    if name not in _LAZY:
        raise AttributeError(f"module 'bayeslaw' has no attribute {name!r}")
    import importlib

    module, _, attr = _LAZY[name].partition(":")
    value = getattr(importlib.import_module(module), attr or name)
    globals()[name] = value
    return value


class _Package(types.ModuleType):
    """``import bayeslaw.fit`` must not replace the function ``bayeslaw.fit`` by its module (nor ``compare``, ``backtest``, ``report``)."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


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
    "learn_extrapolation",
    "load_dataset",
    "load_fit",
    "mix_path",
    "mix_weights",
    "ppc_coverage",
    "ppc_table",
    "prior_predictive",
    "report",
    "stack_fits",
    "sweep_mix",
    "two_skill_path",
]
