"""A fixed subset of benchmarks/fuzz_inputs.py: bad CSVs, specs and command lines give clear errors or warnings (issue 11)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

if not hasattr(__import__("os"), "fork"):
    pytest.skip("the fuzz runner forks one child per case", allow_module_level=True)


def load_fuzz():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "fuzz_inputs.py"
    spec = importlib.util.spec_from_file_location("fuzz_inputs", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_inputs"] = module
    spec.loader.exec_module(module)
    return module


def test_quick_fuzz_has_no_tracebacks_crashes_or_silent_acceptances() -> None:
    fuzz = load_fuzz()
    cases = [c for c in fuzz.all_cases() if c.name in fuzz.QUICK]
    assert len(cases) == len(fuzz.QUICK)
    counts, results = fuzz.run_all(cases)
    bad = [(r["surface"], r["case"], r["outcome"], r["detail"][:200]) for r in results if fuzz.verdict(r) != "ok"]
    assert not bad, bad
    assert counts["ok"] == 2 * len(cases)
