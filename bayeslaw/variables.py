"""Canonical observed variables and the constraint each must satisfy.

Laws name their inputs and target with these keys; :class:`~bayeslaw.data.ScalingData`
validates every column against the constraint registered here. A new law that
needs a new kind of quantity registers it with :func:`register_variable`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Constraint = Literal["positive", "nonnegative", "unit_interval", "real"]
Array = Any  # numpy array, pandas Series or xarray DataArray


@dataclass(frozen=True)
class Support:
    """Where a variable is defined.

    Attributes
    ----------
    contains
        ``values -> bool array``: which finite values lie in the support.
    outside
        How values outside it are described in errors (``"zero or negative"``).
    rule
        The rule, as said after the variable's name (``"must be > 0"``).
    inside
        A value inside the support (a placeholder where a value outside must be replaced before a computation).
    """

    contains: Callable[[Array], Array]
    outside: str
    rule: str
    inside: float


SUPPORTS: dict[str, Support] = {
    "positive": Support(lambda v: v > 0, "zero or negative", "must be > 0", 1.0),
    "nonnegative": Support(lambda v: v >= 0, "negative", "must be >= 0", 1.0),
    "unit_interval": Support(lambda v: (v > 0) & (v < 1), "outside (0, 1)", "must lie strictly between 0 and 1", 0.5),
    "real": Support(lambda v: v == v, "not finite", "must be finite", 0.0),
}


@dataclass(frozen=True)
class Variable:
    """One observed quantity.

    Parameters
    ----------
    key
        Canonical column name used inside bayeslaw.
    description
        Human-readable meaning, with units.
    constraint
        Which values are valid: ``positive`` (> 0), ``nonnegative`` (>= 0),
        ``unit_interval`` (strictly between 0 and 1) or ``real`` (finite).
    aliases
        Column names recognised automatically when no mapping is given.
    """

    key: str
    description: str
    constraint: Constraint
    aliases: tuple[str, ...] = ()

    @property
    def support(self) -> Support:
        """Where this variable is defined (from its ``constraint``)."""
        return SUPPORTS[self.constraint]

    def in_support(self, values: Array) -> Array:
        """Whether each value is finite and inside this variable's support (NaN counts as outside)."""
        return np.isfinite(values) & self.support.contains(values)


VARIABLES: dict[str, Variable] = {}


def register_variable(variable: Variable) -> Variable:
    """Add ``variable`` to the registry (idempotent for identical definitions)."""
    existing = VARIABLES.get(variable.key)
    if existing is not None and existing != variable:
        raise ValueError(f"variable {variable.key!r} is already registered differently")
    VARIABLES[variable.key] = variable
    return variable


def get_variable(key: str) -> Variable:
    """Return the registered variable ``key`` or raise a ``KeyError`` listing the known ones."""
    try:
        return VARIABLES[key]
    except KeyError:
        raise KeyError(f"unknown variable {key!r}; known: {sorted(VARIABLES)}") from None


for _v in (
    Variable("N", "model size (parameters)", "positive", ("N_params", "params", "n_params", "parameters")),
    Variable("D", "training tokens", "positive", ("D_tokens", "tokens", "n_tokens")),
    Variable("C", "training compute (FLOPs)", "positive", ("C_flops", "compute", "flops", "C_flops_6ND")),
    Variable("loss", "loss (nats/token)", "positive", ("test_loss", "val_loss")),
    Variable("error", "downstream top-1 error (fraction)", "unit_interval", ("top1_error", "err")),
    Variable("bleu", "BLEU score", "positive", ("BLEU",)),
    Variable("examples", "fine-tuning examples", "nonnegative", ("finetune_examples", "n_examples")),
    Variable("Dp", "pretraining tokens", "positive", ("pretrain_tokens", "D_pretrain")),
):
    register_variable(_v)
