"""The ``bayeslaw`` command line: demo, fit, optimum, predict, models, datasets.

Every command prints plain-text tables. User errors (a bad CSV, an unknown
model, a file that is not a fit) print one line on stderr and exit with status
2, without a traceback. Set ``BAYESLAW_DEBUG=1`` to see the traceback
instead. Ctrl-C stops a command with status 130 and writes nothing (an earlier
output file is left as it was). Arguments, data and output paths are checked
before PyMC is imported, so such errors print within about a second. Run
``bayeslaw COMMAND --help`` for the options.
"""

from __future__ import annotations

import argparse
import difflib
import math
import os
import re
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bayeslaw.constants import CHINCHILLA_BUDGET, COMPUTE_RTOL, CREDIBLE_INTERVAL, DEFAULT_SEED, GROUP_AXES

if TYPE_CHECKING:
    import pandas as pd

#: Exit status of every user error (bad input, unknown model, unreadable file).
EXIT_USAGE = 2
#: Exit status after Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130
#: Largest accepted --seed (the samplers take unsigned 32-bit seeds).
MAX_SEED = 2**32 - 1
#: argparse takes "-7e10" for an option unless negative numbers are recognised as values.
_NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-(inf|nan)$", re.IGNORECASE)

#: Column-mapping options of ``bayeslaw fit``: option dest -> canonical variable.
COLUMN_OPTIONS = {
    "params_col": "N",
    "tokens_col": "D",
    "compute_col": "C",
    "loss_col": "loss",
    "skill_col": "skill",
    "datamix_col": "datamix",
}

#: Parameters and derived quantities shown by ``bayeslaw demo`` (Chinchilla law).
DEMO_PARAMETERS = ("E", "A", "B", "alpha", "beta", "a")
OPTIMUM_COLUMNS = {"N_opt": "N*", "D_opt": "D*", "tokens_per_param": "D*/N*", "loss_opt": "loss at optimum", "a": "a (N* ~ C^a)"}
DEMO_OPTIMUM = {"N_opt": "N* (params)", "D_opt": "D* (tokens)", "tokens_per_param": "D*/N*", "loss_opt": "loss at optimum"}


class _BackendChoices:
    """The sampler backends, read from the module names of :mod:`bayeslaw.backends` without importing them.

    The registry imports PyMC (seconds), which an argument error need not wait for; each backend's
    ``lookup_name`` is its module's name (a contract test checks that), so the names agree with
    :func:`bayeslaw.backends.backend_names`.
    """

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    @staticmethod
    def _names() -> tuple[str, ...]:
        import importlib.util
        import pkgutil

        spec = importlib.util.find_spec("bayeslaw.backends")
        folders = list(spec.submodule_search_locations or []) if spec else []
        return tuple(sorted(m.name for m in pkgutil.iter_modules(folders) if m.name != "base" and not m.name.startswith("_")))


