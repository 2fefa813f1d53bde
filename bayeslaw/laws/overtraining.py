"""Over-training law (Gadre et al. 2024): L(C, M) = E + (a M^eta + b M^-eta) C^-eta.

With compute ``C = 6 N D`` and tokens per parameter ``M = D / N`` the law is
exactly Chinchilla's with one shared exponent::

    L = E + A / N^(2 eta) + B / D^(2 eta),   A = a 6^-eta,  B = b 6^-eta,

so it is implemented over (N, D): compute-optimal allocation has Chinchilla's
closed form with ``alpha = beta = 2 eta`` (N* proportional to C^0.5), and skill
mixes and forecasts at any (N, D) work unchanged. Sampled like
:mod:`~bayeslaw.laws.chinchilla` as ``E + a_ref (N/N0)^(-2 eta) + b_ref (D/D0)^(-2 eta)``
with ``N0``, ``D0`` the data's geometric means.

:meth:`Overtraining.derived` reports the paper's coefficients ``a_M`` and ``b_M``
(the ``a`` and ``b`` that multiply ``M^eta`` and ``M^-eta``) and the Chinchilla
form ``A``, ``B`` and ``alpha`` (= ``beta`` = 2 eta); :meth:`Overtraining.from_raw`
accepts either form, so the law doubles as "Chinchilla with alpha = beta".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from bayeslaw.constants import FLOPS_PER_PARAM_TOKEN
from bayeslaw.laws.base import Array, Law, Parameter
from bayeslaw.priors import Prior


class Overtraining(Law):
    """L(C, M) = E + (a M^eta + b M^-eta) C^-eta, i.e. E + A/N^(2 eta) + B/D^(2 eta)."""

    lookup_name = "overtraining"
    raw_form = ("a_M", "b_M")
    inputs = ("N", "D")
    target = "loss"
    centred_inputs = ("N", "D")
    formula = "L(C, M) = E + (a M^eta + b M^-eta) C^-eta, C = 6ND, M = D/N  (= E + A/N^(2eta) + B/D^(2eta))"
    parameters: ClassVar[dict[str, Parameter]] = {
        "E": Parameter("log", Prior("LogNormal", {"mu": 0.5, "sigma": 0.5}), "irreducible loss"),
        "a_ref": Parameter("log", Prior("LogNormal", {"mu": -1.0, "sigma": 1.0}), "model-size term A/N0^(2 eta) at the reference size N0"),
        "b_ref": Parameter("log", Prior("LogNormal", {"mu": -1.0, "sigma": 1.0}), "data term B/D0^(2 eta) at the reference tokens D0"),
        "eta": Parameter("log", Prior("LogNormal", {"mu": -1.9, "sigma": 0.5}), "compute exponent (half the shared N and D exponent)"),
    }

    def mean(self, x: Mapping[str, Array], p: Mapping[str, Array], refs: Mapping[str, float], xp: Any) -> Array:
        exponent = 2.0 * p["eta"]
        size_term = p["a_ref"] * xp.exp(-exponent * xp.log(x["N"] / refs["N"]))
        data_term = p["b_ref"] * xp.exp(-exponent * xp.log(x["D"] / refs["D"]))
        return p["E"] + size_term + data_term

    def derived(self, p: Mapping[str, Array], refs: Mapping[str, float], xp: Any) -> dict[str, Array]:
        """Paper form (``a_M``, ``b_M``) and Chinchilla form (``A``, ``B``, ``alpha`` = ``beta`` = 2 eta)."""
        eta = p["eta"]
        log_a = xp.log(p["a_ref"]) + 2.0 * eta * xp.log(refs["N"])
        log_b = xp.log(p["b_ref"]) + 2.0 * eta * xp.log(refs["D"])
        log6 = xp.log(FLOPS_PER_PARAM_TOKEN)
        return {
            "A": xp.exp(log_a),
            "B": xp.exp(log_b),
            "alpha": 2.0 * eta,
            "a_M": xp.exp(log_a + eta * log6),
            "b_M": xp.exp(log_b + eta * log6),
        }

    def from_raw(self, raw: Mapping[str, Array], refs: Mapping[str, float], xp: Any) -> dict[str, Array]:
        """Accept the paper's ``a_M``, ``b_M`` or Chinchilla's ``A``, ``B``; ``eta`` or ``alpha`` (= 2 eta)."""
        out = dict(raw)
        if "alpha" in out:
            if "eta" in out:
                raise ValueError("give eta or alpha (= 2 eta), not both")
            out["eta"] = out.pop("alpha") / 2.0
        eta = out["eta"]
        log6 = xp.log(FLOPS_PER_PARAM_TOKEN)
        for paper, chin, ref_name, axis in (("a_M", "A", "a_ref", "N"), ("b_M", "B", "b_ref", "D")):
            if paper in out and chin in out:
                raise ValueError(f"give {paper} (paper form) or {chin} (Chinchilla form), not both")
            if paper in out:
                out[chin] = out.pop(paper) * xp.exp(-eta * log6)
            if chin in out:
                out[ref_name] = out.pop(chin) * xp.exp(-2.0 * eta * xp.log(refs[axis]))
        return out

    def compute_optimal(self, p: Mapping[str, Array], budget: Array, refs: Mapping[str, float], xp: Any) -> dict[str, Array]:
        """Chinchilla's closed form with alpha = beta: N* = (A/B)^(1/(4 eta)) (C/6)^(1/2)."""
        derived = self.derived(p, refs, xp)
        log_g = (xp.log(derived["A"]) - xp.log(derived["B"])) / (4.0 * p["eta"])
        n_opt = xp.exp(log_g + 0.5 * xp.log(budget / FLOPS_PER_PARAM_TOKEN))
        return {"N_opt": n_opt, "D_opt": budget / (FLOPS_PER_PARAM_TOKEN * n_opt)}
