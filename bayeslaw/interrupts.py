"""Ctrl-C during sampling stops the fit; it never becomes a normal result.

nutpie and PyMC both catch ``KeyboardInterrupt`` while sampling and return the
draws made so far (nutpie pads unfinished chains with NaN). Returned as they
are, such draws would pass as a fit. :func:`watch` records a SIGINT that
arrives while the sampler runs, and :func:`raise_if_incomplete` then raises
:class:`FitInterrupted` (a ``KeyboardInterrupt``) carrying the partial results,
so callers see the interrupt as usual and nothing partial is returned or saved
as good. A run that returns fewer or non-finite draws than asked for is
treated the same way, even when no signal was seen (e.g. outside the main thread).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np


class FitInterrupted(KeyboardInterrupt):
    """Sampling was interrupted; ``partial`` holds the draws made so far (never a usable fit)."""

    def __init__(self, message: str, partial: Any = None) -> None:
        super().__init__(message)
        self.partial = partial


@dataclass
class Seen:
    """Whether a SIGINT arrived inside :func:`watch`."""

    interrupted: bool = False


@contextmanager
def watch() -> Iterator[Seen]:
    """Record SIGINTs during the block; each still raises ``KeyboardInterrupt`` as Python's default handler does.

    Outside the main thread, or where SIGINT is ignored (e.g. under ``nohup``), nothing is installed.
    """
    seen = Seen()
    previous = signal.getsignal(signal.SIGINT) if threading.current_thread() is threading.main_thread() else None
    if previous is None or previous == signal.SIG_IGN:  # not the main thread, or SIGINT deliberately ignored (nohup)
        yield seen
        return

    def handler(signum: int, frame: Any) -> None:
        seen.interrupted = True
        if callable(previous) and previous not in (signal.default_int_handler,):
            previous(signum, frame)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield seen
    finally:
        signal.signal(signal.SIGINT, previous)


def missing_draws(posterior: Any, draws: int, chains: int) -> str | None:
    """Why ``posterior`` (an xarray Dataset) is not a complete run of ``chains`` x ``draws``; None when it is."""
    sizes = dict(posterior.sizes)
    if sizes.get("chain") != chains or sizes.get("draw") != draws:
        return f"expected {chains} chains x {draws} draws, got {sizes.get('chain', 0)} x {sizes.get('draw', 0)}"
    for name, values in posterior.data_vars.items():
        array = np.asarray(values.values, dtype=float)
        if np.isnan(array).any():
            share = float(np.isnan(array).mean())
            return f"{share:.1%} of the draws of {name!r} are NaN (unfinished chains)"
    return None


def raise_if_incomplete(seen: Seen, posterior: Any, draws: int, chains: int, partial: Any = None) -> None:
    """Raise :class:`FitInterrupted` if a SIGINT was seen or the run is incomplete."""
    gap = missing_draws(posterior, draws, chains)
    if seen.interrupted or gap:
        why = "interrupted (SIGINT)" if seen.interrupted else "incomplete"
        raise FitInterrupted(f"sampling {why}: {gap or 'stopped early'}; no fit was returned", partial)
