"""Data-constrained scaling law with repeated data (Muennighoff et al. 2023).

Training for several epochs on ``U`` unique tokens is worth less than ``D``
fresh tokens. Repetitions decay exponentially in value::

    R_D = D / U - 1                                 (repeated epochs)
    D'  = U + U R_D* (1 - exp(-R_D / R_D*))         (effective data)
    U_N = min(N, U / TOKENS_PER_PARAM_OPT)          (parameters the unique data can use)
    R_N = N / U_N - 1
    N'  = U_N + U_N R_N* (1 - exp(-R_N / R_N*))     (effective parameters)
    L   = E + A / N'^alpha + B / D'^beta

With one epoch (``U = D``) and ``N <= U / 20``, ``D' = D`` and ``N' = N``: this is
Chinchilla. ``R_D*`` is the number of repeated epochs after which added epochs
have lost ``1 - 1/e`` of their value (Muennighoff et al. fit 15.4); ``R_N*`` the
same for parameters beyond what the unique data support (5.3). ``U_N`` uses the
compute-optimal ratio of 20 tokens per parameter (Hoffmann et al. 2022) as the
paper does through its Chinchilla fit; it is fixed, not fitted.

The unique-token count is the input ``U`` (column ``unique_tokens``); data without
repetition should use ``chinchilla``. Reach for this law when runs repeat their
data (several epochs), so that forecasts of larger runs on the same corpus
account for the diminishing value of repeats.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from bayeslaw.laws.base import Array, Law, Parameter
from bayeslaw.priors import Prior
from bayeslaw.variables import Variable, register_variable

register_variable(Variable("U", "unique training tokens (D / U = epochs)", "positive", ("unique_tokens", "U_tokens", "n_unique_tokens")))

#: Compute-optimal tokens per parameter used to size the parameters the unique data can use.
TOKENS_PER_PARAM_OPT: float = 20.0


def effective(unique: Array, total: Array, r_star: Array, xp: Any) -> Array:
    """``U + U R* (1 - exp(-(total/U - 1) / R*))``: the worth of ``total`` with ``unique`` fresh units."""
    repeats = total / unique - 1.0
    return unique + unique * r_star * (1.0 - xp.exp(-repeats / r_star))


class DataConstrained(Law):
    """L = E + A / N'^alpha + B / D'^beta with effective data D' and parameters N' (Muennighoff et al. 2023)."""

    lookup_name = "data_constrained"
    inputs = ("N", "D", "U")
    target = "loss"
    centred_inputs = ("N", "D")
    raw_form = ("A", "B")
    formula = "L = E + A / N'^alpha + B / D'^beta, D' = U + U R_D* (1 - exp(-(D/U - 1)/R_D*)), N' likewise"
    parameters: ClassVar[dict[str, Parameter]] = {
        "E": Parameter("log", Prior("LogNormal", {"mu": 0.5, "sigma": 0.5}), "irreducible loss"),
        "a_ref": Parameter("log", Prior("LogNormal", {"mu": -1.0, "sigma": 1.0}), "model-size term at the reference size N0"),
        "b_ref": Parameter("log", Prior("LogNormal", {"mu": -1.0, "sigma": 1.0}), "data term at the reference tokens D0"),
        "alpha": Parameter("log", Prior("LogNormal", {"mu": -1.2, "sigma": 0.5}), "model-size exponent"),
        "beta": Parameter("log", Prior("LogNormal", {"mu": -1.2, "sigma": 0.5}), "data exponent"),
        # Centred on the paper's fits (15.4 and 5.3), a factor of about 2.3 either way at 90%.
        "R_D_star": Parameter("log", Prior("LogNormal", {"mu": math.log(15.4), "sigma": 0.5}), "decay constant of repeated epochs"),
        "R_N_star": Parameter("log", Prior("LogNormal", {"mu": math.log(5.3), "sigma": 0.5}), "decay constant of excess parameters"),
    }

    def mean(self, x: Mapping[str, Array], p: Mapping[str, Array], refs: Mapping[str, float], xp: Any) -> Array:
        d_eff = effective(x["U"], x["D"], p["R_D_star"], xp)
        n_unique = xp.minimum(x["N"], x["U"] / TOKENS_PER_PARAM_OPT)
        n_eff = effective(n_unique, x["N"], p["R_N_star"], xp)
        size_term = p["a_ref"] * xp.exp(-p["alpha"] * xp.log(n_eff / refs["N"]))
        data_term = p["b_ref"] * xp.exp(-p["beta"] * xp.log(d_eff / refs["D"]))
        return p["E"] + size_term + data_term

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
