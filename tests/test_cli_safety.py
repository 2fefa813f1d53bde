"""Command-line habits of issue 11: errors before any slow work, in one line, with hints in CLI syntax."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bayeslaw as bl
from bayeslaw.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code: int, err: str, *needles: str) -> str:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def parse_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    assert info.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


@pytest.fixture
def csv(tmp_path: Path) -> Path:
    """Twelve plausible runs."""
    size = np.geomspace(1e7, 3e9, 12)
    tokens = size * np.tile([5.0, 20.0, 80.0], 4)
    frame = pd.DataFrame({"size": size, "D": tokens, "loss": 1.8 + 400 / size**0.34 + 2000 / tokens**0.37})
    path = tmp_path / "runs.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(autouse=True)
def no_sampling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any attempt to fit fail loudly: every test here must end before sampling."""
    from bayeslaw.cli import CLIError

    def stop(*args: object, **kwargs: object) -> None:
        raise CLIError("reached sampling")

    monkeypatch.setattr(bl, "fit", stop)


def test_misspelt_map_key_is_an_error(csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "fit", str(csv), "--out", str(tmp_path / "f.nc"), "--map", "NN=size")
    one_line_error(code, err, "--map NN=", "'NN' is not a variable", "did you mean 'N'?")


def test_map_for_a_variable_the_model_does_not_read(csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "fit", str(csv), "--out", str(tmp_path / "f.nc"), "--map", "N=size", "--map", "bleu=loss")
    one_line_error(code, err, "['bleu']", "does not use")


def test_duplicate_mix_keys_are_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "optimum", str(tmp_path / "f.nc"), "--budget", "1e22", "--mix", "code=1", "--mix", "code=2")
    one_line_error(code, err, "--mix code=... is given twice")


def test_negative_params_say_what_is_wrong(capsys: pytest.CaptureFixture[str]) -> None:
    line = parse_error(capsys, "predict", "f.nc", "--params", "-7e10", "--tokens", "1e12")
    assert "argument --params: must be a finite positive number, got '-7e10'" in line


def test_negative_seed_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    line = parse_error(capsys, "fit", "x.csv", "--out", "f.nc", "--seed", "-1")
    assert "argument --seed: must be an integer from 0 to 4294967295, got '-1'" in line


@pytest.mark.skipif(importlib.util.find_spec("jax") is not None, reason="jax is installed here")
def test_numpyro_without_jax_is_one_line_exit_2(csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "fit", str(csv), "--out", str(tmp_path / "f.nc"), "--backend", "numpyro")
    one_line_error(code, err, "--backend numpyro needs the packages", "jax", "--backend nutpie")


def test_hints_use_command_line_syntax(csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "fit", str(csv), "--out", str(tmp_path / "f.nc"))
    line = one_line_error(code, err, "missing column for 'N'", "--map N=COLUMN")
    assert "columns=" not in line


def test_compute_rtol_is_settable(tmp_path: Path, capsys: pytest.CaptureFixture[str], no_sampling: None) -> None:
    path = tmp_path / "c.csv"
    size = np.geomspace(1e7, 3e9, 8)
    tokens = 20 * size
    pd.DataFrame({"N": size, "D": tokens, "C": 6.6 * size * tokens, "loss": 2 + 1e3 / size**0.3}).to_csv(path, index=False)
    code, _, err = run(capsys, "fit", str(path), "--out", str(tmp_path / "f.nc"))
    one_line_error(code, err, "disagrees with 6*N*D by more than 5%", "--compute-rtol")
    code, _, err = run(capsys, "fit", str(path), "--out", str(tmp_path / "f.nc"), "--compute-rtol", "0.2")
    assert code == 2 and "reached sampling" in err  # the data passed


def test_plausibility_warnings_before_sampling_and_allow(tmp_path: Path, capsys: pytest.CaptureFixture[str], no_sampling: None) -> None:
    path = tmp_path / "billions.csv"
    size = np.geomspace(0.01, 3, 12)  # billions
    pd.DataFrame({"N": size, "D": 20 * size, "loss": 2 + 1 / size**0.3}).to_csv(path, index=False)
    _, _, err = run(capsys, "fit", str(path), "--out", str(tmp_path / "f.nc"), "--allow", "constant_input")
    assert "PlausibilityWarning: N spans" in err and "--allow magnitude" in err and "reached sampling" in err
    _, _, err = run(capsys, "fit", str(path), "--out", str(tmp_path / "f.nc"), "--allow", "magnitude")
    assert "PlausibilityWarning" not in err and "reached sampling" in err


