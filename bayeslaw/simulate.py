"""Seeded synthetic scaling data from a known law, for recovery tests and studies.

The design is a grid of model sizes times tokens-per-parameter ratios, repeated
for every (skill, datamix) cell. True parameters are given in the paper's form
(``A`` and ``B`` for Chinchilla) and may differ by skill, by datamix or by both::

    sim = simulate(
        "chinchilla",
        {"E": {"code": 1.2, "text": 1.8}, "A": 400.0, "B": 2000.0, "alpha": 0.34, "beta": 0.36},
        skills=["code", "text"],
    )
    sim.data      # ScalingData, ready for bayeslaw.fit
    sim.truth("code")  # the law's parameters for skill "code"
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bayeslaw.constants import FLOPS_PER_PARAM_TOKEN
from bayeslaw.data import ScalingData
from bayeslaw.laws import Law, get_law

#: Default design: 8 sizes from 10M to 1B parameters x 5 token ratios from 5 to 80 tokens/parameter.
DEFAULT_SIZES = tuple(np.geomspace(1e7, 1e9, 8))
DEFAULT_TOKENS_PER_PARAM = (5.0, 10.0, 20.0, 40.0, 80.0)

ParamValue = float | Mapping[Any, float]


@dataclass(frozen=True)
class SimulatedData:
    """Synthetic data plus the truth that generated it.

    Attributes
    ----------
    data
        The observations, validated.
    law
        Name of the generating law.
    raw
        True parameters as given (paper form; per-group mappings allowed).
    refs
        Reference scales of the design (what :func:`bayeslaw.fit` will use).
    noise
        Noise settings: ``sigma`` (log scale) and ``nu`` (Student-t degrees of freedom; ``inf`` = normal).
    """

    data: ScalingData
    law: str
    raw: Mapping[str, ParamValue]
    refs: Mapping[str, float]
    noise: Mapping[str, ParamValue]

    def raw_truth(self, skill: str | None = None, datamix: str | None = None) -> dict[str, float]:
        """True parameters (paper form) of one group."""
        return {name: _value(value, skill, datamix, name) for name, value in self.raw.items()}

    def truth(self, skill: str | None = None, datamix: str | None = None) -> dict[str, float]:
        """True parameters in the law's own (sampled) form, for one group."""
        law = get_law(self.law)
        raw = self.raw_truth(skill, datamix)
        return {k: float(v) for k, v in law.from_raw(raw, self.refs, np).items()}

    def optimum(self, budget: float, skill: str | None = None, datamix: str | None = None) -> dict[str, float]:
        """True compute-optimal N*, D* at ``budget`` (closed form when the law has one)."""
        law = get_law(self.law)
        p = self.truth(skill, datamix)
        closed = law.compute_optimal(p, np.asarray(budget, dtype=float), self.refs, np)
        if closed is None:
            raise NotImplementedError(f"law {self.law!r} has no closed-form optimum; use bayeslaw.optimum")
        return {k: float(v) for k, v in closed.items()}


def _value(value: ParamValue, skill: str | None, datamix: str | None, name: str) -> float:
    if not isinstance(value, Mapping):
        return float(value)
    for key in ((skill, datamix), skill, datamix):
        if key in value:
            return float(value[key])
    raise KeyError(f"no true value of {name!r} for skill={skill!r}, datamix={datamix!r}; keys: {list(value)}")


