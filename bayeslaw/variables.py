"""Canonical observed variables and the constraint each must satisfy.

Laws name their inputs and target with these keys; :class:`~bayeslaw.data.ScalingData`
validates every column against the constraint registered here. A new law that
needs a new kind of quantity registers it with :func:`register_variable`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Constraint = Literal["positive", "nonnegative", "unit_interval", "real"]


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
