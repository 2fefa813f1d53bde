"""Benchmark: a validation-mix sweep of 21 weights x 5 budgets over 4,000 posterior draws (target: under 2 s).

Run ``python benchmarks/bench_mix.py``. ``--large`` runs the memory target instead:
4,000 draws x 100 budgets x 101 mixes of 2 skills (target: at most 30 s and 2 GB peak
RSS, in a fresh process so the peak is its own; the sweep runs in blocks of draws).
The draws are posterior-like synthetic
Chinchilla parameters for two skills with skill-specific exponents (so the mix
has no closed form); the timed call is :func:`bayeslaw.mix.sweep_params`, the
whole sweep (N*, D*, tokens per parameter, loss and the per-draw shift against
the reference mix). Prints the best and median of ``--repeats`` timings.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import xarray as xr

from bayeslaw.laws import get_law
from bayeslaw.mix import sweep_params, two_skill_path

TARGET_SECONDS = 2.0
BUDGETS = (1e20, 1e21, 1e22, 1e23, 1e24)
REFS = {"N": 1.2e8, "D": 2.5e9}


def posterior_like(chains: int = 4, draws: int = 1000, seed: int = 0) -> dict[str, xr.DataArray]:
    """Chinchilla parameters for skills "code" and "text" (dims chain, draw, skill)."""
    rng = np.random.default_rng(seed)
    shape = (chains, draws, 2)
    coords = {"chain": np.arange(chains), "draw": np.arange(draws), "skill": ["code", "text"]}

    def lognormal(mu: list[float], sd: float) -> xr.DataArray:
        return xr.DataArray(np.exp(rng.normal(mu, sd, shape)), dims=("chain", "draw", "skill"), coords=coords)

    return {
        "E": lognormal([0.2, 0.9], 0.05),
        "a_ref": lognormal([-1.6, -0.9], 0.2),
        "b_ref": lognormal([-0.5, -1.1], 0.2),
        "alpha": lognormal([np.log(0.30), np.log(0.36)], 0.1),
        "beta": lognormal([np.log(0.36), np.log(0.30)], 0.1),
    }


LARGE_SECONDS, LARGE_MB = 30.0, 2048.0


def peak_rss_mb() -> float:
    """This process's peak resident set size so far (``VmHWM``), in MB."""
    for line in open("/proc/self/status").read().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def large(mixes: int = 101) -> int:
    """4,000 draws x 100 budgets x ``mixes`` mixes (2 skills): time and peak RSS of this process."""
    law = get_law("chinchilla")
    params = posterior_like()
    path = two_skill_path("code", "text", steps=mixes)
    budgets = np.geomspace(1e19, 1e26, 100)
    before = peak_rss_mb()
    start = time.perf_counter()
    sweep = sweep_params(law, params, REFS, budgets, path, path.isel(mix=0, drop=True))
    seconds = time.perf_counter() - start
    peak = peak_rss_mb()
    shape = dict(sweep.draws["N_opt"].sizes)
    result_mb = sum(v.nbytes for v in sweep.draws.data_vars.values()) / 2**20
    print(
        f"mix sweep {shape}: {seconds:.1f} s; peak RSS {peak:.0f} MB (after imports {before:.0f} MB; the result itself {result_mb:.0f} MB)"
    )
    ok = seconds <= LARGE_SECONDS and peak <= LARGE_MB
    print("PASS" if ok else f"FAIL: target at most {LARGE_SECONDS:g} s and {LARGE_MB:g} MB")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--large", action="store_true", help="4,000 draws x 100 budgets x 101 mixes: time and peak RSS")
    parser.add_argument("--mixes", type=int, default=101, help="mixes of --large")
    args = parser.parse_args()
    if args.large:
        return large(args.mixes)
    law = get_law("chinchilla")
    params = posterior_like()
    path = two_skill_path("code", "text", steps=21)
    reference = path.isel(mix=0, drop=True)
    sweep_params(law, params, REFS, BUDGETS, path, reference)  # warm-up (imports, allocations)
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        sweep = sweep_params(law, params, REFS, BUDGETS, path, reference)
        times.append(time.perf_counter() - start)
    shape = dict(sweep.draws["N_opt"].sizes)
    best, median = min(times), statistics.median(times)
    print(f"mix sweep {shape}: best {best:.3f} s, median {median:.3f} s over {args.repeats} runs (target < {TARGET_SECONDS} s)")
    print("PASS" if median < TARGET_SECONDS else "FAIL: slower than the target")
    return 0 if median < TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
