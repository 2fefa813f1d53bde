"""bayeslaw's nutpie compile (loop copies in the C wrappers) is nutpie's own compiled model: same draws, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

nutpie = pytest.importorskip("nutpie")

from bayeslaw.backends._nutpie_compile import compile_model  # noqa: E402
from bayeslaw.model_builder import build_model  # noqa: E402
from bayeslaw.simulate import simulate  # noqa: E402
from bayeslaw.spec import resolve_spec  # noqa: E402


def test_same_draws_as_nutpies_own_compile():
    data = simulate("chinchilla", {"E": 1.7, "A": 400.0, "B": 900.0, "alpha": 0.34, "beta": 0.3}, sigma=0.02, seed=5).data
    model = build_model(data, resolve_spec("chinchilla")).model
    ours, theirs = compile_model(model), nutpie.compile_pymc_model(model)
    assert "_logp_wrapper" in ours.compiled_logp_func._pyfunc.__qualname__  # not the fallback
    runs = [nutpie.sample(c, draws=60, tune=60, chains=2, cores=1, seed=11, progress_bar=False) for c in (ours, theirs)]
    for name in runs[1].posterior.data_vars:
        assert np.array_equal(runs[0].posterior[name].values, runs[1].posterior[name].values), name
    assert np.array_equal(runs[0].sample_stats["logp"].values, runs[1].sample_stats["logp"].values)
