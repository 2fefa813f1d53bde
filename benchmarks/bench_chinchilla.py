"""Benchmark: the default Bayesian fit vs Epoch AI's approach-3 grid fit, on the same 240 Chinchilla points.

Run from a fresh shell (the Bayesian fit is timed first, in a fresh process, with
the model's Numba compilation included, as a user sees it)::

    python benchmarks/bench_chinchilla.py [--json results.json] [--quick] [--compare-pymc] [--cold-cache]

Prints (a) the wall time of ``bayeslaw.fit(data)`` with the default model and
sampler (nutpie, 4 chains x 1000 draws after 1000 tuning, compilation included),
(b) the wall time of the approach-3 point fit (Huber delta 1e-3 on log loss in
log-sum-exp form, L-BFGS-B from each of the 4,500 grid starts; see
:mod:`bayeslaw.pointfit`) as Epoch AI's code does it (objective only, gradients by
finite differences), (b') the same grid fit with an exact analytic gradient (a
faster variant written here, not Epoch's), the ratios, the Bayesian fit's convergence
diagnostics and its minimum bulk ESS per second. ``--quick`` uses every 45th
grid start (100 starts) for a smoke test; its ratio is not the benchmark.
``--compare-pymc`` also times the same model with PyMC's own NUTS (run last).

PyTensor caches the Numba code of a model on disk (``~/.pytensor``); a fit of
the same model on the same data in a later process reuses it (see
:mod:`bayeslaw.numba_cache`). ``--cold-cache`` points PyTensor at an empty
temporary cache directory first, to time the very first fit on a machine.
(a2) times a second default fit in the same process on other data (all 245
runs), as in a notebook: Numba's own start-up is paid, the model is compiled again.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from timing import timed_fit

#: Every n-th grid start in --quick mode.
QUICK_STRIDE = 45


def _seconds(start: float) -> float:
    return time.perf_counter() - start


def time_bayesian(backend: str | None, seed: int, exclude_top5: bool = True) -> dict[str, object]:
    """Load the data and time the default fit (compilation included)."""
    import bayeslaw

    data = bayeslaw.load_dataset("chinchilla", exclude_top5=exclude_top5)
    fitted, seconds = timed_fit(data, "chinchilla", seed, backend=backend)
    diag = fitted.diagnostics
    optimum = fitted.compute_optimal(5.76e23).summary()
    n_opt = optimum[optimum["quantity"] == "N_opt"].iloc[0]
    return {
        "backend": backend or "nutpie (default)",
        "n_points": len(data),
        "seconds": seconds,
        **diag.to_dict(),
        "converged": diag.converged,
        "min_ess_bulk_per_second": diag.min_ess_bulk / seconds,
        "N_opt_at_5.76e23": {k: float(n_opt[k]) for k in ("median", "lower", "upper")},
    }


def time_grid(quick: bool, gradient: str) -> dict[str, object]:
    """Time the approach-3 point fit from the grid of starts."""
    import bayeslaw
    from bayeslaw.pointfit import fit_point, start_grid

    data = bayeslaw.load_dataset("chinchilla", exclude_top5=True)
    starts = start_grid()
    if quick:
        starts = starts[::QUICK_STRIDE]
    start = time.perf_counter()
    result = fit_point(data, starts=starts, gradient=gradient)
    seconds = _seconds(start)
    return {
        "gradient": gradient,
        "seconds": seconds,
        "n_starts": result.n_starts,
        "n_failed": result.n_failed,
        "objective": result.objective,
        **result.params,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print (optionally save) the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    parser.add_argument("--quick", action="store_true", help=f"use every {QUICK_STRIDE}th grid start (smoke test only)")
    parser.add_argument("--compare-pymc", action="store_true", help="also time PyMC's NUTS on the same model (after the rest)")
    parser.add_argument("--seed", type=int, default=None, help="sampler seed (default: bayeslaw's DEFAULT_SEED)")
    parser.add_argument("--cold-cache", action="store_true", help="use an empty PyTensor compile cache (first fit on a machine)")
    args = parser.parse_args(argv)
    if args.cold_cache:
        cache_dir = tempfile.mkdtemp(prefix="bayeslaw-bench-pytensor-")
        os.environ["PYTENSOR_FLAGS"] = ",".join(filter(None, (os.environ.get("PYTENSOR_FLAGS"), f"base_compiledir={cache_dir}")))

    start = time.perf_counter()
    from bayeslaw.constants import DEFAULT_SEED

    import_seconds = _seconds(start)
    seed = DEFAULT_SEED if args.seed is None else args.seed
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}; seed {seed}", flush=True)
    print(f"import bayeslaw (PyMC, ArviZ): {import_seconds:.1f} s (not counted below)", flush=True)
    import pytensor

    cache_state = "empty (--cold-cache)" if args.cold_cache else "as left by earlier runs"
    print(f"PyTensor compile cache: {pytensor.config.base_compiledir} ({cache_state})", flush=True)

    print("(a) bayeslaw.fit, default model and sampler, compilation included ...", flush=True)
    bayes = time_bayesian(None, seed)
    print(
        f"    {bayes['seconds']:.1f} s; max r_hat {bayes['max_rhat']:.3f}, min bulk ESS {bayes['min_ess_bulk']:.0f}, "
        f"min tail ESS {bayes['min_ess_tail']:.0f}, divergences {bayes['n_divergent']}/{bayes['n_draws']}, "
        f"converged: {bayes['converged']}",
        flush=True,
    )
    print("(a2) a second default fit in the same process, on other data (all 245 runs) ...", flush=True)
    refit = time_bayesian(None, seed, exclude_top5=False)
    print(f"    {refit['seconds']:.1f} s; converged: {refit['converged']}", flush=True)
    label = f"{'quick: ' if args.quick else ''}approach-3 grid fit"
    grids = {}
    for tag, gradient, how in (
        ("b", "finite-difference", "as Epoch's code does it: finite-difference gradients"),
        ("b'", "exact", "exact analytic gradient"),
    ):
        print(f"({tag}) {label}, {how} (Huber 1e-3 on log loss, L-BFGS-B from each grid start) ...", flush=True)
        grid = time_grid(args.quick, gradient)
        print(
            f"    {grid['seconds']:.1f} s over {grid['n_starts']} starts ({grid['n_failed']} not converged); "
            f"E={grid['E']:.4g}, A={grid['A']:.4g}, B={grid['B']:.4g}, alpha={grid['alpha']:.4g}, beta={grid['beta']:.4g}",
            flush=True,
        )
        grids[gradient] = grid
    ratios = {g: grids[g]["seconds"] / bayes["seconds"] for g in grids}
    quick_note = "  (quick mode: not the benchmark)" if args.quick else ""
    print()
    print(f"default Bayesian fit (compile included): {bayes['seconds']:.1f} s")
    print(f"second fit in the same process, other data: {refit['seconds']:.1f} s")
    print(f"{label}, finite differences (as Epoch): {grids['finite-difference']['seconds']:.1f} s")
    print(f"{label}, exact gradient (faster variant): {grids['exact']['seconds']:.1f} s")
    print(f"ratio grid (as Epoch) / Bayesian: {ratios['finite-difference']:.2f}x{quick_note}")
    print(f"ratio grid (exact gradient) / Bayesian: {ratios['exact']:.2f}x{quick_note}")
    print(f"min bulk ESS per second (Bayesian fit): {bayes['min_ess_bulk_per_second']:.0f}")
    results = {
        "import_seconds": import_seconds,
        "cold_cache": args.cold_cache,
        "bayesian": bayes,
        "bayesian_second_fit_other_data": refit,
        "grid": grids,
        "ratio": ratios,
        "quick": args.quick,
    }

    if args.compare_pymc:
        print("(c) the same model with PyMC's NUTS (backend='pymc') ...", flush=True)
        pymc = time_bayesian("pymc", seed)
        print(
            f"    {pymc['seconds']:.1f} s; max r_hat {pymc['max_rhat']:.3f}, min bulk ESS {pymc['min_ess_bulk']:.0f}, "
            f"divergences {pymc['n_divergent']}/{pymc['n_draws']}, min bulk ESS per second {pymc['min_ess_bulk_per_second']:.0f}",
            flush=True,
        )
        results["pymc"] = pymc
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=float))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