def simulate(
    law: str | Law,
    params: Mapping[str, ParamValue],
    *,
    sizes: Sequence[float] = DEFAULT_SIZES,
    tokens_per_param: Sequence[float] = DEFAULT_TOKENS_PER_PARAM,
    skills: Sequence[str] | None = None,
    datamixes: Sequence[str] | None = None,
    runs: Mapping[Any, int] | None = None,
    sigma: ParamValue = 0.01,
    nu: float = np.inf,
    seed: int = 0,
) -> SimulatedData:
    """Draw observations from ``law`` at a grid of (N, D) with multiplicative noise.

    Parameters
    ----------
    law
        Law name or instance (laws over N and D).
    params
        True parameters in paper form; each a number, or a mapping from skill,
        datamix or ``(skill, datamix)`` to a number.
    sizes, tokens_per_param
        The design grid; D = tokens_per_param * N.
    skills, datamixes
        Group labels; the grid is repeated for every (skill, datamix) cell.
    runs
        Optional ``{skill or (skill, datamix): k}``: keep only ``k`` runs of that
        cell, chosen at random (seeded) — to make a skill with few runs.
    sigma, nu
        Noise on log loss: Normal(0, sigma), or Student-t with ``nu`` degrees of freedom.
        ``sigma`` may differ by group, given like a parameter (a mapping from
        skill, datamix or ``(skill, datamix)``).
    seed
        Seed of the design thinning and the noise.
    """
    law = get_law(law) if isinstance(law, str) else law
    if not law.allocates_compute():
        raise ValueError(f"the simulator covers laws over (N, D); {law.lookup_name!r} reads {law.inputs}")
    rng = np.random.default_rng(seed)
    n_grid, m_grid = np.meshgrid(np.asarray(sizes, dtype=float), np.asarray(tokens_per_param, dtype=float), indexing="ij")
    n_all, d_all = n_grid.ravel(), (n_grid * m_grid).ravel()
    refs = {"N": float(np.exp(np.log(n_all).mean())), "D": float(np.exp(np.log(d_all).mean()))}
    frames = []
    for skill in skills or [None]:
        for datamix in datamixes or [None]:
            keep = np.arange(n_all.size)
            wanted = None
            if runs is not None:
                wanted = runs.get((skill, datamix), runs.get(skill, runs.get(datamix)))
            if wanted is not None:
                keep = np.sort(rng.choice(n_all.size, size=int(wanted), replace=False))
            n, d = n_all[keep], d_all[keep]
            raw = {name: _value(value, skill, datamix, name) for name, value in params.items()}
            p = law.from_raw(raw, refs, np)
            mean = law.mean({"N": n, "D": d, "C": FLOPS_PER_PARAM_TOKEN * n * d}, p, refs, np)
            noise = rng.standard_normal(n.size) if np.isinf(nu) else rng.standard_t(nu, n.size)
            frame = pd.DataFrame({"N": n, "D": d, "loss": mean * np.exp(_value(sigma, skill, datamix, "sigma") * noise)})
            if skill is not None:
                frame["skill"] = skill
            if datamix is not None:
                frame["datamix"] = datamix
            frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    frame.index = [f"sim{i}" for i in range(len(frame))]
    data = ScalingData.from_frame(frame, name=f"simulated-{law.lookup_name}")
    # The fit centres at the data's geometric means; report truth at exactly those scales.
    refs = data.reference_scales(law.centred_inputs)
    return SimulatedData(data=data, law=law.lookup_name, raw=dict(params), refs=refs, noise={"sigma": sigma, "nu": nu})


def draw_group_params(
    population: Mapping[str, float],
    spreads: Mapping[str, Mapping[str, float]],
    *,
    skills: Sequence[str] | None = None,
    datamixes: Sequence[str] | None = None,
    seed: int = 0,
) -> dict[str, ParamValue]:
    """Draw group-level true parameters around population values, as the hierarchical model assumes.

    For a positive parameter ``p`` with spreads ``{"skill": s1, "datamix": s2}``,
    ``log p[skill, datamix] = log p_pop + s1 * z_skill + s2 * z_datamix`` with
    standard-normal ``z`` (one per label). Parameters without spreads stay shared.
    The result plugs into :func:`simulate` (per-cell values keyed by ``(skill, datamix)``).

    Parameters
    ----------
    population
        Population values in paper form (e.g. ``{"E": 1.7, "A": 400, "B": 2000, "alpha": 0.34, "beta": 0.28}``).
    spreads
        ``{param: {axis: sd}}`` on the log scale; axes are ``"skill"`` and ``"datamix"``.
    skills, datamixes
        Group labels (those an axis in ``spreads`` refers to must be given).
    seed
        Seed of the group offsets.
    """
    rng = np.random.default_rng(seed)
    labels = {"skill": list(skills or []), "datamix": list(datamixes or [])}
    out: dict[str, ParamValue] = {}
    for name, value in population.items():
        if value <= 0:
            raise ValueError(f"population value of {name!r} must be positive (offsets are on the log scale), got {value}")
        axes = dict(spreads.get(name, {}))
        unknown = [a for a in axes if a not in labels]
        if unknown:
            raise ValueError(f"spreads of {name!r}: unknown axes {unknown}; use 'skill' and/or 'datamix'")
        empty = [a for a in axes if not labels[a]]
        if empty:
            raise ValueError(f"spreads of {name!r} use axis {empty[0]!r} but no {empty[0]} labels were given")
        if not axes:
            out[name] = float(value)
            continue
        offsets = {a: dict(zip(labels[a], sd * rng.standard_normal(len(labels[a])), strict=True)) for a, sd in axes.items()}
        cells = {}
        for skill in labels["skill"] or [None]:
            for datamix in labels["datamix"] or [None]:
                shift = offsets.get("skill", {}).get(skill, 0.0) + offsets.get("datamix", {}).get(datamix, 0.0)
                cells[(skill, datamix)] = float(value * np.exp(shift))
        out[name] = cells
    return out
