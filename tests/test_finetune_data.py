"""The shipped Lin et al. (2024) fine-tuning benchmark and its loader's options and validation."""

from __future__ import annotations

import numpy as np
import pytest

import bayeslaw as bl
from bayeslaw.datasets import FINETUNE_DATASETS, FINETUNE_FULL_BUDGET, available_datasets, dataset_info, read_csv


def test_registered_with_attribution() -> None:
    assert "finetune" in available_datasets()
    info = dataset_info("finetune")
    assert "Apache-2.0" in info and "linhaowei1/Fine-tuning-Scaling-Law" in info


def test_shipped_file_is_complete() -> None:
    raw = read_csv("finetune_curves.csv")
    assert len(raw) == 1350
    assert sorted(raw["dataset"].unique()) == list(FINETUNE_DATASETS)
    sizes = np.sort(raw["finetune_examples"].unique())
    np.testing.assert_array_equal(sizes, np.concatenate([[0], 200 * 2 ** np.arange(14)]))
    assert sizes.max() == FINETUNE_FULL_BUDGET
    assert (raw.groupby(["dataset", "model"]).size() == 15).all()
    assert raw.groupby("dataset")["model"].nunique().eq(30).all()


def test_one_dataset_without_zero_shot() -> None:
    data = bl.load_dataset("finetune", dataset="wmt19")
    assert len(data) == 30 * 14
    assert data.inputs == ("examples",) and data.target == "loss"
    assert data.groups == ("model",) and len(data.levels["model"]) == 30
    assert data.values("examples").min() == 200
    assert "wmt19/gpt2/1638400" in data.frame.index
    assert any("zero-shot" in note for note in data.notes)


def test_budget_filter_and_zero_shot() -> None:
    data = bl.load_dataset("finetune", dataset="flan", max_examples=FINETUNE_FULL_BUDGET / 512, include_zero_shot=True)
    assert len(data) == 30 * 6  # 0, 200, 400, 800, 1600, 3200
    assert data.values("examples").max() == 3200
    assert any("<= 3200" in note for note in data.notes)
    assert data.frame.loc["flan/gpt2/0", "loss"] == pytest.approx(4.86, abs=0.01)


def test_all_datasets_have_a_dataset_axis() -> None:
    data = bl.load_dataset("finetune")
    assert len(data) == 3 * 30 * 14
    assert data.groups == ("model", "dataset")
    assert data.levels["dataset"] == FINETUNE_DATASETS


def test_model_filter() -> None:
    data = bl.load_dataset("finetune", dataset="gigaword", models=["gpt2", "t5-base"])
    assert data.levels["model"] == ("gpt2", "t5-base")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"dataset": "imagenet"}, r"dataset: unknown labels \['imagenet'\]"),
        ({"dataset": ["flan", "flan"]}, "duplicated labels"),
        ({"models": ["gpt-5"]}, r"models: unknown labels \['gpt-5'\]"),
        ({"max_examples": 0}, "max_examples must be positive"),
        ({"max_examples": 100}, "select no fine-tuning points"),
    ],
)
def test_bad_options_are_refused(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        bl.load_dataset("finetune", **options)
