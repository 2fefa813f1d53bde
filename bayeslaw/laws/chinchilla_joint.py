"""Chinchilla with a joint exponent: the two reducible terms need not add.

    L(N, D) = E + [ (A / N^alpha)^(1/q) + (B / D^beta)^(1/q) ]^q

``q = 1`` is Chinchilla's additive form. Kaplan et al.'s (2020) joint law
``[(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D`` is the case ``E = 0``,
``q = alpha_D`` (with ``alpha = alpha_N``, ``beta = alpha_D``), so this law nests
both: ``q < 1`` makes the loss follow the larger of the two terms more closely
(a model-size or a data bottleneck), ``q > 1`` lets them compound. Reach for it
when the Chinchilla and Kaplan laws forecast differently and stacking gives both
weight: the data then decide ``q``. Sampled at the data's reference scales like
:mod:`bayeslaw.laws.chinchilla` (``a_ref``, ``b_ref`` are the terms at N0, D0);
the bracket is computed as ``q * logaddexp(log t_N / q, log t_D / q)`` so it is
stable for small ``q``. No closed-form compute optimum: it is found numerically.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from bayeslaw.laws.base import Array, Law, Parameter
from bayeslaw.priors import Prior


class ChinchillaJoint(Law):
    """L(N, D) = E + [(A/N^alpha)^(1/q) + (B/D^beta)^(1/q)]^q."""

    lookup_name = "chinchilla_joint"
    inputs = ("N", "D")
    target = "loss"
    centred_inputs = ("N", "D")
    formula = "L(N, D) = E + [(A/N^alpha)^(1/q) + (B/D^beta)^(1/q)]^q"
    parameters: ClassVar[dict[str, Parameter]] = {
        "E": Parameter("log", Prior("LogNormal", {"mu": 0.5, "sigma": 0.5}), "irreducible loss"),
        "a_ref": Parameter("log", Prior("LogNormal", {"mu": -1.0, "sigma": 1.0}), "model-size term A/N0^alpha at the reference size N0"),
        "b_ref": Parameter("log", Prior("LogNormal", {"mu": -1.0, "sigma": 1.0}), "data term B/D0^beta at the reference tokens D0"),
        "alpha": Parameter("log", Prior("LogNormal", {"mu": -1.2, "sigma": 0.5}), "model-size exponent"),
        "beta": Parameter("log", Prior("LogNormal", {"mu": -1.2, "sigma": 0.5}), "data exponent"),
        # Median 1 (Chinchilla's additive form); 90% of the mass in [0.3, 3.2].
        "q": Parameter("log", Prior("LogNormal", {"mu": 0.0, "sigma": 0.7}), "joint exponent (1 = additive terms)"),
    }

    def mean(self, x: Mapping[str, Array], p: Mapping[str, Array], refs: Mapping[str, float], xp: Any) -> Array:
        log_size = xp.log(p["a_ref"]) - p["alpha"] * xp.log(x["N"] / refs["N"])
        log_data = xp.log(p["b_ref"]) - p["beta"] * xp.log(x["D"] / refs["D"])
        return p["E"] + xp.exp(p["q"] * xp.logaddexp(log_size / p["q"], log_data / p["q"]))

    def derived(self, p: Mapping[str, Array], refs: Mapping[str, float], xp: Any) -> dict[str, Array]:
        return {
            "A": p["a_ref"] * xp.exp(p["alpha"] * math.log(refs["N"])),
            "B": p["b_ref"] * xp.exp(p["beta"] * math.log(refs["D"])),
        }

    def from_raw(self, raw: Mapping[str, Array], refs: Mapping[str, float], xp: Any) -> dict[str, Array]:
        """Accept ``A``/``B`` (raw amplitudes) in place of ``a_ref``/``b_ref``."""
        out = dict(raw)
        if "A" in out:
            out["a_ref"] = out.pop("A") * xp.exp(-out["alpha"] * math.log(refs["N"]))
        if "B" in out:
            out["b_ref"] = out.pop("B") * xp.exp(-out["beta"] * math.log(refs["D"]))
        return out
