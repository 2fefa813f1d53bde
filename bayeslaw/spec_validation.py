"""Every spec value checked before sampling, so a bad spec fails in one line, not after minutes.

:func:`validate_spec` checks what :class:`~bayeslaw.spec.ModelSpec` parsing cannot:

- each prior (the law's, with the spec's overrides, and the likelihood's) is
  built as a PyMC variable and its log density evaluated at a test point (the
  distribution's initial point); a misspelt argument, a negative scale, a
  non-finite value or a name that is not a distribution raises :class:`SpecError`;
- each ``[sampler]`` value has the right type and range (``low_rank = "no"``
  is an error, not "true"; ``draws = 1.5`` is an error, not 1);
- each ``[pooling]`` axis is a group axis of the data or a known one
  (``skill``, ``datamix``), so a misspelt axis is an error, not a note.
"""

from __future__ import annotations

import difflib
import importlib.util
import math
import warnings
from collections.abc import Mapping
from typing import Any

from bayeslaw.constants import GROUP_AXES
from bayeslaw.data import ScalingData
from bayeslaw.priors import Prior
from bayeslaw.spec import ModelSpec, SpecError

#: Sampler keys that must be booleans, integers >= 1, or a probability.
BOOL_KEYS = ("low_rank", "restart_stuck_chains", "robust_starts")
COUNT_KEYS = ("draws", "tune", "chains", "cores")


def validate_spec(spec: ModelSpec, data: ScalingData | None = None) -> None:
    """Raise :class:`SpecError` (one line naming the spec and key) for any unusable value of ``spec``."""
    validate_sampler(spec.sampler, f"{spec.source}: [sampler]")
    validate_priors(spec)
    if data is not None:
        validate_pooling(spec, data)


def validate_sampler(settings: Mapping[str, Any], where: str = "sampler") -> None:
    """Type and range of sampler settings (``None`` means "use the default")."""
    for key, value in settings.items():
        if value is None:
            continue
        if key in BOOL_KEYS and not isinstance(value, bool):
            raise SpecError(f"{where} {key} must be true or false, got {value!r}")
        if key in COUNT_KEYS and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise SpecError(f"{where} {key} must be a positive integer, got {value!r}")
        if key == "target_accept" and (isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1):
            raise SpecError(f"{where} target_accept must be a number strictly between 0 and 1, got {value!r}")
        if key == "backend":
            from bayeslaw.backends import backend_names

            if value == "jax":  # the batch path's name, not a single-fit backend (bayeslaw.batch_jax)
                raise SpecError(
                    f"{where} backend 'jax' fits many same-shaped datasets in one program: "
                    f"bayeslaw.fit_many(datasets, model, backend='jax'); one fit uses one of {backend_names()} "
                    "('numpyro' runs on JAX)"
                )
            if value not in backend_names():
                raise SpecError(f"{where} unknown sampler backend {value!r}; choose one of {backend_names()}")
            missing = missing_backend_packages(value)
            if missing:
                raise SpecError(f"{where} backend {value!r} needs the packages {missing}, which are not installed; use backend 'nutpie'")


def missing_backend_packages(backend: str) -> list[str]:
    """Packages a backend needs that cannot be imported here (checked without importing them)."""
    from bayeslaw.backends.base import BACKENDS

    if backend not in BACKENDS.classes():
        return []
    return sorted(name for name in BACKENDS.get(backend).requires if importlib.util.find_spec(name) is None)


def _priors(spec: ModelSpec) -> dict[str, Prior]:
    from bayeslaw.families import get_family
    from bayeslaw.laws import get_law

    priors = {f"prior of {name!r}": spec.prior(name) for name in get_law(spec.law).parameters}
    priors.update({f"likelihood prior {name!r}": spec.family_prior(name) for name in get_family(spec.family).params})
    return priors


#: Prior sets that passed :func:`validate_priors` in this process. The check compiles a small PyMC model
#: (about 0.5 s, a quarter of a warm compile-once fit), and its outcome depends only on the priors.
_VALID_PRIOR_SETS: set[str] = set()


def validate_priors(spec: ModelSpec) -> None:
    """Build every prior of ``spec`` and evaluate its log density at the initial point; it must be finite.

    All priors go into one PyMC model, so the log densities are compiled once; a set of
    priors that passed once in this process is not checked again.
    """
    priors = _priors(spec)
    key = repr([(where, prior.dist, sorted(prior.kwargs.items())) for where, prior in priors.items()])
    if key in _VALID_PRIOR_SETS:
        return
    _check_priors(spec, priors)
    _VALID_PRIOR_SETS.add(key)


def _check_priors(spec: ModelSpec, priors: Mapping[str, Prior]) -> None:
    """:func:`validate_priors`'s check itself: one PyMC model holding every prior."""
    import pymc as pm

    labels: dict[str, str] = {}
    with pm.Model() as model:
        for i, (where, prior) in enumerate(priors.items()):
            label = f"{spec.source}: {where} {prior.dist}({', '.join(f'{k}={v:g}' for k, v in prior.kwargs.items())})"
            bad = [k for k, v in prior.kwargs.items() if not math.isfinite(v)]
            if bad:
                raise SpecError(f"{label}: {bad} must be finite numbers")
            candidate = getattr(pm, prior.dist, None)
            if not (isinstance(candidate, type) and callable(getattr(candidate, "dist", None))):
                raise SpecError(f"{label}: {prior.dist!r} is not a PyMC distribution")
            name = f"prior_{i}"
            try:
                prior.create(name)
            except TypeError as err:
                raise SpecError(f"{label}: {_short(err)}; check the argument names of pymc.{prior.dist}") from None
            except Exception as err:  # PyMC raises several types for invalid parameters
                raise SpecError(f"{label}: not a usable prior ({_short(err)})") from None
            labels[name] = label
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*BLAS.*")  # the compiled check is tiny
            logps = model.point_logps(round_vals=12)
    except Exception as err:  # e.g. an initial point that cannot be computed
        raise SpecError(f"{spec.source}: a prior cannot be evaluated at its initial point ({_short(err)})") from None
    for name, label in labels.items():
        value = float(logps[name])
        if not math.isfinite(value):
            raise SpecError(f"{label}: log density {value} at its initial point; check the parameter values (scales must be > 0)")


def validate_pooling(spec: ModelSpec, data: ScalingData) -> None:
    """Every pooling axis is a group axis of the data or a known one; a pooled parameter's prior fits its link."""
    from bayeslaw.laws import get_law
    from bayeslaw.links import get_link
    from bayeslaw.model_builder import pooled_axes
    from bayeslaw.priors import PriorError

    known = sorted(set(GROUP_AXES) | set(data.groups))
    for param, axes in spec.pooling.items():
        for axis in axes:
            for part in axis.split(":"):
                if part not in known:
                    close = difflib.get_close_matches(part, known, n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    raise SpecError(f"{spec.source}: [pooling] {param}.{axis}: unknown axis {part!r}; group axes are {known}{hint}")
    law = get_law(spec.law)
    for param, parameter in law.parameters.items():
        if pooled_axes(data, spec, param)[0]:
            try:
                spec.prior(param).link_normal(get_link(parameter.link), f"{spec.source}: prior of pooled {param!r}")
            except PriorError as err:
                raise SpecError(str(err)) from None


def _short(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__
