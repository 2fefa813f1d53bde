"""The package's imports flow one way: no import circle, and no module imports from a floor above its own.

Every ``import`` and ``from ... import`` in ``bayeslaw/**/*.py`` counts, wherever
it stands (module level, inside a function, or under ``TYPE_CHECKING``): a
deferred import is still a dependency. Each module is placed on a floor of
/work/shared/design.md's "Layers" by :data:`FLOORS`; a module may import from
its own floor or below. A module missing from the map fails the test, so every
new module is placed deliberately.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "bayeslaw"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

#: Floor of every module (by name, or by package prefix: ``bayeslaw.laws`` covers ``bayeslaw.laws.*``).
#: 1 facts; 2 what a model is made of (registries); 3 a named model; 4 model, backends, results and
#: the per-draw tools Fit uses; 5 Fit (orchestration only); 6 questions asked of a fit; 7 report, plotting, cli.
FLOORS: dict[str, int] = {
    # floor 1: facts
    "bayeslaw.version": 1,
    "bayeslaw.seeds": 1,
    "bayeslaw.constants": 1,
    "bayeslaw.variables": 1,
    "bayeslaw.data": 1,
    "bayeslaw.plausibility": 1,
    "bayeslaw.atomic": 1,
    "bayeslaw.interrupts": 1,
    "bayeslaw.datasets": 1,
    "bayeslaw.registry": 1,
    # floor 2: what a model is made of
    "bayeslaw.priors": 2,
    "bayeslaw.links": 2,
    "bayeslaw.families": 2,
    "bayeslaw.laws": 2,
    "bayeslaw.summaries": 2,
    "bayeslaw.fast_diagnostics": 2,
    "bayeslaw.weights": 2,
    "bayeslaw.groups": 2,
    "bayeslaw.predictive": 2,
    "bayeslaw.extrapolation": 2,
    "bayeslaw.result_contract": 2,
    # floor 3: a named model
    "bayeslaw.spec": 3,
    "bayeslaw.pooling": 3,
    "bayeslaw.simulate": 3,
    "bayeslaw.pointfit": 3,
    # floor 4: PyMC and InferenceData, and the per-draw tools below Fit
    "bayeslaw.results": 4,
    "bayeslaw.model_builder": 4,
    "bayeslaw.spec_validation": 4,
    "bayeslaw.backends": 4,
    "bayeslaw.sampling": 4,
    "bayeslaw.compiled": 4,
    "bayeslaw.jax_sampler": 4,
    "bayeslaw.chain_checks": 4,
    "bayeslaw.run_length": 4,
    "bayeslaw.starts": 4,
    "bayeslaw.numba_cache": 4,
    "bayeslaw.diagnostics": 4,
    "bayeslaw.posterior": 4,
    "bayeslaw.forecast": 4,
    "bayeslaw.pointwise": 4,
    "bayeslaw.isoflop_search": 4,
    "bayeslaw.optimum": 4,
    # floor 5: orchestration
    "bayeslaw.fit": 5,
    "bayeslaw.batch": 5,
    "bayeslaw.batch_jax": 5,
    # floor 6: questions that take a Fit and return a result
    "bayeslaw.mix": 6,
    "bayeslaw.skills": 6,
    "bayeslaw.ppc": 6,
    "bayeslaw.compare": 6,
    "bayeslaw.downstream": 6,
    "bayeslaw.selection": 6,
    "bayeslaw.backtest": 6,
    "bayeslaw.lfo": 6,
    "bayeslaw.stacking": 2,
    "bayeslaw.trust": 6,
    # floor 7: render results; the package root re-exports everything
    "bayeslaw.report": 7,
    "bayeslaw.prior_predictive": 4,
    "bayeslaw.plotting": 7,
    "bayeslaw.cli": 7,
    "bayeslaw.__main__": 7,
    "bayeslaw": 7,
}

#: Import circles tolerated by name; empty: the test fails on any circle.
KNOWN_CIRCLES: list[list[str]] = []


def module_name(path: Path) -> str:
    """Dotted name of a module file (``bayeslaw/laws/__init__.py`` -> ``bayeslaw.laws``)."""
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The package module ``name`` refers to: itself, or its nearest enclosing module; None outside the package."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Package modules that ``module`` imports, anywhere in its source."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            # ``from pkg import name`` imports the submodule pkg.name when there is one, else pkg itself.
            targets = [f"{prefix}.{alias.name}" if f"{prefix}.{alias.name}" in modules else prefix for alias in node.names]
        else:
            continue
        found |= {t for t in (resolve(name, modules) for name in targets) if t is not None and t != module}
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports."""
    modules = package_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def floor_of(module: str) -> int | None:
    """The floor of ``module`` from :data:`FLOORS` (the longest matching name or package prefix)."""
    name = module
    while name and name != "bayeslaw":
        if name in FLOORS:
            return FLOORS[name]
        name = name.rpartition(".")[0]
    return FLOORS["bayeslaw"] if module == "bayeslaw" else None


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (each holds at least one import circle)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Each import from a module to one on a higher floor, as ``'a (floor) -> b (floor)'``."""
    return [
        f"{a} ({floor_of(a)}) -> {b} ({floor_of(b)})"
        for a, targets in sorted(graph.items())
        for b in sorted(targets)
        if floor_of(b) > floor_of(a)  # type: ignore[operator]
    ]


def test_every_module_has_a_floor() -> None:
    unplaced = [m for m in package_modules() if floor_of(m) is None]
    assert not unplaced, f"place these modules on a floor in FLOORS (tests/test_import_structure.py): {unplaced}"


def test_no_import_circle_and_no_upward_import() -> None:
    graph = import_graph()
    found_cycles = cycles(graph)
    upward = upward_imports(graph)
    n_imports = sum(len(t) for t in graph.values())
    assert n_imports > 50, "the walk found too few imports: the parser is broken"
    print(f"modules {len(graph)}, imports {n_imports}, circles {len(found_cycles)} ({len(KNOWN_CIRCLES)} known), upward {len(upward)}")
    assert found_cycles == KNOWN_CIRCLES, f"import circles: {found_cycles} (known, owned elsewhere: {KNOWN_CIRCLES})"
    assert not upward, "imports from a lower floor to a higher one:\n" + "\n".join(upward)


def test_the_checks_catch_a_circle_and_an_upward_import() -> None:
    graph = {"bayeslaw.fit": {"bayeslaw.mix"}, "bayeslaw.mix": {"bayeslaw.fit"}, "bayeslaw.data": set()}
    assert cycles(graph) == [["bayeslaw.fit", "bayeslaw.mix"]]
    assert upward_imports(graph) == ["bayeslaw.fit (5) -> bayeslaw.mix (6)"]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from bayeslaw import results", {"bayeslaw.results"}),
        ("from bayeslaw import __version__", {"bayeslaw"}),
        ("import bayeslaw.fit", {"bayeslaw.fit"}),
        ("from bayeslaw.laws.base import Law", {"bayeslaw.laws.base"}),
        ("from . import results", {"bayeslaw.results"}),
        ("def f():\n    from bayeslaw.fit import Fit", {"bayeslaw.fit"}),
        ("import numpy as np", set()),
    ],
)
def test_imports_are_resolved_to_modules(tmp_path: Path, source: str, expected: set[str]) -> None:
    fake = tmp_path / "summaries.py"
    fake.write_text(source)
    assert imports_of("bayeslaw.summaries", fake, package_modules()) == expected
