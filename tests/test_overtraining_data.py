"""The shipped Gadre et al. (2024) over-training data: loader, labels, filters, attribution."""

from __future__ import annotations

import numpy as np
import pytest

import bayeslaw as bl
from bayeslaw.datasets import OVERTRAINING_EVAL_SETS, OVERTRAINING_TRAIN_SETS, available_datasets, dataset_info, read_csv


@pytest.fixture(scope="module")
def data() -> bl.ScalingData:
    return bl.load_dataset("overtraining")


def test_registered_with_mit_attribution() -> None:
    assert "overtraining" in available_datasets()
    info = dataset_info("overtraining")
    assert "MIT" in info and "Gadre" in info and "mlfoundations/scaling" in info


def test_long_form_832_rows_with_skill_and_datamix(data: bl.ScalingData) -> None:
    assert len(data) == 832
    assert data.target == "loss"
    assert data.groups == ("skill", "datamix")
    assert data.levels["skill"] == OVERTRAINING_EVAL_SETS
    assert data.levels["datamix"] == OVERTRAINING_TRAIN_SETS
    counts = data.frame.groupby("skill").size()
    assert (counts == 104).all()
    assert data.frame.groupby("datamix").size().to_dict() == {"c4_original": 272, "rpj": 280, "rw_original": 280}
    coords = data.coords()
    assert coords["skill"] == list(OVERTRAINING_EVAL_SETS) and len(coords["obs"]) == 832


def test_values_and_row_labels_match_the_csv(data: bl.ScalingData) -> None:
    raw = read_csv("overtraining_losses.csv")
    raw.index = raw["run_name"] + "/" + raw["eval_set"]
    frame = data.frame.loc[raw.index]
    np.testing.assert_array_equal(frame["loss"].to_numpy(), raw["loss"].to_numpy())
    np.testing.assert_array_equal(frame["N"].to_numpy(), raw["N_params"].to_numpy(dtype=float))
    np.testing.assert_array_equal(frame["D"].to_numpy(), raw["D_tokens"].to_numpy(dtype=float))
    np.testing.assert_array_equal(frame["skill"].to_numpy(), raw["eval_set"].to_numpy(dtype=str))
    np.testing.assert_array_equal(frame["datamix"].to_numpy(), raw["train_dataset"].to_numpy(dtype=str))
    np.testing.assert_allclose(frame["C"].to_numpy(), 6.0 * frame["N"] * frame["D"], rtol=1e-6)
    # A known row: the C4-trained 0.411B model at 0.25x Chinchilla tokens, on the C4 validation set.
    row = data.frame.loc["c4_original-d=1024_l=24_h=8-0.25/c4_val"]
    assert row["loss"] == pytest.approx(3.5279492850157737)
    assert row["N"] == 411616256 and row["D"] == 2058081280


def test_filters_subset_and_record_notes() -> None:
    code, text = "paloma_dolma_100_programing_languages", "c4_val"
    sub = bl.load_dataset("overtraining", eval_sets=[code, text], train_datasets=["rpj"], max_params=5e8, max_tokens_per_param=20)
    assert sub.levels["skill"] == (code, text)
    assert sub.levels["datamix"] == ("rpj",)
    assert (sub.values("N") <= 5e8).all()
    assert (sub.values("D") / sub.values("N") <= 20 * (1 + 1e-9)).all()
    # 4 small sizes x multipliers 0.25, 0.5, 1 x 2 eval sets.
    assert len(sub) == 4 * 3 * 2
    assert len(sub.notes) == 4 and any("5e+08" in n for n in sub.notes)


def test_unknown_labels_are_named() -> None:
    with pytest.raises(ValueError, match="unknown labels \\['german'\\]"):
        bl.load_dataset("overtraining", eval_sets=["german"])
    with pytest.raises(ValueError, match="train_datasets"):
        bl.load_dataset("overtraining", train_datasets=["pile"])
    with pytest.raises(ValueError, match="select no"):
        bl.load_dataset("overtraining", max_params=1e6)


def test_hierarchical_spec_builds_on_the_real_data(data: bl.ScalingData) -> None:
    from bayeslaw.model_builder import build_model
    from bayeslaw.spec import resolve_spec

    built = build_model(data, resolve_spec("hierarchical"))
    assert built.param_dims["E"] == ("skill", "datamix")
    assert built.param_dims["alpha"] == ()
    names = {v.name for v in built.model.free_RVs}
    assert {"log_E_skill_offset", "log_E_datamix_offset", "log_a_ref_skill_sd", "alpha", "beta"} <= names
