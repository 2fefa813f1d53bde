"""Benchmark: many fits of one spec to same-shaped datasets, today's loop of fit() calls vs compile-once paths.

Run::

    python benchmarks/bench_many.py [--n 20] [--loop 20] [--workers 2] [--dask] [--interleave] [--json out.json]

In one process, on ``--n`` simulated Chinchilla-shaped datasets (240 rows each: 24
model sizes x 10 token ratios, Student-t noise, one seed per dataset), default
model and sampler settings:

1. **loop**: ``bayeslaw.fit(data)`` for the first ``--loop`` datasets (today's path:
   the data are compiled in, so every dataset compiles again);
2. **fit_many**: ``bayeslaw.fit_many(datasets)`` in this process (one compile, then
   the compiled model with new data), timed including that compile; with ``--interleave``
   1 and 2 alternate, one dataset at a time (``fit(d)``, then ``fit_many([d])``, whose
   compiled-model cache persists in the process), so a machine whose load changes
   during the run loads both paths alike;
3. **process pool**: ``fit_many(..., executor=ProcessPoolExecutor(--workers))``,
   timed including the workers' start-up and their one compile each;
4. **Dask** (``--dask``, if ``distributed`` is installed): the same on a
   ``LocalCluster(n_workers=--workers, threads_per_worker=1)``;
5. **refit**: ``fits[0].refit(new data)`` in this (warm) process, against the gradient
   floor: one log density + gradient evaluation of the compiled model (timed over
   many calls) x the number of gradient evaluations the same run used (counted by
   sampling the same model and seed with the warm-up stored) / the chains run at
   once (2 cores).

The datasets' noise seeds are new on each run (``--seed0`` fixes them), so today's
loop compiles data it has not seen, as a user's would (PyTensor's on-disk cache
would otherwise serve repeated runs of the same datasets).

Prints per-fit times, their ratios to the loop measured in the same run, the
median min-bulk-ESS and how many fits passed their convergence checks on each
path, and peak RSS (this process; workers separately). Times on a shared machine
are noisy: compare the ratios.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import statistics
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

#: Epoch AI's approach-3 estimate of the Chinchilla law (paper form); the simulated truth.
TRUTH = {"E": 1.82, "A": 482.0, "B": 2085.0, "alpha": 0.348, "beta": 0.366}
SIZES = tuple(np.geomspace(7e7, 1.6e10, 24))
TOKENS_PER_PARAM = tuple(np.geomspace(2.0, 200.0, 10))


def datasets(n: int, seed0: int = 100) -> list[Any]:
    """``n`` Chinchilla-shaped (240-row) datasets, one noise seed each."""
    from bayeslaw.simulate import simulate

    return [
        simulate("chinchilla", TRUTH, sizes=SIZES, tokens_per_param=TOKENS_PER_PARAM, sigma=0.02, nu=5.0, seed=seed0 + i).data
        for i in range(n)
    ]


def summarise(label: str, fits: list[Any], seconds: float) -> dict[str, Any]:
    """Per-fit time and convergence of one path."""
    return {
        "path": label,
        "fits": len(fits),
        "seconds": seconds,
        "per_fit": seconds / len(fits),
        "converged": sum(f.converged for f in fits),
        "median_min_ess_bulk": statistics.median(f.diagnostics.min_ess_bulk for f in fits),
        "median_max_rhat": statistics.median(f.diagnostics.max_rhat for f in fits),
    }


def timed(function: Any) -> tuple[Any, float]:
    import bayeslaw

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bayeslaw.ConvergenceWarning)
        out = function()
    return out, time.perf_counter() - start


def gradient_floor(fitted: Any, data: Any) -> dict[str, float]:
    """One log density + gradient cost x the gradient evaluations of the refit's run (same model, seed, settings)."""
    import nutpie

    from bayeslaw import compiled, results
    from bayeslaw.backends import get_backend

    _, prepared = compiled.prepared_for(data, fitted.spec, "nutpie")
    logp_grad = get_backend("nutpie").logp_grad(prepared)
    x = np.asarray(prepared.initial_point_func(0), dtype=float)
    calls = 20000
    start = time.perf_counter()
    for _ in range(calls):
        logp_grad(x)
    per_call_ctypes = (time.perf_counter() - start) / calls
    per_call = max(per_call_ctypes - _ctypes_overhead(prepared.n_dim, calls), 0.0)
    settings = results.get_json_attr(fitted.idata, "sampler")
    idata = nutpie.sample(
        prepared,
        draws=settings["draws"],
        tune=settings["tune"],
        chains=settings["chains"],
        cores=min(settings["chains"], 2),
        seed=fitted.seed,
        progress_bar=False,
        low_rank_modified_mass_matrix=settings["low_rank"],
        target_accept=settings["target_accept"],
        save_warmup=True,
    )
    steps = int(idata.warmup_sample_stats["n_steps"].sum() + idata.sample_stats["n_steps"].sum())
    parallel = min(settings["chains"], 2)  # the chains run on this many cores at once
    return {
        "parallel_chains": parallel,
        "grad_seconds": per_call,
        "grad_seconds_with_ctypes": per_call_ctypes,
        "gradient_evals": steps,
        "floor_seconds": per_call * steps,
    }