def test_one_row_dataset_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "one.csv"
    path.write_text("N,D,loss\n1e8,2e9,3.1\n")
    code, _, err = run(capsys, "fit", str(path), "--out", str(tmp_path / "f.nc"))
    one_line_error(code, err, "1 run: a scaling law needs at least two runs")


def test_duplicated_column_and_shared_column(csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dup = tmp_path / "dup.csv"
    dup.write_text("N,D,N,loss\n1e8,2e9,5,3.0\n2e8,4e9,6,2.9\n")
    code, _, err = run(capsys, "fit", str(dup), "--out", str(tmp_path / "f.nc"))
    one_line_error(code, err, "duplicated column names ['N']")
    code, _, err = run(capsys, "fit", str(csv), "--out", str(tmp_path / "f.nc"), "--map", "N=D")
    one_line_error(code, err, "column 'D' is used both as 'N' and as 'D'")


def test_output_checked_before_any_work(csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], no_sampling: None) -> None:
    a_file = tmp_path / "existing"
    a_file.write_text("keep me")
    code, _, err = run(capsys, "demo", "--out", str(a_file))
    one_line_error(code, err, "--out:", "exists and is a file, not a folder")
    code, _, err = run(capsys, "fit", str(csv), "--map", "N=size", "--out", str(a_file / "f.nc"))
    one_line_error(code, err, "--out:", "is a file, not a folder")
    code, _, err = run(capsys, "fit", str(csv), "--map", "N=size", "--out", str(tmp_path / "f.nc"), "--plots", str(a_file))
    one_line_error(code, err, "--plots:")
    assert a_file.read_text() == "keep me"


def test_shipped_model_name_beats_a_folder_in_cwd(csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, no_sampling) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "chinchilla").mkdir()
    _, _, err = run(capsys, "fit", str(csv), "--map", "N=size", "--model", "chinchilla", "--out", "f.nc")
    assert "reached sampling" in err and "model 'chinchilla'" in err


def test_bad_spec_fails_before_sampling(csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "neg.toml"
    spec.write_text('name = "neg"\nlaw = "chinchilla"\n[likelihood]\npriors = { sigma = { dist = "HalfNormal", sigma = -0.1 } }\n')
    code, _, err = run(capsys, "fit", str(csv), "--map", "N=size", "--model", str(spec), "--out", str(tmp_path / "f.nc"))
    one_line_error(code, err, "neg.toml", "likelihood prior 'sigma'", "log density nan")
    spec.write_text('name = "lr"\nlaw = "chinchilla"\n[sampler]\nlow_rank = "no"\n')
    code, _, err = run(capsys, "fit", str(csv), "--map", "N=size", "--model", str(spec), "--out", str(tmp_path / "f.nc"))
    one_line_error(code, err, "low_rank must be true or false, got 'no'")
    assert not (tmp_path / "f.nc").exists()


def test_argument_and_data_errors_do_not_load_pymc(tmp_path: Path) -> None:
    """What makes these errors fast (timings: benchmarks/fuzz_inputs.py): PyMC and ArviZ are never imported."""
    script = (
        "import sys\nfrom bayeslaw.cli import main\n"
        f"assert main(['fit', {str(tmp_path / 'missing.csv')!r}, '--out', {str(tmp_path / 'f.nc')!r}]) == 2\n"
        "bad = [m for m in ('pymc', 'arviz', 'pytensor', 'scipy') if m in sys.modules]\nassert not bad, bad\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert proc.returncode == 0, proc.stderr


def test_dollar_labels_do_not_break_the_plots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Skill labels such as '$5_$' are text in the command's plots, not TeX that fails after the run."""
    import matplotlib.pyplot as plt

    from bayeslaw.cli import write_plots
    from bayeslaw.plotting import fits

    def labelled(fit_: object) -> object:
        fig, ax = plt.subplots()
        ax.plot([1, 2], [1, 2], label="$5_$ skill")
        ax.legend()
        return fig

    monkeypatch.setattr(fits, "plot_fit", labelled)
    monkeypatch.setattr(fits, "plot_posterior", labelled)
    law = type("Law", (), {"allocates_compute": staticmethod(lambda: False)})
    stub = type("FitStub", (), {"law": law})()
    written = write_plots(stub, tmp_path / "plots", 1e22)
    assert [p.name for p in written] == ["fit_curves.png", "posterior.png"] and all(p.stat().st_size > 0 for p in written)
