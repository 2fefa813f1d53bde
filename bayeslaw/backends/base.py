"""The sampler-backend protocol and registry.

A backend turns a PyMC model into posterior draws. It says, by its class
attributes, whether it can start chains at given points (``restarts``), which
optional modules it needs (``requires``) and which extra of the package
installs them (``extra``). The calls, in order:

1. :meth:`Backend.prepare` once per model (e.g. nutpie's Numba compilation);
2. :meth:`Backend.sample`, which returns a :class:`Run`;
3. only to rerun chains (stuck chains, or a longer run): :meth:`Backend.start_points`
   from a first run, then :meth:`Backend.sample` again with ``starts``
   (:meth:`Backend.sample_chains` samples only some new chains).

A backend may also expose its model's log density and gradient on the
unconstrained scale (:meth:`Backend.logp_grad`, with :meth:`Backend.initial_point`);
:mod:`bayeslaw.starts` then finds robust starting points, which :meth:`Backend.sample`
takes as ``starts`` (rows of unconstrained points). Backends without it return ``None``.

A backend with ``swaps_data`` also implements :meth:`Backend.with_data`: the
prepared (compiled) model of a ``pm.Data`` model with new data values, without
recompiling (:mod:`bayeslaw.compiled` caches prepared models per spec and shapes).
"""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pymc as pm

from bayeslaw import results
from bayeslaw.registry import Registry
from bayeslaw.starts import LogpGrad

BACKENDS = Registry("sampler backend", "bayeslaw.backends")


class BackendUnavailable(ImportError):
    """Raised when a backend's optional dependency is not installed; the message names the extra to install."""


@dataclass(frozen=True)
class Run:
    """One sampler run.

    Attributes
    ----------
    idata
        The draws (warm-up excluded or not, as the backend returns them).
    state
        What the backend keeps to start a later run at this run's draws (backend-specific).
    no_restart
        Why chains cannot be restarted from this run, or ``None`` if they can.
    """

    idata: results.Results
    state: Any = None
    no_restart: str | None = None


class Backend:
    """Base class of a sampler backend.

    Class attributes
    ----------------
    lookup_name
        Name used in specs (``[sampler] backend = "nutpie"``) and on the command line.
    description
        One line for docs and ``--help``.
    restarts
        Whether :meth:`start_points` and ``sample(..., starts=...)`` are implemented.
    requires
        Importable modules the backend needs beyond bayeslaw's own dependencies.
    extra
        The package extra that installs ``requires`` (``pip install "bayeslaw[extra]"``).
    swaps_data
        Whether :meth:`with_data` is implemented (one compiled model serves many datasets).
    """

    lookup_name: ClassVar[str]
    description: ClassVar[str] = ""
    restarts: ClassVar[bool] = False
    requires: ClassVar[tuple[str, ...]] = ()
    extra: ClassVar[str | None] = None
    swaps_data: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        BACKENDS.add(cls)

    @classmethod
    def missing(cls) -> str | None:
        """Why this backend cannot run here (a missing optional module), or ``None`` if it can."""
        absent = [module for module in cls.requires if importlib.util.find_spec(module) is None]
        if not absent:
            return None
        install = f'pip install "bayeslaw[{cls.extra}]"' if cls.extra else f"pip install {' '.join(absent)}"
        return f"sampler backend {cls.lookup_name!r} needs {' and '.join(absent)}, not installed here; install with: {install}"

    def prepare(self, model: pm.Model) -> Any:
        """What :meth:`sample` runs on (the model itself unless the backend compiles it)."""
        return model

    def sample(self, prepared: Any, config: Any, seed: int, cores: int, *, starts: Any = None, keep_state: bool = False) -> Run:
        """Sample ``prepared`` with ``config`` (a :class:`bayeslaw.sampling.SamplerConfig`).

        ``starts``: start points from :meth:`start_points` (backends with ``restarts`` only).
        ``keep_state``: keep what :meth:`start_points` will need in the returned run.
        """
        raise NotImplementedError

    def sample_chains(
        self, prepared: Any, config: Any, seed: int, cores: int, starts: Any, n_chains: int, *, keep_state: bool = False
    ) -> Run:
        """Sample only ``n_chains`` new chains, started at ``starts`` (from :meth:`start_points`), with ``config``'s other settings.

        For a rerun policy that replaces stuck chains only and keeps the others: it merges
        the returned chains with the kept ones (this method neither knows nor touches them).
        ``keep_state`` as for :meth:`sample`. Needs ``restarts``.
        """
        if not self.restarts:
            raise NotImplementedError(f"backend {self.lookup_name!r} cannot start chains at given points")
        subset = dataclasses.replace(config, chains=n_chains)
        return self.sample(prepared, subset, seed, max(1, min(cores, n_chains)), starts=starts, keep_state=keep_state)

    def with_data(self, prepared: Any, values: Mapping[str, np.ndarray], coords: Mapping[str, Sequence[Any]]) -> Any:
        """``prepared`` (from a model built with ``as_data=True``) reading ``values`` and labelled by ``coords``.

        ``values`` maps ``pm.Data`` names to arrays of the compiled shapes; names the
        compiled model does not read are ignored. The returned object is new; ``prepared``
        is unchanged, so one compiled model can serve several datasets at once.
        """
        raise NotImplementedError(f"backend {self.lookup_name!r} cannot swap a compiled model's data")

    def start_points(self, prepared: Any, run: Run, chains: list[int], n_chains: int, seed: int) -> Any:
        """Start points for ``n_chains`` new chains, taken from the second half of ``run``'s ``chains``."""
        raise NotImplementedError(f"backend {self.lookup_name!r} cannot start chains at given points")

    def logp_grad(self, prepared: Any) -> LogpGrad | None:
        """The log density and its gradient at an unconstrained point (``None`` where not finite), or ``None``
        if this backend does not expose them; where it does, ``sample(..., starts=rows)`` takes rows of such points."""
        return None

    def initial_point(self, prepared: Any, seed: int) -> np.ndarray:
        """The sampler's own random initial point (unconstrained) for ``seed`` (backends with :meth:`logp_grad`)."""
        raise NotImplementedError(f"backend {self.lookup_name!r} does not expose its initial points")


def get_backend(name: str) -> Backend:
    """Return the backend registered as ``name``; ``BackendUnavailable`` if its optional dependency is missing."""
    cls = BACKENDS.get(name)
    why = cls.missing()
    if why is not None:
        raise BackendUnavailable(why)
    return cls()


def backend_names() -> tuple[str, ...]:
    """Names of every registered backend, installed or not (for validation and the CLI)."""
    return tuple(sorted(BACKENDS.classes()))
