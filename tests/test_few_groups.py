"""Few groups per axis: the note on partial pooling over 2 groups, and the shared_exponents model."""

from __future__ import annotations

import grouped_fits as g
import numpy as np
import pytest

import bayeslaw as bl
from bayeslaw.constants import CREDIBLE_INTERVAL
from bayeslaw.model_builder import build_model, few_groups_note
from bayeslaw.spec import resolve_spec

LO, HI = (1 - CREDIBLE_INTERVAL) / 2, (1 + CREDIBLE_INTERVAL) / 2
TWO_SKILLS = ("s1", "s2")


def _subset(skills: tuple[str, ...], datamixes: tuple[str, ...]) -> bl.ScalingData:
    data = g.shared_exponent_data().data
    mask = data.frame["skill"].isin(skills) & data.frame["datamix"].isin(datamixes)
    return data.subset(mask.to_numpy(), note=f"skills {skills}, datamixes {datamixes}")


@pytest.fixture(scope="module")
def two_skills() -> bl.ScalingData:
    return _subset(TWO_SKILLS, ("m1",))


def test_partial_pooling_over_two_groups_gets_a_note(two_skills: bl.ScalingData) -> None:
    built = build_model(two_skills, resolve_spec("hierarchical"))
    assert few_groups_note("skill", 2, estimated=False) in built.notes  # 'auto' states the spread of 2 groups
    assert sum("partial pooling over" in note for note in built.notes) == 1  # one note per axis, not per parameter


def test_no_note_with_three_groups_or_without_pooling(two_skills: bl.ScalingData) -> None:
    three = _subset(g.SKILLS, ("m1",))
    assert not any("partial pooling over" in note for note in build_model(three, resolve_spec("hierarchical")).notes)
    assert not any("partial pooling over" in note for note in build_model(two_skills, resolve_spec("shared_exponents")).notes)


def test_two_by_two_groups_note_both_axes() -> None:
    notes = build_model(_subset(TWO_SKILLS, ("m1", "m2")), resolve_spec("hierarchical")).notes
    assert few_groups_note("datamix", 2, estimated=False) in notes
    assert few_groups_note("skill", 2, estimated=False) in notes


def test_shared_exponents_spec_shares_exponents_only(two_skills: bl.ScalingData) -> None:
    built = build_model(_subset(TWO_SKILLS, ("m1", "m2")), resolve_spec("shared_exponents"))
    assert built.param_dims["alpha"] == ()
    assert built.param_dims["beta"] == ()
    for name in ("E", "a_ref", "b_ref"):
        assert built.param_dims[name] == ("skill", "datamix")
    free = {rv.name for rv in built.model.free_RVs}
    assert not any(name.endswith("_sd") for name in free), free  # no group spreads to estimate


def test_shared_exponents_fit_recovers_truth_on_two_skills(two_skills: bl.ScalingData) -> None:
    sim = g.shared_exponent_data()
    fitted = bl.fit(two_skills, "shared_exponents", random_seed=g.FIT_SEED, **g.FIT)
    assert fitted.converged, fitted.diagnostics.banner()
    missed = []
    checks = [(name, fitted.posterior[name].values, sim.truth("s1", "m1")[name]) for name in ("alpha", "beta")]
    checks += [(f"E[{s}]", fitted.posterior["E"].sel(skill=s).values, sim.truth(s, "m1")["E"]) for s in TWO_SKILLS]
    for label, draws, truth in checks:
        lo, hi = np.quantile(draws.ravel(), [LO, HI])
        if not lo <= truth <= hi:
            missed.append(f"{label}: {truth:.4g} not in [{lo:.4g}, {hi:.4g}]")
    assert not missed, missed
