"""Shared plumbing of the case studies: fast mode, output folders and the markdown results file.

Every case study is a jupytext percent-format script (opens as a notebook) run as
``python case_studies/<name>.py``. It writes figures and ``<name>.md`` (every
number it quotes) to ``case_studies/results/``. With ``BAYESLAW_FAST=1`` (used by
``.ci/run``) it samples few draws and writes to ``$BAYESLAW_CASE_OUT`` (default: a
temporary folder) instead, so the committed full-run results are never overwritten.
"""

from __future__ import annotations

import os
import sys
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


def notebook_display() -> Any:
    """IPython's ``display`` when this runs in a Jupyter kernel (``run_notebooks.py``), else ``None``."""
    if "ipykernel" not in sys.modules:
        return None
    from IPython import get_ipython
    from IPython.display import display

    shell = get_ipython()
    return display if shell is not None and type(shell).__name__ == "ZMQInteractiveShell" else None


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
    """Collects the markdown results of one case study and writes them with its figures.

    Run as a notebook, every piece is also shown in the notebook as it is added
    (markdown, figures as PNG), so an executed notebook reads like the results file.
    """

    def __init__(self, name: str, title: str) -> None:
        self.name = name
        self.folder = output_dir()
        self.parts: list[str] = []
        self._add(f"# {title}", "")
        if FAST:
            self._add("> FAST MODE (few draws): numbers below are a smoke test, not results.", "")

    def _add(self, *lines: str) -> None:
        self.parts += lines
        self._show_markdown("\n".join(lines))

    def _show_markdown(self, text: str) -> None:
        display = notebook_display()
        if display is not None and text.strip():
            from IPython.display import Markdown

            display(Markdown(text))

    def text(self, *paragraphs: str) -> None:
        """Add paragraphs of prose (each may hold computed numbers)."""
        for paragraph in paragraphs:
            self._add(paragraph, "")

    def heading(self, title: str, level: int = 2) -> None:
        """Add a section heading."""
        self._add("#" * level + " " + title, "")

    def table(self, frame: pd.DataFrame, caption: str | None = None, floatfmt: str = ".4g") -> None:
        """Add a table (and an optional caption line above it)."""
        self._add(*([f"**{caption}**", ""] if caption else []), markdown_table(frame, floatfmt), "")

    def figure(self, fig: Any, stem: str, caption: str) -> Path:
        """Save ``fig`` as ``<name>_<stem>.png`` and reference it (in a notebook: show it)."""
        import matplotlib.pyplot as plt

        path = self.folder / f"{self.name}_{stem}.png"
        fig.savefig(path, dpi=120, bbox_inches="tight")
        plt.close(fig)
        self.parts += [f"![{caption}]({path.name})", "", f"*{caption}*", ""]
        display = notebook_display()
        if display is not None:
            from IPython.display import Image

            display(Image(filename=str(path)))
            self._show_markdown(f"*{caption}*")
        return path

    def bullet_list(self, items: Sequence[str]) -> None:
        """Add a bulleted list."""
        self._add(*[f"- {item}" for item in items], "")

    def write(self) -> Path:
        """Write ``<name>.md`` and return its path."""
        path = self.folder / f"{self.name}.md"
        path.write_text("\n".join(self.parts))
        print(f"wrote {path}")
        return path
