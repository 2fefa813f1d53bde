"""Datasets shipped with bayeslaw (real public data, with attribution).

=============  ===========================================================  =========
name           what                                                         license
=============  ===========================================================  =========
chinchilla     Chinchilla (Hoffmann et al. 2022) Fig. 4 runs, digitised by   none stated
               Epoch AI (Besiroglu et al. 2024): N, D, C, loss               (cite both)
=============  ===========================================================  =========

Each dataset's source repository, commit, license and columns are in
``bayeslaw/datasets/data/licenses/``; :func:`dataset_info` prints them.
"""

from __future__ import annotations

from collections.abc import Callable
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


__all__ = ["available_datasets", "dataset_info", "load_dataset", "read_csv", "register_dataset"]
