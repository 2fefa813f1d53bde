"""Benchmark: how often default fits pass every convergence check, how long they take, and ESS per second.

Run from a fresh shell (it is long; run it in parts on a shared machine)::

    python benchmarks/bench_convergence.py [--only GROUP[,GROUP]] [--case SUBSTRING] [--quick]
        [--spec-variant NAME] [--robust-starts] [--csv out.csv] [--seed S] [--synthetic-seeds 1-6]

Groups of cases (``--only``):

``chinchilla``
    Chinchilla Approach 3 data (all runs and without the 5 largest), spec ``chinchilla``.
``ot_train``
    Over-training data (Gadre et al. 2024), each training set alone with all 8 evaluation sets.
``ot_skills``
    Pairs and triples of evaluation sets (code with text among them) on one and on all three
    training sets, the 8-skill panel of one training set and the full 832-row panel.
``finetune``
    Fine-tuning (Lin et al. 2024): every dataset at every budget ratio, spec ``rectified_finetune``.
``synthetic``
    Simulated grouped designs with 2, 3, 4, 8 and 16 skills (hierarchical truth, one datamix),
    fitted with ``hierarchical``; each row also counts how many true parameters fall inside their
    90% intervals (``covered`` of ``checks``, and per parameter in ``coverage_by_param``). The
    designs use data seeds 1 and 2; ``--synthetic-seeds 1-6`` runs more independent designs, and
    the summary prints coverage per seed and per parameter (shared exponents, per-skill values).

``--quick`` keeps a few cases per group (the ones most likely to fail). ``--spec-variant``
fits modified copies of the shipped specs (e.g. ``noncentred``: every ``partial_centred`` or
``auto`` axis made ``partial``; ``all_centred_as_before``: ``auto`` made ``partial_centred``),
built in memory, never written to ``models/``. Every row goes to the
CSV (default ``benchmarks/results/convergence.csv``, appended) with the git commit and sampler seed, so runs of
different branches can be compared. Wall times include compilation and are machine-dependent:
compare ratios measured in one run.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

CODE = "paloma_dolma_100_programing_languages"
RATIOS = (8, 16, 32, 64, 128, 256, 512)
SYNTH_GROUPS = (2, 3, 4, 8, 16)
CSV_DEFAULT = Path(__file__).parent / "results" / "convergence.csv"
COLUMNS = (
    "commit",
    "variant",
    "seed",
    "group",
    "case",
    "spec",
    "n_rows",
    "converged",
    "max_rhat",
    "min_ess_bulk",
    "min_ess_tail",
    "n_divergent",
    "n_draws",
    "seconds",
    "ess_bulk_per_s",
    "rerun",
    "extended",
    "covered",
    "checks",
    "coverage_by_param",
    "problems",
)


@dataclass(frozen=True)
class Case:
    """One fit of the suite: a group, a label, a spec and a loader of its data (and truth, for synthetic cases)."""

    group: str
    name: str
    spec: str
    load: Callable[[], Any]
    quick: bool = False
    options: dict[str, Any] = field(default_factory=dict)


def _overtraining(eval_sets: tuple[str, ...] | None, train_sets: tuple[str, ...] | None) -> Callable[[], Any]:
    def load() -> Any:
        import bayeslaw

        return bayeslaw.load_dataset(
            "overtraining", eval_sets=list(eval_sets) if eval_sets else None, train_datasets=list(train_sets) if train_sets else None
        )

    return load


def _finetune(dataset: str, ratio: int) -> Callable[[], Any]:
    def load() -> Any:
        import bayeslaw
        from bayeslaw.datasets import FINETUNE_FULL_BUDGET

        return bayeslaw.load_dataset("finetune", dataset=dataset, max_examples=FINETUNE_FULL_BUDGET / ratio)

    return load


def _chinchilla(exclude_top5: bool) -> Callable[[], Any]:
    def load() -> Any:
        import bayeslaw

        return bayeslaw.load_dataset("chinchilla", exclude_top5=exclude_top5)

    return load


#: Population and log-scale spreads of the synthetic designs (Chinchilla-like values; spreads of the size a
#: change of evaluation set makes).
SYNTH_POPULATION = {"E": 1.8, "A": 400.0, "B": 2000.0, "alpha": 0.34, "beta": 0.30}
SYNTH_SPREADS = {"E": {"skill": 0.2}, "A": {"skill": 0.3}, "B": {"skill": 0.3}}


def _synthetic(n_groups: int, seed: int) -> Callable[[], Any]:
    def load() -> Any:
        from bayeslaw.simulate import draw_group_params, simulate

        skills = [f"s{i}" for i in range(n_groups)]
        params = draw_group_params(SYNTH_POPULATION, SYNTH_SPREADS, skills=skills, seed=seed)
        return simulate(
            "chinchilla",
            params,
            sizes=tuple(np.geomspace(1e7, 3e9, 5)),
            tokens_per_param=(5.0, 20.0, 80.0),
            skills=skills,
            sigma=0.015,
            seed=seed,
        )

    return load


#: Seeds of the synthetic designs (``--synthetic-seeds`` runs others, e.g. 1-6 for a pooled coverage estimate).
SYNTH_SEEDS = (1, 2)


def cases(synthetic_seeds: tuple[int, ...] = SYNTH_SEEDS) -> list[Case]:
    """Every case of the suite, in order; ``quick`` marks the few that run with ``--quick``."""
    out = [
        Case("chinchilla", "approach3", "chinchilla", _chinchilla(False), quick=True),
        Case("chinchilla", "approach3-no-top5", "chinchilla", _chinchilla(True)),
    ]
    for train in ("c4_original", "rpj", "rw_original"):
        for spec in ("hierarchical", "shared_exponents"):
            out.append(Case("ot_train", f"8 skills/{train}", spec, _overtraining(None, (train,)), quick=train == "rpj"))
    subsets = [
        (("openlm", "paloma_ptb"), ("rpj",)),
        (("openlm", "paloma_ptb"), ("c4_original", "rw_original")),
        (("c4_val", CODE), ("rpj",)),
        (("c4_val", CODE), None),
        (("paloma_c4_en", "val_de-en_100", "paloma_ptb"), ("c4_original", "rw_original")),
        (("c4_val", CODE, "val_de-en_100"), ("rpj",)),
        (("paloma_redpajama", CODE, "openlm"), None),
    ]
    for eval_sets, train in subsets:
        label = f"{'+'.join(s.replace(CODE, 'code') for s in eval_sets)}/{'+'.join(train) if train else 'all'}"
        for spec in ("hierarchical", "shared_exponents"):
            out.append(Case("ot_skills", label, spec, _overtraining(eval_sets, train), quick=CODE in eval_sets or len(eval_sets) == 2))
    out.append(Case("ot_skills", "8 skills/all (832 rows)", "hierarchical", _overtraining(None, None)))
    from bayeslaw.datasets import FINETUNE_DATASETS

    for dataset in FINETUNE_DATASETS:
        for ratio in RATIOS:
            out.append(Case("finetune", f"{dataset} 1/{ratio}", "rectified_finetune", _finetune(dataset, ratio), quick=ratio in (8, 512)))
    for n_groups in SYNTH_GROUPS:
        for seed in synthetic_seeds:
            out.append(
                Case(
                    "synthetic",
                    f"{n_groups} skills seed {seed}",
                    "hierarchical",
                    _synthetic(n_groups, seed),
                    quick=seed == synthetic_seeds[0],
                )
            )
    return out


# ------------------------------------------------------------------ spec variants (experiments)


def _replace_modes(spec: dict[str, Any], old: tuple[str, ...], new: str) -> dict[str, Any]:
    """``spec`` with every pooling mode in ``old`` replaced by ``new``."""
    pooling = {p: {a: (new if m in old else m) for a, m in axes.items()} for p, axes in spec.get("pooling", {}).items()}
    return {**spec, "pooling": pooling}


def _variant_noncentred(spec: dict[str, Any]) -> dict[str, Any]:
    return _replace_modes(spec, ("partial_centred", "auto"), "partial")


def _variant_centred(spec: dict[str, Any]) -> dict[str, Any]:
    return _replace_modes(spec, ("partial", "auto"), "partial_centred")


#: Axes with at most this many groups get the non-centred form in the ``few_noncentred`` variant.
FEW = 3


def _variant_few_noncentred(spec: dict[str, Any], data: Any) -> dict[str, Any]:
    """Non-centred on axes with at most FEW groups, centred on the others."""

    def mode(axis: str, current: str) -> str:
        if not current.startswith("partial"):
            return current
        n = int(np.prod([len(data.levels.get(part, ())) for part in axis.split(":")]))
        return "partial" if n <= FEW else "partial_centred"

    pooling = {p: {a: mode(a, m) for a, m in axes.items()} for p, axes in spec.get("pooling", {}).items()}
    return {**spec, "pooling": pooling}


VARIANTS: dict[str, Callable[[dict[str, Any], Any], dict[str, Any]]] = {
    "shipped": lambda spec, data: spec,
    "noncentred": lambda spec, data: _variant_noncentred(spec),
    "centred": lambda spec, data: _variant_centred(spec),
    "few_noncentred": _variant_few_noncentred,
    "auto": lambda spec, data: _replace_modes(spec, ("partial_centred",), "auto"),
    "auto_all": lambda spec, data: _replace_modes(spec, ("partial", "partial_centred"), "auto"),
    "all_centred_as_before": lambda spec, data: _replace_modes(spec, ("auto",), "partial_centred"),
}


def resolve_variant(spec_name: str, variant: str, data: Any) -> Any:
    """The spec to fit: the shipped one, or a modified copy (as a ModelSpec built from a dict; nothing is written)."""
    from bayeslaw.spec import ModelSpec, resolve_spec

    spec = resolve_spec(spec_name)
    if variant == "shipped":
        return spec
    raw = VARIANTS[variant](spec.to_dict(), data)
    return ModelSpec.from_dict({**raw, "name": f"{spec.name}-{variant}"}, source=f"{spec.name} ({variant})")


# ------------------------------------------------------------------ running


def _coverage(fitted: Any, sim: Any) -> dict[str, tuple[int, int]]:
    """Per law parameter: how many true values lie in their 90% equal-tailed intervals, and how many were checked.

    A parameter that varies by skill counts once per skill; a shared one (the exponents) once.
    """
    out: dict[str, tuple[int, int]] = {}
    skills = list(fitted.data.levels.get("skill", [None]))
    for skill in skills:
        params = fitted.params(skill=skill)
        truth = sim.truth(skill=skill)
        for name in ("alpha", "beta", "E", "a_ref", "b_ref"):
            if name not in params or name not in truth:
                continue
            if "skill" not in fitted.posterior[name].dims and name in out:
                continue
            lo, hi = np.quantile(params[name].values.ravel(), [0.05, 0.95])
            covered, checks = out.get(name, (0, 0))
            out[name] = (covered + int(lo <= truth[name] <= hi), checks + 1)
    return out


def _format_coverage(by_param: dict[str, tuple[int, int]]) -> str:
    """``alpha 1/1; E 3/4; ...`` (the CSV's ``coverage_by_param``)."""
    return "; ".join(f"{name} {c}/{n}" for name, (c, n) in by_param.items())


def run_case(case: Case, variant: str, seed: int, draws: int | None, robust_starts: bool = False) -> dict[str, Any]:
    """Fit one case and return its CSV row."""
    import bayeslaw

    loaded = case.load()
    sim = loaded if hasattr(loaded, "truth") else None
    data = sim.data if sim is not None else loaded
    spec = resolve_variant(case.spec, variant, data)
    options = dict(case.options)
    if draws is not None:
        options["draws"] = draws
    if robust_starts:
        options["robust_starts"] = True
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = bayeslaw.fit(data, spec, random_seed=seed, **options)
    seconds = time.perf_counter() - start
    diag = fitted.diagnostics
    by_param = _coverage(fitted, sim) if sim is not None and diag.converged else {}
    covered, checks = sum(c for c, _ in by_param.values()), sum(n for _, n in by_param.values())
    return {
        "variant": variant + ("+robust_starts" if robust_starts else ""),
        "seed": seed,
        "group": case.group,
        "case": case.name,
        "spec": case.spec,
        "n_rows": len(data),
        "converged": diag.converged,
        "max_rhat": round(diag.max_rhat, 4),
        "min_ess_bulk": round(diag.min_ess_bulk),
        "min_ess_tail": round(diag.min_ess_tail),
        "n_divergent": diag.n_divergent,
        "n_draws": diag.n_draws,
        "seconds": round(seconds, 1),
        "ess_bulk_per_s": round(diag.min_ess_bulk / seconds, 2),
        "rerun": any("rerun once" in n for n in fitted.notes),
        "extended": any(n.startswith("run length:") and ("rerun with" in n or "more draws" in n) for n in fitted.notes),
        "covered": covered,
        "checks": checks,
        "coverage_by_param": _format_coverage(by_param),
        "problems": " | ".join(diag.problems),
    }


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def select(all_cases: list[Case], only: str | None, match: str | None, quick: bool) -> Iterator[Case]:
    """The cases to run, in suite order."""
    groups = set(only.split(",")) if only else None
    for case in all_cases:
        if groups is not None and case.group not in groups:
            continue
        if match is not None and match not in f"{case.name} {case.spec}":
            continue
        if quick and not case.quick:
            continue
        yield case


def parse_seeds(text: str) -> tuple[int, ...]:
    """Seeds from ``'1-6'``, ``'1,3,5'`` or a mix (``'1-3,8'``)."""
    seeds: list[int] = []
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        try:
            seeds += list(range(int(first), int(last) + 1)) if last else [int(first)]
        except ValueError:
            raise SystemExit(f"--synthetic-seeds: cannot read {part!r} (write e.g. 1-6 or 1,3,5)") from None
    if not seeds:
        raise SystemExit("--synthetic-seeds: no seeds given")
    return tuple(seeds)


def coverage_table(rows: list[dict[str, Any]]) -> str:
    """Coverage of the converged synthetic rows per seed and per parameter (shared exponents vs per-skill values)."""
    per_seed: dict[str, list[int]] = {}
    per_param: dict[str, list[int]] = {}
    for row in rows:
        if not row["checks"]:
            continue
        seed = row["case"].rsplit(" ", 1)[-1]
        per_seed.setdefault(seed, [0, 0])
        per_seed[seed][0] += row["covered"]
        per_seed[seed][1] += row["checks"]
        for item in row["coverage_by_param"].split("; "):
            name, counts = item.split(" ")
            c, n = (int(v) for v in counts.split("/"))
            per_param.setdefault(name, [0, 0])
            per_param[name][0] += c
            per_param[name][1] += n
    lines = ["coverage per seed: " + ", ".join(f"seed {s} {c}/{n} = {c / n:.2f}" for s, (c, n) in per_seed.items())]
    lines.append("coverage per parameter: " + ", ".join(f"{p} {c}/{n} = {c / n:.2f}" for p, (c, n) in per_param.items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the selected cases, print one line each and a pass-rate table, append rows to the CSV."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=None, help="comma-separated groups: chinchilla, ot_train, ot_skills, finetune, synthetic")
    parser.add_argument("--case", default=None, help="only cases whose 'name spec' contains this substring")
    parser.add_argument("--spec", default=None, help="only cases fitted with this spec")
    parser.add_argument("--quick", action="store_true", help="a few cases per group")
    parser.add_argument("--spec-variant", default="shipped", choices=sorted(VARIANTS), help="fit modified copies of the shipped specs")
    parser.add_argument("--draws", type=int, default=None, help="override the spec's draws (and so turn off sampling longer)")
    parser.add_argument("--robust-starts", action="store_true", help="start chains around the best optimum (fit(robust_starts=True))")
    parser.add_argument("--seed", type=int, default=None, help="sampler seed (default: bayeslaw's DEFAULT_SEED)")
    parser.add_argument("--csv", type=Path, default=CSV_DEFAULT, help="append result rows to this CSV")
    parser.add_argument("--synthetic-seeds", default=None, help="seeds of the synthetic designs: '1-6' or '1,3,5' (default: 1,2)")
    parser.add_argument("--list", action="store_true", help="list the selected cases and exit")
    args = parser.parse_args(argv)
    from bayeslaw.constants import DEFAULT_SEED

    seed = DEFAULT_SEED if args.seed is None else args.seed
    synth_seeds = parse_seeds(args.synthetic_seeds) if args.synthetic_seeds else SYNTH_SEEDS
    chosen = [c for c in select(cases(synth_seeds), args.only, args.case, args.quick) if args.spec is None or c.spec == args.spec]
    if args.list:
        for case in chosen:
            print(f"{case.group:<11} {case.spec:<19} {case.name}")
        return 0
    commit = _commit()
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    new_file = not args.csv.exists()
    if not new_file:
        with args.csv.open(newline="") as handle:
            header = next(csv.reader(handle), None)
        if header is not None and tuple(header) != COLUMNS:
            raise SystemExit(f"{args.csv} has other columns than this version writes ({', '.join(header)}); choose a new --csv file")
    print(f"commit {commit}, variant {args.spec_variant}, seed {seed}, {len(chosen)} cases, pid {os.getpid()}", flush=True)
    print(f"{'group':<11} {'spec':<19} {'case':<40} {'rows':>5} {'ok':<3} {'r_hat':>6} {'ESS':>6} {'div':>5} {'s':>6} {'ESS/s':>6}")
    rows = []
    with args.csv.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        if new_file:
            writer.writeheader()
        for case in chosen:
            row = {"commit": commit, **run_case(case, args.spec_variant, seed, args.draws, args.robust_starts)}
            rows.append(row)
            writer.writerow(row)
            handle.flush()
            flags = ("R" if row["rerun"] else "") + ("X" if row["extended"] else "")
            cover = f" cover {row['covered']}/{row['checks']}" if row["checks"] else ""
            print(
                f"{case.group:<11} {case.spec:<19} {case.name:<40} {row['n_rows']:>5} {'yes' if row['converged'] else 'NO':<3} "
                f"{row['max_rhat']:>6.3f} {row['min_ess_bulk']:>6} {row['n_divergent']:>5} {row['seconds']:>6.1f} "
                f"{row['ess_bulk_per_s']:>6.1f} {flags}{cover}",
                flush=True,
            )
    print("\npass rate per group and spec:")
    keys = sorted({(r["group"], r["spec"]) for r in rows})
    for group, spec in keys:
        sub = [r for r in rows if r["group"] == group and r["spec"] == spec]
        passed = sum(r["converged"] for r in sub)
        seconds = np.array([r["seconds"] for r in sub])
        print(f"  {group:<11} {spec:<19} {passed}/{len(sub)} pass, wall median {np.median(seconds):.0f} s (max {seconds.max():.0f} s)")
    covered = sum(r["covered"] for r in rows)
    checks = sum(r["checks"] for r in rows)
    if checks:
        print(f"synthetic coverage of 90% intervals: {covered}/{checks} = {covered / checks:.2f}")
        print(coverage_table(rows))
    total = sum(r["converged"] for r in rows)
    print(f"all: {total}/{len(rows)} pass; rows appended to {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
