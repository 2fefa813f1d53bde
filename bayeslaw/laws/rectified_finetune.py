"""Rectified fine-tuning law (Lin et al. 2024): L(D) = B / (D_l + D^beta) + E.

``D`` is the number of fine-tuning examples and ``D_l`` the "pre-learned data
size" (in units of ``D^beta``): while ``D^beta`` is small against ``D_l`` the
curve is flat (the pre-power phase), afterwards it follows the power law
``B D^-beta + E``. At ``D = 0`` the law gives the zero-shot loss ``B / D_l + E``.

Sampled form
------------
With ``u = D / D0`` (``D0`` the geometric mean of the positive ``examples`` in
the data) the law is rewritten exactly as::

    L(D) = L_ref (1 - q) + L_ref q / (1 - h + h u^beta),   h = s / (s + q beta)

``L_ref`` is the loss at ``D0`` (well identified by any curve), ``q`` the share
of ``L_ref`` that further fine-tuning can remove (``E = L_ref (1 - q)``, logit
scale) and ``h = D0^beta / (D_l + D0^beta)`` how far the curve is into its power
phase at ``D0``. Instead of ``h`` the sampler sees ``s = q beta h / (1 - h)``,
the pre-power slope: the relative log-slope ``-dlnL/dlnD`` at ``D0`` is
``1 / (1/s + 1/(q beta))``, so ``s`` is the slope while the curve is still flat
and ``q beta`` the slope once it follows its power law. The data fix that slope
well and the split between ``q``, ``h`` and ``beta`` poorly; in ``(q, h, beta)``
this leaves a curved ridge per model that NUTS mixes slowly on, in
``(q, s, beta)`` it is nearly axis-aligned (about 3x the effective sample size
on the 30 WMT19 curves at a 1/512 budget). The paper's ``E``, ``B`` and ``D_l``
are derived (:meth:`RectifiedFinetune.derived`) and accepted by
:meth:`RectifiedFinetune.from_raw`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from bayeslaw.laws.base import Array, Law, Parameter
from bayeslaw.priors import Prior


def _power(u: Array, beta: Array, xp: Any) -> Array:
    """``u ** beta`` for data ``u >= 0``: exactly 0 at ``u = 0``, with finite gradients in ``beta``."""
    positive = u > 0
    safe = u + (u <= 0)  # 1 where u == 0, so the log is finite; that term is then multiplied by 0
    return xp.exp(beta * xp.log(safe)) * positive


class RectifiedFinetune(Law):
    """L(D) = B / (D_l + D^beta) + E over fine-tuning examples D (see the module docstring)."""

    lookup_name = "rectified_finetune"
    raw_form = ("E", "B", "D_l")
    inputs = ("examples",)
    target = "loss"
    centred_inputs = ("examples",)
    formula = "L(D) = B / (D_l + D^beta) + E  [sampled as L_ref (1 - q) + L_ref q / (1 - h + h (D/D0)^beta), h = s / (s + q beta)]"
    parameters: ClassVar[dict[str, Parameter]] = {
        "L_ref": Parameter("log", Prior("LogNormal", {"mu": 0.7, "sigma": 0.7}), "loss after D0 fine-tuning examples (reference size)"),
        "q": Parameter("logit", Prior("LogitNormal", {"mu": 0.0, "sigma": 1.5}), "reducible share of L_ref: E = L_ref (1 - q)"),
        "s": Parameter(
            "log", Prior("LogNormal", {"mu": -2.0, "sigma": 2.0}), "pre-power slope q beta h / (1 - h), h = D0^beta / (D_l + D0^beta)"
        ),
        "beta": Parameter("log", Prior("LogNormal", {"mu": -1.0, "sigma": 0.6}), "fine-tuning data exponent"),
    }

    def mean(self, x: Mapping[str, Array], p: Mapping[str, Array], refs: Mapping[str, float], xp: Any) -> Array:
        power = _power(x["examples"] / refs["examples"], p["beta"], xp)
        level, q = p["L_ref"], p["q"]
        h = p["s"] / (p["s"] + q * p["beta"])
        return level * (1.0 - q) + level * q / (1.0 - h + h * power)

    def derived(self, p: Mapping[str, Array], refs: Mapping[str, float], xp: Any) -> dict[str, Array]:
        """The paper's ``E``, ``B``, ``D_l``; ``h``; the zero-shot loss; the transition size ``D_l^(1/beta)`` in examples."""
        level, q, beta = p["L_ref"], p["q"], p["beta"]
        h = p["s"] / (p["s"] + q * beta)
        scale = xp.exp(beta * xp.log(refs["examples"]))  # D0^beta
        d_l = (1.0 - h) / h * scale
        return {
            "E": level * (1.0 - q),
            "B": level * q / h * scale,
            "D_l": d_l,
            "h": h,
            "zero_shot": level * (1.0 - q) + level * q / (1.0 - h),
            "D_transition": xp.exp(xp.log(d_l) / beta),
        }

    def from_raw(self, raw: Mapping[str, Array], refs: Mapping[str, float], xp: Any) -> dict[str, Array]:
        """Accept the paper's ``E``, ``B``, ``D_l`` (with ``beta``) in place of ``L_ref``, ``q``, ``s``."""
        out = dict(raw)
        if {"E", "B", "D_l"} <= set(out):
            scale = xp.exp(out["beta"] * xp.log(refs["examples"]))  # D0^beta
            e, b, d = out.pop("E"), out.pop("B") / scale, out.pop("D_l") / scale
            h = 1.0 / (1.0 + d)
            reducible = b * h
            out["L_ref"] = e + reducible
            out["q"] = reducible / (e + reducible)
            out["s"] = out["q"] * out["beta"] * h / (1.0 - h)
        elif {"E", "B", "D_l"} & set(out):
            raise ValueError(f"give all of E, B and D_l (paper form) or none; got {sorted(out)}")
        return out
