"""Impossible data raises, implausible data warns with its check and range, each warning can be silenced (issue 11)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bayeslaw as bl
from bayeslaw import plausibility
from bayeslaw.data import DataValidationError, ScalingData
from bayeslaw.plausibility import PlausibilityWarning

N_PARAMS = 5  # the Chinchilla law's E, A, B, alpha, beta


def grid(n: int = 12) -> pd.DataFrame:
    """A plausible design: sizes 1e7..3e9, 5..80 tokens per parameter, a Chinchilla-like loss."""
    rng = np.random.default_rng(0)
    size = np.geomspace(1e7, 3e9, n)
    tokens = size * np.tile([5.0, 20.0, 80.0], n)[:n]
    loss = 1.8 + 400 / size**0.34 + 2000 / tokens**0.37
    return pd.DataFrame({"N": size, "D": tokens, "loss": loss * np.exp(rng.normal(0, 0.01, n))})


def checks_warned(frame: pd.DataFrame, **kwargs: object) -> set[str]:
    data = ScalingData.from_frame(frame, **kwargs)  # type: ignore[arg-type]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plausibility.check_data(data, N_PARAMS)
    return {w.message.check for w in caught if isinstance(w.message, PlausibilityWarning)}


def test_plausible_data_passes_silently() -> None:
    assert checks_warned(grid()) == set()


def test_billions_and_trillions_warn_magnitude_with_the_range() -> None:
    frame = grid().assign(N=lambda f: f["N"] / 1e9, D=lambda f: f["D"] / 1e12)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plausibility.check_data(ScalingData.from_frame(frame), N_PARAMS)
    messages = [str(w.message) for w in caught]
    assert {w.message.check for w in caught} == {"magnitude"} and len(messages) == 2
    assert re.search(r"N spans .* outside the plausible \[1e\+04, 1e\+14\].*7e10, not 70", messages[0])
    assert re.search(r"D spans .* outside the plausible \[1e\+04, 1e\+16\].*1.4e12", messages[1])
    assert all("--allow magnitude" in m for m in messages)


def test_silence_is_explicit_and_by_name() -> None:
    data = ScalingData.from_frame(grid().assign(N=lambda f: f["N"] / 1e9))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with plausibility.silence("magnitude"):
            plausibility.check_data(data, N_PARAMS)
    with pytest.warns(PlausibilityWarning):  # only inside the block
        plausibility.check_data(data, N_PARAMS)
    with pytest.raises(ValueError, match="unknown plausibility checks"):
        with plausibility.silence("magnitud"):
            pass


def test_one_row_is_an_error() -> None:
    data = ScalingData.from_frame(grid().iloc[:1])
    with pytest.raises(DataValidationError, match="1 run: a scaling law needs at least two runs"):
        plausibility.check_data(data, N_PARAMS)


def test_all_runs_at_the_same_inputs_is_an_error() -> None:
    frame = grid(4).assign(N=1e8, D=2e9)
    with pytest.raises(DataValidationError, match="all 4 runs have the same inputs"):
        plausibility.check_data(ScalingData.from_frame(frame), N_PARAMS)


def test_fewer_runs_than_parameters_warns() -> None:
    assert "few_runs" in checks_warned(grid(3))


def test_constant_input_warns() -> None:
    assert "constant_input" in checks_warned(grid().assign(N=1e8))


def test_duplicated_rows_warn_and_name_rows() -> None:
    frame = pd.concat([grid(), grid().iloc[[2]]], ignore_index=True)
    data = ScalingData.from_frame(frame)
    with pytest.warns(PlausibilityWarning, match=r"1 rows repeat an earlier row exactly \(rows 12\)"):
        plausibility.check_data(data, N_PARAMS)


def test_duplicated_csv_column_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("N,D,N,loss\n1e8,2e9,5,3.0\n2e8,4e9,6,2.9\n")
    with pytest.raises(DataValidationError, match=r"duplicated column names \['N'\]"):
        ScalingData.from_csv(path)
    frame = pd.DataFrame([[1e8, 2e9, 3.0]], columns=["N", "N", "loss"])
    with pytest.raises(DataValidationError, match="duplicated column names"):
        ScalingData.from_frame(frame)


def test_n_and_d_mapped_to_the_same_column_is_an_error() -> None:
    with pytest.raises(DataValidationError, match="column 'N' is used both as 'N' and as 'D'"):
        ScalingData.from_frame(grid(), columns={"D": "N"})


def test_computed_compute_of_inf_is_an_error() -> None:
    frame = grid().assign(N=lambda f: f["N"] * 1e150, D=lambda f: f["D"] * 1e160)
    with pytest.raises(DataValidationError, match=r"C computed from the other columns is inf .* rows \[0, 1"):
        ScalingData.from_frame(frame)


def test_mapping_hint_has_a_command_line_form() -> None:
    with pytest.raises(DataValidationError) as info:
        ScalingData.from_frame(grid().rename(columns={"N": "size"}))
    assert "columns={'N': 'your_column'}" in str(info.value)
    assert "--map N=COLUMN" in info.value.cli_message


def test_budget_checks() -> None:
    data = ScalingData.from_frame(grid())
    with pytest.raises(ValueError, match="budget 1e-30 FLOPs is below 6"):
        plausibility.check_budgets([1e-30], data)
    with pytest.warns(PlausibilityWarning, match=r"budgets 1e\+300 FLOPs lie far outside") as caught:
        plausibility.check_budgets([1e22, 1e300], data)
    assert [w.message.check for w in caught] == ["extrapolation"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plausibility.check_budgets([1e21, 1e23], data)  # within [min C / 100, max C x 1e4]


def test_prediction_points_at_one_warn_extrapolation() -> None:
    data = ScalingData.from_frame(grid())
    with pytest.warns(PlausibilityWarning) as caught:
        plausibility.check_points({"N": 1.0, "D": 1.0}, data)
    assert {w.message.check for w in caught} == {"extrapolation"}


def test_tokens_per_parameter_far_outside_the_data_warns() -> None:
    data = ScalingData.from_frame(grid())  # 5..80 tokens per parameter
    with pytest.warns(PlausibilityWarning, match="tokens per parameter") as caught:
        plausibility.check_points({"N": 1e9, "D": 1e13}, data)  # 10,000 tokens per parameter
    assert {w.message.check for w in caught} == {"tokens_per_param"}
    with pytest.warns(PlausibilityWarning, match="the optimum has 0.0044 tokens per parameter"):
        plausibility.check_optimum(0.0044, data)


def test_fit_refuses_one_row_before_sampling(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    fit_module = importlib.import_module("bayeslaw.fit")  # patch where fit() calls it, so the patch is undone for later tests

    def no_sampling(*args: object, **kwargs: object) -> None:
        raise AssertionError("sampling must not start")

    monkeypatch.setattr(fit_module, "run_sampler", no_sampling)
    with pytest.raises(DataValidationError, match="at least two runs"):
        bl.fit(grid().iloc[:1], draws=10, tune=10, chains=1)
