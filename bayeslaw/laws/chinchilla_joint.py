"""Chinchilla with a joint exponent: the two reducible terms need not add.

    L(N, D) = E + [ (A / N^alpha)^(1/q) + (B / D^beta)^(1/q) ]^q

``q = 1`` is Chinchilla's additive form. Kaplan et al.'s (2020) joint law
``[(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D`` is the case ``E = 0``,
``q = alpha_D`` (with ``alpha = alpha_N``, ``beta = alpha_D``), so this law nests
both: ``q < 1`` makes the loss follow the larger of the two terms more closely
(a model-size or a data bottleneck), ``q > 1`` lets them compound. Reach for it
when the Chinchilla and Kaplan laws forecast differently and stacking gives both
weight: the data then decide ``q``. Sampled like :mod:`bayeslaw.laws.kaplan`, at the data's
reference scales N0, D0::

    L = E + L_r [f (N/N0)^(-alpha/q) + (1 - f) (D/D0)^(-beta/q)]^q

with ``L_r`` the reducible loss at (N0, D0) and ``f`` the model-size share of the
bracket there (the Chinchilla-style terms at N0, D0 are ``f^q L_r`` and
``(1 - f)^q L_r``), which keeps ``q`` from trading off against the amplitudes.
The bracket is a ``logaddexp``, stable for small ``q``. No closed-form compute optimum: it is found numerically.
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
    raw_form = ("A", "B")
    parameters: ClassVar[dict[str, Parameter]] = {
        "E": Parameter("log", Prior("LogNormal", {"mu": 0.5, "sigma": 0.5}), "irreducible loss"),
        "L_r": Parameter("log", Prior("LogNormal", {"mu": -0.5, "sigma": 1.0}), "reducible loss at the reference scales (N0, D0)"),
        "f": Parameter("logit", Prior("LogitNormal", {"mu": 0.0, "sigma": 1.5}), "share of the model-size term in the bracket at (N0, D0)"),
        "alpha": Parameter("log", Prior("LogNormal", {"mu": -1.2, "sigma": 0.5}), "model-size exponent"),
        "beta": Parameter("log", Prior("LogNormal", {"mu": -1.2, "sigma": 0.5}), "data exponent"),
        # Median 1 (Chinchilla's additive form); 90% of the mass in [0.3, 3.2].
        "q": Parameter("log", Prior("LogNormal", {"mu": 0.0, "sigma": 0.7}), "joint exponent (1 = additive terms)"),
    }

    def mean(self, x: Mapping[str, Array], p: Mapping[str, Array], refs: Mapping[str, float], xp: Any) -> Array:
        q = p["q"]
        size = xp.log(p["f"]) - p["alpha"] / q * xp.log(x["N"] / refs["N"])
        data = xp.log1p(-p["f"]) - p["beta"] / q * xp.log(x["D"] / refs["D"])
        return p["E"] + p["L_r"] * xp.exp(q * xp.logaddexp(size, data))

    def derived(self, p: Mapping[str, Array], refs: Mapping[str, float], xp: Any) -> dict[str, Array]:
        """Chinchilla's amplitudes: the two terms at the reference scales are ``f^q L_r`` and ``(1 - f)^q L_r``."""
        q = p["q"]
        return {
            "A": p["L_r"] * xp.exp(q * xp.log(p["f"]) + p["alpha"] * math.log(refs["N"])),
            "B": p["L_r"] * xp.exp(q * xp.log1p(-p["f"]) + p["beta"] * math.log(refs["D"])),
        }

    def from_raw(self, raw: Mapping[str, Array], refs: Mapping[str, float], xp: Any) -> dict[str, Array]:
        """Accept the paper-style ``A``, ``B`` (with ``alpha``, ``beta``, ``q``) in place of ``L_r`` and ``f``."""
        out = dict(raw)
        if "A" in out or "B" in out:
            if not ("A" in out and "B" in out):
                raise ValueError("give both A and B (or neither)")
            q = out["q"]
            size = (out.pop("A") * xp.exp(-out["alpha"] * math.log(refs["N"]))) ** (1.0 / q)
            data = (out.pop("B") * xp.exp(-out["beta"] * math.log(refs["D"]))) ** (1.0 / q)
            out["L_r"] = (size + data) ** q
            out["f"] = size / (size + data)
        return out
