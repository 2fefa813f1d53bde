"""``case_studies/run_notebooks.py``: its options, and the self-contained HTML it renders (with the ``notebooks`` extra)."""

from __future__ import annotations

import base64
import importlib.util
import os
import re
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "case_studies" / "run_notebooks.py"


@pytest.fixture(scope="module")
def runner():
    spec = importlib.util.spec_from_file_location("run_notebooks", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_notebooks"] = module
    spec.loader.exec_module(module)
    return module


def test_it_finds_every_case_study_and_refuses_bad_options(runner, tmp_path) -> None:
    names = [p.stem for p in runner.case_studies()]
    assert "chinchilla_replication" in names and "casekit" not in names and "run_notebooks" not in names
    for argv in (
        [],  # nowhere to write
        ["--full", "--fast", "--out", str(tmp_path)],
        ["--html"],  # --html renders into --out
        ["--out", str(tmp_path), "no_such_study"],
    ):
        with pytest.raises(SystemExit) as exit_info:
            runner.main(argv)
        assert exit_info.value.code == 2, argv


def test_full_and_fast_set_the_mode_the_case_studies_read(runner, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("BAYESLAW_FAST", "1")
    monkeypatch.setenv("BAYESLAW_CASE_OUT", "/tmp/x")
    monkeypatch.setattr(runner, "case_studies", lambda: [])
    assert runner.main(["--full", "--html-out", str(tmp_path)]) == 0
    assert "BAYESLAW_FAST" not in os.environ and "BAYESLAW_CASE_OUT" not in os.environ and runner.mode() == "full"
    assert runner.main(["--fast", "--out", str(tmp_path)]) == 0
    assert os.environ["BAYESLAW_FAST"] == "1" and runner.mode() == "fast"


def test_html_is_self_contained_and_says_how_it_ran(runner, monkeypatch) -> None:
    pytest.importorskip("nbconvert", reason="the notebooks extra is not installed")
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"0" * 64).decode()
    cell = new_code_cell("print(1)", outputs=[new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"})])
    notebook = new_notebook(cells=[new_markdown_cell("# A study"), cell])
    monkeypatch.delenv("BAYESLAW_FAST", raising=False)
    notebook.cells.insert(0, runner.header_cell(SCRIPT.parent / "chinchilla_replication.py", 12.0))
    page = runner.to_html(notebook, "chinchilla_replication")
    assert "<script" not in page, "the page loads or runs scripts"
    assert not re.findall(r"(?:src|href)=[\"']?https?://", page), "the page loads resources from the network"
    assert f"data:image/png;base64,{png}" in page
    assert "full run" in page and "--full --html-out case_studies/results chinchilla_replication" in page
    assert "<title>chinchilla_replication</title>" in page
