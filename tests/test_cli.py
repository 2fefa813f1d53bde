"""The ``bayeslaw`` command line: demo, fit/optimum/predict on a user CSV, listings and error handling."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bayeslaw as bl
from bayeslaw.cli import main
from bayeslaw.constants import CHINCHILLA_BUDGET
from bayeslaw.datasets import read_csv
from bayeslaw.diagnostics import ConvergenceWarning

# The short runs here test the command line, not convergence (which the report's banner states).
pytestmark = pytest.mark.filterwarnings("ignore::bayeslaw.diagnostics.ConvergenceWarning")

SHORT = ["--draws", "150", "--tune", "150", "--chains", "2", "--no-progress", "--seed", "3"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def load_quietly(path: Path) -> bl.Fit:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return bl.load_fit(path)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, Path]:
    """``bayeslaw demo`` with a short sampler run, once for the module."""
    import contextlib
    import io

    out = tmp_path_factory.mktemp("demo")
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(io.StringIO()):
        code = main(["demo", "--out", str(out), *SHORT])
    return code, stdout.getvalue(), out


@pytest.fixture(scope="module")
def user_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped Chinchilla runs with a user's own column names."""
    raw = read_csv("chinchilla_approach3.csv")
    frame = raw[["N_params", "D_tokens", "C_flops", "loss"]].rename(
        columns={"N_params": "n_params", "D_tokens": "train_tokens", "C_flops": "flops", "loss": "val_loss"}
    )
    path = tmp_path_factory.mktemp("user") / "runs.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def user_fit(user_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, Path]:
    """``bayeslaw fit`` on the renamed CSV, dropping the 5 highest losses."""
    import contextlib
    import io

    fit_path = tmp_path_factory.mktemp("fit") / "user_fit.nc"
    stdout = io.StringIO()
    argv = ["fit", str(user_csv), "--model", "chinchilla", "--out", str(fit_path), "--params-col", "n_params"]
    argv += ["--map", "D=train_tokens", "--compute-col", "flops", "--loss-col", "val_loss", "--drop-highest", "5", *SHORT]
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(io.StringIO()):
        code = main(argv)
    return code, stdout.getvalue(), fit_path


# ----------------------------------------------------------------------------- demo
def test_demo_prints_parameters_and_optimum_and_writes_fit_and_plots(demo_run: tuple[int, str, Path]) -> None:
    code, out, folder = demo_run
    assert code == 0
    for name in ("E", "A", "B", "alpha", "beta", "a"):
        assert re.search(rf"^{name}\s+\S+\s+\[", out, re.MULTILINE), name
    assert "90% interval" in out and "r_hat" in out
    assert re.search(r"(Convergence OK|NOT CONVERGED).*divergences \d+/300", out)
    for path in ("chinchilla_fit.nc", "fit_curves.png", "optimum_fan.png", "posterior.png"):
        assert (folder / path).stat().st_size > 1000, path
    # The printed N* is the saved fit's N* at Chinchilla's budget.
    fitted = load_quietly(folder / "chinchilla_fit.nc")
    assert len(fitted.data) == 240 and fitted.seed == 3
    match = re.search(r"^N\* \(params\) @ 5\.76e\+23 FLOPs\s+(\S+)\s+\[(\S+), (\S+)\]", out, re.MULTILINE)
    assert match, out
    summary = fitted.compute_optimal(CHINCHILLA_BUDGET).summary()
    row = summary[summary["quantity"] == "N_opt"].iloc[0]
    assert float(match.group(1)) == pytest.approx(row["median"], rel=1e-3)
    assert float(match.group(2)) == pytest.approx(row["lower"], rel=1e-3)
    assert float(match.group(3).rstrip("]")) == pytest.approx(row["upper"], rel=1e-3)
    assert 3e10 < row["median"] < 2e11


