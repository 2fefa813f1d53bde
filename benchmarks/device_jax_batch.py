"""Device check: ``fit_many(datasets, backend="jax")`` on an accelerator, 1,000 fits in one JAX program, against nutpie's fit_many.

Run (needs ``pip install "bayeslaw[jax]"``, and ``jax[cuda12]`` for an NVIDIA GPU)::

    python benchmarks/device_jax_batch.py [--n 1000] [--nutpie 20] [--draws 1000] [--tune 1000] [--chains 4] [--json out.json]

On ``--n`` simulated Chinchilla-shaped datasets (240 rows each, Student-t noise,
one noise seed and one sampler seed per dataset), default model:

1. **jax, cold**: ``bayeslaw.fit_many(datasets, backend="jax")``, timed including
   building the model, JAX's compile of the vmapped program and turning every
   dataset's draws into a Fit (diagnostics, predictive groups);
2. **jax, warm**: the same call again with new sampler seeds (the program is kept
   in the process, so no compile), with the time of the JAX program alone
   (warm-up and sampling of every chain) reported next to it, and the rest (host side:
   starting points, draws to the model's scale, each Fit's diagnostics and predictive groups);
3. **nutpie**: ``bayeslaw.fit_many(datasets[:--nutpie])`` (compile once, fits one
   after another on the CPU cores), timed including its one compile.

Prints the device JAX ran on, per-fit times, the ratio of nutpie's per-fit time to
each JAX path's (above 1: the JAX batch is faster per fit), convergence (fits
passing their checks, median min bulk ESS) and ESS per second, and the agreement of
the two paths' posterior medians on the datasets both fitted (difference in units of
the nutpie posterior sd). Everything is measured in this one run.

Without an accelerator it still runs (on the CPU JAX finds); use a small ``--n``
there, e.g. ``--n 8 --nutpie 4 --draws 300 --tune 300``: on CPU the batch is
slower per fit than nutpie, which is expected (vmapped NUTS runs in lockstep).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

#: Epoch AI's approach-3 estimate of the Chinchilla law (paper form); the simulated truth.
TRUTH = {"E": 1.82, "A": 482.0, "B": 2085.0, "alpha": 0.348, "beta": 0.366}
SIZES = tuple(np.geomspace(7e7, 1.6e10, 24))
TOKENS_PER_PARAM = tuple(np.geomspace(2.0, 200.0, 10))
COMPARED = ("E", "a_ref", "b_ref", "alpha", "beta", "sigma")


def datasets(n: int, seed0: int) -> list[Any]:
    """``n`` Chinchilla-shaped (240-row) datasets, one noise seed each."""
    from bayeslaw.simulate import simulate

    return [
        simulate("chinchilla", TRUTH, sizes=SIZES, tokens_per_param=TOKENS_PER_PARAM, sigma=0.02, nu=5.0, seed=seed0 + i).data
        for i in range(n)
    ]


def summarise(label: str, fits: list[Any], seconds: float) -> dict[str, Any]:
    """Per-fit time, convergence and ESS per second of one path."""
    ess = [f.diagnostics.min_ess_bulk for f in fits]
    return {
        "path": label,
        "fits": len(fits),
        "seconds": seconds,
        "per_fit": seconds / len(fits),
        "converged": sum(f.converged for f in fits),
        "median_min_ess_bulk": statistics.median(ess),
        "min_ess_bulk_per_s": sum(ess) / seconds,
    }


def timed_many(data: list[Any], seeds: list[int], **options: Any) -> tuple[list[Any], float]:
    """``fit_many`` and its wall time; convergence warnings are silenced (the summary reports them)."""
    import bayeslaw

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bayeslaw.ConvergenceWarning)
        fits = bayeslaw.fit_many(data, "chinchilla", random_seed=seeds, **options)
    return fits, time.perf_counter() - start


def program_seconds(data: list[Any], run: dict[str, int], seeds: list[int]) -> float:
    """Wall time of the warm JAX program alone (every chain's warm-up and sampling, results back on the host)."""
    from bayeslaw import batch_jax
    from bayeslaw.compiled import cache_key
    from bayeslaw.model_builder import model_data
    from bayeslaw.spec import resolve_spec

    spec = resolve_spec("chinchilla")
    _, program = batch_jax._program(cache_key(data[0], spec, "jax"), data[0], spec)
    settings = batch_jax._settings(spec, run)  # the settings fit_many used, so its compiled program is reused
    values = [model_data(d, spec) for d in data]
    start = time.perf_counter()
    program.sample(values, settings, seeds)
    return time.perf_counter() - start


def agreement(jax_fits: list[Any], nutpie_fits: list[Any]) -> dict[str, float]:
    """Largest and median |median difference| / nutpie posterior sd, per parameter, over fits both paths converged."""
    out: dict[str, float] = {}
    pairs = [(j, n) for j, n in zip(jax_fits, nutpie_fits, strict=False) if j.converged and n.converged]
    out["pairs_converged"] = len(pairs)
    for name in COMPARED:
        gaps = [
            abs(float(j.posterior[name].median()) - float(n.posterior[name].median())) / float(n.posterior[name].std()) for j, n in pairs
        ]
        if gaps:
            out[f"{name}_max_gap_sd"] = max(gaps)
            out[f"{name}_median_gap_sd"] = statistics.median(gaps)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="datasets in the JAX batch")
    parser.add_argument("--nutpie", type=int, default=20, help="of those, how many nutpie's fit_many fits for the ratio (0: none)")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed0", type=int, default=100, help="noise seed of the first dataset")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    import jax

    device = ", ".join(str(d) for d in jax.devices())
    print(f"JAX {jax.__version__} on {device} (default backend {jax.default_backend()})")
    data = datasets(args.n, args.seed0)
    run = {"draws": args.draws, "tune": args.tune, "chains": args.chains}
    print(f"{args.n} datasets x {len(data[0])} rows; {args.chains} chains x {args.draws} draws after {args.tune} warm-up")

    seeds = [args.seed0 + i for i in range(args.n)]
    cold_fits, cold = timed_many(data, seeds, backend="jax", **run)
    warm_seeds = [s + 10_000 for s in seeds]
    warm_fits, warm = timed_many(data, warm_seeds, backend="jax", **run)
    program = program_seconds(data, run, warm_seeds)
    rows = [summarise("jax cold (compile included)", cold_fits, cold), summarise("jax warm", warm_fits, warm)]
    rows.append({"path": "jax warm, JAX program only", "fits": args.n, "seconds": program, "per_fit": program / args.n})
    host = warm - program  # starting points, draws to the model's scale, and each Fit's diagnostics and predictive groups
    rows.append({"path": "jax warm, the rest (host side)", "fits": args.n, "seconds": host, "per_fit": host / args.n})

    nutpie_fits: list[Any] = []
    if args.nutpie:
        nutpie_fits, seconds = timed_many(data[: args.nutpie], seeds[: args.nutpie], **run)
        rows.append(summarise("nutpie fit_many (compile included)", nutpie_fits, seconds))
    base = rows[-1]["per_fit"] if args.nutpie else None
    print(f"{'path':38s} {'fits':>5s} {'seconds':>9s} {'per fit':>9s} {'nutpie/this':>11s} {'converged':>9s} {'med ESS':>8s} {'ESS/s':>8s}")
    for row in rows:
        ratio = f"{base / row['per_fit']:11.2f}" if base else f"{'-':>11s}"
        conv = f"{row['converged']:>9d}" if "converged" in row else f"{'-':>9s}"
        ess = f"{row['median_min_ess_bulk']:8.0f} {row['min_ess_bulk_per_s']:8.1f}" if "converged" in row else f"{'-':>8s} {'-':>8s}"
        print(f"{row['path']:38s} {row['fits']:5d} {row['seconds']:9.2f} {row['per_fit']:9.4f} {ratio} {conv} {ess}")
    agree = agreement(cold_fits, nutpie_fits) if nutpie_fits else {}
    if agree:
        print(f"agreement on {agree['pairs_converged']} datasets both paths converged (|median gap| / nutpie posterior sd):")
        for name in COMPARED:
            if f"{name}_max_gap_sd" in agree:
                print(f"  {name:6s} median {agree[f'{name}_median_gap_sd']:.3f}  max {agree[f'{name}_max_gap_sd']:.3f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak:.0f} MB")
    if args.json:
        payload = {"device": device, "n": args.n, "run": run, "rows": rows, "agreement": agree, "peak_rss_mb": peak}
        args.json.write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
