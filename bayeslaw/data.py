"""Validated scaling observations: the only way data enters a model.

:class:`ScalingData` holds one row per observation with canonical column names
(see :mod:`bayeslaw.variables`), optional group labels (``skill``, ``datamix`` or
any other axis a spec pools over), and the original row labels so that every
error can point at the offending rows. Nothing is dropped, clipped or imputed;
the one filter offered (``drop_highest``) is explicit and recorded in ``notes``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bayeslaw.constants import COMPUTE_RTOL, FLOPS_PER_PARAM_TOKEN, GROUP_AXES, OBS_DIM
from bayeslaw.variables import get_variable

_MAX_LABELS_IN_MESSAGE = 10


class DataValidationError(ValueError):
    """Raised when input data cannot be used as given; the message names columns and rows.

    ``cli_message`` is the same message with its fix written as command-line options
    (``--map N=COLUMN`` rather than ``columns={...}``); the command line prints it.
    """

    def __init__(self, message: str, cli_message: str | None = None) -> None:
        super().__init__(message)
        self.cli_message = cli_message or message


def _rows(labels: Sequence[object]) -> str:
    labels = list(labels)
    shown = ", ".join(repr(label) for label in labels[:_MAX_LABELS_IN_MESSAGE])
    more = len(labels) - _MAX_LABELS_IN_MESSAGE
    return f"[{shown}{f', ... ({more} more)' if more > 0 else ''}]"


@dataclass(frozen=True)
class ScalingData:
    """Validated scaling-law observations.

    Build it with :meth:`from_frame` or :meth:`from_csv`; do not call the
    constructor directly.

    Attributes
    ----------
    frame
        One row per observation; numeric columns use canonical names
        (``N``, ``D``, ``C``, ``loss``, ...), group columns hold string labels.
        The index keeps the caller's row labels.
    target
        Canonical name of the observed response (``loss`` by default).
    inputs
        Canonical names of the covariates present.
    groups
        Names of the grouping axes present (e.g. ``("skill", "datamix")``).
    levels
        For each grouping axis, its labels in model order.
    notes
        Everything done to the data beyond validation (derived columns, filters).
    """

    frame: pd.DataFrame
    target: str
    inputs: tuple[str, ...]
    groups: tuple[str, ...] = ()
    levels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    name: str = "data"

    # ------------------------------------------------------------------ building
    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        target: str = "loss",
        inputs: Sequence[str] | None = None,
        columns: Mapping[str, str] | None = None,
        groups: Sequence[str] | None = None,
        compute_rtol: float = COMPUTE_RTOL,
        drop_highest: int = 0,
        name: str = "data",
    ) -> ScalingData:
        """Validate ``df`` and return a :class:`ScalingData`.

        Parameters
        ----------
        df
            Raw observations, one row per run (and per skill, for grouped data).
        target
            Canonical name of the response column (``loss``, ``error``, ...).
        inputs
            Canonical covariates to take. Default: ``N`` and ``D`` (with ``C``
            used to derive a missing one, and checked against ``6ND`` when all
            three are present).
        columns
            Mapping from canonical name to the column of ``df`` that holds it,
            e.g. ``{"N": "n_params", "loss": "val_loss", "skill": "eval_set"}``.
            Unmapped names are looked up as themselves, then by known aliases.
        groups
            Grouping axes to take (``skill``, ``datamix`` or others). Default:
            whichever of ``skill`` and ``datamix`` are present.
        compute_rtol
            Largest allowed relative difference between a supplied compute
            column and ``6 N D``.
        drop_highest
            Explicit filter: drop the ``k`` observations with the highest
            target value (Epoch AI drops 5 for Chinchilla). Recorded in ``notes``.
        name
            Short label used in reports.

        Raises
        ------
        DataValidationError
            On a missing column, non-numeric or non-finite values, values
            outside a variable's support, missing group labels, or compute
            inconsistent with ``6ND``. The message names the column and rows.
        """
        if not isinstance(df, pd.DataFrame):
            raise DataValidationError(f"expected a pandas DataFrame, got {type(df).__name__}")
        if df.columns.has_duplicates:
            dup = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
            raise DataValidationError(f"duplicated column names {dup}: which copy holds the data is ambiguous; rename or drop one")
        if df.index.has_duplicates:
            dup = df.index[df.index.duplicated()].unique()
            raise DataValidationError(f"row labels must be unique; duplicated labels {_rows(dup)}")
        columns = dict(columns or {})
        notes: list[str] = []
        default_inputs = inputs is None
        wanted_inputs = list(inputs) if inputs is not None else ["N", "D"]
        out = pd.DataFrame(index=df.index)
        taken: dict[str, str] = {}  # source column -> canonical name it was taken as

        def claim(key: str, source: str) -> None:
            if taken.get(source, key) != key:
                raise DataValidationError(
                    f"column {source!r} is used both as {taken[source]!r} and as {key!r}; each variable needs its own column"
                )
            taken[source] = key

        def locate(key: str, *, required: bool) -> str | None:
            if key in columns:
                source = columns[key]
                if source not in df.columns:
                    raise DataValidationError(
                        f"column {source!r} (mapped to {key!r}) is not in the data; available columns: {list(df.columns)}"
                    )
                return source
            candidates = [key]
            try:
                candidates += list(get_variable(key).aliases)
            except KeyError:
                pass
            for cand in candidates:
                if cand in df.columns:
                    return cand
            if required:
                message = f"missing column for {key!r}: looked for {candidates}; available columns: {list(df.columns)}."
                raise DataValidationError(
                    f"{message} Map it with columns={{{key!r}: 'your_column'}}.", f"{message} Map it with --map {key}=COLUMN."
                )
            return None

        def take_numeric(key: str, source: str) -> pd.Series:
            claim(key, source)
            raw = df[source]
            values = pd.to_numeric(raw, errors="coerce")
            bad = values.isna() & raw.notna()
            if bad.any():
                examples = ", ".join(repr(v) for v in raw[bad].head(3))
                raise DataValidationError(f"column {source!r} ({key}) has non-numeric values ({examples}) in rows {_rows(df.index[bad])}")
            values = values.astype(float)
            missing = values.isna()
            if missing.any():
                raise DataValidationError(f"column {source!r} ({key}) has missing (NaN) values in rows {_rows(df.index[missing])}")
            infinite = ~np.isfinite(values.to_numpy())
            if infinite.any():
                raise DataValidationError(f"column {source!r} ({key}) has infinite values in rows {_rows(df.index[infinite])}")
            variable = get_variable(key)
            mask, what, rule = ~variable.in_support(values), variable.support.outside, variable.support.rule
            if mask.any():
                examples = ", ".join(f"{v:g}" for v in values[mask].head(3))
                raise DataValidationError(
                    f"column {source!r} ({key}) has {what} values ({examples}) in rows {_rows(df.index[mask])}; {key} {rule}"
                )
            return values

        target_source = locate(target, required=True)
        out[target] = take_numeric(target, target_source)

        if default_inputs:
            # N and D, with C deriving whichever is missing and cross-checking when all exist.
            sources = {key: locate(key, required=False) for key in ("N", "D", "C")}
            present = [k for k, s in sources.items() if s is not None]
            if sum(k in present for k in ("N", "D", "C")) < 2 or ("N" not in present and "D" not in present):
                missing_key = "N" if sources["N"] is None else "D"
                locate(missing_key, required=True)  # raises with the list of candidates
            for key in present:
                out[key] = take_numeric(key, sources[key])
            if "N" not in present:
                out["N"] = out["C"] / (FLOPS_PER_PARAM_TOKEN * out["D"])
                notes.append("N derived as C / (6 D)")
            if "D" not in present:
                out["D"] = out["C"] / (FLOPS_PER_PARAM_TOKEN * out["N"])
                notes.append("D derived as C / (6 N)")
            if "C" in present and "N" in present and "D" in present:
                ratio = out["C"] / (FLOPS_PER_PARAM_TOKEN * out["N"] * out["D"])
                off = (ratio - 1.0).abs() > compute_rtol
                if off.any():
                    worst = ratio[off].head(3)
                    message = (
                        f"column {sources['C']!r} (C) disagrees with 6*N*D by more than {compute_rtol:.0%} "
                        f"in rows {_rows(df.index[off])} (C/(6ND) = {', '.join(f'{r:.3g}' for r in worst)}); fix the data or pass"
                    )
                    raise DataValidationError(f"{message} compute_rtol= a larger tolerance", f"{message} --compute-rtol a larger tolerance")
            if "C" not in out:
                out["C"] = FLOPS_PER_PARAM_TOKEN * out["N"] * out["D"]
            for key in ("N", "D", "C"):  # derived values can overflow to inf or underflow to 0
                bad = ~np.isfinite(out[key].to_numpy()) | (out[key].to_numpy() <= 0)
                if bad.any():
                    raise DataValidationError(
                        f"{key} computed from the other columns is {out[key][bad].iloc[0]:g} (not a finite positive number) "
                        f"in rows {_rows(df.index[bad])}; check the units of N, D and C"
                    )
            input_keys = ("N", "D", "C")
        else:
            for key in wanted_inputs:
                out[key] = take_numeric(key, locate(key, required=True))
            input_keys = tuple(wanted_inputs)

        group_keys = list(groups) if groups is not None else [g for g in GROUP_AXES if locate(g, required=False)]
        levels: dict[str, tuple[str, ...]] = {}
        for axis in group_keys:
            source = locate(axis, required=True)
            claim(axis, source)
            raw = df[source]
            missing = raw.isna()
            if missing.any():
                raise DataValidationError(f"group column {source!r} ({axis}) has missing labels in rows {_rows(df.index[missing])}")
            labels = raw.astype(str)
            if isinstance(raw.dtype, pd.CategoricalDtype):
                order = tuple(str(c) for c in raw.cat.categories if (labels == str(c)).any())
            else:
                order = tuple(sorted(labels.unique()))
            out[axis] = labels
            levels[axis] = order

        if drop_highest:
            if not 0 < drop_highest < len(out):
                raise DataValidationError(f"drop_highest={drop_highest} must be between 1 and {len(out) - 1}")
            dropped = out[target].nlargest(drop_highest).index
            out = out.drop(index=dropped)
            notes.append(f"dropped the {drop_highest} highest-{target} rows {_rows(dropped)} (explicit filter)")
            for axis in group_keys:
                levels[axis] = tuple(level for level in levels[axis] if (out[axis] == level).any())

        if len(out) == 0:
            raise DataValidationError("no observations")
        return cls(
            frame=out,
            target=target,
            inputs=input_keys,
            groups=tuple(group_keys),
            levels=levels,
            notes=tuple(notes),
            name=name,
        )

    @classmethod
    def from_csv(cls, path: str | Path, **kwargs: object) -> ScalingData:
        """Read ``path`` with :func:`pandas.read_csv` and validate it (see :meth:`from_frame`)."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no such data file: {path}")
        if path.is_dir():
            raise DataValidationError(f"{path} is a folder, not a CSV file")
        df = read_table(path)
        kwargs.setdefault("name", path.stem)
        return cls.from_frame(df, **kwargs)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        return len(self.frame)

    def values(self, key: str) -> np.ndarray:
        """Return column ``key`` as a float array."""
        if key not in self.frame:
            raise KeyError(f"data has no column {key!r}; has {list(self.frame.columns)}")
        return self.frame[key].to_numpy(dtype=float)

    def codes(self, axis: str) -> np.ndarray:
        """Integer index of each observation's label along grouping ``axis``."""
        lookup = {label: i for i, label in enumerate(self.levels[axis])}
        return self.frame[axis].map(lookup).to_numpy(dtype=int)

    def coords(self) -> dict[str, list]:
        """Named coordinates: ``obs`` plus one per grouping axis."""
        coords: dict[str, list] = {OBS_DIM: [str(label) for label in self.frame.index]}
        coords.update({axis: list(self.levels[axis]) for axis in self.groups})
        return coords

    def subset(self, mask: np.ndarray | pd.Series, note: str) -> ScalingData:
        """Return the rows selected by ``mask``, recording ``note``; group levels are pruned."""
        frame = self.frame[np.asarray(mask, dtype=bool)]
        if len(frame) == 0:
            raise DataValidationError(f"subset '{note}' selects no observations")
        levels = {axis: tuple(lv for lv in self.levels[axis] if (frame[axis] == lv).any()) for axis in self.groups}
        return ScalingData(frame, self.target, self.inputs, self.groups, levels, (*self.notes, note), self.name)

    def reference_scales(self, keys: Sequence[str]) -> dict[str, float]:
        """Geometric mean of the positive values of each column in ``keys`` (used to centre log inputs).

        Zeros of a nonnegative input (e.g. zero fine-tuning examples) carry no scale and are skipped.
        """
        scales = {}
        for key in keys:
            values = self.values(key)
            positive = values[values > 0]
            if positive.size == 0:
                raise DataValidationError(f"column {key!r} has no positive values to set a reference scale")
            scales[key] = float(np.exp(np.mean(np.log(positive))))
        return scales

    # ------------------------------------------------------------------ I/O helpers
    def to_json(self) -> str:
        """Serialise to JSON (used when saving a fit)."""
        import json

        frame = self.frame.copy()
        if not pd.api.types.is_integer_dtype(frame.index):  # integer labels survive JSON as they are
            frame.index = frame.index.map(str)
        return json.dumps(
            {
                "frame": frame.to_dict(orient="split"),
                "target": self.target,
                "inputs": list(self.inputs),
                "groups": list(self.groups),
                "levels": {k: list(v) for k, v in self.levels.items()},
                "notes": list(self.notes),
                "name": self.name,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> ScalingData:
        """Inverse of :meth:`to_json`."""
        import json

        payload = json.loads(text)
        split = payload["frame"]
        frame = pd.DataFrame(split["data"], index=split["index"], columns=split["columns"])
        return cls(
            frame=frame,
            target=payload["target"],
            inputs=tuple(payload["inputs"]),
            groups=tuple(payload["groups"]),
            levels={k: tuple(v) for k, v in payload["levels"].items()},
            notes=tuple(payload["notes"]),
            name=payload["name"],
        )

    def __repr__(self) -> str:
        groups = ", ".join(f"{a}={len(self.levels[a])}" for a in self.groups) or "none"
        return f"ScalingData(name={self.name!r}, n={len(self)}, target={self.target!r}, inputs={self.inputs}, groups: {groups})"


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV file; unreadable, empty or ambiguous files raise :class:`DataValidationError`."""
    import csv

    try:
        with open(path, newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle), [])
        df = pd.read_csv(path)
    except UnicodeDecodeError as err:
        raise DataValidationError(f"{path} is not UTF-8 text ({err.reason} at byte {err.start})") from None
    except pd.errors.EmptyDataError:
        raise DataValidationError(f"{path} is empty: no header and no rows") from None
    except (pd.errors.ParserError, csv.Error) as err:
        raise DataValidationError(f"cannot parse {path} as CSV ({str(err).strip().splitlines()[0]})") from None
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise DataValidationError(f"{path}: duplicated column names {duplicated} in the header; rename or drop one")
    return df
