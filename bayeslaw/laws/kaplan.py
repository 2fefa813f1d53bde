"""Kaplan et al. (2020) law: L(N, D) = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D.

The paper's form has huge, strongly correlated constants (``N_c ~ 1e13``), so
the sampler works with the loss at the data's reference scales instead::

    L = L_ref * [f (N/N0)^(-alpha_N/alpha_D) + (1 - f) (D/D0)^(-1)]^alpha_D

where ``N0``, ``D0`` are the data's geometric means, ``L_ref`` is the loss at
(N0, D0) and ``f`` the share of the model-size term inside the bracket there.
The paper's constants follow in closed form (see :meth:`Kaplan.derived`):
``N_c = N0 (f L_ref^(1/alpha_D))^(alpha_D/alpha_N)`` and
``D_c = D0 (1 - f) L_ref^(1/alpha_D)``. The law has no irreducible term and no
closed-form compute optimum; :mod:`bayeslaw.optimum` finds it numerically (the
bracket is a sum of exponentials in log N along C = 6ND, so the loss is
unimodal there).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from bayeslaw.laws.base import Array, Law, Parameter
from bayeslaw.priors import Prior


class Kaplan(Law):
    """L(N, D) = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D."""

    lookup_name = "kaplan"
    raw_form = ("N_c", "D_c")
    inputs = ("N", "D")
    target = "loss"
    centred_inputs = ("N", "D")
    formula = "L(N, D) = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D"
    parameters: ClassVar[dict[str, Parameter]] = {
        "L_ref": Parameter("log", Prior("LogNormal", {"mu": 1.0, "sigma": 0.5}), "loss at the reference scales (N0, D0)"),
        "f": Parameter("logit", Prior("LogitNormal", {"mu": 0.0, "sigma": 1.5}), "share of the model-size term in the bracket at (N0, D0)"),
        "alpha_N": Parameter("log", Prior("LogNormal", {"mu": -2.3, "sigma": 0.7}), "model-size exponent (Kaplan: 0.076)"),
        "alpha_D": Parameter("log", Prior("LogNormal", {"mu": -2.2, "sigma": 0.7}), "data exponent (Kaplan: 0.103)"),
    }

    def mean(self, x: Mapping[str, Array], p: Mapping[str, Array], refs: Mapping[str, float], xp: Any) -> Array:
        ratio = p["alpha_N"] / p["alpha_D"]
        size_term = p["f"] * xp.exp(-ratio * xp.log(x["N"] / refs["N"]))
        data_term = (1.0 - p["f"]) * refs["D"] / x["D"]
        return p["L_ref"] * xp.exp(p["alpha_D"] * xp.log(size_term + data_term))

    def derived(self, p: Mapping[str, Array], refs: Mapping[str, float], xp: Any) -> dict[str, Array]:
        """The paper's constants ``N_c`` and ``D_c``."""
        log_bracket = xp.log(p["L_ref"]) / p["alpha_D"]
        log_pn = xp.log(p["f"]) + log_bracket
        log_pd = xp.log1p(-p["f"]) + log_bracket
        return {
            "N_c": xp.exp(xp.log(refs["N"]) + p["alpha_D"] / p["alpha_N"] * log_pn),
            "D_c": xp.exp(xp.log(refs["D"]) + log_pd),
        }

    def from_raw(self, raw: Mapping[str, Array], refs: Mapping[str, float], xp: Any) -> dict[str, Array]:
        """Accept the paper's ``N_c``, ``D_c``, ``alpha_N``, ``alpha_D`` in place of ``L_ref`` and ``f``."""
        out = dict(raw)
        if "N_c" in out or "D_c" in out:
            if not ("N_c" in out and "D_c" in out):
                raise ValueError("give both N_c and D_c (or neither)")
            pn = xp.exp(out["alpha_N"] / out["alpha_D"] * xp.log(out.pop("N_c") / refs["N"]))
            pd_ = out.pop("D_c") / refs["D"]
            out["L_ref"] = xp.exp(out["alpha_D"] * xp.log(pn + pd_))
            out["f"] = pn / (pn + pd_)
        return out
