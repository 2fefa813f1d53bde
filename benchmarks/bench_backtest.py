"""Backtests on the shipped data: does a forecast's uncertainty stay honest when it extrapolates?

    python benchmarks/bench_backtest.py [--datasets chinchilla overtraining finetune] [--cuts 0.1 0.01]
                                        [--draws 500] [--out results_dir] [--law-choice]

For every dataset the runs at or below a cut (1/10 and 1/100 of the largest compute,
or of the largest fine-tuning example count) are fitted and every larger run is
forecast. Candidates, per dataset ("default" = the model shipped for that data:
``chinchilla``, ``overtraining``, ``rectified_finetune``):

- ``default``: today's default;
- ``default-nu``: (a) the Student-t nu prior ``Gamma(5, 0.25)`` (mean 20, P(nu < 2) < 0.001, P(nu < 4) < 0.004)
  instead of ``Gamma(2, 0.1)`` (P(nu < 2) = 0.018), overriding only that prior in code;
- ``...+growth``: (b) the recommended forecast: the extrapolation discrepancy of :mod:`bayeslaw.extrapolation`
  (posterior of the growth rate learned from the point forecasts of internal backtests on the training runs,
  integrated over per draw);
- ``stack(...)``: (c) LFO stacking of the default with ``kaplan`` (and ``chinchilla`` for over-training);
  weights from internal cuts of the training runs;
- ``pointfit``: the approach-3 point fit with 100 bootstrap refits (laws over N, D only).

Over-training: the C4-validation loss of each training set (C4, RedPajama, RefinedWeb) separately, by compute.
Fine-tuning: each of FLAN, Gigaword, WMT19 separately (30 models' curves, rectified law), by examples.

Prints per dataset x cut x candidate: n, median abs % error, signed bias, coverage of the 50/80/90/95%
new-observation and mean-curve intervals, median relative 90% width, mean CRPS (log scale), mean LPD;
then pooled tables. With ``--law-choice``: LFO (``compare(method="lfo")``'s default cuts) picks the true law among
chinchilla and kaplan on synthetic data (10 seeds x 3 designs). Per-run results are written as CSV under ``--out``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

import bayeslaw
from bayeslaw.backtest import Context, Growth, Model, PointFitBootstrap, Stack, backtest, summarise
from bayeslaw.lfo import LFO_CUTS, compare_lfo
from bayeslaw.priors import Prior
from bayeslaw.simulate import simulate
from bayeslaw.spec import resolve_spec

#: Candidate (a): a nu prior that keeps the Student-t out of the Cauchy regime unless the data insist.
NU_PRIOR = Prior("Gamma", {"alpha": 5.0, "beta": 0.25})
FINETUNE_BUDGET = 1_638_400.0


def nu_variant(name: str) -> bayeslaw.ModelSpec:
    """The shipped spec ``name`` with the nu prior of candidate (a)."""
    spec = resolve_spec(name)
    return replace(spec, name=f"{name}-nu", likelihood_priors={**spec.likelihood_priors, "nu": NU_PRIOR})


def candidates(default: str, others: list[str], pointfit: bool) -> list:
    base, nu = Model(default, label="default"), Model(nu_variant(default), label="default-nu")
    out = [base, nu, Growth(base, label="default+growth"), Growth(nu, label="default-nu+growth")]
    if others:
        members = [base, *[Model(o) for o in others]]
        out += [Stack(members, label="stack"), Growth(Stack(members, label="stack"), label="stack+growth")]
    if pointfit:
        out.append(PointFitBootstrap())
    return out


def datasets(names: list[str]) -> list[tuple[str, bayeslaw.ScalingData, str, str, list[str], bool]]:
    """(label, data, by, default model, stacking partners, point fit?) per backtested dataset."""
    out = []
    if "chinchilla" in names:
        out.append(("chinchilla", bayeslaw.load_dataset("chinchilla"), "C", "chinchilla", ["kaplan"], True))
    if "overtraining" in names:
        for ds in ("c4_original", "rpj", "rw_original"):
            data = bayeslaw.load_dataset("overtraining", eval_sets=["c4_val"], train_datasets=[ds])
            out.append((f"overtraining-{ds}", data, "C", "overtraining", ["chinchilla", "kaplan"], True))
    if "finetune" in names:
        for ds in ("flan", "gigaword", "wmt19"):
            out.append((f"finetune-{ds}", bayeslaw.load_dataset("finetune", dataset=ds), "examples", "rectified_finetune", [], False))
    return out


def law_choice(seeds: int, sampler: dict, only: list[int] | None = None) -> pd.DataFrame:
    """Which of chinchilla / kaplan LFO prefers, on data simulated from one of them (two designs: truth and grid differ)."""
    truths = {
        "chinchilla": {"E": 1.7, "A": 400.0, "B": 2000.0, "alpha": 0.34, "beta": 0.28},
        "kaplan": {"N_c": 8.8e13, "D_c": 5.4e13, "alpha_N": 0.076, "alpha_D": 0.095},
    }
    designs = {
        "chinchilla truth, grid 8 sizes x 5 ratios": ("chinchilla", {}),
        "kaplan truth, 10 sizes x 4 ratios (2-250 tokens/param)": (
            "kaplan",
            {"sizes": tuple(np.geomspace(3e6, 3e9, 10)), "tokens_per_param": (2.0, 10.0, 50.0, 250.0)},
        ),
        # The first design's grid with the other truth: the same runs, so only the law differs.
        "kaplan truth, grid 8 sizes x 5 ratios": ("kaplan", {}),
    }
    rows = []
    for number, (design, (truth, grid)) in enumerate(designs.items(), start=1):
        if only and number not in only:
            continue
        for seed in range(seeds):
            sim = simulate(truth, truths[truth], sigma=0.01, seed=seed, **grid)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cmp = compare_lfo(sim.data, ["chinchilla", "kaplan"], cuts=LFO_CUTS, seed=seed, sampler=sampler, allow_unconverged=True)
            rows.append(
                {
                    "design": design,
                    "truth": truth,
                    "seed": seed,
                    "picked": cmp.best,
                    "elpd_diff": float(cmp.ranking["elpd_diff"].iloc[1]),
                    "se_diff": float(cmp.ranking["se_diff"].iloc[1]),
                    "weight_true": float(cmp.ranking.loc[truth, "weight"]),
                    "converged": bool(cmp.ranking["converged"].all()),
                    "unconverged": ",".join(str(m) for m, ok in cmp.ranking["converged"].items() if not ok),
                }
            )
            print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def pooled(forecasts: pd.DataFrame) -> pd.DataFrame:
    """Per candidate, over every dataset and cut: run-pooled scores, worst dataset, and width against error."""
    table = summarise(forecasts, ["model"])
    per_dataset = forecasts.groupby(["model", "dataset"])["cover_obs_90"].mean().groupby("model")
    table["worst_dataset_cover_obs_90"] = table["model"].map(per_dataset.min())
    table["mean_dataset_cover_obs_90"] = table["model"].map(per_dataset.mean())
    table["q90_abs_pct_error"] = table["model"].map(forecasts.groupby("model")["abs_pct_error"].quantile(0.9))
    table["median_half_width_90_pct"] = table["model"].map(forecasts.groupby("model")["width_90"].median() * 50)
    return table


def print_tables(everything: pd.DataFrame, out: Path) -> None:
    """Per dataset x cut x candidate, pooled, and per-dataset coverage and CRPS tables of per-run results."""
    everything.to_csv(out / "all.csv", index=False)
    for label, rows in everything.groupby("dataset", sort=False):
        print(f"\n## {label}")
        print(summarise(rows, ["cut", "model"]).to_string(float_format=lambda v: f"{v:.3g}"))
    print("\n## Pooled over every dataset and cut")
    print(pooled(everything).to_string(float_format=lambda v: f"{v:.3g}"))
    for value, fmt in (("cover_obs_90", ".2f"), ("cover_mean_90", ".2f"), ("crps", ".4f"), ("abs_pct_error", ".2f")):
        print(f"\n## Per dataset and cut: {value} (mean; abs_pct_error: median)")
        table = everything.pivot_table(
            index=["dataset", "cut"], columns="model", values=value, aggfunc="median" if value == "abs_pct_error" else "mean"
        )
        print(table.to_string(float_format=lambda v, fmt=fmt: f"{v:{fmt}}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["chinchilla", "overtraining", "finetune"])
    parser.add_argument("--cuts", nargs="+", type=float, default=[0.1, 0.01])
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=20240515)
    parser.add_argument("--out", type=Path, default=Path("bench_backtest_results"))
    parser.add_argument("--law-choice", action="store_true")
    parser.add_argument("--law-choice-seeds", type=int, default=10)
    parser.add_argument("--law-choice-designs", nargs="+", type=int, help="run only these designs (1-3; default all)")
    parser.add_argument("--tables-from", nargs="+", type=Path, help="print the tables of per-run CSVs written earlier; fit nothing")
    parser.add_argument("--only", nargs="+", help="run only these candidates (labels, e.g. stack stack+growth)")
    parser.add_argument("--partners", nargs="+", help="stacking partners of the default model (default: per dataset)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    # --draws 0: the spec's run length, extended automatically until r_hat and ESS pass (see the README's "Run length").
    sampler = {"draws": args.draws, "tune": args.draws, "chains": args.chains} if args.draws else {"chains": args.chains}
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 40)
    print(f"sampler: {sampler}, seed {args.seed}")
    warnings.simplefilter("ignore", UserWarning)
    if args.tables_from:
        print_tables(pd.concat([pd.read_csv(p) for p in args.tables_from], ignore_index=True), args.out)
        return
    frames = []
    for label, data, by, default, others, pointfit in datasets(args.datasets):
        tick = time.time()
        ctx = Context(by=by, seed=args.seed, sampler=sampler)
        chosen = candidates(default, others if args.partners is None else args.partners, pointfit)
        chosen = [c for c in chosen if args.only is None or c.name in args.only]
        result = backtest(data, chosen, cuts=args.cuts, by=by, context=ctx)
        forecasts = result.forecasts.assign(dataset=label)
        forecasts.to_csv(args.out / f"{label}.csv", index=False)
        frames.append(forecasts)
        table = summarise(forecasts, ["cut", "model"])
        print(f"\n## {label} (by {by}; {time.time() - tick:.0f} s; notes: {'; '.join(result.notes) or 'none'})")
        print(table.to_string(float_format=lambda v: f"{v:.3g}"))
        for (cut, model), notes in forecasts.groupby(["cut", "model"])["notes"].first().items():
            if notes:
                print(f"  {cut:g} {model}: {notes}")
    if frames:
        print_tables(pd.concat(frames, ignore_index=True), args.out)
    if args.law_choice:
        choice = law_choice(args.law_choice_seeds, sampler, args.law_choice_designs)
        choice.to_csv(args.out / "law_choice.csv", index=False)
        print(f"\n## Law choice by LFO (the default cuts {LFO_CUTS}): seeds picking the true law, among seeds whose refits all converged")
        right = choice.assign(right=choice["picked"] == choice["truth"])
        summary = right.groupby(["design", "truth"]).agg(seeds=("right", "size"), converged=("converged", "sum"))
        summary["right_of_converged"] = right[right["converged"]].groupby(["design", "truth"])["right"].sum()
        summary["right_all"] = right.groupby(["design", "truth"])["right"].sum()
        print(summary.to_string())


if __name__ == "__main__":
    main()
