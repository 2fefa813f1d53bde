"""Link functions, each defined once: ``forward`` and ``inverse`` over an array namespace.

A link maps a quantity onto the scale on which it is modelled: the sampler's
scale of a law parameter (pooled parameters are Normal there) and the scale on
which a likelihood family scores the target. ``xp`` is ``numpy`` (numpy arrays
and xarray objects) or ``pytensor.tensor`` (inside the PyMC model).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

Array = Any  # numpy array, xarray DataArray or pytensor tensor


def _logit(v: Array, xp: Any) -> Array:
    return xp.log(v) - xp.log1p(-v)


def _expit(v: Array, xp: Any) -> Array:
    return special.expit(v) if xp is np else xp.sigmoid(v)


def _identity(v: Array, xp: Any) -> Array:
    return v


@dataclass(frozen=True)
class Link:
    """A link function.

    Attributes
    ----------
    name
        Key used by laws' parameters and families (``"log"``, ``"logit"``, ``"identity"``).
    prior_family
        The PyMC distribution whose ``(mu, sigma)`` are those of a Normal on the
        link scale: the prior a pooled parameter with this link must have.
    support
        The values the link maps onto the real line, in words.
    """

    name: str
    prior_family: str
    support: str
    _forward: Callable[[Array, Any], Array]
    _inverse: Callable[[Array, Any], Array]

    def forward(self, values: Array, xp: Any = np) -> Array:
        """Map natural-scale values onto the link scale."""
        return self._forward(values, xp)

    def inverse(self, values: Array, xp: Any = np) -> Array:
        """Map link-scale values back to the natural scale."""
        return self._inverse(values, xp)


LINKS: dict[str, Link] = {
    link.name: link
    for link in (
        Link("log", "LogNormal", "positive", lambda v, xp: xp.log(v), lambda v, xp: xp.exp(v)),
        Link("logit", "LogitNormal", "between 0 and 1", _logit, _expit),
        Link("identity", "Normal", "real", _identity, _identity),
    )
}


def get_link(name: str) -> Link:
    """Return the link registered as ``name``."""
    try:
        return LINKS[name]
    except KeyError:
        raise KeyError(f"unknown link {name!r}; known: {sorted(LINKS)}") from None
