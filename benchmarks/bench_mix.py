"""Benchmark: a validation-mix sweep of 21 weights x 5 budgets over 4,000 posterior draws (target: under 2 s).

Run ``python benchmarks/bench_mix.py``. ``--large`` runs the memory target instead:
4,000 draws x 100 budgets x 101 mixes of 2 skills (target: at most 30 s and 2 GB peak
RSS), in a fresh process so that the peak is its own. ``--large --compare main`` times
the same sweep with the package as it is at a git revision (``main``) and with this
checkout, one fresh process each, back to back (``--pairs N`` times, alternating the
order), and prints the ratio of their times and the largest difference of their log N*
(the search tolerance is 1e-7). The PASS/FAIL line judges this checkout's slowest run.

The draws are posterior-like synthetic Chinchilla parameters for two skills with
skill-specific exponents (so the mix has no closed form); the timed call is
:func:`bayeslaw.mix.sweep_params`, the whole sweep (N*, D*, tokens per parameter, loss
and the per-draw shift against the reference mix). Prints the best and median of
``--repeats`` timings, and the machine's load average (timings are shared-machine timings).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import xarray as xr

TARGET_SECONDS = 2.0
BUDGETS = (1e20, 1e21, 1e22, 1e23, 1e24)
REFS = {"N": 1.2e8, "D": 2.5e9}
LARGE_SECONDS, LARGE_MB = 30.0, 2048.0
ROOT = Path(__file__).resolve().parents[1]


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


def peak_rss_mb() -> float:
    """This process's peak resident set size so far (``VmHWM``), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load() -> str:
    """The machine's 1-minute load average (other processes share its cores)."""
    return f"{os.getloadavg()[0]:.2f}"


def large_child(mixes: int, draws: int, save: str | None) -> None:
    """Run in a fresh process: the large sweep's time and peak RSS (and N* saved to ``save``)."""
    from bayeslaw.laws import get_law
    from bayeslaw.mix import sweep_params, two_skill_path

    law = get_law("chinchilla")
    params = posterior_like(draws=draws // 4)
    path = two_skill_path("code", "text", steps=mixes)
    budgets = np.geomspace(1e19, 1e26, 100)
    before, load_before = peak_rss_mb(), load()
    start = time.perf_counter()
    sweep = sweep_params(law, params, REFS, budgets, path, path.isel(mix=0, drop=True))
    seconds = time.perf_counter() - start
    peak = peak_rss_mb()
    shape = dict(sweep.draws["N_opt"].sizes)
    result_mb = sum(v.nbytes for v in sweep.draws.data_vars.values()) / 2**20
    print(
        f"mix sweep {shape}: {seconds:.1f} s; peak RSS {peak:.0f} MB (after imports {before:.0f} MB; the result itself "
        f"{result_mb:.0f} MB); load average {load_before} before, {load()} after"
    )
    print(f"RESULT {seconds} {peak}")
    if save:
        np.save(save, sweep.draws["N_opt"].transpose("chain", "draw", "budget", "mix").values)


def run_child(package_root: Path, mixes: int, draws: int, save: str | None = None) -> tuple[float, float]:
    """The large sweep in a fresh Python process importing ``bayeslaw`` from ``package_root``: (seconds, peak MB)."""
    command = [sys.executable, __file__, "--large-child", "--mixes", str(mixes), "--draws", str(draws)] + (["--save", save] if save else [])
    env = {**os.environ, "PYTHONPATH": str(package_root)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the sweep with bayeslaw from {package_root} failed:\n{done.stderr[-3000:]}")
    lines = done.stdout.splitlines()
    print(f"  [{package_root}] " + next(line for line in lines if line.startswith("mix sweep")))
    seconds, peak = next(line for line in lines if line.startswith("RESULT")).split()[1:]
    return float(seconds), float(peak)


def max_log_difference(a_path: str, b_path: str) -> float:
    """Largest |log a - log b| over two saved arrays, read in slices (they may be large)."""
    a, b = np.load(a_path, mmap_mode="r"), np.load(b_path, mmap_mode="r")
    if a.shape != b.shape:
        raise ValueError(f"the two sweeps differ in shape: {a.shape} against {b.shape}")
    return max(float(np.max(np.abs(np.log(a[i]) - np.log(b[i])))) for i in range(a.shape[0]))


def large(mixes: int, draws: int, compare: str | None, pairs: int = 1) -> int:
    """The large sweep in a fresh process, against the targets; with ``compare`` also the same sweep at that revision,
    ``pairs`` times, alternating which runs first."""
    with tempfile.TemporaryDirectory() as tmp:
        if compare is None:
            seconds, peak = run_child(ROOT, mixes, draws)
        else:
            old_root = Path(tmp) / "old"
            old_root.mkdir()
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", compare, "bayeslaw"], capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", str(old_root)], input=archive, check=True)
            ratios, times, peaks = [], [], []
            for pair in range(pairs):
                order = [(old_root, "old"), (ROOT, "new")][:: 1 if pair % 2 == 0 else -1]
                took = {name: run_child(root, mixes, draws, str(Path(tmp) / f"{name}.npy") if pair == 0 else None) for root, name in order}
                ratios.append(took["old"][0] / took["new"][0])
                times.append(took["new"][0])
                peaks.append(took["new"][1])
                print(f"pair {pair + 1}: {compare} / this checkout = {took['old'][0]:.1f} s / {took['new'][0]:.1f} s = {ratios[-1]:.1f}x")
            seconds, peak = max(times), max(peaks)
            difference = max_log_difference(str(Path(tmp) / "old.npy"), str(Path(tmp) / "new.npy"))
            print(f"{compare} / this checkout, back to back: median {statistics.median(ratios):.1f}x over {pairs} pair(s)")
            print(f"largest |log N*({compare}) - log N*(this checkout)|: {difference:.2e} (search tolerance 1e-7)")
    ok = seconds <= LARGE_SECONDS and peak <= LARGE_MB
    print("PASS" if ok else f"FAIL: target at most {LARGE_SECONDS:g} s and {LARGE_MB:g} MB (took {seconds:.1f} s, {peak:.0f} MB)")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--large", action="store_true", help="4,000 draws x 100 budgets x 101 mixes: time and peak RSS")
    parser.add_argument("--mixes", type=int, default=101, help="mixes of --large")
    parser.add_argument("--draws", type=int, default=4000, help="draws of --large (4 chains)")
    parser.add_argument("--compare", metavar="REVISION", help="with --large: also time the package at this git revision")
    parser.add_argument("--pairs", type=int, default=1, help="with --compare: timed pairs (old, new), alternating their order")
    parser.add_argument("--large-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--save", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.large_child:
        large_child(args.mixes, args.draws, args.save)
        return 0
    if args.large:
        return large(args.mixes, args.draws, args.compare, args.pairs)
    from bayeslaw.laws import get_law
    from bayeslaw.mix import sweep_params, two_skill_path

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
    print(
        f"mix sweep {shape}: best {best:.3f} s, median {median:.3f} s over {args.repeats} runs "
        f"(target < {TARGET_SECONDS} s; load average {load()})"
    )
    print("PASS" if median < TARGET_SECONDS else "FAIL: slower than the target")
    return 0 if median < TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
