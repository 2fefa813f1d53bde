"""Run length by target: sample longer when a fit only needed more draws.

A fit whose chains agree in where they sit but whose bulk or tail ESS falls short of
its target (or whose r_hat is just over 1.01 from slow mixing) is not a failed model:
it needs more draws. After the first run (and any stuck-chain rerun), :func:`plan`
measures the shortfall on the checked variables and, when more draws can fix it, asks
for more: enough for the worst ESS to reach its target with a 25% margin (ESS grows
about linearly with draws), at least 1.5x and at most 4x the draws per chain the fit
holds, and at least twice as many when r_hat is over its threshold. The extra draws
come from a run whose chains start at draws of the last run (already in the typical
set), re-adapt for ``RUN_LENGTH_APPEND_TUNE`` (300) tuning steps, and sample what is
missing; their draws are **appended** to the fit's chains, so no draw already made is
thrown away (chain ``c`` is its earlier draws followed by the new ones; each piece is a
draw from the posterior, and split r_hat compares the pieces). This repeats at most
``RUN_LENGTH_MAX_EXTENSIONS`` (2) times, and the draws per chain of all runs together
stay within ``RUN_LENGTH_MAX_FACTOR`` (8) times the configured draws: more draws that
would pass that cap are cut to what is left, or not made when what is left is under
half the draws the fit holds. The cap counts draws, not seconds, so the same seed gives
the same fit on any machine. Each longer run's seed comes from the ``run_length``
stream of :mod:`bayeslaw.seeds`. The fit's notes say what was done, with the numbers.

A run with divergent transitions is not appended to: its draws may be biased where the
step size could not follow the curvature, so a longer run **replaces** it, adapting a
smaller step with the full tuning length: its target acceptance rate is the next of
``RUN_LENGTH_TARGET_ACCEPT_STEPS`` (0.95, 0.99) above the last run's. More draws alone
would not fix divergences. Such a run may be shortened to what the cap leaves, down to
the configured draws (it samples differently, so it need not outgrow the last run). This also holds for a run with more divergences than the
fit tolerates, which is rerun only when the target can still be raised.

Not extended: runs with chains in different modes (they are rerun as stuck chains,
:mod:`bayeslaw.sampling`), and runs too divergent at the last step of the ladder.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import xarray as xr

from bayeslaw import results
from bayeslaw.constants import (
    DIVERGENCE_FRACTION_MAX,
    ESS_BULK_MIN,
    ESS_TAIL_MIN,
    RHAT_MAX,
    RUN_LENGTH_APPEND_TUNE,
    RUN_LENGTH_MAX_EXTENSIONS,
    RUN_LENGTH_MAX_FACTOR,
    RUN_LENGTH_TARGET_ACCEPT_STEPS,
)

#: At most this many longer runs after the first.
MAX_EXTENSIONS: int = RUN_LENGTH_MAX_EXTENSIONS
#: Bounds of the factor by which one longer run multiplies the draws.
MIN_FACTOR: float = 1.5
MAX_FACTOR: float = 4.0
#: Safety margin on the ESS a longer run aims for.
ESS_MARGIN: float = 1.25
#: Tuning steps of a run whose draws are appended (it starts in the typical set; see the module docstring).
APPEND_TUNE: int = RUN_LENGTH_APPEND_TUNE


@dataclass(frozen=True)
class Targets:
    """What a run must reach, and the cap on draws per chain of all runs together (times the configured draws)."""

    rhat_max: float = RHAT_MAX
    ess_bulk_min: float = ESS_BULK_MIN
    ess_tail_min: float = ESS_TAIL_MIN
    divergence_fraction_max: float = DIVERGENCE_FRACTION_MAX
    max_draws_factor: float = RUN_LENGTH_MAX_FACTOR


@dataclass(frozen=True)
class Shortfall:
    """Worst r_hat and ESS of a run's checked variables, and its divergences."""

    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    n_divergent: int
    n_draws: int

    def met(self, targets: Targets) -> bool:
        """True when every target is reached."""
        return (
            self.max_rhat <= targets.rhat_max
            and self.min_ess_bulk >= targets.ess_bulk_min
            and self.min_ess_tail >= targets.ess_tail_min
            and not self.too_divergent(targets)
        )

    def too_divergent(self, targets: Targets) -> bool:
        """More divergent transitions than the fit tolerates."""
        return self.n_divergent > targets.divergence_fraction_max * self.n_draws

    def describe(self) -> str:
        """The numbers, for the fit's notes."""
        return f"max r_hat {self.max_rhat:.3f}, min bulk ESS {self.min_ess_bulk:.0f}, min tail ESS {self.min_ess_tail:.0f}"


def measure(idata: results.Results, var_names: list[str] | None) -> Shortfall:
    """The run's worst r_hat and ESS over ``var_names`` (every posterior variable when ``None``)."""
    post = results.posterior(idata)
    if var_names is not None:
        post = results.select_vars(post, [n for n in var_names if n in post])
    return Shortfall(
        max_rhat=_extreme(results.rhat(post), np.nanmax),
        min_ess_bulk=_extreme(results.ess(post, "bulk"), np.nanmin),
        min_ess_tail=_extreme(results.ess(post, "tail"), np.nanmin),
        n_divergent=results.divergences(idata),
        n_draws=results.n_draws(idata),
    )


