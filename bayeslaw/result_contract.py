"""The results contract: one way to summarise, print and render every posterior-derived result.

A result class adopts the contract by inheriting :class:`ResultContract` and
holding three attributes:

- ``draws``: an ``xarray.Dataset`` of per-draw quantities (dims ``chain`` and
  ``draw``, or a flattened ``sample``, plus any others such as ``budget``), with
  the group labels it was computed for kept as scalar coordinates
  (e.g. ``skill = "code"``);
- ``prob``: the default interval probability;
- ``notes``: what was assumed on the way.

It then gets :meth:`~ResultContract.summary` (a tidy frame), :meth:`~ResultContract.table`
("median [lower, upper]" strings), :meth:`~ResultContract.to_markdown` and
``_repr_html_`` (a compact table, the fit's convergence banner and the notes).
A class may override :meth:`~ResultContract.summary_draws` (which quantities are
summarised), :meth:`~ResultContract.extra_columns` (per-row columns of the
string table, e.g. ``P(a > b)``) or :meth:`~ResultContract.summary` itself when
its intervals are not quantiles of draws (a PSIS-LOO comparison)::

    @dataclass(frozen=True)
    class MyResult(ResultContract):
        draws: xr.Dataset
        prob: float
        notes: tuple[str, ...] = ()
        banner: str = ""
        title: ClassVar[str] = "my result"
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any, ClassVar

import pandas as pd
import xarray as xr

from bayeslaw.summaries import format_interval, interval_frame, sample_dims

#: Columns of every summary besides the dims and labels.
SUMMARY_STATS = ("median", "lower", "upper")
#: Most rows a notebook rendering shows before saying how many it left out.
HTML_MAX_ROWS = 40
#: Words in a banner that mark it as a warning (rendered in red).
ALARM_WORDS = ("NOT CONVERGED", "WARNING", "OUT OF BOUNDS", "unreliable")
#: Words that mark a banner as a caution (shown in amber): a trust signal short of a warning.
CAUTION_WORDS = ("CAUTION",)


def scalar_labels(draws: xr.Dataset) -> dict[str, str]:
    """The group labels of ``draws``: its scalar (0-d) coordinates, as strings."""
    return {str(k): str(v.item()) for k, v in draws.coords.items() if v.ndim == 0}


def with_scalar_labels(draws: xr.Dataset, labels: Mapping[str, Any]) -> xr.Dataset:
    """``draws`` with each label of ``labels`` (e.g. ``{"skill": "code"}``) attached as a scalar coordinate."""
    return draws.assign_coords({k: str(v) for k, v in labels.items() if k not in draws.dims})


def display_index(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with float index values (budgets, inputs) shown to 4 significant figures."""

    def fmt(value: Any) -> Any:
        return f"{value:.4g}" if isinstance(value, float) else value

    shown = frame.copy()
    if isinstance(shown.index, pd.MultiIndex):
        shown.index = pd.MultiIndex.from_tuples([tuple(fmt(v) for v in row) for row in shown.index], names=shown.index.names)
    elif not isinstance(shown.index, pd.RangeIndex):
        shown.index = pd.Index([fmt(v) for v in shown.index], name=shown.index.name)
    return shown


