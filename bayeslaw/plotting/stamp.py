"""What every figure states: the model, the data, the interval level, NOT CONVERGED when that holds, and trust signals.

The trust signals are the CAUTION / WARNING lines of :mod:`bayeslaw.trust`
(heavy tails, large noise, runs below the fitted floor, runs under one token per
parameter, forecasts far beyond the training compute), shortened to their first
clause so they fit a title.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text

from bayeslaw.trust import fit_signals, forecast_signals

if TYPE_CHECKING:
    from bayeslaw.fit import Fit

#: Colour of the title of a figure from a non-converged fit.
ALARM_COLOUR = "#b00020"
#: Quantities spanning more than this ratio get a log axis.
LOG_AXIS_RATIO = 10.0


def describe(fit: Fit, prob: float | None) -> str:
    """``model 'x' | data 'y' (n = 240) | 90% intervals`` (+ ``| NOT CONVERGED``)."""
    parts = [f"model {fit.spec.name!r}", f"data {fit.data.name!r} (n = {len(fit.data)})"]
    if prob is not None:
        parts.append(f"{prob:.0%} intervals")
    if not fit.converged:
        parts.append("NOT CONVERGED: do not trust")
    return " | ".join(parts)


#: Most distinct data names a figure drawn from several fits lists (more are counted).
MAX_NAMED_DATA = 3
#: Most trust signals a figure drawn from several fits lists (more are counted).
MAX_SIGNALS = 3


def describe_fits(fits: Sequence[Fit], prob: float | None) -> str:
    """:func:`describe` for a figure drawn from several fits: their models, data, the level, and how many did not converge."""
    models = list(dict.fromkeys(f.spec.name for f in fits))
    data = list(dict.fromkeys(f"{f.data.name!r} (n = {len(f.data)})" for f in fits))
    parts = [("model " if len(models) == 1 else "models ") + ", ".join(repr(m) for m in models)]
    if len(data) <= MAX_NAMED_DATA:
        parts.append("data " + ", ".join(data))
    else:
        sizes = [len(f.data) for f in fits]
        n = f"{min(sizes)}" if min(sizes) == max(sizes) else f"{min(sizes)}-{max(sizes)}"
        parts.append(f"{len(fits)} fits to {len(data)} datasets (n = {n})")
    if prob is not None:
        parts.append(f"{prob:.0%} intervals")
    failed = sum(not f.converged for f in fits)
    if failed:
        parts.append(f"NOT CONVERGED: {failed} of {len(fits)} fits: do not trust them")
    return " | ".join(parts)


def short_signal(line: str) -> str:
    """A trust line cut to its level and first clause: ``"WARNING: Student-t nu = 1.3 (< 2)"``."""
    level, _, rest = line.partition(": ")
    return f"{level}: {rest.split(': ', 1)[0]}" if rest else line


def trust_signals(fit: Fit, forecast: Mapping[str, Any] | None = None) -> list[str]:
    """The fit's trust lines (and those of forecasting it at ``forecast`` inputs), shortened; the convergence line is left out.

    The convergence line is left to :func:`describe` (NOT CONVERGED), which every figure already states.
    """
    lines = [line for line in fit_signals(fit) if "NOT CONVERGED" not in line]
    if forecast:
        lines += forecast_signals(fit, forecast)
    return [short_signal(line) for line in lines]


def stamp(
    fig: Figure,
    title: str,
    fit: Fit | Sequence[Fit] | None = None,
    prob: float | None = None,
    status: str = "",
    forecast: Mapping[str, Any] | None = None,
) -> None:
    """Set the figure's title: ``title``; the model, data, interval level and convergence; then any trust signals.

    ``fit`` is the fit the figure shows, or several (a figure comparing fits: the
    title names their models and data and counts those that did not converge).
    ``status`` is a convergence banner used when no fit is at hand (a result's
    ``banner``). ``forecast`` holds the inputs the figure forecasts at (``{"C": budgets}``
    or ``{"N": ..., "D": ...}``), for the extrapolation signal (one fit only). The
    title is red when a fit did not converge or a signal is a WARNING.
    """
    signals: list[str] = []
    fits = [] if fit is None else list(fit) if isinstance(fit, Sequence) else [fit]
    if len(fits) == 1:
        line, alarm = describe(fits[0], prob), not fits[0].converged
        signals = trust_signals(fits[0], forecast)
    elif fits:
        line, alarm = describe_fits(fits, prob), not all(f.converged for f in fits)
        every = list(dict.fromkeys(s for f in fits for s in trust_signals(f)))
        more = len(every) - MAX_SIGNALS
        signals = every[:MAX_SIGNALS] + ([f"{more} more trust signal(s): see each fit's report"] if more > 0 else [])
    if fits:
        alarm = alarm or any(s.startswith("WARNING") for s in signals)
    else:
        alarm = "NOT CONVERGED" in status
        line = " | ".join(
            p for p in ((f"{prob:.0%} intervals" if prob is not None else ""), "NOT CONVERGED: do not trust" if alarm else "") if p
        )
    fontsize = 10
    # Wrap each line to the figure's width (about 0.6 em per character), so no title is clipped.
    chars = max(30, int(fig.get_size_inches()[0] * 72 / (0.6 * fontsize)))
    lines = [_wrap_parts(title, chars, "; ")] + ([_wrap_parts(line, chars)] if line else [])
    lines += [_wrap_parts(" | ".join(signals), chars)] if signals else []
    fig.suptitle("\n".join(lines), fontsize=fontsize, color=ALARM_COLOUR if alarm else "black")
    literal_texts(fig)


def title_figure(
    fig: Figure,
    title: str,
    fits: Fit | Sequence[Fit] = (),
    prob: float | None = None,
    forecast: Mapping[str, Any] | None = None,
    status: str = "",
) -> None:
    """Title a figure of your own as bayeslaw titles its figures.

    ``title``, then the model(s), data, interval level ``prob`` and NOT CONVERGED
    when that holds, then the trust signals of :mod:`bayeslaw.trust`; wrapped
    to the figure's width and red on a warning. Call it after drawing (it also
    shows every ``$`` in the figure's texts as written).

    Parameters
    ----------
    fig
        The figure.
    title
        What the figure shows.
    fits
        The fit drawn, or several (their models and data are named, unconverged ones counted).
    prob
        Interval level of the figure's bands (``None`` when it has none).
    forecast
        Inputs the figure forecasts at, ``{"C": [...]}`` or ``{"N": [...], "D": [...]}`` (one fit only).
    status
        Without fits: a convergence banner (``"NOT CONVERGED ..."`` makes the title say so, in red).
    """
    stamp(fig, title, fit=fits or None, prob=prob, forecast=forecast, status=status)


def plain(text: str) -> str:
    """``text`` with every ``$`` escaped, so matplotlib shows it instead of reading TeX (``"$1B run"`` stays as written)."""
    return re.sub(r"(?<!\\)\$", r"\\$", str(text))


def literal_texts(fig: Figure) -> None:
    """Show every text of ``fig`` as written: titles, legends, annotations and artist labels get their ``$`` escaped.

    Group labels, dataset and model names are the user's strings; a ``$`` in them
    (``"$10k budget"``) must not switch matplotlib to TeX. Tick labels and axis
    texts are left alone (their formatters write TeX on purpose, e.g. ``10^{18}``);
    tick labels made from user strings are escaped where they are set (:func:`plain`).
    """
    axis_texts: set[int] = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            axis_texts.update(id(t) for t in axis.findobj(Text))
    for text in fig.findobj(Text):
        if id(text) not in axis_texts and "$" in text.get_text():
            text.set_text(plain(text.get_text()))
    for artist in fig.findobj(lambda a: hasattr(a, "get_label") and not isinstance(a, Text)):
        label = artist.get_label()
        if isinstance(label, str) and "$" in label and not label.startswith("_"):
            artist.set_label(plain(label))


def _wrap_parts(line: str, chars: int, separator: str = " | ") -> str:
    """Wrap ``line`` at its ``separator`` first (so no stated fact such as "NOT CONVERGED" is split), words only when a part is too long."""
    rows: list[str] = []
    for part in line.split(separator):
        if rows and len(rows[-1].rsplit("\n", 1)[-1]) + len(separator) + len(part) <= chars:
            rows[-1] += separator + part
        else:
            if rows:
                rows[-1] += separator.rstrip()
            rows.append(textwrap.fill(part, chars, break_on_hyphens=False, break_long_words=False) if len(part) > chars else part)
    return "\n".join(rows)


def log_if_wide(ax: Axes, values: object, axis: str = "y") -> bool:
    """Log scale on ``axis`` when the positive ``values`` span more than :data:`LOG_AXIS_RATIO`; returns whether it did."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size and (v > 0).all() and v.max() / v.min() > LOG_AXIS_RATIO:
        (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
        return True
    return False


__all__ = ["title_figure"]  # the other helpers serve the plotting modules and are not re-exported by bayeslaw.plotting
