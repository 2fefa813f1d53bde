"""Declarative model specs: law + priors + likelihood + pooling + sampler settings.

A spec is a TOML file. Named specs ship in ``models/`` (installed as
``bayeslaw/specs``); :func:`resolve_spec` also accepts a path to a user's file, a
dict, or a :class:`ModelSpec`. Example::

    name = "my_hierarchical"
    law = "chinchilla"
    description = "Chinchilla law; E partially pooled over skill and datamix"

    [likelihood]                  # default: the law's family, with the family's default priors
    family = "normal"
    priors = { sigma = { dist = "HalfNormal", sigma = 0.05 } }

    [priors]                      # override the law's default priors (only those named)
    alpha = { dist = "LogNormal", mu = -1.0, sigma = 0.5 }

    [pooling]                     # per parameter: axis -> a mode of bayeslaw.pooling (shared, partial, ...)
    E = { skill = "partial", datamix = "partial" }
    sigma = { skill = "partial" } # a likelihood parameter too (log scale; its prior must then be a LogNormal)

    [pooling_scale]               # HalfNormal scale of group spread, on the link scale (default 0.5)
    E = 0.3

    [sampler]                     # override bayeslaw's defaults (bayeslaw.constants)
    draws = 2000

Everything a spec does not name comes from the law (priors, family), the
family (its parameters' priors) or bayeslaw's defaults: the shipped specs hold
only what differs.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bayeslaw.laws import get_law
from bayeslaw.pooling import get_mode, registered_modes
from bayeslaw.priors import Prior

SAMPLER_KEYS = ("backend", "draws", "tune", "chains", "target_accept", "low_rank", "restart_stuck_chains", "robust_starts")
_TOP_KEYS = {"name", "law", "description", "likelihood", "priors", "pooling", "pooling_scale", "sampler"}
DEFAULT_POOLING_SCALE = 0.5


class SpecError(ValueError):
    """Raised for a spec that cannot be used; the message names the file and key."""


@dataclass(frozen=True)
class ModelSpec:
    """A validated model specification (see the module docstring for the file format)."""

    name: str
    law: str
    description: str = ""
    family: str = ""
    likelihood_priors: Mapping[str, Prior] = field(default_factory=dict)
    priors: Mapping[str, Prior] = field(default_factory=dict)
    pooling: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    pooling_scale: Mapping[str, float] = field(default_factory=dict)
    sampler: Mapping[str, Any] = field(default_factory=dict)
    source: str = "<dict>"

    # --------------------------------------------------------------- parsing
    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], source: str = "<dict>") -> ModelSpec:
        """Validate a parsed spec; every problem names ``source`` and the key."""
        from bayeslaw.families import PARAM_LINK, get_family  # imports pymc: not needed to list or locate specs
        from bayeslaw.links import get_link
        from bayeslaw.priors import PriorError

        unknown = set(raw) - _TOP_KEYS
        if unknown:
            raise SpecError(f"{source}: unknown top-level keys {sorted(unknown)}; allowed: {sorted(_TOP_KEYS)}")
        for key in ("name", "law"):
            if not isinstance(raw.get(key), str) or not raw[key]:
                raise SpecError(f"{source}: '{key}' must be a non-empty string")
        try:
            law = get_law(raw["law"])
        except KeyError as err:
            raise SpecError(f"{source}: {err.args[0]}") from None
        params = law.parameters

        likelihood = dict(raw.get("likelihood", {}))
        bad = set(likelihood) - {"family", "priors"}
        if bad:
            raise SpecError(f"{source}: unknown keys in [likelihood]: {sorted(bad)}; allowed: family, priors")
        family_name = likelihood.get("family", law.default_family)
        try:
            family = get_family(family_name)
        except KeyError as err:
            raise SpecError(f"{source}: {err.args[0]}") from None
        lik_priors = {}
        for key, value in dict(likelihood.get("priors", {})).items():
            if key not in family.params:
                raise SpecError(
                    f"{source}: [likelihood.priors] {key!r} is not a parameter of family {family_name!r} ({sorted(family.params)})"
                )
            lik_priors[key] = _prior(value, f"{source}: likelihood prior {key!r}")

        priors = {}
        for key, value in dict(raw.get("priors", {})).items():
            if key not in params:
                raise SpecError(f"{source}: [priors] {key!r} is not a parameter of law {law.lookup_name!r} ({sorted(params)})")
            priors[key] = _prior(value, f"{source}: prior of {key!r}")

        pooling: dict[str, dict[str, str]] = {}
        for key, axes in dict(raw.get("pooling", {})).items():
            if key not in params and key not in family.params:
                raise SpecError(
                    f"{source}: [pooling] {key!r} is not a parameter of law {law.lookup_name!r} ({sorted(params)}) "
                    f"nor of family {family_name!r} ({sorted(family.params)})"
                )
            if not isinstance(axes, Mapping):
                raise SpecError(f'{source}: [pooling] {key} must be a table such as {{ skill = "partial" }}, got {axes!r}')
            for axis, mode in axes.items():
                if mode not in registered_modes():
                    raise SpecError(f"{source}: [pooling] {key}.{axis} = {mode!r}; choose one of {sorted(registered_modes())}")
            pooling[key] = dict(axes)
            if key in family.params and any(get_mode(m).varies for m in axes.values()):
                try:  # the check build_model makes of the population prior, here at parse time
                    lik_priors.get(key, family.params[key]).link_normal(get_link(PARAM_LINK), f"{source}: [pooling] {key} varies by group")
                except PriorError as err:
                    raise SpecError(f"{err} (set it in [likelihood] priors)") from None

        pooling_scale = {}
        for key, value in dict(raw.get("pooling_scale", {})).items():
            if key != "default" and key not in params and key not in family.params:
                raise SpecError(
                    f"{source}: [pooling_scale] {key!r} is neither 'default' nor a parameter ({sorted([*params, *family.params])})"
                )
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < float("inf"):
                raise SpecError(f"{source}: [pooling_scale] {key} must be a positive number, got {value!r}")
            pooling_scale[key] = float(value)

        sampler = dict(raw.get("sampler", {}))
        bad = set(sampler) - set(SAMPLER_KEYS)
        if bad:
            raise SpecError(f"{source}: unknown keys in [sampler]: {sorted(bad)}; allowed: {SAMPLER_KEYS}")

        return cls(
            name=raw["name"],
            law=raw["law"],
            description=str(raw.get("description", "")),
            family=family_name,
            likelihood_priors=lik_priors,
            priors=priors,
            pooling=pooling,
            pooling_scale=pooling_scale,
            sampler=sampler,
            source=source,
        )

    @classmethod
    def from_toml(cls, path: str | Path) -> ModelSpec:
        """Read and validate a spec file."""
        path = Path(path)
        try:
            raw = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise SpecError(f"no such spec file: {path}") from None
        except tomllib.TOMLDecodeError as err:
            raise SpecError(f"{path}: not valid TOML: {err}") from None
        return cls.from_dict(raw, source=str(path))

    # --------------------------------------------------------------- access
    def prior(self, param: str) -> Prior:
        """The prior of law parameter ``param``: the spec's override or the law's default."""
        return self.priors.get(param) or get_law(self.law).parameters[param].prior

    def family_prior(self, param: str) -> Prior:
        """The prior of likelihood parameter ``param``: the spec's override or the family's default."""
        from bayeslaw.families import get_family  # imports PyMC: deferred so that reading a spec stays fast

        return self.likelihood_priors.get(param) or get_family(self.family).params[param]

    def effective_priors(self) -> dict[str, Prior]:
        """Every prior the model uses: law parameters, then likelihood parameters."""
        from bayeslaw.families import get_family

        law = {name: self.prior(name) for name in get_law(self.law).parameters}
        return law | {name: self.family_prior(name) for name in get_family(self.family).params}

    def pooling_of(self, param: str) -> dict[str, str]:
        """Axis -> mode name for ``param``, for the axes along which it varies (axes not listed are shared)."""
        return {axis: mode for axis, mode in self.pooling.get(param, {}).items() if get_mode(mode).varies}

    def scale_of(self, param: str) -> float:
        """HalfNormal scale of the group spread of ``param`` on its link scale."""
        return self.pooling_scale.get(param, self.pooling_scale.get("default", DEFAULT_POOLING_SCALE))

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form, inverse of :meth:`from_dict`."""
        return {
            "name": self.name,
            "law": self.law,
            "description": self.description,
            "likelihood": {"family": self.family, "priors": {k: v.to_dict() for k, v in self.likelihood_priors.items()}},
            "priors": {k: v.to_dict() for k, v in self.priors.items()},
            "pooling": {k: dict(v) for k, v in self.pooling.items()},
            "pooling_scale": dict(self.pooling_scale),
            "sampler": dict(self.sampler),
        }

    def to_json(self) -> str:
        """JSON form, stored inside saved fits."""
        return json.dumps({"spec": self.to_dict(), "source": self.source})

    @classmethod
    def from_json(cls, text: str) -> ModelSpec:
        """Inverse of :meth:`to_json`."""
        payload = json.loads(text)
        return cls.from_dict(payload["spec"], source=payload["source"])


