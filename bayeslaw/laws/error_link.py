"""Loss-to-downstream-error link (Gadre et al. 2024): Err(L) = eps - k exp(-gamma L).

Top-1 error averaged over downstream tasks falls from ``eps`` (chance-level
error, reached as the loss grows) as the loss ``L`` drops. The law is fitted on
(loss, error) pairs: input ``loss``, target ``error``. Error is a fraction in
(0, 1), so the default likelihood is ``beta`` (mean given by the law, precision
``phi``); ``eps`` has a logit link so it stays inside (0, 1).

Sampled with the loss centred at the data's geometric mean ``L0``::

    Err = eps - k_ref exp(-gamma (L - L0)),   k_ref = k exp(-gamma L0),

so ``eps - k_ref`` is the error at ``L0`` and ``k_ref`` does not swing with
``gamma``. The paper's ``k`` is derived. The law is only a valid mean where it
lies in (0, 1): far below the fitted losses it can fall under 0. Chained
forecasts (:mod:`bayeslaw.downstream`) check this per draw and say so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from bayeslaw.laws.base import Array, Law, Parameter
from bayeslaw.priors import Prior


class ErrorLink(Law):
    """Err(L) = eps - k exp(-gamma L)."""

    lookup_name = "error_link"
    raw_form = ("k",)
    inputs = ("loss",)
    target = "error"
    centred_inputs = ("loss",)
    default_family = "beta"
    formula = "Err(L) = eps - k exp(-gamma L)"
    parameters: ClassVar[dict[str, Parameter]] = {
        "eps": Parameter("logit", Prior("LogitNormal", {"mu": 1.0, "sigma": 1.0}), "error as the loss grows (chance level)"),
        "k_ref": Parameter(
            "log", Prior("LogNormal", {"mu": -1.5, "sigma": 1.0}), "drop below eps at the reference loss L0 (k e^(-gamma L0))"
        ),
        "gamma": Parameter("log", Prior("LogNormal", {"mu": 0.0, "sigma": 1.0}), "rate at which error falls with loss"),
    }

    def mean(self, x: Mapping[str, Array], p: Mapping[str, Array], refs: Mapping[str, float], xp: Any) -> Array:
        return p["eps"] - p["k_ref"] * xp.exp(-p["gamma"] * (x["loss"] - refs["loss"]))

    def derived(self, p: Mapping[str, Array], refs: Mapping[str, float], xp: Any) -> dict[str, Array]:
        """The paper's ``k``."""
        return {"k": p["k_ref"] * xp.exp(p["gamma"] * refs["loss"])}

    def from_raw(self, raw: Mapping[str, Array], refs: Mapping[str, float], xp: Any) -> dict[str, Array]:
        """Accept the paper's ``k`` in place of ``k_ref``."""
        out = dict(raw)
        if "k" in out:
            out["k_ref"] = out.pop("k") * xp.exp(-out["gamma"] * refs["loss"])
        return out
