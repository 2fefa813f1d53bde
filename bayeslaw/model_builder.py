"""Build the PyMC model for a :class:`ScalingData` and a :class:`ModelSpec`.

Each law parameter, and each likelihood parameter (such as the noise scale
``sigma``), is either shared (one value, sampled with its prior), or grouped
along some of the data's axes. Grouped parameters live on their link
scale (log for positive parameters) as a sum: a base value (scalar, or one per
group along axes whose mode has ``per_group_base``, i.e. ``independent``) plus
the link-scale offset of each axis's pooling mode (:mod:`bayeslaw.pooling`:
``partial`` adds ``sd * z[group]``, ``partial_centred`` adds ``offset[group] ~
Normal(0, sd)``). An interaction key such as ``"skill:datamix"`` adds one
offset per (skill, datamix) cell, named ``..._skill_x_datamix_{sd,z,offset}``.
The natural-scale group values are stored as a Deterministic named after the
parameter, with the grouping axes as dims, so post-processing never needs to
know how a parameter was pooled. A grouped likelihood parameter is pooled on the
log scale (every family parameter is positive).

By default the data are compiled into the model as constants. With
``as_data=True`` the inputs, the observed target (on the family's link scale),
the group codes and the reference scales enter as ``pm.Data`` containers named
by :func:`model_data`, so one compiled model serves any dataset of the same spec
and shapes (:mod:`bayeslaw.compiled`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from bayeslaw.constants import OBS_DIM
from bayeslaw.data import DataValidationError, ScalingData
from bayeslaw.families import PARAM_LINK, get_family
from bayeslaw.laws import Law, get_law
from bayeslaw.links import get_link
from bayeslaw.pooling import INTERACTION, PoolingMode, axis_parts, get_mode, registered_modes
from bayeslaw.priors import Prior
from bayeslaw.spec import ModelSpec, SpecError

#: Name of the observed variable in every model and InferenceData.
OBSERVED = "y"
#: Partial pooling over an axis with at most this many groups gets a note (its spread is barely identified).
FEW_GROUPS = 2


@dataclass(frozen=True)
class BuiltModel:
    """A PyMC model plus what post-processing needs to reproduce its mean.

    ``param_dims``: the group axes of every law and likelihood parameter (``()`` when shared).
    """

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


def pooled_axes(data: ScalingData, spec: ModelSpec, param: str) -> tuple[dict[str, PoolingMode], list[str]]:
    """Axis -> pooling mode actually used for ``param`` (axes with < 2 levels drop out), plus notes."""
    notes: list[str] = []
    used: dict[str, PoolingMode] = {}
    for axis, name in spec.pooling_of(param).items():
        mode = get_mode(name)
        parts = axis_parts(axis)
        if len(parts) > 1 and not mode.hierarchical:
            allowed = [n for n, m in registered_modes().items() if m.hierarchical]
            raise SpecError(f"{spec.source}: [pooling] {param}.{axis!r}: an interaction takes one of {allowed}, not {name!r}")
        if any(part not in data.groups for part in parts):
            notes.append(f"{param}: pooling over {axis!r} ignored (the data has no {[p for p in parts if p not in data.groups]} labels)")
        elif any(len(data.levels[part]) < 2 for part in parts):
            single = next(p for p in parts if len(data.levels[p]) < 2)
            notes.append(f"{param}: pooling over {axis!r} ignored (the data has one {single!r})")
        else:
            n_groups, min_rows = _n_groups(data, axis), _min_rows(data, axis)
            used[axis] = mode.resolve(n_groups, min_rows)
            if used[axis] is not mode:
                notes.append(
                    f"pooling {mode.lookup_name!r} over {axis!r} ({n_groups} groups, fewest rows {min_rows}): "
                    f"{used[axis].lookup_name} ({used[axis].description})"
                )
    return used, notes


def pooling_forms(data: ScalingData, spec: ModelSpec) -> tuple[tuple[str, str, str], ...]:
    """(parameter, axis, mode) of every pooled axis as built for ``data``, after modes such as ``auto`` chose their form."""
    names = [*get_law(spec.law).parameters, *get_family(spec.family).params]
    return tuple((param, axis, mode.lookup_name) for param in names for axis, mode in pooled_axes(data, spec, param)[0].items())


def model_data(data: ScalingData, spec: ModelSpec) -> dict[str, np.ndarray]:
    """The values of the ``pm.Data`` containers of ``build_model(data, spec, as_data=True)``, by container name.

    Inputs are ``input_<key>``, reference scales ``ref_<key>`` (0-d), group codes
    ``code_<axis>`` and the observed target on the family's link scale ``observed_link``.
    A compiled model reads only the containers its log density uses.
    """
    law = get_law(spec.law)
    check_compatible(data, law)
    refs = data.reference_scales(law.centred_inputs)
    values = {f"input_{key}": data.values(key) for key in law.inputs}
    values.update({f"ref_{key}": np.asarray(value, dtype=float) for key, value in refs.items()})
    for key in refs:
        if np.all(values[f"input_{key}"] > 0):
            values[f"logratio_{key}"] = np.log(values.pop(f"input_{key}") / refs[key])
    values.update({f"code_{axis}": data.codes(axis) for axis in data.groups})
    values["observed_link"] = np.asarray(get_family(spec.family).transform(data.values(data.target)), dtype=float)
    return values


def build_model(data: ScalingData, spec: ModelSpec, *, as_data: bool = False) -> BuiltModel:
    """Return the PyMC model of ``spec`` for ``data`` (see the module docstring).

    ``as_data``: the data enter as ``pm.Data`` (see :func:`model_data`) instead of constants.
    """
    law = get_law(spec.law)
    check_compatible(data, law)
    family = get_family(spec.family)
    refs = data.reference_scales(law.centred_inputs)
    containers = model_data(data, spec) if as_data else None
    notes: list[str] = []
    param_dims: dict[str, tuple[str, ...]] = {}
    few_groups: dict[str, bool] = {}

    with pm.Model(coords=data.coords()) as model:
        obs_params: dict[str, Any] = {}
        likelihood_params: dict[str, Any] = {}
        for name, link, prior, into in [
            *((n, law.parameters[n].link, spec.prior(n), obs_params) for n in law.parameters),
            *((n, PARAM_LINK, spec.family_prior(n), likelihood_params) for n in family.params),
        ]:
            axes, axis_notes = pooled_axes(data, spec, name)
            notes += [note for note in axis_notes if note not in notes]
            if not axes:
                into[name] = prior.create(name)
                param_dims[name] = ()
                continue
            natural, dims = _pooled_parameter(data, spec, name, link, prior, axes)
            for axis, mode in axes.items():
                if mode.hierarchical and _n_groups(data, axis) <= FEW_GROUPS:
                    few_groups[axis] = few_groups.get(axis, False) or mode.estimates_spread
            param_dims[name] = dims
            index = tuple(data.codes(axis) if containers is None else _container(containers, f"code_{axis}") for axis in dims)
            into[name] = natural[index]

        if containers is None:
            x = {key: data.values(key) for key in law.inputs}
            scales: dict[str, Any] = dict(refs)
            observed = family.transform(data.values(data.target))
        else:
            scales = {key: _container(containers, f"ref_{key}") for key in refs}
            x = {key: _input(containers, key, scales) for key in law.inputs}
            observed = _container(containers, "observed_link")
        mean = law.mean(x, obs_params, scales, pt)
        family.pymc(OBSERVED, family.transform(mean, pt), likelihood_params, observed, (OBS_DIM,))

    notes += [few_groups_note(axis, _n_groups(data, axis), few_groups[axis]) for axis in sorted(few_groups)]
    return BuiltModel(model=model, law=law, refs=refs, param_dims=param_dims, notes=tuple(notes))


def _input(containers: dict[str, np.ndarray], key: str, scales: dict[str, Any]) -> pt.TensorVariable:
    """Input ``key`` in the model: its container, or ``ref * exp(log ratio)`` for a positive centred input.

    A law reads ``log(x / ref)``, which PyTensor simplifies back to the log-ratio container,
    so the log density does not recompute a log per row per evaluation (as with constants, which it folds).
    """
    if f"logratio_{key}" in containers:
        return scales[key] * pt.exp(_container(containers, f"logratio_{key}"))
    return _container(containers, f"input_{key}")


def _container(containers: dict[str, np.ndarray], name: str) -> pt.TensorVariable:
    """The ``pm.Data`` container ``name`` of the current model, created on first use."""
    model = pm.modelcontext(None)
    if name in model.named_vars:
        return model[name]
    return pm.Data(name, containers[name])


def _pooled_parameter(
    data: ScalingData, spec: ModelSpec, name: str, link_name: str, prior: Prior, axes: dict[str, PoolingMode]
) -> tuple[pt.TensorVariable, tuple[str, ...]]:
    """The natural-scale Deterministic of a pooled parameter (base plus the axes' offsets), and its dims."""
    link = get_link(link_name)
    components = {part for axis in axes for part in axis_parts(axis)}
    dims = tuple(axis for axis in data.groups if axis in components)
    mu, sigma = prior.link_normal(link, f"{spec.source}: prior of pooled {name!r}")
    per_group = tuple(axis for axis in dims if axis in axes and axes[axis].per_group_base)
    prefix = f"{link.name}_{name}"
    base = pm.Normal(f"{prefix}_base", mu=mu, sigma=sigma, dims=per_group or None)
    value = _expand(base, per_group, dims)
    for axis in [*(a for a in dims if a in axes), *(a for a in axes if INTERACTION in a)]:
        own = tuple(d for d in dims if d in axis_parts(axis))
        offset = axes[axis].offset(f"{prefix}_{'_x_'.join(own)}", own, spec.scale_of(name))
        if offset is not None:
            value = value + _expand(offset, own, dims)
    return pm.Deterministic(name, link.inverse(value, pt), dims=dims), dims


def _n_groups(data: ScalingData, axis: str) -> int:
    """Number of groups (cells, for an interaction) along a pooling axis."""
    return int(np.prod([len(data.levels[part]) for part in axis_parts(axis)]))


def _min_rows(data: ScalingData, axis: str) -> int:
    """Rows of the smallest group (cell, for an interaction; empty cells count as 0) along a pooling axis."""
    parts = axis_parts(axis)
    sizes = [len(data.levels[part]) for part in parts]
    cells = np.ravel_multi_index(tuple(data.codes(part) for part in parts), sizes)
    return int(np.bincount(cells, minlength=int(np.prod(sizes))).min())


def few_groups_note(axis: str, n_groups: int, estimated: bool = True) -> str:
    """The note for partial pooling over an axis with only ``n_groups`` groups (``estimated``: the spread is sampled)."""
    if not estimated:
        return (
            f"partial pooling over {axis!r} has {n_groups} groups, too few to estimate their spread: it is fixed at "
            "the spec's pooling_scale (on the link scale), so each group's value is set by its own rows and that prior; "
            "model='shared_exponents' fits each group separately with the exponents still shared"
        )
    return (
        f"partial pooling over {axis!r} has {n_groups} groups: their spread is set mostly by its prior "
        "(pooling_scale), and such fits often diverge; if this one is flagged, model='shared_exponents' "
        "fits each group separately with the exponents still shared"
    )


def _expand(tensor: pt.TensorVariable, own_dims: tuple[str, ...], all_dims: tuple[str, ...]) -> pt.TensorVariable:
    """Broadcast ``tensor`` (dims ``own_dims``) against the ordered ``all_dims``."""
    pattern = [own_dims.index(d) if d in own_dims else "x" for d in all_dims]
    return tensor.dimshuffle(*pattern) if all_dims else tensor
