"""Convergence classification on constructed draws (no sampling)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from bayeslaw import results
from bayeslaw.constants import DIVERGENCE_FRACTION_MAX
from bayeslaw.diagnostics import ConvergenceWarning, Diagnostics, check_convergence, worst_rhat_detail

CHAINS, DRAWS = 4, 1000


def _idata(n_divergent: int, shift_chain: float = 0.0) -> results.Results:
    rng = np.random.default_rng(0)
    values = rng.standard_normal((CHAINS, DRAWS))
    values[0] += shift_chain  # one chain elsewhere: r_hat fails
    diverging = np.zeros((CHAINS, DRAWS), dtype=bool)
    diverging.flat[rng.choice(CHAINS * DRAWS, size=n_divergent, replace=False)] = True
    dims = ("chain", "draw")
    return results.from_datasets(
        {
            "posterior": xr.Dataset({"theta": (dims, values)}),
            "sample_stats": xr.Dataset({"diverging": (dims, diverging)}),
        }
    )


def test_clean_draws_converge_without_cautions():
    diag = check_convergence(_idata(0), ["theta"])
    assert diag.converged and not diag.cautions
    assert diag.banner().startswith("Convergence OK")


def test_few_divergences_are_a_visible_caution_not_a_failure():
    n = int(DIVERGENCE_FRACTION_MAX * CHAINS * DRAWS)  # at the threshold: still allowed
    diag = check_convergence(_idata(n), ["theta"])
    assert diag.converged
    assert diag.n_divergent == n
    assert "CAUTION" in diag.banner() and f"{n} divergent" in diag.banner()


def test_divergences_over_threshold_fail_loudly():
    n = int(DIVERGENCE_FRACTION_MAX * CHAINS * DRAWS) + 1
    with pytest.warns(ConvergenceWarning, match="divergent transitions"):
        diag = check_convergence(_idata(n), ["theta"])
    assert not diag.converged
    assert diag.banner().startswith("WARNING: NOT CONVERGED")


def test_a_stuck_chain_fails_rhat():
    with pytest.warns(ConvergenceWarning, match="r_hat"):
        diag = check_convergence(_idata(0, shift_chain=3.0), ["theta"])
    assert diag.max_rhat > 1.01 and not diag.converged


def test_round_trip_keeps_cautions():
    diag = check_convergence(_idata(3), ["theta"])
    again = Diagnostics.from_dict(diag.to_dict())
    assert again == diag and again.cautions


def test_failed_rhat_names_the_worst_element_and_its_chain_medians():
    """Chains apart (one chain near 3, three near 0) read as separate modes, not slow mixing."""
    idata = _idata(0, shift_chain=3.0)
    other = np.random.default_rng(1).standard_normal((CHAINS, DRAWS, 2))  # a well-mixed vector parameter
    post = results.posterior(idata).assign(phi=(("chain", "draw", "group"), other)).assign_coords(group=["a", "b"])
    idata = results.from_datasets({"posterior": post, "sample_stats": results.sample_stats(idata)})
    with pytest.warns(ConvergenceWarning, match="worst: theta, median per chain"):
        diag = check_convergence(idata, ["phi", "theta"])
    medians = [float(m) for m in diag.problems[0].split("median per chain ")[1].rstrip(")").split(", ")]
    assert medians[0] > 2.5 and all(abs(m) < 0.2 for m in medians[1:])


def test_worst_rhat_detail_labels_vector_elements():
    rng = np.random.default_rng(2)
    values = rng.standard_normal((CHAINS, DRAWS, 2))
    values[1, :, 1] += 4.0  # chain 1 of element "b" elsewhere
    post = xr.Dataset({"phi": (("chain", "draw", "group"), values)}, coords={"group": ["a", "b"]})
    detail = worst_rhat_detail(post, results.rhat(post))
    assert detail.startswith("worst: phi[b], median per chain ")


def _ask(diag: Diagnostics) -> None:
    """Stands for a question asked of a fit: it calls warn() on the user's behalf."""
    diag.warn()


def test_warn_is_silent_when_converged_and_points_at_the_caller_otherwise():
    import warnings

    good = check_convergence(_idata(0), ["theta"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _ask(good)
    bad = check_convergence(_idata(0, shift_chain=3.0), ["theta"], warn=False)
    with pytest.warns(ConvergenceWarning, match="NOT CONVERGED") as caught:
        _ask(bad)
    assert caught[0].filename == __file__

    def fit_like() -> Diagnostics:  # check_convergence runs inside fit(): its warning points at fit's caller
        return check_convergence(_idata(0, shift_chain=3.0), ["theta"])

    with pytest.warns(ConvergenceWarning) as caught:
        fit_like()
    assert caught[0].filename == __file__
