"""Benchmark: hierarchical vs shared_exponents on over-training subsets with few groups per axis.

Run from a fresh shell::

    python benchmarks/bench_few_groups.py [--seed S] [--json out.json]

A common first use of bayeslaw is two evaluation sets measured on one or two
training sets. With 2-3 groups on an axis, ``models/hierarchical.toml`` (pooling
``auto``) states the group spread (its pooling scale) instead of estimating it
from 2-3 offsets, where a sampled spread made a funnel with the offsets and
divergences. ``models/shared_exponents.toml`` keeps the
exponents shared and fits E, a_ref and b_ref per group without pooling. This
script fits both models, with each spec's sampler settings and the same seed, to
four subsets of the Gadre et al. (2024) over-training data and prints, for each,
whether the fit passed bayeslaw's convergence checks, max r_hat, min bulk ESS,
divergences, wall time (compilation included), whether stuck chains were rerun
(see :mod:`bayeslaw.sampling`) and the per-chain medians of alpha.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from timing import timed_fit

#: (evaluation sets, training sets) of each subset.
SUBSETS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("openlm", "paloma_ptb"), ("rpj",)),
    (("openlm", "paloma_ptb"), ("c4_original", "rw_original")),
    (("c4_val", "paloma_dolma_100_programing_languages"), ("rpj",)),
    (("paloma_c4_en", "val_de-en_100", "paloma_ptb"), ("c4_original", "rw_original")),
)
MODELS: tuple[str, ...] = ("hierarchical", "shared_exponents")


def fit_one(eval_sets: tuple[str, ...], train_sets: tuple[str, ...], model: str, seed: int) -> dict[str, object]:
    """Fit ``model`` to one subset and return its diagnostics and timing."""
    import bayeslaw

    data = bayeslaw.load_dataset("overtraining", eval_sets=list(eval_sets), train_datasets=list(train_sets))
    fitted, seconds = timed_fit(data, model, seed)
    diag = fitted.diagnostics
    alpha = fitted.posterior["alpha"]
    per_chain = alpha.median([dim for dim in alpha.dims if dim != "chain"]).values
    return {
        "eval_sets": list(eval_sets),
        "train_sets": list(train_sets),
        "n_points": len(data),
        "model": model,
        "converged": diag.converged,
        **diag.to_dict(),
        "seconds": seconds,
        "alpha_median_per_chain": [float(v) for v in per_chain],
        "stuck_chains_rerun": any("rerun once" in note for note in fitted.notes),
        "notes": list(fitted.notes),
    }


def main(argv: list[str] | None = None) -> int:
    """Run every subset under both models and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=None, help="sampler seed (default: bayeslaw's DEFAULT_SEED)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    from bayeslaw.constants import DEFAULT_SEED

    seed = DEFAULT_SEED if args.seed is None else args.seed
    print(f"seed {seed}", flush=True)
    rows = []
    columns = f"{'evaluation sets':<52} {'training sets':<25} {'model':<17} {'ok':<5}"
    print(f"{columns} {'r_hat':>6} {'ESS':>6} {'div':>9} {'s':>5} rerun  alpha per chain", flush=True)
    for eval_sets, train_sets in SUBSETS:
        for model in MODELS:
            row = fit_one(eval_sets, train_sets, model, seed)
            rows.append(row)
            print(
                f"{', '.join(eval_sets):<52} {', '.join(train_sets):<25} {model:<17} {'yes' if row['converged'] else 'NO':<5} "
                f"{row['max_rhat']:>6.3f} {row['min_ess_bulk']:>6.0f} {row['n_divergent']:>4}/{row['n_draws']:<4} "
                f"{row['seconds']:>5.1f} {'yes' if row['stuck_chains_rerun'] else 'no':<5}  "
                f"{' '.join(f'{v:.3f}' for v in row['alpha_median_per_chain'])}",
                flush=True,
            )
    for model in MODELS:
        passed = sum(row["converged"] for row in rows if row["model"] == model)
        print(f"{model}: {passed} of {len(SUBSETS)} subsets pass every convergence check")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"seed": seed, "rows": rows}, indent=2))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
