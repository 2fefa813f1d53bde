"""Parameter recovery on synthetic data drawn from a known Chinchilla law (issue 2 acceptance).

The true alpha, beta, E and the compute-optimal N* at a budget 100x beyond the
largest simulated run must lie inside their 90 % credible intervals. The
default suite checks one seeded data set; the ``slow`` test repeats it over
many seeds and reports the coverage of each quantity.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import bayeslaw as bl
from bayeslaw.constants import CREDIBLE_INTERVAL
from bayeslaw.diagnostics import ConvergenceWarning
from bayeslaw.simulate import SimulatedData, simulate

#: Truth close to Epoch AI's Chinchilla replication (paper form).
TRUE = {"E": 1.8, "A": 480.0, "B": 2000.0, "alpha": 0.34, "beta": 0.36}
SIGMA = 0.01
#: Moderate sampling: the low-rank mass matrix needs a long warm-up on 40 points (E, A and alpha correlate).
#: The spec's draws, sampled longer until r_hat and ESS meet their targets (bl.fit's default).
SAMPLER = {"tune": 1500, "chains": 2}
QUANTITIES = ("alpha", "beta", "E", "N_opt")


def recovery(seed: int) -> tuple[SimulatedData, dict[str, tuple[float, float, float]], bl.Fit]:
    """Simulate with ``seed``, fit, and return (truth, lower, upper) of each checked quantity."""
    sim = simulate("chinchilla", TRUE, sigma=SIGMA, seed=seed)
    budget = 100.0 * float(np.max(sim.data.values("C")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # convergence is asserted separately
        fit_ = bl.fit(sim.data, random_seed=seed, **SAMPLER)
        summary = fit_.summary(CREDIBLE_INTERVAL)
        optimum = fit_.compute_optimal(budget).summary().set_index("quantity")
    out = {name: (TRUE[name], summary.loc[name, "lower"], summary.loc[name, "upper"]) for name in ("alpha", "beta", "E")}
    out["N_opt"] = (sim.optimum(budget)["N_opt"], optimum.loc["N_opt", "lower"], optimum.loc["N_opt", "upper"])
    return sim, out, fit_


def test_budget_is_far_beyond_the_design():
    sim = simulate("chinchilla", TRUE, sigma=SIGMA, seed=1)
    largest = float(np.max(6.0 * sim.data.values("N") * sim.data.values("D")))
    assert largest == pytest.approx(6.0 * 1e9 * 80e9)
    n_opt = sim.optimum(100.0 * largest)["N_opt"]
    assert n_opt > 2 * np.max(sim.data.values("N"))  # a genuine extrapolation in model size


def test_recovers_truth_inside_90_percent_intervals():
    _, checked, fit_ = recovery(seed=1)
    assert fit_.converged, fit_.diagnostics.banner()
    for name, (truth, lower, upper) in checked.items():
        assert lower <= truth <= upper, f"{name}: truth {truth:.4g} outside 90% interval [{lower:.4g}, {upper:.4g}]"
        assert upper / lower < (1.3 if name != "N_opt" else 3.0), f"{name}: interval [{lower:.4g}, {upper:.4g}] is uninformative"


@pytest.mark.slow
def test_recovery_coverage_over_seeds(record_property):
    seeds = range(100, 120)
    hits = dict.fromkeys(QUANTITIES, 0)
    lines = []
    counted = 0
    for seed in seeds:
        _, checked, fit_ = recovery(seed)
        if not fit_.converged:  # no conclusion from a flagged fit: it is listed, not counted
            lines.append(f"seed {seed}: not counted ({fit_.diagnostics.banner()[:60]})")
            continue
        counted += 1
        inside = {name: lower <= truth <= upper for name, (truth, lower, upper) in checked.items()}
        for name, ok in inside.items():
            hits[name] += ok
        lines.append(
            f"seed {seed}: " + ", ".join(f"{k} {'in' if v else 'OUT'}" for k, v in inside.items()) + f" ({fit_.diagnostics.banner()[:40]})"
        )
    print("\n".join(lines))
    assert counted >= 18, f"only {counted} of {len(seeds)} fits converged"
    coverage = {name: hits[name] / counted for name in QUANTITIES}
    record_property("coverage", coverage)
    print(f"90% interval coverage over {counted} converged seeds: " + ", ".join(f"{k} {v:.2f}" for k, v in coverage.items()))
    # With 18-20 seeds and true coverage 0.90, coverage below 0.75 has probability ~1-2 %.
    for name, value in coverage.items():
        assert value >= 0.75, f"{name}: coverage {value:.2f} of nominal {CREDIBLE_INTERVAL}"
