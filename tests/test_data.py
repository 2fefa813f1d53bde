"""The data layer: every bad input raises DataValidationError naming the column and the rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayeslaw.data import DataValidationError, ScalingData
from bayeslaw.datasets import available_datasets, dataset_info, load_dataset, read_csv


def _raises(frame: pd.DataFrame, *fragments: str, **kwargs: object) -> str:
    """Assert that validating ``frame`` fails and that the message holds every fragment."""
    with pytest.raises(DataValidationError) as err:
        ScalingData.from_frame(frame, **kwargs)
    message = str(err.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


# ---------------------------------------------------------------- valid input
def test_valid_frame_keeps_rows_labels_and_values(small_frame):
    data = ScalingData.from_frame(small_frame)
    assert len(data) == 6
    assert list(data.frame.index) == list(small_frame.index)
    assert data.target == "loss"
    assert data.inputs == ("N", "D", "C")
    assert data.groups == ()
    np.testing.assert_array_equal(data.values("loss"), small_frame["loss"].to_numpy())
    np.testing.assert_array_equal(data.values("N"), small_frame["N"].to_numpy())
    assert data.notes == ()
    assert data.coords() == {"obs": list(small_frame.index)}


def test_compute_is_added_when_absent(small_frame):
    data = ScalingData.from_frame(small_frame.drop(columns="C"))
    np.testing.assert_allclose(data.values("C"), 6.0 * small_frame["N"] * small_frame["D"])


def test_reference_scales_are_geometric_means(small_frame):
    data = ScalingData.from_frame(small_frame)
    refs = data.reference_scales(["N", "D"])
    assert refs["N"] == pytest.approx(np.exp(np.mean(np.log(small_frame["N"]))))
    assert refs["D"] == pytest.approx(np.exp(np.mean(np.log(small_frame["D"]))))


# ---------------------------------------------------------------- missing / malformed columns
def test_not_a_dataframe():
    with pytest.raises(DataValidationError, match="expected a pandas DataFrame, got dict"):
        ScalingData.from_frame({"N": [1.0]})  # type: ignore[arg-type]


def test_missing_target_column(small_frame):
    _raises(small_frame.drop(columns="loss"), "missing column for 'loss'", "val_loss", "available columns")


def test_missing_size_column(small_frame):
    # D and C present but N gone: N is derived, so drop D too to leave no way to get it.
    _raises(small_frame.drop(columns=["N", "C"]), "missing column for 'N'")
    _raises(small_frame.drop(columns=["D", "C"]), "missing column for 'D'")


def test_missing_mapped_column(small_frame):
    _raises(small_frame, "column 'val' (mapped to 'loss') is not in the data", columns={"loss": "val"})


def test_missing_explicit_input(small_frame):
    _raises(small_frame, "missing column for 'examples'", inputs=["examples"])


@pytest.mark.parametrize("column", ["N", "D", "C", "loss"])
def test_non_numeric_values(small_frame, column):
    frame = small_frame.astype(object)
    frame.loc["r2", column] = "n/a"
    frame.loc["r4", column] = "oops"
    message = _raises(frame, f"column {column!r}", "non-numeric", "'r2'", "'r4'", "'n/a'")
    assert "'r1'" not in message


@pytest.mark.parametrize("column", ["N", "D", "C", "loss"])
def test_nan_values(small_frame, column):
    small_frame.loc["r3", column] = np.nan
    message = _raises(small_frame, f"column {column!r}", "missing (NaN)", "'r3'")
    assert "'r2'" not in message


@pytest.mark.parametrize("value", [np.inf, -np.inf])
@pytest.mark.parametrize("column", ["N", "D", "loss"])
def test_infinite_values(small_frame, column, value):
    small_frame.loc["r1", column] = value
    _raises(small_frame, f"column {column!r}", "infinite", "'r1'")


@pytest.mark.parametrize("value", [0.0, -1.5])
@pytest.mark.parametrize("column", ["N", "D", "C", "loss"])
def test_zero_or_negative_values(small_frame, column, value):
    small_frame.loc["r5", column] = value
    message = _raises(small_frame, f"column {column!r}", "zero or negative", "'r5'", "must be > 0", f"{value:g}")
    assert "'r0'" not in message


def test_error_message_names_the_users_column_not_the_canonical_one(small_frame):
    frame = small_frame.rename(columns={"loss": "my_loss"})
    frame.loc["r0", "my_loss"] = -2.0
    _raises(frame, "column 'my_loss' (loss)", "'r0'", columns={"loss": "my_loss"})


def test_long_lists_of_rows_are_truncated_with_a_count():
    frame = pd.DataFrame({"N": np.full(25, 1e8), "D": np.full(25, 1e9), "loss": np.full(25, -1.0)})
    message = _raises(frame, "0, 1, 2", "... (15 more)")
    assert "24" not in message.split("...")[0]


def test_unit_interval_target():
    frame = pd.DataFrame({"N": [1e8, 2e8, 3e8], "D": [1e9, 2e9, 3e9], "error": [0.5, 1.0, 0.2]}, index=["a", "b", "c"])
    _raises(frame, "column 'error'", "outside (0, 1)", "'b'", target="error")
    frame.loc["b", "error"] = 0.4
    assert ScalingData.from_frame(frame, target="error").target == "error"


# ---------------------------------------------------------------- compute consistency
def test_compute_inconsistent_with_6nd(small_frame):
    small_frame.loc["r2", "C"] *= 1.10
    small_frame.loc["r4", "C"] *= 0.80
    message = _raises(small_frame, "column 'C' (C)", "6*N*D", "5%", "'r2'", "'r4'", "1.1", "0.8")
    assert "'r3'" not in message


def test_compute_within_tolerance_passes(small_frame):
    small_frame.loc["r2", "C"] *= 1.04
    data = ScalingData.from_frame(small_frame)
    assert data.values("C")[2] == pytest.approx(1.04 * 6.0 * 4e8 * 8e9)  # the given C is kept, not replaced


def test_compute_rtol_is_adjustable(small_frame):
    small_frame.loc["r2", "C"] *= 1.10
    ScalingData.from_frame(small_frame, compute_rtol=0.2)
    _raises(small_frame, "more than 1%", compute_rtol=0.01)


# ---------------------------------------------------------------- mapping and derived columns
def test_column_mapping(small_frame):
    frame = small_frame.rename(columns={"N": "n_params_total", "D": "train_tokens", "C": "flops_used", "loss": "eval"})
    frame["eval_set"] = ["web", "code", "web", "code", "web", "code"]
    data = ScalingData.from_frame(
        frame, columns={"N": "n_params_total", "D": "train_tokens", "C": "flops_used", "loss": "eval", "skill": "eval_set"}
    )
    assert set(data.frame.columns) == {"N", "D", "C", "loss", "skill"}
    np.testing.assert_array_equal(data.values("N"), small_frame["N"].to_numpy())
    np.testing.assert_array_equal(data.values("loss"), small_frame["loss"].to_numpy())
    assert data.groups == ("skill",)
    assert data.levels["skill"] == ("code", "web")


def test_aliases_are_recognised(small_frame):
    frame = small_frame.rename(columns={"N": "N_params", "D": "tokens", "C": "C_flops", "loss": "val_loss"})
    data = ScalingData.from_frame(frame)
    np.testing.assert_array_equal(data.values("D"), small_frame["D"].to_numpy())
    np.testing.assert_array_equal(data.values("loss"), small_frame["loss"].to_numpy())


def test_tokens_derived_from_compute(small_frame):
    data = ScalingData.from_frame(small_frame.drop(columns="D"))
    np.testing.assert_allclose(data.values("D"), small_frame["D"].to_numpy(), rtol=1e-12)
    assert data.notes == ("D derived as C / (6 N)",)


def test_size_derived_from_compute(small_frame):
    data = ScalingData.from_frame(small_frame.drop(columns="N"))
    np.testing.assert_allclose(data.values("N"), small_frame["N"].to_numpy(), rtol=1e-12)
    assert data.notes == ("N derived as C / (6 D)",)


def test_explicit_inputs_take_only_those_columns():
    frame = pd.DataFrame({"examples": [0.0, 10.0, 100.0], "loss": [2.0, 1.9, 1.8], "N": [1.0, 2.0, -3.0]})
    data = ScalingData.from_frame(frame, inputs=["examples"])
    assert data.inputs == ("examples",)
    assert "N" not in data.frame  # the (invalid) N column is not read at all
    _raises(frame.assign(examples=[0.0, -1.0, 2.0]), "column 'examples'", "negative", inputs=["examples"])


# ---------------------------------------------------------------- row labels and groups
def test_duplicated_row_labels(small_frame):
    frame = small_frame.rename(index={"r3": "r1", "r5": "r1"})
    message = _raises(frame, "row labels must be unique", "'r1'")
    assert "'r0'" not in message


def test_missing_group_labels(small_frame):
    small_frame["skill"] = ["a", "b", None, "a", np.nan, "b"]
    _raises(small_frame, "group column 'skill' (skill)", "missing labels", "'r2'", "'r4'")


def test_requested_group_column_missing(small_frame):
    _raises(small_frame, "missing column for 'datamix'", groups=["datamix"])


def test_groups_levels_codes_and_coords(small_frame):
    small_frame["skill"] = ["web", "code", "web", "code", "web", "math"]
    small_frame["datamix"] = "mixA"
    data = ScalingData.from_frame(small_frame)
    assert data.groups == ("skill", "datamix")
    assert data.levels == {"skill": ("code", "math", "web"), "datamix": ("mixA",)}
    np.testing.assert_array_equal(data.codes("skill"), [2, 0, 2, 0, 2, 1])
    assert data.coords() == {"obs": list(small_frame.index), "skill": ["code", "math", "web"], "datamix": ["mixA"]}


def test_categorical_group_keeps_its_order(small_frame):
    small_frame["skill"] = pd.Categorical(["web", "code"] * 3, categories=["web", "unused", "code"])
    data = ScalingData.from_frame(small_frame)
    assert data.levels["skill"] == ("web", "code")  # category order, unused levels dropped


def test_groups_argument_restricts_axes(small_frame):
    small_frame["skill"] = ["a", "b"] * 3
    small_frame["datamix"] = "m"
    assert ScalingData.from_frame(small_frame, groups=["skill"]).groups == ("skill",)
    assert ScalingData.from_frame(small_frame, groups=[]).groups == ()


# ---------------------------------------------------------------- explicit filters
def test_drop_highest(small_frame):
    data = ScalingData.from_frame(small_frame, drop_highest=2)
    assert list(data.frame.index) == ["r2", "r3", "r4", "r5"]
    assert len(data.notes) == 1
    assert "dropped the 2 highest-loss rows" in data.notes[0]
    assert "'r0'" in data.notes[0] and "'r1'" in data.notes[0]


def test_drop_highest_prunes_group_levels(small_frame):
    small_frame["skill"] = ["hard", "easy", "easy", "easy", "easy", "easy"]
    data = ScalingData.from_frame(small_frame, drop_highest=1)
    assert data.levels["skill"] == ("easy",)


@pytest.mark.parametrize("k", [-1, 6, 10])
def test_drop_highest_out_of_range(small_frame, k):
    _raises(small_frame, f"drop_highest={k}", "between 1 and 5", drop_highest=k)


def test_subset_records_note_and_prunes_levels(small_frame):
    small_frame["skill"] = ["a", "b", "a", "b", "a", "c"]
    data = ScalingData.from_frame(small_frame)
    sub = data.subset(data.frame["skill"] != "c", "without skill c")
    assert len(sub) == 5
    assert sub.levels["skill"] == ("a", "b")
    assert sub.notes == ("without skill c",)
    with pytest.raises(DataValidationError, match="selects no observations"):
        data.subset(np.zeros(6, dtype=bool), "nothing")


def test_json_round_trip(small_frame):
    small_frame["skill"] = ["a", "b"] * 3
    data = ScalingData.from_frame(small_frame.drop(columns="D"), name="toy")
    back = ScalingData.from_json(data.to_json())
    pd.testing.assert_frame_equal(back.frame, data.frame)
    assert (back.target, back.inputs, back.groups, back.notes, back.name) == (data.target, data.inputs, data.groups, data.notes, "toy")
    assert dict(back.levels) == dict(data.levels)


def test_json_round_trip_keeps_integer_row_labels(small_frame):
    frame = small_frame.reset_index(drop=True)
    frame.index = frame.index + 10
    data = ScalingData.from_frame(frame)
    back = ScalingData.from_json(data.to_json())
    assert list(back.frame.index) == [10, 11, 12, 13, 14, 15]
    pd.testing.assert_frame_equal(back.frame, data.frame)


def test_from_csv(tmp_path, small_frame):
    path = tmp_path / "runs.csv"
    small_frame.to_csv(path)
    data = ScalingData.from_csv(path, columns={})
    assert data.name == "runs"
    assert len(data) == 6
    with pytest.raises(FileNotFoundError, match="no such data file"):
        ScalingData.from_csv(tmp_path / "absent.csv")


def test_values_of_unknown_column(small_frame):
    with pytest.raises(KeyError, match="no column 'bleu'"):
        ScalingData.from_frame(small_frame).values("bleu")


# ---------------------------------------------------------------- shipped Chinchilla data
def test_chinchilla_dataset_sizes_and_epoch_exclusion():
    assert "chinchilla" in available_datasets()
    full = load_dataset("chinchilla")
    kept = load_dataset("chinchilla", exclude_top5=True)
    assert len(full) == 245
    assert len(kept) == 240
    raw = read_csv("chinchilla_approach3.csv")
    flagged = raw.index[raw["epoch_excluded_top5_loss"] == 1]
    assert len(flagged) == 5
    assert set(full.frame.index) - set(kept.frame.index) == set(flagged)
    # The excluded runs are exactly the five highest losses.
    assert set(flagged) == set(full.frame["loss"].nlargest(5).index)
    assert any("excluded Epoch AI's 5 highest-loss runs" in note for note in kept.notes)
    assert full.notes == ()
    # Compute is consistent with 6ND and the columns are the canonical ones.
    np.testing.assert_allclose(full.values("C"), 6 * full.values("N") * full.values("D"), rtol=0.05)
    assert full.target == "loss" and full.inputs == ("N", "D", "C")


def test_chinchilla_exclusion_equals_drop_highest():
    raw = read_csv("chinchilla_approach3.csv")
    via_drop = pd.DataFrame(raw).pipe(ScalingData.from_frame, columns={"N": "N_params", "D": "D_tokens", "C": "C_flops"}, drop_highest=5)
    kept = load_dataset("chinchilla", exclude_top5=True)
    assert list(via_drop.frame.index) == list(kept.frame.index)


def test_unknown_dataset_and_info():
    with pytest.raises(KeyError, match="unknown dataset 'nope'"):
        load_dataset("nope")
    assert "Epoch" in dataset_info("chinchilla")
