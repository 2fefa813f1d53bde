"""Validation-mix weights: one or several ``{skill: weight}`` mixes, validated and normalised, and paths between mixes.

These are plain arrays over ``skill`` (one mix) or ``(mix, skill)`` (several);
they need no fit, so :class:`bayeslaw.fit.Fit` and the questions asked of a fit
(:mod:`bayeslaw.mix`) both use them.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from bayeslaw.constants import SKILL_DIM
from bayeslaw.groups import check_labels

#: Dimension of several mixes (weights are over ``(mix, skill)``).
MIX_DIM = "mix"
#: Default number of mixes on a path (weights 0, 0.05, ..., 1).
DEFAULT_STEPS = 21
MixLike = Mapping[str, float] | Mapping[Any, Mapping[str, float]] | xr.DataArray


def _check_skill_weights(values: np.ndarray, skills: Sequence[str], labels: Sequence[Any]) -> list[str]:
    """Raise on negative, non-finite or all-zero weights (rows: mixes); return normalisation notes."""
    notes = []
    for label, row in zip(labels, values, strict=True):
        where = "" if label is None else f" (mix {label!r})"
        bad = {s: float(w) for s, w in zip(skills, row, strict=True) if not np.isfinite(w) or w < 0}
        if bad:
            raise ValueError(f"mix weights must be finite and non-negative{where}; got {bad}")
        total = float(row.sum())
        if total <= 0:
            raise ValueError(f"mix weights sum to zero{where}")
        if not np.isclose(total, 1.0):
            notes.append(f"mix weights{where} summed to {total:g}; normalised to 1")
    return notes


def mix_weights(mix: MixLike, skills: Sequence[str]) -> tuple[xr.DataArray, list[str]]:
    """Validate one or several mixes and return normalised weights plus notes.

    Parameters
    ----------
    mix
        ``{skill: weight}`` (one mix: result over ``skill``), ``{label: {skill:
        weight}}`` (several: result over ``(mix, skill)`` with the labels as
        ``mix`` coordinate), or a DataArray over ``skill`` or ``(mix, skill)``.
        Skills left out weigh 0.
    skills
        The fit's skills, in order.

    Raises
    ------
    ValueError
        Unknown skills, negative or non-finite weights, or a mix whose weights sum to 0.
        Weights not summing to 1 are normalised with a warning (and a note).
    """
    skills = [str(s) for s in skills]
    if isinstance(mix, xr.DataArray):
        if SKILL_DIM not in mix.dims or not set(mix.dims) <= {SKILL_DIM, MIX_DIM}:
            raise ValueError(f"mix weights must have dims ('skill',) or ('mix', 'skill'); got {mix.dims}")
        given = [str(s) for s in mix[SKILL_DIM].values]
        check_labels(SKILL_DIM, given, skills, "skills in mix")
        several = MIX_DIM in mix.dims
        table = mix.expand_dims(MIX_DIM) if not several else mix
        table = table.assign_coords({SKILL_DIM: given}).reindex({SKILL_DIM: skills}, fill_value=0.0).transpose(MIX_DIM, SKILL_DIM)
        labels = list(table[MIX_DIM].values) if several and MIX_DIM in table.coords else list(range(table.sizes[MIX_DIM]))
        values = np.asarray(table.values, dtype=float)
        extra = {k: v for k, v in table.coords.items() if k not in (SKILL_DIM,) and MIX_DIM in v.dims} if several else {}
    else:
        if not isinstance(mix, Mapping) or not mix:
            raise ValueError(f"mix must be a non-empty mapping {{skill: weight}} or {{label: {{skill: weight}}}}; got {mix!r}")
        nested = [isinstance(v, Mapping) for v in mix.values()]
        if any(nested) and not all(nested):
            raise ValueError("mix mixes weights and nested mixes; pass {skill: weight} or {label: {skill: weight}}")
        several = all(nested)
        rows = dict(mix) if several else {None: mix}
        for row in rows.values():
            check_labels(SKILL_DIM, list(row), skills, "skills in mix")
        labels = list(rows)
        values = np.array([[_as_weight(row.get(s, 0.0), s) for s in skills] for row in rows.values()], dtype=float)
        extra = {}
    notes = _check_skill_weights(values, skills, labels if several else [None])
    for note in notes:
        warnings.warn(note, UserWarning, stacklevel=3)
    values = values / values.sum(axis=1, keepdims=True)
    if not several:
        return xr.DataArray(values[0], dims=SKILL_DIM, coords={SKILL_DIM: skills}), notes
    weights = xr.DataArray(values, dims=(MIX_DIM, SKILL_DIM), coords={MIX_DIM: labels, SKILL_DIM: skills})
    return weights.assign_coords(extra) if extra else weights, notes


def _as_weight(value: Any, skill: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"mix weight of skill {skill!r} must be a number, got {value!r}") from None


def mix_path(start: Mapping[str, float], end: Mapping[str, float], steps: int = DEFAULT_STEPS) -> xr.DataArray:
    """Mixes on the straight line from ``start`` to ``end`` (each ``{skill: weight}``, normalised first).

    The result is over ``(mix, skill)`` (skills in order of appearance); the
    ``mix`` coordinate is the position ``t`` from 0 (``start``) to 1 (``end``).
    """
    if int(steps) < 2:
        raise ValueError(f"a path needs at least 2 steps, got {steps}")
    skills = list(dict.fromkeys([*start, *end]))
    ends, _ = mix_weights({"start": start, "end": end}, skills)
    t = np.linspace(0.0, 1.0, int(steps))
    values = (1 - t)[:, None] * ends.sel(mix="start").values + t[:, None] * ends.sel(mix="end").values
    return xr.DataArray(values, dims=(MIX_DIM, SKILL_DIM), coords={MIX_DIM: t, SKILL_DIM: skills}, name="weight")


def two_skill_path(first: str, second: str, steps: int = DEFAULT_STEPS) -> xr.DataArray:
    """Mixes of two skills: the ``mix`` coordinate is the weight of ``second`` (0 = all ``first``)."""
    if first == second:
        raise ValueError(f"a two-skill path needs two different skills, got {first!r} twice")
    return mix_path({first: 1.0}, {second: 1.0}, steps)


__all__ = ["DEFAULT_STEPS", "MIX_DIM", "MixLike", "mix_path", "mix_weights", "two_skill_path"]
