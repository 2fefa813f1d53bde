"""What every figure states: the model, the data, the interval level, and NOT CONVERGED when that holds."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from matplotlib.axes import Axes
from matplotlib.figure import Figure

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


def stamp(fig: Figure, title: str, fit: Fit | None = None, prob: float | None = None, status: str = "") -> None:
    """Set the figure's title: ``title`` and, on a second line, the model, data, interval level and convergence.

    ``status`` is a convergence banner used when no fit is at hand (a result's ``banner``).
    """
    if fit is not None:
        line, alarm = describe(fit, prob), not fit.converged
    else:
        alarm = "NOT CONVERGED" in status
        line = " | ".join(
            p for p in ((f"{prob:.0%} intervals" if prob is not None else ""), "NOT CONVERGED: do not trust" if alarm else "") if p
        )
    fontsize = 10
    # Wrap each line to the figure's width (about 0.6 em per character), so no title is clipped.
    chars = max(30, int(fig.get_size_inches()[0] * 72 / (0.6 * fontsize)))
    lines = [_wrap_parts(title, chars, "; ")] + ([_wrap_parts(line, chars)] if line else [])
    fig.suptitle("\n".join(lines), fontsize=fontsize, color=ALARM_COLOUR if alarm else "black")


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


__all__: list[str] = []
