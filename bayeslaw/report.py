"""The report of a fit: one self-contained HTML (or markdown) page a researcher can hand on.

``bl.report(fit, budgets=[1e23, 1e24], predict=[(7e10, 1.4e12)])`` returns a
:class:`Report`. Printed (``str(report)``), it is the plain-text summary (model,
data, convergence and PPC banners, notes, parameter table); ``report.to_html()``
is a page with images embedded as base64 PNG (no network access needed to view
it), ``report.to_markdown()`` the same in markdown, and a notebook renders it
directly. Its sections:

1. **What was fitted**: the data (rows, ranges, groups, filters), the law, the
   likelihood and the priors.
2. **How far to trust it**: the convergence banner, the trust signals of
   :mod:`bayeslaw.trust` (CAUTION / WARNING lines: heavy tails, large noise, runs
   below the fitted floor, runs under one token per parameter), the PSIS-LOO
   Pareto k check, the prior predictive check, and the posterior predictive
   coverage with a PPC plot per group.
3. **Results**: the parameter table, priors against posteriors, the fitted
   curves, the compute-optimal allocation and its fan chart at the user's
   budgets, and forecasts at the user's points; budgets and points far beyond
   the training compute carry the extrapolation signal beside their table.
4. **Reproducibility**: versions, seed, sampler settings, hashes of the spec and the data.

The report sits above the questions it quotes, so :class:`bayeslaw.fit.Fit` does
not import it.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import logging
import platform
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bayeslaw import results
from bayeslaw.constants import CREDIBLE_INTERVAL, OBSERVED, PARETO_K_MAX, PPC_INTERVAL
from bayeslaw.diagnostics import ConvergenceWarning
from bayeslaw.ppc import CoverageCheck, ppc_coverage
from bayeslaw.result_contract import ALARM_WORDS, CAUTION_WORDS, banner_html, markdown_table
from bayeslaw.trust import (
    EXTRAPOLATION_MAX,
    NOISE_GROUPS_P,
    NU_MIN,
    SIGMA_MAX,
    TOKENS_PER_PARAM_MIN,
    fit_signals,
    forecast_signals,
)
from bayeslaw.version import __version__

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bayeslaw.fit import Fit

#: Packages whose versions the reproducibility footer lists.
VERSIONED = ("pymc", "pytensor", "arviz", "numpy", "xarray", "nutpie", "matplotlib")
#: Prior draws of the report's prior predictive check and prior-vs-posterior plot.
REPORT_PRIOR_DRAWS = 400
#: Most groups a report's PPC figure draws in one figure.
PPC_ROWS_PER_FIGURE = 8
#: Most group combinations the optimum and forecast tables list.
MAX_TABLE_GROUPS = 12
#: Resolution of embedded figures.
DPI = 100


#: PyMC's logger of forward sampling (``pm.sample_prior_predictive`` logs "Sampling: [...]" at INFO).
PYMC_FORWARD_LOGGER = "pymc.sampling.forward"


@contextmanager
def quiet_logger(name: str, level: int = logging.WARNING) -> Iterator[None]:
    """Raise logger ``name`` to ``level`` inside the block only (its INFO lines are dropped there), then restore it."""
    logger = logging.getLogger(name)
    before = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(before)


def coverage_check(fit: Fit, prob: float = PPC_INTERVAL, by: str | None = "skill") -> CoverageCheck | None:
    """The fit's posterior predictive coverage per ``by`` group, or ``None`` when it holds no predictive draws."""
    if not results.has_group(fit.idata, "posterior_predictive"):
        return None
    return ppc_coverage(fit, prob, by)


def trust_lines(fit: Fit) -> list[str]:
    """The fit's CAUTION / WARNING lines (:func:`bayeslaw.trust.fit_signals`) less the convergence line, which the banner gives."""
    return [line for line in fit_signals(fit) if "NOT CONVERGED" not in line]


