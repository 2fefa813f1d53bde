"""The base class every scaling law derives from, and the law registry.

A law is a small class with a ``lookup_name``, the canonical ``inputs`` it reads,
the ``target`` it predicts, its ``parameters`` (each with a link and a default
prior) and a single ``mean`` function written over an array namespace ``xp``:
``numpy`` (and xarray objects, which follow numpy's ufuncs) for posterior draws,
``pytensor.tensor`` inside the PyMC model. Subclasses register themselves, so a
new law is one new module in :mod:`bayeslaw.laws` plus one spec in ``models/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from bayeslaw.links import get_link
from bayeslaw.priors import Prior
from bayeslaw.registry import Registry

Array = Any  # numpy array, xarray DataArray or pytensor tensor

LAWS = Registry("law", "bayeslaw.laws")


@dataclass(frozen=True)
class Parameter:
    """One law parameter.

    Parameters
    ----------
    link
        Scale on which the sampler and any pooling work: ``log`` (positive),
        ``identity`` (real) or ``logit`` (between 0 and 1).
    prior
        Default prior (a spec may override it).
    description
        Meaning, shown in summaries and docs.
    """

    link: str
    prior: Prior
    description: str = ""

    def __post_init__(self) -> None:
        get_link(self.link)  # raises for an unknown link, naming the known ones


class Law:
    """Base class of a scaling law.

    Class attributes
    ----------------
    lookup_name
        Name used in specs (``law = "chinchilla"``).
    inputs
        Canonical covariates read by :meth:`mean`.
    target
        Canonical response variable predicted.
    centred_inputs
        Inputs whose logarithm is centred at the data's geometric mean (the
        reference scales passed to :meth:`mean` as ``refs``).
    parameters
        Name -> :class:`Parameter`.
    default_family
        Likelihood family used unless the spec says otherwise.
    raw_form
        The quantities of :meth:`derived` that :meth:`from_raw` accepts in place
        of the sampled parameters (the paper's form), e.g. ``("A", "B")``.
    """

    lookup_name: ClassVar[str]
    inputs: ClassVar[tuple[str, ...]]
    target: ClassVar[str] = "loss"
    centred_inputs: ClassVar[tuple[str, ...]] = ()
    parameters: ClassVar[dict[str, Parameter]]
    default_family: ClassVar[str] = "studentt"
    raw_form: ClassVar[tuple[str, ...]] = ()
    formula: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        LAWS.add(cls)

    def mean(self, x: Mapping[str, Array], p: Mapping[str, Array], refs: Mapping[str, float], xp: Any) -> Array:
        """Expected target at inputs ``x`` for parameters ``p`` (natural scale)."""
        raise NotImplementedError

    def derived(self, p: Mapping[str, Array], refs: Mapping[str, float], xp: Any) -> dict[str, Array]:
        """Quantities derived from the parameters (e.g. the raw amplitudes); none by default."""
        return {}

    def compute_optimal(self, p: Mapping[str, Array], budget: Array, refs: Mapping[str, float], xp: Any) -> dict[str, Array] | None:
        """Closed-form compute-optimal ``{"N_opt": ..., "D_opt": ...}`` at FLOP ``budget``, or ``None``.

        Laws without a closed form return ``None`` and :mod:`bayeslaw.optimum`
        minimises :meth:`loss_at` along the iso-FLOP curve numerically.
        """
        return None

    def from_raw(self, raw: Mapping[str, Array], refs: Mapping[str, float], xp: Any) -> dict[str, Array]:
        """Convert parameters in the paper's form (e.g. raw amplitudes) into this law's parameters.

        Identity by default; laws that sample reference-scale amplitudes override it.
        """
        return dict(raw)

    def loss_at(self, p: Mapping[str, Array], refs: Mapping[str, float], n: Array, d: Array, xp: Any) -> Array:
        """The mean at model size ``n`` and tokens ``d`` (laws over ``N`` and ``D`` only)."""
        return self.mean({"N": n, "D": d, "C": 6.0 * n * d}, p, refs, xp)

    def loss_derivatives_along_compute(
        self, p: Mapping[str, Array], refs: Mapping[str, float], log_n: Array, log_half_compute: Array, xp: Any
    ) -> tuple[Array, Array] | None:
        """The first and second derivatives of the loss in u = log N along C = 6 N D (log D = log(C/6) - u), or ``None``.

        Optional: the numeric compute-optimal search uses them where a law gives them (one
        evaluation per step instead of three), and central differences of :meth:`loss_at` otherwise.
        """
        return None

    @classmethod
    def allocates_compute(cls) -> bool:
        """Whether compute-optimal allocation over (N, D) is defined for this law."""
        return set(cls.inputs) <= {"N", "D", "C"} and "N" in cls.inputs

    @classmethod
    def describe(cls) -> str:
        """One-paragraph description: formula and parameters."""
        lines = [f"{cls.lookup_name}: {cls.formula}"]
        lines += [f"  {name} ({par.link} link, default prior {par.prior}): {par.description}" for name, par in cls.parameters.items()]
        return "\n".join(lines)


def get_law(name: str) -> Law:
    """Return an instance of the law registered as ``name``."""
    return LAWS.get(name)()


def registered_laws() -> dict[str, type[Law]]:
    """Name -> class of every registered law."""
    return LAWS.classes()
