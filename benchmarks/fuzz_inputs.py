"""Fuzz bayeslaw's inputs: generated bad CSVs, specs and command lines, through the API and the CLI.

Every case runs in a forked child (so a segfault is counted, not fatal) and stops
before sampling: ``bayeslaw.fit`` is replaced by a sentinel, and the API path runs
validation, plausibility checks, spec validation and model building only. Counted:

- ``traceback``: an exception that is not a user error (the CLI let it through, or
  the API raised something other than ValueError / OSError / KeyError);
- ``crash``: the child died from a signal;
- ``silent``: impossible input reached sampling (CLI) or passed every check (API)
  without an error.

Implausible-but-possible inputs (values in billions, duplicated rows, ...) must
warn; one that passes without a warning counts as ``silent`` too.

Run: ``PYTHONPATH=. python benchmarks/fuzz_inputs.py`` (exits 1 unless all counts are 0).
``--quick`` runs a fixed subset (used by tests/test_fuzz_inputs.py).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

GOOD_N = np.geomspace(1e7, 3e9, 12)
GOOD_D = GOOD_N * np.tile([5.0, 20.0, 80.0], 4)
GOOD_LOSS = 1.8 + 400 / GOOD_N**0.34 + 2000 / GOOD_D**0.37


@dataclass
class Case:
    """One bad input: ``expect`` is 'error' (impossible) or 'warn' (implausible)."""

    name: str
    expect: str
    csv: bytes | None = None
    spec: str | None = None
    args: list[str] = field(default_factory=list)
    command: str = "fit"


def _frame(**changes: object) -> pd.DataFrame:
    frame = pd.DataFrame({"N": GOOD_N, "D": GOOD_D, "loss": GOOD_LOSS})
    for key, value in changes.items():
        frame[key] = value
    return frame


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def _with(column: str, row: int, value: object) -> bytes:
    frame = _frame().astype(object)
    frame.loc[row, column] = value
    return _csv(frame)


def csv_cases() -> list[Case]:
    cases = []
    for column in ("N", "D", "loss"):
        for label, value in (("text", "abc"), ("nan", "nan"), ("inf", "inf"), ("-inf", "-inf"), ("empty", ""), ("zero", 0), ("neg", -1e8)):
            cases.append(Case(f"{column}-{label}", "error", csv=_with(column, 3, value)))
        cases.append(Case(f"{column}-missing", "error", csv=_csv(_frame().drop(columns=column))))
        cases.append(Case(f"{column}-bool", "error", csv=_with(column, 2, "True")))
        cases.append(Case(f"{column}-date", "error", csv=_with(column, 5, "2024-01-01")))
    raw = {
        "empty-file": b"",
        "header-only": b"N,D,loss\n",
        "blank-lines": b"\n\n\n",
        "binary": bytes(range(256)) * 8,
        "utf16": _csv(_frame()).decode().encode("utf-16"),
        "latin1": "N,D,loss,naïve\n".encode("latin-1") + b"1e8,2e9,3.0,\xe9\n",
        "semicolons": _csv(_frame()).replace(b",", b";"),
        "ragged": b"N,D,loss\n1e8,2e9,3.0\n2e8,4e9\n4e8,8e9,2.8,9,9\n",
        "one-row": b"N,D,loss\n1e8,2e9,3.1\n",
        "same-inputs": b"N,D,loss\n1e8,2e9,3.1\n1e8,2e9,3.0\n1e8,2e9,3.2\n",
        "dup-header": b"N,D,N,loss\n1e8,2e9,5,3.0\n2e8,4e9,6,2.9\n4e8,8e9,7,2.8\n",
        "dup-header-loss": b"N,D,loss,loss\n1e8,2e9,3.0,1\n2e8,4e9,2.9,1\n4e8,8e9,2.8,1\n",
        "inf-compute": _csv(_frame(N=GOOD_N * 1e150, D=GOOD_D * 1e160)),
        "compute-off": _csv(_frame(C=6.9 * GOOD_N * GOOD_D)),
        "compute-only-inf": _csv(pd.DataFrame({"N": GOOD_N * 1e-300, "C": 6 * GOOD_N * GOOD_D, "loss": GOOD_LOSS})),
        "compute-neg": _csv(_frame(C=-6 * GOOD_N * GOOD_D)),
        "only-loss": _csv(pd.DataFrame({"loss": GOOD_LOSS})),
        "hex": _with("N", 1, "0x10"),
        "percent": _with("loss", 1, "3%"),
        "thousands-sep": _with("N", 1, "1,000,000"),
        "nul-bytes": b"N,D,loss\n1e8\x00,2e9,3.0\n2e8,4e9,2.9\n",
        "skill-missing-label": _csv(_frame(skill=["a"] * 11 + [None])),
        "whitespace-N": _with("N", 4, "   "),
        "huge-int": _with("N", 4, "9" * 400),
    }
    cases += [Case(name, "error", csv=data) for name, data in raw.items()]
    warn = {
        "billions": _csv(_frame(N=GOOD_N / 1e9, D=GOOD_D / 1e12)),
        "millions": _csv(_frame(N=GOOD_N / 1e6)),
        "dup-rows": _csv(pd.concat([_frame(), _frame().iloc[[3, 4]]])),
        "few-runs": _csv(_frame().iloc[:3]),
        "constant-N": _csv(_frame(N=1e8)),
        "tiny-D": _csv(_frame(D=GOOD_D / 1e9)),
        "huge-N": _csv(_frame(N=GOOD_N * 1e8, D=GOOD_D * 1e8)),
    }
    cases += [Case(name, "warn", csv=data) for name, data in warn.items()]
    return cases


SPEC_HEAD = 'name = "fuzz"\nlaw = "chinchilla"\n'


def spec_cases() -> list[Case]:
    bodies = {
        "toml-syntax": 'name = "x"\nlaw = chinchilla\n',
        "no-law": 'name = "x"\n',
        "law-int": 'name = "x"\nlaw = 3\n',
        "law-unknown": 'name = "x"\nlaw = "chinchila"\n',
        "top-key": SPEC_HEAD + "prior = 1\n",
        "family-unknown": SPEC_HEAD + '[likelihood]\nfamily = "studnett"\n',
        "likelihood-key": SPEC_HEAD + '[likelihood]\nfamilly = "normal"\n',
        "lik-prior-param": SPEC_HEAD + '[likelihood]\npriors = { sd = { dist = "HalfNormal", sigma = 1 } }\n',
        "neg-sigma": SPEC_HEAD + '[likelihood]\npriors = { sigma = { dist = "HalfNormal", sigma = -0.1 } }\n',
        "zero-sigma": SPEC_HEAD + '[likelihood]\npriors = { sigma = { dist = "HalfNormal", sigma = 0.0 } }\n',
        "nu-neg": SPEC_HEAD + '[likelihood]\npriors = { nu = { dist = "Gamma", alpha = -2, beta = 0.1 } }\n',
        "prior-not-table": SPEC_HEAD + "[priors]\nalpha = 3\n",
        "prior-no-dist": SPEC_HEAD + "[priors]\nalpha = { mu = 0, sigma = 1 }\n",
        "dist-unknown": SPEC_HEAD + '[priors]\nalpha = { dist = "LogNormall", mu = 0, sigma = 1 }\n',
        "dist-function": SPEC_HEAD + '[priors]\nalpha = { dist = "sample" }\n',
        "dist-model": SPEC_HEAD + '[priors]\nalpha = { dist = "Model" }\n',
        "dist-math": SPEC_HEAD + '[priors]\nalpha = { dist = "math" }\n',
        "dist-lowercase": SPEC_HEAD + '[priors]\nalpha = { dist = "lognormal", mu = 0, sigma = 1 }\n',
        "arg-misspelt": SPEC_HEAD + '[priors]\nalpha = { dist = "LogNormal", mu = -1, sigm = 0.5 }\n',
        "arg-extra": SPEC_HEAD + '[priors]\nalpha = { dist = "LogNormal", mu = -1, sigma = 0.5, nu = 3 }\n',
        "arg-string": SPEC_HEAD + '[priors]\nalpha = { dist = "LogNormal", mu = "-1", sigma = 0.5 }\n',
        "arg-bool": SPEC_HEAD + '[priors]\nalpha = { dist = "LogNormal", mu = true, sigma = 0.5 }\n',
        "arg-inf": SPEC_HEAD + '[priors]\nalpha = { dist = "LogNormal", mu = inf, sigma = 0.5 }\n',
        "arg-nan": SPEC_HEAD + '[priors]\nalpha = { dist = "LogNormal", mu = nan, sigma = 0.5 }\n',
        "neg-lognormal": SPEC_HEAD + '[priors]\nalpha = { dist = "LogNormal", mu = -1, sigma = -0.5 }\n',
        "uniform-reversed": SPEC_HEAD + '[priors]\nalpha = { dist = "Uniform", lower = 1, upper = 0 }\n',
        "prior-param-unknown": SPEC_HEAD + '[priors]\ngamma = { dist = "Normal", mu = 0, sigma = 1 }\n',
        "pooling-mode": SPEC_HEAD + '[pooling]\nE = { skill = "partal" }\n',
        "pooling-axis": SPEC_HEAD + '[pooling]\nE = { skils = "partial" }\n',
        "pooling-param": SPEC_HEAD + '[pooling]\nEE = { skill = "partial" }\n',
        "pooling-not-table": SPEC_HEAD + '[pooling]\nE = "partial"\n',
        "pooled-wrong-prior": SPEC_HEAD + '[priors]\nE = { dist = "HalfNormal", sigma = 1 }\n[pooling]\nE = { skill = "partial" }\n',
        "scale-neg": SPEC_HEAD + "[pooling_scale]\ndefault = -0.5\n",
        "scale-bool": SPEC_HEAD + "[pooling_scale]\ndefault = true\n",
        "scale-string": SPEC_HEAD + '[pooling_scale]\ndefault = "0.5"\n',
        "scale-inf": SPEC_HEAD + "[pooling_scale]\ndefault = inf\n",
        "sampler-key": SPEC_HEAD + "[sampler]\ndraw = 100\n",
        "low-rank-no": SPEC_HEAD + '[sampler]\nlow_rank = "no"\n',
        "restart-int": SPEC_HEAD + "[sampler]\nrestart_stuck_chains = 1\n",
        "draws-float": SPEC_HEAD + "[sampler]\ndraws = 1.5\n",
        "draws-zero": SPEC_HEAD + "[sampler]\ndraws = 0\n",
        "draws-bool": SPEC_HEAD + "[sampler]\ndraws = true\n",
        "chains-neg": SPEC_HEAD + "[sampler]\nchains = -2\n",
        "tune-string": SPEC_HEAD + '[sampler]\ntune = "100"\n',
        "accept-one": SPEC_HEAD + "[sampler]\ntarget_accept = 1.0\n",
        "accept-bool": SPEC_HEAD + "[sampler]\ntarget_accept = true\n",
        "backend-unknown": SPEC_HEAD + '[sampler]\nbackend = "stan"\n',
        "empty-spec": "",
        "binary-spec": "\x00\x01\x02",
    }
    cases = [Case(f"spec-{name}", "error", csv=_csv(_frame().assign(skill=["a", "b"] * 6)), spec=body) for name, body in bodies.items()]
    return cases


def arg_cases() -> list[Case]:
    good = _csv(_frame())
    argsets = {
        "seed-neg": ["--seed", "-1"],
        "seed-text": ["--seed", "x"],
        "seed-huge": ["--seed", str(2**70)],
        "draws-zero": ["--draws", "0"],
        "draws-neg": ["--draws", "-5"],
        "chains-float": ["--chains", "1.5"],
        "accept-one": ["--target-accept", "1"],
        "prob-zero": ["--prob", "0"],
        "prob-nan": ["--prob", "nan"],
        "map-no-eq": ["--map", "N"],
        "map-misspelt": ["--map", "NN=N"],
        "map-missing-col": ["--map", "N=size"],
        "map-same-col": ["--map", "D=N"],
        "map-conflict": ["--params-col", "N", "--map", "N=D"],
        "out-txt": ["--out-override", "f.txt"],
        "out-dir": ["--out-override", "."],
        "out-under-file": ["--out-override", "data.csv/f.nc"],
        "out-proc": ["--out-override", "/proc/f.nc"],
        "plots-file": ["--plots", "data.csv"],
        "drop-neg": ["--drop-highest", "-1"],
        "drop-all": ["--drop-highest", "1000"],
        "rtol-zero": ["--compute-rtol", "0"],
        "rtol-neg": ["--compute-rtol", "-0.1"],
        "allow-bogus": ["--allow", "bogus"],
        "backend-bogus": ["--backend", "stan"],
        "model-dir": ["--model", "."],
        "model-missing-toml": ["--model", "nope.toml"],
        "model-misspelt": ["--model", "chinchila"],
        "target-unknown": ["--target", "accuracy"],
    }
    cases = [Case(f"arg-{name}", "error", csv=good, args=args) for name, args in argsets.items()]
    other = {
        "optimum-missing": ["optimum", "missing.nc", "--budget", "1e22"],
        "optimum-garbage": ["optimum", "data.csv", "--budget", "1e22"],
        "optimum-neg-budget": ["optimum", "missing.nc", "--budget", "-1e22"],
        "optimum-nan-budget": ["optimum", "missing.nc", "--budget", "nan"],
        "optimum-dup-mix": ["optimum", "missing.nc", "--budget", "1e22", "--mix", "a=1", "--mix", "a=2"],
        "optimum-mix-nan": ["optimum", "missing.nc", "--budget", "1e22", "--mix", "a=nan"],
        "predict-neg": ["predict", "missing.nc", "--params", "-7e10", "--tokens", "1e12"],
        "predict-dir": ["predict", ".", "--params", "7e10", "--tokens", "1e12"],
        "predict-dup-input": ["predict", "missing.nc", "--input", "examples=1", "--input", "examples=2"],
        "predict-input-text": ["predict", "missing.nc", "--input", "examples=a,b"],
    }
    cases += [Case(f"cmd-{name}", "error", csv=good, command="other", args=args) for name, args in other.items()]
    return cases


# --------------------------------------------------------------------------- running one case
class _ReachedSampling(Exception):
    pass


def _api(case: Case, folder: Path) -> tuple[str, str]:
    """Validation, checks and model building as ``bayeslaw.fit`` does them; returns (outcome, detail)."""
    from bayeslaw import plausibility
    from bayeslaw.data import ScalingData
    from bayeslaw.laws import get_law
    from bayeslaw.model_builder import build_model
    from bayeslaw.spec import resolve_spec
    from bayeslaw.spec_validation import validate_spec

    if case.command != "fit" or case.args:
        return "skipped", "CLI-only case"
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            spec = resolve_spec(str(folder / "spec.toml") if case.spec is not None else "chinchilla")
            data = ScalingData.from_csv(folder / "data.csv")
            validate_spec(spec, data)
            plausibility.check_data(data, len(get_law(spec.law).parameters))
            build_model(data, spec)
    except (ValueError, OSError, KeyError) as err:
        return "error", f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"[:200]
    warned = [w for w in caught if issubclass(w.category, plausibility.PlausibilityWarning)]
    return ("warned" if warned else "accepted"), (str(warned[0].message)[:200] if warned else "")


def _cli(case: Case, folder: Path) -> tuple[str, str]:
    import bayeslaw
    from bayeslaw.cli import main

    def stop(*args: object, **kwargs: object) -> None:
        raise _ReachedSampling

    bayeslaw.fit = stop  # type: ignore[attr-defined]
    os.chdir(folder)
    if case.command == "fit":
        out = "f.nc"
        args = list(case.args)
        if "--out-override" in args:
            i = args.index("--out-override")
            out = args[i + 1]
            del args[i : i + 2]
        argv = ["fit", "data.csv", "--out", out, *args]
        if case.spec is not None:
            argv += ["--model", "spec.toml"]
    else:
        argv = list(case.args)
    err = io.StringIO()
    real_stderr = sys.stderr
    sys.stderr = err
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            code = main(argv)
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    except _ReachedSampling:
        code = None
    finally:
        sys.stderr = real_stderr
    text = err.getvalue()
    if code is None:
        return ("warned" if "PlausibilityWarning" in text else "accepted"), text.strip().splitlines()[-1][:200] if text.strip() else ""
    if "Traceback" in text:
        return "traceback", text[-300:]
    last = text.strip().splitlines()[-1] if text.strip() else ""
    return ("error" if code == 2 else f"exit {code}"), last[:200]


def run_case(case: Case, surface: str) -> dict[str, str]:
    """Run ``case`` through ``surface`` ('api' or 'cli') in a forked child; classify the result."""
    folder = Path(tempfile.mkdtemp(prefix="bayeslaw-fuzz-"))
    if case.csv is not None:
        (folder / "data.csv").write_bytes(case.csv)
    if case.spec is not None:
        (folder / "spec.toml").write_text(case.spec)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            outcome, detail = (_api if surface == "api" else _cli)(case, folder)
        except BaseException:
            outcome, detail = "traceback", traceback.format_exc()[-600:]
        os.write(write_end, json.dumps({"outcome": outcome, "detail": detail}).encode())
        os._exit(0)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(read_end) as pipe:
        payload = pipe.read()
    if os.WIFSIGNALED(status):
        result = {"outcome": "crash", "detail": f"signal {os.WTERMSIG(status)}"}
    else:
        result = json.loads(payload) if payload else {"outcome": "crash", "detail": "no result"}
    result.update(case=case.name, surface=surface, expect=case.expect)
    return result


def verdict(result: dict[str, str]) -> str:
    """ok, traceback, crash or silent."""
    outcome = result["outcome"]
    if outcome in ("traceback", "crash") or outcome.startswith("exit"):
        return "traceback" if outcome != "crash" else "crash"
    if outcome == "skipped":
        return "ok"
    if result["expect"] == "error":
        return "ok" if outcome == "error" else "silent"
    return "ok" if outcome in ("warned", "error") else "silent"


def all_cases() -> list[Case]:
    return csv_cases() + spec_cases() + arg_cases()


QUICK = (
    "N-text", "loss-neg", "one-row", "same-inputs", "dup-header", "inf-compute", "binary", "utf16", "billions", "dup-rows",
    "spec-neg-sigma", "spec-dist-function", "spec-arg-misspelt", "spec-low-rank-no", "spec-scale-bool", "spec-pooling-axis",
    "arg-seed-neg", "arg-map-misspelt", "arg-map-same-col", "arg-out-under-file", "cmd-optimum-dup-mix", "cmd-predict-neg",
)  # fmt: skip


def run_all(cases: list[Case]) -> tuple[Counter, list[dict[str, str]]]:
    import importlib

    for module in ("bayeslaw.model_builder", "bayeslaw.spec_validation", "bayeslaw.cli"):
        importlib.import_module(module)  # warm the heavy imports once, before forking

    results = [run_case(case, surface) for case in cases for surface in ("api", "cli")]
    return Counter(verdict(r) for r in results), results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the fixed subset used by the test")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every case")
    args = parser.parse_args()
    cases = all_cases()
    if args.quick:
        cases = [c for c in cases if c.name in QUICK]
    start = time.perf_counter()
    counts, results = run_all(cases)
    for r in results:
        v = verdict(r)
        if args.verbose or v != "ok":
            print(f"{v:9s} {r['surface']:3s} {r['case']:28s} {r['outcome']:9s} {r['detail'][:160]!r}")
    n_csv = sum(c.spec is None and not c.args and c.command == "fit" for c in cases)
    n_spec = sum(c.spec is not None for c in cases)
    print(
        f"{len(cases)} cases ({n_csv} CSVs, {n_spec} specs, {len(cases) - n_csv - n_spec} command lines), {len(results)} runs "
        f"in {time.perf_counter() - start:.0f} s: ok {counts['ok']}, tracebacks {counts['traceback']}, crashes {counts['crash']}, "
        f"silent acceptances {counts['silent']}"
    )
    return 0 if counts["ok"] == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
