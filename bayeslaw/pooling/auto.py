"""``auto``: partial pooling whose form is chosen per axis from the data's group counts.

Centred offsets (``offset ~ Normal(0, sd)``) suit an axis whose groups are each
well informed by their rows and whose spread the data estimate (many groups);
non-centred offsets (``sd * z``) suit groups with little data each, or an axis
whose spread the data cannot estimate. ``auto`` decides per parameter and axis,
from two counts known before sampling (never from the shipped data):

- **few groups** (``n_groups <= FEW_GROUPS``, i.e. 2 to 4): the data hold 1-3
  degrees of freedom about the spread, so its posterior stays close to its
  prior whatever the data. Sampled, the spread is what breaks these fits: a
  HalfNormal prior piles mass near ``sd = 0``, where the centred offsets and
  the population value form a funnel (divergences); the non-centred form, or a
  boundary-avoiding Gamma(2) prior, remove the divergences but leave a curved
  ridge between ``sd`` and ``z`` when each group is well informed (4-6x the
  sampling time on two over-training evaluation sets). ``auto`` therefore
  states the spread instead of estimating it: centred offsets
  ``offset ~ Normal(0, scale)`` with ``scale`` the ``[pooling_scale]`` (0.5 on the
  log scale by default: groups 2 sd apart differ by a factor ~e^2 at most,
  ~e^1 typically: two evaluation sets or training sets whose E or amplitudes
  differ by anything up to a factor ~3 are plausible, 90% prior probability). The posterior then has no
  ``_sd`` variable for that axis, and the population value's interval does not
  include the spread's uncertainty; each group's own values are set by its
  rows.
- **weakly informed groups** (fewest rows of any group ``< MIN_ROWS``): a
  group's offset rests largely on the population, the regime of the
  non-centred form; the spread keeps the HalfNormal(scale) prior.
- otherwise (5 or more groups, each with ``MIN_ROWS`` or more rows): centred
  offsets with the HalfNormal(scale) spread prior, as ``partial_centred``.

``MIN_ROWS = 10``: a group of a scaling law carries its own floor and
amplitudes (2-3 parameters on the axis), and with fewer than about 3 rows per
such parameter the group's own rows do not pin them. ``FEW_GROUPS = 4``: on
simulated designs of 15 runs per skill (``benchmarks/bench_convergence.py
--only synthetic``, data seeds 1-6), 4 skills with a sampled spread (centred)
diverged on 3 of 6 seeds (118-133 divergent transitions, at small spreads of
the amplitude offsets: a funnel), and non-centred on 3 of 6 too; with the
spread stated, 6 of 6 passed with 0-1 divergences. From 5 groups on (4+
degrees of freedom) the sampled spread passed every seed tried (5 and 6 skills,
4 seeds each; 8 and 16 skills, 6 seeds each).

The fit's notes name the form each axis took. Spec: ``E = { skill = "auto" }``.
"""

from __future__ import annotations

from typing import Any

from bayeslaw.pooling.base import PoolingMode
from bayeslaw.pooling.partial import Partial
from bayeslaw.pooling.partial_centred import PartialCentred

#: An axis with at most this many groups gets centred offsets with the spread fixed at the pooling scale.
FEW_GROUPS = 4
#: An axis whose smallest group has fewer rows than this is sampled non-centred.
MIN_ROWS = 10


class FixedSpread(PoolingMode):
    """Centred offset with a stated spread: ``offset ~ Normal(0, scale)`` per group, no spread parameter."""

    lookup_name = "partial_fixed_spread"
    description = "partial pooling with the spread fixed at pooling_scale (for 2-4 groups): offset ~ Normal(0, scale)"
    hierarchical = True
    estimates_spread = False

    def offset(self, name: str, dims: tuple[str, ...], scale: float) -> Any:
        import pymc as pm  # deferred: reading a spec (and the CLI's early errors) need not load PyMC

        return pm.Normal(f"{name}_offset", 0.0, scale, dims=dims)


class Auto(PoolingMode):
    """Partial pooling whose form is chosen per axis from its group count and rows per group (module docstring)."""

    lookup_name = "auto"
    description = "partial pooling, form chosen from the data: 2-4 groups -> fixed spread; few rows -> non-centred; else centred"
    hierarchical = True

    def resolve(self, n_groups: int, min_rows: int) -> PoolingMode:
        """The mode that builds the offset of an axis with ``n_groups`` groups, the smallest holding ``min_rows`` rows."""
        return choose(n_groups, min_rows)

    def offset(self, name: str, dims: tuple[str, ...], scale: float) -> Any:
        raise TypeError("pooling mode 'auto' is resolved per axis before the model is built (PoolingMode.resolve)")


def choose(n_groups: int, min_rows: int) -> PoolingMode:
    """``auto``'s rule: the mode for an axis of ``n_groups`` groups whose smallest group has ``min_rows`` rows."""
    if n_groups <= FEW_GROUPS:
        return FixedSpread()
    if min_rows < MIN_ROWS:
        return Partial()
    return PartialCentred()
