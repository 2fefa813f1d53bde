"""Chinchilla law (Hoffmann et al. 2022): L(N, D) = E + A / N^alpha + B / D^beta.

Sampled as ``E + a_ref (N/N0)^-alpha + b_ref (D/D0)^-beta`` with ``N0``, ``D0`` the
data's geometric means, so ``a_ref`` and ``b_ref`` are the two reducible-loss
terms at the reference scale. The raw amplitudes ``A = a_ref N0^alpha`` and
``B = b_ref D0^beta`` are derived. This removes most of the posterior
correlation between amplitudes and exponents that makes the raw form slow.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from bayeslaw.constants import FLOPS_PER_PARAM_TOKEN
from bayeslaw.laws.base import Array, Law, Parameter
from bayeslaw.priors import Prior


class Chinchilla(Law):
    """L(N, D) = E + A / N^alpha + B / D^beta."""

    lookup_name = "chinchilla"
    raw_form = ("A", "B")
    inputs = ("N", "D")
    target = "loss"
    centred_inputs = ("N", "D")
    formula = "L(N, D) = E + A / N^alpha + B / D^beta"
    parameters: ClassVar[dict[str, Parameter]] = {
        "E": Parameter("log", Prior("LogNormal", {"mu": 0.5, "sigma": 0.5}), "irreducible loss"),
        "a_ref": Parameter("log", Prior("LogNormal", {"mu": -1.0, "sigma": 1.0}), "model-size term A/N0^alpha at the reference size N0"),
        "b_ref": Parameter("log", Prior("LogNormal", {"mu": -1.0, "sigma": 1.0}), "data term B/D0^beta at the reference tokens D0"),
        "alpha": Parameter("log", Prior("LogNormal", {"mu": -1.2, "sigma": 0.5}), "model-size exponent"),
        "beta": Parameter("log", Prior("LogNormal", {"mu": -1.2, "sigma": 0.5}), "data exponent"),
    }

    def mean(self, x: Mapping[str, Array], p: Mapping[str, Array], refs: Mapping[str, float], xp: Any) -> Array:
        size_term = p["a_ref"] * xp.exp(-p["alpha"] * xp.log(x["N"] / refs["N"]))
        data_term = p["b_ref"] * xp.exp(-p["beta"] * xp.log(x["D"] / refs["D"]))
        return p["E"] + size_term + data_term

    def loss_derivatives_along_compute(
        self, p: Mapping[str, Array], refs: Mapping[str, float], log_n: Array, log_half_compute: Array, xp: Any
    ) -> tuple[Array, Array]:
        """Along C = 6ND both terms are exponentials in u = log N: d/du = beta * data - alpha * size."""
        size = p["a_ref"] * xp.exp(p["alpha"] * (math.log(refs["N"]) - log_n))
        data = p["b_ref"] * xp.exp(p["beta"] * (log_n - (log_half_compute - math.log(refs["D"]))))
        alpha_size, beta_data = p["alpha"] * size, p["beta"] * data
        return beta_data - alpha_size, p["beta"] * beta_data + p["alpha"] * alpha_size

    def derived(self, p: Mapping[str, Array], refs: Mapping[str, float], xp: Any) -> dict[str, Array]:
        # math.log, not xp.log: pytensor turns a float32-exact Python float into a float32 constant.
        alpha, beta = p["alpha"], p["beta"]
        return {
            "A": p["a_ref"] * xp.exp(alpha * math.log(refs["N"])),
            "B": p["b_ref"] * xp.exp(beta * math.log(refs["D"])),
            "a": beta / (alpha + beta),
            "b": alpha / (alpha + beta),
        }

    def from_raw(self, raw: Mapping[str, Array], refs: Mapping[str, float], xp: Any) -> dict[str, Array]:
        """Accept ``A``/``B`` (raw amplitudes) in place of ``a_ref``/``b_ref``."""
        out = dict(raw)
        if "A" in out:
            out["a_ref"] = out.pop("A") * xp.exp(-out["alpha"] * math.log(refs["N"]))
        if "B" in out:
            out["b_ref"] = out.pop("B") * xp.exp(-out["beta"] * math.log(refs["D"]))
        return out

    def compute_optimal(self, p: Mapping[str, Array], budget: Array, refs: Mapping[str, float], xp: Any) -> dict[str, Array]:
        """N*(C) = G (C/6)^a, G = (alpha A / (beta B))^(1/(alpha+beta)), a = beta/(alpha+beta)."""
        derived = self.derived(p, refs, xp)
        alpha, beta = p["alpha"], p["beta"]
        log_g = (xp.log(alpha * derived["A"]) - xp.log(beta * derived["B"])) / (alpha + beta)
        log_n = log_g + derived["a"] * xp.log(budget / FLOPS_PER_PARAM_TOKEN)
        n_opt = xp.exp(log_n)
        d_opt = budget / (FLOPS_PER_PARAM_TOKEN * n_opt)
        return {"N_opt": n_opt, "D_opt": d_opt}