def _extreme(stat: xr.Dataset, reduce: object) -> float:
    values = np.concatenate([np.ravel(v.values) for v in stat.data_vars.values()]) if stat.data_vars else np.array([np.nan])
    finite = values[np.isfinite(values)]
    return float(reduce(finite)) if finite.size else float("nan")  # type: ignore[operator]


@dataclass(frozen=True)
class Plan:
    """The next run's draws per chain and target acceptance rate, or why there is none (``draws`` is 0 then).

    ``appended``: the next run's draws are appended to the fit's chains (True), or replace them (False:
    after divergences, with ``target_accept`` raised).
    """

    draws: int
    reason: str
    target_accept: float | None = None
    appended: bool = False


def raised_target_accept(current: float) -> float | None:
    """The next step of ``RUN_LENGTH_TARGET_ACCEPT_STEPS`` above ``current``, or ``None`` at the top."""
    return next((step for step in RUN_LENGTH_TARGET_ACCEPT_STEPS if step > current + 1e-9), None)


def plan(
    shortfall: Shortfall, targets: Targets, draws: int, configured: int, drawn: int, round_: int, target_accept: float | None = None
) -> Plan:
    """The next run (draws per chain, target acceptance rate, appended or replacing), or 0 draws with the reason there is none.

    Parameters
    ----------
    shortfall
        The numbers of the draws the fit holds now.
    targets
        What to reach, and the cap on draws per chain of all runs together.
    draws
        Draws per chain the fit holds now (the last run's, with any draws appended to it).
    configured
        The fit's configured draws per chain (the cap is a multiple of it).
    drawn
        Draws per chain sampled so far, all runs together.
    round_
        How many longer runs were made already.
    target_accept
        The last run's target acceptance rate; ``None``: never raise it (only more draws).
    """
    if shortfall.met(targets):
        return Plan(0, "targets met")
    raised = raised_target_accept(target_accept) if target_accept is not None and shortfall.n_divergent > 0 else None
    if shortfall.too_divergent(targets) and raised is None:
        return Plan(0, f"{shortfall.n_divergent} divergent transitions: more draws would not remove them")
    if round_ >= MAX_EXTENSIONS:
        return Plan(0, f"already {round_} longer runs")
    total = int(math.ceil(draws * _factor(shortfall, targets) / 100.0) * 100)
    # appended: only the missing draws are sampled; replacing: the whole longer run
    new_draws = total if raised is not None else total - draws
    cap = int(targets.max_draws_factor * configured)
    left = cap - drawn
    if new_draws > left:
        shortened = int(left // 100 * 100)
        # A run at a raised target_accept mixes differently from the last one, so it need not outgrow it,
        # only be as long as the configured run; appended draws must add at least half of what the fit holds.
        shortest = configured if raised is not None else (MIN_FACTOR - 1.0) * draws
        if shortened < shortest:
            return Plan(
                0,
                f"a run of {new_draws} draws per chain would pass the cap of {cap} draws per chain over all runs "
                f"({targets.max_draws_factor:g} x {configured}; {drawn} drawn)",
            )
        new_draws = shortened
    if raised is not None:
        why = f"{shortfall.describe()}, {shortfall.n_divergent} divergent transitions"
        return Plan(new_draws, f"{why} short of the targets", raised)
    return Plan(new_draws, f"{shortfall.describe()} short of the targets", appended=True)


def _factor(shortfall: Shortfall, targets: Targets) -> float:
    """How many times the draws the fit holds should it hold: the ESS shortfall with its margin, in [1.5, 4]."""
    factor = MIN_FACTOR
    for ess, target in ((shortfall.min_ess_bulk, targets.ess_bulk_min), (shortfall.min_ess_tail, targets.ess_tail_min)):
        if not np.isfinite(ess) or ess <= 0:
            factor = MAX_FACTOR
        elif ess < target:
            factor = max(factor, ESS_MARGIN * target / ess)
    if not shortfall.max_rhat <= targets.rhat_max:
        factor = max(factor, 2.0)
    return min(factor, MAX_FACTOR)


def append_tune(tune: int) -> int:
    """Tuning steps of a run whose draws are appended, for a fit configured with ``tune`` steps (never more)."""
    return min(tune, APPEND_TUNE)


def note(first: Shortfall, runs: list[tuple[Plan, int, Shortfall]], stopped: str, chains: int, held: int, tune: int) -> str:
    """The fit's note: what the first run reached, each longer run and its numbers, and why it stopped.

    ``runs``: (the plan it followed, its seed, what the fit's draws reached after it) per longer run;
    ``held``: the draws per chain the fit reports; ``tune``: the fit's configured tuning steps.
    """
    parts = [f"run length: the first run reached {first.describe()}, {first.n_divergent} divergent transitions"]
    for step, seed, after in runs:
        if step.appended:
            what = (
                f"sampled {chains} x {step.draws} more draws (seed {seed}; chains started at draws of the last run, "
                f"re-tuned for {append_tune(tune)} steps) and appended them to the chains"
            )
        else:
            raised = f", target_accept raised to {step.target_accept:g} after divergences" if step.target_accept is not None else ""
            what = f"rerun with {chains} x {step.draws} draws (seed {seed}{raised}), started at draws of the last run, replacing it"
        parts.append(f"{what}: {after.describe()}, {after.n_divergent} divergent transitions")
    parts.append(f"{'targets met' if stopped == 'targets met' else f'stopped: {stopped}'}; this fit reports {chains} x {held} draws")
    return "; ".join(parts)
