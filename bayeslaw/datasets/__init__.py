"""Datasets shipped with bayeslaw (real public data, with attribution).

=============  ===========================================================  =========
name           what                                                         license
=============  ===========================================================  =========
chinchilla     Chinchilla (Hoffmann et al. 2022) Fig. 4 runs, digitised by   none stated
               Epoch AI (Besiroglu et al. 2024): N, D, C, loss               (cite both)
overtraining   Gadre et al. 2024 over-training runs: 104 models x 8          MIT
               evaluation sets (832 rows, long form); skill = evaluation
               set, datamix = training set (C4, RedPajama, RefinedWeb)
finetune       Lin et al. 2024 fine-tuning curves: 30 models x 3 datasets    Apache-2.0
               (FLAN, Gigaword, WMT19) x 200..1,638,400 examples (+ zero-
               shot); inputs examples, group axis model
=============  ===========================================================  =========

Each dataset's source repository, commit, license and columns are in
``bayeslaw/datasets/data/licenses/``; :func:`dataset_info` prints them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from importlib import resources

import pandas as pd

from bayeslaw.data import ScalingData

_DATA = resources.files("bayeslaw.datasets") / "data"

_LOADERS: dict[str, Callable[..., ScalingData]] = {}
_INFO: dict[str, str] = {}


def register_dataset(name: str, info_file: str) -> Callable[[Callable[..., ScalingData]], Callable[..., ScalingData]]:
    """Decorator registering a loader under ``name`` with its attribution file."""

    def decorate(loader: Callable[..., ScalingData]) -> Callable[..., ScalingData]:
        _LOADERS[name] = loader
        _INFO[name] = info_file
        return loader

    return decorate


def read_csv(filename: str) -> pd.DataFrame:
    """Read a CSV shipped in ``bayeslaw/datasets/data``."""
    with (_DATA / filename).open("r") as handle:
        return pd.read_csv(handle)


def dataset_info(name: str) -> str:
    """Source, license and column documentation of dataset ``name``."""
    _check(name)
    return (_DATA / "licenses" / _INFO[name]).read_text()


def available_datasets() -> list[str]:
    """Names accepted by :func:`load_dataset`."""
    return sorted(_LOADERS)


def _check(name: str) -> None:
    if name not in _LOADERS:
        raise KeyError(f"unknown dataset {name!r}; available: {available_datasets()}")


def load_dataset(name: str, **options: object) -> ScalingData:
    """Load a shipped dataset as validated :class:`ScalingData`.

    Parameters
    ----------
    name
        One of :func:`available_datasets` (e.g. ``"chinchilla"``).
    **options
        Dataset-specific options, documented on each loader (e.g.
        ``exclude_top5=True`` for ``chinchilla``).
    """
    _check(name)
    return _LOADERS[name](**options)


@register_dataset("chinchilla", "chinchilla_README.txt")
def load_chinchilla(exclude_top5: bool = False) -> ScalingData:
    """The 245 Chinchilla runs digitised by Epoch AI.

    Parameters
    ----------
    exclude_top5
        Drop the five highest-loss runs, as Epoch AI's main fit does
        (``epoch_excluded_top5_loss == 1``), leaving 240 points. Recorded in ``notes``.
    """
    raw = read_csv("chinchilla_approach3.csv")
    data = ScalingData.from_frame(raw, columns={"N": "N_params", "D": "D_tokens", "C": "C_flops", "loss": "loss"}, name="chinchilla")
    if exclude_top5:
        data = data.subset(
            raw["epoch_excluded_top5_loss"].to_numpy() == 0, "excluded Epoch AI's 5 highest-loss runs (epoch_excluded_top5_loss == 1)"
        )
    return data


#: Evaluation sets of the over-training data (the ``skill`` labels), in the source's order.
OVERTRAINING_EVAL_SETS: tuple[str, ...] = (
    "openlm",
    "c4_val",
    "paloma_c4_en",
    "paloma_falcon-refinedweb",
    "paloma_redpajama",
    "paloma_ptb",
    "paloma_dolma_100_programing_languages",
    "val_de-en_100",
)
#: Training sets of the over-training data (the ``datamix`` labels): C4, RedPajama, RefinedWeb.
OVERTRAINING_TRAIN_SETS: tuple[str, ...] = ("c4_original", "rpj", "rw_original")


def _check_labels(given: Sequence[str] | None, known: tuple[str, ...], option: str) -> tuple[str, ...]:
    if given is None:
        return known
    if isinstance(given, str):
        given = [given]
    given = tuple(given)
    unknown = [g for g in given if g not in known]
    if unknown or not given:
        raise ValueError(f"{option}: unknown labels {unknown}; choose from {list(known)}")
    if len(set(given)) != len(given):
        raise ValueError(f"{option}: duplicated labels in {list(given)}")
    return given


@register_dataset("overtraining", "overtraining_README.txt")
def load_overtraining(
    eval_sets: Sequence[str] | None = None,
    train_datasets: Sequence[str] | None = None,
    max_params: float | None = None,
    max_tokens_per_param: float | None = None,
) -> ScalingData:
    """Gadre et al. (2024) over-training runs: final loss per run and evaluation set.

    104 models (3 training sets x sizes 0.011B-6.9B x 0.25-32x Chinchilla's
    20 tokens/parameter) evaluated on 8 sets, in long form: one row per run and
    evaluation set (832 rows). ``skill`` is the evaluation set and ``datamix``
    the training set; row labels are ``"<run_name>/<eval_set>"``. Source:
    github.com/mlfoundations/scaling (MIT); see ``dataset_info("overtraining")``.

    Skills (evaluation sets, in this order unless ``eval_sets`` reorders them):
    ``openlm``, ``c4_val``, ``paloma_c4_en``, ``paloma_falcon-refinedweb``,
    ``paloma_redpajama``, ``paloma_ptb``,
    ``paloma_dolma_100_programing_languages`` (code) and ``val_de-en_100``
    (German). Datamixes: ``c4_original``, ``rpj``, ``rw_original``.

    Parameters
    ----------
    eval_sets
        Keep only these evaluation sets (in this order as ``skill`` levels).
    train_datasets
        Keep only these training sets (``datamix`` levels).
    max_params
        Keep runs with at most this many parameters (e.g. ``5e8`` for the
        four small sizes, to extrapolate to the 1.4B and 6.9B runs).
    max_tokens_per_param
        Keep runs trained on at most this many tokens per parameter
        (20 = Chinchilla-optimal; the data go up to 640).

    Every filter is recorded in the data's ``notes``.
    """
    raw = read_csv("overtraining_losses.csv")
    skills = _check_labels(eval_sets, OVERTRAINING_EVAL_SETS, "eval_sets")
    mixes = _check_labels(train_datasets, OVERTRAINING_TRAIN_SETS, "train_datasets")
    raw.index = pd.Index(raw["run_name"] + "/" + raw["eval_set"])
    keep = raw["eval_set"].isin(skills) & raw["train_dataset"].isin(mixes)
    notes = []
    if eval_sets is not None:
        notes.append(f"evaluation sets restricted to {list(skills)}")
    if train_datasets is not None:
        notes.append(f"training sets restricted to {list(mixes)}")
    if max_params is not None:
        keep &= raw["N_params"] <= float(max_params)
        notes.append(f"runs with N <= {float(max_params):.3g} parameters only")
    if max_tokens_per_param is not None:
        keep &= raw["D_tokens"] / raw["N_params"] <= float(max_tokens_per_param) * (1 + 1e-9)
        notes.append(f"runs with D/N <= {float(max_tokens_per_param):g} tokens per parameter only")
    if not keep.any():
        raise ValueError(f"the filters {notes} select no over-training runs")
    raw = raw[keep].copy()
    raw["eval_set"] = pd.Categorical(raw["eval_set"], categories=skills)
    raw["train_dataset"] = pd.Categorical(raw["train_dataset"], categories=mixes)
    data = ScalingData.from_frame(
        raw,
        columns={"N": "N_params", "D": "D_tokens", "C": "C_flops_6ND", "loss": "loss", "skill": "eval_set", "datamix": "train_dataset"},
        groups=("skill", "datamix"),
        name="overtraining",
    )
    return replace(data, notes=(*data.notes, *notes))


#: Fine-tuning datasets of Lin et al. (2024), the ``dataset`` labels of the ``finetune`` data.
FINETUNE_DATASETS: tuple[str, ...] = ("flan", "gigaword", "wmt19")
#: Largest fine-tuning subset of Lin et al.'s benchmark (the "full budget"), in examples.
FINETUNE_FULL_BUDGET: int = 1_638_400


@register_dataset("finetune", "finetune_README.txt")
def load_finetune(
    dataset: str | Sequence[str] | None = None,
    max_examples: float | None = None,
    include_zero_shot: bool = False,
    models: Sequence[str] | None = None,
) -> ScalingData:
    """Lin et al. (2024) fine-tuning curves: test loss of 30 models against fine-tuning examples.

    Each of 30 pretrained models (GPT-2, T5/mT5, BART, Cerebras-GPT, OPT,
    LaMini-GPT, Switch, Phi) was fine-tuned on subsets of 200, 400, ...,
    1,638,400 examples of FLAN, Gigaword and WMT19 (and evaluated before
    fine-tuning, ``examples = 0``). Inputs: ``examples``; target: ``loss``;
    group axis ``model`` (Hugging Face ids), plus ``dataset`` when several
    datasets are loaded. Row labels are ``"<dataset>/<model>/<examples>"``.
    Source: github.com/linhaowei1/Fine-tuning-Scaling-Law (Apache-2.0); see
    ``dataset_info("finetune")``.

    Parameters
    ----------
    dataset
        ``"flan"``, ``"gigaword"``, ``"wmt19"``, several of them, or ``None``
        for all three (then the data has a second group axis ``dataset``;
        the shipped ``rectified_finetune`` spec pools over ``model`` only, so
        fit one dataset at a time unless your spec says how datasets differ).
    max_examples
        Keep only points with at most this many fine-tuning examples (a
        fine-tuning budget, e.g. ``FINETUNE_FULL_BUDGET / 512``).
    include_zero_shot
        Keep the zero-shot points (``examples = 0``). Off by default, as in the
        paper's fits: the zero-shot loss of span-corruption models (T5 v1.1,
        mT5, Switch) is 10-30 nats, far above their fine-tuning curves, which
        the rectified law's ``B / D_l + E`` at ``D = 0`` cannot follow.
    models
        Keep only these models (Hugging Face ids).

    Every filter is recorded in the data's ``notes``.
    """
    raw = read_csv("finetune_curves.csv")
    datasets = _check_labels(dataset, FINETUNE_DATASETS, "dataset")
    keep = raw["dataset"].isin(datasets)
    notes = [f"fine-tuning dataset(s) {list(datasets)}"]
    if models is not None:
        chosen = _check_labels(models, tuple(raw["model"].drop_duplicates()), "models")
        keep &= raw["model"].isin(chosen)
        notes.append(f"models restricted to {list(chosen)}")
    if not include_zero_shot:
        keep &= raw["finetune_examples"] > 0
        notes.append("zero-shot points (examples = 0) left out")
    if max_examples is not None:
        limit = float(max_examples)
        if not limit > 0:
            raise ValueError(f"max_examples must be positive, got {max_examples!r}")
        keep &= raw["finetune_examples"] <= limit
        notes.append(f"fine-tuning examples <= {limit:g} only")
    if not keep.any():
        raise ValueError(f"the filters {notes} select no fine-tuning points (the smallest positive subset is 200 examples)")
    frame = raw[keep].copy()
    frame.index = pd.Index(frame["dataset"] + "/" + frame["model"] + "/" + frame["finetune_examples"].astype(str))
    groups = ("model", "dataset") if len(datasets) > 1 else ("model",)
    data = ScalingData.from_frame(
        frame,
        target="loss",
        inputs=["examples"],
        columns={"examples": "finetune_examples", "loss": "test_loss", "model": "model", "dataset": "dataset"},
        groups=groups,
        name="finetune" if len(datasets) > 1 else f"finetune_{datasets[0]}",
    )
    return replace(data, notes=(*data.notes, *notes))


__all__ = [
    "FINETUNE_DATASETS",
    "FINETUNE_FULL_BUDGET",
    "OVERTRAINING_EVAL_SETS",
    "OVERTRAINING_TRAIN_SETS",
    "available_datasets",
    "dataset_info",
    "load_dataset",
    "read_csv",
    "register_dataset",
]