def markdown_table(frame: pd.DataFrame, index: bool = True) -> str:
    """A GitHub-flavoured markdown table of ``frame`` (no third-party dependency)."""
    frame = display_index(frame)
    shown = frame.reset_index() if index and not isinstance(frame.index, pd.RangeIndex) else frame
    cells = [[_cell(v) for v in row] for row in shown.itertuples(index=False)]
    header = [str(c) for c in shown.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def banner_html(banner: str) -> str:
    """A banner as an HTML paragraph: red and bold when it is a warning, amber and bold when a caution, else green."""
    if not banner:
        return ""
    if any(word in banner for word in ALARM_WORDS):
        style = "color:#b00020;font-weight:bold"
    elif any(word in banner for word in CAUTION_WORDS):
        style = "color:#8a4b00;font-weight:bold"
    else:
        style = "color:#1b5e20"
    return f'<p style="{style}">{html.escape(banner)}</p>'


class ResultContract:
    """Mixin giving a result with ``draws``, ``prob`` and ``notes`` its summaries and renderings."""

    draws: xr.Dataset
    prob: float
    notes: tuple[str, ...]
    #: What the result is, for headings ("compute-optimal allocation").
    title: ClassVar[str] = "result"

    # ------------------------------------------------------------ hooks
    def summary_draws(self) -> xr.Dataset:
        """The per-draw quantities :meth:`summary` summarises (default: all of ``draws``)."""
        return self.draws

    def extra_columns(self, table: pd.DataFrame) -> pd.DataFrame:
        """Add per-row columns to the string table (default: none)."""
        return table

    @property
    def labels_kept(self) -> dict[str, str]:
        """The group labels the result was computed for (the draws' scalar coordinates)."""
        return scalar_labels(self.draws)

    @property
    def status(self) -> str:
        """The fit's convergence banner, when the result carries one (attribute ``banner``)."""
        return str(getattr(self, "banner", "") or "")

    # ------------------------------------------------------------ the contract
    def summary(self, prob: float | None = None) -> pd.DataFrame:
        """Tidy frame: ``quantity``, the group labels, any dims, ``median``, ``lower``, ``upper``."""
        draws = self.summary_draws()
        dims = [d for d in draws.dims if d not in sample_dims(draws[next(iter(draws.data_vars))])]
        tidy = interval_frame(draws, prob or self.prob, index=dims)
        for name, coord in draws.coords.items():
            # Labels along a dim (e.g. each observation's skill) ride next to it.
            if coord.ndim == 1 and name not in draws.dims and coord.dims[0] in tidy:
                lookup = dict(zip(draws[coord.dims[0]].values.tolist(), coord.values.tolist(), strict=True))
                tidy.insert(tidy.columns.get_loc(coord.dims[0]) + 1, str(name), tidy[coord.dims[0]].map(lookup))
        for offset, (axis, label) in enumerate(self.labels_kept.items()):
            if axis not in tidy:
                tidy.insert(1 + offset, axis, label)
        return tidy

    def table(self, prob: float | None = None) -> pd.DataFrame:
        """Human-readable table: one row per label and dim value, one ``median [lower, upper]`` column per quantity."""
        tidy = self.summary(prob)
        tidy["value"] = [format_interval(m, lo, hi) for m, lo, hi in zip(tidy["median"], tidy["lower"], tidy["upper"], strict=True)]
        index = [c for c in tidy.columns if c not in ("quantity", *SUMMARY_STATS, "value")]
        order = list(dict.fromkeys(tidy["quantity"]))
        if not index:
            wide = pd.DataFrame([dict(zip(tidy["quantity"], tidy["value"], strict=True))])[order]
        else:
            wide = tidy.pivot(index=index, columns="quantity", values="value")[order]
        wide.columns.name = None
        return self.extra_columns(wide)

    def heading(self, prob: float | None = None) -> str:
        """One line: the title, the labels and the interval level."""
        labels = ", ".join(f"{k} = {v}" for k, v in self.labels_kept.items())
        return f"{self.title}{f' ({labels})' if labels else ''}: medians and {prob or self.prob:.0%} equal-tailed credible intervals"

    def to_markdown(self, prob: float | None = None) -> str:
        """Markdown: heading, the convergence banner, the string table and the notes."""
        parts = [f"**{self.heading(prob)}**"]
        if self.status:
            parts.append(f"> {self.status}")
        parts.append(markdown_table(self.table(prob)))
        parts += [f"- note: {n}" for n in self.notes]
        return "\n\n".join(parts) + "\n"

    def _repr_html_(self) -> str:
        table = display_index(self.table())
        more = len(table) - HTML_MAX_ROWS
        shown = table.head(HTML_MAX_ROWS) if more > 0 else table
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (
            f'<div class="bayeslaw-result"><p><b>{html.escape(self.heading())}</b></p>'
            f"{banner_html(self.status)}"
            f"{shown.to_html(border=0)}"
            + (f"<p>... {more} more rows (use .table() or .summary())</p>" if more > 0 else "")
            + (f"<ul>{notes}</ul>" if notes else "")
            + "</div>"
        )


__all__ = ["ResultContract", "banner_html", "display_index", "markdown_table", "scalar_labels", "with_scalar_labels"]
