"""Shared plumbing of the case studies: fast mode, output folders and the markdown results file.

Every case study is a jupytext percent-format script (opens as a notebook) run as
``python case_studies/<name>.py``. It writes figures and ``<name>.md`` (every
number it quotes) to ``case_studies/results/``. With ``BAYESLAW_FAST=1`` (used by
``.ci/run``) it samples few draws and writes to ``$BAYESLAW_CASE_OUT`` (default: a
temporary folder) instead, so the committed full-run results are never overwritten.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import pandas as pd

HERE = Path(__file__).resolve().parent
FAST = os.environ.get("BAYESLAW_FAST", "") == "1"


def sampler_settings() -> dict[str, int]:
    """Draws/tune/chains: the library defaults in a full run, a short run in fast mode."""
    return {"draws": 150, "tune": 150, "chains": 2} if FAST else {"draws": 1000, "tune": 1000, "chains": 4}


def output_dir() -> Path:
    """Where results go: ``case_studies/results`` (full run) or a scratch folder (fast mode)."""
    if FAST:
        folder = Path(os.environ.get("BAYESLAW_CASE_OUT") or tempfile.mkdtemp(prefix="bayeslaw-case-"))
    else:
        folder = HERE / "results"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def markdown_table(frame: pd.DataFrame, floatfmt: str = ".4g", index: bool = True) -> str:
    """A GitHub-flavoured markdown table (no extra dependency)."""
    frame = frame.reset_index() if (index and frame.index.name is not None) or isinstance(frame.index, pd.MultiIndex) else frame

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return format(value, floatfmt)
        return str(value)

    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


class Results:
    """Collects the markdown results of one case study and writes them with its figures."""

    def __init__(self, name: str, title: str) -> None:
        self.name = name
        self.folder = output_dir()
        self.parts: list[str] = [f"# {title}", ""]
        if FAST:
            self.parts += ["> FAST MODE (few draws): numbers below are a smoke test, not results.", ""]

    def text(self, *paragraphs: str) -> None:
        """Add paragraphs of prose (each may hold computed numbers)."""
        for paragraph in paragraphs:
            self.parts += [paragraph, ""]

    def heading(self, title: str, level: int = 2) -> None:
        """Add a section heading."""
        self.parts += ["#" * level + " " + title, ""]

    def table(self, frame: pd.DataFrame, caption: str | None = None, floatfmt: str = ".4g") -> None:
        """Add a table (and an optional caption line above it)."""
        if caption:
            self.parts += [f"**{caption}**", ""]
        self.parts += [markdown_table(frame, floatfmt), ""]

    def figure(self, fig: Any, stem: str, caption: str) -> Path:
        """Save ``fig`` as ``<name>_<stem>.png`` and reference it."""
        path = self.folder / f"{self.name}_{stem}.png"
        fig.savefig(path, dpi=120, bbox_inches="tight")
        self.parts += [f"![{caption}]({path.name})", "", f"*{caption}*", ""]
        return path

    def bullet_list(self, items: Sequence[str]) -> None:
        """Add a bulleted list."""
        self.parts += [f"- {item}" for item in items] + [""]

    def write(self) -> Path:
        """Write ``<name>.md`` and return its path."""
        path = self.folder / f"{self.name}.md"
        path.write_text("\n".join(self.parts))
        print(f"wrote {path}")
        return path