#: What the trust checks look at, said when none of them flags the fit.
TRUST_CLEAR = (
    f"Trust checks (those that apply to this fit) flag nothing: Student-t nu < {NU_MIN:g}, log-scale noise sigma > {SIGMA_MAX:g}, "
    f"residual scatter differing between groups under one noise scale (p < {NOISE_GROUPS_P:g}), "
    f"training runs below the fitted floor E, runs under {TOKENS_PER_PARAM_MIN:g} token per parameter"
)


def text_report(fit: Fit, prob: float = CREDIBLE_INTERVAL) -> str:
    """Plain-text report: model, data, diagnostics, trust and PPC banners, notes and the parameter table."""
    summary = fit.summary(prob)
    check = coverage_check(fit, by=_coverage_axis(fit))
    lines = [
        f"bayeslaw fit: model {fit.spec.name!r} (law {fit.spec.law}, {fit.family.description})",
        f"data: {fit.data!r}",
        fit.diagnostics.banner(),
        *trust_lines(fit),
        *([check.banner()] if check is not None else []),
        *[f"note: {n}" for n in (*fit.data.notes, *fit.notes)],
        f"{prob:.0%} credible intervals (equal-tailed):",
        summary.to_string(float_format=lambda v: f"{v:.4g}"),
    ]
    return "\n".join(lines)


def _coverage_axis(fit: Fit) -> str | None:
    """The axis PPC coverage is reported by: ``skill`` when present, else the data's first group axis."""
    groups = list(fit.data.groups)
    return "skill" if "skill" in groups else (groups[0] if groups else None)


# --------------------------------------------------------------------------- blocks
@dataclass(frozen=True)
class Block:
    """One piece of a section: ``kind`` is ``text``, ``banner``, ``table``, ``figure`` (PNG bytes) or ``html``."""

    kind: str
    content: Any
    caption: str = ""


@dataclass(frozen=True)
class Section:
    """A titled list of blocks."""

    title: str
    blocks: list[Block] = field(default_factory=list)


