"""Machine-translation transfer laws (Isik et al. 2024), against pretraining tokens ``Dp``.

After fine-tuning a pretrained model on a translation task, the downstream
cross-entropy and BLEU follow the size of the pretraining set ``Dp``:

* :class:`MTCrossEntropy`: ``L(Dp) = E + A / Dp^alpha`` (target ``loss``),
  sampled as ``E + a_ref (Dp/Dp0)^-alpha`` with ``Dp0`` the data's geometric mean.
* :class:`MTBleu`: the log-law ``f(Dp) = (log(A Dp^alpha))^beta`` (target ``bleu``),
  sampled as ``(bleu_ref^(1/beta) + alpha log(Dp/Dp0))^beta``, where ``bleu_ref`` is
  the BLEU at ``Dp0``; ``A`` is derived. It is defined where ``A Dp^alpha > 1``
  (below that its mean is NaN, which a forecast table shows as NaN).

Isik et al. fit each (pretraining data, fine-tuning task) pair separately; the
shipped specs pool the parameters partially over a ``pair`` axis instead. No
data from the paper ships with bayeslaw: these laws are tested on synthetic
data only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from bayeslaw.laws.base import Array, Law, Parameter
from bayeslaw.priors import Prior


class MTCrossEntropy(Law):
    """Downstream cross-entropy after fine-tuning: L(Dp) = E + A / Dp^alpha."""

    lookup_name = "mt_crossentropy"
    raw_form = ("A",)
    inputs = ("Dp",)
    target = "loss"
    centred_inputs = ("Dp",)
    formula = "L(Dp) = E + A / Dp^alpha"
    parameters: ClassVar[dict[str, Parameter]] = {
        "E": Parameter("log", Prior("LogNormal", {"mu": 0.0, "sigma": 0.7}), "downstream cross-entropy with unlimited pretraining"),
        "a_ref": Parameter("log", Prior("LogNormal", {"mu": -1.5, "sigma": 1.0}), "reducible term A/Dp0^alpha at the reference Dp0"),
        "alpha": Parameter("log", Prior("LogNormal", {"mu": -1.2, "sigma": 0.7}), "pretraining-data exponent"),
    }

    def mean(self, x: Mapping[str, Array], p: Mapping[str, Array], refs: Mapping[str, float], xp: Any) -> Array:
        return p["E"] + p["a_ref"] * xp.exp(-p["alpha"] * xp.log(x["Dp"] / refs["Dp"]))

    def derived(self, p: Mapping[str, Array], refs: Mapping[str, float], xp: Any) -> dict[str, Array]:
        """The raw amplitude ``A``."""
        return {"A": p["a_ref"] * xp.exp(p["alpha"] * xp.log(refs["Dp"]))}

    def from_raw(self, raw: Mapping[str, Array], refs: Mapping[str, float], xp: Any) -> dict[str, Array]:
        """Accept ``A`` in place of ``a_ref``."""
        out = dict(raw)
        if "A" in out:
            out["a_ref"] = out.pop("A") * xp.exp(-out["alpha"] * xp.log(refs["Dp"]))
        return out


class MTBleu(Law):
    """BLEU log-law after fine-tuning: f(Dp) = (log(A Dp^alpha))^beta."""

    lookup_name = "mt_bleu"
    raw_form = ("A",)
    inputs = ("Dp",)
    target = "bleu"
    centred_inputs = ("Dp",)
    formula = "f(Dp) = (log(A Dp^alpha))^beta"
    parameters: ClassVar[dict[str, Parameter]] = {
        "bleu_ref": Parameter("log", Prior("LogNormal", {"mu": 3.0, "sigma": 0.8}), "BLEU at the reference pretraining size Dp0"),
        "alpha": Parameter("log", Prior("LogNormal", {"mu": -2.0, "sigma": 1.0}), "growth of log(A Dp^alpha) per unit log Dp"),
        "beta": Parameter("log", Prior("LogNormal", {"mu": 0.7, "sigma": 0.7}), "power applied to the logarithm"),
    }

    def mean(self, x: Mapping[str, Array], p: Mapping[str, Array], refs: Mapping[str, float], xp: Any) -> Array:
        inner = xp.exp(xp.log(p["bleu_ref"]) / p["beta"]) + p["alpha"] * xp.log(x["Dp"] / refs["Dp"])
        return xp.exp(p["beta"] * xp.log(inner))

    def derived(self, p: Mapping[str, Array], refs: Mapping[str, float], xp: Any) -> dict[str, Array]:
        """The paper's ``A`` (via ``log A = bleu_ref^(1/beta) - alpha log Dp0``)."""
        log_a = xp.exp(xp.log(p["bleu_ref"]) / p["beta"]) - p["alpha"] * xp.log(refs["Dp"])
        return {"A": xp.exp(log_a)}

    def from_raw(self, raw: Mapping[str, Array], refs: Mapping[str, float], xp: Any) -> dict[str, Array]:
        """Accept the paper's ``A`` in place of ``bleu_ref``."""
        out = dict(raw)
        if "A" in out:
            inner = xp.log(out.pop("A")) + out["alpha"] * xp.log(refs["Dp"])
            out["bleu_ref"] = xp.exp(out["beta"] * xp.log(inner))
        return out