class CLIError(Exception):
    """A user error reported as one line on stderr (exit status 2)."""


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exception types that mean bad input rather than a bug (pandas' own only once pandas is loaded)."""
    errors: tuple[type[BaseException], ...] = (
        CLIError,
        FileNotFoundError,
        IsADirectoryError,
        NotADirectoryError,
        PermissionError,
        UnicodeDecodeError,
        ValueError,  # DataValidationError, SpecError, FitFileError, OutputError, PriorError
        KeyError,
    )
    backends = sys.modules.get("bayeslaw.backends.base")
    if backends is not None:
        errors += (backends.BackendUnavailable,)  # an ImportError naming the extra to install
    pandas = sys.modules.get("pandas")
    if pandas is not None:
        errors += (pandas.errors.ParserError, pandas.errors.EmptyDataError)
    return errors


#: Python keyword hints in library messages -> the matching command-line options.
_CLI_HINTS = (
    (re.compile(r"columns=\{'(\w+)': 'your_column'\}"), r"--map \1=COLUMN"),
    (re.compile(r"\b(skill|datamix|mix)=(?=[\s,;)]|$)"), r"--\1"),
    (re.compile(r"\bcompute_rtol=(?=[\s,;)]|$)"), "--compute-rtol"),
)


def _cli_syntax(text: str) -> str:
    """Rewrite Python-call hints (``pass skill=``) as command-line options (``pass --skill``)."""
    for pattern, replacement in _CLI_HINTS:
        text = pattern.sub(replacement, text)
    return text


def _message(err: BaseException) -> str:
    pandas = sys.modules.get("pandas")
    if isinstance(err, KeyError) and err.args:
        return _cli_syntax(str(err.args[0]))
    if pandas is not None and isinstance(err, pandas.errors.ParserError):
        return f"cannot parse the file as CSV ({str(err).strip().splitlines()[0]})"
    if pandas is not None and isinstance(err, pandas.errors.EmptyDataError):
        return f"the CSV file is empty ({err})"
    if isinstance(err, UnicodeDecodeError):
        return f"the file is not UTF-8 text ({err.reason} at byte {err.start})"
    text = str(getattr(err, "cli_message", None) or err).strip()
    return _cli_syntax(text.splitlines()[0]) if text else type(err).__name__


def _status(text: str) -> None:
    """A progress line on stderr (keeps stdout for the results)."""
    print(text, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- parsing helpers
def _key_value(text: str, what: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key or not value:
        raise CLIError(f"{what} must look like NAME=VALUE, got {text!r}")
    return key.strip(), value.strip()


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite positive number, got {text!r}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be an integer from 0 to {MAX_SEED}, got {text!r}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or a positive integer, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _probability(text: str) -> float:
    value = _positive_float(text)
    if not value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text!r}")
    return value


def _known_name(key: str) -> None:
    """Raise unless ``key`` is a canonical variable or a group axis (a misspelt --map key is an error)."""
    from bayeslaw.variables import VARIABLES

    known = sorted({*VARIABLES, *GROUP_AXES})
    if key not in known:
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise CLIError(f"--map {key}=...: {key!r} is not a variable bayeslaw knows; known names: {known}{hint}")


def column_mapping(args: argparse.Namespace) -> dict[str, str]:
    """Canonical name -> CSV column, from the ``--*-col`` options and ``--map NAME=COLUMN``."""
    mapping = {canonical: getattr(args, dest) for dest, canonical in COLUMN_OPTIONS.items() if getattr(args, dest)}
    for item in args.map or []:
        key, column = _key_value(item, "--map")
        _known_name(key)
        if key in mapping and mapping[key] != column:
            raise CLIError(f"--map {item!r} conflicts with the column already given for {key!r} ({mapping[key]!r})")
        mapping[key] = column
    return mapping


def _mix(items: Sequence[str] | None) -> dict[str, float] | None:
    if not items:
        return None
    mix = {}
    for item in items:
        skill, weight = _key_value(item, "--mix")
        if skill in mix:
            raise CLIError(f"--mix {skill}=... is given twice; give each skill once")
        try:
            mix[skill] = float(weight)
        except ValueError:
            raise CLIError(f"--mix weight for {skill!r} is not a number: {weight!r}") from None
        if not math.isfinite(mix[skill]) or mix[skill] < 0:
            raise CLIError(f"--mix weight for {skill!r} must be a finite number >= 0, got {weight!r}")
    return mix


def _sampler_kwargs(args: argparse.Namespace) -> dict[str, object]:
    return {
        "draws": args.draws,
        "tune": args.tune,
        "chains": args.chains,
        "random_seed": args.seed,
        "backend": args.backend,
        "target_accept": args.target_accept,
        "progress": not args.no_progress,
    }


@dataclass
class _InterruptState:
    """Ctrl-C seen during a command (even one swallowed by a library), and the outputs written so far."""

    seen: bool = False
    written: list[Path] = field(default_factory=list)


_Interrupts = _InterruptState()


def _on_sigint(signum: int, frame: object) -> None:
    _Interrupts.seen = True
    raise KeyboardInterrupt


def _quiet_unraisable(unraisable: sys.UnraisableHookArgs) -> None:
    """Ctrl-C that lands in a C callback (e.g. Numba's compiler) is recorded and handled; CPython's "Exception ignored"
    traceback for it is noise. Every other unraisable exception is reported as usual."""
    if issubclass(unraisable.exc_type, KeyboardInterrupt) and _Interrupts.seen:
        return
    sys.__unraisablehook__(unraisable)


def _save(fitted: object, path: Path) -> Path:
    """Save a fit unless Ctrl-C was pressed during the run; once it is written, a late Ctrl-C changes nothing."""
    import signal

    if _Interrupts.seen:
        raise KeyboardInterrupt
    written = fitted.save(path)  # type: ignore[attr-defined]
    _Interrupts.written.append(written)
    if threading_main() and signal.getsignal(signal.SIGINT) == _on_sigint:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the run is complete: finish printing
    return written


def threading_main() -> bool:
    """Whether this is the main thread (the only one that may set signal handlers)."""
    import threading

    return threading.current_thread() is threading.main_thread()


def _writable(path: str | Path, option: str, **kwargs: object) -> Path:
    """``ensure_writable`` with the option named in the error."""
    from bayeslaw.atomic import OutputError, ensure_writable

    try:
        return ensure_writable(path, **kwargs)  # type: ignore[arg-type]
    except OutputError as err:
        raise CLIError(f"{option}: {err}") from None


def _check_backend(args: argparse.Namespace) -> None:
    """A backend whose packages are missing fails now, not after the data is read and the model built."""
    if not args.backend:
        return
    from bayeslaw.spec_validation import missing_backend_packages

    missing = missing_backend_packages(args.backend)
    if missing:
        raise CLIError(f"--backend {args.backend} needs the packages {missing}, which are not installed; use --backend nutpie")


def _allowed(args: argparse.Namespace) -> object:
    """Context silencing the plausibility checks named by ``--allow``."""
    from bayeslaw.plausibility import CHECKS, silence

    unknown = sorted(set(args.allow or ()) - set(CHECKS))
    if unknown:
        raise CLIError(f"--allow {unknown[0]}: unknown check; choose from {sorted(CHECKS)}")
    return silence(*(args.allow or ()))


def _fmt(value: float) -> str:
    return f"{value:.4g}"


# --------------------------------------------------------------------------- tables
def demo_table(fit_: object, budget: float, prob: float) -> pd.DataFrame:
    """Parameters E, A, B, alpha, beta, a and the optimum at ``budget``, with ``prob`` intervals."""
    import numpy as np
    import pandas as pd

    summary = fit_.summary(prob)  # type: ignore[attr-defined]
    missing = [p for p in DEMO_PARAMETERS if p not in summary.index]
    if missing:
        raise CLIError(f"the demo table needs the Chinchilla law's parameters; missing {missing}")
    rows = []
    for name in DEMO_PARAMETERS:
        row = summary.loc[name]
        rows.append(
            {
                "quantity": name,
                "median": row["median"],
                "lower": row["lower"],
                "upper": row["upper"],
                "r_hat": row["r_hat"],
                "ess_bulk": row["ess_bulk"],
            }
        )
    optimum = fit_.compute_optimal(budget, prob=prob).summary()  # type: ignore[attr-defined]
    for _, row in optimum.iterrows():
        if row["quantity"] in DEMO_OPTIMUM:
            rows.append(
                {
                    "quantity": f"{DEMO_OPTIMUM[row['quantity']]} @ {budget:.3g} FLOPs",
                    "median": row["median"],
                    "lower": row["lower"],
                    "upper": row["upper"],
                    "r_hat": np.nan,
                    "ess_bulk": np.nan,
                }
            )
    return pd.DataFrame(rows).set_index("quantity")


def format_table(table: pd.DataFrame, prob: float) -> str:
    """Render a median/lower/upper table with a '{prob} interval' column."""
    import numpy as np
    import pandas as pd

    shown = pd.DataFrame(index=table.index)
    shown["median"] = table["median"].map(_fmt)
    shown[f"{prob:.0%} interval"] = [f"[{_fmt(lo)}, {_fmt(hi)}]" for lo, hi in zip(table["lower"], table["upper"], strict=True)]
    for col in ("r_hat", "ess_bulk"):
        if col in table:
            shown[col] = ["" if not np.isfinite(v) else (f"{v:.3f}" if col == "r_hat" else f"{v:.0f}") for v in table[col]]
    shown.index.name = None
    return shown.to_string()


def optimum_text(result: object, prob: float) -> str:
    """Wide optimum table: one row per budget (and mix), 'median [lower, upper]' cells."""
    table = result.table(prob)  # type: ignore[attr-defined]
    table = table.rename(columns=OPTIMUM_COLUMNS)
    table.columns.name = None
    if "budget" in table.index.names:
        table = table.rename(index=lambda b: f"{b:.3g}" if isinstance(b, float) else b, level="budget")
    return table.to_string()


def predict_text(table: pd.DataFrame, prob: float) -> str:
    """Human-readable forecast table."""
    import numpy as np
    import pandas as pd

    shown = pd.DataFrame(index=range(len(table)))
    for col in table.columns:
        if col.startswith(("mean_", "observation_")):
            continue
        shown[col] = table[col].map(lambda v: _fmt(v) if isinstance(v, float | np.floating) else v)
    for name, label in (("mean", "law (mean)"), ("observation", "new observation")):
        shown[f"{label} median"] = table[f"{name}_median"].map(_fmt)
        shown[f"{label} {prob:.0%}"] = [
            f"[{_fmt(lo)}, {_fmt(hi)}]" for lo, hi in zip(table[f"{name}_lower"], table[f"{name}_upper"], strict=True)
        ]
    return shown.to_string(index=False)


# --------------------------------------------------------------------------- plots
def write_plots(fit_: object, folder: Path, budget: float) -> list[Path]:
    """Write the standard fit plots of ``fit_`` as PNGs into ``folder``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bayeslaw.plotting import fits

    folder.mkdir(parents=True, exist_ok=True)
    makers = {
        "fit_curves.png": lambda: fits.plot_fit(fit_),  # type: ignore[arg-type]
        "posterior.png": lambda: fits.plot_posterior(fit_),  # type: ignore[arg-type]
    }
    if fit_.law.allocates_compute():  # type: ignore[attr-defined]
        makers["optimum_fan.png"] = lambda: fits.plot_optimum_fan(fit_, mark_budget=budget)  # type: ignore[arg-type]
    written = []
    for name, make in makers.items():
        with matplotlib.rc_context({"text.parse_math": False}):  # labels such as "$5_$" are text, not TeX
            try:
                fig = make()
            except ValueError as err:  # e.g. a grouped fit needs skill= for its fan chart
                _status(f"skipped {name}: {_message(err)}")
                continue
            path = folder / name
            fig.savefig(path, dpi=120, bbox_inches="tight")
        plt.close(fig)
        written.append(path)
    return written


# --------------------------------------------------------------------------- commands
def cmd_demo(args: argparse.Namespace) -> int:
    """Fit the shipped Chinchilla data with the default model; print the table; write fit + plots."""
    out = _writable(args.out, "--out", folder=True)
    _writable(out / "chinchilla_fit.nc", "--out")
    _check_backend(args)
    import bayeslaw

    data = bayeslaw.load_dataset("chinchilla", exclude_top5=True)
    _status(f"bayeslaw demo: {len(data)} Chinchilla runs (Hoffmann et al. 2022, digitised by Epoch AI; 5 highest-loss runs excluded)")
    _status("compiling the model (numba) and sampling: the progress bar appears once sampling starts ...")
    start = time.perf_counter()
    fitted = bayeslaw.fit(data, "chinchilla", **_sampler_kwargs(args))
    _status(("\n" if not args.no_progress else "") + f"sampled in {time.perf_counter() - start:.1f} s (compilation included)")
    prob = args.prob
    print(f"\nChinchilla law L = E + A/N^alpha + B/D^beta fitted to {len(data)} runs (model 'chinchilla', seed {args.seed})")
    print(fitted.diagnostics.banner())
    print(f"Medians and {prob:.0%} equal-tailed credible intervals; optimum at Chinchilla's budget C = {CHINCHILLA_BUDGET:.3g} FLOPs:")
    print(format_table(demo_table(fitted, CHINCHILLA_BUDGET, prob), prob))
    fit_path = _save(fitted, out / "chinchilla_fit.nc")
    plots = write_plots(fitted, out, CHINCHILLA_BUDGET)
    plots.append(bayeslaw.report(fitted, prob, budgets=[CHINCHILLA_BUDGET], predict=[(7e10, 1.4e12)]).save(out / "report.html"))
    print(f"\nwrote {fit_path}")
    for path in plots:
        print(f"wrote {path}")
    print(f"next: bayeslaw optimum {fit_path} --budget 1e24   |   bayeslaw predict {fit_path} --params 7e10 --tokens 1.4e12")
    return 0


def _spec_law(model: str) -> str:
    """The law named by a spec, read without importing PyMC (the full spec is validated later)."""
    import tomllib

    from bayeslaw.spec import SpecError, available_specs

    specs = available_specs()
    looks_like_path = model.endswith(".toml") or "/" in model or "\\" in model
    path = specs[model] if model in specs and not looks_like_path else Path(model)
    if model not in specs and not looks_like_path and not path.is_file():
        raise SpecError(f"no model named {model!r}: shipped models are {sorted(specs)}; or give a path to a .toml spec")
    if path.is_dir():
        raise SpecError(f"{path} is a folder, not a .toml spec file")
    try:
        law = tomllib.loads(path.read_text()).get("law")
    except FileNotFoundError:
        raise SpecError(f"no such spec file: {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise SpecError(f"{path}: not valid TOML: {err}") from None
    if not isinstance(law, str) or not law:
        raise SpecError(f"{path}: 'law' must be a non-empty string")
    return law


def cmd_fit(args: argparse.Namespace) -> int:
    """Fit a CSV with a named or file spec; print the report; save the fit.

    Arguments, the output path and the data are checked before PyMC is loaded;
    the spec (every prior built and evaluated) and the data's plausibility are
    checked before sampling. Ctrl-C stops the run and writes nothing.
    """
    out = _writable(args.out, "--out", suffix=".nc")
    if args.plots:
        _writable(args.plots, "--plots", folder=True)
    path = Path(args.data)
    if not path.exists():
        raise CLIError(f"no such data file: {path}")
    if path.is_dir():
        raise CLIError(f"{path} is a folder, not a CSV file")
    columns = column_mapping(args)
    _check_backend(args)

    from bayeslaw.data import ScalingData
    from bayeslaw.laws import get_law

    try:
        law = get_law(_spec_law(args.model))
    except KeyError as err:
        raise CLIError(f"model {args.model!r}: {err.args[0]}") from None
    target = args.target or law.target
    inputs = None if set(law.inputs) <= {"N", "D"} else list(law.inputs)
    data = ScalingData.from_csv(
        path, target=target, inputs=inputs, columns=columns, drop_highest=args.drop_highest, compute_rtol=args.compute_rtol
    )
    unused = sorted(set(columns) - set(data.frame.columns))
    if unused:
        raise CLIError(f"--map/--*-col given for {unused}, which model {args.model!r} does not use (it reads {list(data.frame.columns)})")
    with _allowed(args):
        from bayeslaw import plausibility

        plausibility.check_data(data, len(law.parameters))  # before the slow imports; fit() checks again
        import bayeslaw
        from bayeslaw.spec import resolve_spec
        from bayeslaw.spec_validation import validate_sampler, validate_spec

        spec = resolve_spec(args.model)
        validate_spec(spec, data)  # every prior built and evaluated: a bad spec fails before the model is compiled
        validate_sampler({**spec.sampler, **{k: v for k, v in _sampler_kwargs(args).items() if v is not None}}, "sampler:")
        _status(f"bayeslaw fit: {data!r}; model {spec.name!r} ({spec.source})")
        _status("compiling the model and sampling ...")
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", plausibility.PlausibilityWarning)  # already shown above
            fitted = bayeslaw.fit(data, spec, **_sampler_kwargs(args))
        _status(f"sampled in {time.perf_counter() - start:.1f} s (compilation included)")
        print(bayeslaw.report(fitted, args.prob))
    _save(fitted, out)
    print(f"\nwrote {out}")
    if args.plots:
        for written in write_plots(fitted, Path(args.plots), CHINCHILLA_BUDGET):
            print(f"wrote {written}")
    return 0


def _load(path: str) -> object:
    import bayeslaw

    if Path(path).is_dir():
        raise CLIError(f"{path} is a folder, not a fit file")
    return bayeslaw.load_fit(path)


def cmd_optimum(args: argparse.Namespace) -> int:
    """Print N*, D*, D*/N* and the loss at the optimum for each budget."""
    mix = _mix(args.mix)
    with _allowed(args):
        fitted = _load(args.fit)
        result = fitted.compute_optimal(args.budget, skill=args.skill, datamix=args.datamix, mix=mix, prob=args.prob)  # type: ignore[attr-defined]
    print(fitted.diagnostics.banner())  # type: ignore[attr-defined]
    print(f"Compute-optimal allocation (C = 6ND): medians and {args.prob:.0%} credible intervals")
    print(optimum_text(result, args.prob))
    for note in result.notes:
        print(f"note: {note}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """Print forecast intervals at new inputs."""
    inputs: dict[str, list[float]] = {}
    for item in args.input or []:
        key, values = _key_value(item, "--input")
        if key in inputs:
            raise CLIError(f"--input {key}=... is given twice; give each input once")
        try:
            inputs[key] = [float(v) for v in values.split(",")]
        except ValueError:
            raise CLIError(f"--input {key}: values must be comma-separated numbers, got {values!r}") from None
        if not all(math.isfinite(v) and v >= 0 for v in inputs[key]):
            raise CLIError(f"--input {key}: values must be finite and >= 0, got {values!r}")
    if args.compute is not None:
        inputs["compute"] = args.compute
    with _allowed(args):
        fitted = _load(args.fit)
        table = fitted.predict(  # type: ignore[attr-defined]
            args.params, args.tokens, skill=args.skill, datamix=args.datamix, prob=args.prob, seed=args.seed, **inputs
        )
    from bayeslaw.trust import fit_signals, forecast_signals

    print(fitted.diagnostics.banner())  # type: ignore[attr-defined]
    print(f"Forecasts: medians and {args.prob:.0%} intervals of the law's mean and of a new observation")
    print(predict_text(table, args.prob))
    points = {k: table[k].to_numpy(dtype=float) for k in ("N", "D", "C") if k in table}
    for line in [*fit_signals(fitted), *forecast_signals(fitted, points)]:  # type: ignore[arg-type]
        if not line.startswith("WARNING: NOT CONVERGED") and "did not converge" not in line:  # the banner above says so
            print(line)
    return 0


def cmd_backtest(args: argparse.Namespace) -> int:
    """Fit each model on the runs at or below each cut and forecast every larger run; print the scores.

    A cut is a fraction of the largest value of ``--by`` (compute C by default,
    6ND when the CSV has no compute column). With ``--growth`` each model is also
    scored widened by its learned extrapolation discrepancy (the recommended
    forecast), and ``--pointfit`` adds the approach-3 point fit with its bootstrap.
    """
    path = Path(args.data)
    if not path.exists():
        raise CLIError(f"no such data file: {path}")
    if path.is_dir():
        raise CLIError(f"{path} is a folder, not a CSV file")
    args.cut = args.cut or [0.1, 0.01]
    for cut in args.cut:
        if not 0 < cut < 1:
            raise CLIError(f"--cut must be a fraction of the largest {args.by} in (0, 1), got {cut:g}")
    columns = column_mapping(args)
    models = args.model or ["chinchilla"]
    _check_backend(args)

    from bayeslaw.data import ScalingData
    from bayeslaw.laws import get_law

    laws = []
    for model in models:
        try:
            laws.append(get_law(_spec_law(model)))
        except KeyError as err:
            raise CLIError(f"model {model!r}: {err.args[0]}") from None
    target = args.target or laws[0].target
    wanted = sorted({k for law in laws for k in law.inputs})
    inputs = None if set(wanted) <= {"N", "D"} else wanted
    data = ScalingData.from_csv(path, target=target, inputs=inputs, columns=columns)
    with _allowed(args):
        from bayeslaw.backtest import Growth, PointFitBootstrap, backtest

        forecasters: list[object] = list(models)
        if args.growth:
            forecasters += [Growth(m) for m in models]
        if args.pointfit:
            forecasters.append(PointFitBootstrap())
        sampler = {k: v for k, v in _sampler_kwargs(args).items() if k in ("draws", "tune", "chains") and v is not None}
        _status(f"bayeslaw backtest: {data!r}; models {models}; cuts {args.cut} of the largest {args.by}")
        result = backtest(
            data, forecasters, cuts=args.cut, by=args.by, seed=args.seed, sampler={"draws": 500, "tune": 500, "chains": 4, **sampler}
        )  # type: ignore[arg-type]
    table = result.table(args.prob)
    key = f"{round(100 * args.prob)}"
    shown = table[
        [
            "cut",
            "model",
            "n",
            "median_abs_pct_error",
            "median_signed_pct_error",
            f"cover_obs_{key}",
            f"cover_mean_{key}",
            "median_width_90",
            "crps",
            "lpd",
            "max_extrapolation",
            "converged",
        ]
    ]
    print(f"Backtest along {args.by}: fit on runs <= cut x max({args.by}), forecast every larger run")
    print(
        f"coverage of {args.prob:.0%} intervals (new observation / law's mean), median |error| and bias in %, "
        "median relative 90% width, mean CRPS (log scale, lower is better) and log predictive density (higher is better)"
    )
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for note in result.notes:
        print(f"note: {note}")
    flagged = result.forecasts.groupby(["cut", "model"], sort=False)["notes"].first()
    for (cut, model), notes in flagged.items():
        for line in str(notes).split("; "):
            if line.startswith(("WARNING", "CAUTION")):
                print(f"{line} [cut {cut:g}, {model}]")
    if args.out:
        result.forecasts.drop(columns=["notes"]).to_csv(args.out, index=False)
        print(f"wrote per-run forecasts to {args.out}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write a self-contained report of a fit (HTML with embedded images, or markdown)."""
    from bayeslaw.report import parse_point, report

    fitted = _load(args.fit)
    out = Path(args.out)
    if out.suffix.lower() not in (".html", ".htm", ".md"):
        raise CLIError(f"--out must end in .html or .md, got {out.name!r}")
    points = [parse_point(p) for p in args.predict or []]
    made = report(fitted, args.prob, budgets=args.budget, predict=points, prior_draws=args.prior_draws)  # type: ignore[arg-type]
    print(fitted.diagnostics.banner())  # type: ignore[attr-defined]
    print(f"wrote {made.save(out)}")
    return 0


def add_report_parser(sub: argparse._SubParsersAction) -> None:
    """The ``report`` subcommand's options."""
    rep = sub.add_parser("report", help="write an HTML or markdown report of a fit", description=cmd_report.__doc__)
    rep.add_argument("fit", help="fit file")
    rep.add_argument("--out", required=True, help="report file: .html (self-contained) or .md (figures in <name>_files/)")
    rep.add_argument("--budget", type=_positive_float, action="append", default=None, help="FLOP budget of the optimum (repeatable)")
    rep.add_argument("--predict", action="append", metavar="N:D", help="forecast point N:D, or one value for a one-input law (repeatable)")
    rep.add_argument("--prior-draws", type=int, default=400, help="draws of the prior predictive check (0 skips it)")
    _add_prob(rep)
    rep.set_defaults(func=cmd_report)


def cmd_models(args: argparse.Namespace) -> int:
    """List shipped model specs."""
    from bayeslaw.spec import ModelSpec, available_specs

    del args
    specs = available_specs()
    width = max((len(n) for n in specs), default=4)
    for name, path in specs.items():
        try:
            spec = ModelSpec.from_toml(path)
            line = f"{spec.description}  [law {spec.law}, {spec.family}]"
        except Exception as err:  # a broken shipped spec should not hide the others
            line = f"(unreadable: {_message(err)})"
        print(f"{name:<{width}}  {line}")
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    """List shipped datasets with their source line."""
    from bayeslaw.datasets import available_datasets, dataset_info

    for name in available_datasets():
        info = dataset_info(name).strip().splitlines()
        title = info[0] if info else ""
        license_line = next((ln.split(":", 1)[1].strip() for ln in info if ln.lower().startswith("license")), "see dataset_info")
        license_line = license_line.split(". ")[0].rstrip(".")
        print(f"{name:<14}  {title}\n{'':<14}  license: {license_line}")
        if args.verbose:
            print("\n".join(f"{'':<16}{ln}" for ln in info[1:]))
    return 0


# --------------------------------------------------------------------------- parser
def _add_sampler_options(parser: argparse.ArgumentParser, draws: int | None = None) -> None:
    group = parser.add_argument_group("sampler")
    group.add_argument("--draws", type=_positive_int, default=draws, help="posterior draws per chain (default: the spec's, 1000)")
    group.add_argument("--tune", type=_positive_int, default=None, help="warm-up draws per chain (default: the spec's, 1000)")
    group.add_argument("--chains", type=_positive_int, default=None, help="chains (default: the spec's, 4)")
    group.add_argument("--seed", type=_seed, default=DEFAULT_SEED, help=f"random seed, 0 to {MAX_SEED} (default {DEFAULT_SEED})")
    group.add_argument(
        "--backend", choices=_BackendChoices(), metavar="BACKEND", default=None, help="sampler: %(choices)s (default: the spec's, nutpie)"
    )
    group.add_argument("--target-accept", type=_probability, default=None, help="NUTS target acceptance (default 0.9)")
    group.add_argument("--no-progress", action="store_true", help="hide the sampler's progress bar")


def _add_allow(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow",
        action="append",
        metavar="CHECK",
        help="silence one plausibility warning (repeatable): magnitude, few_runs, constant_input, duplicate_rows, "
        "extrapolation, tokens_per_param (see the README's 'Input checks')",
    )


def _add_column_options(parser: argparse.ArgumentParser) -> None:
    """The options that map a CSV's columns to bayeslaw's variables (``fit`` and ``backtest``)."""
    cols = parser.add_argument_group("column mapping (default: canonical names N, D, C, loss, skill, datamix and common aliases)")
    cols.add_argument("--params-col", help="column with model size N (parameters)")
    cols.add_argument("--tokens-col", help="column with training tokens D")
    cols.add_argument("--compute-col", help="column with training compute C (FLOPs); checked against 6ND")
    cols.add_argument("--loss-col", help="column with the loss")
    cols.add_argument("--skill-col", help="column with the skill / eval-set label")
    cols.add_argument("--datamix-col", help="column with the data-mix label")
    cols.add_argument("--map", action="append", metavar="NAME=COLUMN", help="map any canonical variable to a column (repeatable)")


def _add_prob(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--prob", type=_probability, default=CREDIBLE_INTERVAL, help=f"credible-interval probability (default {CREDIBLE_INTERVAL})"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the ``bayeslaw`` command."""
    from bayeslaw.version import __version__

    parser = argparse.ArgumentParser(
        prog="bayeslaw",
        description="Bayesian scaling laws: fit, compute-optimal allocation and forecasts with credible intervals.",
    )
    parser.add_argument("--version", action="version", version=f"bayeslaw {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = sub.add_parser("demo", help="fit the shipped Chinchilla data and write the fit and plots", description=cmd_demo.__doc__)
    demo.add_argument("--out", default="bayeslaw-demo", help="output folder (default ./bayeslaw-demo)")
    _add_sampler_options(demo)
    _add_prob(demo)
    demo.set_defaults(func=cmd_demo)

    fit = sub.add_parser("fit", help="fit a CSV of runs with a model spec", description=cmd_fit.__doc__)
    fit.add_argument("data", help="CSV file, one row per training run")
    fit.add_argument("--model", default="chinchilla", help="shipped model name (see `bayeslaw models`) or path to a .toml spec")
    fit.add_argument("--out", required=True, help="where to write the fit (.nc)")
    fit.add_argument("--target", default=None, help="canonical response (default: the law's, usually 'loss')")
    _add_column_options(fit)
    fit.add_argument("--drop-highest", type=_count, default=0, metavar="K", help="explicitly drop the K highest-target rows (recorded)")
    fit.add_argument(
        "--compute-rtol",
        type=_positive_float,
        default=COMPUTE_RTOL,
        metavar="R",
        help=f"largest relative difference allowed between the compute column and 6ND (default {COMPUTE_RTOL})",
    )
    fit.add_argument("--plots", default=None, metavar="DIR", help="also write the fit plots into DIR")
    _add_sampler_options(fit)
    _add_prob(fit)
    _add_allow(fit)
    fit.set_defaults(func=cmd_fit)

    opt = sub.add_parser("optimum", help="compute-optimal N*, D* for FLOP budgets", description=cmd_optimum.__doc__)
    opt.add_argument("fit", help="fit file written by `bayeslaw fit` or `bayeslaw demo`")
    opt.add_argument("--budget", type=_positive_float, action="append", required=True, help="FLOP budget (repeatable)")
    opt.add_argument("--skill", default=None, help="skill to optimise for")
    opt.add_argument("--datamix", default=None, help="data mix to optimise for")
    opt.add_argument("--mix", action="append", metavar="SKILL=WEIGHT", help="optimise a weighted mix of skills (repeatable)")
    _add_prob(opt)
    _add_allow(opt)
    opt.set_defaults(func=cmd_optimum)

    pred = sub.add_parser("predict", help="forecast the loss at new model sizes and token counts", description=cmd_predict.__doc__)
    pred.add_argument("fit", help="fit file")
    pred.add_argument("--params", type=_positive_float, nargs="+", default=None, help="model sizes N")
    pred.add_argument("--tokens", type=_positive_float, nargs="+", default=None, help="training tokens D")
    pred.add_argument("--compute", type=_positive_float, nargs="+", default=None, help="compute C (with --params or --tokens)")
    pred.add_argument("--input", action="append", metavar="NAME=V1,V2", help="other law inputs by canonical name (repeatable)")
    pred.add_argument("--skill", default=None, help="skill label")
    pred.add_argument("--datamix", default=None, help="data-mix label")
    pred.add_argument("--seed", type=_seed, default=None, help="seed of the new-observation noise (default: the fit's)")
    _add_prob(pred)
    _add_allow(pred)
    pred.set_defaults(func=cmd_predict)

    add_report_parser(sub)

    bt = sub.add_parser(
        "backtest", help="fit on the smaller runs, forecast the larger ones, score the forecasts", description=cmd_backtest.__doc__
    )
    bt.add_argument("data", help="CSV file, one row per training run")
    bt.add_argument("--model", action="append", default=None, help="model to backtest (repeatable; default chinchilla)")
    bt.add_argument(
        "--cut",
        type=_positive_float,
        action="append",
        default=None,
        help="fraction of the largest --by value (repeatable; default 0.1 and 0.01)",
    )
    bt.add_argument("--by", default="C", help="column along which runs are held out (default C, compute)")
    bt.add_argument("--target", default=None, help="canonical response (default: the law's, usually 'loss')")
    bt.add_argument("--growth", action="store_true", help="also score each model widened by its learned extrapolation discrepancy")
    bt.add_argument("--pointfit", action="store_true", help="also score the approach-3 point fit with 100 bootstrap refits")
    bt.add_argument("--out", default=None, help="write the per-run forecasts and scores to this CSV")
    _add_column_options(bt)
    _add_sampler_options(bt)
    _add_prob(bt)
    _add_allow(bt)
    bt.set_defaults(func=cmd_backtest, cut=None)

    models = sub.add_parser("models", help="list shipped model specs", description=cmd_models.__doc__)
    models.set_defaults(func=cmd_models)

    datasets = sub.add_parser("datasets", help="list shipped datasets", description=cmd_datasets.__doc__)
    datasets.add_argument("-v", "--verbose", action="store_true", help="print each dataset's full source notes")
    datasets.set_defaults(func=cmd_datasets)
    for each in (parser, *sub.choices.values()):
        each._negative_number_matcher = _NEGATIVE_NUMBER  # "-7e10" is a (bad) value, not an unknown option
        each._has_negative_number_optionals = []
    return parser


def _show_warning(message: Warning | str, category: type[Warning], *args: object, **kwargs: object) -> None:
    """Warnings as one line on stderr, without the source line."""
    del args, kwargs
    if category.__name__ == "ConvergenceWarning":  # printed in the report's banner (matched by name: no ArviZ import)
        return
    print(f"bayeslaw: {category.__name__}: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bayeslaw`` console script; returns the exit status."""
    import signal

    parser = build_parser()
    args = parser.parse_args(argv)
    _Interrupts.seen, _Interrupts.written = False, []  # one command per call of main()
    ignored = not threading_main() or signal.getsignal(signal.SIGINT) == signal.SIG_IGN  # e.g. under nohup: keep ignoring
    previous = None if ignored else signal.signal(signal.SIGINT, _on_sigint)
    sys.unraisablehook = _quiet_unraisable
    try:
        return _run(args)
    except KeyboardInterrupt:
        if os.environ.get("BAYESLAW_DEBUG") == "1":
            raise
        out = getattr(args, "out", None)
        if _Interrupts.written:
            kept = f"; {', '.join(map(str, _Interrupts.written))} had been written completely"
        else:
            kept = f"; nothing was written to {out} (any earlier file there is unchanged)" if out else ""
        print(f"bayeslaw {args.command}: interrupted{kept}", file=sys.stderr)
        if argv is None:  # the console script: exit now with 130. A normal exit can still end in SIGINT (-2) when the
            sys.stdout.flush()  # interrupt passed through code run by exec(), which sets CPython's "unhandled" flag
            sys.stderr.flush()
            os._exit(EXIT_INTERRUPTED)
        return EXIT_INTERRUPTED
    finally:
        if previous is not None:  # the console script is about to exit: a late Ctrl-C must not turn a finished run into -2
            signal.signal(signal.SIGINT, signal.SIG_IGN if argv is None else previous)
        sys.unraisablehook = sys.__unraisablehook__


def _run(args: argparse.Namespace) -> int:
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return int(args.func(args))
    except _user_errors() as err:
        if os.environ.get("BAYESLAW_DEBUG") == "1":
            raise
        print(f"bayeslaw {args.command}: error: {_message(err)}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())  # argv None: the console script's behaviour