def figure_png(fig: Figure) -> bytes:
    """PNG bytes of ``fig`` (tight bounding box, so no title is clipped); the figure is closed."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def parse_point(text: str) -> tuple[float, ...]:
    """``"7e10:1.4e12"`` -> ``(7e10, 1.4e12)``; ``"1638400"`` -> ``(1638400.0,)``."""
    try:
        values = tuple(float(part) for part in str(text).split(":"))
    except ValueError:
        raise ValueError(f"a forecast point is N:D (e.g. 7e10:1.4e12) or one number for a one-input law; got {text!r}") from None
    if not all(np.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"forecast point {text!r} must hold finite positive numbers")
    return values


# --------------------------------------------------------------------------- the report
@dataclass(eq=False)
class Report:
    """A fit's report; sections are computed on first use and cached.

    Attributes
    ----------
    fit
        The fit reported on.
    prob
        Interval probability of every table and figure.
    budgets
        FLOP budgets of the optimum table and the fan chart (laws over N and D).
    points
        Forecast points: ``(N, D)`` pairs, or one value per point for a one-input law.
    comparison, extras
        Optional results rendered into the report (a :func:`bayeslaw.compare`
        result, a backtest, any object with ``_repr_html_`` / ``to_markdown``), by title.
    prior_draws
        Draws of the prior predictive check (0 skips it).
    """

    fit: Fit
    prob: float = CREDIBLE_INTERVAL
    budgets: tuple[float, ...] = ()
    points: tuple[tuple[float, ...], ...] = ()
    extras: Mapping[str, Any] = field(default_factory=dict)
    prior_draws: int = REPORT_PRIOR_DRAWS
    notes: list[str] = field(default_factory=list)

    # ------------------------------------------------------------ text form
    @cached_property
    def text(self) -> str:
        """The plain-text report."""
        return text_report(self.fit, self.prob)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text

    def __contains__(self, item: str) -> bool:
        return item in self.text

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other) if isinstance(other, Report | str) else NotImplemented

    __hash__ = None  # type: ignore[assignment]

    # ------------------------------------------------------------ sections
    @cached_property
    def sections(self) -> list[Section]:
        """The report's sections (figures rendered to PNG)."""
        with warnings.catch_warnings():
            # The convergence banner heads the report; the same warning per table and figure adds nothing.
            warnings.simplefilter("ignore", ConvergenceWarning)
            return [self._fitted(), self._trust(), self._results(), *self._extras(), self._footer()]

    def _safe(self, blocks: list[Block], what: str, make: Callable[[], list[Block]]) -> None:
        """Append ``make()``'s blocks, or a note saying why ``what`` is missing (the report never fails on one figure)."""
        try:
            blocks.extend(make())
        except (ValueError, KeyError) as err:
            blocks.append(Block("text", f"{what} not shown: {err}"))

    @property
    def title(self) -> str:
        fit = self.fit
        return f"bayeslaw report: model {fit.spec.name!r} fitted to {fit.data.name!r} ({len(fit.data)} observations)"

    def _fitted(self) -> Section:
        fit, data, law = self.fit, self.fit.data, self.fit.law
        rows = []
        for name in (*data.inputs, data.target):
            values = data.values(name)
            rows.append({"column": name, "role": "target" if name == data.target else "input", "min": values.min(), "max": values.max()})
        ranges = pd.DataFrame(rows).set_index("column")
        ranges["decades"] = np.log10(ranges["max"] / ranges["min"]).round(2)
        blocks = [
            Block("text", f"Data {data.name!r}: {len(data)} observations; target {data.target!r}; inputs {', '.join(data.inputs)}."),
            Block("table", ranges, "Ranges of the data"),
        ]
        if data.groups:
            counts = pd.DataFrame(
                [{"axis": a, "labels": len(data.levels[a]), "observations per label": _count_range(data.frame[a])} for a in data.groups]
            ).set_index("axis")
            blocks.append(Block("table", counts, "Group axes"))
        filters = list(data.notes) or ["none (every validated row is used)"]
        blocks.append(Block("list", filters, "Filters and derived columns"))
        blocks.append(Block("text", f"Law {law.lookup_name!r}: {law.formula}. Likelihood: {fit.family.description}."))
        priors = pd.DataFrame(
            [{"parameter": name, "prior": prior_text(prior)} for name, prior in fit.spec.effective_priors().items()]
        ).set_index("parameter")
        blocks.append(Block("table", priors, "Priors (the law's defaults merged with the spec's overrides)"))
        return Section("What was fitted", blocks)

    def _trust(self) -> Section:
        fit = self.fit
        blocks = [Block("banner", fit.diagnostics.banner())]
        blocks += [Block("banner", line) for line in trust_lines(fit)] or [Block("banner", TRUST_CLEAR)]
        blocks += [Block("list", list(fit.notes), "Notes of the fit")] if fit.notes else []
        self._safe(blocks, "PSIS-LOO check", self._loo_blocks)
        if self.prior_draws:
            self._safe(blocks, "prior predictive check", self._prior_blocks)
        check = coverage_check(fit, by=_coverage_axis(fit))
        if check is None:
            blocks.append(Block("text", "No posterior predictive draws in this fit: PPC coverage not computed."))
            return Section("How far to trust it", blocks)
        blocks.append(Block("banner", check.banner()))
        blocks.append(Block("table", check.table(), f"Share of observations inside their {check.prob:.0%} posterior predictive interval"))
        self._safe(blocks, "PPC plot", lambda: self._ppc_figures(check))
        return Section("How far to trust it", blocks)

    def _loo_blocks(self) -> list[Block]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            elpd = results.loo(self.fit.idata, OBSERVED)
        _, k = results.loo_pointwise(elpd)
        bad = int((k > PARETO_K_MAX).sum())
        verdict = (
            f"PSIS-LOO: every observation has Pareto k <= {PARETO_K_MAX} (max {np.max(k):.2f})"
            if not bad
            else f"WARNING: PSIS-LOO unreliable for {bad} of {len(k)} observations (Pareto k > {PARETO_K_MAX}, max {np.max(k):.2f}): "
            "they are influential; check them for outliers or model misfit"
        )
        return [Block("banner", verdict)]

    @cached_property
    def prior(self) -> Any:
        """The prior predictive draws of the fit's data and model."""
        from bayeslaw.prior_predictive import prior_predictive

        with quiet_logger(PYMC_FORWARD_LOGGER):  # PyMC logs "Sampling: [...]" for every prior draw; the report says what it drew
            return prior_predictive(self.fit.data, self.fit.spec, draws=self.prior_draws, seed=self.fit.seed, prob=self.prob)

    def _prior_blocks(self) -> list[Block]:
        from bayeslaw.plotting.priors import plot_prior_predictive

        prior = self.prior
        line = (
            f"Prior predictive check ({prior.prob:.0%} intervals of {self.prior_draws} prior draws): "
            f"{prior.coverage():.0%} of the observations lie inside; median interval width {prior.decades():.2f} decades."
        )
        return [Block("text", line), Block("figure", figure_png(plot_prior_predictive(prior, fit=self.fit)), "Prior predictive check")]

    def _ppc_figures(self, check: CoverageCheck) -> list[Block]:
        from bayeslaw.plotting.ppc import plot_ppc

        inputs = [k for k in ("N", "D") if k in self.fit.data.inputs] or list(self.fit.law.inputs)[:2]
        levels = list(check.per_group.index)
        by = check.by if check.by != "all" else "skill"
        out = []
        for start in range(0, len(levels), PPC_ROWS_PER_FIGURE):
            chunk = levels[start : start + PPC_ROWS_PER_FIGURE] if check.by != "all" else None
            fig = plot_ppc(self.fit, inputs=inputs, skills=chunk, by=by, prob=check.prob)
            part = (
                f" ({start + 1}-{start + len(chunk)} of {len(levels)})" if chunk is not None and len(levels) > PPC_ROWS_PER_FIGURE else ""
            )
            out.append(Block("figure", figure_png(fig), f"Posterior predictive check by {check.by}{part}"))
        return out

    def _results(self) -> Section:
        fit = self.fit
        summary = fit.summary(self.prob)
        cols = ["kind", "median", "lower", "upper", "r_hat", "ess_bulk", "ess_tail", "flag"]
        blocks = [Block("table", summary[cols], f"Parameters: medians and {self.prob:.0%} equal-tailed credible intervals")]
        if self.prior_draws:
            self._safe(blocks, "prior against posterior", self._prior_posterior_blocks)
        self._safe(blocks, "fitted curves", self._curve_blocks)
        if fit.law.allocates_compute():
            self._safe(blocks, "compute-optimal allocation", self._optimum_blocks)
        if self.points:
            self._safe(blocks, "forecasts", self._forecast_blocks)
        return Section("Results", blocks)

    def _prior_posterior_blocks(self) -> list[Block]:
        from bayeslaw.plotting.priors import plot_prior_posterior

        fig = plot_prior_posterior(self.fit, self.prior, prob=self.prob)
        return [Block("figure", figure_png(fig), "Prior (grey) against posterior of the law's parameters")]

    def _curve_blocks(self) -> list[Block]:
        from bayeslaw.plotting.fits import plot_fit

        return [Block("figure", figure_png(plot_fit(self.fit, prob=self.prob)), "Data with the fitted law")]

    def group_combinations(self) -> list[dict[str, str]]:
        """Group label combinations present in the data (at most :data:`MAX_TABLE_GROUPS`; one empty for ungrouped data)."""
        data = self.fit.data
        if not data.groups:
            return [{}]
        combos = data.frame[list(data.groups)].astype(str).drop_duplicates()
        if len(combos) > MAX_TABLE_GROUPS:
            self.notes.append(f"tables list the first {MAX_TABLE_GROUPS} of {len(combos)} group combinations")
        return [dict(row) for _, row in combos.head(MAX_TABLE_GROUPS).iterrows()]

    @property
    def report_budgets(self) -> tuple[float, ...]:
        """The user's budgets, or (when none were given) the data's largest budget and 10x and 100x it."""
        if self.budgets:
            return tuple(self.budgets)
        if "C" not in self.fit.data.frame:
            return ()
        top = float(self.fit.data.values("C").max())
        return (top, 10 * top, 100 * top)

    def _optimum_blocks(self) -> list[Block]:
        from bayeslaw.plotting.fits import plot_optimum_fan

        budgets = self.report_budgets
        if not budgets:
            return [Block("text", "No budgets given and no compute column in the data: pass budgets= for the optimum.")]
        chosen = "" if self.budgets else " (no budgets given: the data's largest budget and 10x, 100x it)"
        tables = []
        combos = self.group_combinations()
        for labels in combos:
            tables.append(self.fit.compute_optimal(list(budgets), select=labels or None, prob=self.prob).table(self.prob))
        table = pd.concat(tables)
        blocks = [Block("table", table, f"Compute-optimal allocation at {', '.join(f'{b:.3g}' for b in budgets)} FLOPs{chosen}")]
        blocks += [Block("banner", f"Budgets: {line}") for line in forecast_signals(self.fit, {"C": list(budgets)})]
        for labels in combos[:3]:
            fig = plot_optimum_fan(self.fit, select=labels or None, mark_budget=list(budgets), outer=self.prob)
            where = ", ".join(f"{k}={v}" for k, v in labels.items())
            blocks.append(Block("figure", figure_png(fig), "N*(C) fan chart" + (f" ({where})" if where else "")))
        return blocks

    def _forecast_blocks(self) -> list[Block]:
        law = self.fit.law
        n_inputs = len(law.inputs)
        bad = [p for p in self.points if len(p) != n_inputs]
        if bad:
            raise ValueError(f"law {law.lookup_name!r} takes {n_inputs} input(s) {list(law.inputs)} per point; got {bad}")
        inputs = {name: [p[i] for p in self.points] for i, name in enumerate(law.inputs)}
        frames = []
        for labels in self.group_combinations():
            result = self.fit.forecast(prob=self.prob, **inputs, **labels)
            frames.append(result.table(self.prob))
        table = pd.concat(frames)
        caption = f"Forecasts at {len(self.points)} point(s): the law's mean and a new measurement, medians and {self.prob:.0%} intervals"
        blocks = [Block("table", table, caption)]
        factors = self.extrapolation_factors()
        if factors is not None:
            names = ", ".join(self.fit.law.inputs)
            shown = "; ".join(f"({', '.join(f'{v:.3g}' for v in p)}): {f:.3g}x" for p, f in zip(self.points, factors, strict=True))
            blocks.append(Block("text", f"Forecast compute 6ND as a multiple of the largest training compute, at ({names}): {shown}."))
        lines = forecast_signals(self.fit, inputs)
        blocks += [Block("banner", f"Forecasts: {line}") for line in lines]
        if factors is not None and not lines:
            blocks.append(Block("banner", f"Forecasts: every point within {EXTRAPOLATION_MAX:g}x the largest training compute"))
        return blocks

    def extrapolation_factors(self) -> list[float] | None:
        """Each forecast point's compute 6ND over the largest training run's (``None`` for laws not over N and D)."""
        data = self.fit.data
        if set(self.fit.law.inputs) != {"N", "D"} or not {"N", "D"} <= set(data.frame.columns):
            return None
        order = list(self.fit.law.inputs)
        train = float((data.values("N") * data.values("D")).max())
        return [p[order.index("N")] * p[order.index("D")] / train for p in self.points]

    def _extras(self) -> list[Section]:
        out = []
        for title, result in self.extras.items():
            if hasattr(result, "_repr_html_"):
                out.append(Section(title, [Block("html", result._repr_html_(), ""), Block("markdown", result.to_markdown(), "")]))
        return out

    def _footer(self) -> Section:
        fit = self.fit
        versions = {"bayeslaw": __version__, "python": platform.python_version()}
        for name in VERSIONED:
            try:
                versions[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                continue
        try:
            sampler = results.get_json_attr(fit.idata, "sampler")
        except (results.FitFileError, KeyError, ValueError):
            sampler = {}
        rows = {
            "versions": ", ".join(f"{k} {v}" for k, v in versions.items()),
            "seed": str(fit.seed),
            "sampler": ", ".join(f"{k}={v}" for k, v in sampler.items()) or "not recorded",
            "draws": str(results.n_draws(fit.idata)),
            "spec hash (sha256)": hashlib.sha256(fit.spec.to_json().encode()).hexdigest()[:16],
            "data hash (sha256)": hashlib.sha256(fit.data.to_json().encode()).hexdigest()[:16],
        }
        frame = pd.DataFrame({"value": rows})
        blocks = [Block("table", frame, "Reproducibility")] + ([Block("list", list(self.notes), "Report notes")] if self.notes else [])
        return Section("Reproducibility", blocks)

    # ------------------------------------------------------------ renderings
    def to_html(self) -> str:
        """A self-contained HTML page (images embedded as base64 PNG; no external resources)."""
        body = self._html_body()
        return (
            "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(self.title)}</title><style>{CSS}</style></head>"
            f"<body>{body}</body></html>\n"
        )

    def _html_body(self) -> str:
        parts = [f"<h1>{html.escape(self.title)}</h1>", banner_html(self.fit.diagnostics.banner())]
        for section in self.sections:
            slug = section.title.lower().replace(" ", "-")
            parts.append(f"<section id='{slug}'><h2>{html.escape(section.title)}</h2>")
            for block in section.blocks:
                parts.append(_block_html(block))
            parts.append("</section>")
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        return f"<div class='bayeslaw-report'><style>{CSS}</style>{self._html_body()}</div>"

    def to_markdown(self, image_dir: str | Path | None = None) -> str:
        """Markdown; figures are written as PNGs into ``image_dir`` and linked, or embedded as data URIs when it is ``None``."""
        folder = Path(image_dir) if image_dir is not None else None
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        parts = [f"# {self.title}", "", f"> {self.fit.diagnostics.banner()}", ""]
        count = 0
        for section in self.sections:
            parts += [f"## {section.title}", ""]
            for block in section.blocks:
                if block.kind == "figure":
                    count += 1
                    if folder is not None:
                        name = f"figure_{count:02d}.png"
                        (folder / name).write_bytes(block.content)
                        target = f"{folder.name}/{name}"
                    else:
                        target = "data:image/png;base64," + base64.b64encode(block.content).decode()
                    parts += [f"![{block.caption}]({target})", "", f"*{block.caption}*", ""]
                elif block.kind == "html":
                    continue
                else:
                    parts += [_block_markdown(block), ""]
        return "\n".join(parts)

    def save(self, path: str | Path) -> Path:
        """Write the report as HTML (``.html``) or markdown (``.md``, figures beside it in ``<stem>_files/``)."""
        path = Path(path)
        if path.suffix.lower() in (".html", ".htm"):
            path.write_text(self.to_html(), encoding="utf-8")
        elif path.suffix.lower() == ".md":
            path.write_text(self.to_markdown(path.parent / f"{path.stem}_files"), encoding="utf-8")
        else:
            raise ValueError(f"report path must end in .html or .md, got {path.name!r}")
        return path


CSS = (
    "body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;"
    "color:#222;line-height:1.4}"
    "h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}"
    "table{border-collapse:collapse;font-size:.85em;margin:.4em 0 1em}th,td{border:1px solid #ddd;padding:.2em .5em;text-align:right}"
    "th{background:#f4f4f4}td{font-variant-numeric:tabular-nums}"
    "caption{caption-side:top;text-align:left;font-weight:bold;padding:.3em 0}"
    "img{max-width:100%;height:auto;border:1px solid #eee}figure{margin:1em 0}figcaption{font-size:.9em;color:#555}"
)


def prior_text(prior: Any) -> str:
    """``LogNormal(mu=0.5, sigma=0.5)``."""
    return f"{prior.dist}({', '.join(f'{k}={v:g}' for k, v in prior.kwargs.items())})"


def _count_range(labels: pd.Series) -> str:
    counts = labels.value_counts()
    return f"{counts.min()}" if counts.min() == counts.max() else f"{counts.min()}-{counts.max()}"


def _fmt_value(value: Any) -> Any:
    return (f"{value:.4g}" if np.isfinite(value) else "") if isinstance(value, float | np.floating) else value


def _fmt_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Floats (in cells and index) to 4 significant figures, as strings, for display."""
    shown = frame.copy()
    for col in shown.columns:
        if pd.api.types.is_float_dtype(shown[col]):
            shown[col] = [_fmt_value(v) for v in shown[col]]
    if isinstance(shown.index, pd.MultiIndex):
        shown.index = pd.MultiIndex.from_tuples([tuple(_fmt_value(v) for v in row) for row in shown.index], names=shown.index.names)
    else:
        shown.index = pd.Index([_fmt_value(v) for v in shown.index], name=shown.index.name)
    return shown


def _block_html(block: Block) -> str:
    if block.kind == "text":
        return f"<p>{html.escape(block.content)}</p>"
    if block.kind == "banner":
        return banner_html(block.content)
    if block.kind == "list":
        items = "".join(f"<li>{html.escape(str(item))}</li>" for item in block.content)
        return f"<p><b>{html.escape(block.caption)}</b></p><ul>{items}</ul>"
    if block.kind == "table":
        table = _fmt_table(block.content).to_html(border=0, escape=True)
        end = table.index(">") + 1
        return table[:end] + f"<caption>{html.escape(block.caption)}</caption>" + table[end:]
    if block.kind == "figure":
        data = base64.b64encode(block.content).decode()
        alt = html.escape(block.caption)
        return f"<figure><img alt='{alt}' src='data:image/png;base64,{data}'><figcaption>{alt}</figcaption></figure>"
    if block.kind == "html":
        return block.content
    return ""


def _block_markdown(block: Block) -> str:
    if block.kind == "text":
        return block.content
    if block.kind == "banner":
        alarm = any(word in block.content for word in (*ALARM_WORDS, *CAUTION_WORDS))
        return f"> {'**' if alarm else ''}{block.content}{'**' if alarm else ''}"
    if block.kind == "list":
        return f"**{block.caption}**\n\n" + "\n".join(f"- {item}" for item in block.content)
    if block.kind == "table":
        return f"**{block.caption}**\n\n" + markdown_table(_fmt_table(block.content))
    if block.kind == "markdown":
        return block.content
    return ""


def report(
    fit: Fit,
    prob: float = CREDIBLE_INTERVAL,
    *,
    budgets: float | Sequence[float] | None = None,
    predict: Sequence[Sequence[float] | float | str] | None = None,
    comparison: Any = None,
    extras: Mapping[str, Any] | None = None,
    prior_draws: int = REPORT_PRIOR_DRAWS,
) -> Report:
    """The report of ``fit``: ``str()`` for text, ``.to_html()`` / ``.to_markdown()`` / ``.save(path)`` for a page.

    Parameters
    ----------
    fit
        A fitted model.
    prob
        Interval probability of every table and figure.
    budgets
        FLOP budgets of the optimum table and the fan chart (default: the data's
        largest budget and 10x, 100x it).
    predict
        Forecast points: ``(N, D)`` pairs, ``"N:D"`` strings, or single values for a one-input law.
    comparison
        A :func:`bayeslaw.compare` result to render into the report.
    extras
        Other results (e.g. a backtest) by section title; each needs ``_repr_html_`` and ``to_markdown``.
    prior_draws
        Draws of the prior predictive check (0 skips it and the prior-vs-posterior plot).
    """
    if not 0 < prob < 1:
        raise ValueError(f"prob must be in (0, 1), got {prob}")
    budget_list = () if budgets is None else tuple(float(b) for b in np.atleast_1d(np.asarray(budgets, dtype=float)))
    if any(not np.isfinite(b) or b <= 0 for b in budget_list):
        raise ValueError(f"budgets must be finite and positive, got {list(budget_list)}")
    points = tuple(
        parse_point(p) if isinstance(p, str) else tuple(float(v) for v in np.atleast_1d(np.asarray(p, dtype=float)))
        for p in (predict or ())
    )
    more = dict(extras or {})
    if comparison is not None:
        more = {"Model comparison": comparison, **more}
    made = Report(fit=fit, prob=prob, budgets=budget_list, points=points, extras=more, prior_draws=int(prior_draws))
    _ = made.text  # the text form now, so an unconverged fit warns when the report is made
    return made


__all__ = ["Report", "coverage_check", "parse_point", "report", "text_report"]
