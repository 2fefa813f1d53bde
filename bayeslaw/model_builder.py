"""Build the PyMC model for a :class:`ScalingData` and a :class:`ModelSpec`.

Each law parameter is either shared (one value, sampled with its prior), or
grouped along some of the data's axes. Grouped parameters live on their link
scale (log for positive parameters) as a sum: a base value (scalar, or one per
group along ``independent`` axes) plus, for each ``partial`` axis, a non-centred
offset ``sd * z[group]`` with ``z ~ Normal(0, 1)`` and ``sd ~ HalfNormal(scale)``
(``partial_centred``: the offset itself, ``offset[group] ~ Normal(0, sd)``).
An interaction key such as ``"skill:datamix"`` adds one pooled offset per
(skill, datamix) cell, named ``..._skill_x_datamix_{sd,z,offset}``.
The natural-scale group values are stored as a Deterministic named after the
parameter, with the grouping axes as dims, so post-processing never needs to
know how a parameter was pooled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from bayeslaw.constants import OBS_DIM
from bayeslaw.data import DataValidationError, ScalingData
from bayeslaw.families import get_family
from bayeslaw.laws import Law, get_law
from bayeslaw.spec import ModelSpec, SpecError

_INVERSE_LINK = {"log": pt.exp, "identity": lambda v: v, "logit": pm.math.invlogit}

#: Name of the observed variable in every model and InferenceData.
OBSERVED = "y"
#: Separator of an interaction "axis" in a spec's [pooling] table, e.g. ``E = { "skill:datamix" = "partial" }``.
INTERACTION = ":"
#: Partial pooling over an axis with at most this many groups gets a note (its spread is barely identified).
FEW_GROUPS = 2


@dataclass(frozen=True)
class BuiltModel:
    """A PyMC model plus what post-processing needs to reproduce its mean."""

    model: pm.Model
    law: Law
    refs: dict[str, float]
    param_dims: dict[str, tuple[str, ...]]
    notes: tuple[str, ...] = field(default_factory=tuple)


def check_compatible(data: ScalingData, law: Law) -> None:
    """Raise if ``data`` lacks what ``law`` reads or predicts."""
    if data.target != law.target:
        raise DataValidationError(f"law {law.lookup_name!r} predicts {law.target!r}, but the data's target is {data.target!r}")
    missing = [key for key in law.inputs if key not in data.frame]
    if missing:
        raise DataValidationError(f"law {law.lookup_name!r} needs input columns {missing}; the data has {list(data.frame.columns)}")


def pooled_axes(data: ScalingData, spec: ModelSpec, param: str) -> tuple[dict[str, str], list[str]]:
    """Axis -> mode actually used for ``param`` (axes with < 2 levels drop out), plus notes."""
    notes: list[str] = []
    used: dict[str, str] = {}
    for axis, mode in spec.pooling_of(param).items():
        parts = axis.split(INTERACTION)
        if len(parts) > 1 and mode not in ("partial", "partial_centred"):
            raise SpecError(f"{spec.source}: [pooling] {param}.{axis!r}: an interaction takes 'partial' or 'partial_centred', not {mode!r}")
        if any(part not in data.groups for part in parts):
            notes.append(f"{param}: pooling over {axis!r} ignored (the data has no {[p for p in parts if p not in data.groups]} labels)")
        elif any(len(data.levels[part]) < 2 for part in parts):
            single = next(p for p in parts if len(data.levels[p]) < 2)
            notes.append(f"{param}: pooling over {axis!r} ignored (the data has one {single!r})")
        else:
            used[axis] = mode
    return used, notes


def build_model(data: ScalingData, spec: ModelSpec) -> BuiltModel:
    """Return the PyMC model of ``spec`` for ``data`` (see the module docstring)."""
    law = get_law(spec.law)
    check_compatible(data, law)
    family = get_family(spec.family)
    refs = data.reference_scales(law.centred_inputs)
    notes: list[str] = []
    param_dims: dict[str, tuple[str, ...]] = {}
    few_groups: set[str] = set()

    with pm.Model(coords=data.coords()) as model:
        obs_params = {}
        for name, parameter in law.parameters.items():
            axes, axis_notes = pooled_axes(data, spec, name)
            notes += axis_notes
            if not axes:
                obs_params[name] = spec.prior(name).create(name)
                param_dims[name] = ()
                continue
            if parameter.link not in _INVERSE_LINK:
                raise SpecError(f"parameter {name!r} has an unknown link {parameter.link!r}")
            components = {part for axis in axes for part in axis.split(INTERACTION)}
            dims = tuple(axis for axis in data.groups if axis in components)
            mu, sigma = spec.prior(name).link_normal(parameter.link, f"{spec.source}: prior of pooled {name!r}")
            independent = tuple(axis for axis in dims if axes.get(axis) == "independent")
            prefix = f"{parameter.link}_{name}"
            base = pm.Normal(f"{prefix}_base", mu=mu, sigma=sigma, dims=independent or None)
            value = _expand(base, independent, dims)
            for axis in [*(a for a in dims if a in axes), *(a for a in axes if INTERACTION in a)]:
                mode = axes[axis]
                if mode not in ("partial", "partial_centred"):
                    continue
                own = tuple(d for d in dims if d in axis.split(INTERACTION))
                label = "_x_".join(own)
                spread = pm.HalfNormal(f"{prefix}_{label}_sd", sigma=spec.scale_of(name))
                if mode == "partial":
                    offset = spread * pm.Normal(f"{prefix}_{label}_z", 0.0, 1.0, dims=own)
                else:
                    offset = pm.Normal(f"{prefix}_{label}_offset", 0.0, spread, dims=own)
                value = value + _expand(offset, own, dims)
            few_groups.update(a for a, mode in axes.items() if mode.startswith("partial") and _n_groups(data, a) <= FEW_GROUPS)
            natural = pm.Deterministic(name, _INVERSE_LINK[parameter.link](value), dims=dims)
            param_dims[name] = dims
            index = tuple(data.codes(axis) for axis in dims)
            obs_params[name] = natural[index]

        x = {key: data.values(key) for key in law.inputs}
        mean = law.mean(x, obs_params, refs, pt)
        likelihood_params = {key: spec.family_prior(key).create(key) for key in family.params}
        observed = family.transform(data.values(data.target))
        family.pymc(OBSERVED, family.transform(mean, pt), likelihood_params, observed, (OBS_DIM,))

    notes += [few_groups_note(axis, _n_groups(data, axis)) for axis in sorted(few_groups)]
    return BuiltModel(model=model, law=law, refs=refs, param_dims=param_dims, notes=tuple(notes))


def _n_groups(data: ScalingData, axis: str) -> int:
    """Number of groups (cells, for an interaction) along a pooling axis."""
    return int(np.prod([len(data.levels[part]) for part in axis.split(INTERACTION)]))


def few_groups_note(axis: str, n_groups: int) -> str:
    """The note for partial pooling over an axis with only ``n_groups`` groups."""
    return (
        f"partial pooling over {axis!r} has {n_groups} groups: their spread is set mostly by its prior "
        "(pooling_scale), and such fits often diverge; if this one is flagged, model='shared_exponents' "
        "fits each group separately with the exponents still shared"
    )


def _expand(tensor: pt.TensorVariable, own_dims: tuple[str, ...], all_dims: tuple[str, ...]) -> pt.TensorVariable:
    """Broadcast ``tensor`` (dims ``own_dims``) against the ordered ``all_dims``."""
    pattern = [own_dims.index(d) if d in own_dims else "x" for d in all_dims]
    return tensor.dimshuffle(*pattern) if all_dims else tensor


def free_parameter_names(built: BuiltModel) -> list[str]:
    """Names of the law's parameters as stored in the posterior (for diagnostics and summaries)."""
    return list(built.law.parameters)


def observation_index(data: ScalingData, dims: tuple[str, ...]) -> tuple[np.ndarray, ...]:
    """Integer codes of each observation along ``dims``."""
    return tuple(data.codes(axis) for axis in dims)
