"""The plain-text report of a fit: model, data, convergence and PPC banners, notes and the parameter table.

The report sits above the questions it quotes (the posterior predictive coverage
of :mod:`bayeslaw.ppc`), so :class:`bayeslaw.fit.Fit` does not import them::

    import bayeslaw as bl
    print(bl.report(fit))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bayeslaw import results
from bayeslaw.constants import CREDIBLE_INTERVAL, PPC_INTERVAL
from bayeslaw.ppc import CoverageCheck, ppc_coverage

if TYPE_CHECKING:
    from bayeslaw.fit import Fit


def coverage_check(fit: Fit, prob: float = PPC_INTERVAL, by: str | None = "skill") -> CoverageCheck | None:
    """The fit's posterior predictive coverage per ``by`` group, or ``None`` when it holds no predictive draws."""
    if not results.has_group(fit.idata, "posterior_predictive"):
        return None
    return ppc_coverage(fit, prob, by)


def report(fit: Fit, prob: float = CREDIBLE_INTERVAL) -> str:
    """Plain-text report: model, data, diagnostics and PPC banners, notes and the parameter table."""
    summary = fit.summary(prob)
    check = coverage_check(fit)
    lines = [
        f"bayeslaw fit: model {fit.spec.name!r} (law {fit.spec.law}, {fit.family.description})",
        f"data: {fit.data!r}",
        fit.diagnostics.banner(),
        *([check.banner()] if check is not None else []),
        *[f"note: {n}" for n in (*fit.data.notes, *fit.notes)],
        f"{prob:.0%} credible intervals (equal-tailed):",
        summary.to_string(float_format=lambda v: f"{v:.4g}"),
    ]
    return "\n".join(lines)


__all__ = ["coverage_check", "report"]