def _prior(value: Any, where: str) -> Prior:
    from bayeslaw.priors import PriorError

    try:
        return Prior.from_dict(value, where)
    except PriorError as err:
        raise SpecError(str(err)) from None


def spec_dirs() -> list[Path]:
    """Folders searched for named specs: the installed ``bayeslaw/specs``, then the repo's ``models/``."""
    package = Path(__file__).resolve().parent
    return [d for d in (package / "specs", package.parent / "models") if d.is_dir()]


def available_specs() -> dict[str, Path]:
    """Name -> path of every shipped spec."""
    found: dict[str, Path] = {}
    for folder in reversed(spec_dirs()):
        found.update({p.stem: p for p in sorted(folder.glob("*.toml"))})
    return dict(sorted(found.items()))


def resolve_spec(model: str | Path | Mapping[str, Any] | ModelSpec) -> ModelSpec:
    """Turn a spec name, a path to a TOML file, a dict or a spec into a :class:`ModelSpec`."""
    if isinstance(model, ModelSpec):
        return model
    if isinstance(model, Mapping):
        return ModelSpec.from_dict(model)
    text = str(model)
    path = Path(text)
    specs = available_specs()
    # A shipped name wins over a same-named file or folder in the working directory unless the text looks like a path.
    looks_like_path = isinstance(model, Path) or text.endswith(".toml") or "/" in text or "\\" in text
    if text in specs and not looks_like_path:
        return ModelSpec.from_toml(specs[text])
    if path.is_dir():
        raise SpecError(f"{text} is a folder, not a .toml spec file")
    if looks_like_path or path.exists():
        return ModelSpec.from_toml(path)
    raise SpecError(f"no model named {text!r}: shipped models are {sorted(specs)}; or give a path to a .toml spec")
