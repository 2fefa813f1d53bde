"""Pooling mode ``auto``: the rule that picks the form per axis, and the model it builds."""

from __future__ import annotations

import grouped_fits as g
import numpy as np
import pytest

import bayeslaw as bl
from bayeslaw.compiled import cache_key
from bayeslaw.model_builder import build_model, few_groups_note, pooling_forms
from bayeslaw.pooling import get_mode
from bayeslaw.pooling.auto import FEW_GROUPS, MIN_ROWS, choose
from bayeslaw.simulate import draw_group_params, simulate
from bayeslaw.spec import ModelSpec


@pytest.mark.parametrize(
    ("n_groups", "min_rows", "expected"),
    [
        (2, 100, "partial_fixed_spread"),
        (4, 100, "partial_fixed_spread"),
        (5, 100, "partial_centred"),
        (FEW_GROUPS, 100, "partial_fixed_spread"),
        (FEW_GROUPS + 1, MIN_ROWS, "partial_centred"),
        (FEW_GROUPS + 1, MIN_ROWS - 1, "partial"),
        (16, 0, "partial"),
        (16, 200, "partial_centred"),
    ],
)
def test_rule(n_groups: int, min_rows: int, expected: str) -> None:
    assert choose(n_groups, min_rows).lookup_name == expected


def test_other_modes_resolve_to_themselves() -> None:
    for name in ("partial", "partial_centred", "independent", "shared"):
        mode = get_mode(name)
        assert mode.resolve(2, 1) is mode


def _spec() -> ModelSpec:
    pooling = {p: {"skill": "auto", "datamix": "auto"} for p in ("E", "a_ref", "b_ref")}
    return ModelSpec.from_dict({"name": "auto-test", "law": "chinchilla", "pooling": pooling}, source="test")


def _subset(skills: tuple[str, ...], datamixes: tuple[str, ...]) -> bl.ScalingData:
    data = g.shared_exponent_data().data
    mask = data.frame["skill"].isin(skills) & data.frame["datamix"].isin(datamixes)
    return data.subset(mask.to_numpy(), note="test subset")


def test_few_groups_get_centred_offsets_with_the_spread_fixed_at_the_pooling_scale() -> None:
    built = build_model(_subset(("s1", "s2"), ("m1", "m2", "m3")), _spec())
    names = {rv.name: rv for rv in built.model.free_RVs}
    assert "log_E_skill_offset" in names and "log_E_datamix_offset" in names
    assert not any(name.endswith(("_sd", "_z")) for name in names)  # no spread to sample
    sigma = names["log_E_skill_offset"].owner.inputs[-1]
    assert np.unique(sigma.eval()).tolist() == pytest.approx([0.5])  # the default pooling scale
    assert any("pooling 'auto' over 'skill' (2 groups" in note and "partial_fixed_spread" in note for note in built.notes)
    assert sum("pooling 'auto' over 'skill'" in note for note in built.notes) == 1  # one note per axis, not per parameter
    assert few_groups_note("skill", 2, estimated=False) in built.notes


def _five_skills(rows_of_s0: int) -> bl.ScalingData:
    """5 skills (more than FEW_GROUPS) x 12 rows; ``rows_of_s0`` of them carry skill s0, the rest move to s1."""
    assert FEW_GROUPS < 5
    skills = [f"s{i}" for i in range(5)]
    params = draw_group_params(g.POPULATION, {"E": {"skill": 0.2}}, skills=skills, seed=1)
    sim = simulate("chinchilla", params, sizes=(1e7, 1e8, 1e9, 3e9), tokens_per_param=(5.0, 20.0, 80.0), skills=skills, sigma=0.01, seed=1)
    frame = sim.data.frame.copy()
    moved = frame.index[frame["skill"].eq("s0")][rows_of_s0:]
    frame.loc[moved, "skill"] = "s1"
    return bl.ScalingData.from_frame(frame)


def test_forms_and_cache_key_follow_the_rows_of_the_smallest_group() -> None:
    spec = _spec()
    balanced, sparse = _five_skills(12), _five_skills(MIN_ROWS - 1)
    assert len(balanced) == len(sparse)
    assert [form for _, _, form in pooling_forms(balanced, spec)] == ["partial_centred"] * 3
    assert [form for _, _, form in pooling_forms(sparse, spec)] == ["partial"] * 3
    assert "log_E_skill_offset" in {rv.name for rv in build_model(balanced, spec).model.free_RVs}
    # same shapes, different forms: a compiled model must not be reused across them
    assert cache_key(balanced, spec, "nutpie") != cache_key(sparse, spec, "nutpie")