def _ctypes_overhead(n_dim: int, calls: int) -> float:
    """Seconds per call of an empty C function of nutpie's log-density signature, called as :func:`gradient_floor` calls it.

    Subtracted from the measured cost, so the floor is the compiled function's own cost (a lower floor, a stricter ratio).
    """
    import ctypes

    import numba

    signature = numba.types.int64(
        numba.types.uint64,
        numba.types.CPointer(numba.types.double),
        numba.types.CPointer(numba.types.double),
        numba.types.CPointer(numba.types.double),
        numba.types.voidptr,
    )

    @numba.cfunc(signature)
    def empty(dim, x_, out_, logp_, user_data_):
        return 0

    pointer = ctypes.POINTER(ctypes.c_double)
    function = empty.ctypes
    x = np.zeros(n_dim)
    user = np.zeros(1)
    start = time.perf_counter()
    for _ in range(calls):
        xc = np.ascontiguousarray(x, dtype=np.float64)
        grad, logp = np.empty(n_dim), np.empty(())
        function(n_dim, xc.ctypes.data_as(pointer), grad.ctypes.data_as(pointer), logp.ctypes.data_as(pointer), user.ctypes.data)
    return (time.perf_counter() - start) / calls


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20, help="datasets for fit_many and the pools")
    parser.add_argument("--loop", type=int, default=None, help="datasets for today's loop of fit() (default: --n)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dask", action="store_true", help="also time a Dask LocalCluster (needs distributed)")
    parser.add_argument("--no-pool", action="store_true")
    parser.add_argument(
        "--interleave", action="store_true", help="alternate one fit() and one fit_many([d]) per dataset (same load for both)"
    )
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--seed0", type=int, default=None, help="first noise seed (default: new each run, so today's loop meets unseen data)"
    )
    args = parser.parse_args()
    seed0 = args.seed0 if args.seed0 is not None else int(time.time()) % 1_000_000

    start = time.perf_counter()
    import bayeslaw

    print(f"import bayeslaw: {time.perf_counter() - start:.1f} s")
    print(f"datasets: noise seeds {seed0}..{seed0 + args.n}")
    data = datasets(args.n + 1, seed0)
    targets, spare = data[: args.n], data[args.n]
    rows = []

    loop_n = args.loop or args.n
    if args.interleave:
        # One fit() then one fit_many([d]) per dataset, so both paths see the same load; fit_many's
        # compiled-model cache lives in the process, so its first call pays the one compile.
        loop, many, loop_seconds, many_seconds = [], [], 0.0, 0.0
        for d in targets:
            fitted, seconds = timed(lambda d=d: bayeslaw.fit(d))
            loop.append(fitted)
            loop_seconds += seconds
            fitted, seconds = timed(lambda d=d: bayeslaw.fit_many([d])[0])
            many.append(fitted)
            many_seconds += seconds
        rows.append(summarise("loop of fit() (today), interleaved", loop, loop_seconds))
        rows.append(summarise("fit_many, this process, interleaved", many, many_seconds))
        print(f"interleaved loop and fit_many done, peak RSS {peak_rss_mb():.0f} MB", flush=True)
    else:
        loop, seconds = timed(lambda: [bayeslaw.fit(d) for d in targets[:loop_n]])
        rows.append(summarise("loop of fit() (today)", loop, seconds))
        print(f"loop done, peak RSS {peak_rss_mb():.0f} MB", flush=True)

        many, seconds = timed(lambda: bayeslaw.fit_many(targets))
        rows.append(summarise("fit_many, this process", many, seconds))
        print(f"fit_many done, peak RSS {peak_rss_mb():.0f} MB", flush=True)

    if not args.no_pool:
        context = multiprocessing.get_context("spawn")

        def pooled() -> list[Any]:
            with ProcessPoolExecutor(max_workers=args.workers, mp_context=context) as pool:
                return bayeslaw.fit_many(targets, executor=pool)

        fits, seconds = timed(pooled)
        same = all(np.array_equal(a.posterior["E"].values, b.posterior["E"].values) for a, b in zip(fits, many, strict=True))
        rows.append({**summarise(f"fit_many, process pool x{args.workers}", fits, seconds), "identical_to_sequential": same})

    if args.dask:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            print("--dask: distributed is not installed (pip install 'bayeslaw[dask]'); skipped")
        else:
            with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True) as cluster, Client(cluster) as client:
                fits, seconds = timed(lambda: bayeslaw.fit_many(targets, executor=client))
            same = all(np.array_equal(a.posterior["E"].values, b.posterior["E"].values) for a, b in zip(fits, many, strict=True))
            rows.append({**summarise(f"fit_many, Dask LocalCluster x{args.workers}", fits, seconds), "identical_to_sequential": same})

    refit, refit_seconds = timed(lambda: many[0].refit(spare))
    floor = gradient_floor(many[0], spare)

    base = rows[0]["per_fit"]
    print(f"\n{args.n} datasets of 240 rows, default chinchilla model and sampler (times under whatever load the machine has)")
    print(f"{'path':40s} {'fits':>5s} {'s/fit':>7s} {'vs loop':>8s} {'converged':>10s} {'med min ESS':>12s} {'med max rhat':>12s}")
    for row in rows:
        print(
            f"{row['path']:40s} {row['fits']:5d} {row['per_fit']:7.2f} {row['per_fit'] / base:8.3f} "
            f"{row['converged']:>5d}/{row['fits']:<4d} {row['median_min_ess_bulk']:12.0f} {row['median_max_rhat']:12.4f}"
            + (f"  identical to sequential: {row['identical_to_sequential']}" if "identical_to_sequential" in row else "")
        )
    print(
        f"\nrefit (warm process): {refit_seconds:.2f} s ({'converged' if refit.converged else 'NOT converged'}); "
        f"gradient floor {floor['floor_seconds']:.2f} s = {floor['gradient_evals']} logp+grad evaluations x "
        f"{floor['grad_seconds'] * 1e6:.1f} us / {floor['parallel_chains']} chains at once; "
        f"refit / floor = {refit_seconds / floor['floor_seconds']:.2f}"
    )
    print(f"peak RSS: this process {peak_rss_mb():.0f} MB, largest worker {peak_rss_mb(resource.RUSAGE_CHILDREN):.0f} MB")
    if args.json:
        payload = {"rows": rows, "refit_seconds": refit_seconds, "floor": floor, "python": sys.version}
        args.json.write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
