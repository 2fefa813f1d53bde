"""Execute every case study as a Jupyter notebook (jupytext percent script -> ipynb -> nbclient), optionally rendered to HTML.

Usage (needs the ``notebooks`` extra: ``pip install "bayeslaw[notebooks]"``)::

    # CI: every case study in fast mode (few draws; results to a scratch folder), executed notebooks kept in /tmp/nb
    python case_studies/run_notebooks.py --fast --out /tmp/nb

    # The committed results: every case study in FULL mode, rendered to self-contained HTML beside its results file
    python case_studies/run_notebooks.py --full --html-out case_studies/results

    # One case study only (names are the scripts' stems)
    python case_studies/run_notebooks.py --full --html-out case_studies/results chinchilla_replication

Each case study runs in a fresh kernel with ``case_studies/`` as its working
directory. ``--full`` runs it as ``python case_studies/<name>.py`` would (the
library's default draws; figures and ``<name>.md`` go to ``case_studies/results``);
``--fast`` sets ``BAYESLAW_FAST=1`` (few draws, scratch output); with neither, the
environment's ``BAYESLAW_FAST`` decides. ``--out`` keeps the executed notebooks
(``.ipynb``, outputs included); ``--html-out`` writes ``<name>.html``: the
notebook with its code, printed output, tables and figures (PNG embedded), a
header saying how and when it was run, and no script or style loaded from the
network (nbconvert's lab template without MathJax and require.js). A notebook
whose cell fails writes no HTML (so a committed page is never replaced by a
failed run); its ``.ipynb`` in ``--out`` shows the error. The exit status is the
number of failed notebooks (0 = all ran).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
#: Seconds one cell may run (the slowest full-mode cells fit dozens of models).
CELL_TIMEOUT = 4 * 3600
#: nbconvert template folder: the lab template without the scripts it loads from the network.
TEMPLATES = HERE / "nbconvert_templates"
TEMPLATE = "offline"


def case_studies() -> list[Path]:
    """The case-study scripts (every ``*.py`` here except the helpers)."""
    return sorted(p for p in HERE.glob("*.py") if p.name not in ("casekit.py", Path(__file__).name))


def mode() -> str:
    """``"fast"`` or ``"full"``, from ``BAYESLAW_FAST`` (as the case studies read it)."""
    return "fast" if os.environ.get("BAYESLAW_FAST", "") == "1" else "full"


def header_cell(script: Path, seconds: float) -> Any:
    """A markdown cell saying what was run, how, when and with which versions."""
    from importlib import metadata

    from nbformat.v4 import new_markdown_cell

    versions = []
    for name in ("bayeslaw", "pymc", "nutpie", "arviz"):
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    how = (
        "**full run** (the library's default draws; the numbers and figures are those in `case_studies/results/`)"
        if mode() == "full"
        else "**FAST MODE** (few draws): a smoke test, not results"
    )
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rerun = f"python case_studies/run_notebooks.py --full --html-out case_studies/results {script.stem}"
    return new_markdown_cell(
        f"> Rendered from `case_studies/{script.name}` by `case_studies/run_notebooks.py`: {how}; "
        f"executed {when} in {seconds:.0f} s on Python {platform.python_version()}"
        + (f", {', '.join(versions)}" if versions else "")
        + (f". Re-run it with `{rerun}`." if mode() == "full" else ".")
    )


def to_html(notebook: Any, name: str) -> str:
    """``notebook`` as one self-contained HTML page (images embedded; no network resources)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name=TEMPLATE, extra_template_basedirs=[str(TEMPLATES)], embed_images=True)
    body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": name}})
    return body


def execute(script: Path, out: Path | None, html_out: Path | None) -> float:
    """Run ``script`` as a notebook; write the executed ``.ipynb`` to ``out`` and ``.html`` to ``html_out``; return seconds taken."""
    import jupytext
    from nbclient import NotebookClient

    notebook = jupytext.read(script)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    start = time.perf_counter()
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(HERE)}})
    try:
        client.execute()
    finally:
        if out is not None:
            jupytext.write(notebook, out / f"{script.stem}.ipynb", fmt="ipynb")
    seconds = time.perf_counter() - start
    if html_out is not None:
        notebook.cells.insert(0, header_cell(script, seconds))
        (html_out / f"{script.stem}.html").write_text(to_html(notebook, script.stem), encoding="utf-8")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    speed = parser.add_mutually_exclusive_group()
    speed.add_argument("--full", action="store_true", help="full runs (unsets BAYESLAW_FAST): what case_studies/results holds")
    speed.add_argument("--fast", action="store_true", help="fast mode (BAYESLAW_FAST=1): few draws, results to a scratch folder")
    parser.add_argument("--out", help="folder for the executed notebooks (.ipynb)")
    parser.add_argument("--html-out", help="folder for the notebooks rendered to self-contained HTML")
    parser.add_argument("--html", action="store_true", help="also render to HTML into --out (same as --html-out OUT)")
    parser.add_argument("names", nargs="*", help="case studies to run (default: all)")
    args = parser.parse_args(argv)
    if args.full:
        os.environ.pop("BAYESLAW_FAST", None)
        os.environ.pop("BAYESLAW_CASE_OUT", None)
    elif args.fast:
        os.environ["BAYESLAW_FAST"] = "1"
    if args.html and not args.out:
        parser.error("--html renders into --out: give --out, or use --html-out")
    out = Path(args.out) if args.out else None
    html_out = Path(args.html_out) if args.html_out else (out if args.html else None)
    if out is None and html_out is None:
        parser.error("give --out (executed notebooks) and/or --html-out (HTML pages)")
    for folder in (out, html_out):
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
    known = {p.stem: p for p in case_studies()}
    unknown = [n for n in args.names if n not in known]
    if unknown:
        parser.error(f"unknown case studies {unknown}; known: {sorted(known)}")
    scripts = [known[n] for n in args.names] if args.names else list(known.values())
    failed = []
    for script in scripts:
        print(f"--- {script.name} as a notebook ({mode()} mode)", flush=True)
        try:
            seconds = execute(script, out, html_out)
        except Exception as err:  # any cell error fails this notebook, and the run goes on
            print(f"FAILED: {script.name}: {type(err).__name__}: {str(err)[-2000:]}", flush=True)
            failed.append(script.name)
            continue
        written = [str(folder / f"{script.stem}{ext}") for folder, ext in ((out, ".ipynb"), (html_out, ".html")) if folder is not None]
        print(f"ok: {script.name} in {seconds:.0f} s -> {', '.join(written)}", flush=True)
    print(f"ran {len(scripts)} notebooks ({mode()} mode), {len(failed)} failed{': ' + ', '.join(failed) if failed else ''}")
    return len(failed)


if __name__ == "__main__":
    sys.exit(main())
