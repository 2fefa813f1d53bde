"""Execute every case study as a Jupyter notebook (jupytext percent script -> ipynb -> nbclient).

Usage (needs the ``notebooks`` extra: ``pip install "bayeslaw[notebooks]"``)::

    BAYESLAW_FAST=1 python case_studies/run_notebooks.py --out /tmp/notebooks     # CI: few draws
    python case_studies/run_notebooks.py --out case_studies/results --html        # full runs, rendered to HTML

Each case study runs in a fresh kernel with ``case_studies/`` as its working
directory; the executed notebook (outputs included) is written to ``--out`` and,
with ``--html``, rendered to a self-contained HTML page (nbconvert). A failing
cell fails the run, naming the notebook and the cell. The exit status is the
number of failed notebooks (0 = all ran).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: Seconds one cell may run (the slowest fast-mode cell fits several fits).
CELL_TIMEOUT = 1800


def case_studies() -> list[Path]:
    """The case-study scripts (every ``*.py`` here except the helpers)."""
    return sorted(p for p in HERE.glob("*.py") if p.name not in ("casekit.py", Path(__file__).name))


def execute(script: Path, out: Path, html: bool) -> float:
    """Run ``script`` as a notebook; write the executed ``.ipynb`` (and ``.html``) to ``out``; return seconds taken."""
    import jupytext
    from nbclient import NotebookClient

    notebook = jupytext.read(script)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    start = time.perf_counter()
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(HERE)}})
    try:
        client.execute()
    finally:
        target = out / f"{script.stem}.ipynb"
        jupytext.write(notebook, target, fmt="ipynb")
        if html:
            from nbconvert import HTMLExporter

            body, _ = HTMLExporter(embed_images=True).from_notebook_node(notebook)
            (out / f"{script.stem}.html").write_text(body, encoding="utf-8")
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for the executed notebooks")
    parser.add_argument("--html", action="store_true", help="also render each executed notebook to HTML (nbconvert)")
    parser.add_argument("names", nargs="*", help="case studies to run (default: all)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scripts = [p for p in case_studies() if not args.names or p.stem in args.names]
    failed = []
    for script in scripts:
        print(f"--- {script.name} as a notebook", flush=True)
        try:
            seconds = execute(script, out, args.html)
        except Exception as err:  # any cell error fails this notebook, and the run goes on
            print(f"FAILED: {script.name}: {type(err).__name__}: {str(err)[-2000:]}", flush=True)
            failed.append(script.name)
            continue
        print(f"ok: {script.name} in {seconds:.0f} s -> {out / (script.stem + '.ipynb')}", flush=True)
    print(f"ran {len(scripts)} notebooks, {len(failed)} failed{': ' + ', '.join(failed) if failed else ''}")
    return len(failed)


if __name__ == "__main__":
    sys.exit(main())
