"""Priors as data: a distribution name plus keyword arguments.

A :class:`Prior` becomes a PyMC random variable only inside the model builder.
Pooled parameters are sampled on their link scale as Normal variables, so their
prior must be the link's matching family (:attr:`bayeslaw.links.Link.prior_family`:
``LogNormal`` for ``log``, ``Normal`` for ``identity``, ``LogitNormal`` for ``logit``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bayeslaw.links import Link


class PriorError(ValueError):
    """Raised for a prior that is malformed or unusable where it is placed."""


@dataclass(frozen=True)
class Prior:
    """A named PyMC distribution with fixed parameters.

    Parameters
    ----------
    dist
        Name of a distribution in :mod:`pymc` (``"LogNormal"``, ``"HalfNormal"``, ...).
    kwargs
        Its parameters, e.g. ``{"mu": -1.2, "sigma": 0.5}``.
    """

    dist: str
    kwargs: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.dist, str) or not self.dist.isidentifier():  # full check (a pymc Distribution): from_dict
            raise PriorError(f"unknown distribution {self.dist!r}: not in pymc")

    @classmethod
    def from_dict(cls, value: Mapping[str, Any], where: str) -> Prior:
        """Parse ``{"dist": "LogNormal", "mu": 0, "sigma": 1}`` (as written in a spec)."""
        if isinstance(value, Prior):
            return value
        if not isinstance(value, Mapping) or "dist" not in value:
            raise PriorError(f"{where}: a prior is a table with a 'dist' key, e.g. {{dist = \"Normal\", mu = 0, sigma = 1}}; got {value!r}")
        kwargs = {k: v for k, v in value.items() if k != "dist"}
        for key, v in kwargs.items():
            if not isinstance(v, int | float) or isinstance(v, bool):
                raise PriorError(f"{where}: parameter {key!r} must be a number, got {v!r}")
        try:
            prior = cls(str(value["dist"]), {k: float(v) for k, v in kwargs.items()})
            _require_distribution(prior.dist)
        except PriorError as err:
            raise PriorError(f"{where}: {err}") from None
        return prior

    def to_dict(self) -> dict[str, Any]:
        """Inverse of :meth:`from_dict`."""
        return {"dist": self.dist, **self.kwargs}

    def create(self, name: str, dims: tuple[str, ...] | None = None) -> Any:
        """Create the PyMC random variable inside the current model context."""
        import pymc as pm

        return getattr(pm, self.dist)(name, **self.kwargs, dims=dims)

    def link_normal(self, link: Link, where: str) -> tuple[float, float]:
        """Return ``(mu, sigma)`` of this prior on the ``link`` scale, for pooled parameters."""
        expected = link.prior_family
        if self.dist != expected or set(self.kwargs) != {"mu", "sigma"}:
            raise PriorError(
                f"{where}: a pooled parameter with a {link.name!r} link needs a {expected}(mu, sigma) prior "
                f"(it is sampled as Normal on the {link.name} scale); got {self.dist}({dict(self.kwargs)})"
            )
        return self.kwargs["mu"], self.kwargs["sigma"]

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v:g}" for k, v in self.kwargs.items())
        return f"{self.dist}({args})"


def _require_distribution(name: str) -> None:
    """Raise unless ``name`` is a PyMC distribution class (pymc is imported here, not at module import)."""
    import pymc as pm

    candidate = getattr(pm, name, None)
    if candidate is None:
        raise PriorError(f"unknown distribution {name!r}: not in pymc")
    if not (isinstance(candidate, type) and callable(getattr(candidate, "dist", None))):  # LogitNormal is not a Distribution subclass
        raise PriorError(f"{name!r} is not a distribution (pymc.{name} is a {type(candidate).__name__}); use e.g. 'Normal' or 'LogNormal'")