# ----------------------------------------------------------------------------- fit / optimum / predict
def test_fit_maps_user_columns_drops_explicitly_and_saves(user_fit: tuple[int, str, Path]) -> None:
    code, out, path = user_fit
    assert code == 0, out
    assert "bayeslaw fit: model 'chinchilla'" in out and "dropped the 5 highest-loss rows" in out
    assert re.search(r"^alpha\s", out, re.MULTILINE)
    fitted = load_quietly(path)
    assert len(fitted.data) == 240
    assert set(fitted.data.frame.columns) >= {"N", "D", "C", "loss"}
    assert fitted.data.values("loss").max() < read_csv("chinchilla_approach3.csv")["loss"].max()


def test_optimum_prints_one_row_per_budget(user_fit: tuple[int, str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, _, path = user_fit
    code, out, err = run(capsys, "optimum", str(path), "--budget", "1e22", "--budget", "1e24")
    assert code == 0, err
    rows = [line for line in out.splitlines() if re.match(r"^1e\+2[24]\s", line)]
    assert len(rows) == 2
    assert "N*" in out and "D*/N*" in out
    expected = load_quietly(path).compute_optimal([1e22, 1e24]).summary()
    n_star = expected[(expected["quantity"] == "N_opt") & (expected["budget"] == 1e24)]["median"].item()
    assert f"{n_star:.3g}" in rows[1]


def test_predict_prints_intervals(user_fit: tuple[int, str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, _, path = user_fit
    code, out, err = run(capsys, "predict", str(path), "--params", "1e9", "7e10", "--tokens", "2e10", "1.4e12")
    assert code == 0, err
    table = load_quietly(path).predict([1e9, 7e10], [2e10, 1.4e12])
    lines = [line for line in out.splitlines() if line.strip().startswith(("1e+09", "7e+10"))]
    assert len(lines) == 2
    for line, median in zip(lines, table["mean_median"], strict=True):
        assert f"{median:.4g}" in line
    assert "90%" in out


def test_optimum_mix_needs_skills(user_fit: tuple[int, str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, _, path = user_fit
    code, _, err = run(capsys, "optimum", str(path), "--budget", "1e22", "--mix", "code=1")
    assert code == 2 and "needs a fit with a 'skill' axis" in err


# ----------------------------------------------------------------------------- listings
def test_models_and_datasets_are_listed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "models")
    assert code == 0
    assert re.search(r"^chinchilla\s+Chinchilla law", out, re.MULTILINE)
    assert len(out.splitlines()) == len(bl.available_models())
    code, out, _ = run(capsys, "datasets")
    assert code == 0 and "chinchilla" in out and "license:" in out


# ----------------------------------------------------------------------------- errors
def one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_missing_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "fit", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "f.nc"))
    one_line_error(code, err, "no such data file", "nope.csv")


def test_bad_value_in_csv_names_column_and_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.csv"
    pd.DataFrame({"N": [1e8, 2e8, 4e8], "D": [2e9, 4e9, 8e9], "loss": [3.1, "abc", 2.8]}).to_csv(path, index=False)
    code, _, err = run(capsys, "fit", str(path), "--out", str(tmp_path / "f.nc"))
    one_line_error(code, err, "'loss'", "non-numeric", "'abc'", "[1]")


def test_missing_column_suggests_mapping(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cols.csv"
    pd.DataFrame({"size": [1e8, 2e8], "D": [2e9, 4e9], "loss": [3.1, 2.9]}).to_csv(path, index=False)
    code, _, err = run(capsys, "fit", str(path), "--out", str(tmp_path / "f.nc"))
    one_line_error(code, err, "missing column for 'N'", "size")
    code, _, err = run(capsys, "fit", str(path), "--out", str(tmp_path / "f.nc"), "--params-col", "n_params")
    one_line_error(code, err, "'n_params'", "not in the data")


def test_empty_and_garbage_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    code, _, err = run(capsys, "fit", str(empty), "--out", str(tmp_path / "f.nc"))
    one_line_error(code, err, "empty")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    code, _, err = run(capsys, "fit", str(binary), "--out", str(tmp_path / "f.nc"))
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_unknown_model_and_bad_spec(user_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "fit", str(user_csv), "--model", "chinchila", "--out", str(tmp_path / "f.nc"))
    one_line_error(code, err, "no model named 'chinchila'", "chinchilla")
    spec = tmp_path / "broken.toml"
    spec.write_text('name = "x"\nlaw = "chinchilla"\n[priors]\ngamma = { dist = "Normal", mu = 0, sigma = 1 }\n')
    code, _, err = run(capsys, "fit", str(user_csv), "--model", str(spec), "--out", str(tmp_path / "f.nc"))
    one_line_error(code, err, "broken.toml", "'gamma'")


def test_bad_map_and_out_options(user_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "fit", str(user_csv), "--out", str(tmp_path / "f.nc"), "--map", "loss")
    one_line_error(code, err, "--map", "NAME=VALUE")
    code, _, err = run(capsys, "fit", str(user_csv), "--out", str(tmp_path / "f.txt"), "--map", "N=n_params", "--map", "D=train_tokens")
    one_line_error(code, err, "--out", ".nc")


def test_files_that_are_not_fits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "optimum", str(tmp_path / "missing.nc"), "--budget", "1e22")
    one_line_error(code, err, "no such fit file")
    fake = tmp_path / "fake.nc"
    fake.write_text("not netcdf")
    code, _, err = run(capsys, "predict", str(fake), "--params", "1e9", "--tokens", "1e10")
    one_line_error(code, err, "fake.nc", "not a readable NetCDF")


def test_argument_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["optimum", "x.nc", "--budget", "-5"])
    assert info.value.code == 2
    assert "must be a finite positive number" in capsys.readouterr().err


def test_console_entry_point_reports_errors_without_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bayeslaw.cli", "fit", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "f.nc")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"bayeslaw fit: error: no such data file: {tmp_path / 'missing.csv'}"
    assert proc.stdout == ""


def test_seeded_demo_outputs_are_reproducible_numbers(demo_run: tuple[int, str, Path]) -> None:
    """The demo's table is computed from the fit it saved: medians of E and alpha agree with the file."""
    _, out, folder = demo_run
    summary = load_quietly(folder / "chinchilla_fit.nc").summary()
    for name in ("E", "alpha"):
        printed = float(re.search(rf"^{name}\s+(\S+)", out, re.MULTILINE).group(1))
        assert printed == pytest.approx(summary.loc[name, "median"], rel=1e-3)
    assert np.isfinite(summary.loc["a", "median"])


# ----------------------------------------------------------------------------- backtest and trust lines
def test_backtest_prints_the_score_table_per_cut_and_model(user_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_csv = tmp_path / "bt.csv"
    argv = ["backtest", str(user_csv), "--model", "chinchilla", "--model", "kaplan", "--cut", "0.1", "--pointfit"]
    argv += ["--params-col", "n_params", "--map", "D=train_tokens", "--compute-col", "flops", "--loss-col", "val_loss"]
    argv += ["--out", str(out_csv), *SHORT]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    rows = [line.split() for line in out.splitlines() if line.strip().startswith("0.1 ")]
    assert [r[1] for r in rows] == ["chinchilla", "kaplan", "pointfit"]
    assert "cover_obs_90" in out and "crps" in out
    per_run = pd.read_csv(out_csv)
    assert set(per_run["model"]) == {"chinchilla", "kaplan", "pointfit"} and (per_run["extrapolation"] > 1).all()


def test_backtest_rejects_a_cut_outside_zero_one(user_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "backtest", str(user_csv), "--cut", "2", "--loss-col", "val_loss")
    assert code == 2 and "--cut" in err


def test_predict_prints_trust_lines_far_beyond_the_training_compute(
    user_fit: tuple[int, str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, path = user_fit
    code, out, err = run(capsys, "predict", str(path), "--params", "1e12", "--tokens", "2e14")
    assert code == 0, err
    assert re.search(r"^CAUTION: 1 forecast point\(s\) lie beyond 10x the largest training compute", out, re.MULTILINE)
