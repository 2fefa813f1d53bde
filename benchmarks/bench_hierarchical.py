"""Benchmark: the default hierarchical fit on the Gadre et al. (2024) over-training data.

Run from a fresh shell (the fit is timed with the model's Numba compilation
included, as a user sees it)::

    python benchmarks/bench_hierarchical.py [--eval-sets a,b,...] [--model NAME] [--json out.json] [--recovery]

Fits ``models/hierarchical.toml`` (shared exponents; E, a_ref, b_ref partially
pooled over skill = evaluation set and datamix = training set) with the spec's
sampler settings to all 832 rows (or the evaluation sets given), and prints the
wall time, max r_hat, divergences (% of draws), min bulk / tail ESS and the
per-skill posterior predictive coverage of 90% intervals (flagged outside
``PPC_COVERAGE_BOUNDS``). Acceptance: r_hat <= 1.01, divergences < 0.5% of
draws, min bulk ESS >= 400, within 180 s on a 2-core machine.

``--model skill_exponents`` (or any other model name) fits that model instead;
the fit's notes are printed (e.g. a rerun of chains stuck in a far lower mode).

``--recovery`` also runs the fuller synthetic recovery (3 skills x 3 datamixes,
full sampler settings): whether the 90% intervals of the shared exponents, of
every skill's E and of every skill's N* at 100x the largest run contain the truth,
and the interval widths of the sparse skill under hierarchical vs independent fits.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

from timing import timed_fit

#: Acceptance thresholds of issue 3.
MAX_SECONDS = 180.0
MAX_DIVERGENT_FRACTION = 0.005


def time_real(eval_sets: list[str] | None, seed: int, model: str = "hierarchical") -> dict[str, object]:
    """Time a fit of ``model`` (default: hierarchical) on the over-training data (compilation included)."""
    import bayeslaw
    from bayeslaw.constants import PPC_INTERVAL

    data = bayeslaw.load_dataset("overtraining", eval_sets=eval_sets)
    fitted, seconds = timed_fit(data, model, seed)
    diag = fitted.diagnostics
    check = bayeslaw.ppc_coverage(fitted, PPC_INTERVAL)
    summary = fitted.summary()
    exponent_rows = [row for row in summary.index if str(row).split("[")[0] in ("alpha", "beta", "sigma", "nu")]
    shared = summary.loc[exponent_rows, ["median", "lower", "upper"]]
    return {
        "model": model,
        "notes": list(fitted.notes),
        "n_points": len(data),
        "skills": list(data.levels["skill"]),
        "datamixes": list(data.levels["datamix"]),
        "seconds": seconds,
        **diag.to_dict(),
        "divergent_fraction": diag.n_divergent / diag.n_draws,
        "converged": diag.converged,
        "ppc_coverage": {str(k): float(v) for k, v in check.per_group["coverage"].items()},
        "ppc_overall": check.overall,
        "ppc_banner": check.banner(),
        "shared_parameters": {k: dict(v) for k, v in shared.iterrows()},
        "acceptance": {
            "r_hat<=1.01": diag.max_rhat <= 1.01,
            "divergences<0.5%": diag.n_divergent < MAX_DIVERGENT_FRACTION * diag.n_draws,
            "min_bulk_ess>=400": diag.min_ess_bulk >= 400,
            f"seconds<={MAX_SECONDS:.0f}": seconds <= MAX_SECONDS,
        },
    }


def recovery(seed: int, data_seed: int | None = None) -> dict[str, object]:
    """Fuller synthetic recovery with the spec's sampler settings and target_accept 0.95 (the spec's advice for small spreads)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import grouped_fits as g
    import numpy as np

    import bayeslaw
    from bayeslaw.constants import CREDIBLE_INTERVAL

    if data_seed is not None:
        g.DATA_SEED = data_seed
        g.shared_exponent_data.cache_clear()
    sim = g.shared_exponent_data()
    warnings.simplefilter("ignore", bayeslaw.ConvergenceWarning)  # convergence is reported from the diagnostics
    lo_q, hi_q = (1 - CREDIBLE_INTERVAL) / 2, (1 + CREDIBLE_INTERVAL) / 2
    budget = 100 * g.largest_compute(sim)
    out: dict[str, object] = {"budget": budget, "data_seed": g.DATA_SEED}
    fits = {}
    for model in ("hierarchical", "independent"):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", bayeslaw.ConvergenceWarning)
            fits[model] = bayeslaw.fit(sim.data, model, random_seed=seed, target_accept=0.95)
        out[f"{model}_seconds"] = time.perf_counter() - start
        out[f"{model}_diagnostics"] = fits[model].diagnostics.banner()
    hier = fits["hierarchical"]
    checks = {}
    truth = sim.truth(g.SKILLS[0], g.DATAMIXES[0])
    for name in ("alpha", "beta"):
        lo, hi = np.quantile(hier.posterior[name].values, [lo_q, hi_q])
        checks[name] = bool(lo <= truth[name] <= hi)
    widths = {}
    for skill in g.SKILLS:
        for mix in g.DATAMIXES:
            e_draws = hier.posterior["E"].sel(skill=skill, datamix=mix).values
            lo, hi = np.quantile(e_draws, [lo_q, hi_q])
            checks[f"E[{skill},{mix}]"] = bool(lo <= sim.truth(skill, mix)["E"] <= hi)
            n_draws = hier.compute_optimal(budget, skill=skill, datamix=mix).draws["N_opt"].values
            lo, hi = np.quantile(n_draws, [lo_q, hi_q])
            checks[f"N*[{skill},{mix}]"] = bool(lo <= sim.optimum(budget, skill, mix)["N_opt"] <= hi)
            if skill == g.SPARSE_SKILL:
                for model, fitted in fits.items():
                    n_sel = fitted.compute_optimal(budget, skill=skill, datamix=mix).draws["N_opt"].values
                    widths[f"{model} log N* width [{skill},{mix}]"] = float(np.diff(np.log(np.quantile(n_sel, [lo_q, hi_q])))[0])
    out["contains_truth"] = checks
    out["all_contain_truth"] = all(checks.values())
    out["sparse_skill_widths"] = widths
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval-sets", default=None, help="comma-separated evaluation sets (default: all 8)")
    parser.add_argument("--seed", type=int, default=None, help="sampler seed (default: bayeslaw's DEFAULT_SEED)")
    parser.add_argument("--model", default="hierarchical", help="model to fit to the real data (default: hierarchical)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    parser.add_argument("--recovery", action="store_true", help="also run the fuller synthetic recovery")
    parser.add_argument("--data-seeds", default=None, help="comma-separated simulation seeds for --recovery (default: the suite's)")
    args = parser.parse_args()
    from bayeslaw.constants import DEFAULT_SEED

    seed = DEFAULT_SEED if args.seed is None else args.seed
    eval_sets = args.eval_sets.split(",") if args.eval_sets else None
    report: dict[str, object] = {
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()},
        "real": time_real(eval_sets, seed, args.model),
    }
    real = report["real"]
    print(f"over-training data: {real['n_points']} rows, {len(real['skills'])} skills x {len(real['datamixes'])} datamixes")
    print(f"{real['model']} fit: {real['seconds']:.1f} s (compilation included)")
    for note in real["notes"]:
        print(f"note: {note}")
    print(
        f"max r_hat {real['max_rhat']:.4f}, divergences {real['n_divergent']}/{real['n_draws']} "
        f"({100 * real['divergent_fraction']:.2f}%), min bulk ESS {real['min_ess_bulk']:.0f}, min tail ESS {real['min_ess_tail']:.0f}"
    )
    print("per-skill PPC coverage (90% predictive intervals):")
    for skill, cov in real["ppc_coverage"].items():
        print(f"  {skill:40s} {cov:.1%}")
    print(real["ppc_banner"])
    print("exponents and likelihood parameters (median [90% CI]):")
    for name, row in real["shared_parameters"].items():
        print(f"  {name:16s} {row['median']:.4g} [{row['lower']:.4g}, {row['upper']:.4g}]")
    print("acceptance:", ", ".join(f"{k}: {'PASS' if v else 'FAIL'}" for k, v in real["acceptance"].items()))
    data_seeds = [int(x) for x in args.data_seeds.split(",")] if args.data_seeds else [None]
    for data_seed in data_seeds if args.recovery else []:
        rec = recovery(seed, data_seed)
        report.setdefault("recovery", []).append(rec)
        hits = sum(rec["contains_truth"].values())
        print(
            f"synthetic recovery (data seed {rec['data_seed']}): all 90% intervals contain the truth: {rec['all_contain_truth']} "
            f"({hits}/{len(rec['contains_truth'])})"
        )
        for key, ok in rec["contains_truth"].items():
            if not ok:
                print(f"  MISSED: {key}")
        for key, width in rec["sparse_skill_widths"].items():
            print(f"  {key}: {width:.3f}")
        print(f"  fits: hierarchical {rec['hierarchical_seconds']:.1f} s, independent {rec['independent_seconds']:.1f} s")
        print(f"  {rec['hierarchical_diagnostics']}\n  {rec['independent_diagnostics']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
