"""Likelihood families as data: each entry says how the target is linked, which
nuisance parameters it has (with default priors), and how to build, score and
simulate it, in PyMC and in numpy.

The default, ``studentt``, is a Student-t on log target: multiplicative noise
with heavy tails, so a few digitisation outliers cannot drag the exponents.
``logistic`` has exponential tails (heavier than the Normal's, lighter than a
Student-t's) and a log-concave density: it needs no degrees of freedom, so it
samples faster where the data would push a Student-t's ``nu`` towards 1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pymc as pm
from scipy import stats

from bayeslaw.links import get_link
from bayeslaw.priors import Prior

#: Link scale on which a likelihood parameter that varies by group is pooled (every family parameter is positive).
PARAM_LINK = "log"


@dataclass(frozen=True)
class Family:
    """A likelihood: ``observed`` on the ``link`` scale given the law's mean on that scale.

    Attributes
    ----------
    name
        Key used in specs (``[likelihood] family = "studentt"``).
    link
        Transform applied to both the target and the law's mean (``log``,
        ``logit`` or ``identity``); a family of ``identity`` link may place its
        mean on the natural scale, as ``beta`` does.
    params
        Nuisance parameters with their default priors.
    pymc
        ``(name, mu, params, observed, dims) -> random variable``.
    logpdf
        ``(y, mu, params) -> log density``, numpy, on the link scale.
    sample
        ``(rng, mu, params) -> draws`` on the link scale.
    description
        One line for docs and reports.
    """

    name: str
    link: str
    params: Mapping[str, Prior]
    pymc: Callable[..., Any]
    logpdf: Callable[..., np.ndarray]
    sample: Callable[..., np.ndarray]
    description: str

    def transform(self, values: Any, xp: Any = np) -> Any:
        """Map target values onto the link scale."""
        return get_link(self.link).forward(values, xp)

    def inverse(self, values: np.ndarray) -> np.ndarray:
        """Map link-scale values back to the target's natural scale."""
        return get_link(self.link).inverse(values, np)


def _beta_ab(mu: Any, phi: Any) -> tuple[Any, Any]:
    return mu * phi, (1.0 - mu) * phi


FAMILIES: dict[str, Family] = {
    "studentt": Family(
        name="studentt",
        link="log",
        params={"sigma": Prior("HalfNormal", {"sigma": 0.1}), "nu": Prior("Gamma", {"alpha": 2.0, "beta": 0.1})},
        pymc=lambda name, mu, p, observed, dims: pm.StudentT(name, nu=p["nu"], mu=mu, sigma=p["sigma"], observed=observed, dims=dims),
        logpdf=lambda y, mu, p: stats.t.logpdf(y, df=p["nu"], loc=mu, scale=p["sigma"]),
        sample=lambda rng, mu, p: mu + p["sigma"] * rng.standard_t(np.broadcast_to(p["nu"], np.shape(mu))),
        description="Student-t on log target (robust to outliers; multiplicative noise)",
    ),
    "normal": Family(
        name="normal",
        link="log",
        params={"sigma": Prior("HalfNormal", {"sigma": 0.1})},
        pymc=lambda name, mu, p, observed, dims: pm.Normal(name, mu=mu, sigma=p["sigma"], observed=observed, dims=dims),
        logpdf=lambda y, mu, p: stats.norm.logpdf(y, loc=mu, scale=p["sigma"]),
        sample=lambda rng, mu, p: mu + p["sigma"] * rng.standard_normal(np.shape(mu)),
        description="Normal on log target",
    ),
    "logistic": Family(
        name="logistic",
        link="log",
        params={"sigma": Prior("HalfNormal", {"sigma": 0.1})},
        pymc=lambda name, mu, p, observed, dims: pm.Logistic(name, mu=mu, s=p["sigma"], observed=observed, dims=dims),
        logpdf=lambda y, mu, p: stats.logistic.logpdf(y, loc=mu, scale=p["sigma"]),
        sample=lambda rng, mu, p: mu + p["sigma"] * rng.logistic(size=np.shape(mu)),
        description="logistic on log target (scale sigma; tails between the Normal's and a Student-t's, log-concave)",
    ),
    "beta": Family(
        name="beta",
        link="identity",
        params={"phi": Prior("LogNormal", {"mu": 5.0, "sigma": 1.5})},
        pymc=lambda name, mu, p, observed, dims: pm.Beta(
            name, alpha=mu * p["phi"], beta=(1.0 - mu) * p["phi"], observed=observed, dims=dims
        ),
        logpdf=lambda y, mu, p: stats.beta.logpdf(y, *_beta_ab(mu, p["phi"])),
        sample=lambda rng, mu, p: rng.beta(*np.broadcast_arrays(*_beta_ab(mu, p["phi"]))),
        description="Beta with mean given by the law and precision phi (for targets in (0, 1))",
    ),
}


def get_family(name: str) -> Family:
    """Return the family registered as ``name``."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise KeyError(f"unknown likelihood family {name!r}; known: {sorted(FAMILIES)}") from None
