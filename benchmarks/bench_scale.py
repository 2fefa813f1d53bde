"""Benchmark: fit time by phase, ESS/s and peak memory against rows and against groups, today's path vs the lazy path.

Run::

    python benchmarks/bench_scale.py [--rows 1000 3000 10000 30000 100000] [--skills 4 16 64 256]
                                     [--paths today lazy] [--draws D --tune T] [--on-request]
                                     [--timeout S] [--json out.json] [--quick]

Every configuration runs in its own fresh process, so its peak RSS (the child's
``VmHWM``) is its own; a first process only compiles, so that every measured path
finds the model in the on-disk compile cache. The paths, run one after the other for each configuration so
their ratio is measured under the same load:

- ``today``: the fit as bayeslaw 0.1 made it: the model with the data as constants,
  and the log-likelihood and posterior predictive groups (draws x rows each) computed
  in one piece and stored in the fit (``_add_predictive_groups(fit, eager=True)``);
- ``lazy``: the fit as ``bayeslaw.fit`` makes it now: the same model and sampler, and
  those two groups computed on request, in blocks of draws (:mod:`bayeslaw.pointwise`);
- ``data``: ``lazy`` on the compile-once data path (``fit(..., reuse_compiled=True)``).

Phases: ``build`` (the PyMC model), ``compile`` (the backend's preparation: PyTensor +
Numba), ``sample`` (NUTS, with the stuck-chain policy), ``diagnostics`` (r_hat, ESS) and
``post`` (the observed, constant, log-likelihood and posterior predictive groups).
With ``--on-request`` each lazy fit then computes PSIS-LOO and the PPC coverage (the
groups on request; not part of the fit's time or peak; reported as ``request`` seconds
and ``request RSS``).

Rows: the default ``chinchilla`` model on simulated Chinchilla-law data (one
group; rows/10 model sizes x 10 token ratios). Groups: the ``hierarchical`` model
on ``skills`` x 3 datamixes, 40 runs per (skill, datamix) cell (256 skills: 30,720
rows), with group parameters drawn around Chinchilla-like population values.

Reported per configuration and path: seconds per phase, total, minimum bulk ESS,
bulk ESS per second of the total, whether the fit converged, and peak RSS; then each
path's time and memory as ratios of today's. ``--quick``: rows 1k-30k and 4-16 skills at
the spec's run length (for a loaded machine). A configuration that exceeds
``--timeout`` seconds is reported as such. Times are wall-clock on whatever machine and
load there is: compare the ratios.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

POPULATION = {"E": 1.82, "A": 482.0, "B": 2085.0, "alpha": 0.348, "beta": 0.366}


def make_data(kind: str, size: int) -> tuple[Any, str]:
    """(data, model name) of one configuration: ``rows`` (``size`` rows) or ``skills`` (``size`` skills x 3 datamixes)."""
    from bayeslaw.simulate import draw_group_params, simulate

    if kind == "rows":
        n_sizes = max(size // 10, 2)
        sim = simulate(
            "chinchilla",
            POPULATION,
            sizes=np.geomspace(7e7, 1.6e10, n_sizes),
            tokens_per_param=np.geomspace(2, 200, 10),
            sigma=0.02,
            nu=5.0,
            seed=size,
        )
        return sim.data, "chinchilla"
    skills = [f"s{i:03d}" for i in range(size)]
    datamixes = ["m0", "m1", "m2"]
    spreads = {name: {"skill": 0.1, "datamix": 0.05} for name in ("E", "A", "B")}
    truth = draw_group_params(POPULATION, spreads, skills=skills, datamixes=datamixes, seed=size)
    return simulate("chinchilla", truth, skills=skills, datamixes=datamixes, sigma=0.02, seed=size).data, "hierarchical"


def peak_rss_mb() -> float:
    """This process's peak resident set size so far (``VmHWM``), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one(kind: str, size: int, path: str, draws: int | None, tune: int | None, on_request: bool = False) -> dict[str, Any]:
    """Fit one configuration on one path in this process, timing each phase."""
    from bayeslaw import compiled, results
    from bayeslaw.backends import get_backend
    from bayeslaw.diagnostics import check_convergence
    from bayeslaw.families import get_family
    from bayeslaw.fit import Fit, _add_predictive_groups
    from bayeslaw.model_builder import build_model
    from bayeslaw.sampling import SamplerConfig, run_prepared
    from bayeslaw.spec import resolve_spec

    data, model = make_data(kind, size)
    spec = resolve_spec(model)
    settings = {**spec.sampler, **({"draws": draws} if draws else {}), **({"tune": tune} if tune else {})}
    config = SamplerConfig(**settings)
    backend = get_backend(config.backend)
    phases: dict[str, float] = {}
    tick = time.perf_counter()
    if path == "warm":  # fill the on-disk compile cache, so that no measured path pays a cold compile
        backend.prepare(build_model(data, spec).model)
        return {"kind": kind, "size": size, "path": path, "warm_s": time.perf_counter() - tick}
    if path in ("today", "lazy"):
        built = build_model(data, spec)
        phases["build"] = time.perf_counter() - tick
        tick = time.perf_counter()
        prepared = backend.prepare(built.model)
    else:
        entry_built = build_model(data, spec, as_data=True)
        phases["build"] = time.perf_counter() - tick
        tick = time.perf_counter()
        entry = compiled.CompiledModel(built=entry_built, prepared=backend.prepare(entry_built.model), backend=backend)
        compiled._CACHE.put(compiled.cache_key(data, spec, config.backend), entry)
        built, prepared = compiled.prepared_for(data, spec, config.backend)
    phases["compile"] = time.perf_counter() - tick
    tick = time.perf_counter()
    sampled = run_prepared(backend, prepared, config, 1)
    phases["sample"] = time.perf_counter() - tick
    tick = time.perf_counter()
    names = list(built.law.parameters) + list(get_family(spec.family).params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        diagnostics = check_convergence(sampled.idata, names, warn=False)
    phases["diagnostics"] = time.perf_counter() - tick
    tick = time.perf_counter()
    fitted = Fit(idata=sampled.idata, data=data, spec=spec, refs=built.refs, diagnostics=diagnostics, seed=1, notes=sampled.notes)
    _add_predictive_groups(fitted, eager=path == "today")
    phases["post"] = time.perf_counter() - tick
    total = sum(phases.values())
    row = {
        "kind": kind,
        "size": size,
        "rows": len(data),
        "path": path,
        "phases": phases,
        "total": total,
        "min_ess_bulk": diagnostics.min_ess_bulk,
        "ess_per_second": diagnostics.min_ess_bulk / total,
        "divergences": diagnostics.n_divergent,
        "converged": diagnostics.converged,
        "draws": results.n_draws(fitted.idata),
        "peak_rss_mb": peak_rss_mb(),
    }
    if on_request and path != "today":
        from bayeslaw.ppc import ppc_coverage

        tick = time.perf_counter()
        results.loo(fitted.idata, "y")
        ppc_coverage(fitted)
        row["request_s"] = time.perf_counter() - tick
        row["request_rss_mb"] = peak_rss_mb()
    return row


def run_child(kind: str, size: int, path: str, args: argparse.Namespace) -> dict[str, Any]:
    """:func:`one` in a fresh process (its own peak RSS), or a timeout/failure row."""
    command = [sys.executable, __file__, "--one", kind, str(size), path]
    command += [f"--draws={args.draws}"] if args.draws else []
    command += [f"--tune={args.tune}"] if args.tune else []
    command += ["--on-request"] if args.on_request else []
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"kind": kind, "size": size, "path": path, "failed": f"over {args.timeout} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"kind": kind, "size": size, "path": path, "failed": (done.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(lines[-1])


def show(rows: list[dict[str, Any]]) -> None:
    columns = ("build", "compile", "sample", "diagnostics", "post")
    header = ["config", "path", "rows", *columns, "total", "minESS", "ESS/s", "conv", "RSS MB"]
    print(" ".join(f"{h:>11s}" for h in header))
    for row in rows:
        label = f"{row['kind']}={row['size']}"
        if "failed" in row:
            print(f"{label:>11s} {row['path']:>11s} failed: {row['failed']}")
            continue
        values = [f"{row['phases'][c]:11.1f}" for c in columns]
        tail = [f"{row['total']:11.1f}", f"{row['min_ess_bulk']:11.0f}", f"{row['ess_per_second']:11.1f}"]
        print(
            " ".join(
                [
                    f"{label:>11s}",
                    f"{row['path']:>11s}",
                    f"{row['rows']:11d}",
                    *values,
                    *tail,
                    f"{row['converged']!s:>11s}",
                    f"{row['peak_rss_mb']:11.0f}",
                ]
            )
        )
    requested = [r for r in rows if "request_s" in r]
    if requested:
        print("\non request after a lazy fit (PSIS-LOO + PPC coverage, groups computed in blocks of draws):")
        for row in requested:
            print(f"  {row['kind']}={row['size']} {row['path']}: {row['request_s']:.1f} s, peak RSS then {row['request_rss_mb']:.0f} MB")
    by = {(r["kind"], r["size"], r["path"]): r for r in rows if "failed" not in r}
    print("\neach path / today's path, same configuration, same run:")
    for (kind, size, path), row in by.items():
        today = by.get((kind, size, "today"))
        if path == "today" or not today:
            continue
        ratios = {
            "total": row["total"] / today["total"],
            "post": row["phases"]["post"] / today["phases"]["post"],
            "sample": row["phases"]["sample"] / today["phases"]["sample"],
            "peak RSS": row["peak_rss_mb"] / today["peak_rss_mb"],
        }
        print(f"  {kind}={size} {path}: " + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="*", default=[1000, 3000, 10000, 30000, 100000])
    parser.add_argument("--skills", type=int, nargs="*", default=[4, 16, 64, 256])
    parser.add_argument("--paths", nargs="*", default=["today", "lazy"], choices=["today", "lazy", "data"])
    parser.add_argument("--on-request", action="store_true", help="after each lazy fit, time PSIS-LOO and the PPC coverage")
    parser.add_argument("--quick", action="store_true", help="rows 1k-30k and 4-16 skills (for a loaded machine)")
    parser.add_argument("--draws", type=int)
    parser.add_argument("--tune", type=int)
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--one", nargs=3, metavar=("KIND", "SIZE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        kind, size, path = args.one
        print(json.dumps(one(kind, int(size), path, args.draws, args.tune, args.on_request)))
        return
    if args.quick:
        args.rows = [r for r in args.rows if r <= 30000]
        args.skills = [k for k in args.skills if k <= 16]
    rows = []
    for kind, sizes in (("rows", args.rows), ("skills", args.skills)):
        for size in sizes:
            run_child(kind, size, "warm", args)
            for path in args.paths:
                rows.append(run_child(kind, size, path, args))
                print(json.dumps(rows[-1]), flush=True)
    print()
    show(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
