"""Named random streams and the package version (no sampling)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import bayeslaw as bl
from bayeslaw.constants import RESTART_SEED_OFFSET
from bayeslaw.seeds import SEED_STREAMS, stream_seed
from bayeslaw.version import __version__


def test_streams_are_distinct_and_keep_the_offsets_saved_fits_were_drawn_with() -> None:
    assert SEED_STREAMS == {
        "posterior_predictive": 1,
        "predict": 7,
        "selection": 11,
        "downstream_pairs": 13,
        "downstream_noise": 17,
        "extrapolation": 23,
        "restart": 7919,
        "starts": 3571,
        "run_length": 104729,
    }
    assert stream_seed(20240515, "predict") == 20240522
    assert RESTART_SEED_OFFSET == SEED_STREAMS["restart"]
    with pytest.raises(ValueError, match="unknown random stream 'ppc'"):
        stream_seed(1, "ppc")


def test_one_version() -> None:
    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    assert bl.__version__ == __version__ == project["version"]
